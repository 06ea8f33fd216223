"""Exactly-once Slack delivery through the outbox: `watch.deliver`, a real store, a real server.

The crash is staged in-process: a sender claims the alert, records its attempt and posts, then
"dies" (never marks it sent). The next `deliver` after the lease finds the message by its
metadata and marks the alert sent without posting again. The real-process version with
`kill -9` is in tests/e2e/test_daemon_faults.py.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.notify.conftest import TOKEN
from tests.support.slack_server import RecordingServer, Reply
from tests.support.stores import make_report
from watcher.notify import Notifier, SlackNotifier
from watcher.store import repo
from watcher.store.db import Store
from watcher.watch import _alert, deliver

CHANNEL = "slack:#sec"
LEASE = timedelta(seconds=300)
#: The real clock, not a fixed date: Slack (the server) stamps messages with it, and the
#: outbox's attempt times bound the search.
T0 = datetime.now(UTC)


def _queue(store: Store, versions: tuple[str, ...] = ("1.0.1",)) -> list[int]:
    ids: list[int] = []
    with store.session() as s:
        for version in versions:
            record = repo.record_analysis_with_alerts(
                s, make_report(new=version), [CHANNEL], "r1", now=T0
            )
            ids.extend(record.alert_ids)
    return ids


def _notifiers(server: RecordingServer) -> dict[str, Notifier]:
    return {CHANNEL: SlackNotifier(TOKEN, base_url=server.url, backoff=0.01, timeout=2)}


def _delivered(server: RecordingServer) -> Counter[str]:
    return Counter(str(m.event_payload.get("dedup_key")) for m in server.messages)


def _row(store: Store, alert_id: int) -> tuple[str, str | None, int]:
    with store.engine.connect() as conn:
        status, ref, attempts = conn.execute(
            text("SELECT status, remote_ref, attempts FROM alerts WHERE id = :id"),
            {"id": alert_id},
        ).one()
    return str(status), ref, int(attempts)


def _die_after_posting(store: Store, server: RecordingServer) -> None:
    """A sender that posts every due alert and dies before marking any of them sent."""
    notifier = _notifiers(server)[CHANNEL]
    with store.session() as s:
        for pending in repo.claim_due_alerts(s, "dead", T0):
            assert repo.begin_attempt(s, pending.id, "dead", now=T0) == T0
            notifier.send(_alert(pending))


def test_a_crash_after_slack_accepted_does_not_post_again(
    store: Store, server: RecordingServer
) -> None:
    [alert_id] = _queue(store)
    _die_after_posting(store, server)
    assert len(server.messages) == 1
    server.reset_calls()
    # Before the lease runs out nobody touches it; after, the next sender looks first.
    assert deliver(store, _notifiers(server).__getitem__, "next", T0 + timedelta(seconds=10)) == 0
    assert server.calls == []
    sent = deliver(store, _notifiers(server).__getitem__, "next", T0 + LEASE + timedelta(seconds=1))
    assert sent == 1
    assert [c.method_name for c in server.calls] == ["conversations.list", "conversations.history"]
    assert len(server.messages) == 1
    assert _row(store, alert_id) == ("sent", server.messages[0].ts, 0)


def test_a_crash_before_slack_got_it_posts_once(store: Store, server: RecordingServer) -> None:
    [alert_id] = _queue(store)
    server.default = Reply.dropped()  # Slack never saw the request
    _die_after_posting_quietly(store, server)
    assert server.messages == []
    server.default = Reply.ok()
    server.reset_calls()
    assert deliver(store, _notifiers(server).__getitem__, "next", T0 + LEASE * 2) == 1
    methods = [c.method_name for c in server.calls]
    assert methods == ["conversations.list", "conversations.history", "chat.postMessage"]
    assert _delivered(server) == Counter({server.messages[0].event_payload["dedup_key"]: 1})
    assert _row(store, alert_id)[0] == "sent"


def _die_after_posting_quietly(store: Store, server: RecordingServer) -> None:
    try:
        _die_after_posting(store, server)
    except Exception as error:  # the dropped connection: what a dying sender last saw
        assert "Slack" in str(error)


def test_a_first_send_makes_no_lookup(store: Store, server: RecordingServer) -> None:
    ids = _queue(store, ("1.0.1", "1.0.2"))
    assert deliver(store, _notifiers(server).__getitem__, "d", T0) == 2
    assert [c.method_name for c in server.calls] == ["chat.postMessage"] * 2
    assert sorted(_delivered(server).values()) == [1, 1]
    assert {_row(store, i)[0] for i in ids} == {"sent"}
    assert {_row(store, i)[1] for i in ids} == {m.ts for m in server.messages}


def test_an_outage_then_recovery_delivers_each_alert_once(
    store: Store, server: RecordingServer
) -> None:
    ids = _queue(store, ("1.0.1", "1.0.2", "1.0.3"))
    notifiers = _notifiers(server).__getitem__
    # Slack posts but the gateway loses every answer, then Slack is unreachable, then back.
    server.default = Reply.failed_after_posting(502)
    now = T0
    assert deliver(store, notifiers, "d", now) == 0
    server.stop()
    now += timedelta(hours=2)
    assert deliver(store, notifiers, "d", now) == 0
    server.start()
    server.default = Reply.ok()
    now += timedelta(hours=2)
    assert deliver(store, notifiers, "d", now) == 3
    assert sorted(_delivered(server).values()) == [1, 1, 1]
    assert {_row(store, i)[0] for i in ids} == {"sent"}
