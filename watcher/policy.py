"""Reviewed, expected signals (`allow`) and accepted findings (`suppress`), applied to a report.

A team that reviewed a server knows some of its signals are fine: the GitHub server talks to
`api.github.com`. Two ways to say so, per subscription (SPEC §3, §4):

- `allow = ["network:api.github.com", "network:*.githubusercontent.com", "rule:mcp.tool-added"]`
  - `rule:RULE-ID` covers every finding of that rule.
  - `network:HOST` (or `host:HOST`) covers a `code.network` or `code.new-host` finding when every
    host it names is allowed. A host matches exactly (case-insensitive); `*.example.com` matches
    any name *under* example.com but not example.com itself. Never a substring or a suffix
    without the dot: `network:api.github.com` does not cover `api.github.com.evil.invalid` or
    `evilapi.github.com`. A finding names its hosts through its `subject` when the rule set one,
    else through the URLs and dotted string literals of its evidence line; a finding that names
    no host (`https.request({`), or any host not allowed, stays.
- `suppress = ["code.network@6f7e5998603dad00"]`: one accepted finding, by rule and fingerprint
  (rule, path and evidence line hashed; see `Finding.fingerprint`). The same line in the next
  release is still accepted; a new line of the same rule has another fingerprint and is reported.

Covered findings are not dropped: they move to `Report.suppressed` with the entry that covered
them, so a reviewer still sees them, and the report is scored again from the findings that
remain. An allowed or suppressed finding is not a combination partner either: it was reviewed,
so "install hook + network" does not escalate on a network call someone allowed. The hook on its
own still scores (high, which alerts at the default `fail_on`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from watcher.models import Finding, Report, Suppressed
from watcher.scoring import escalate, score, settle

__all__ = [
    "Allow",
    "Policy",
    "Suppression",
    "apply_policy",
    "finding_hosts",
    "host_matches",
    "parse_allow",
    "parse_suppression",
]

#: `allow` kinds that name hosts, and the finding categories they cover.
HOST_KINDS = frozenset({"network", "host"})
HOST_CATEGORIES = frozenset({"network", "host"})
#: `Finding.fingerprint` is this many lowercase hex digits.
FINGERPRINT_LENGTH = 16

_ENTRY = re.compile(r"([a-z][a-z0-9_-]*):(\S+)")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_PATTERN = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})+")
_SUPPRESSION = re.compile(r"(\S+)@(\S+)")
_HEX = re.compile(rf"[0-9a-f]{{{FINGERPRINT_LENGTH}}}")


def _rule_ids() -> Collection[str]:
    # Imported here: the rule modules are heavy (parsers), and only validation needs them.
    from watcher.rules import REGISTRY

    return [rule.id for rule in REGISTRY]


def _check_rule(rule: str, known: Collection[str] | None) -> None:
    known = _rule_ids() if known is None else known
    if rule in known:
        return
    close = difflib.get_close_matches(rule, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(f"unknown rule {rule!r}{hint}; `watcher rules list` shows them")


@dataclass(frozen=True, slots=True)
class Allow:
    """One `allow` entry: `rule:RULE-ID`, or `network:HOST` / `network:*.DOMAIN`."""

    kind: str
    #: A rule id, or a lowercase host pattern.
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    def matches(self, finding: Finding) -> bool:
        """Whether this entry covers `finding` (see the module docstring)."""
        if self.kind == "rule":
            return finding.rule == self.value
        if finding.category not in HOST_CATEGORIES:
            return False
        hosts = finding_hosts(finding)
        return bool(hosts) and all(host_matches(self.value, host) for host in hosts)


@dataclass(frozen=True, slots=True)
class Suppression:
    """One accepted finding: its rule and fingerprint."""

    rule: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.rule}@{self.fingerprint}"

    def matches(self, finding: Finding) -> bool:
        """Exactly this finding: same rule, same fingerprint."""
        return finding.rule == self.rule and finding.fingerprint == self.fingerprint


def parse_allow(text: str, known_rules: Collection[str] | None = None) -> Allow:
    """An `allow` entry; ValueError with a message fit for a user. `known_rules`: the registry."""
    match = _ENTRY.fullmatch(text)
    if match is None:
        raise ValueError(
            "must be 'category:value', e.g. 'network:api.github.com' or 'rule:code.new-host' "
            f"(got {text!r})"
        )
    kind, value = match.groups()
    if kind == "rule":
        _check_rule(value, known_rules)
        return Allow(kind, value)
    if kind in HOST_KINDS:
        host = value.lower()
        host = host[:-1] if host.endswith(".") else host
        if not _HOST_PATTERN.fullmatch(host) or (host.startswith("*.") and host.count(".") < 2):
            raise ValueError(
                f"{kind}: takes a host such as 'api.github.com' or '*.github.com' (a domain, "
                f"not a whole top-level domain), without scheme, port or path (got {value!r})"
            )
        return Allow(kind, host)
    raise ValueError(
        f"unknown kind {kind!r} (got {text!r}): allow entries are 'network:HOST' "
        "(or 'host:HOST') and 'rule:RULE-ID' (ids from `watcher rules list`)"
    )


def parse_suppression(text: str, known_rules: Collection[str] | None = None) -> Suppression:
    """A `suppress` entry `RULE@FINGERPRINT`; ValueError with a message fit for a user."""
    match = _SUPPRESSION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"must be 'RULE@FINGERPRINT' as shown next to the finding, e.g. "
            f"'code.network@6f7e5998603dad00' (got {text!r})"
        )
    rule, fingerprint = match.group(1), match.group(2).lower()
    _check_rule(rule, known_rules)
    if not _HEX.fullmatch(fingerprint):
        raise ValueError(
            f"fingerprint must be {FINGERPRINT_LENGTH} hex digits as shown next to the finding "
            f"(got {match.group(2)!r})"
        )
    return Suppression(rule, fingerprint)


@dataclass(frozen=True, slots=True)
class Policy:
    """What a subscription (or a `watcher diff` run) has reviewed and accepted."""

    allow: tuple[Allow, ...] = ()
    suppress: tuple[Suppression, ...] = ()

    @classmethod
    def parse(
        cls,
        allow: Iterable[str] = (),
        suppress: Iterable[str] = (),
        known_rules: Collection[str] | None = None,
    ) -> Policy:
        """From entries as written; the first bad one raises ValueError."""
        known = _rule_ids() if known_rules is None else known_rules
        return cls(
            tuple(dict.fromkeys(parse_allow(a, known) for a in allow)),
            tuple(dict.fromkeys(parse_suppression(s, known) for s in suppress)),
        )

    def __bool__(self) -> bool:
        return bool(self.allow or self.suppress)

    def covering(self, finding: Finding) -> str | None:
        """The entry that covers `finding`, as `suppress:...` or `allow:...`; None if none."""
        for suppression in self.suppress:
            if suppression.matches(finding):
                return f"suppress:{suppression}"
        for allow in self.allow:
            if allow.matches(finding):
                return f"allow:{allow}"
        return None


def apply_policy(report: Report, policy: Policy) -> Report:
    """`report` with the covered findings moved to `suppressed`, scored from the rest."""
    if not policy:
        return report
    kept: list[Finding] = []
    covered: list[Suppressed] = []
    for finding in report.findings:
        by = policy.covering(finding)
        if by is None:
            kept.append(finding)
        else:
            covered.append(Suppressed(finding, by))
    if not covered:
        return report
    # A combination that an allowed finding completed no longer raises its partner.
    kept = escalate(settle(kept))
    verdict = score(kept)
    return replace(
        report,
        findings=tuple(kept),
        score=verdict.score,
        severity=verdict.severity,
        reasons=verdict.reasons,
        suppressed=report.suppressed + tuple(covered),
    )


# --- hosts --------------------------------------------------------------------------------

#: The authority of a URL (`scheme://` or protocol-relative `'//`), up to path, query or quote.
_URL_AUTHORITY = re.compile(r"(?:\b[a-z][a-z0-9+.-]*:|['\"`])//([^/\s'\"`?#\\]*)", re.IGNORECASE)
_LITERAL = re.compile(r"'([^'\n]*)'|\"([^\"\n]*)\"|`([^`\n]*)`")
#: A dotted name at the start of a string literal (`'api.github.com'`, `'.evil.invalid/x'`).
_DOTTED = re.compile(r"[\w-]*(?:\.[\w-]+)+")


def _host_of_authority(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    host = host.lower()
    # `api.github.com.` is the same name written fully qualified.
    return host[:-1] if host.endswith(".") else host


def finding_hosts(finding: Finding) -> frozenset[str]:
    """The hosts a finding names: its `subject`, else those in its evidence line.

    From the evidence: every URL's host (after any `user@`), and the dotted name that starts any
    other string literal. The latter is deliberately broad: in
    `'https://api.github.com' + '.evil.invalid/x'` the second literal holds a host fragment, a
    fragment matches no allowed host, and the finding stays. What the line cannot show (a host
    assembled from a variable set elsewhere) is beyond this check; `rule:` and `suppress`
    entries are the ones to use when that matters.
    """
    if finding.subject:
        return frozenset({_host_of_authority(finding.subject)})
    evidence = finding.evidence or ""
    hosts = {_host_of_authority(m.group(1)) for m in _URL_AUTHORITY.finditer(evidence)}
    for match in _LITERAL.finditer(evidence):
        text = next(g for g in match.groups() if g is not None)
        if "://" not in text and (name := _DOTTED.match(text)) is not None:
            hosts.add(_host_of_authority(name.group(0)))
    hosts.discard("")
    return frozenset(hosts)


def host_matches(pattern: str, host: str) -> bool:
    """`api.github.com` matches only itself; `*.github.com` only names under github.com."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern
