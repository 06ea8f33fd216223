"""MCP client configuration files: the servers they launch, read as untrusted input.

Shapes read (all JSON; VS Code's and Cursor's may carry comments and trailing commas):

- Claude Desktop `claude_desktop_config.json`, Cursor `mcp.json`, Windsurf `mcp_config.json`,
  Cline `cline_mcp_settings.json`, Claude Code `.mcp.json`: `{"mcpServers": {NAME: SERVER}}`;
- Claude Code `~/.claude.json`: the same at the top and per project, `projects.PATH.mcpServers`;
- VS Code `mcp.json`: `{"servers": {NAME: SERVER}, "inputs": [...]}`, and in a user
  `settings.json` the same under `"mcp"`.

A SERVER is `{command, args, env, envFile, cwd}` for a local process or `{url | serverUrl,
type, headers}` for a remote one. Keys other clients add (`disabled`, `autoApprove`, ...) are
ignored; a key read with the wrong type is an error naming the file and the key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.onboard import OnboardError
from watcher.onboard.jsonc import load_jsonc

#: More servers than this in one file is not a hand-kept configuration.
MAX_SERVERS = 1000
#: Arguments and env entries per server, and the length of each string kept.
MAX_ITEMS = 500
MAX_STRING = 8192


@dataclass(frozen=True, slots=True)
class Server:
    """One configured MCP server, as its client would launch or reach it."""

    #: The client the file belongs to (`Claude Desktop`, `VS Code`, ...), for people.
    client: str
    file: str
    #: Where in the file: `mcpServers.github`, `projects./home/me/app.mcpServers.db`.
    key: str
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    env_file: str | None = None
    #: A remote server's address (`url`, or Windsurf's `serverUrl`).
    url: str | None = None
    #: The declared transport (`stdio`, `http`, `sse`, `streamableHttp`), when given.
    transport: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The servers of one configuration file, and VS Code's `inputs` ids (prompted secrets)."""

    file: str
    client: str
    servers: tuple[Server, ...]
    inputs: tuple[str, ...] = field(default=())


def client_of(path: Path) -> str:
    """Which client a configuration file belongs to, from where it lives."""
    name = path.name.lower()
    parts = {p.lower() for p in path.parts}
    if name == "claude_desktop_config.json":
        return "Claude Desktop"
    if name in (".mcp.json", ".claude.json"):
        return "Claude Code"
    if name == "cline_mcp_settings.json":
        return "Cline"
    if "windsurf" in parts or name == "mcp_config.json":
        return "Windsurf"
    if ".cursor" in parts:
        return "Cursor"
    if ".vscode" in parts or "code" in parts or "code - insiders" in parts:
        return "VS Code"
    return "MCP client"


def _string(value: object, where: str, path: Path) -> str:
    if not isinstance(value, str):
        raise OnboardError(f"{path}: {where}: must be a string (got {type(value).__name__})")
    if len(value) > MAX_STRING:
        raise OnboardError(f"{path}: {where}: longer than {MAX_STRING} characters")
    return value


