"""Rules over added and changed source lines (JavaScript/TypeScript and Python).

Two paths, one result. A cheap prefilter first: each signal names literal needles, and a file
whose added lines contain none of them costs nothing more. A file that passes is parsed once
(`watcher.parse`: tree-sitter for JS/TS, `ast` for Python) and the signals judge the parser's
facts on the added lines, so `db.exec(sql)`, `{fetch: true}` or a URL in a docstring are not
calls or hosts, while `cp.exec(…)` after `const cp = require('child_process')` is. Files that
do not parse, and bundles too large to parse cheaply, keep the regex path.

Context makes a finding one step weaker: a capability the old release already had, or one
that fits what the package is for (network code in an HTTP client, a process started by a
shell server). Purpose never weakens secrets, obfuscation or dynamic code.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from watcher.models import AddedLine, Severity, Snapshot
from watcher.parse import (
    MAX_PARSE_BYTES,
    Call,
    Facts,
    StringLit,
    facts_for,
    facts_for_lines,
    parses,
)
from watcher.parse.purpose import purpose_of
from watcher.rules import env_flow, env_select, path_match
from watcher.rules.added_text import AddedText, added_text
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, is_js, is_python


@dataclass(frozen=True, slots=True)
class Spot:
    """Where a signal matched: 1-based line, character columns on it, and the matched text."""

    line: int
    start: int
    end: int
    text: str
    #: What the fact is about, for signals whose "already did this" is per subject (the program
    #: a process start runs: `git`; "" for a command computed at run time). None: any.
    subject: str | None = None


#: Finds a signal in a parsed file's facts (every line; callers keep the added ones).
FactMatcher = Callable[[Facts], Iterator[Spot]]


@dataclass(frozen=True, slots=True)
class Signal:
    """One thing a code rule looks for, per language, with what a match means."""

    js: re.Pattern[str] | None
    py: re.Pattern[str] | None
    what: str
    #: Literal strings, one of which every match contains. A line without any of them is never
    #: given to the regex or the parser: finding a literal is a memory search.
    #: None: the pattern is cheap enough to run over the whole text.
    needles: tuple[str, ...] | None
    severity: Severity | None = None
    #: When True, this signal only counts if no stronger signal of the rule hit the same file
    #: (an `import requests` is noise beside the `requests.post(...)` that follows it).
    weak: bool = False
    #: The parser path. None: the regex is precise enough and runs on parsed files too.
    facts: FactMatcher | None = None
    #: Imports that let a later line use this signal under another name (`import * as cp
    #: from 'child_process'`, then an added `cp.run(…)`): a changed file whose whole text has
    #: one of these passes the prefilter even when its added lines hold no needle.
    alias_needles: tuple[bytes, ...] = ()
    #: The package's stated purpose does not weaken it: a terminal library runs commands, but
    #: writing a script from its own text and starting it is not what any purpose needs.
    firm: bool = False

    def pattern_for(self, dialect: str | None) -> re.Pattern[str] | None:
        """The pattern for a file read in this dialect (`ArtifactContext.dialect`), if code."""
        if dialect is None:
            return None
        return self.py if dialect == "python" else self.js

    def applies_to(self, dialect: str | None) -> bool:
        """Whether this signal can match in a file read in this dialect at all."""
        if self.pattern_for(dialect) is not None:
            return True
        return self.facts is not None and dialect is not None


def _c(pattern: str) -> re.Pattern[str]:
    # MULTILINE: needle-less patterns run over many lines joined; `^`/`$` mean one line.
    return re.compile(pattern, re.MULTILINE)


def _may_match(text: AddedText, signal: Signal, pattern: re.Pattern[str] | None) -> bool:
    """The prefilter: whether any line can match (a needle is present)."""
    if signal.needles is not None:
        return any(text.has(needle) for needle in signal.needles)
    return pattern is not None and pattern.search(text.joined) is not None


def _candidates(text: AddedText, signal: Signal, pattern: re.Pattern[str]) -> Iterator[int]:
    """Indexes of lines that may match, in order, each once."""
    joined = text.joined
    if signal.needles is None:
        seen = -1
        for match in pattern.finditer(joined):
            index = text.index_of(match.start())
            if index != seen:
                seen = index
                yield index
        return
    indexes: set[int] = set()
    starts = text.starts
    for needle in signal.needles:
        position = joined.find(needle)
        while position != -1:
            index = text.index_of(position)
            indexes.add(index)
            if index + 1 >= len(starts):
                break
            # Jump to the next line: one hit per line is all a candidate needs.
            position = joined.find(needle, starts[index + 1])
    yield from sorted(indexes)


#: Below this many characters, lines are judged one by one (finding candidates is cheap).
_DENSE_MIN = 1024 * 1024
#: Samples taken to judge whether needles sit on most lines, and their size.
_SAMPLES, _SAMPLE = 4, 64 * 1024


def _dense(text: AddedText, needles: tuple[str, ...]) -> bool:
    """Whether needles occur on about every fourth line or more (judged from samples)."""
    joined = text.joined
    if len(joined) < _DENSE_MIN:
        return False
    step = len(joined) // _SAMPLES
    hits = lines = 0
    for sample in range(_SAMPLES):
        lo = sample * step
        hi = lo + _SAMPLE
        lines += joined.count("\n", lo, hi) + 1
        hits += sum(joined.count(needle, lo, hi) for needle in needles)
    return hits * 4 >= lines


def _search(
    text: AddedText, signal: Signal, pattern: re.Pattern[str]
) -> Iterator[tuple[int, int, int, str]]:
    """(line index, start, end, matched text) of the first match on every line that has one.

    Comment-only lines are blank in the joined text, so they never match. Where needles sit on
    most lines (minified bundles, string-heavy code), one search runs through the whole text
    instead of a call per line: the same first match per line, found at C speed.
    """
    if signal.needles is not None and _dense(text, signal.needles):
        yield from _search_through(text, pattern)
        return
    for index in _candidates(text, signal, pattern):
        match = pattern.search(text.line(index))
        if match is not None:
            yield index, match.start(), match.end(), match.group(0)


def _search_through(
    text: AddedText, pattern: re.Pattern[str]
) -> Iterator[tuple[int, int, int, str]]:
    """`_search` over the whole joined text, judging each line as a search of it alone would.

    A match that runs past its line's end (a `\\s` or `[^)]` crossing the newline) is not what
    the line alone holds: that line is then searched on its own.
    """
    joined, starts = text.joined, text.starts
    count = len(starts)
    position = 0
    while position < len(joined):
        match = pattern.search(joined, position)
        if match is None:
            return
        start, end = match.span()
        index = text.index_of(start)
        line_start = starts[index]
        following = starts[index + 1] if index + 1 < count else len(joined) + 1
        if end < following:
            yield index, start - line_start, end - line_start, match.group(0)
        else:
            alone = pattern.search(text.line(index))
            if alone is not None:
                yield index, alone.start(), alone.end(), alone.group(0)
        if index + 1 >= count:
            return
        position = following


def _text_matches(
    text: AddedText, signal: Signal, pattern: re.Pattern[str] | None, only: frozenset[int] | None
) -> Iterator[tuple[int, int, int, str]]:
    """(line index, start, end, matched text) of the regex path; `only`: 0-based indexes."""
    if pattern is None:
        return
    for found in _search(text, signal, pattern):
        if only is None or found[0] in only:
            yield found


def _had_before(ctx: ArtifactContext, signal: Signal, subject: str | None = None) -> bool:
    """Whether any source file of the old release already matched this signal, about the
    same subject when one is given (SPEC §4.3: "already did this" covers only the same fact;
    a release that started computed commands could already start any program).

    A file the parser does not read has no subjects: there the subject's name in the file's
    text beside a match stands in for it.
    """
    old = ctx.diff.old
    if old is None:
        return False
    for path, entry in old.files.items():
        dialect = ctx.old_dialect(path)
        if entry.is_binary or not signal.applies_to(dialect):
            continue
        text = entry.text
        if signal.needles is not None and not any(n in text for n in signal.needles):
            continue
        pattern = signal.pattern_for(dialect)
        facts = facts_for(path, entry, dialect) if signal.facts is not None else None
        if facts is not None and signal.facts is not None:
            # A start of a computed command ("") could already run any program.
            if any(subject is None or s.subject in (subject, "") for s in signal.facts(facts)):
                return True
            if not facts.error_lines:
                continue
            only = frozenset(n - 1 for n in facts.error_lines)
        else:
            only = None
        if subject and subject not in text:
            continue
        if next(_text_matches(AddedText.of_text(text), signal, pattern, only), None):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Match:
    """A signal found on an added line."""

    signal: Signal
    path: str
    added: AddedLine
    start: int
    end: int
    text: str
    subject: str | None = None


def _matches(ctx: ArtifactContext, signals: tuple[Signal, ...]) -> Iterator[Match]:
    """One match per added source line with a signal, in line order.

    Where several signals match one line, the first listed wins.
    """
    for change in ctx.changed_files():
        if not change.added_lines:
            continue
        path = change.path
        # The runtime's reading, not the name: `require('./x.dat')` makes x.dat JavaScript.
        dialect = ctx.dialect(path)
        if dialect is None:
            continue
        text = added_text(change)
        # Alias needles only matter to the parser: a file too large to parse skips them.
        whole = b""
        if change.new is not None and parses(path, change.new, dialect):
            whole = change.new.data
        live = [
            (s, p)
            for s in signals
            if s.applies_to(dialect)
            and (
                _may_match(text, s, p := s.pattern_for(dialect))
                or (s.facts is not None and any(n in whole for n in s.alias_needles))
            )
        ]
        if not live:
            continue
        wants_facts = any(s.facts is not None for s, _ in live)
        facts = (
            facts_for_lines(path, change.new, change.added_lines, dialect) if wants_facts else None
        )
        error_lines = (
            frozenset(i for n in facts.error_lines if (i := text.index_of_lineno(n)) is not None)
            if facts is not None
            else frozenset()
        )
        found: dict[int, tuple[Signal, int, int, str, str | None]] = {}
        for signal, pattern in live:
            if facts is None or signal.facts is None:
                for index, start, end, matched in _text_matches(text, signal, pattern, None):
                    found.setdefault(index, (signal, start, end, matched, None))
                continue
            for spot in signal.facts(facts):
                added = text.index_of_lineno(spot.line)
                if added is not None:
                    found.setdefault(added, (signal, spot.start, spot.end, spot.text, spot.subject))
            if error_lines:
                for index, start, end, matched in _text_matches(text, signal, pattern, error_lines):
                    found.setdefault(index, (signal, start, end, matched, None))
        for index in sorted(found):
            signal, start, end, matched, subject = found[index]
            yield Match(signal, path, change.added_lines[index], start, end, matched, subject)


def scan_added_lines(
    ctx: ArtifactContext, signals: tuple[Signal, ...], noun: str, capability: str | None = None
) -> Iterator[Hit]:
    """Hits for added source lines matching a signal.

    A signal the old release already matched, or a `capability` that fits the package's
    purpose, is reported one step weaker; weak signals count only in files with no strong one.
    """
    by_file: dict[str, list[Match]] = {}
    for match in _matches(ctx, signals):
        by_file.setdefault(match.path, []).append(match)
    if not by_file:
        return
    fits = purpose_of(ctx.diff).fits(capability) if capability is not None else None
    known: dict[tuple[Signal, str | None], bool] = {}
    for hits in by_file.values():
        strong = [hit for hit in hits if not hit.signal.weak]
        for match in strong or hits:
            signal = match.signal
            key = (signal, match.subject)
            if key not in known:
                known[key] = _had_before(ctx, signal, match.subject)
            notes = []
            if known[key]:
                notes.append("the previous release already did this")
            if fits is not None and not signal.firm:
                notes.append(f"expected for {fits}")
            yield Hit(
                f"{noun}: {signal.what}" + (f" ({'; '.join(notes)})" if notes else ""),
                path=match.path,
                line=match.added.lineno,
                evidence=excerpt(match.added.text, match.start, match.end),
                severity=signal.severity,
                weaker=bool(notes),
            )


# -- fact matchers ----------------------------------------------------------------------------


def _calls(test: Callable[[Call, bool], bool]) -> FactMatcher:
    """A matcher for calls passing `test(call, is_python)`."""

    def match(facts: Facts) -> Iterator[Spot]:
        python = facts.language == "python"
        for call in facts.calls:
            if test(call, python):
                yield Spot(call.span.line, call.span.col, call.span.end, call.callee)

    return match


def _imports(js: frozenset[str], py: frozenset[str]) -> FactMatcher:
    """A matcher for imports of these modules (per language)."""

    def match(facts: Facts) -> Iterator[Spot]:
        modules = py if facts.language == "python" else js
        for imp in facts.imports:
            if imp.module in modules:
                yield Spot(imp.span.line, imp.span.col, imp.span.end, imp.module)

    return match


def _in(callee: str, names: frozenset[str], prefixes: tuple[str, ...] = ()) -> bool:
    return callee in names or (bool(prefixes) and callee.startswith(prefixes))


#: Literal-string concatenation and decoding: how a name is assembled to hide from a search.
CONCAT_NEEDLES = tuple(f"{a}{plus}{b}" for a in "'\"`" for b in "'\"`" for plus in ("+", " + ")) + (
    "atob(",
    "fromCharCode",
    "''.join(",
    '"".join(',
    "getattr(",
    "base64",
    "fromhex",
    "hex'",
    'hex"',
    "rot13",
    "decompress",
    "reverse()",
    "[::-1]",
    "chr(",
)

# -- network ----------------------------------------------------------------------------------

#: Calls that reach the network, by resolved callee.
NET_CALLS_JS = frozenset(
    {
        "fetch",
        "http.request",
        "http.get",
        "https.request",
        "https.get",
        "http2.connect",
        "net.connect",
        "net.createConnection",
        "net.Socket",
        "tls.connect",
        "dgram.createSocket",
        "undici.request",
        "undici.fetch",
        "undici.stream",
        "undici.connect",
        "undici.Client",
        "undici.Pool",
        "XMLHttpRequest",
        "WebSocket",
        "EventSource",
        "navigator.sendBeacon",
    }
)
#: Modules whose every call is a request (HTTP client libraries and DNS).
NET_CLIENTS_JS = (
    "axios",
    "node-fetch",
    "got",
    "superagent",
    "ky",
    "cross-fetch",
    "isomorphic-fetch",
    "needle",
    "request",
    "phin",
    "ws",
    "dns",
)
NET_CALLS_PY = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.Request",
        "urllib.request.build_opener",
        "urllib.request.urlretrieve",
        "urllib3.PoolManager",
        "urllib3.request",
        "socket.socket",
        "socket.create_connection",
        "socket.gethostbyname",
        "socket.getaddrinfo",
        "aiohttp.ClientSession",
        "aiohttp.request",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "ftplib.FTP",
        "ftplib.FTP_TLS",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "telnetlib.Telnet",
        "websockets.connect",
        "dns.resolver.resolve",
        "dns.resolver.query",
    }
)
NET_CLIENTS_PY = ("requests.", "httpx.", "pycurl.")
#: Module-level names of HTTP client libraries that are not requests (`requests.codes.ok`,
#: `httpx.Timeout(5)` configure, they do not send).
NET_NOT_A_REQUEST = re.compile(
    r"^(?:requests|httpx)\.(?:codes|exceptions|utils|adapters|auth|Timeout|Limits|URL|Headers"
    r"|Response|Request|HTTPError|RequestException|HTTPStatusError)\b"
)
#: How a changed file names a network module it may then use under another name.
NET_ALIAS_NEEDLES = (
    tuple(
        f"{quote}{node}{mod}{quote}".encode()
        for quote in ("'", '"')
        for node in ("", "node:")
        for mod in ("http", "https", "http2", "net", "dns", "tls", "dgram", "undici", "axios")
    )
    + (b"import requests", b"import httpx", b"from urllib", b"import urllib", b"import socket")
    + (
        # `from requests import post` then `post(url)`: no `requests.` on the calling line.
        b"from requests",
        b"from httpx",
        b"from aiohttp",
        b"import aiohttp",
        b"from socket",
    )
)
NET_IMPORTS_JS = frozenset({"http", "https", "http2", "net", "dns", "dgram", "tls", "undici"})
NET_IMPORTS_PY = frozenset(
    {"requests", "httpx", "aiohttp", "urllib3", "socket", "http.client", "urllib.request"}
)


def _is_network_callee(callee: str, python: bool) -> bool:
    """Whether a callee met inside a code sink's argument fetches from the network."""
    if python:
        return callee in NET_CALLS_PY or (
            callee.startswith(NET_CLIENTS_PY) and not NET_NOT_A_REQUEST.match(callee)
        )
    return callee in NET_CALLS_JS or callee.split(".", 1)[0] in NET_CLIENTS_JS


