"""`watcher audit` and `watcher subscriptions import` through the real CLI entry point."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import watcher.cli as cli
from watcher.errors import PackageNotFound
from watcher.models import Ecosystem, PackageInfo, Release
from watcher.subscriptions import load_subscriptions

FAKE_PAT = "ghp_" + "FAKE" * 9
FAKE_KEY = "sk-ant-api03-" + "FAKEFAKE" * 10
FAKE_DB = "postgresql://app:FAKE-db-password-123@db.invalid/app"
SECRETS = (FAKE_PAT, FAKE_KEY, FAKE_DB, "FAKE-db-password-123")

CONFIG = {
    "mcpServers": {
        "github": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-github"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": FAKE_PAT, "ANTHROPIC_API_KEY": FAKE_KEY},
        },
        "postgres": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-postgres@0.6.2", FAKE_DB],
        },
        "remote": {"type": "sse", "url": "https://mcp.invalid/sse"},
    }
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


class FakeRegistry:
    """What `open_registry` returns: `latest` per name; records what was asked where."""

    asked: list[tuple[str, str, str | None]] = []

    def __init__(self, ecosystem: Ecosystem, registry: str | None) -> None:
        self.ecosystem, self.registry = ecosystem, registry

    def package(self, name: str) -> PackageInfo:
        FakeRegistry.asked.append((self.ecosystem.value, name, self.registry))
        if name == "@modelcontextprotocol/server-github":
            return PackageInfo(
                Ecosystem.NPM, name, {"2025.4.8": datetime(2025, 4, 8, tzinfo=UTC)}, "2025.4.8"
            )
        raise PackageNotFound(f"{self.ecosystem.value} package '{name}' not found")

    #: name -> what the registry says of `_hasShrinkwrap` (absent: the name is unknown).
    shrinkwraps: dict[str, bool | None] = {"@modelcontextprotocol/server-postgres": False}

    def release(self, name: str, version: str) -> Release:
        FakeRegistry.asked.append((self.ecosystem.value, f"{name}@{version}", self.registry))
        if name not in self.shrinkwraps:
            raise PackageNotFound(f"{self.ecosystem.value} package '{name}' not found")
        return Release(Ecosystem.NPM, name, version, (), has_shrinkwrap=self.shrinkwraps[name])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME and project folder (cwd); registries answered by `FakeRegistry`."""
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(project)
    FakeRegistry.asked = []
    monkeypatch.setattr(cli, "open_registry", lambda eco, _http, url=None: FakeRegistry(eco, url))
    return tmp_path


def write_config(path: Path, data: object = CONFIG) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


# --- audit ------------------------------------------------------------------------------------


