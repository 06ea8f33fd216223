"""`watcher approve` against a real registry (Verdaccio): only versions it has, and `--write`.

Issue 11: a mistyped approve once moved the pin to a version nobody published, and watching
silently stopped. The CLI runs as a subprocess, as a user runs it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.cli import RunWatcher
from tests.e2e.daemon import DaemonProcess
from tests.support import packages
from tests.support.registries import Verdaccio

pytestmark = pytest.mark.e2e

NAME = "@watcher-e2e/pins-strutil"


def release(base: packages.NpmRelease, version: str, name: str = NAME) -> packages.NpmRelease:
    return packages.NpmRelease(
        {**base.manifest, "name": name, "version": version}, base.files, base.registry_fields
    )


def test_approve_asks_the_registry_and_writes_the_file_in_place(
    npm_registry: Verdaccio, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    for base, version in ((packages.strutil_2_1_3(), "1.0.0"), (packages.strutil_2_1_5(), "1.0.1")):
        r = release(base, version)
        npm_registry.publish(r.manifest, r.tarball(), extra=r.registry_fields)
    subs = tmp_path / "subs.toml"
    text = (
        "# Reviewed pins only; see SEC-1.\n"
        "[[package]]\n"
        'ecosystem = "npm"\n'
        f'name = "{NAME}"\n'
        'pinned = "1.0.0"   # reviewed by bob\n'
        f'registry = "{npm_registry.url}/"\n'
        'notify = ["slack:#sec"]\n'
    )
    subs.write_text(text)

    checked = run_watcher("check", "--subscriptions", str(subs))
    assert checked.returncode == 0, checked.describe()
    assert f"npm/{NAME} 1.0.0 -> 1.0.1: none (score 0) [pin: file]" in checked.stdout
    # No Slack token: said once, at the default log level.
    assert checked.stderr_lines() == [
        "watcher: warning: SLACK_BOT_TOKEN is not set: alerts for slack:#sec go to the console "
        "instead of Slack"
    ], checked.describe()

    unknown = run_watcher("approve", NAME, "9.9.9", "--write", "--subscriptions", str(subs))
    assert (unknown.returncode, unknown.stdout) == (2, ""), unknown.describe()
    assert unknown.stderr_lines() == [
        f"watcher: error: npm/{NAME} has no version '9.9.9' on its registry; nothing approved, "
        "the pin is unchanged"
    ]
    assert subs.read_text() == text

    approved = run_watcher(
        "approve", NAME, "1.0.1", "--write", "--note", "diff read", "--subscriptions", str(subs)
    )
    assert approved.returncode == 0, approved.describe()
    assert approved.stdout.startswith(f"npm/{NAME}: 1.0.0 -> 1.0.1 (approved by ")
    assert subs.read_text() == text.replace('"1.0.0"   # reviewed', '"1.0.1"   # reviewed')

    listed = run_watcher("subscriptions", "list", "--subscriptions", str(subs), "--format", "json")
    [entry] = listed.json()["subscriptions"]
    assert entry["pinned"] == entry["file_pinned"] == "1.0.1"
    assert entry["pin_from"].startswith("approved by ")

    back = run_watcher("approve", NAME, "1.0.0", "--subscriptions", str(subs))
    assert back.returncode == 2, back.describe()
    assert "older than the current pin 1.0.1" in back.stderr and "--force" in back.stderr
    checked = run_watcher("check", "--subscriptions", str(subs))
    assert (checked.returncode, checked.stdout) == (0, ""), checked.describe()


def test_run_without_a_slack_token_warns_once_at_start(
    npm_registry: Verdaccio, tmp_path: Path
) -> None:
    name = f"{NAME}-run"
    r = release(packages.strutil_2_1_3(), "1.0.0", name)
    npm_registry.publish(r.manifest, r.tarball(), extra=r.registry_fields)
    subs = tmp_path / "subs.toml"
    subs.write_text(
        f'[[package]]\necosystem = "npm"\nname = "{name}"\npinned = "1.0.0"\n'
        f'registry = "{npm_registry.url}/"\nnotify = ["slack:#sec", "console"]\n'
    )
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    daemon = DaemonProcess(data_dir, subs, {"WATCHER_TICK_SECONDS": "1"}, 20.0)
    try:
        deadline = time.monotonic() + 20.0
        while daemon.count(f"polled npm/{name}@1.0.0") == 0:
            assert daemon.process.poll() is None, daemon.log()
            assert time.monotonic() < deadline, daemon.log()
            time.sleep(0.1)
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()
    warnings = [line for line in daemon.lines if "SLACK_BOT_TOKEN" in line]
    assert len(warnings) == 1, daemon.log()
    assert "WARNING" in warnings[0] and "alerts for slack:#sec go to the console" in warnings[0]
