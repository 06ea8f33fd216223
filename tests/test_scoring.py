"""Scoring: severities order, combinations escalate, score and severity agree."""

from __future__ import annotations

from dataclasses import replace

from watcher.models import Finding, Severity
from watcher.scoring import DOWNLOAD_EXEC_REASON, escalate, score, settle


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


def located(
    category: str, path: str, reach: str | None, severity: Severity = Severity.MEDIUM
) -> Finding:
    return Finding("r.x", severity, "m", category, path=path, line=3, reach=reach)


def test_download_and_exec_split_across_two_imported_files_is_high() -> None:
    # ultralytics 8.3.41, rewritten: the fetch in one module, the start in another.
    found = [located("network", "pkg/net.py", "import"), located("exec", "pkg/run.py", "import")]
    verdict = score(found)
    assert verdict.severity is Severity.HIGH and DOWNLOAD_EXEC_REASON in verdict.reasons
    raised = escalate(found)
    assert [f.severity for f in raised] == [Severity.MEDIUM, Severity.HIGH]
    assert "pkg/net.py:3" in raised[1].message
    # Undone for a re-score (policy), exactly.
    assert settle(raised) == found


def test_download_and_exec_in_one_file_is_high_whatever_is_known_of_its_reach() -> None:
    found = [located("network", "pkg/d.py", None), located("exec", "pkg/d.py", None)]
    assert escalate(found)[1].severity is Severity.HIGH


def test_download_and_exec_apart_needs_both_files_to_run() -> None:
    # A file nothing installs or imports (a script the sdist ships), or of unknown reach,
    # does not pair with another file: honest packages ship tools next to a fetching client.
    for reach in ("shipped", None):
        found = [located("network", "pkg/net.py", "import"), located("exec", "tools/x.py", reach)]
        assert score(found).severity is Severity.MEDIUM
        assert escalate(found) == found


def test_download_and_exec_never_pairs_with_a_dependency_or_another_artifact() -> None:
    dep = replace(located("network", "index.js", "import"), via="dep@1.0.0")
    assert score([dep, located("exec", "run.js", "import")]).severity is Severity.MEDIUM
    wheel = replace(located("network", "a.py", "import"), artifact="x.whl")
    assert score([wheel, located("exec", "a.py", "import")]).severity is Severity.MEDIUM
