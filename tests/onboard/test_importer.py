"""`plan_import` and `render_toml`: the version that runs, and a file the loader accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.stores import make_subscription
from watcher.errors import PackageNotFound
from watcher.models import Ecosystem
from watcher.onboard.audit import launches
from watcher.onboard.importer import plan_import, render_toml
from watcher.onboard.inputs import read_inputs
from watcher.subscriptions import load_subscriptions


def latest_of(versions: dict[str, str], asked: list[tuple[str, str | None]]):  # type: ignore[no-untyped-def]
    def latest(ecosystem: Ecosystem, name: str, registry: str | None) -> str:
        asked.append((name, registry))
        if name not in versions:
            raise PackageNotFound(f"{ecosystem.value} package '{name}' not found")
        return versions[name]

    return latest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "pinned": {"command": "npx", "args": ["-y", "@s/pinned@1.2.3"]},
                    "locked": {"command": "npx", "args": ["-y", "@s/locked"]},
                    "loose\nname": {"command": "npx", "args": ["-y", "@s/loose@^2.0.0"]},
                    "py": {
                        "command": "uvx",
                        "args": ["--index-url", "https://pypi.invalid/simple", "mcp-py"],
                    },
                    "gone": {"command": "npx", "args": ["-y", "gone-pkg"]},
                    "again": {"command": "npx", "args": ["@s/pinned@1.2.3"]},
                    "older": {"command": "npx", "args": ["@s/pinned@1.1.0"]},
                    "mine": {"command": "npx", "args": ["-y", "already@1.0.0"]},
                    "docker": {"command": "docker", "args": ["run", "img"]},
                }
            }
        )
    )
    (tmp_path / "package.json").write_text('{"dependencies": {"@s/locked": "^1.0.0"}}')
    (tmp_path / "package-lock.json").write_text(
        json.dumps(
            {
                "lockfileVersion": 3,
                "packages": {
                    "node_modules/@s/locked": {"version": "1.4.0", "integrity": "sha512-x"}
                },
            }
        )
    )
    return tmp_path


def test_pin_then_lock_then_latest_and_the_file_round_trips(project: Path) -> None:
    inputs = read_inputs(
        [project / ".mcp.json", project / "package.json"], discover=False, home=project, cwd=project
    )
    asked: list[tuple[str, str | None]] = []
    plan = plan_import(
        inputs,
        launches(inputs),
        latest_of({"@s/loose": "2.5.0", "mcp-py": "0.9.0"}, asked),
        registries={Ecosystem.NPM: "http://127.0.0.1:9/", Ecosystem.PYPI: None},
        existing=[make_subscription("already", "1.0.0")],
    )
    # Only the unpinned, unlocked ones reach the registry, each at the registry it names.
    assert asked == [
        ("@s/loose", "http://127.0.0.1:9/"),
        ("mcp-py", "https://pypi.invalid/simple"),
        ("gone-pkg", "http://127.0.0.1:9/"),
    ]
    got = {(e.name, e.version, e.reviewed) for e in plan.entries}
    assert got == {
        ("@s/pinned", "1.2.3", True),
        ("@s/locked", "1.4.0", True),
        ("@s/loose", "2.5.0", False),
        ("mcp-py", "0.9.0", False),
    }
    reasons = {s.where.split(": ")[-1].split(" ")[0]: s.reason for s in plan.skipped}
    assert "not found" in reasons["mcpServers.gone"]
    assert reasons["mcpServers.mine"].startswith("already subscribed at ")
    assert "docker image" in reasons["mcpServers.docker"]

    text = render_toml(plan, inputs.files)
    path = project / "imported.toml"
    path.write_text(text)
    loaded = {s.name: s for s in load_subscriptions(path)}
    assert set(loaded) == {"@s/pinned", "@s/locked", "@s/loose", "mcp-py"}
    assert (loaded["@s/loose"].pinned, loaded["@s/loose"].reviewed) == ("2.5.0", False)
    assert loaded["@s/locked"].reviewed and loaded["@s/pinned"].reviewed
    assert loaded["mcp-py"].registry == "https://pypi.invalid/simple"
    # Comments say where each entry came from; a newline in a server name cannot end one.
    assert f"# from {project / '.mcp.json'}: mcpServers.pinned (npx @s/pinned@1.2.3)" in text
    assert "mcpServers.again" in text  # the second launch of the same package is named too
    assert "# version: pinned exactly; another launch pins 1.1.0" in text
    assert f"# version: resolved in {project / 'package-lock.json'}" in text
    assert "mcpServers.loose?name" in text


def test_entries_the_loader_would_refuse_are_left_out_with_its_reason(tmp_path: Path) -> None:
    config = tmp_path / ".mcp.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "caps": {"command": "npx", "args": ["-y", "Bad_Name@1.0.0"]},
                    "creds": {
                        "command": "npx",
                        "args": ["--registry", "https://u:FAKE-pw-123@npm.invalid/", "ok@1.0.0"],
                    },
                    "fine": {"command": "npx", "args": ["-y", "fine@2.0.0"]},
                }
            }
        )
    )
    inputs = read_inputs([config], discover=False, home=tmp_path, cwd=tmp_path)
    asked: list[tuple[str, str | None]] = []
    plan = plan_import(inputs, launches(inputs), latest_of({}, asked), registries={})
    assert [(e.name, e.version) for e in plan.entries] == [("fine", "2.0.0")]
    reasons = [s.reason for s in plan.skipped]
    assert reasons[0].startswith("cannot be subscribed: name: npm names are lowercase")
    assert reasons[1].startswith("cannot be subscribed: registry: must not contain credentials")
    text = render_toml(plan, inputs.files)
    assert "FAKE-pw-123" not in text and asked == []
    path = tmp_path / "out.toml"
    path.write_text(text)
    assert [s.name for s in load_subscriptions(path)] == ["fine"]


@pytest.mark.parametrize("before", [True, False])
def test_approve_write_settles_reviewed_false(tmp_path: Path, before: bool) -> None:
    from watcher.subscriptions import pin_edit

    lines = ['ecosystem = "npm"', 'name = "pkg"', 'pinned = "1.0.0"   # from the registry']
    lines.insert(2 if before else 3, "reviewed = false  # set by import")
    path = tmp_path / "mine.toml"
    path.write_text(
        "# mine\n[[package]]\n" + "\n".join(lines) + '\n\n[[package]]\nname = "b"\n'
        'ecosystem = "npm"\npinned = "2.0.0"\nreviewed = false\n'
    )
    first = next(iter(load_subscriptions(path)))
    assert first.reviewed is False
    edit = pin_edit(first, "1.0.1")
    path.write_bytes(edit.data)
    a, b = load_subscriptions(path)
    assert (a.pinned, a.reviewed) == ("1.0.1", True)
    assert (b.pinned, b.reviewed) == ("2.0.0", False)  # the other package keeps its flag
    assert path.read_text().splitlines()[edit.line - 1] == 'pinned = "1.0.1"   # from the registry'