def _strings(value: object, where: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise OnboardError(f"{path}: {where}: must be a list of strings")
    if len(value) > MAX_ITEMS:
        raise OnboardError(f"{path}: {where}: more than {MAX_ITEMS} items")
    return tuple(_string(v, f"{where}[{i}]", path) for i, v in enumerate(value))


def _pairs(value: object, where: str, path: Path) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise OnboardError(f"{path}: {where}: must be an object of strings")
    if len(value) > MAX_ITEMS:
        raise OnboardError(f"{path}: {where}: more than {MAX_ITEMS} entries")
    return tuple((str(k), _string(v, f"{where}.{k}", path)) for k, v in value.items())


def _server(client: str, path: Path, key: str, name: str, raw: object) -> Server:
    if not isinstance(raw, dict):
        raise OnboardError(f"{path}: {key}: must be an object")
    command = raw.get("command")
    url = raw.get("url", raw.get("serverUrl"))
    transport = raw.get("type", raw.get("transport"))
    disabled = raw.get("disabled", False)
    return Server(
        client=client,
        file=str(path),
        key=key,
        name=name,
        command=_string(command, f"{key}.command", path) if command is not None else None,
        args=_strings(raw["args"], f"{key}.args", path) if raw.get("args") is not None else (),
        env=_pairs(raw["env"], f"{key}.env", path) if raw.get("env") is not None else (),
        env_file=(
            _string(raw["envFile"], f"{key}.envFile", path)
            if raw.get("envFile") is not None
            else None
        ),
        url=_string(url, f"{key}.url", path) if url is not None else None,
        transport=_string(transport, f"{key}.type", path) if transport is not None else None,
        headers=(
            _pairs(raw["headers"], f"{key}.headers", path) if raw.get("headers") is not None else ()
        ),
        disabled=disabled is True,
    )


def _server_maps(data: Mapping[str, Any], path: Path) -> Iterator[tuple[str, object]]:
    """(key, map) for every place this file keeps servers."""
    if "mcpServers" in data:
        yield "mcpServers", data["mcpServers"]
    if "servers" in data:
        yield "servers", data["servers"]
    mcp = data.get("mcp")
    if isinstance(mcp, dict) and "servers" in mcp:
        yield "mcp.servers", mcp["servers"]
    projects = data.get("projects")
    if projects is not None:
        if not isinstance(projects, dict):
            raise OnboardError(f"{path}: projects: must be an object")
        for project, settings in projects.items():
            if isinstance(settings, dict) and "mcpServers" in settings:
                yield f"projects.{project}.mcpServers", settings["mcpServers"]


def read_client_config(path: Path) -> ClientConfig:
    """The servers configured in `path`; raises OnboardError naming the file and key."""
    data = load_jsonc(path)
    if not isinstance(data, dict):
        raise OnboardError(f"{path}: must be a JSON object with `mcpServers` or `servers`")
    client = client_of(path)
    servers: list[Server] = []
    for key, mapping in _server_maps(data, path):
        if not isinstance(mapping, dict):
            raise OnboardError(f"{path}: {key}: must be an object of servers by name")
        for name, raw in mapping.items():
            servers.append(_server(client, path, f"{key}.{name}", str(name), raw))
            if len(servers) > MAX_SERVERS:
                raise OnboardError(f"{path}: more than {MAX_SERVERS} servers")
    inputs: list[str] = []
    raw_inputs = data.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise OnboardError(f"{path}: inputs: must be a list")
    for index, item in enumerate(raw_inputs[:MAX_ITEMS]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise OnboardError(f"{path}: inputs[{index}].id: must be a string")
        inputs.append(item["id"])
    return ClientConfig(str(path), client, tuple(servers), tuple(inputs))


def default_locations(
    home: Path, cwd: Path, platform: str = sys.platform, env: Mapping[str, str] = os.environ
) -> list[Path]:
    """Where the clients keep their configuration for this user and OS, and in `cwd`.

    Every candidate, existing or not: the caller keeps those that exist.
    """
    if platform == "darwin":
        app_data = home / "Library" / "Application Support"
    elif platform.startswith("win"):
        app_data = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
    else:
        app_data = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    code_user = app_data / "Code" / "User"
    return [
        app_data / "Claude" / "claude_desktop_config.json",
        home / ".claude.json",
        cwd / ".mcp.json",
        home / ".cursor" / "mcp.json",
        cwd / ".cursor" / "mcp.json",
        code_user / "mcp.json",
        cwd / ".vscode" / "mcp.json",
        home / ".codeium" / "windsurf" / "mcp_config.json",
        code_user
        / "globalStorage"
        / "saoudrizwan.claude-dev"
        / "settings"
        / "cline_mcp_settings.json",
    ]
