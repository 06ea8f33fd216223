"""Faults, end to end: the real `watcher run` against a failing Slack, a failing registry, and
`kill -9` between committing an alert and sending it. Every alert arrives exactly once.

The daemon runs as a subprocess with a 1 s tick and a SQLite store, as in test_daemon_e2e.py.
Waiting for backoffs and leases in real time would take minutes (alerts back off from 30 s,
polls from 1 m, leases last 5 to 10 min), so the tests move those clocks instead: they set
`next_poll_at`, `next_attempt_at` and `lease_until` in the store to a time long gone, which is
what the store holds once that much time has passed. A lease is only ever expired after the
process holding it is dead, as it would be after the lease time.

Exactly once is counted at the receiver: every message the recording Slack server accepted,
keyed by the alert's dedup key in the message metadata.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.daemon import DaemonProcess
from tests.support import packages
from tests.support.faulty_proxy import Fault, FaultyProxy
from tests.support.registries import Verdaccio
from tests.support.slack_server import RecordingServer, Reply

pytestmark = pytest.mark.e2e

#: Generous for a loaded CI machine; each wait is a second or two on a quiet one.
WAIT = 30.0
LONG_AGO = "2000-01-01 00:00:00.000000"


class Daemon(DaemonProcess):
    """A daemon with Slack on the recording server and a 1 s tick, plus `extra_env`."""

    def __init__(
        self, data_dir: Path, subscriptions: Path, slack: RecordingServer, **extra_env: str
    ) -> None:
        env = {
            "SLACK_BOT_TOKEN": "xoxb-faults-test",
            "WATCHER_SLACK_API_URL": slack.url,
            "WATCHER_TICK_SECONDS": "1",
            **extra_env,
        }
        super().__init__(data_dir, subscriptions, env, WAIT)

    def wait_for_log(self, needle: str) -> None:
        wait_until(lambda: any(needle in line for line in self.lines), f"log {needle!r}", self)


def wait_until(condition: Callable[[], bool], what: str, daemon: Daemon | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        log = daemon.log() if daemon is not None else ""
        if daemon is not None and daemon.process.poll() is not None:
            pytest.fail(f"daemon exited ({daemon.process.returncode}) waiting for {what}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; daemon log:\n{log}")
        time.sleep(0.05)


# --- the store, read and aged from outside ------------------------------------------------


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "watcher.db", timeout=15)


def _age(data_dir: Path, statement: str) -> None:
    if not (data_dir / "watcher.db").exists():
        return
    with _db(data_dir) as conn:
        try:
            conn.execute(statement, (LONG_AGO,))
        except sqlite3.OperationalError as error:  # killed before the store was migrated
            assert "no such table" in str(error), error


def make_due(data_dir: Path) -> None:
    """Polls due now and unleased, as after their interval (or backoff) and lease passed."""
    _age(
        data_dir,
        "UPDATE poll_state SET next_poll_at = ?, lease_owner = NULL, lease_until = NULL",
    )


def alerts_due(data_dir: Path) -> None:
    """Pending alerts due now and unleased, as after their backoff and lease passed."""
    _age(
        data_dir,
        "UPDATE alerts SET next_attempt_at = ?, lease_owner = NULL, lease_until = NULL "
        "WHERE status = 'pending'",
    )


def _query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of `sql`; none before the daemon created and migrated the store."""
    if not (data_dir / "watcher.db").exists():
        return []
    with _db(data_dir) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError as error:
            assert "no such table" in str(error), error
            return []


def outbox(data_dir: Path) -> list[tuple[str, str, int, str | None]]:
    """(dedup_key, status, attempts, attempt_started_at) of every release alert."""
    rows = _query(
        data_dir,
        "SELECT dedup_key, status, attempts, attempt_started_at FROM alerts "
        "WHERE kind = 'release' ORDER BY id",
    )
    return [(str(k), str(s), int(str(a)), None if t is None else str(t)) for k, s, a, t in rows]


def analyses(data_dir: Path) -> list[tuple[str, str]]:
    rows = _query(data_dir, "SELECT new_version, severity FROM analyses ORDER BY id")
    return [(str(v), str(s)) for v, s in rows]