def _is_network_call(call: Call, python: bool) -> bool:
    callee = call.callee
    if python:
        if callee in NET_CALLS_PY:
            return True
        return callee.startswith(NET_CLIENTS_PY) and not NET_NOT_A_REQUEST.match(callee)
    if callee in NET_CALLS_JS:
        return True
    if callee in ("request", "ws"):
        # Bare `request(…)` is as often a local helper; `ws` is a client only with `new`.
        return callee == "ws" and call.new
    return callee.split(".", 1)[0] in NET_CLIENTS_JS


NET_MODULES = r"(?:node:)?(?:https?|http2|net|dns|dgram|tls|undici)"
NETWORK = (
    Signal(
        _c(
            r"\b(?:https?|http2)\.(?:request|get)\s*\(|\bfetch\s*\(|\bnew\s+(?:XMLHttpRequest|"
            r"WebSocket)\b|\baxios(?:\.\w+)?\s*\(|\bnet\.(?:connect|createConnection|Socket)\b"
            r"|\b(?:dgram|tls)\.(?:createSocket|connect)\s*\(|\bundici\.request\s*\("
        ),
        _c(
            r"\b(?:requests|httpx)\.(?:get|post|put|patch|delete|request|Client|AsyncClient|Session)"
            r"\s*\(|\burlopen\s*\(|\burllib\.request\.|\bsocket\.(?:socket|create_connection)\s*\("
            r"|\baiohttp\.ClientSession\s*\(|\bhttp\.client\.HTTPS?Connection\s*\("
        ),
        "makes a network request",
        (
            "http.",
            "https.",
            "http2.",
            "fetch",
            "XMLHttpRequest",
            "WebSocket",
            "EventSource",
            "sendBeacon",
            "axios",
            "got(",
            "got.",
            "superagent",
            "needle",
            "request(",
            ".request",
            "requests.",
            "httpx",
            "net.",
            "dgram.",
            "tls.",
            "dns.",
            "undici",
            "urlopen",
            "urllib",
            "socket",
            "aiohttp",
            "ftplib",
            "smtplib",
            "FTP(",
            "SMTP",
            "websockets",
            "pycurl",
        ),
        facts=_calls(_is_network_call),
        alias_needles=NET_ALIAS_NEEDLES,
    ),
    Signal(
        _c(rf"\brequire\(\s*['\"]{NET_MODULES}['\"]\s*\)|\bfrom\s+['\"]{NET_MODULES}['\"]"),
        _c(
            r"^\s*(?:import\s+(?:requests|httpx|aiohttp|urllib3|socket|http\.client)\b|from\s+"
            r"(?:urllib\.request|requests|httpx|aiohttp|socket|http\.client)\s+import\b)"
        ),
        "imports a network module",
        tuple(n.decode() for n in NET_ALIAS_NEEDLES)
        + ("requests", "httpx", "aiohttp", "urllib", "socket", "http.client"),
        weak=True,
        facts=_imports(NET_IMPORTS_JS, NET_IMPORTS_PY),
    ),
)


