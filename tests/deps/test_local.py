"""`diff --old/--new`: local artifacts' dependencies are resolved when a registry is given,
else reported as not scanned (never silently skipped)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from tests.deps.mock_registries import NPM_BASE, MockNpm
from tests.deps.test_bundled import MINIFIED_PAYLOAD, bundled_files
from tests.deps.test_bundled import parent as bundling_parent
from tests.deps.test_scan import RELEASED, evil, parent, via
from tests.support.packages import NpmRelease
from watcher.artifacts.fetch import Fetcher
from watcher.deps.scan import NO_REGISTRY
from watcher.httpclient import RetryPolicy, make_client
from watcher.models import Severity
from watcher.pipeline import Sources, diff_local
from watcher.registries import NpmRegistry


def write(tmp_path: Path, release: NpmRelease) -> Path:
    path = tmp_path / release.filename
    path.write_bytes(release.tarball())
    return path


def test_local_diff_with_new_dependencies_and_no_registry_reports_them_unscanned(
    tmp_path: Path,
) -> None:
    old = write(tmp_path, parent("1.0.0", {"kept": "^1.0.0"}))
    new = write(tmp_path, parent("1.0.1", {"kept": "^1.1.0", "evil-helper": "^1.0.0"}))

    report = diff_local(old, new)

    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert sorted(f.message for f in unscanned) == [
        f"changed dependency `kept` was not scanned: {NO_REGISTRY}",
        f"new dependency `evil-helper` was not scanned: {NO_REGISTRY}",
    ]
    assert all(f.severity is Severity.LOW for f in unscanned)
    assert report.severity is Severity.LOW


def test_local_diff_with_a_registry_scans_new_dependencies(tmp_path: Path) -> None:
    npm = MockNpm()
    npm.publish(evil("1.0.0"), RELEASED - timedelta(days=2))
    old = write(tmp_path, parent("1.0.0"))
    new = write(tmp_path, parent("1.0.1", {"evil-helper": "^1.0.0"}))

    report = diff_local(old, new, sources=npm.sources())

    assert {f.via for f in via(report)} == {"evil-helper@1.0.0"}
    assert report.severity is Severity.CRITICAL
    assert "manifest.dependency-unscanned" not in {f.rule for f in report.findings}


def test_local_diff_analyses_bundled_packages_without_a_registry(tmp_path: Path) -> None:
    old = write(tmp_path, bundling_parent("3.3.5", None))
    new = write(tmp_path, bundling_parent("3.3.6", bundled_files("0.1.1", MINIFIED_PAYLOAD)))

    report = diff_local(old, new)

    assert {f.via for f in via(report)} == {"flatmap-lite@0.1.1"}
    assert report.severity >= Severity.HIGH
    # Bundled, so nothing to fetch: not reported as unscanned.
    assert "manifest.dependency-unscanned" not in {f.rule for f in report.findings}


def test_an_unreachable_registry_is_tried_once_and_every_dependency_reported_unscanned(
    tmp_path: Path,
) -> None:
    asked: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        raise httpx.ConnectError("refused", request=request)

    http = make_client(retry=RetryPolicy(attempts=1), transport=httpx.MockTransport(refuse))
    sources = Sources(NpmRegistry(http, NPM_BASE), Fetcher(http=http, cache_dir=None))
    old = write(tmp_path, parent("1.0.0", {"kept": "^1.0.0"}))
    new = write(tmp_path, parent("1.0.1", {"kept": "^1.1.0", "a": "^1", "b": "^2"}))

    report = diff_local(old, new, sources=sources)

    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert len(unscanned) == 3 and len(asked) == 1
    assert all(f.severity is Severity.LOW for f in unscanned)
    assert report.severity is Severity.LOW