def all_sent(data_dir: Path, expected: int) -> bool:
    rows = outbox(data_dir)
    return len(rows) == expected and all(status == "sent" for _, status, _, _ in rows)


def delivered(slack: RecordingServer) -> Counter[str]:
    """Messages Slack accepted, per alert dedup key (operational notes left out)."""
    return Counter(
        str(m.event_payload.get("dedup_key"))
        for m in slack.messages
        if (m.metadata or {}).get("event_type") == "watcher_alert"
    )


def posts(slack: RecordingServer) -> int:
    return sum(1 for c in slack.calls if c.method_name == "chat.postMessage")


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


class Watch:
    """One test's package on the registry, its subscription file and its data directory."""

    def __init__(self, tmp_path: Path, npm: Verdaccio, name: str, registry: str) -> None:
        self.name = name
        self.npm = npm
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir()
        self.subscriptions = tmp_path / "subscriptions.toml"
        self.subscriptions.write_text(
            f'[[package]]\necosystem = "npm"\nname = "{name}"\npinned = "1.0.0"\n'
            f'registry = "{registry}/"\nnotify = ["slack:#sec"]\ninterval = "30s"\n'
        )
        self.publish(packages.strutil_2_1_3(), "1.0.0")

    def publish(self, base: packages.NpmRelease, version: str) -> None:
        manifest = {**base.manifest, "name": self.name, "version": version}
        release = packages.NpmRelease(manifest, base.files, base.registry_fields)
        self.npm.publish(release.manifest, release.tarball(), extra=release.registry_fields)

    def malicious(self, *versions: str) -> None:
        for version in versions:
            self.publish(packages.strutil_2_1_4(), version)

    def daemon(self, slack: RecordingServer, **extra_env: str) -> Daemon:
        return Daemon(self.data_dir, self.subscriptions, slack, **extra_env)


def assert_each_once(slack: RecordingServer, data_dir: Path, name: str, versions: set[str]) -> None:
    """One message per alert, for exactly these versions, with the right headline."""
    counts = delivered(slack)
    keys = {key for key, _, _, _ in outbox(data_dir)}
    assert counts == Counter(dict.fromkeys(keys, 1)), counts
    payloads = [m.event_payload for m in slack.messages if m.event_payload.get("dedup_key")]
    assert {p["new_version"] for p in payloads} == versions
    for payload in payloads:
        assert payload["package"] == name and payload["old_version"] == "1.0.0"
        assert payload["severity"] == "critical"
    for message in slack.messages:
        assert name in message.text and "CRITICAL" in message.text


# --- Slack: 429, 500s, unreachable, back --------------------------------------------------


