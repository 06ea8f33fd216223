"""From `command` + `args` to the package and version spec a launch runs."""

from __future__ import annotations

import pytest

from watcher.models import Ecosystem
from watcher.onboard.clients import Server
from watcher.onboard.launchers import Launch, NotWatchable, launch_of

NPM, PYPI = Ecosystem.NPM, Ecosystem.PYPI


def server(command: str | None, *args: str, **fields: object) -> Server:
    return Server("Claude Desktop", "cfg.json", "mcpServers.x", "x", command, tuple(args), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        ("npx", ["-y", "@scope/pkg"], (NPM, "@scope/pkg", None, None, "npx")),
        ("npx", ["--yes", "@scope/pkg@1.2.3"], (NPM, "@scope/pkg", "1.2.3", "1.2.3", "npx")),
        ("npx", ["-y", "pkg@latest", "--port", "3"], (NPM, "pkg", "latest", None, "npx")),
        ("npx", ["pkg@^1.0.0"], (NPM, "pkg", "^1.0.0", None, "npx")),
        (
            "npx",
            ["-y", "-p", "@s/tool@2.0.0", "tool-bin"],
            (NPM, "@s/tool", "2.0.0", "2.0.0", "npx"),
        ),
        ("npx", ["--package=pkg@3.1.0", "bin"], (NPM, "pkg", "3.1.0", "3.1.0", "npx")),
        ("npx", ["-y", "alias@npm:real-pkg@1.0.1"], (NPM, "real-pkg", "1.0.1", "1.0.1", "npx")),
        ("npx", ["-y", "--", "pkg@1.0.0"], (NPM, "pkg", "1.0.0", "1.0.0", "npx")),
        ("C:\\Program Files\\nodejs\\npx.cmd", ["-y", "pkg"], (NPM, "pkg", None, None, "npx")),
        ("cmd", ["/c", "npx", "-y", "@s/p@1.0.0"], (NPM, "@s/p", "1.0.0", "1.0.0", "npx")),
        ("npm", ["exec", "--yes", "pkg@1.0.0"], (NPM, "pkg", "1.0.0", "1.0.0", "npm exec")),
        ("bunx", ["@s/p"], (NPM, "@s/p", None, None, "bunx")),
        ("pnpm", ["dlx", "pkg@~1.2.0"], (NPM, "pkg", "~1.2.0", None, "pnpm dlx")),
        ("yarn", ["dlx", "-p", "pkg@1.0.0", "bin"], (NPM, "pkg", "1.0.0", "1.0.0", "yarn dlx")),
        ("uvx", ["mcp-server-fetch"], (PYPI, "mcp-server-fetch", None, None, "uvx")),
        (
            "uvx",
            ["mcp-server-git==2025.1.14"],
            (PYPI, "mcp-server-git", "==2025.1.14", "2025.1.14", "uvx"),
        ),
        ("uvx", ["pkg@1.0.0"], (PYPI, "pkg", "1.0.0", "1.0.0", "uvx")),
        ("uvx", ["pkg@latest"], (PYPI, "pkg", "latest", None, "uvx")),
        ("uvx", ["--from", "pkg[cli]>=1.0", "pkg-cli"], (PYPI, "pkg", ">=1.0", None, "uvx")),
        ("uvx", ["--python", "3.12", "pkg==1.*"], (PYPI, "pkg", "==1.*", None, "uvx")),
        ("uv", ["tool", "run", "pkg==2.0"], (PYPI, "pkg", "==2.0", "2.0", "uv tool run")),
        ("pipx", ["run", "--spec", "pkg==1.0", "app"], (PYPI, "pkg", "==1.0", "1.0", "pipx run")),
        ("pipx", ["run", "pkg"], (PYPI, "pkg", None, None, "pipx run")),
    ],
)
def test_runner_launches(command: str, args: list[str], expected: tuple[object, ...]) -> None:
    launch = launch_of(server(command, *args))
    assert isinstance(launch, Launch), launch
    assert (
        launch.ecosystem,
        launch.package,
        launch.spec,
        launch.version,
        launch.runner,
    ) == expected
    assert launch.pinned is (expected[3] is not None)


def test_registry_from_flags_and_env() -> None:
    flagged = launch_of(server("npx", "-y", "--registry", "http://127.0.0.1:4873/", "pkg"))
    assert isinstance(flagged, Launch) and flagged.registry == "http://127.0.0.1:4873/"
    env = launch_of(server("uvx", "pkg", env=(("UV_INDEX_URL", "https://pypi.invalid/simple"),)))
    assert isinstance(env, Launch) and env.registry == "https://pypi.invalid/simple"


@pytest.mark.parametrize(
    ("srv", "reason"),
    [
        (server("python", "-m", "my_server"), "python -m my_server: runs whatever"),
        (server("docker", "run", "-i", "--rm", "ghcr.io/o/img"), "docker image ghcr.io/o/img"),
        (
            server("docker", "run", "-i", "-e", "GITHUB_TOKEN", "--rm", "ghcr.io/github/srv", "x"),
            "docker image ghcr.io/github/srv:",
        ),
        (server("node", "C:\\Users\\me\\srv\\index.js"), "node runs a local file"),
        (server("npx", "-y", "./local-dir"), "local path"),
        (server("npx", "-y", "github:o/r"), "git/URL"),
        (server("/usr/local/bin/my-mcp"), "local command 'my-mcp'"),
        (server("uv", "run", "server.py"), "runs a local project"),
        (
            server(None, url="https://mcp.invalid/sse?key=SECRET123"),
            "remote server at https://mcp.invalid:",
        ),
        (server(None, url="https://h.invalid/", transport="sse"), "remote server"),
        (server(None), "no `command` and no `url`"),
        (server("  "), "no `command` and no `url`"),
        (server("/usr/bin/python3.12", "-m", "srv"), "python -m srv: runs whatever"),
        (server("python3.12", "srv.py"), "python3.12 runs a local file"),
        (server("npx", "-y"), "without a package name"),
    ],
)
def test_not_watchable_with_a_reason(srv: Server, reason: str) -> None:
    result = launch_of(srv)
    assert isinstance(result, NotWatchable)
    assert reason in result.reason
    assert "SECRET123" not in result.reason
