"""The real `watcher run` daemon against Verdaccio and a recording Slack server.

The daemon runs as a subprocess exactly as in production (`python -m watcher run`), with a
SQLite store in its own data directory, Slack alerts through `WATCHER_SLACK_API_URL`, and a 1 s
tick. Subscriptions cannot poll more often than every 30 s (a product rule that protects public
registries), so after publishing a release the test marks the package due in the store, as if
its interval had passed, instead of waiting for it.

Then `watcher check` gates on the same store: exit 1 while the malicious release is unreviewed,
0 once `watcher approve` moves the pin.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import RunWatcher
from tests.e2e.daemon import DaemonProcess
from tests.support import packages
from tests.support.registries import Verdaccio
from tests.support.slack_server import RecordingServer

pytestmark = pytest.mark.e2e

NAME = "@watcher-e2e/daemon-strutil"
#: Waits are generous for a loaded CI machine; on a quiet one each takes about a second.
WAIT = 20.0


def release(base: packages.NpmRelease, version: str) -> packages.NpmRelease:
    """`base`'s files and manifest under this test's own package name and `version`."""
    return packages.NpmRelease(
        {**base.manifest, "name": NAME, "version": version}, base.files, base.registry_fields
    )


class Daemon(DaemonProcess):
    """This test's daemon: Slack on the recording server, a 1 s tick."""

    def __init__(self, data_dir: Path, subscriptions: Path, slack: RecordingServer) -> None:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "WATCHER_SLACK_API_URL": slack.url,
            "WATCHER_TICK_SECONDS": "1",
        }
        super().__init__(data_dir, subscriptions, env, WAIT)

    def wait_for_log(self, needle: str, after: int = 0) -> int:
        """Wait until a log line (from index `after`) contains `needle`; its index."""
        wait_until(
            lambda: any(needle in line for line in self.lines[after:]),
            f"log line with {needle!r}",
            self,
        )
        return next(i for i, line in enumerate(self.lines) if i >= after and needle in line)


def wait_until(condition: Callable[[], bool], what: str, daemon: Daemon) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if daemon.process.poll() is not None:
            pytest.fail(
                f"daemon exited ({daemon.process.returncode}) waiting for {what}:\n{daemon.log()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; daemon log:\n{daemon.log()}")
        time.sleep(0.1)


def make_due(data_dir: Path) -> None:
    """Mark every package due, as if its poll interval had passed (a time long gone, in the
    store's SQLite text format)."""
    with sqlite3.connect(data_dir / "watcher.db", timeout=15) as conn:
        conn.execute("UPDATE poll_state SET next_poll_at = '2000-01-01 00:00:00.000000'")


def posts(slack: RecordingServer) -> list[dict[str, Any]]:
    return [c.json for c in slack.calls if c.path.endswith("/chat.postMessage")]


@pytest.fixture
def slack() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def test_daemon_alerts_once_then_check_gates_until_approved(
    npm_registry: Verdaccio,
    slack: RecordingServer,
    tmp_path: Path,
    run_watcher: RunWatcher,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subscriptions = tmp_path / "subscriptions.toml"
    subscriptions.write_text(
        f'[[package]]\necosystem = "npm"\nname = "{NAME}"\npinned = "1.0.0"\n'
        f'registry = "{npm_registry.url}/"\nnotify = ["slack:#sec"]\ninterval = "30s"\n'
    )
    publish = npm_registry.publish
    clean = release(packages.strutil_2_1_3(), "1.0.0")
    publish(clean.manifest, clean.tarball(), extra=clean.registry_fields)

    daemon = Daemon(data_dir, subscriptions, slack)
    try:
        seen = daemon.wait_for_log(f"polled npm/{NAME}@1.0.0: no new release")

        # The rug pull, published while the daemon runs: one Slack message with the evidence.
        bad = release(packages.strutil_2_1_4(), "1.0.1")
        publish(bad.manifest, bad.tarball(), extra=bad.registry_fields)
        make_due(data_dir)
        wait_until(lambda: len(posts(slack)) >= 1, "the Slack alert", daemon)
        [message] = posts(slack)
        assert message["channel"] == "#sec"
        text = str(message).lower()
        assert NAME in str(message) and "1.0.0" in text and "1.0.1" in text
        assert "critical" in text
        assert "postinstall" in text and "node lib/setup.js" in text
        assert slack.calls[0].headers["authorization"] == "Bearer xoxb-test"
        daemon.wait_for_log(f"alert for npm/{NAME}@1.0.1 delivered to slack:#sec", seen)

        # An honest release: analysed, no message.
        honest = release(packages.strutil_2_1_5(), "1.0.2")
        publish(honest.manifest, honest.tarball(), extra=honest.registry_fields)
        make_due(data_dir)
        seen = daemon.wait_for_log(f"npm/{NAME}@1.0.2 none", seen)
        time.sleep(1.5)  # a tick more: nothing else goes out
        assert len(posts(slack)) == 1

        assert daemon.terminate() == 0, daemon.log()
        assert "SIGTERM received" in daemon.log()
    finally:
        daemon.kill9()

    # A restart finds everything analysed and the alert sent: no duplicate.
    daemon = Daemon(data_dir, subscriptions, slack)
    try:
        make_due(data_dir)
        daemon.wait_for_log(f"polled npm/{NAME}@1.0.0: no new release")
        time.sleep(1.5)
        assert len(posts(slack)) == 1
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()

    # `watcher check` on the same store: the malicious release is still unreviewed.
    checked = run_watcher("check", "--subscriptions", str(subscriptions), data_dir=data_dir)
    assert checked.returncode == 1, checked.describe()
    assert f"npm/{NAME} 1.0.0 -> 1.0.1: critical" in checked.stdout
    # The file says where the registry is: approve asks it whether 1.0.2 exists.
    approved = run_watcher(
        "approve",
        NAME,
        "1.0.2",
        "--note",
        "reviewed",
        "--subscriptions",
        str(subscriptions),
        data_dir=data_dir,
    )
    assert approved.returncode == 0, approved.describe()
    assert approved.stdout.startswith(f"npm/{NAME}: 1.0.0 -> 1.0.2 (approved by ")
    checked = run_watcher("check", "--subscriptions", str(subscriptions), data_dir=data_dir)
    assert (checked.returncode, checked.stdout) == (0, ""), checked.describe()
    history = run_watcher("history", NAME, "--format", "json", data_dir=data_dir)
    assert history.returncode == 0, history.describe()
    versions = {v["version"]: v for v in history.json()["versions"]}
    assert versions["1.0.1"]["analyses"][0]["alerts"][0]["status"] == "sent"
    assert versions["1.0.2"]["pinned"] is True
    assert len(posts(slack)) == 1