@artifact_rule(
    id="code.network",
    summary="Added code reaches the network (http/https/net/dns/fetch/sockets, requests, urllib)",
    severity=Severity.MEDIUM,
    category="network",
)
def network(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code reaches the network (http/https/net/dns/fetch/sockets, requests, urllib)."""
    return scan_added_lines(ctx, NETWORK, "network", capability="network")


# -- environment ------------------------------------------------------------------------------

ENV_NEEDLES: tuple[str, ...] = (
    "process.env",
    "os.environ",
    "getenv(",
    "import environ",
    "environ[",
)
ENV_NEEDLES += ("environ.", "(environ", "environ)", "*environ")
#: Variable names that hold credentials. By what the name says it holds, not whose it is:
#: `GITHUB_SHA`, `NPM_CONFIG_REGISTRY` and `AWS_REGION` are not secrets; `GITHUB_TOKEN`,
#: `NPM_TOKEN` and `AWS_SECRET_ACCESS_KEY` are, and say so.
CREDENTIAL_NAME = re.compile(
    r"TOKEN|SECRET|KEY|PASS|PWD|AUTH|CRED|SESSION|COOKIE|PRIVATE|WEBHOOK|DSN|(?:^|_)PAT(?:_|$)"
)


def _env(kind: str) -> FactMatcher:
    """Environment reads of one kind: "whole", "credential" or "any"."""

    def match(facts: Facts) -> Iterator[Spot]:
        for read in facts.env_reads:
            credential = read.key is not None and CREDENTIAL_NAME.search(read.key) is not None
            if (
                (kind == "whole" and read.whole)
                or (kind == "credential" and not read.whole and credential)
                or kind == "any"
            ):
                yield Spot(read.span.line, read.span.col, read.span.end, read.key or "")

    return match


ENV = (
    Signal(
        # `const env = process.env` aliases the whole object; `const { A } = process.env`
        # destructures one variable and is not a dump.
        _c(
            r"JSON\.stringify\(\s*process\.env\b|Object\.(?:keys|entries|values|assign)\([^)]*"
            r"process\.env\s*[),]|\.\.\.\s*process\.env\b|\bin\s+process\.env\b"
            r"|\b(?:const|let|var)\s+[\w$]+\s*=\s*process\.env\s*[;,]?\s*$"
        ),
        _c(
            r"\bos\.environ\.(?:copy|items|keys|values)\s*\(|\b(?:dict|str|repr|json\.dumps)\(\s*"
            r"os\.environ\s*[),]|\*\*os\.environ\b|=\s*os\.environ\s*$"
        ),
        "reads the whole environment (every secret in it)",
        ENV_NEEDLES,
        severity=Severity.HIGH,
        facts=_env("whole"),
        alias_needles=(b"from os import",),
    ),
    Signal(
        _c(r"process\.env(?:\.|\[\s*['\"`])\w*(?:TOKEN|SECRET|KEY|PASS|PWD|AUTH|CRED|SESSION)"),
        _c(
            r"os\.(?:environ(?:\.get\(|\[)|getenv\()\s*['\"]\w*(?:TOKEN|SECRET|KEY|PASS|PWD|AUTH"
            r"|CRED|SESSION)"
        ),
        "reads a credential-like environment variable",
        ENV_NEEDLES,
        severity=Severity.MEDIUM,
        facts=_env("credential"),
    ),
    Signal(
        _c(r"\bprocess\.env\b"),
        _c(r"\bos\.(?:environ|getenv)\b"),
        "reads an environment variable",
        ENV_NEEDLES,
        severity=Severity.LOW,
        facts=_env("any"),
    ),
)


@artifact_rule(
    id="code.env-access",
    summary="Added code reads the environment (dumping all of it is worse than reading one)",
    severity=Severity.LOW,
    category="env",
)
def env_access(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code reads the environment (dumping all of it is worse than reading one).

    A whole environment whose every route ends as a child process's `env` option is not a
    dump: the child inherits it anyway and nothing leaves the machine (`env_flow`). It is
    reported as an environment read (low), never hidden.
    """
    for hit in scan_added_lines(ctx, ENV, "environment"):
        prefix = _env_prefix(ctx, hit) if hit.severity is Severity.HIGH else None
        if hit.severity is Severity.HIGH and _env_only_to_children(ctx, hit):
            yield replace(
                hit,
                message="environment: passes a copy of the environment to a child process",
                severity=Severity.LOW,
            )
        elif prefix is not None:
            # The variables of one named family are read, as `process.env.DEBUG_X` would be;
            # a family named for credentials is a credential read (medium), as a named one is.
            credential = CREDENTIAL_NAME.search(prefix.upper()) is not None
            yield replace(
                hit,
                message=f"environment: reads the variables whose names begin {prefix!r}"
                " (selected by name, not a dump)",
                severity=Severity.MEDIUM if credential else Severity.LOW,
            )
        else:
            yield hit


def _env_prefix(ctx: ArtifactContext, hit: Hit) -> str | None:
    """The literal name prefix every whole-environment use on the hit's line filters by."""
    if hit.path is None or hit.line is None:
        return None
    change = next((c for c in ctx.changed_files() if c.path == hit.path), None)
    if change is None or change.new is None:
        return None
    lines = _lines(change.new.text)
    if not 0 < hit.line <= len(lines):
        return None
    following = "\n".join(lines[hit.line : hit.line + env_select.FOLLOWING_LINES])
    return env_select.selected_prefix(lines[hit.line - 1], following)


@lru_cache(maxsize=4)
def _lines(text: str) -> list[str]:
    """A file's lines as the diff numbers them (`str.splitlines`), split once per file."""
    return text.splitlines()


def _env_only_to_children(ctx: ArtifactContext, hit: Hit) -> bool:
    """Whether the whole-environment uses on the hit's line all end as a child's `env`."""
    parsed = _parsed(ctx, hit.path, hit.line)
    if parsed is None or hit.line is None:
        return False
    text, facts = parsed
    return env_flow.only_to_children(text, facts, hit.line, _is_exec_call)


# -- processes --------------------------------------------------------------------------------

EXEC_CALLS_JS = frozenset(
    {
        "child_process.exec",
        "child_process.execSync",
        "child_process.execFile",
        "child_process.execFileSync",
        "child_process.spawn",
        "child_process.spawnSync",
        "child_process.fork",
        "Bun.spawn",
        "Bun.spawnSync",
        "Deno.run",
        "Deno.Command",
        "cross-spawn",
        "cross-spawn.sync",
        "shelljs.exec",
        "node-pty.spawn",
    }
)
#: Unresolved names that are child_process's in practice (imported in another file, or from
#: a wrapper): the regex path has always counted them.
EXEC_BARE_JS = frozenset({"execSync", "spawnSync", "execFileSync", "execFile", "spawn"})
EXEC_CALLS_PY = frozenset(
    {
        "subprocess.run",
        "subprocess.Popen",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.posix_spawn",
        "os.posix_spawnp",
        "os.startfile",
        "pty.spawn",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "commands.getoutput",
    }
)


def _is_exec_call(call: Call, python: bool) -> bool:
    callee = call.callee
    if python:
        return callee in EXEC_CALLS_PY or callee.startswith(("os.exec", "os.spawn"))
    if callee in EXEC_CALLS_JS or callee in EXEC_BARE_JS or callee.startswith("execa"):
        return True
    # A bare `exec('…')` is child_process's; `db.exec(sql)` and `re.exec(s)` have an object.
    return callee == "exec" and call.first_arg is not None


def _program(call: Call) -> str:
    """The program a process start runs (`git` for `execFile('/usr/bin/git', …)`, `curl` for
    `exec('curl -s … | sh')`); "" when the command is computed at run time."""
    command = call.first_arg
    if command is None or call.first_arg_built:
        return ""
    words = command.split()
    return words[0].rsplit("/", 1)[-1].lower() if words else ""


def _exec_calls(facts: Facts) -> Iterator[Spot]:
    """Process starts, each about the program it runs: a release that ran `git` has not
    already run `curl`."""
    python = facts.language == "python"
    for call in facts.calls:
        if _is_exec_call(call, python):
            yield Spot(call.span.line, call.span.col, call.span.end, call.callee, _program(call))


#: Commands that fetch over the network, and what runs what they fetched.
_FETCHERS = ("curl", "wget", "invoke-webrequest", "iwr", "irm", "invoke-restmethod", "bitsadmin")
_RUNNERS = frozenset(
    """sh bash zsh dash ksh fish iex invoke-expression python python3 node perl ruby php
    chmod source . powershell pwsh cmd""".split()
)
_SEGMENTS = re.compile(r"\|\||&&|[|;&\n]")


def _fetches_and_runs(command: str) -> bool:
    """Whether a shell command downloads something and runs it: `curl … | sh`, `wget -O x …
    && chmod +x x`, `iwr … | iex`, `bash -c "$(curl …)"`."""
    lowered = command.lower()
    if not any(fetcher in lowered for fetcher in _FETCHERS) and "downloadstring" not in lowered:
        return False
    fetched = False
    for segment in _SEGMENTS.split(lowered):
        words = segment.replace("(", " ").replace("$", " ").replace("`", " ").split()
        while words and words[0] in ("sudo", "env", "exec", "nohup"):
            words = words[1:]
        if not words:
            continue
        head = words[0].rsplit("/", 1)[-1]
        if fetched and (head in _RUNNERS or head.startswith("./") or head.startswith("/tmp/")):
            return True
        if head in _FETCHERS or "downloadstring" in segment:
            fetched = True
        elif head in _RUNNERS and any(w.rsplit("/", 1)[-1] in _FETCHERS for w in words[1:]):
            return True  # `bash -c "$(curl -s …)"`
    return False


def _fetch_and_run(facts: Facts) -> Iterator[Spot]:
    """Process starts whose command, or a string among their arguments on the call's line
    (`spawn('sh', ['-c', 'curl … | sh'])`, `run(['bash', '-c', …])`), downloads and runs."""
    python = facts.language == "python"
    by_line: dict[int, list[StringLit]] = {}
    for lit in facts.strings:
        by_line.setdefault(lit.span.line, []).append(lit)
    for call in facts.calls:
        if not _is_exec_call(call, python):
            continue
        span = call.span
        texts = [call.first_arg] if call.first_arg is not None else []
        texts += [
            lit.value for lit in by_line.get(span.line, ()) if span.col <= lit.span.col < span.end
        ]
        if any(_fetches_and_runs(text) for text in texts):
            yield Spot(span.line, span.col, span.end, call.callee)


def _drops(facts: Facts) -> Iterator[Spot]:
    for span in facts.drops:
        yield Spot(span.line, span.col, span.end, "starts a script it wrote")


def _is_hidden_exec_call(call: Call, python: bool) -> bool:
    """A process started with a command decoded or assembled at run time."""
    if not _is_exec_call(call, python):
        return False
    return call.first_arg_built or any(_is_decoder(c, python) for c in call.arg_callees)


EXEC = (
    Signal(
        None,
        None,
        "writes a script from its own text to disk and starts it (dropper)",
        ("subprocess", "system(", "popen(", "Popen(", "spawn", "startfile", "exec"),
        severity=Severity.HIGH,
        facts=_drops,
        alias_needles=(b"subprocess", b"from os import"),
        firm=True,
    ),
    Signal(
        None,
        None,
        "runs a command that downloads code and runs it (`curl … | sh`)",
        ("curl", "wget", "iwr", "irm", "Invoke-", "bitsadmin", "DownloadString"),
        severity=Severity.HIGH,
        facts=_fetch_and_run,
        alias_needles=(b"child_process", b"subprocess", b"from os import"),
    ),
    Signal(
        None,
        None,
        "starts a process with a command it decodes or assembles at run time",
        (
            "child_process",
            "exec",
            "spawn",
            "subprocess",
            "system(",
            "popen(",
            "Popen(",
            "pty.spawn",
            "startfile",
        ),
        severity=Severity.HIGH,
        facts=_calls(_is_hidden_exec_call),
        alias_needles=(b"child_process", b"subprocess", b"from os import"),
    ),
    Signal(
        # A bare `exec('…')` is child_process's; `db.exec('CREATE …')` is SQL (better-sqlite3).
        _c(
            r"\bchild_process\b|\b(?:execSync|spawnSync|execFileSync|execFile|spawn)\s*\(|"
            r"(?<![\w$.])exec\s*\(\s*['\"`]|\bBun\.spawn\b|\bDeno\.(?:run|Command)\b"
        ),
        _c(
            r"\bsubprocess\.(?:run|Popen|call|check_call|check_output|getoutput)\s*\(|\bos\."
            r"(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(|\bpty\.spawn\s*\("
            r"|__import__\(\s*['\"](?:os|subprocess|pty)['\"]\s*\)\.\w+\s*\("
        ),
        "starts a process",
        (
            "child_process",
            "exec",
            "spawn",
            "fork(",
            "Deno.",
            "subprocess",
            "system(",
            "popen(",
            "Popen(",
            "pty.spawn",
            "import pty",
            "from pty",
            "__import__",
            "getoutput",
            "startfile",
        ),
        facts=_exec_calls,
        alias_needles=(b"child_process", b"subprocess", b"import pty", b"from os import"),
    ),
    Signal(
        None,
        None,
        "imports child_process",
        ("child_process",),
        weak=True,
        facts=_imports(frozenset({"child_process"}), frozenset()),
    ),
)


@artifact_rule(
    id="code.process-exec",
    summary="Added code starts processes (child_process, subprocess, os.system)",
    severity=Severity.MEDIUM,
    category="exec",
)
def process_exec(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code starts processes (child_process, subprocess, os.system)."""
    return scan_added_lines(ctx, EXEC, "process", capability="exec")


# -- dynamic code -----------------------------------------------------------------------------

DYNAMIC_CALLS_JS = frozenset(
    {
        "eval",
        "Function",
        "vm.runInThisContext",
        "vm.runInNewContext",
        "vm.runInContext",
        "vm.Script",
        "vm.compileFunction",
        "vm.SourceTextModule",
        "module._compile",
    }
)
DYNAMIC_CALLS_PY = frozenset({"exec", "eval", "compile"})
#: Loaders that take a module name: dynamic when the name is computed or assembled.
IMPORTERS_PY = frozenset({"__import__", "importlib.import_module"})
DECODERS_JS = frozenset(
    {"Buffer.from", "atob", "unescape", "decodeURIComponent", "String.fromCharCode"}
)
DECODERS_PY = frozenset(
    {
        "codecs.decode",
        "bytes.fromhex",
        "binascii.unhexlify",
        "binascii.a2b_base64",
        "marshal.loads",
        "zlib.decompress",
        "lzma.decompress",
        "bz2.decompress",
        "gzip.decompress",
    }
)


def _is_decoder(callee: str, python: bool) -> bool:
    if python:
        return callee in DECODERS_PY or callee.startswith("base64.")
    return callee in DECODERS_JS or callee.startswith(("zlib.", "crypto.createDecipher"))


def _is_dynamic_call(call: Call, python: bool) -> bool:
    if python:
        if call.callee in IMPORTERS_PY:
            return call.first_arg is None or call.first_arg_built
        return call.callee in DYNAMIC_CALLS_PY
    return call.callee in DYNAMIC_CALLS_JS


def _is_decode_and_run(call: Call, python: bool) -> bool:
    sinks = ("exec", "eval") if python else ("eval", "Function", "module._compile")
    return call.callee in sinks and any(_is_decoder(c, python) for c in call.arg_callees)


def _is_download_and_run(call: Call, python: bool) -> bool:
    """Code a sink runs comes from a network call (`exec(urlopen(u).read())`)."""
    if not _is_dynamic_call(call, python) or call.callee in IMPORTERS_PY:
        return False
    return any(_is_network_callee(c, python) for c in call.arg_callees)


DYNAMIC = (
    Signal(
        None,
        None,
        "runs code it downloads (a code sink fed by a network call)",
        ("eval", "Function(", "exec", "_compile", "compile("),
        severity=Severity.HIGH,
        facts=_calls(_is_download_and_run),
    ),
    Signal(
        _c(
            r"\b(?:eval|Function)\s*\(\s*(?:Buffer\.from|atob|unescape|decodeURIComponent)\s*\(|"
            r"\beval\s*\(\s*(?:String\.fromCharCode|require\(['\"]zlib)"
        ),
        _c(
            r"\b(?:exec|eval)\s*\(\s*(?:base64\.\w*decode|zlib\.decompress|codecs\.decode|bytes"
            r"\.fromhex|marshal\.loads|__import__\(['\"](?:base64|zlib))"
        ),
        "decodes and runs hidden code",
        ("eval", "Function(", "exec", "_compile", *CONCAT_NEEDLES),
        severity=Severity.HIGH,
        facts=_calls(_is_decode_and_run),
    ),
    Signal(
        _c(
            r"(?<![\w.$])eval\s*\(|\bnew\s+Function\s*\(|\bvm\.(?:runIn\w+|Script|compileFunction)\b"
        ),
        _c(
            r"(?<![\w.])(?:exec|eval|compile)\s*\(|\b__import__\s*\(|\bimportlib\.import_module\s*\("
        ),
        "evaluates code built at run time",
        (
            "eval",
            "Function(",
            "vm.",
            "'vm'",
            '"vm"',
            "node:vm",
            "runIn",
            "compileFunction",
            "_compile",
            "exec",
            "compile(",
            "__import__",
            "import_module",
            *CONCAT_NEEDLES,
        ),
        facts=_calls(_is_dynamic_call),
        alias_needles=(b"'vm'", b'"vm"', b"node:vm", b"import builtins", b"from builtins"),
    ),
)


@artifact_rule(
    id="code.dynamic-code",
    summary="Added code evaluates code at run time (eval, Function, vm, exec, compile)",
    severity=Severity.MEDIUM,
    category="dynamic-code",
)
def dynamic_code(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code evaluates code at run time (eval, Function, vm, exec, compile)."""
    return scan_added_lines(ctx, DYNAMIC, "dynamic code")


# -- secrets on disk --------------------------------------------------------------------------

SECRET_PATHS = (
    r"\.ssh[/\\]|id_(?:rsa|ed25519|ecdsa)\b|\.aws[/\\]credentials|\.npmrc\b|\.pypirc\b|"
    r"\.git-credentials|\.docker[/\\]config\.json|\.kube[/\\]config|\.netrc\b|"
    r"claude_desktop_config\.json|\.cursor[/\\]mcp\.json|\.codeium[/\\]|\.config[/\\]gcloud|"
    r"wallet\.dat|[Ll]ogin [Dd]ata|[/\\]Local Storage[/\\]leveldb|\.bitcoin[/\\]|\.ethereum[/\\]|"
    r"Exodus[/\\]|[\"']\.env[\"']|keychain"
)
_SECRET_PATH = re.compile(SECRET_PATHS)
#: Directories that are themselves the secret when joined piecewise: `join(home, '.ssh', k)`.
SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg"})


#: Entries of those directories that hold or grant credentials: `~/.aws/<anything else>` (a
#: tool's own log or policy directory) is not the secret; `.gnupg` is secret throughout.
SECRET_DIR_ENTRIES = {
    ".aws": ("credentials", "config", "sso", "cli"),
    ".ssh": ("id_", "config", "authorized_keys", "known_hosts", "identity"),
}
#: Characters between two path pieces joined on one line: `' / '` (pathlib), `', '` (join).
_JOIN_GAP = 4


def _secret_strings(facts: Facts) -> Iterator[Spot]:
    strings = sorted(facts.strings, key=lambda lit: (lit.span.line, lit.span.col))
    for index, lit in enumerate(strings):
        if lit.value in SECRET_DIRS:
            if _own_entry(lit, strings[index + 1] if index + 1 < len(strings) else None):
                continue
            yield Spot(lit.span.line, lit.span.col, lit.span.end, lit.value)
        # Quoted, so that the `'.env'` alternative means exactly the string `.env`.
        elif _SECRET_PATH.search(f"'{lit.value}'"):
            yield Spot(lit.span.line, lit.span.col, lit.span.end, lit.value)


def _own_entry(directory: StringLit, after: StringLit | None) -> bool:
    """`home / '.aws' / 'aws-api-mcp'`: the next piece, joined right after on the same line, is a
    constant naming no credential entry of the directory (a tool's own files kept there)."""
    entries = SECRET_DIR_ENTRIES.get(directory.value)
    if entries is None or after is None or after.span.line != directory.span.line:
        return False
    if not 0 <= after.span.col - directory.span.end <= _JOIN_GAP:
        return False
    entry = after.value.strip("/\\").split("/", 1)[0]
    if not entry or "${" in entry or CREDENTIAL_NAME.search(entry.upper()):
        return False
    return not entry.lower().startswith(entries)


SECRETS = (
    Signal(
        _c(SECRET_PATHS),
        _c(SECRET_PATHS),
        "touches a secret on disk",
        (
            ".ssh",
            "id_rsa",
            "id_ed25519",
            "id_ecdsa",
            ".aws",
            ".gnupg",
            ".npmrc",
            ".pypirc",
            ".git-credentials",
            ".docker",
            ".kube",
            ".netrc",
            "claude_desktop_config",
            ".cursor",
            ".codeium",
            "gcloud",
            "wallet.dat",
            "ogin ",
            "Local Storage",
            ".bitcoin",
            ".ethereum",
            "Exodus",
            ".env",
            "keychain",
        ),
        facts=_secret_strings,
    ),
)


@artifact_rule(
    id="code.secret-files",
    summary="Added code refers to credential files (ssh, aws, npmrc, .env, MCP client configs)",
    severity=Severity.HIGH,
    category="secrets",
)
def secret_files(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code refers to credential files (ssh, aws, npmrc, .env, MCP client configs).

    Names that are only compared against (a sanitizer's deny-list: `DENY.some((d) =>
    p.endsWith(d))`) open nothing: reported low, never hidden (`path_match`).
    """
    for hit in scan_added_lines(ctx, SECRETS, "secret files"):
        if _secret_names_only_matched(ctx, hit):
            yield replace(
                hit,
                message="secret files: names credential files only to match paths against"
                " them (a deny-list); nothing here opens them",
                severity=Severity.LOW,
            )
        else:
            yield hit


def _parsed(ctx: ArtifactContext, path: str | None, line: int | None) -> tuple[str, Facts] | None:
    """(new text, facts) of a changed file, when the parser read the hit's line cleanly."""
    if path is None or line is None:
        return None
    change = next((c for c in ctx.changed_files() if c.path == path), None)
    if change is None or change.new is None:
        return None
    facts = facts_for(path, change.new, ctx.dialect(path))
    if facts is None or line in facts.error_lines:
        return None
    return change.new.text, facts


#: Credential-path literals by line, for the last few files asked about (by facts identity):
#: one pass per file, not one per hit line.
_SECRET_LITERALS: OrderedDict[int, tuple[Facts, dict[int, list[StringLit]]]] = OrderedDict()


def _secret_literals_by_line(facts: Facts) -> dict[int, list[StringLit]]:
    cached = _SECRET_LITERALS.get(id(facts))
    # The entry keeps `facts` alive, so its id cannot be reused while cached.
    if cached is not None and cached[0] is facts:
        return cached[1]
    spots = {(s.line, s.start) for s in _secret_strings(facts)}
    by_line: dict[int, list[StringLit]] = {}
    for lit in facts.strings:
        if (lit.span.line, lit.span.col) in spots:
            by_line.setdefault(lit.span.line, []).append(lit)
    _SECRET_LITERALS[id(facts)] = (facts, by_line)
    if len(_SECRET_LITERALS) > 8:
        _SECRET_LITERALS.popitem(last=False)
    return by_line


def _secret_names_only_matched(ctx: ArtifactContext, hit: Hit) -> bool:
    """Whether every credential-path literal on the hit's line is only compared against."""
    parsed = _parsed(ctx, hit.path, hit.line)
    if parsed is None or hit.line is None:
        return False
    text, facts = parsed
    literals = _secret_literals_by_line(facts).get(hit.line, [])
    verdict = path_match.judge(text, facts, literals)
    if verdict != path_match.EXPORTED or hit.path is None:
        return verdict == path_match.MATCHED
    # A table of names other files take (`module.exports = ['.npmrc', …]`): every file of the
    # release that requires it must only compare what it takes, and at least one must.
    stem = hit.path.rsplit("/", 1)[-1].removesuffix(".js")
    seen = False
    for path, entry in ctx.diff.new.files.items():
        dialect = ctx.dialect(path)
        if path == hit.path or entry.is_binary or dialect in (None, "python"):
            continue
        if entry.size > MAX_PARSE_BYTES or stem not in entry.text:
            continue
        assert dialect is not None
        judged = path_match.requirers_only_compare(path, entry.text, dialect, hit.path)
        if judged is False:
            return False
        seen = seen or judged is True
    return seen


# -- hosts ------------------------------------------------------------------------------------

#: Services that exist to receive data from anyone: webhooks, paste sites, tunnels, OAST.
EXFIL_SERVICES = (
    r"webhook\.site|pipedream\.net|requestbin|requestcatcher|ngrok(?:-free)?\.(?:io|app|dev)"
    r"|trycloudflare\.com|loca\.lt|serveo\.net|pastebin\.com|paste\.ee|hastebin|transfer\.sh"
    r"|discord(?:app)?\.com/api/webhooks|api\.telegram\.org/bot|interact\.sh|oast\.(?:fun|pro|me"
    r"|site|live|online)|burpcollaborator\.net|oastify\.com|dnslog\.cn|ceye\.io|requestrepo\.com"
    r"|beeceptor\.com|hookbin\.com|webhook\.cool|canarytokens\.com|mockapi\.io|rentry\.co"
    r"|termbin\.com|bashupload\.com|0x0\.st|duckdns\.org|ddns\.net|hopto\.org|\.onion\b"
)
#: Loopback, "any" and broadcast addresses are how servers listen, not where data goes.
NOT_REMOTE_IP = r"(?!127\.|0\.0\.0\.0|255\.255\.255\.255)"
#: Host names are at most 253 characters (RFC 1035 §2.3.4), so the host part of a URL is
#: matched within that window: unbounded, a 120,000-character URL-shaped string made every
#: later search backtrack over all of it (issue 9).
URL_HOST = (
    r"https?://(?!localhost\b|127\.0\.0\.1|0\.0\.0\.0|example\.(?:com|org))"
    r"[\w.-]{1,253}\.[a-z]{2,63}"
)
#: A URL whose host is a public IPv4 address: no name, so no owner a reviewer can look up, and
#: no DNS to change when the server moves. Private, loopback, link-local (cloud metadata) and
#: "any" addresses are where local services and SDKs talk, not where data leaves to.
NOT_PUBLIC_IP = r"(?!127\.|0\.|10\.|192\.168\.|169\.254\.|172\.(?:1[6-9]|2\d|3[01])\.|255\.)"
RAW_IP_URL = rf"https?://{NOT_PUBLIC_IP}(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?![\w.])"
_EXFIL = re.compile(EXFIL_SERVICES)
_URL_HOST = re.compile(URL_HOST)
_RAW_IP_URL = re.compile(RAW_IP_URL)
#: Used with `fullmatch`; the look-behind keeps a `search` linear too (a name is tried from
#: the start of its run of word characters only, not from each of them).
_DOTTED = re.compile(r"(?<![\w-])[\w-]+(?:\.[\w-]+)+")
HOST_KEYS = frozenset({"host", "hostname"})


def _strings_matching(pattern: re.Pattern[str]) -> FactMatcher:
    """String literals in which `pattern` matches; the matched text is the spot's text."""

    def match(facts: Facts) -> Iterator[Spot]:
        for lit in facts.strings:
            found = pattern.search(lit.value)
            if found is not None:
                yield Spot(lit.span.line, lit.span.col, lit.span.end, found.group(0))

    return match


def _host_strings(facts: Facts) -> Iterator[Spot]:
    """URLs in string literals, and dotted names given as a `host`/`hostname`."""
    for lit in facts.strings:
        found = _URL_HOST.search(lit.value)
        if found is not None:
            yield Spot(lit.span.line, lit.span.col, lit.span.end, found.group(0))
        elif lit.key in HOST_KEYS and _DOTTED.fullmatch(lit.value):
            yield Spot(lit.span.line, lit.span.col, lit.span.end, lit.value)


RAW_IP_URL_SIGNAL = Signal(
    _c(RAW_IP_URL),
    _c(RAW_IP_URL),
    "names a URL on a raw public IP address",
    ("http://", "https://"),
    severity=Severity.MEDIUM,
    facts=_strings_matching(_RAW_IP_URL),
)
HOSTS = (
    Signal(
        _c(EXFIL_SERVICES),
        _c(EXFIL_SERVICES),
        "names a data-drop service (webhook, paste, tunnel, OAST, dynamic DNS)",
        (
            "webhook.site",
            "pipedream",
            "requestbin",
            "requestcatcher",
            "ngrok",
            "trycloudflare",
            "loca.lt",
            "serveo",
            "pastebin",
            "paste.ee",
            "hastebin",
            "transfer.sh",
            "discord",
            "api.telegram.org",
            "interact.sh",
            "oast.",
            "burpcollaborator",
            "oastify",
            "dnslog.cn",
            "ceye.io",
            "requestrepo",
            "beeceptor",
            "hookbin",
            "webhook.cool",
            "canarytokens",
            "mockapi.io",
            "rentry.co",
            "termbin",
            "bashupload",
            "0x0.st",
            "duckdns",
            "ddns.net",
            "hopto.org",
            ".onion",
        ),
        severity=Severity.HIGH,
        facts=_strings_matching(_EXFIL),
    ),
    RAW_IP_URL_SIGNAL,
    Signal(
        _c(rf"['\"`](?:https?://|//)?{NOT_REMOTE_IP}(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?::\d+)?[/'\"`]"),
        _c(rf"['\"](?:https?://)?{NOT_REMOTE_IP}(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?::\d+)?[/'\"]"),
        "contains a hard-coded IP address",
        None,
        severity=Severity.MEDIUM,
    ),
    Signal(
        _c(rf"{URL_HOST}|\bhost(?:name)?\s*:\s*['\"`][\w-]+(?:\.[\w-]+)+['\"`]"),
        _c(rf"{URL_HOST}|\bhost(?:name)?\s*=\s*['\"][\w-]+(?:\.[\w-]+)+['\"]"),
        "contains a hard-coded host",
        ("http", "host"),
        facts=_host_strings,
    ),
)


@artifact_rule(
    id="code.new-host",
    summary="Added code names a host the previous release never mentioned",
    severity=Severity.LOW,
    category="host",
)
def new_host(ctx: ArtifactContext) -> Iterator[Hit]:
    """New hosts in source; data-drop services and raw IPs rank higher than ordinary domains."""
    old_text: str | None = None
    verdicts: dict[str, bool] = {}
    for match in _matches(ctx, HOSTS):
        host = _HOST_IN.search(match.text)
        name = host.group(0).lower() if host else match.text
        if name not in verdicts:
            if old_text is None:
                old_text = _old_source_text(ctx.diff.old)
            verdicts[name] = name in old_text
        if verdicts[name]:
            continue
        what, severity = match.signal.what, match.signal.severity
        if match.signal is RAW_IP_URL_SIGNAL and _reaches_out(ctx, match.path):
            what = f"{what}, and the file sends requests or starts processes"
            severity = Severity.HIGH
        yield Hit(
            f"host: {what}: `{name}`",
            path=match.path,
            line=match.added.lineno,
            evidence=excerpt(match.added.text, match.start, match.end),
            severity=severity,
        )


def _reaches_out(ctx: ArtifactContext, path: str) -> bool:
    """Whether the parsed file makes a network request or starts a process.

    A raw-IP URL in a file that also talks to the network (or hands the URL to `curl`) is a
    destination in use, not a constant in a table: data going to a server with no name.
    """
    change = next((c for c in ctx.changed_files() if c.path == path), None)
    if change is None or change.new is None:
        return False
    facts = facts_for(path, change.new, ctx.dialect(path))
    if facts is None:
        return False
    python = facts.language == "python"
    return any(_is_network_call(c, python) or _is_exec_call(c, python) for c in facts.calls)


#: An IPv4 address, or a host name: labels of at most 63 characters, at most 127 of them (RFC
#: 1035 §2.3.4). A name starts only where no label runs into it (not after a word character,
#: nor after `x.`), so each run of labels is tried from its start once: unbounded, from every
#: position, one 120,000-character host-shaped string took minutes (issue 9).
_HOST_IN = re.compile(
    r"(?:\d{1,3}\.){3}\d{1,3}"
    r"|(?<![\w-])(?<![\w-]\.)[\w-]{1,63}(?:\.[\w-]{1,63}){0,125}\.[a-z]{2,63}",
    re.IGNORECASE,
)


def _old_source_text(old: Snapshot | None) -> str:
    """The old release's source, lower-cased, to tell new hosts from ones it already named."""
    if old is None:
        return ""
    return "\n".join(
        e.text.lower()
        for p, e in old.files.items()
        if not e.is_binary and (is_js(p) or is_python(p))
    )


# -- obfuscation ------------------------------------------------------------------------------


def _hex_identifiers(facts: Facts) -> Iterator[Spot]:
    for span in facts.hex_identifiers:
        yield Spot(span.line, span.col, span.end, "_0x")


#: Modules worth hiding: loading one under an assembled name is hiding a capability to run
#: code or processes or to reach the network. Node's `fs`, `os` and `path` are not among them:
#: assembling `'f' + 's'` to read a config file hides nothing worth news (the secret-file and
#: network rules judge what is read and where it goes); Python's `os` runs processes.
SENSITIVE_MODULES_JS = frozenset(
    {"child_process", "vm", "http", "https", "http2", "net", "dns", "tls", "dgram", "module"}
    | {"worker_threads", "cluster", "inspector", "undici", "axios", "node-fetch"}
)
SENSITIVE_MODULES_PY = frozenset(
    {"subprocess", "socket", "builtins", "pty", "ctypes", "urllib.request", "requests", "os"}
    | {"httpx", "urllib3", "aiohttp", "http.client", "importlib", "marshal", "pickle", "runpy"}
)
SENSITIVE_MODULES = SENSITIVE_MODULES_JS | SENSITIVE_MODULES_PY


def _sensitive_module(module: str, python: bool) -> bool:
    """Whether hiding this module's name hides a capability (see `SENSITIVE_MODULES_JS`)."""
    modules = SENSITIVE_MODULES_PY if python else SENSITIVE_MODULES_JS
    return module in modules or module.split(".", 1)[0] in modules


def _is_sensitive_call(call: Call, python: bool) -> bool:
    return (
        _is_exec_call(call, python)
        or _is_dynamic_call(call, python)
        or _is_network_call(call, python)
        or call.callee in ("require", "__import__", "importlib.import_module")
    )


def _concealed_names(facts: Facts) -> Iterator[Spot]:
    """Sensitive calls and imports whose name had to be decoded to be read (SPEC §4.2)."""
    python = facts.language == "python"
    for call in facts.calls:
        if call.decoded and _is_sensitive_call(call, python):
            yield Spot(call.span.line, call.span.col, call.span.end, call.callee)
    for imp in facts.imports:
        if imp.decoded and _sensitive_module(imp.module, python):
            yield Spot(imp.span.line, imp.span.col, imp.span.end, imp.module)


def _concealed_other_modules(facts: Facts) -> Iterator[Spot]:
    """Names assembled from pieces (`require('child_' + 'process')`, `globalThis['ev' +
    'al']`) and other modules under a decoded name: weak evidence of concealment, shown low.
    The name is folded, so what the call does is judged as if spelled plainly; a split
    spelling alone is not concealment (context weakens, never hides)."""
    python = facts.language == "python"
    for call in facts.calls:
        if call.concealed and not call.decoded and _is_sensitive_call(call, python):
            yield Spot(call.span.line, call.span.col, call.span.end, call.callee)
    for imp in facts.imports:
        sensitive = _sensitive_module(imp.module, python)
        if imp.concealed and not (sensitive and imp.decoded):
            yield Spot(imp.span.line, imp.span.col, imp.span.end, imp.module)
    for lit in facts.strings:  # a host, URL or address that has to be decoded to be read
        if lit.decoded and (host := _HOST_IN.search(lit.value)) is not None:
            yield Spot(lit.span.line, lit.span.col, lit.span.end, host.group(0))


OBFUSCATION = (
    Signal(
        _c(r"\b_0x[0-9a-f]{4,6}\b"),
        None,
        "uses `_0x…` obfuscated identifiers",
        ("_0x",),
        severity=Severity.HIGH,
        facts=_hex_identifiers,
    ),
    Signal(
        None,
        None,
        "reaches a sensitive name it decoded or hid under another name "
        "(`atob('ZXZhbA==')`, char codes, `run = exec`, `eval('exec')`)",
        # A sink under another name is called by that name: the sink's own name is only where
        # it was bound, so it is a needle of the file, not of the line.
        (*CONCAT_NEEDLES, "exec", "eval"),
        severity=Severity.HIGH,
        facts=_concealed_names,
    ),
    Signal(
        None,
        None,
        "assembles a name from pieces (`require('child_' + 'process')`)",
        CONCAT_NEEDLES,
        severity=Severity.LOW,
        facts=_concealed_other_modules,
    ),
    Signal(
        _c(r"['\"`][A-Za-z0-9+/]{300,}={0,2}['\"`]"),
        _c(r"['\"][A-Za-z0-9+/]{300,}={0,2}['\"]"),
        "embeds a long base64 blob",
        None,
    ),
    Signal(
        _c(r"['\"`](?:\\x[0-9a-fA-F]{2}){40,}|['\"`][0-9a-fA-F]{400,}['\"`]"),
        _c(r"['\"](?:\\x[0-9a-fA-F]{2}){40,}|['\"][0-9a-fA-F]{400,}['\"]"),
        "embeds a long hex-encoded blob",
        None,
    ),
)


@artifact_rule(
    id="code.obfuscation",
    summary="Added code is obfuscated (`_0x` identifiers, long base64/hex blobs)",
    severity=Severity.MEDIUM,
    category="obfuscation",
)
def obfuscation(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code is obfuscated (`_0x` identifiers, assembled names, long base64/hex blobs)."""
    return scan_added_lines(ctx, OBFUSCATION, "obfuscation")
