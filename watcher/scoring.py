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
from dataclasses import dataclass, replace

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


#: New code that fetches from the network and new code that starts processes, in one file or in
#: two files of the package that both run at import or install time: the dropper shape
#: (ultralytics 8.3.41 fetched and started a miner at import). Splitting the fetch and the
#: start across two modules, gating them behind a delay or a condition, or fetching with
#: another client changes neither fact, so none of that loses the combination.
#: High, not critical: an updater or a CLI wrapper can do the same honestly, and a reviewer
#: decides which. Tradeoff, documented: the facts say *that* both happen, not that the fetched
#: bytes are what runs, so a new release that fetches JSON in one imported module and shells
#: out to git in another is high too; code nothing reaches (tests, docs) is capped low by the
#: engine and never completes it, and a dependency's findings (`via`) never pair with ours.
DOWNLOAD_EXEC_REASON = (
    "new code that runs at import or install time both fetches from the network and starts "
    "processes (download and execute)"
)
#: Appended to a finding `escalate` raised, so `settle` can undo it before a re-score.
DOWNLOAD_EXEC_NOTE = " (download and execute: new code also fetches from the network at "
#: Files whose code runs when the package is installed or imported (`Finding.reach`).
RUNS = frozenset({"import", "install"})


def _candidates(findings: Sequence[Finding], category: str) -> list[Finding]:
    return [
        f for f in findings if f.category == category and f.severity >= M and f.path and not f.via
    ]


def _pairs(fetch: Finding, run: Finding) -> bool:
    """Whether a fetch and a process start make the dropper shape together."""
    if fetch.artifact != run.artifact:
        return False
    if fetch.path == run.path:
        return True
    # Two files: only when the installed view says both run on install or import. A finding
    # of unknown reach (rebuilt from the store, or no model) pairs within its own file only.
    return fetch.reach in RUNS and run.reach in RUNS


def _dropper(findings: Sequence[Finding]) -> dict[int, Finding]:
    """Process starts (by index in `findings`) that pair with a fetch, with that fetch."""
    fetches = _candidates(findings, "network")
    # In the very file that starts the process, a fetch counts even when it was weakened
    # (it fits the package's purpose, or the last release fetched too): an HTTP client
    # that downloads a file and starts it at import is still a dropper.
    weakened = [
        f
        for f in findings
        if f.category == "network"
        and f.severity is Severity.LOW
        and f.reach in RUNS
        and f.path
        and not f.via
    ]
    if not fetches and not weakened:
        return {}
    paired: dict[int, Finding] = {}
    for index, f in enumerate(findings):
        if f.category != "exec" or f.severity < M or not f.path or f.via:
            continue
        # The fetch in the same file first: it is the better evidence.
        same = [n for n in (*fetches, *weakened) if n.path == f.path and n.artifact == f.artifact]
        fetch = next(iter(same), None) or next((n for n in fetches if _pairs(n, f)), None)
        if fetch is not None:
            paired[index] = fetch
    return paired


def _download_exec(findings: Sequence[Finding]) -> bool:
    return bool(_dropper(findings))


def escalate(findings: Sequence[Finding]) -> list[Finding]:
    """`findings` with each process start of a download-and-execute shape raised to high.

    The report's severity alone is not enough: the reviewer (and `--fail-on`, SARIF, the
    benchmark) must see *which line* makes it high, so the finding that starts the process
    carries it, naming where the fetch is. `settle` undoes it (policy re-scores after
    removing allowed findings, and an allowed fetch must no longer raise the start).
    """
    paired = _dropper(findings)
    out = list(findings)
    for index, fetch in paired.items():
        f = out[index]
        if f.severity >= H:
            continue
        where = f"{fetch.path}:{fetch.line}" if fetch.line else f"{fetch.path}"
        out[index] = replace(f, severity=H, message=f"{f.message}{DOWNLOAD_EXEC_NOTE}{where})")
    return out


def settle(findings: Sequence[Finding]) -> list[Finding]:
    """Undo `escalate`: raised findings back to medium, the severity they were raised from."""
    out: list[Finding] = []
    for f in findings:
        at = f.message.find(DOWNLOAD_EXEC_NOTE)
        if at != -1 and f.severity is H:
            f = replace(f, severity=M, message=f.message[:at])
        out.append(f)
    return out


def score(findings: Sequence[Finding]) -> Verdict:
    """Score a release's findings."""
    if not findings:
        return Verdict(0, Severity.NONE, ())
    severity = max(f.severity for f in findings)
    reasons = [combo.reason for combo in COMBINATIONS if combo.matches(findings)]
    if reasons:
        severity = Severity.CRITICAL
    elif _download_exec(findings):
        # Also when `escalate` already raised the process start: the reason says why.
        severity = max(severity, H)
        reasons = [DOWNLOAD_EXEC_REASON]
    remaining = 1.0
    for finding in findings:
        remaining *= 1 - WEIGHTS[finding.severity] / 100
    raw = round(100 * (1 - remaining))
    value = min(CEILINGS[severity], max(FLOORS[severity], raw))
    return Verdict(value, severity, tuple(reasons))
