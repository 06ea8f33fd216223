"""DNS exfiltration: data smuggled out in the labels of a name lookup.

A lookup of `<hex of a token>.x.exfil.invalid` reaches the attacker's name server through every
resolver and firewall on the way, with no HTTP request to notice. The shape is a lookup whose
hostname is built from variable data in front of a fixed domain; resolving a configured host
(`dns.lookup(config.host)`) is what DNS is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from watcher.models import AddedLine, Severity
from watcher.rules.added_source import SourceFile, changed_sources, near
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: A fixed domain of two labels or more (`.x.exfil.invalid`), not a local-only zone: reverse
#: lookups build `<ip>.in-addr.arpa`, cluster DNS `<svc>.<ns>.svc.cluster.local`.
_SUFFIX = r"\.(?![\w.-]*\.(?:arpa|local|internal|localhost)\b)[\w-]+(?:\.[\w-]+)+"
#: A hostname built from data: template/f-string/format/% with a fixed domain after the data,
#: concatenation in front of a quoted domain, or a long hex/base32 label in a literal.
#: Searched within `ARGUMENT_WIDTH` characters of a call; the substitutions are bounded to that
#: width too, so a search of longer text stays linear (each `${` scanned at most that far).
BUILT_HOST = re.compile(
    rf"\$\{{[^}}]{{1,300}}\}}{_SUFFIX}"  # `${hex}.x.exfil.invalid`
    rf"|\bf['\"][^'\"]{{0,300}}\{{[^}}]{{1,300}}\}}{_SUFFIX}['\"]"  # f"{b32}.attacker.invalid"
    rf"|\+\s*['\"]{_SUFFIX}['\"]"  # hex + '.x.exfil.invalid'
    rf"|['\"](?:%s|\{{\w*\}}){_SUFFIX}['\"]\s*(?:%|\.format\()"  # "%s.a.invalid" % data
    r"|['\"`](?:[0-9a-fA-F]{32,}|[A-Z2-7]{32,})\.[\w-]+\.[\w.-]+['\"`]",  # a long encoded label
)
_JS_LOOKUP = re.compile(
    r"\b(?:dns(?:\.promises)?|dnsPromises|resolver|require\(\s*['\"](?:node:)?dns['\"]\s*\))"
    r"\.(?:resolve\w*|lookup(?:Service)?)\s*\(\s*"
)
_PY_LOOKUP = re.compile(
    r"\b(?:socket\.)?(?:gethostbyname(?:_ex)?|getaddrinfo)\s*\(\s*"
    r"|\b(?:dns\.resolver|resolver|Resolver\(\))\.(?:resolve|query|resolve_name)\s*\(\s*"
)
_JS_NEEDLES = ("dns", "resolver.")
_PY_NEEDLES = ("gethostby", "getaddrinfo", "resolver", "Resolver")
#: How far after the call its hostname argument can reach.
ARGUMENT_WIDTH = 300
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def _builder_of(name: str, source: SourceFile) -> AddedLine | None:
    """The added line that assigns `name` a hostname built from data, if any."""
    # The type annotation (`name: str = …`) is bounded: unbounded, every `name:` of a long
    # line scanned the rest of it, quadratic in the line's length (issue 9).
    assign = re.compile(rf"(?<![\w$.]){re.escape(name)}\s*(?::[^=\n]{{1,200}})?=(?!=)")
    for match in assign.finditer(source.joined):
        if BUILT_HOST.search(source.rest_of_line(match.end(), ARGUMENT_WIDTH)):
            return source.line_at(match.start())
    return None


@artifact_rule(
    id="code.dns-exfiltration",
    summary="Added code looks up hostnames built from data (DNS exfiltration in subdomain labels)",
    severity=Severity.HIGH,
    category="exfil",
)
def dns_exfiltration(ctx: ArtifactContext) -> Iterator[Hit]:
    """Name lookups (Node dns, Python socket/dnspython) of a host built from variable data."""
    for source in changed_sources(ctx):
        lookup, needles = (_JS_LOOKUP, _JS_NEEDLES) if source.js else (_PY_LOOKUP, _PY_NEEDLES)
        if not source.mentions(needles):
            continue
        reported: set[int] = set()
        builders: dict[str, AddedLine | None] = {}
        for call in near(lookup, source.joined, needles, before=10, after=80):
            added = source.line_at(call.start())
            if added.lineno in reported:
                continue
            column = source.column(call.start())
            rest = source.rest_of_line(call.end(), ARGUMENT_WIDTH)
            if BUILT_HOST.search(rest):
                reported.add(added.lineno)
                yield Hit(
                    "DNS: looks up a hostname built from data in front of a fixed domain "
                    "(what a lookup carries in its labels reaches that domain's name server)",
                    path=source.path,
                    line=added.lineno,
                    evidence=excerpt(added.text, column, column + len(call.group())),
                )
                continue
            argument = _IDENT.match(rest)
            if argument is None:
                continue
            if argument.group() not in builders:
                builders[argument.group()] = _builder_of(argument.group(), source)
            builder = builders[argument.group()]
            if builder is not None:
                reported.add(added.lineno)
                yield Hit(
                    f"DNS: looks up `{argument.group()}`, a hostname built from data in front "
                    f"of a fixed domain on line {builder.lineno}: {excerpt(builder.text)}",
                    path=source.path,
                    line=added.lineno,
                    evidence=excerpt(added.text, column, column + len(call.group())),
                )
