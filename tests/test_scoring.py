"""Scoring: severities order, combinations escalate, score and severity agree."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.support import archives as A
from watcher.models import Finding, Severity
from watcher.pipeline import diff_local
from watcher.policy import Policy, apply_policy
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


def test_a_weakened_fetch_still_makes_a_dropper_in_the_file_that_starts_the_process() -> None:
    # An HTTP client's fetch is low ("expected for a network client"), but downloading an
    # executable and starting it at import, in one module, is the dropper all the same.
    low = Severity.LOW
    found = [
        located("network", "pkg/__init__.py", "import", low),
        located("exec", "pkg/__init__.py", "import"),
    ]
    assert score(found).severity is Severity.HIGH
    assert escalate(found)[1].severity is Severity.HIGH
    # Only in that file, and only where it runs: a weakened fetch elsewhere, or one in code
    # nothing reaches, pairs with nothing.
    apart = [
        located("network", "pkg/net.py", "import", low),
        located("exec", "pkg/run.py", "import"),
    ]
    assert score(apart).severity is Severity.MEDIUM
    shipped = [located("network", "t.py", "shipped", low), located("exec", "t.py", "shipped")]
    assert score(shipped).severity is Severity.MEDIUM


def test_download_and_exec_never_pairs_with_a_dependency_or_another_artifact() -> None:
    dep = replace(located("network", "index.js", "import"), via="dep@1.0.0")
    assert score([dep, located("exec", "run.js", "import")]).severity is Severity.MEDIUM
    wheel = replace(located("network", "a.py", "import"), artifact="x.whl")
    assert score([wheel, located("exec", "a.py", "import")]).severity is Severity.MEDIUM


_META = {
    "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
    "pkg.egg-info/top_level.txt": "pkg\n",
}
_FETCH = "import urllib.request\n\n\ndef fetch(u):\n    return urllib.request.urlopen(u).read()\n"
_START = "import subprocess\n\n\ndef start(p):\n    subprocess.Popen([p])\n"


def _release(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    path = tmp_path / name
    path.write_bytes(A.sdist("pkg", name.split("-")[1].removesuffix(".tar.gz"), files))
    return path


def test_fetch_and_start_in_two_imported_modules_is_high_on_the_start(tmp_path: Path) -> None:
    """The ultralytics dropper split in two: both modules run at import, so the start is high."""
    old = _release(tmp_path, "pkg-1.0.tar.gz", {**_META, "pkg/__init__.py": "X = 1\n"})
    init = "from pkg.net import fetch\nfrom pkg.run import start\n"
    files = {**_META, "pkg/__init__.py": init, "pkg/net.py": _FETCH, "pkg/run.py": _START}
    report = diff_local(old, _release(tmp_path, "pkg-1.1.tar.gz", files))
    assert report.severity is Severity.HIGH and DOWNLOAD_EXEC_REASON in report.reasons
    start = [f for f in report.findings if f.category == "exec"]
    assert start and start[0].severity is Severity.HIGH and start[0].path == "pkg/run.py"
    assert "pkg/net.py" in start[0].message
    # A reviewed destination no longer completes the shape: the start settles to medium.
    fetch = next(f for f in report.findings if f.category == "network")
    allowed = apply_policy(report, Policy.parse(suppress=[f"{fetch.rule}@{fetch.fingerprint}"]))
    assert max(f.severity for f in allowed.findings) is Severity.MEDIUM
    assert allowed.severity is Severity.MEDIUM


def test_a_process_start_in_a_module_nothing_imports_does_not_pair(tmp_path: Path) -> None:
    old = _release(tmp_path, "pkg-1.0.tar.gz", {**_META, "pkg/__init__.py": "X = 1\n"})
    init = "from pkg.net import fetch\n"
    files = {**_META, "pkg/__init__.py": init, "pkg/net.py": _FETCH, "tools/run.py": _START}
    report = diff_local(old, _release(tmp_path, "pkg-1.1.tar.gz", files))
    assert report.severity < Severity.HIGH, report.findings
