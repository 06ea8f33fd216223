"""End to end: a malicious patch deep in a subscription's dependency tree (issue 13).

The real CLI (`watcher check`) against the real Verdaccio, Slack on the recording server. The
subscription's own release never changes: `server@1.0.0` depends on `a@^1.0.0`, which depends
on `b@^2.0.0`. A `b@2.0.1` whose `postinstall` would post the environment to a host under
`.invalid` (DEFANGED: nothing is installed or run) is one Slack alert naming the path; a clean
`b@2.0.2` after it is none; a package that ships `npm-shrinkwrap.json` keeps its pinned `b`.
The same through pypiserver, with markers evaluated for Linux and CPython.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.deps.mock_registries import sdist
from tests.e2e.cli import RunWatcher
from tests.e2e.test_after_pin_e2e import check, posts, slack, subscriptions
from tests.e2e.test_daemon_e2e import Daemon, wait_until
from tests.support import packages
from tests.support.packages import STRUTIL_SETUP_JS, NpmRelease
from tests.support.registries import Verdaccio, start_pypiserver
from tests.support.slack_server import RecordingServer
from watcher.models import Ecosystem

pytestmark = pytest.mark.e2e

__all__ = ["slack"]

INDEX_JS = "module.exports = (s) => String(s).trim();\n"


def _release(
    name: str, version: str, deps: dict[str, str] | None = None, **extra: Any
) -> NpmRelease:
    manifest: dict[str, Any] = {"name": name, "version": version, "main": "index.js"}
    if deps:
        manifest["dependencies"] = deps
    files = {"index.js": INDEX_JS, **extra.pop("files", {})}
    manifest.update(extra)
    return NpmRelease(manifest, files)


def _publish(registry: Verdaccio, release: NpmRelease) -> None:
    registry.publish(release.manifest, release.tarball())


def _subs(path: Path, registry: Verdaccio, *packages: tuple[str, str, str]) -> Path:
    path.write_text(
        "".join(
            f'[[package]]\necosystem = "npm"\nname = "{name}"\npinned = "{pinned}"\n'
            f'registry = "{registry.url}/"\nnotify = ["{channel}"]\n\n'
            for name, pinned, channel in packages
        )
    )
    return path


def test_a_malicious_patch_two_levels_down_is_one_alert_with_its_path(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    tag = uuid.uuid4().hex[:8]
    server, a, b = (
        f"@watcher-e2e/tree-server-{tag}",
        f"@watcher-e2e/tree-a-{tag}",
        f"@watcher-e2e-other/tree-b-{tag}",
    )
    wrapped = f"@watcher-e2e/tree-wrapped-{tag}"
    _publish(npm_registry, _release(b, "2.0.0"))
    _publish(npm_registry, _release(a, "1.0.0", {b: "^2.0.0"}))
    _publish(npm_registry, _release(server, "1.0.0", {a: "^1.0.0"}))
    lock = {
        "name": wrapped,
        "version": "1.0.0",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": wrapped, "version": "1.0.0", "dependencies": {a: "^1.0.0"}},
            f"node_modules/{a}": {"version": "1.0.0", "dependencies": {b: "^2.0.0"}},
            f"node_modules/{b}": {"version": "2.0.0"},
        },
    }
    _publish(
        npm_registry,
        _release(wrapped, "1.0.0", {a: "^1.0.0"}, files={"npm-shrinkwrap.json": json.dumps(lock)}),
    )
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subs = _subs(
        tmp_path / "subs.toml",
        npm_registry,
        (server, "1.0.0", "slack:#sec"),
        (wrapped, "1.0.0", "slack:#wrapped"),
    )

    # The first check resolves the trees: a baseline, nothing to say.
    first = check(subs, data_dir, slack)
    assert (first.returncode, posts(slack)) == (0, []), first.describe()

    _publish(
        npm_registry,
        _release(
            b,
            "2.0.1",
            scripts={"postinstall": "node setup.js"},
            files={"setup.js": STRUTIL_SETUP_JS},
        ),
    )
    second = check(subs, data_dir, slack)
    [message] = posts(slack)
    shown = json.dumps(message, ensure_ascii=False)
    assert message["channel"] in ("#sec", slack.channel_id("#sec")), message["channel"]
    path = f"{server}@1.0.0 → {a}@^1.0.0 → {b} 2.0.0 → 2.0.1"
    assert path in shown, second.describe()
    assert "critical" in shown.lower() and "postinstall" in shown, shown
    # `check` fails while the tree installs it.
    assert second.returncode == 1, second.describe()
    [line] = [x for x in second.stdout.splitlines() if x.startswith(f"npm/{b} ")]
    assert line.startswith(f"npm/{b} 2.0.0 -> 2.0.1: critical"), second.describe()
    assert line.endswith(f"[pin: dependency: {path}]"), second.describe()

    # Once only, however often it is checked.
    third = check(subs, data_dir, slack)
    assert len(posts(slack)) == 1, third.describe()
    assert third.returncode == 1, third.describe()

    # A clean patch after it: analysed, nothing to alert, and the tree no longer installs
    # the malicious release.
    _publish(npm_registry, _release(b, "2.0.2"))
    fourth = check(subs, data_dir, slack)
    assert len(posts(slack)) == 1, fourth.describe()
    assert (fourth.returncode, fourth.stdout) == (0, ""), fourth.describe()

    # History lists both dependency releases under the subscription, with the path.
    history = run_watcher("history", server, "--format", "json", data_dir=data_dir).json()
    deps = history["dependencies"]
    assert [(d["package"], d["old_version"], d["new_version"]) for d in deps] == [
        (b, "2.0.0", "2.0.1"),
        (b, "2.0.1", "2.0.2"),
    ]
    assert deps[0]["severity"] == "critical" and deps[1]["severity"] in ("none", "low")
    assert deps[0]["path"] == f"{server}@1.0.0 → {a}@^1.0.0 → {b} 2.0.0 → 2.0.1"
    assert [(x["channel"], x["status"]) for x in deps[0]["alerts"]] == [("slack:#sec", "sent")]
    assert deps[1]["alerts"] == []
    text_history = run_watcher("history", server, data_dir=data_dir).stdout
    assert f"  {b} 2.0.0 → 2.0.1: critical" in text_history
    assert f"    {server}@1.0.0 → {a}@^1.0.0 → {b} 2.0.1 → 2.0.2" in text_history

    # The tree moved on: `b` resolves to 2.0.2 now; the shrinkwrapped package kept 2.0.0.
    shown_tree = run_watcher("tree", server, "--format", "json", data_dir=data_dir)
    assert shown_tree.returncode == 0, shown_tree.describe()
    tree = shown_tree.json()
    assert (tree["source"], tree["gaps"]) == ("ranges", []), shown_tree.describe()
    assert [(p["package"], p["version"], p["floats"]) for p in tree["packages"]] == [
        (a, "1.0.0", True),
        (b, "2.0.2", True),
    ]
    assert tree["packages"][1]["path"] == [f"{server}@1.0.0", f"{a}@^1.0.0", f"{b}@2.0.2"]
    text = run_watcher("tree", server, data_dir=data_dir)
    assert text.stdout.splitlines()[1:] == [
        f"  {a} 1.0.0  ^1.0.0  [floats]",
        f"    {b} 2.0.2  ^2.0.0  [floats]",
    ], text.describe()
    pinned = run_watcher("tree", wrapped, "--format", "json", data_dir=data_dir).json()
    assert pinned["source"] == "npm-shrinkwrap.json"
    assert [(p["package"], p["version"], p["floats"]) for p in pinned["packages"]] == [
        (a, "1.0.0", False),
        (b, "2.0.0", False),
    ]
    # Nothing went to the shrinkwrapped package's channel.
    assert {m["channel"] for m in posts(slack)} == {message["channel"]}

    unknown = run_watcher("tree", "@watcher-e2e/never-subscribed", data_dir=data_dir)
    assert (unknown.returncode, unknown.stdout) == (2, ""), unknown.describe()
    assert unknown.stderr_lines() == [
        "watcher: error: no dependency tree for npm package '@watcher-e2e/never-subscribed' in "
        "the store (`watcher check` resolves the trees of the subscriptions)"
    ]


def test_pypi_tree_through_pypiserver_with_markers(
    slack: RecordingServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    """pypiserver has no JSON API: requirements are read from each release's own metadata.
    A requirement for Windows only is not in the tree; a `.pth` patch two levels down is one
    alert with its path, and the clean release after it none."""
    packages_dir = tmp_path / "packages"
    packages_dir.mkdir()

    def add(filename: str, data: bytes) -> None:
        (packages_dir / filename).write_bytes(data)

    add(
        "tree_server-1.0.0.tar.gz",
        sdist(
            "tree-server",
            "1.0.0",
            {"tree_server/__init__.py": "X = 1\n"},
            requires=("tree-helper>=1.0", "tree-win-only>=1; sys_platform == 'win32'"),
        ),
    )
    add(
        "tree_helper-1.0.0.tar.gz",
        sdist(
            "tree-helper",
            "1.0.0",
            {"tree_helper/__init__.py": "Y = 1\n"},
            requires=(f"{packages.PYPI_NAME}>=1.0,<2",),
        ),
    )
    for filename, data in packages.pypi_1_0_0().distributions():
        add(filename, data)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with start_pypiserver(packages_dir) as server:
        subs = subscriptions(
            tmp_path / "subs.toml", Ecosystem.PYPI, "tree-server", "1.0.0", server.url
        )
        first = check(subs, data_dir, slack)
        assert (first.returncode, posts(slack)) == (0, []), first.describe()
        tree = run_watcher("tree", "tree-server", "--format", "json", data_dir=data_dir).json()
        assert [(p["package"], p["version"]) for p in tree["packages"]] == [
            ("tree-helper", "1.0.0"),
            (packages.PYPI_NAME, "1.0.0"),
        ]
        assert tree["gaps"] == [], tree

        for filename, data in packages.pypi_1_0_1().distributions():
            add(filename, data)
        second = check(subs, data_dir, slack)
        [message] = posts(slack)
        shown = json.dumps(message, ensure_ascii=False)
        path = f"tree-server@1.0.0 → tree-helper@>=1.0 → {packages.PYPI_NAME} 1.0.0 → 1.0.1"
        # In a rich_text element, shown as written (a `>=` range is not an entity there).
        assert path in shown, second.describe()
        assert ".pth" in shown

        for filename, data in packages.pypi_1_0_2().distributions():
            add(filename, data)
        third = check(subs, data_dir, slack)
        assert len(posts(slack)) == 1, third.describe()


def test_a_release_shared_by_several_trees_is_analysed_once_and_sent_once_per_channel(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    """Three subscriptions reach the same `b` (one of them twice, a diamond): one analysis,
    one message per channel, each naming every subscription's path."""
    tag = uuid.uuid4().hex[:8]
    a, c, b = (f"@watcher-e2e/shared-{x}-{tag}" for x in ("a", "c", "b"))
    s1, s2, s3 = (f"@watcher-e2e/shared-srv{i}-{tag}" for i in (1, 2, 3))
    _publish(npm_registry, _release(b, "2.0.0"))
    _publish(npm_registry, _release(a, "1.0.0", {b: "^2.0.0"}))
    _publish(npm_registry, _release(c, "1.0.0", {b: "^2.0.0"}))
    _publish(npm_registry, _release(s1, "1.0.0", {a: "^1.0.0"}))
    _publish(npm_registry, _release(s2, "1.0.0", {a: "^1.0.0", c: "^1.0.0"}))
    _publish(npm_registry, _release(s3, "1.0.0", {b: "^2.0.0"}))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subs = _subs(
        tmp_path / "subs.toml",
        npm_registry,
        (s1, "1.0.0", "slack:#one"),
        (s2, "1.0.0", "slack:#one"),
        (s3, "1.0.0", "slack:#two"),
    )
    first = check(subs, data_dir, slack)
    assert (first.returncode, posts(slack)) == (0, []), first.describe()
    diamond = run_watcher("tree", s2, "--format", "json", data_dir=data_dir).json()
    assert [p["package"] for p in diamond["packages"]] == [a, c, b]

    _publish(
        npm_registry,
        _release(
            b,
            "2.0.1",
            scripts={"postinstall": "node setup.js"},
            files={"setup.js": STRUTIL_SETUP_JS},
        ),
    )
    second = check(subs, data_dir, slack)
    messages = posts(slack)
    channels = sorted(str(m["channel"]) for m in messages)
    assert channels == sorted(["#one", "#two"]) or channels == sorted(
        [slack.channel_id("#one"), slack.channel_id("#two")]
    ), second.describe()
    for message in messages:
        shown = json.dumps(message, ensure_ascii=False)
        for path in (
            f"{s1}@1.0.0 → {a}@^1.0.0 → {b} 2.0.0 → 2.0.1",
            f"{s2}@1.0.0 → {a}@^1.0.0 → {b} 2.0.0 → 2.0.1",
            f"{s3}@1.0.0 → {b} 2.0.0 → 2.0.1",
        ):
            assert path in shown, shown
    for sub in (s1, s2, s3):
        history = run_watcher("history", sub, "--format", "json", data_dir=data_dir).json()
        [dep] = history["dependencies"]
        assert (dep["package"], dep["new_version"], dep["severity"]) == (b, "2.0.1", "critical")

    # `check` fails while the trees install it, one line for the release with every path...
    assert second.returncode == 1, second.describe()
    [line] = [x for x in second.stdout.splitlines() if x.startswith(f"npm/{b} ")]
    assert line.count(" → ") == 3 + 3 + 2, line
    # ... until a reviewer approves the release, like any other.
    approved = run_watcher(
        "approve",
        b,
        "2.0.1",
        "--registry",
        npm_registry.url,
        "--subscriptions",
        str(subs),
        data_dir=data_dir,
    )
    assert approved.returncode == 0, approved.describe()
    after = check(subs, data_dir, slack)
    assert (after.returncode, after.stdout, len(posts(slack))) == (0, "", 2), after.describe()


