"""`watcher check` analyses every release published after the pin, on real registries (issue 11).

A release below the pin, or on an older line, published after it is the dormant-line and
dependency-confusion shape; `watcher diff` always flagged it, `check` never looked. Here
Verdaccio gives publish times (the packument's `time`), and pypiserver gives none (a PEP 503
index), where what counts is when watcher first saw the release listed. Alerts go to the
recording Slack server.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import CLI_TIMEOUT, RunWatcher, WatcherRun, watcher_env
from tests.support import packages
from tests.support.registries import Verdaccio, start_pypiserver
from tests.support.slack_server import RecordingServer
from watcher.models import Ecosystem

pytestmark = pytest.mark.e2e


@pytest.fixture
def slack() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def posts(slack: RecordingServer) -> list[dict[str, Any]]:
    return [c.json for c in slack.calls if c.path.endswith("/chat.postMessage")]


def subscriptions(path: Path, ecosystem: Ecosystem, name: str, pinned: str, registry: str) -> Path:
    path.write_text(
        f'[[package]]\necosystem = "{ecosystem.value}"\nname = "{name}"\npinned = "{pinned}"\n'
        f'registry = "{registry}"\nnotify = ["slack:#sec"]\n'
    )
    return path


def check(subs: Path, data_dir: Path, slack: RecordingServer) -> WatcherRun:
    """`watcher check` with Slack on the recording server."""
    args = ("check", "--subscriptions", str(subs))
    env = watcher_env(data_dir)
    env.update({"SLACK_BOT_TOKEN": "xoxb-test", "WATCHER_SLACK_API_URL": slack.url})
    done = subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        cwd=data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return WatcherRun(args, done.returncode, done.stdout, done.stderr, data_dir)


def alerted(slack: RecordingServer, pin: str) -> dict[str, str]:
    """The Slack messages by the version they alert on (read from "PIN → VERSION (")."""
    found: dict[str, str] = {}
    for message in posts(slack):
        version = message["text"].split(f"{pin} → ", 1)[1].split(" (", 1)[0]
        assert version not in found, f"{version} alerted twice"
        found[version] = str(message)
    return found


def npm_release(base: packages.NpmRelease, name: str, version: str) -> packages.NpmRelease:
    return packages.NpmRelease(
        {**base.manifest, "name": name, "version": version}, base.files, base.registry_fields
    )


def test_check_alerts_a_release_published_after_the_pin_whatever_its_version(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    name = f"@watcher-e2e/ooo-{uuid.uuid4().hex[:8]}"

    def publish(base: packages.NpmRelease, version: str) -> None:
        release = npm_release(base, name, version)
        npm_registry.publish(release.manifest, release.tarball(), extra=release.registry_fields)

    clean, honest, malicious = (
        packages.strutil_2_1_3(),
        packages.strutil_2_1_5(),
        packages.strutil_2_1_4(),
    )
    publish(clean, "1.0.0")
    publish(clean, "2.0.0")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subs = subscriptions(tmp_path / "subs.toml", Ecosystem.NPM, name, "2.0.0", npm_registry.url)

    # A new subscription: nothing was published after the pin, so nothing is said.
    first = check(subs, data_dir, slack)
    assert (first.returncode, posts(slack)) == (0, []), first.describe()

    publish(honest, "3.0.0")
    publish(malicious, "2.0.1")  # a backport on the pinned line
    publish(malicious, "1.0.1")  # below the pin, on an older line
    second = check(subs, data_dir, slack)
    assert second.returncode == 1, second.describe()
    for version in ("1.0.1", "2.0.1"):
        assert f"npm/{name} 2.0.0 -> {version}: critical" in second.stdout, second.describe()
    messages = alerted(slack, "2.0.0")
    assert sorted(messages) == ["1.0.1", "2.0.1"], second.describe()
    older = messages["1.0.1"]
    assert "postinstall" in older and "critical" in older.lower()
    assert "meta.out-of-order-publish" in older
    assert "1.0.1 is lower than the reviewed 2.0.0 but was published after it" in older

    # Once only.
    third = check(subs, data_dir, slack)
    assert third.returncode == 1, third.describe()
    assert len(posts(slack)) == 2

    # What `watcher diff` says about the same pair is what the alert said.
    diff = run_watcher(
        "diff", name, "2.0.0", "1.0.1", "--registry", npm_registry.url, "--format", "json"
    )
    assert diff.returncode == 1, diff.describe()
    report = diff.json()
    [finding] = [f for f in report["findings"] if f["rule"] == "meta.out-of-order-publish"]
    history = run_watcher("history", name, "--format", "json", data_dir=data_dir).json()
    [analysis] = {v["version"]: v for v in history["versions"]}["1.0.1"]["analyses"]
    assert (analysis["severity"], analysis["score"]) == (report["severity"], report["score"])
    assert finding["severity"] == "medium"


def test_check_on_an_index_without_times_alerts_what_appeared_after_the_first_poll(
    slack: RecordingServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    packages_dir = tmp_path / "packages"
    packages_dir.mkdir()
    for release in (packages.pypi_1_0_0(), replace(packages.pypi_1_0_2(), version="2.0.0")):
        for filename, data in release.distributions():
            (packages_dir / filename).write_bytes(data)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with start_pypiserver(packages_dir) as server:
        subs = subscriptions(
            tmp_path / "subs.toml", Ecosystem.PYPI, packages.PYPI_NAME, "2.0.0", server.url
        )
        first = check(subs, data_dir, slack)
        assert (first.returncode, posts(slack)) == (0, []), first.describe()

        # 1.0.1 is below the pin and pypiserver gives no upload time: it counts from when
        # watcher first saw it, after the pin.
        for filename, data in packages.pypi_1_0_1().distributions():
            (packages_dir / filename).write_bytes(data)
        second = check(subs, data_dir, slack)
        assert list(alerted(slack, "2.0.0")) == ["1.0.1"], second.describe()
        assert f"pypi/{packages.PYPI_NAME} 2.0.0 -> 1.0.1: critical" in second.stdout
        assert ".pth" in str(posts(slack))

        check(subs, data_dir, slack)
        assert len(posts(slack)) == 1