def test_audit_text_fail_on_and_masked_secrets(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(env / "project" / ".mcp.json")
    code, out, err = run(capsys, "audit", str(config))
    assert code == 1 and err == ""
    assert "VERDICT: HIGH" in out
    assert "env.GITHUB_PERSONAL_ACCESS_TOKEN = ghp_…(40 chars) (GitHub token)" in out
    assert f"env.ANTHROPIC_API_KEY = sk-ant-…({len(FAKE_KEY)} chars)" in out
    assert "args[2] = …" in out and "password in a URL" in out
    assert_no_secret(out, err)

    for threshold, expected in (("critical", 0), ("high", 1), ("low", 1), ("none", 0)):
        code, out, err = run(capsys, "audit", str(config), "--fail-on", threshold)
        assert code == expected, threshold


def test_audit_pinned_config_passes_a_high_gate(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        env / "project" / ".mcp.json",
        {"mcpServers": {"t": {"command": "npx", "args": ["-y", "t@1.0.0"]}}},
    )
    assert run(capsys, "audit", str(config))[0] == 0
    assert run(capsys, "audit", str(config), "--fail-on", "medium")[0] == 1


def test_audit_json_and_sarif(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(env / "project" / ".mcp.json")
    code, out, err = run(capsys, "audit", str(config), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["severity"] == "high"
    assert {f["rule"] for f in data["findings"]} >= {"launch.unpinned", "secret.env", "secret.args"}
    assert [s["name"] for s in data["servers"]] == ["github", "postgres", "remote"]
    assert data["servers"][1]["version"] == "0.6.2"
    assert_no_secret(out, err)

    sarif_path = env / "audit.sarif"
    code, out, err = run(
        capsys, "audit", str(config), "--format", "sarif", "--output", str(sarif_path)
    )
    assert (code, out, err) == (1, "", "")
    sarif = json.loads(sarif_path.read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert_no_secret(sarif_path.read_text())


def test_audit_asks_the_registry_whether_a_pinned_npm_launch_locks_its_dependencies(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(env / "project" / ".mcp.json")

    def floating() -> list[str]:
        code, out, _ = run(capsys, "audit", str(config), "--format", "json")
        data = json.loads(out)
        return [
            f["message"] for f in data["findings"] if f["rule"] == "launch.floating-dependencies"
        ]

    # The registry says the postgres server ships no npm-shrinkwrap.json: its ranges float.
    [message] = floating()
    assert "it ships no npm-shrinkwrap.json" in message
    # It ships one: every install gets the same tree, nothing to say.
    monkeypatch.setitem(FakeRegistry.shrinkwraps, "@modelcontextprotocol/server-postgres", True)
    assert floating() == []
    # The registry does not say (or is not asked): unknown, said so.
    monkeypatch.setitem(FakeRegistry.shrinkwraps, "@modelcontextprotocol/server-postgres", None)
    [message] = floating()
    assert "the registry did not say" in message
    code, out, _ = run(capsys, "audit", str(config), "--format", "json", "--offline")
    assert "the registry did not say" in out


def test_audit_discover_reads_the_default_locations(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(env / "home" / ".config" / "Claude" / "claude_desktop_config.json")
    write_config(
        env / "project" / ".vscode" / "mcp.json",
        {"servers": {"v": {"command": "uvx", "args": ["mcp-v==1.0"]}}},
    )
    code, out, err = run(capsys, "audit", "--discover", "--format", "json")
    data = json.loads(out)
    assert {(s["client"], s["name"]) for s in data["servers"]} == {
        ("Claude Desktop", "github"),
        ("Claude Desktop", "postgres"),
        ("Claude Desktop", "remote"),
        ("VS Code", "v"),
    }


def test_discover_with_nothing_there_is_one_error_line(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "audit", "--discover")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("watcher: error: --discover found no")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"mcpServers": {"gh": {"command": "npx", "args": "-y pkg"}}}',
            "mcpServers.gh.args: must be a list of strings",
        ),
        ('{"mcpServers": {"gh": {"command": ', "invalid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_malformed_config_is_one_line_naming_file_and_key(
    env: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = env / "project" / "claude_desktop_config.json"
    path.write_text(text)
    for argv in (
        ["audit", str(path)],
        ["subscriptions", "import", str(path), "--output", "x.toml"],
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.count("\n") == 1 and err.startswith(f"watcher: error: {path}: ")
        assert message in err and "Traceback" not in err
    assert not (env / "project" / "x.toml").exists()


def test_missing_file_and_no_paths(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "nope.json")
    assert code == 2 and err == "watcher: error: nope.json: no such file\n"
    code, _, err = run(capsys, "subscriptions", "import")
    assert code == 2 and "pass configuration files as PATH, or --discover" in err


# --- import -----------------------------------------------------------------------------------


def test_import_dry_run_prints_and_writes_nothing(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(env / "project" / ".mcp.json")
    code, out, err = run(
        capsys, "subscriptions", "import", str(config), "--dry-run", "--output", "mine.toml"
    )
    assert code == 0
    assert not (env / "project" / "mine.toml").exists()
    assert (
        'name = "@modelcontextprotocol/server-github"\npinned = "2025.4.8"\nreviewed = false' in out
    )
    assert 'name = "@modelcontextprotocol/server-postgres"\npinned = "0.6.2"\n' in out
    assert "mcpServers.remote: remote server at https://mcp.invalid" in out
    # The audit's findings as a warning block, on stderr so stdout stays a valid file.
    assert "watcher: warning: " in err and "secret.env" in err and "launch.unpinned" in err
    assert "nothing written" in err
    assert_no_secret(out, err)
    assert FakeRegistry.asked == [("npm", "@modelcontextprotocol/server-github", None)]


def test_import_output_round_trips_through_validate(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(env / "project" / ".mcp.json")
    target = env / "project" / "subscriptions" / "mine.toml"
    target.parent.mkdir()
    code, out, err = run(
        capsys,
        "subscriptions",
        "import",
        str(config),
        "--output",
        str(target),
        "--npm-registry",
        "http://127.0.0.1:9/",
    )
    assert code == 0, err
    assert (
        out == f"wrote {target}: 2 subscription(s), 1 not reviewed (reviewed = false), 1 left out\n"
    )
    assert FakeRegistry.asked == [
        ("npm", "@modelcontextprotocol/server-github", "http://127.0.0.1:9/")
    ]
    assert_no_secret(target.read_text(), out, err)
    code, out, _ = run(capsys, "subscriptions", "validate", "--subscriptions", str(target.parent))
    assert (code, out) == (0, "2 subscriptions in 1 file: OK\n")
    subs = {s.name: s for s in load_subscriptions(target)}
    assert subs["@modelcontextprotocol/server-github"].reviewed is False
    assert subs["@modelcontextprotocol/server-postgres"].reviewed is True
    assert subs["@modelcontextprotocol/server-github"].registry == "http://127.0.0.1:9/"

    # Run again: the file exists, nothing is overwritten.
    before = target.read_text()
    code, out, err = run(capsys, "subscriptions", "import", str(config), "--output", str(target))
    assert code == 2 and "already exists" in err and target.read_text() == before
    # And packages the watch list already has are left out of a second file.
    code, out, err = run(
        capsys,
        "subscriptions",
        "import",
        str(config),
        "--subscriptions",
        str(target.parent),
        "--dry-run",
    )
    assert code == 0 and "[[package]]" not in out and out.count("already subscribed at") == 2


def test_import_discover_with_a_fake_home(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(
        env / "home" / ".cursor" / "mcp.json",
        {"mcpServers": {"c": {"command": "npx", "args": ["-y", "@s/cursor-tool@3.0.1"]}}},
    )
    write_config(
        env / "home" / ".claude.json",
        {"projects": {"/p": {"mcpServers": {"d": {"command": "uvx", "args": ["mcp-d==1.0.0"]}}}}},
    )
    code, out, err = run(capsys, "subscriptions", "import", "--discover", "--dry-run")
    assert code == 0, err
    subs_names = [line for line in out.splitlines() if line.startswith("name = ")]
    assert subs_names == ['name = "mcp-d"', 'name = "@s/cursor-tool"']
    assert str(env / "home" / ".claude.json") in out


def test_unknown_package_is_left_out_with_the_reason(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        env / "project" / ".mcp.json",
        {"mcpServers": {"x": {"command": "npx", "args": ["-y", "nobody-has-this"]}}},
    )
    code, out, err = run(capsys, "subscriptions", "import", str(config))
    assert code == 0
    assert (
        "mcpServers.x (npx nobody-has-this): registry: npm package 'nobody-has-this' not found"
        in out
    )


def test_list_shows_an_unreviewed_pin(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "mine.toml"
    path.write_text(
        '[[package]]\necosystem = "npm"\nname = "a"\npinned = "1.0.0"\nreviewed = false\n'
    )
    code, out, _ = run(capsys, "subscriptions", "list", "--subscriptions", str(path))
    assert code == 0 and "file (not reviewed)" in out
    code, out, _ = run(
        capsys, "subscriptions", "list", "--subscriptions", str(path), "--format", "json"
    )
    assert json.loads(out)["subscriptions"][0]["reviewed"] is False
    path.write_text(
        '[[package]]\necosystem = "npm"\nname = "a"\npinned = "1.0.0"\nreviewed = "no"\n'
    )
    code, out, err = run(capsys, "subscriptions", "validate", "--subscriptions", str(path))
    assert code == 2
    assert err == (
        f"watcher: error: {path}:5: package[1].reviewed: "
        "must be true or false, unquoted (got 'no')\n"
    )
