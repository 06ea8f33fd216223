"""End to end: the real `watcher` CLI against real local registries (SPEC §3 contract).

Expected lines and evidence are computed from the fixture texts in tests/support/packages.py,
never hard-coded, so editing a fixture cannot silently desynchronise a test.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import RunWatcher, WatcherRun
from tests.support import packages
from tests.support.registries import PypiServer, Verdaccio

pytestmark = pytest.mark.e2e

SEVERITIES = ("none", "low", "medium", "high", "critical")
FINDING_KEYS = {"rule", "severity", "path", "line", "message", "evidence"}


def rank(severity: str) -> int:
    assert severity in SEVERITIES, f"unknown severity {severity!r}"
    return SEVERITIES.index(severity)


def assert_report_shape(report: Mapping[str, Any], ecosystem: str, package: str) -> None:
    """The SPEC §3 JSON contract: every key present, with the documented types and values."""
    assert report["schema"] == 1
    assert report["ecosystem"] == ecosystem
    assert report["package"] == package
    assert isinstance(report["score"], int) and 0 <= report["score"] <= 100
    assert report["severity"] in SEVERITIES
    assert isinstance(report["findings"], list)
    for finding in report["findings"]:
        assert FINDING_KEYS <= set(finding), finding
        assert finding["severity"] in SEVERITIES
    assert {"added", "removed", "changed"} <= set(report["files"])
    assert all(isinstance(report["files"][key], int) for key in ("added", "removed", "changed"))
    assert {"publisher_changed", "provenance", "version_jump"} <= set(report["metadata"])


def findings_of(report: Mapping[str, Any], rule: str) -> list[dict[str, Any]]:
    return [finding for finding in report["findings"] if finding["rule"] == rule]


def assert_finding(
    run: WatcherRun,
    report: Mapping[str, Any],
    rule: str,
    path: str,
    line: int,
    evidence: str | None = None,
) -> dict[str, Any]:
    """Some finding of `rule` sits at `path:line` (and quotes `evidence`, when given)."""
    candidates = findings_of(report, rule)
    for finding in candidates:
        if finding["path"] == path and finding["line"] == line:
            if evidence is not None:
                assert finding["evidence"] == evidence, finding
            return finding
    pytest.fail(
        f"no {rule} finding at {path}:{line}; {rule} findings: {candidates}\n{run.describe()}"
    )


def assert_one_line_error(run: WatcherRun) -> str:
    """Exit 2 with exactly one non-empty stderr line and no traceback; returns that line."""
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    lines = run.stderr_lines()
    assert len(lines) == 1, run.describe()
    return lines[0]


# --------------------------------------------------------------------------- npm


def diff_npm(
    run_watcher: RunWatcher, registry: Verdaccio, name: str, old: str, new: str, *extra: str
) -> WatcherRun:
    return run_watcher("diff", name, old, new, "--registry", registry.url, *extra)


def test_npm_postinstall_exfiltration_is_critical(
    run_watcher_memo: RunWatcher, npm_registry: Verdaccio
) -> None:
    run = diff_npm(
        run_watcher_memo, npm_registry, packages.STRUTIL, "2.1.3", "2.1.4", "--format", "json"
    )
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert_report_shape(report, "npm", packages.STRUTIL)
    assert (report["old_version"], report["new_version"]) == ("2.1.3", "2.1.4")
    assert report["severity"] == "critical", run.describe()

    malicious = packages.strutil_2_1_4()
    assert_finding(
        run,
        report,
        "npm.install-script",
        "package.json",
        packages.line_of(malicious.package_json, '"postinstall"'),
    )
    setup = packages.STRUTIL_SETUP_JS
    for rule, needle in (("code.env-access", "process.env"), ("code.network", "https.request")):
        assert_finding(
            run,
            report,
            rule,
            "lib/setup.js",
            packages.line_of(setup, needle),
            packages.line_text(setup, needle),
        )
    assert report["files"]["added"] >= 1


def test_npm_publisher_change_is_reported(
    run_watcher_memo: RunWatcher, npm_registry: Verdaccio
) -> None:
    """2.1.4 was published by another account (`_npmUser`); 2.1.5 by the usual one."""
    changed = diff_npm(
        run_watcher_memo, npm_registry, packages.STRUTIL, "2.1.3", "2.1.4", "--format", "json"
    )
    assert changed.json()["metadata"]["publisher_changed"] is True, changed.describe()
    same = diff_npm(
        run_watcher_memo, npm_registry, packages.STRUTIL, "2.1.3", "2.1.5", "--format", "json"
    )
    assert same.json()["metadata"]["publisher_changed"] is False, same.describe()


def test_npm_text_report_names_the_threat(run_watcher: RunWatcher, npm_registry: Verdaccio) -> None:
    run = diff_npm(
        run_watcher, npm_registry, packages.STRUTIL, "2.1.3", "2.1.4", "--format", "text"
    )
    assert run.returncode == 1, run.describe()
    for expected in ("CRITICAL", "lib/setup.js", "collect.attacker.invalid"):
        assert expected in run.stdout, f"{expected!r} missing\n{run.describe()}"


def test_npm_honest_release_is_quiet(run_watcher_memo: RunWatcher, npm_registry: Verdaccio) -> None:
    run = diff_npm(
        run_watcher_memo, npm_registry, packages.STRUTIL, "2.1.3", "2.1.5", "--format", "json"
    )
    assert run.returncode == 0, run.describe()
    report = run.json()
    assert_report_shape(report, "npm", packages.STRUTIL)
    assert report["severity"] in ("none", "low"), run.describe()
    loud = [finding for finding in report["findings"] if rank(finding["severity"]) > rank("low")]
    assert not loud, run.describe()
    assert report["files"]["changed"] >= 1
    assert report["metadata"]["version_jump"] is False


def test_npm_fail_on_critical_lets_an_honest_release_pass(
    run_watcher: RunWatcher, npm_registry: Verdaccio
) -> None:
    run = diff_npm(
        run_watcher,
        npm_registry,
        packages.STRUTIL,
        "2.1.3",
        "2.1.5",
        "--format",
        "json",
        "--fail-on",
        "critical",
    )
    assert run.returncode == 0, run.describe()


def test_npm_fail_on_critical_still_fails_the_attack(
    run_watcher: RunWatcher, npm_registry: Verdaccio
) -> None:
    run = diff_npm(
        run_watcher,
        npm_registry,
        packages.STRUTIL,
        "2.1.3",
        "2.1.4",
        "--format",
        "json",
        "--fail-on",
        "critical",
    )
    assert run.returncode == 1, run.describe()


def test_npm_unscoped_honest_release(run_watcher: RunWatcher, npm_registry: Verdaccio) -> None:
    run = diff_npm(
        run_watcher,
        npm_registry,
        packages.CLEAN,
        "1.0.0",
        "1.0.1",
        "--ecosystem",
        "npm",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.describe()
    report = run.json()
    assert_report_shape(report, "npm", packages.CLEAN)
    assert report["severity"] in ("none", "low"), run.describe()
    assert (report["files"]["added"], report["files"]["removed"]) == (0, 0), run.describe()
    assert report["files"]["changed"] >= 1


def test_npm_scan_of_a_single_release(run_watcher: RunWatcher, npm_registry: Verdaccio) -> None:
    run = run_watcher(
        "scan", packages.STRUTIL, "2.1.4", "--registry", npm_registry.url, "--format", "json"
    )
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert_report_shape(report, "npm", packages.STRUTIL)
    assert report["old_version"] is None
    assert report["new_version"] == "2.1.4"
    assert findings_of(report, "npm.install-script"), run.describe()


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        (packages.STRUTIL, "2.1.3", "9.9.9"),
        (packages.STRUTIL, "0.0.1", "2.1.3"),
        ("@watcher-e2e/no-such-package", "1.0.0", "1.0.1"),
    ],
    ids=["unknown-new-version", "unknown-old-version", "unknown-package"],
)
def test_npm_unknown_input_is_a_one_line_error(
    run_watcher: RunWatcher, npm_registry: Verdaccio, name: str, old: str, new: str
) -> None:
    run = diff_npm(run_watcher, npm_registry, name, old, new, "--format", "json")
    assert_one_line_error(run)
    assert run.stdout.strip() == "", run.describe()


def test_npm_integrity_mismatch_is_refused(
    run_watcher: RunWatcher, npm_registry: Verdaccio
) -> None:
    run = diff_npm(
        run_watcher, npm_registry, packages.TAMPERED, "1.0.0", "1.0.1", "--format", "json"
    )
    line = assert_one_line_error(run)
    assert "integrity" in line.lower(), run.describe()


def test_tarball_cache_is_used_on_a_second_run(
    run_watcher: RunWatcher, npm_registry: Verdaccio, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    args = (
        "diff",
        packages.STRUTIL,
        "2.1.3",
        "2.1.4",
        "--registry",
        npm_registry.url,
        "--format",
        "json",
    )
    first = run_watcher(*args, data_dir=data_dir)
    assert first.returncode == 1, first.describe()
    cache = data_dir / "cache"
    assert cache.is_dir() and any(path.is_file() for path in cache.rglob("*")), (
        f"nothing cached under {cache}\n{first.describe()}"
    )
    second = run_watcher(*args, data_dir=data_dir)
    assert second.returncode == 1, second.describe()
    contract = ("score", "severity", "findings", "files", "metadata", "old_version", "new_version")
    first_report, second_report = first.json(), second.json()
    assert {key: second_report[key] for key in contract} == {
        key: first_report[key] for key in contract
    }, second.describe()


# --------------------------------------------------------------------------- PyPI


def diff_pypi(
    run_watcher: RunWatcher, simple_url: str, old: str, new: str, *extra: str
) -> WatcherRun:
    return run_watcher(
        "diff",
        packages.PYPI_NAME,
        old,
        new,
        "--ecosystem",
        "pypi",
        "--registry",
        simple_url,
        *extra,
    )


def test_pypi_wheel_only_pth_is_caught(run_watcher: RunWatcher, pypi_registry: PypiServer) -> None:
    run = diff_pypi(run_watcher, pypi_registry.simple_url, "1.0.0", "1.0.1", "--format", "json")
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert_report_shape(report, "pypi", packages.PYPI_NAME)
    assert report["severity"] in ("high", "critical"), run.describe()

    release = packages.pypi_1_0_1()
    finding = assert_finding(run, report, "pypi.pth-file", packages.PTH_NAME, 1)
    assert finding.get("artifact") == release.wheel_filename, finding
    from_sdist = [
        finding
        for finding in findings_of(report, "pypi.pth-file")
        if finding.get("artifact") == release.sdist_filename
    ]
    assert not from_sdist, run.describe()


def test_pypi_honest_release_is_quiet(run_watcher: RunWatcher, pypi_registry: PypiServer) -> None:
    run = diff_pypi(run_watcher, pypi_registry.simple_url, "1.0.0", "1.0.2", "--format", "json")
    assert run.returncode == 0, run.describe()
    report = run.json()
    assert_report_shape(report, "pypi", packages.PYPI_NAME)
    assert report["severity"] in ("none", "low"), run.describe()


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [(packages.PYPI_NAME, "1.0.0", "9.9.9"), ("watcher-e2e-no-such-package", "1.0.0", "1.0.1")],
    ids=["unknown-version", "unknown-package"],
)
def test_pypi_unknown_input_is_a_one_line_error(
    run_watcher: RunWatcher, pypi_registry: PypiServer, name: str, old: str, new: str
) -> None:
    run = run_watcher(
        "diff",
        name,
        old,
        new,
        "--ecosystem",
        "pypi",
        "--registry",
        pypi_registry.simple_url,
        "--format",
        "json",
    )
    assert_one_line_error(run)


class _TamperedIndex(ThreadingHTTPServer):
    """A PEP 503 index whose 1.0.1 links carry the sha256 of other bytes than it serves."""

    files: dict[str, bytes]
    page: bytes


class _TamperedIndexHandler(BaseHTTPRequestHandler):
    server: _TamperedIndex

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        if self.path.rstrip("/") == f"/simple/{packages.PYPI_NAME}":
            self._send(200, self.server.page, "text/html")
        elif self.path.startswith("/packages/") and self.path[10:] in self.server.files:
            self._send(200, self.server.files[self.path[10:]], "application/octet-stream")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def tampered_pypi_index() -> Iterator[str]:
    """Simple-API URL of an index that serves 1.0.1's files with wrong `#sha256=` fragments."""
    server = _TamperedIndex(("127.0.0.1", 0), _TamperedIndexHandler)
    server.files = {}
    links = []
    honest = packages.pypi_1_0_0()
    claimed = packages.pypi_1_0_2()  # the digests the index claims for 1.0.1's files
    for release, digests_of in ((honest, honest), (packages.pypi_1_0_1(), claimed)):
        for (filename, data), (_, claimed_data) in zip(
            release.distributions(), digests_of.distributions(), strict=True
        ):
            server.files[filename] = data
            digest = hashlib.sha256(claimed_data).hexdigest()
            links.append(f'<a href="/packages/{filename}#sha256={digest}">{filename}</a><br>')
    server.page = (
        "<!DOCTYPE html><html><body><h1>Links for watcher-e2e-pkg</h1>\n"
        + "\n".join(links)
        + "\n</body></html>\n"
    ).encode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_pypi_integrity_mismatch_is_refused(
    run_watcher: RunWatcher, tampered_pypi_index: str
) -> None:
    run = diff_pypi(run_watcher, tampered_pypi_index, "1.0.0", "1.0.1", "--format", "json")
    line = assert_one_line_error(run).lower()
    assert any(word in line for word in ("integrity", "sha256", "digest", "hash")), run.describe()
