"""The fixes the detection benchmark called for, each pinned by the case that showed the need.

False positives on real releases: an established dependency scanned as a first release
(desktop-commander adopting sharp; bcrypt adopting node-gyp-build), platform packages
published with the release (@vscode/ripgrep), an sdist compared with an old wheel and a repo
moved into the org's monorepo (pydantic-core), test code in an sdist. A miss: ultralytics'
import-time download-and-run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.deps.mock_registries import MockNpm
from tests.support import archives as A
from tests.support.packages import STRUTIL_SETUP_JS, NpmRelease
from tests.support.replays import PyRelease, npm
from watcher.models import Finding, Severity
from watcher.pipeline import diff_local, diff_release
from watcher.rules.dependencies import is_sibling
from watcher.scoring import DOWNLOAD_EXEC_REASON, score

NOW = datetime.now(UTC)


def _publish_parent(mock: MockNpm, dependency: str) -> None:
    mock.publish(npm("parent-app", "1.0.0", {"index.js": "module.exports = 1;\n"}), NOW)
    mock.publish(
        npm(
            "parent-app",
            "1.0.1",
            {"index.js": "module.exports = 1;\n"},
            dependencies={dependency: "^3.0.0"},
        ),
        NOW,
    )


def _hooked(name: str, version: str) -> NpmRelease:
    return npm(
        name, version, {"setup.js": STRUTIL_SETUP_JS}, scripts={"postinstall": "node setup.js"}
    )


def test_established_dependency_findings_are_kept_but_cannot_make_the_parent_critical() -> None:
    mock = MockNpm()
    start = NOW - timedelta(days=4 * 365)
    for minor in range(12):
        release = _hooked("native-old", f"3.{minor}.0")
        mock.publish(release, start + timedelta(days=90 * minor))
    _publish_parent(mock, "native-old")
    report = diff_release(mock.sources(), "parent-app", "1.0.0", "1.0.1")
    via = [f for f in report.findings if f.via == "native-old@3.11.0"]
    assert {"npm.install-script", "code.network"} <= {f.rule for f in via}
    assert all(f.severity is Severity.LOW for f in via)
    assert all("established dependency" in f.message for f in via)
    assert report.severity < Severity.HIGH


def test_fresh_version_of_an_old_dependency_keeps_full_weight() -> None:
    """ua-parser-js 0.7.29: an old, popular name, hijacked; the resolved version is days old."""
    mock = MockNpm()
    start = NOW - timedelta(days=4 * 365)
    for minor in range(11):
        mock.publish(npm("ua-old", f"3.{minor}.0", {"index.js": "1;\n"}), start)
    mock.publish(_hooked("ua-old", "3.11.0"), NOW - timedelta(days=2))
    _publish_parent(mock, "ua-old")
    report = diff_release(mock.sources(), "parent-app", "1.0.0", "1.0.1")
    assert report.severity is Severity.CRITICAL
    assert any(f.via == "ua-old@3.11.0" and f.severity is Severity.HIGH for f in report.findings)


def test_siblings_are_packages_of_the_parents_own_scope() -> None:
    assert is_sibling("@vscode/ripgrep", "@vscode/ripgrep-linux-x64")
    assert is_sibling("esbuild", "@esbuild/linux-x64")
    assert is_sibling("@swc/core", "@swc/core-linux-x64-gnu")
    assert not is_sibling("axios", "plain-crypto-js")
    assert not is_sibling("event-stream", "flatmap-stream")
    # Anyone can publish an unscoped `parent-x`.
    assert not is_sibling("esbuild", "esbuild-helper")
    assert not is_sibling("@watcher-e2e/dep-parent", "@watcher-e2e/evil-dep")


def _finding(rule: str, category: str, severity: Severity, path: str) -> Finding:
    return Finding(rule, severity, "m", category, path=path, artifact="a.tgz")


def test_test_code_nothing_installs_is_capped_low_by_reachability(tmp_path: Path) -> None:
    """pydantic-core's sdist: `os.environ.copy()` in a test is not an environment dump.

    Judged by the module graph, not the path: the sdist installs `pkg` only (its egg-info
    says so), so nothing installs or imports `tests/`; a test file that `pkg` imports counts.
    """
    meta = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": "X = 1\n",
    }
    dump = "import os, subprocess\nsubprocess.run(['x'], env=dict(os.environ))\n"
    old = tmp_path / "pkg-1.0.tar.gz"
    old.write_bytes(A.sdist("pkg", "1.0", meta))
    unreached = tmp_path / "pkg-1.1.tar.gz"
    unreached.write_bytes(A.sdist("pkg", "1.1", {**meta, "tests/test_errors.py": dump}))
    findings = [f for f in diff_local(old, unreached).findings if f.path == "tests/test_errors.py"]
    assert findings and all(f.severity <= Severity.LOW for f in findings)
    reached = tmp_path / "pkg-1.1-b.tar.gz"
    imported = {**meta, "pkg/__init__.py": "from tests import test_errors\n"}
    reached.write_bytes(A.sdist("pkg", "1.1", {**imported, "tests/test_errors.py": dump}))
    live = [f for f in diff_local(old, reached).findings if f.path == "tests/test_errors.py"]
    assert max(f.severity for f in live) > Severity.LOW


def test_one_file_that_downloads_and_runs_is_high() -> None:
    dropper = [
        _finding("code.network", "network", Severity.MEDIUM, "pkg/utils/downloads.py"),
        _finding("code.process-exec", "exec", Severity.MEDIUM, "pkg/utils/downloads.py"),
    ]
    verdict = score(dropper)
    assert verdict.severity is Severity.HIGH and verdict.reasons == (DOWNLOAD_EXEC_REASON,)
    apart = [dropper[0], _finding("code.process-exec", "exec", Severity.MEDIUM, "pkg/cli.py")]
    assert score(apart).severity is Severity.MEDIUM
    same = "pkg/utils/downloads.py"
    weaker = [dropper[0], _finding("code.process-exec", "exec", Severity.LOW, same)]
    assert score(weaker).severity is Severity.MEDIUM  # the old release already ran processes


def test_an_sdist_after_wheel_only_releases_has_no_backend_change(tmp_path: Path) -> None:
    """The old wheel says nothing about the build backend: unknown, not setuptools."""
    old = PyRelease("wheelonly", "2.0.0", {"wheelonly/__init__.py": "X = 1\n"}).wheel()
    new = PyRelease("wheelonly", "2.0.1", {"wheelonly/__init__.py": "X = 2\n"}).sdist()
    (tmp_path / old.filename).write_bytes(old.data)
    (tmp_path / new.filename).write_bytes(new.data)
    report = diff_local(tmp_path / old.filename, tmp_path / new.filename)
    assert "pypi.build-backend" not in {f.rule for f in report.findings}
