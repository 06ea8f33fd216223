"""Turn findings into one 0–100 score and a severity, escalating dangerous combinations.

A finding alone is a signal; a threat correlated with a capability is a risk (guarddog's risk
engine idea). An install hook is not critical by itself (native modules have them), nor is a
network call (HTTP clients make them); an install hook *and* new network code is how nearly
every npm worm and token stealer works.

`score` sees only the findings it is given: `watcher.policy` re-scores a report without the
findings a subscription allowed or suppressed, so a reviewed signal neither scores nor completes
a combination.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from watcher.models import Finding, Severity

#: How much one finding of each severity adds, as a probability-like share of 100.
WEIGHTS = {
    Severity.NONE: 0,
    Severity.LOW: 4,
    Severity.MEDIUM: 15,
    Severity.HIGH: 45,
    Severity.CRITICAL: 80,
}
#: The least score a report of each severity shows, so score and severity never disagree.
FLOORS = {
    Severity.NONE: 0,
    Severity.LOW: 5,
    Severity.MEDIUM: 30,
    Severity.HIGH: 60,
    Severity.CRITICAL: 90,
}
CEILINGS = {
    Severity.NONE: 0,
    Severity.LOW: 29,
    Severity.MEDIUM: 59,
    Severity.HIGH: 89,
    Severity.CRITICAL: 100,
}

CAPABILITIES = frozenset(
    {"network", "exec", "dynamic-code", "secrets", "obfuscation", "exfil", "wallet"}
)


M, H = Severity.MEDIUM, Severity.HIGH


@dataclass(frozen=True, slots=True)
class Combination:
    """Groups of categories that, each present at its least severity, make a release critical."""

    needs: tuple[tuple[frozenset[str], Severity], ...]
    reason: str

    def matches(self, findings: Sequence[Finding]) -> bool:
        """Whether every group has a finding of one of its categories at its severity."""
        return all(
            any(f.category in group and f.severity >= least for f in findings)
            for group, least in self.needs
        )


COMBINATIONS = (
    Combination(
        ((frozenset({"install-hook"}), M), (CAPABILITIES | {"env"}, M)),
        "code that runs at install time arrives together with new network, process, "
        "dynamic-code, secret or environment access",
    ),
    Combination(
        ((frozenset({"network"}), M), (frozenset({"secrets"}), M)),
        "new code reads credential files and reaches the network",
    ),
    Combination(
        ((frozenset({"network", "host"}), M), (frozenset({"env"}), H)),
        "new code dumps the environment and reaches the network (exfiltration)",
    ),
    Combination(
        ((frozenset({"publisher", "provenance"}), M), (frozenset({"install-hook"}), M)),
        "a new publisher (or lost provenance) ships a new install-time hook",
    ),
    Combination(
        ((frozenset({"obfuscation", "dynamic-code"}), H), (frozenset({"network", "exec"}), M)),
        "hidden, decoded code arrives with network or process access",
    ),
    Combination(
        ((frozenset({"mcp-injection"}), H), (frozenset({"network", "secrets"}), M)),
        "a tool description instructs the model while new code reaches the network or "
        "credential files (tool poisoning with an exfiltration path)",
    ),
    Combination(
        ((frozenset({"exfil"}), H), (frozenset({"env", "secrets"}), M)),
        "data leaves in DNS lookups or copied mail while new code reads the environment or "
        "credential files",
    ),
    Combination(
        ((frozenset({"name", "confusion", "out-of-order"}), M), (frozenset({"install-hook"}), M)),
        "an impostor name, a name also claimed on the public registry, or a long-dormant "
        "package ships an install-time hook (typosquat, dependency confusion, coa/rc 2021)",
    ),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The scored outcome: 0–100, a severity, and why a combination escalated it."""

    score: int
    severity: Severity
    reasons: tuple[str, ...]


#: A single new file (outside tests) that both fetches and starts processes: the dropper
#: shape (ultralytics 8.3.41 fetched and started a miner at import). High, not critical: an
#: updater or a CLI wrapper can do the same honestly, and a reviewer decides which.
DOWNLOAD_EXEC_REASON = (
    "one new file both fetches from the network and starts processes (download and execute)"
)


def _download_exec(findings: Sequence[Finding]) -> bool:
    seen: dict[tuple[str | None, str | None, str], set[str]] = {}
    for f in findings:
        if f.category in ("network", "exec") and f.severity >= M and f.path and not f.via:
            seen.setdefault((f.artifact, f.path, f.category), set()).add(f.category)
    files = {(artifact, path) for artifact, path, _ in seen}
    return any((a, p, "network") in seen and (a, p, "exec") in seen for a, p in files)


def score(findings: Sequence[Finding]) -> Verdict:
    """Score a release's findings."""
    if not findings:
        return Verdict(0, Severity.NONE, ())
    severity = max(f.severity for f in findings)
    reasons = [combo.reason for combo in COMBINATIONS if combo.matches(findings)]
    if reasons:
        severity = Severity.CRITICAL
    elif severity < H and _download_exec(findings):
        severity = H
        reasons = [DOWNLOAD_EXEC_REASON]
    remaining = 1.0
    for finding in findings:
        remaining *= 1 - WEIGHTS[finding.severity] / 100
    raw = round(100 * (1 - remaining))
    value = min(CEILINGS[severity], max(FLOORS[severity], raw))
    return Verdict(value, severity, tuple(reasons))