def test_slack_rate_limit_errors_and_outage_deliver_each_alert_once(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    watch = Watch(tmp_path, npm_registry, "@watcher-faults/slack-outage", npm_registry.url)
    watch.malicious("1.0.1", "1.0.2")
    # 429 with Retry-After (waited out inline), then 500s: a gateway that loses Slack's
    # answer after the message is posted, so only a search can tell it arrived.
    slack.script([Reply.rate_limited(1)])
    slack.default = Reply.failed_after_posting(500)
    daemon = watch.daemon(slack)
    try:
        wait_until(
            lambda: (
                len(outbox(watch.data_dir)) == 2
                and all(a >= 1 for _, _, a, _ in outbox(watch.data_dir))
            ),
            "both alerts to fail once",
            daemon,
        )
        assert posts(slack) >= 2  # the 429 was waited out and the post tried again
        assert len(slack.messages) <= 2  # posted, unconfirmed; never posted twice

        # Unreachable: nothing listens on Slack's port.
        slack.stop()
        before = {k: a for k, _, a, _ in outbox(watch.data_dir)}
        alerts_due(watch.data_dir)
        wait_until(
            lambda: all(a > before[k] for k, _, a, _ in outbox(watch.data_dir)),
            "a failed try while Slack is unreachable",
            daemon,
        )
        assert "unreachable" in daemon.log()
        assert all(status == "pending" for _, status, _, _ in outbox(watch.data_dir))

        # Back: each alert is found or posted, and marked sent.
        slack.default = Reply.ok()
        slack.start()
        alerts_due(watch.data_dir)
        wait_until(lambda: all_sent(watch.data_dir, 2), "both alerts sent", daemon)
        calls = len(slack.calls)
        time.sleep(2.5)  # two more ticks: nothing else goes out
        assert not [c for c in slack.calls[calls:] if c.method_name == "chat.postMessage"]
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()
    assert "xoxb-faults-test" not in daemon.log()
    assert_each_once(slack, watch.data_dir, watch.name, {"1.0.1", "1.0.2"})


# --- the registry: 5xx, malformed JSON, a hang past the timeout ---------------------------


def test_registry_faults_record_nothing_then_alert_once(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    with FaultyProxy(npm_registry.url) as proxy:
        watch = Watch(tmp_path, npm_registry, "@watcher-faults/registry", proxy.url)
        daemon = watch.daemon(slack)
        try:
            daemon.wait_for_log(f"polled npm/{watch.name}@1.0.0: no new release")
            watch.malicious("1.0.1")
            for fault in (Fault.ERROR, Fault.MALFORMED):
                proxy.switch(fault)
                failures = _failed_polls(daemon)
                make_due(watch.data_dir)

                def failed_again(before: int = failures) -> bool:
                    return _failed_polls(daemon) > before

                wait_until(failed_again, f"a failed poll ({fault})", daemon)
                # Backed off (next poll a minute or more away), nothing analysed or alerted.
                assert analyses(watch.data_dir) == []
                assert outbox(watch.data_dir) == []
                assert posts(slack) == 0
            assert proxy.faulted >= 2
            log = daemon.log()
            assert "HTTP 503" in log
            assert "in a row, next try" in log

            proxy.switch(Fault.NONE)
            make_due(watch.data_dir)
            wait_until(lambda: all_sent(watch.data_dir, 1), "the alert sent", daemon)
            assert analyses(watch.data_dir) == [("1.0.1", "critical")]
            assert daemon.terminate() == 0, daemon.log()
        finally:
            daemon.kill9()
    assert_each_once(slack, watch.data_dir, watch.name, {"1.0.1"})


def poll_state(data_dir: Path) -> tuple[datetime, int]:
    """(next_poll_at, tries) of the one package; SQLite holds naive UTC text."""
    [(due, tries)] = _query(data_dir, "SELECT next_poll_at, tries FROM poll_state")
    return datetime.fromisoformat(str(due)).replace(tzinfo=UTC), int(str(tries))


def test_registry_hang_past_the_timeout_backs_off_then_alerts_once(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    with FaultyProxy(npm_registry.url) as proxy:
        watch = Watch(tmp_path, npm_registry, "@watcher-faults/registry-hang", proxy.url)
        # A 1 s timeout and one retry: with the defaults (30 s, 3 retries) one hung poll
        # would take two minutes, far past this test's waits.
        daemon = watch.daemon(slack, WATCHER_HTTP_TIMEOUT="1", WATCHER_HTTP_RETRIES="1")
        try:
            daemon.wait_for_log(f"polled npm/{watch.name}@1.0.0: no new release")
            # The cycle also resolves the release's dependency tree (its packument and
            # tarball): only once that is done may the registry hang for the poll alone.
            daemon.wait_for_log(f"dependency tree of {watch.name}@1.0.0")
            watch.malicious("1.0.1")
            proxy.switch(Fault.HANG)
            failures = _failed_polls(daemon)
            make_due(watch.data_dir)
            wait_until(lambda: _failed_polls(daemon) > failures, "a poll that timed out", daemon)
            hung = [r for r in proxy.requests if r[0] is Fault.HANG]
            assert len(hung) == 2, proxy.requests  # the try and its one retry, each cut off
            log = daemon.log()
            assert "ReadTimeout" in log and "1 in a row, next try" in log
            # Backed off: the next poll is the first backoff step (1 min) away, not the
            # 30 s interval and not at once.
            due, tries = poll_state(watch.data_dir)
            assert tries == 1
            assert due - datetime.now(UTC) > timedelta(seconds=40)
            assert analyses(watch.data_dir) == []
            assert outbox(watch.data_dir) == []
            assert posts(slack) == 0
            time.sleep(2.5)  # two more ticks: nothing polls early, and the daemon is up
            assert daemon.process.poll() is None
            assert [r for r in proxy.requests if r[0] is Fault.HANG] == hung

            proxy.switch(Fault.NONE)
            make_due(watch.data_dir)
            wait_until(lambda: all_sent(watch.data_dir, 1), "the alert sent", daemon)
            assert analyses(watch.data_dir) == [("1.0.1", "critical")]
            assert poll_state(watch.data_dir)[1] == 0
            assert daemon.terminate() == 0, daemon.log()
        finally:
            daemon.kill9()
    assert_each_once(slack, watch.data_dir, watch.name, {"1.0.1"})


# --- SIGHUP while starting ------------------------------------------------------------------


def _signals(pid: int, field: str) -> int:
    """A signal mask of /proc/PID/status (`SigIgn`, `SigCgt`); 0 once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1], 16)
    return 0


def _has(mask: int, signum: int) -> bool:
    return bool(mask & (1 << (signum - 1)))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_sighup_during_start_up_does_not_kill_the_daemon(
    slack: RecordingServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    subscriptions = tmp_path / "subscriptions.toml"
    # Nothing listens on port 9: polls fail, which does not matter here.
    subscriptions.write_text(
        '[[package]]\necosystem = "npm"\nname = "@watcher-faults/hup"\npinned = "1.0.0"\n'
        'registry = "http://127.0.0.1:9/"\nnotify = ["slack:#sec"]\n'
    )
    daemon = Daemon(data_dir, subscriptions, slack)
    try:
        pid = daemon.process.pid
        # Until the interpreter runs watcher's code nothing can ignore a signal, so the test
        # waits for that moment (SIGHUP in SigIgn) and signals at once: the daemon is still
        # starting (imports, store migration) and has not installed its reload handler.
        wait_until(
            lambda: _has(_signals(pid, "SigIgn"), signal.SIGHUP),
            "SIGHUP ignored by `watcher run`",
            daemon,
        )
        assert not _has(_signals(pid, "SigCgt"), signal.SIGHUP)  # no handler yet
        os.kill(pid, signal.SIGHUP)
        assert not any("watching" in line for line in daemon.lines)  # still starting
        daemon.wait_for_log("watching 1 package(s)")
        # Started, and from now on SIGHUP reloads.
        wait_until(
            lambda: _has(_signals(pid, "SigCgt"), signal.SIGHUP), "the reload handler", daemon
        )
        os.kill(pid, signal.SIGHUP)
        daemon.wait_for_log("subscriptions reloaded")
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()


# --- kill -9 between committing an alert and sending it -----------------------------------


def test_kill_between_commit_and_send_delivers_once(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    watch = Watch(tmp_path, npm_registry, "@watcher-faults/kill-once", npm_registry.url)
    watch.malicious("1.0.1")

    # 1. Slack unreachable: the analysis and its alert are committed, the send fails.
    slack.stop()
    daemon = watch.daemon(slack)
    try:
        wait_until(
            lambda: [a for _, _, a, _ in outbox(watch.data_dir)] == [1], "a failed send", daemon
        )
    finally:
        daemon.kill9()
    assert analyses(watch.data_dir) == [("1.0.1", "critical")]

    # 2. Restart with Slack up: delivered once.
    slack.start()
    alerts_due(watch.data_dir)
    daemon = watch.daemon(slack)
    try:
        wait_until(lambda: all_sent(watch.data_dir, 1), "the alert sent", daemon)
    finally:
        daemon.kill9()
    assert posts(slack) == 1

    # 3. A second rug pull; Slack posts it but answers slowly, and the daemon dies waiting.
    watch.malicious("1.0.2")
    slack.default = Reply.slow(30)
    make_due(watch.data_dir)
    daemon = watch.daemon(slack)
    try:
        wait_until(lambda: len(slack.messages) == 2, "the second message posted", daemon)
        daemon.kill9()
        [_, (_, status, _, started)] = outbox(watch.data_dir)
        assert status == "pending" and started is not None  # in flight, outcome unknown
    finally:
        daemon.kill9()

    # 4. Restart: the daemon finds the message in the channel and does not post it again.
    slack.default = Reply.ok()
    slack.reset_calls()
    alerts_due(watch.data_dir)
    daemon = watch.daemon(slack)
    try:
        wait_until(lambda: all_sent(watch.data_dir, 2), "the second alert marked sent", daemon)
        daemon.wait_for_log("already in Slack")
        assert posts(slack) == 0
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()
    assert_each_once(slack, watch.data_dir, watch.name, {"1.0.1", "1.0.2"})


def test_repeated_kills_at_varied_moments_lose_and_duplicate_nothing(
    npm_registry: Verdaccio, slack: RecordingServer, tmp_path: Path
) -> None:
    watch = Watch(tmp_path, npm_registry, "@watcher-faults/kill-often", npm_registry.url)
    versions = ["1.0.1", "1.0.2", "1.0.3", "1.0.4"]
    watch.malicious(*versions)
    # Every Slack answer is slow, so that many kills land while a post is in flight.
    slack.default = Reply.slow(0.8)

    def everything_sent() -> bool:
        return all_sent(watch.data_dir, len(versions))

    def posted_since(count: int) -> Callable[[], bool]:
        # Slack has the message (it is posted before the slow answer): a kill now lands
        # between Slack accepting it and the daemon marking it sent.
        return lambda: len(slack.messages) > count or everything_sent()

    # When to kill, in turn. Each moment comes in every run, whatever the machine's speed:
    # the state the previous kill left guarantees the next step is still to be done.
    moments: list[Callable[[Daemon, int], Callable[[], bool]]] = [
        lambda d, _: lambda: bool(d.lines),  # up: store migrated, pins synced
        lambda d, _: lambda: bool(analyses(watch.data_dir)),  # an analysis just committed
        lambda d, n: posted_since(n),  # a post in flight: accepted, not answered
        # The restart searches the channel for the unsure alert.
        lambda d, _: (
            lambda: (
                any(c.method_name == "conversations.history" for c in slack.calls)
                or everything_sent()
            )
        ),
        lambda d, _: lambda: any(s == "sent" for _, s, _, _ in outbox(watch.data_dir)),
        lambda d, n: posted_since(n),
    ]
    #: Kills that left an alert posted to Slack but not marked sent (the case that matters).
    posted_unmarked = 0
    for moment in moments:
        slack.reset_calls()
        make_due(watch.data_dir)
        alerts_due(watch.data_dir)
        daemon = watch.daemon(slack)
        try:
            _until(moment(daemon, len(slack.messages)), daemon, limit=WAIT)
        finally:
            daemon.kill9()
        in_slack = delivered(slack)
        posted_unmarked += sum(
            1
            for key, status, _, _ in outbox(watch.data_dir)
            if status == "pending" and key in in_slack
        )
    assert posted_unmarked >= 1, "no kill landed between Slack accepting and marking sent"

    # Then it runs undisturbed until everything is out.
    slack.default = Reply.ok()
    make_due(watch.data_dir)
    alerts_due(watch.data_dir)
    daemon = watch.daemon(slack)
    try:
        wait_until(lambda: all_sent(watch.data_dir, len(versions)), "every alert sent", daemon)
        assert daemon.terminate() == 0, daemon.log()
    finally:
        daemon.kill9()
    assert sorted(v for v, _ in analyses(watch.data_dir)) == versions
    assert_each_once(slack, watch.data_dir, watch.name, set(versions))


def _failed_polls(daemon: Daemon) -> int:
    return sum(1 for line in daemon.lines if "poll of" in line and "failed" in line)


def _until(condition: Callable[[], bool], daemon: Daemon, limit: float) -> None:
    """Wait for `condition` at most `limit` seconds; an early exit of the daemon is a failure."""
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            pytest.fail(f"daemon exited ({daemon.process.returncode}):\n{daemon.log()}")
        time.sleep(0.02)