def test_the_daemon_follows_the_trees_when_they_are_due(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    """`watcher run`: the tree is resolved at start, a malicious patch of a dependency is one
    Slack message with its path once the trees are due again, and nothing more after it."""
    tag = uuid.uuid4().hex[:8]
    server, a, b = (f"@watcher-e2e/daemon-tree-{x}-{tag}" for x in ("server", "a", "b"))
    _publish(npm_registry, _release(b, "2.0.0"))
    _publish(npm_registry, _release(a, "1.0.0", {b: "^2.0.0"}))
    _publish(npm_registry, _release(server, "1.0.0", {a: "^1.0.0"}))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subs = _subs(tmp_path / "subs.toml", npm_registry, (server, "1.0.0", "slack:#sec"))
    daemon = Daemon(data_dir, subs, slack)
    try:
        seen = daemon.wait_for_log(f"dependency tree of {server}@1.0.0: 2 packages (ranges)")
        _publish(
            npm_registry,
            _release(
                b,
                "2.0.1",
                scripts={"postinstall": "node setup.js"},
                files={"setup.js": STRUTIL_SETUP_JS},
            ),
        )
        with sqlite3.connect(data_dir / "watcher.db", timeout=15) as db:
            db.execute("UPDATE tree_cycles SET next_run_at = '2000-01-01 00:00:00.000000'")
        wait_until(lambda: len(posts(slack)) >= 1, "the Slack alert", daemon)
        [message] = posts(slack)
        assert f"{server}@1.0.0 → {a}@^1.0.0 → {b} 2.0.0 → 2.0.1" in json.dumps(
            message, ensure_ascii=False
        )
        daemon.wait_for_log(f"alert for npm/{b}@2.0.1 delivered to slack:#sec", seen)
        time.sleep(1.5)  # a tick more: nothing else goes out
        assert len(posts(slack)) == 1
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()
