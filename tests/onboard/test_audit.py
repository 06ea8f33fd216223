"""`audit`: one finding per unsafe thing, with its severity, most severe first."""

from __future__ import annotations

import json
from pathlib import Path

from tests.report.test_sarif import assert_valid_sarif
from tests.support.stores import make_subscription
from watcher.models import Ecosystem, Severity
from watcher.onboard.audit import audit
from watcher.onboard.inputs import read_inputs
from watcher.onboard.render import render_json, render_sarif, render_text

FAKE_PAT = "ghp_" + "FAKE" * 9


def config(tmp_path: Path) -> Path:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "github": {
                        "command": "npx",
                        "args": ["-y", "@modelcontextprotocol/server-github"],
                        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": FAKE_PAT},
                    },
                    "fs": {"command": "npx", "args": ["-y", "@s/fs@1.2.3"]},
                    "ranged": {"command": "uvx", "args": ["mcp-x>=1.0"]},
                    "remote": {"url": "https://mcp.invalid/sse"},
                    "off": {"command": "npx", "args": ["-y", "ignored"], "disabled": True},
                }
            }
        )
    )
    return path


def test_findings_and_severities(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(
        '{"dependencies": {"@modelcontextprotocol/sdk": "^1.0.0"}}'
    )
    inputs = read_inputs(
        [config(tmp_path), tmp_path / "package.json"], discover=False, home=tmp_path, cwd=tmp_path
    )
    watched = [make_subscription("@s/fs", "1.2.3", Ecosystem.NPM)]
    report = audit(inputs, watched)
    found = [(f.rule, f.severity, f.key) for f in report.findings]
    assert found == [
        ("launch.unpinned", Severity.HIGH, "mcpServers.github"),
        ("secret.env", Severity.HIGH, "mcpServers.github"),
        ("launch.unpinned", Severity.HIGH, "mcpServers.ranged"),
        ("launch.floating-dependencies", Severity.MEDIUM, "mcpServers.fs"),
        ("lockfile.missing", Severity.MEDIUM, "dependencies.@modelcontextprotocol/sdk"),
        ("watch.unwatched", Severity.LOW, "mcpServers.github"),
        ("watch.unwatched", Severity.LOW, "mcpServers.ranged"),
        ("watch.not-watchable", Severity.LOW, "mcpServers.remote"),
    ]
    assert report.severity is Severity.HIGH
    assert [s.server.name for s in report.servers] == ["github", "fs", "ranged", "remote"]
    for text in (render_text(report), render_json(report), render_sarif(report)):
        assert FAKE_PAT not in text and "FAKEFAKE" not in text
        assert "ghp_…(40 chars)" in text


def test_sarif_shape(tmp_path: Path) -> None:
    inputs = read_inputs([config(tmp_path)], discover=False, home=tmp_path, cwd=tmp_path)
    sarif = json.loads(render_sarif(audit(inputs)))
    assert_valid_sarif(sarif)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    unpinned = run["tool"]["driver"]["rules"][rules.index("launch.unpinned")]
    assert unpinned["properties"]["security-severity"] == "8.0"
    assert unpinned["defaultConfiguration"] == {"level": "error"}
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
            "file://"
        )
    assert {r["level"] for r in run["results"]} == {"error", "warning", "note"}


def test_a_pinned_watched_config_has_only_the_dependency_note(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text('{"mcpServers": {"t": {"command": "npx", "args": ["-y", "t@1.0.0"]}}}')
    inputs = read_inputs([path], discover=False, home=tmp_path, cwd=tmp_path)
    report = audit(inputs, [make_subscription("t", "1.0.0")])
    assert [f.rule for f in report.findings] == ["launch.floating-dependencies"]
    assert report.severity is Severity.MEDIUM
