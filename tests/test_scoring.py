"""Scoring: severities order, combinations escalate, score and severity agree."""

from __future__ import annotations

from watcher.models import Finding, Severity
from watcher.scoring import score


def finding(category: str, severity: Severity, rule: str = "r.x") -> Finding:
    return Finding(rule, severity, "m", category)


def test_no_findings_is_none() -> None:
    verdict = score([])
    assert (verdict.score, verdict.severity) == (0, Severity.NONE)


def test_worst_single_finding_sets_the_severity_and_band() -> None:
    verdict = score([finding("dependency", Severity.LOW), finding("network", Severity.MEDIUM)])
    assert verdict.severity is Severity.MEDIUM
    assert 30 <= verdict.score < 60
    assert not verdict.reasons


def test_install_hook_with_network_is_critical() -> None:
    verdict = score([finding("install-hook", Severity.HIGH), finding("network", Severity.MEDIUM)])
    assert verdict.severity is Severity.CRITICAL and verdict.score >= 90
    assert any("install time" in r for r in verdict.reasons)


def test_install_hook_alone_is_not_critical() -> None:
    verdict = score([finding("install-hook", Severity.HIGH)])
    assert verdict.severity is Severity.HIGH and 60 <= verdict.score < 90


def test_weakened_capability_does_not_escalate() -> None:
    # The old release already made requests: the hook is news, the network code is not.
    verdict = score([finding("install-hook", Severity.MEDIUM), finding("network", Severity.LOW)])
    assert verdict.severity is Severity.MEDIUM


def test_environment_dump_plus_network_is_exfiltration() -> None:
    verdict = score([finding("env", Severity.HIGH), finding("network", Severity.MEDIUM)])
    assert verdict.severity is Severity.CRITICAL
    # Reading one variable next to a request is ordinary.
    assert score([finding("env", Severity.LOW), finding("network", Severity.MEDIUM)]).severity is (
        Severity.MEDIUM
    )


def test_many_lows_stay_low() -> None:
    verdict = score([finding("host", Severity.LOW)] * 30)
    assert verdict.severity is Severity.LOW and verdict.score <= 29


def test_severity_order() -> None:
    assert Severity.NONE < Severity.LOW < Severity.MEDIUM < Severity.HIGH < Severity.CRITICAL
    assert max([Severity.LOW, Severity.CRITICAL, Severity.HIGH]) is Severity.CRITICAL
