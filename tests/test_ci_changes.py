"""watcher/ci_changes.py: the MCP dependencies a pull request moves, read from real git."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from watcher.ci_changes import Change, changed, is_mcp_name, main, versions_in


def test_mcp_names() -> None:
    for name in ("mcp", "@modelcontextprotocol/server-github", "mcp-server-fetch", "postmark-mcp",
                 "@acme/mcp-tools", "mcp_proxy"):  # fmt: skip
        assert is_mcp_name(name), name
    for name in ("lodash", "mcpx", "smcp", "@acme/compact", "chalk"):
        assert not is_mcp_name(name), name


def test_package_lock_v3_reads_every_installed_package() -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "dependencies": {"postmark-mcp": "^1.0.0"}},
            "node_modules/postmark-mcp": {"version": "1.0.16"},
            "node_modules/@modelcontextprotocol/sdk": {"version": "1.2.0"},
            "node_modules/a/node_modules/@modelcontextprotocol/sdk": {"version": "0.9.0"},
            "node_modules/linked": {"link": True, "resolved": "../linked"},
        },
    }
    ecosystem, found = versions_in("web/package-lock.json", json.dumps(lock))
    assert ecosystem == "npm"
    assert found == {"postmark-mcp": "1.0.16", "@modelcontextprotocol/sdk": "1.2.0"}


def test_package_lock_v1_and_package_json_exact_pins() -> None:
    v1 = {"dependencies": {"x-mcp": {"version": "2.0.0", "dependencies": {"y": {"version": "1"}}}}}
    assert versions_in("package-lock.json", json.dumps(v1))[1] == {"x-mcp": "2.0.0", "y": "1"}
    manifest = {"dependencies": {"a-mcp": "1.2.3", "b-mcp": "^1.2.3", "c-mcp": "=2.0.0-beta.1"}}
    assert versions_in("package.json", json.dumps(manifest))[1] == {
        "a-mcp": "1.2.3",
        "c-mcp": "2.0.0-beta.1",
    }


def test_python_files() -> None:
    requirements = "# pins\nMCP_Server.Fetch==2025.4.7  # reviewed\nhttpx>=0.28\n-r other.txt\n"
    assert versions_in("requirements-prod.txt", requirements) == (
        "pypi",
        {"mcp-server-fetch": "2025.4.7"},
    )
    pyproject = '[project]\ndependencies = ["mcp[cli]==1.9.0", "anyio>=4"]\n'
    assert versions_in("pyproject.toml", pyproject)[1] == {"mcp": "1.9.0"}
    uv_lock = '[[package]]\nname = "mcp"\nversion = "1.9.1"\n\n[[package]]\nname = "anyio"\n'
    assert versions_in("uv.lock", uv_lock)[1] == {"mcp": "1.9.1"}
    with pytest.raises(ValueError, match="not a dependency file"):
        versions_in("setup.cfg", "")


def test_changed_keeps_mcp_and_subscribed_names_only() -> None:
    base = {"npm": {"postmark-mcp": "1.0.15", "lodash": "4.17.20", "strutil": "2.1.3"}}
    head = {
        "npm": {"postmark-mcp": "1.0.16", "lodash": "4.17.21", "strutil": "2.1.4", "new-mcp": "1"},
        "pypi": {"mcp": "1.9.1"},
    }
    assert changed(base, head, {}) == [
        Change("npm", "new-mcp", None, "1"),
        Change("npm", "postmark-mcp", "1.0.15", "1.0.16"),
        Change("pypi", "mcp", None, "1.9.1"),
    ]
    subscribed = changed(base, head, {"npm": {"strutil"}})
    assert Change("npm", "strutil", "2.1.3", "2.1.4") in subscribed
    assert len(changed(base, head, None)) == 5  # --all: lodash too
    assert changed(head, head, None) == []


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],  # fmt: skip
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_cli_against_a_real_git_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    (root / "web").mkdir(parents=True)
    _git(root, "init", "-q")
    lock = {"lockfileVersion": 3, "packages": {"node_modules/postmark-mcp": {"version": "1.0.15"}}}
    (root / "web" / "package-lock.json").write_text(json.dumps(lock))
    (root / "web" / "package.json").write_text('{"dependencies": {"ignored-mcp": "9.9.9"}}')
    (root / "requirements.txt").write_text("mcp==1.9.0\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    base = _git(root, "rev-parse", "HEAD")
    lock["packages"]["node_modules/postmark-mcp"]["version"] = "1.0.16"
    (root / "web" / "package-lock.json").write_text(json.dumps(lock))
    (root / "requirements.txt").write_text("mcp==1.9.0\nfastapi-mcp==0.3.0\n")
    (root / "node_modules" / "vendored-mcp").mkdir(parents=True)
    (root / "node_modules" / "vendored-mcp" / "package.json").write_text(
        '{"dependencies": {"x-mcp": "1.0.0"}}'
    )

    assert main(["--base", base, "--root", str(root)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"ecosystem": "npm", "name": "postmark-mcp", "old": "1.0.15", "new": "1.0.16"},
        {"ecosystem": "pypi", "name": "fastapi-mcp", "old": None, "new": "0.3.0"},
    ]

    assert main(["--base", "no-such-ref", "--root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ci_changes: error: --base 'no-such-ref' is not a commit") and (
        "\n" not in err
    )
    (root / "requirements.txt").write_text("")
    (root / "pyproject.toml").write_text("[project\n")
    assert main(["--base", base, "--root", str(root)]) == 2
    assert "pyproject.toml: cannot read dependencies" in capsys.readouterr().err
