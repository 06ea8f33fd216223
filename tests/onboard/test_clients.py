"""Every client's real configuration shape, and malformed files named by file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.onboard import OnboardError
from watcher.onboard.clients import client_of, default_locations, read_client_config

FAKE_PAT = "ghp_" + "FAKE" * 9  # token-shaped, obviously fake


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_claude_desktop_windows_config(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Claude" / "claude_desktop_config.json",
        json.dumps(
            {
                "mcpServers": {
                    "filesystem": {
                        "command": "C:\\Program Files\\nodejs\\npx.cmd",
                        "args": [
                            "-y",
                            "@modelcontextprotocol/server-filesystem@2025.8.21",
                            "C:\\Users\\me\\Desktop",
                        ],
                    },
                    "github": {
                        "command": "npx",
                        "args": ["-y", "@modelcontextprotocol/server-github"],
                        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": FAKE_PAT},
                    },
                },
                "globalShortcut": "Ctrl+Space",
            }
        ),
    )
    config = read_client_config(path)
    assert config.client == "Claude Desktop"
    fs, gh = config.servers
    assert (fs.key, fs.command, fs.args[-1]) == (
        "mcpServers.filesystem",
        "C:\\Program Files\\nodejs\\npx.cmd",
        "C:\\Users\\me\\Desktop",
    )
    assert gh.env == (("GITHUB_PERSONAL_ACCESS_TOKEN", FAKE_PAT),)


def test_claude_code_user_file_with_projects(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".claude.json",
        json.dumps(
            {
                "numStartups": 3,
                "mcpServers": {
                    "fetch": {"type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"]}
                },
                "projects": {
                    "/home/me/app": {
                        "mcpServers": {"db": {"command": "npx", "args": ["-y", "@s/db@1.0.0"]}},
                        "allowedTools": [],
                    },
                    "/home/me/other": {"allowedTools": []},
                },
            }
        ),
    )
    config = read_client_config(path)
    assert config.client == "Claude Code"
    assert [s.key for s in config.servers] == [
        "mcpServers.fetch",
        "projects./home/me/app.mcpServers.db",
    ]


def test_vscode_servers_inputs_comments_and_envfile(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".vscode" / "mcp.json",
        """{
  // VS Code asks for the key on first start
  "inputs": [
    {"type": "promptString", "id": "perplexity-key", "description": "API key", "password": true},
  ],
  "servers": {
    "perplexity": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "server-perplexity-ask@0.1.3"],
      "env": {"PERPLEXITY_API_KEY": "${input:perplexity-key}"},
      "envFile": "${workspaceFolder}/.env",
    },
    "remote": {"type": "http", "url": "https://api.invalid/mcp",
               "headers": {"Authorization": "Bearer ${input:tok}"}},
  },
}
""",
    )
    config = read_client_config(path)
    assert config.client == "VS Code"
    assert config.inputs == ("perplexity-key",)
    local, remote = config.servers
    assert local.env_file == "${workspaceFolder}/.env"
    assert (remote.transport, remote.url) == ("http", "https://api.invalid/mcp")


def test_vscode_user_settings_mcp_block(tmp_path: Path) -> None:
    path = write(
        tmp_path / "Code" / "User" / "settings.json",
        '{"editor.fontSize": 13,'
        ' "mcp": {"servers": {"x": {"command": "uvx", "args": ["x==1.0"]}}}}',
    )
    assert [s.key for s in read_client_config(path).servers] == ["mcp.servers.x"]


def test_cursor_windsurf_cline(tmp_path: Path) -> None:
    cursor = write(
        tmp_path / ".cursor" / "mcp.json",
        '{"mcpServers": {"web": {"url": "https://cursor.invalid/sse"}, '
        '"local": {"command": "npx", "args": ["-y", "pkg"], "envFile": ".env"}}}',
    )
    windsurf = write(
        tmp_path / ".codeium" / "windsurf" / "mcp_config.json",
        '{"mcpServers": {"remote": {"serverUrl": "https://ws.invalid/mcp"}}}',
    )
    cline = write(
        tmp_path / "settings" / "cline_mcp_settings.json",
        '{"mcpServers": {"a": {"command": "uvx", "args": ["a"],'
        ' "disabled": true, "autoApprove": []},'
        ' "b": {"type": "streamableHttp", "url": "https://cline.invalid/mcp"}}}',
    )
    assert read_client_config(cursor).client == "Cursor"
    assert read_client_config(cursor).servers[1].env_file == ".env"
    assert read_client_config(windsurf).servers[0].url == "https://ws.invalid/mcp"
    assert read_client_config(windsurf).client == "Windsurf"
    a, b = read_client_config(cline).servers
    assert read_client_config(cline).client == "Cline"
    assert a.disabled and not b.disabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object"),
        ('{"mcpServers": []}', "mcpServers: must be an object of servers by name"),
        ('{"mcpServers": {"gh": "npx"}}', "mcpServers.gh: must be an object"),
        ('{"mcpServers": {"gh": {"command": 3}}}', "mcpServers.gh.command: must be a string"),
        (
            '{"mcpServers": {"gh": {"command": "npx", "args": "-y x"}}}',
            "mcpServers.gh.args: must be a list",
        ),
        (
            '{"mcpServers": {"gh": {"command": "npx", "args": [1]}}}',
            "mcpServers.gh.args[0]: must be a string",
        ),
        (
            '{"mcpServers": {"gh": {"command": "npx", "env": {"A": 1}}}}',
            "mcpServers.gh.env.A: must be a string",
        ),
        ('{"servers": {}, "inputs": [{"type": "x"}]}', "inputs[0].id: must be a string"),
        ('{"mcpServers": {"gh": {"command": "npx",}', "invalid JSON"),
    ],
)
def test_malformed_configs_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "claude_desktop_config.json", text)
    with pytest.raises(OnboardError) as caught:
        read_client_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_default_locations_per_os(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "proj"
    mac = default_locations(home, cwd, "darwin", {})
    assert home / "Library/Application Support/Claude/claude_desktop_config.json" in mac
    win = default_locations(home, cwd, "win32", {"APPDATA": str(tmp_path / "Roaming")})
    assert tmp_path / "Roaming" / "Claude" / "claude_desktop_config.json" in win
    linux = default_locations(home, cwd, "linux", {})
    assert home / ".config/Code/User/mcp.json" in linux
    for found in (mac, win, linux):
        assert cwd / ".mcp.json" in found and home / ".codeium/windsurf/mcp_config.json" in found
    assert client_of(cwd / ".mcp.json") == "Claude Code"
