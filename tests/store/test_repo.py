"""The repo functions on both backends: pins, approvals, releases, analyses, outbox, polls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import text

from tests.store.conftest import CHANNELS, T0, count, make_report, make_subscription
from watcher.errors import StoreError
from watcher.models import Ecosystem, Severity
from watcher.report.jsonfmt import report_dict
from watcher.store import repo
from watcher.store.db import Store
from watcher.store.repo import AlertStatus

NPM = Ecosystem.NPM


# --- pins and approvals -------------------------------------------------------------------------


def test_sync_pins_inserts_new_pins_and_schedules_a_first_poll(store: Store) -> None:
    with store.session() as s:
        pins = repo.sync_pins(
            s, [make_subscription("a", "1.0.0"), make_subscription("b", "2.0")], now=T0
        )
        assert [(p.name, p.version, p.approved_by) for p in pins] == [
            ("a", "1.0.0", None),
            ("b", "2.0", None),
        ]
        assert repo.pinned(s, NPM, "a") == "1.0.0"
        assert repo.pinned(s, NPM, "missing") is None
        due = repo.claim_due_polls(s, "d1", now=T0)
    assert {t.name for t in due} == {"a", "b"}


def test_the_pin_is_the_later_published_of_file_and_approval(store: Store) -> None:
    published = {"1.0.0": 0, "1.1.0": 1, "1.2.0": 2, "1.3.0": 3}
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0)
        for version, day in published.items():
            repo.record_release_seen(
                s, NPM, "a", version, published_at=T0 + timedelta(days=day), now=T0
            )
        approval = repo.approve(s, NPM, "a", "1.2.0", "alice@example.com", "diff reviewed", now=T0)
        assert (approval.from_version, approval.to_version, approval.who) == (
            "1.0.0",
            "1.2.0",
            "alice@example.com",
        )
        assert approval.at == T0 and approval.note == "diff reviewed"
        assert repo.pinned(s, NPM, "a") == "1.2.0"

        # The file still says 1.0.0: the approval stands.
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0 + timedelta(hours=1))
        assert (pin.version, pin.approved_by, pin.approved_at) == ("1.2.0", "alice@example.com", T0)
        assert pin.source == f"approved by alice@example.com on {T0.date().isoformat()}"

        # The file moves to a release published before the approved one: the approval stands.
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.1.0")], now=T0 + timedelta(hours=2))
        assert pin.version == "1.2.0"

        # The file moves to a release published after it: the file wins.
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.3.0")], now=T0 + timedelta(hours=3))
        assert (pin.version, pin.approved_by, pin.source) == ("1.3.0", None, "file")
        assert repo.pinned(s, NPM, "a") == "1.3.0"
    assert count(store, "approvals") == 1


def test_publish_time_not_version_order_decides(store: Store) -> None:
    # server-filesystem's shape: 2.0.1 published after 2026.8.31 is the later pin.
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a", "2026.8.31")], now=T0)
        repo.record_release_seen(s, NPM, "a", "2026.8.31", published_at=T0, now=T0)
        repo.record_release_seen(s, NPM, "a", "2.0.1", published_at=T0 + timedelta(1), now=T0)
        repo.approve(s, NPM, "a", "2.0.1", "alice", now=T0 + timedelta(2))
        (pin,) = repo.sync_pins(s, [make_subscription("a", "2026.8.31")], now=T0 + timedelta(3))
        assert (pin.version, pin.approved_by) == ("2.0.1", "alice")


def test_unknown_publish_times_let_the_newer_information_win(store: Store) -> None:
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0)
        # Nothing known about 1.5.0's publish time: the approval is the newer word.
        repo.approve(s, NPM, "a", "1.5.0", "alice", now=T0 + timedelta(hours=1))
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0 + timedelta(hours=2))
        assert pin.version == "1.5.0"
        assert repo.effective_pins(s, [make_subscription("a", "1.0.0")]) == [pin]
        # A later edit of the file is newer still.
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.4.0")], now=T0 + timedelta(hours=3))
        assert (pin.version, pin.source) == ("1.4.0", "file")


def test_an_approval_before_the_first_sync_is_not_undone_by_it(store: Store) -> None:
    with store.session() as s:
        repo.approve(s, NPM, "a", "1.5.0", "alice", file_version="1.0.0", now=T0)
        (pin,) = repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0 + timedelta(hours=1))
        assert (pin.version, pin.approved_by) == ("1.5.0", "alice")


def test_an_unorderable_file_version_is_followed(store: Store) -> None:
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0)
        (pin,) = repo.sync_pins(s, [make_subscription("a", "nightly-2026")], now=T0)
    assert pin.version == "nightly-2026"


def test_pypi_names_are_one_package_whatever_the_spelling(store: Store) -> None:
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("Demo_Tool", "1.0", Ecosystem.PYPI)], now=T0)
        assert repo.pinned(s, Ecosystem.PYPI, "demo-tool") == "1.0"
        repo.approve(s, Ecosystem.PYPI, "demo.tool", "1.1", "bob", now=T0)
        assert repo.pinned(s, Ecosystem.PYPI, "DEMO-TOOL") == "1.1"
    assert count(store, "pins") == 1


def test_approve_without_a_pin_creates_it_and_may_move_backwards(store: Store) -> None:
    with store.session() as s:
        first = repo.approve(s, NPM, "a", "2.0.0", "alice", now=T0)
        back = repo.approve(s, NPM, "a", "1.9.0", "bob", "2.0.0 was bad", now=T0 + timedelta(1))
        assert first.from_version is None
        assert (back.from_version, back.to_version) == ("2.0.0", "1.9.0")
        assert repo.pinned(s, NPM, "a") == "1.9.0"
        with pytest.raises(ValueError):
            repo.approve(s, NPM, "a", "2.1.0", "  ")


# --- releases and history -------------------------------------------------------------------------


def test_record_release_seen_is_idempotent_and_fills_an_unknown_publish_time(store: Store) -> None:
    published = T0 - timedelta(days=1)
    with store.session() as s:
        assert repo.record_release_seen(s, NPM, "a", "1.0.1", now=T0) is True
        assert (
            repo.record_release_seen(s, NPM, "a", "1.0.1", published_at=published, now=T0) is False
        )
        assert repo.record_release_seen(s, NPM, "a", "1.0.1", published_at=T0, now=T0) is False
        (entry,) = repo.history(s, NPM, "a")
    assert (entry.version, entry.first_seen_at, entry.published_at) == ("1.0.1", T0, published)
    assert count(store, "releases") == 1


def test_history_shows_releases_analyses_alerts_and_approvals(store: Store) -> None:
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a", "1.0.0")], now=T0)
        repo.record_release_seen(s, NPM, "a", "1.0.1", now=T0 + timedelta(minutes=1))
        record = repo.record_analysis_with_alerts(
            s, make_report("a", "1.0.0", "1.0.1"), CHANNELS, "r1", now=T0 + timedelta(minutes=2)
        )
        repo.mark_sent(s, record.alert_ids[0], now=T0 + timedelta(minutes=3))
        repo.mark_failed(s, record.alert_ids[1], "HTTP 500", now=T0 + timedelta(minutes=3))
        repo.approve(s, NPM, "a", "1.0.1", "alice", now=T0 + timedelta(minutes=4))
        entries = repo.history(s, NPM, "a")

    assert [e.version for e in entries] == ["1.0.0", "1.0.1"]
    base, new = entries
    assert not base.pinned and base.analyses == () and base.first_seen_at is None
    assert new.pinned and new.first_seen_at == T0 + timedelta(minutes=1)
    (analysis,) = new.analyses
    assert (analysis.old_version, analysis.severity, analysis.score) == ("1.0.0", Severity.HIGH, 70)
    assert [(a.channel, a.status, a.attempts) for a in analysis.alerts] == [
        ("slack:#mcp-supply-chain", AlertStatus.SENT, 0),
        ("webhook", AlertStatus.PENDING, 1),
    ]
    assert analysis.alerts[1].last_error == "HTTP 500"
    assert [(a.who, a.from_version) for a in new.approvals] == [("alice", "1.0.0")]


def test_history_of_an_unknown_package_is_empty(store: Store) -> None:
    with store.session() as s:
        assert repo.history(s, NPM, "nothing") == []


# --- analyses and the outbox ----------------------------------------------------------------------


def test_record_analysis_writes_the_report_and_one_alert_per_channel(store: Store) -> None:
    report = make_report()
    with store.session() as s:
        assert not repo.has_analysis(s, NPM, report.package, "1.0.0", "1.0.1", "r1")
        record = repo.record_analysis_with_alerts(s, report, [*CHANNELS, CHANNELS[0]], "r1", now=T0)
        assert repo.has_analysis(s, NPM, report.package, "1.0.0", "1.0.1", "r1")
        assert not repo.has_analysis(s, NPM, report.package, "1.0.0", "1.0.1", "r2")
        alerts = repo.claim_due_alerts(s, "d1", T0)
    assert record.created and len(record.alert_ids) == 2
    assert (record.old_version, record.new_version, record.severity) == (
        "1.0.0",
        "1.0.1",
        Severity.HIGH,
    )
    assert [a.channel for a in alerts] == CHANNELS
    assert dict(alerts[0].report) == json.loads(json.dumps(report_dict(report)))
    assert alerts[0].payload["package"] == report.package
    assert alerts[0].payload["channel"] == CHANNELS[0]


def test_record_analysis_is_idempotent(store: Store) -> None:
    report = make_report()
    with store.session() as s:
        first = repo.record_analysis_with_alerts(s, report, CHANNELS, "r1", now=T0)
        again = repo.record_analysis_with_alerts(s, report, [*CHANNELS, "console"], "r1", now=T0)
        other_rules = repo.record_analysis_with_alerts(s, report, CHANNELS, "r2", now=T0)
    assert first.created and not again.created and other_rules.created
    assert (again.id, again.alert_ids) == (first.id, first.alert_ids)
    assert count(store, "analyses") == 2 and count(store, "alerts") == 4


def test_a_first_release_analysis_is_also_written_once(store: Store) -> None:
    """old_version None must not defeat the unique key (NULLs are distinct in SQL)."""
    report = make_report(old=None)
    with store.session() as s:
        first = repo.record_analysis_with_alerts(s, report, ["console"], "r1", now=T0)
        again = repo.record_analysis_with_alerts(s, report, ["console"], "r1", now=T0)
        assert repo.has_analysis(s, NPM, report.package, None, "1.0.1", "r1")
    assert first.old_version is None and not again.created
    assert count(store, "analyses") == 1 and count(store, "alerts") == 1


def test_an_analysis_without_channels_records_no_alert(store: Store) -> None:
    with store.session() as s:
        record = repo.record_analysis_with_alerts(s, make_report(severity=Severity.LOW), [], "r1")
    assert record.created and record.alert_ids == ()
    assert count(store, "alerts") == 0


def test_a_failure_between_the_two_writes_leaves_neither(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_args: object) -> None:
        raise RuntimeError("crash after the analysis row was written")

    monkeypatch.setattr(repo, "_alert_row", crash)
    with store.session() as s:
        with pytest.raises(RuntimeError, match="crash after"):
            repo.record_analysis_with_alerts(s, make_report(), CHANNELS, "r1", now=T0)
        assert not repo.has_analysis(s, NPM, "demo-mcp-server", "1.0.0", "1.0.1", "r1")
    assert count(store, "analyses") == 0 and count(store, "alerts") == 0

    monkeypatch.undo()  # the session is usable again, and the retry writes everything
    with store.session() as s:
        assert repo.record_analysis_with_alerts(s, make_report(), CHANNELS, "r1", now=T0).created
    assert count(store, "analyses") == 1 and count(store, "alerts") == 2


def test_losing_a_race_on_the_unique_key_returns_the_winners_record(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path the loser of two racing daemons takes, made deterministic."""
    with store.session() as s:
        winner = repo.record_analysis_with_alerts(s, make_report(), CHANNELS, "r1", now=T0)
    real_find = repo._find_analysis
    calls: list[int] = []

    def blind_first_time(session: object, where: object) -> object:
        calls.append(1)
        return None if len(calls) == 1 else real_find(session, where)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "_find_analysis", blind_first_time)
    with store.session() as s:
        loser = repo.record_analysis_with_alerts(s, make_report(), CHANNELS, "r1", now=T0)
    assert len(calls) == 2
    assert not loser.created and (loser.id, loser.alert_ids) == (winner.id, winner.alert_ids)
    assert count(store, "analyses") == 1 and count(store, "alerts") == 2


def _two_alerts(store: Store) -> tuple[int, int]:
    with store.session() as s:
        record = repo.record_analysis_with_alerts(s, make_report(), CHANNELS, "r1", now=T0)
    first, second = record.alert_ids
    return first, second


def test_a_claimed_alert_is_leased_and_reclaimed_after_the_lease_expires(store: Store) -> None:
    first, second = _two_alerts(store)
    with store.session() as s:
        claimed = repo.claim_due_alerts(s, "daemon-1", T0, limit=1, lease_seconds=60)
        assert [a.id for a in claimed] == [first]
        assert claimed[0].lease_until == T0 + timedelta(seconds=60)
        # Another daemon, during the lease: only the unclaimed alert.
        assert [a.id for a in repo.claim_due_alerts(s, "daemon-2", T0 + timedelta(seconds=30))] == [
            second
        ]
        assert repo.claim_due_alerts(s, "daemon-2", T0 + timedelta(seconds=59)) == []
        # daemon-1 crashed without marking: after its lease the alert is claimed again.
        again = repo.claim_due_alerts(s, "daemon-2", T0 + timedelta(seconds=61))
        assert [a.id for a in again] == [first]


def test_mark_sent_is_final_and_harmless_twice(store: Store) -> None:
    first, _ = _two_alerts(store)
    with store.session() as s:
        repo.claim_due_alerts(s, "d", T0, lease_seconds=1)
        repo.mark_sent(s, first, now=T0)
        repo.mark_sent(s, first, now=T0 + timedelta(hours=1))
        assert repo.mark_failed(s, first, "late failure report", now=T0) is AlertStatus.SENT
        later = repo.claim_due_alerts(s, "d", T0 + timedelta(days=1))
        assert first not in {a.id for a in later}
        ((_, analysis),) = [
            (e, e.analyses[0]) for e in repo.history(s, NPM, "demo-mcp-server") if e.analyses
        ]
        assert analysis.alerts[0].sent_at == T0
        with pytest.raises(StoreError, match="no alert with id 999999"):
            repo.mark_sent(s, 999999)


def _outbox_row(store: Store, alert_id: int) -> tuple[Any, ...]:
    """(status, attempt_started_at, remote_ref) as stored, read outside the repo."""
    with store.engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, attempt_started_at, remote_ref FROM alerts WHERE id = :id"),
            {"id": alert_id},
        ).one()
    return tuple(row)


def test_an_attempt_is_recorded_before_sending_and_kept_until_sent(store: Store) -> None:
    first, _ = _two_alerts(store)
    with store.session() as s:
        [claimed, _] = repo.claim_due_alerts(s, "d1", T0, lease_seconds=60)
        assert claimed.attempt_started_at is None  # never sent: nothing to look for
        assert repo.begin_attempt(s, first, "d1", now=T0 + timedelta(seconds=1)) == T0 + (
            timedelta(seconds=1)
        )
        # d1 dies mid-send; after the lease d2 claims it and learns a send may have happened.
        [again] = [
            a for a in repo.claim_due_alerts(s, "d2", T0 + timedelta(seconds=61)) if a.id == first
        ]
        assert again.attempt_started_at == T0 + timedelta(seconds=1)
        # The first unsure attempt's time is kept: a message sent then may still be found.
        started = repo.begin_attempt(s, first, "d2", now=T0 + timedelta(seconds=62))
        assert started == T0 + timedelta(seconds=1)
        # A transient failure keeps it too: the next sender must look before sending.
        repo.mark_failed(s, first, "Slack API timed out", now=T0 + timedelta(seconds=70))
        [retry] = [
            a for a in repo.claim_due_alerts(s, "d3", T0 + timedelta(hours=1)) if a.id == first
        ]
        assert retry.attempt_started_at == T0 + timedelta(seconds=1)
        repo.mark_sent(s, first, now=T0 + timedelta(hours=1), remote_ref="1764000000.000100")
    status, started_at, ref = _outbox_row(store, first)
    assert (status, started_at, ref) == ("sent", None, "1764000000.000100")


def test_an_attempt_is_refused_without_the_lease(store: Store) -> None:
    first, second = _two_alerts(store)
    with store.session() as s:
        repo.claim_due_alerts(s, "d1", T0, lease_seconds=60)
        # Not claimed by this owner, or the lease ran out, or already sent: do not send.
        assert repo.begin_attempt(s, first, "someone-else", now=T0) is None
        assert repo.begin_attempt(s, first, "d1", now=T0 + timedelta(seconds=60)) is None
        repo.claim_due_alerts(s, "d2", T0 + timedelta(seconds=61), lease_seconds=60)
        assert repo.begin_attempt(s, first, "d1", now=T0 + timedelta(seconds=62)) is None
        repo.mark_sent(s, second, now=T0 + timedelta(seconds=62))
        assert repo.begin_attempt(s, second, "d2", now=T0 + timedelta(seconds=63)) is None
    assert _outbox_row(store, first)[1] is None  # nothing was recorded by the refused calls


def test_mark_failed_backs_off_and_gives_up_after_max_attempts(store: Store) -> None:
    first, _ = _two_alerts(store)
    now = T0
    with store.session() as s:
        for attempt in range(1, 4):
            (alert,) = [a for a in repo.claim_due_alerts(s, "d", now) if a.id == first]
            assert alert.attempts == attempt - 1
            status = repo.mark_failed(
                s, first, f"boom {attempt}\nwith a second line", now=now, max_attempts=4
            )
            assert status is AlertStatus.PENDING
            delay = repo.alert_backoff(attempt)
            # Not due just before the backoff ends; due at its end.
            assert first not in {
                a.id for a in repo.claim_due_alerts(s, "x", now + delay - timedelta(seconds=1))
            }
            now += delay
        assert [repo.alert_backoff(n).total_seconds() for n in (1, 2, 3, 20)] == [30, 60, 120, 3600]
        # An explicit retry time (Slack's Retry-After) wins over the backoff.
        assert (
            repo.mark_failed(s, first, "429", now + timedelta(hours=5), now=now, max_attempts=5)
            is AlertStatus.PENDING
        )
        assert first not in {a.id for a in repo.claim_due_alerts(s, "x", now + timedelta(hours=4))}
        assert repo.mark_failed(s, first, "boom 5", now=now, max_attempts=5) is AlertStatus.FAILED
        assert first not in {a.id for a in repo.claim_due_alerts(s, "x", now + timedelta(days=30))}
        (entry,) = [e for e in repo.history(s, NPM, "demo-mcp-server") if e.analyses]
        failed = entry.analyses[0].alerts[0]
    assert (failed.status, failed.attempts, failed.last_error) == (AlertStatus.FAILED, 5, "boom 5")


def test_a_permanent_failure_gives_up_at_once(store: Store) -> None:
    first, second = _two_alerts(store)
    with store.session() as s:
        status = repo.mark_failed(s, first, "channel_not_found", now=T0, permanent=True)
        assert status is AlertStatus.FAILED
        assert [a.id for a in repo.claim_due_alerts(s, "d", T0 + timedelta(days=1))] == [second]


def test_stored_error_texts_are_one_capped_line(store: Store) -> None:
    first, _ = _two_alerts(store)
    with store.session() as s:
        repo.mark_failed(s, first, "<html>\n" + "x" * 5000, now=T0)
        (entry,) = [e for e in repo.history(s, NPM, "demo-mcp-server") if e.analyses]
    error = entry.analyses[0].alerts[0].last_error
    assert error is not None and "\n" not in error and len(error) <= 1000


# --- poll state -----------------------------------------------------------------------------------


def test_poll_claims_lease_and_results_reset_or_back_off(store: Store) -> None:
    with store.session() as s:
        repo.sync_pins(s, [make_subscription("a"), make_subscription("b")], now=T0)
        (target, other) = repo.claim_due_polls(s, "d1", T0, lease_seconds=120)
        assert (target.name, target.etag, target.tries) == ("a", None, 0)
        assert repo.claim_due_polls(s, "d2", T0 + timedelta(seconds=60)) == []

        ok = repo.save_poll_result(
            s,
            NPM,
            "a",
            now=T0,
            interval_seconds=900,
            etag='W/"1"',
            last_modified="Sat, 21 Nov 2026 12:00:00 GMT",
        )
        assert (ok.tries, ok.next_poll_at, ok.etag) == (0, T0 + timedelta(minutes=15), 'W/"1"')
        # "a" is due again with its validators; "b" was never saved (d1 crashed while polling
        # it), so its lease ran out and it is claimed again.
        due = repo.claim_due_polls(s, "d2", T0 + timedelta(minutes=15))
        assert {(p.name, p.etag) for p in due} == {("a", 'W/"1"'), (other.name, None)}

        # Failures: tries count up, validators are kept, the next poll backs off.
        t = T0 + timedelta(minutes=15)
        one = repo.save_poll_result(s, NPM, "a", now=t, interval_seconds=900, error="HTTP 503")
        assert (one.tries, one.next_poll_at, one.etag, one.last_error) == (
            1,
            t + timedelta(minutes=1),
            'W/"1"',
            "HTTP 503",
        )
        two = repo.save_poll_result(s, NPM, "a", now=t, interval_seconds=900, error="HTTP 503")
        assert (two.tries, two.next_poll_at) == (2, t + timedelta(minutes=2))
        # A Retry-After later than the backoff is honoured.
        late = t + timedelta(hours=1)
        three = repo.save_poll_result(
            s, NPM, "a", now=t, interval_seconds=900, error="HTTP 429", retry_after=late
        )
        assert (three.tries, three.next_poll_at) == (3, late)
        assert repo.poll_backoff(50) == repo.POLL_BACKOFF_CAP
        # Success resets the count.
        back = repo.save_poll_result(s, NPM, "a", now=late, interval_seconds=900, etag='W/"2"')
        assert (back.tries, back.last_error) == (0, None)


# --- time, sessions ------------------------------------------------------------------------------


def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    berlin = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=berlin)
    with store.session() as s:
        repo.record_release_seen(s, NPM, "a", "1.0.0", published_at=local, now=local)
        (entry,) = repo.history(s, NPM, "a")
    for value in (entry.first_seen_at, entry.published_at):
        assert value is not None
        assert value == local and value.tzinfo is UTC
        assert value.hour == 12 and value.microsecond == 123456


def test_naive_datetimes_are_refused(store: Store) -> None:
    with store.session() as s, pytest.raises(ValueError, match="timezone-aware"):
        repo.record_release_seen(s, NPM, "a", "1.0.0", now=datetime(2026, 1, 1))  # noqa: DTZ001


def test_a_session_with_an_open_transaction_is_refused(store: Store) -> None:
    with store.session() as s:
        s.connection()  # begins a transaction the repo function did not start
        with pytest.raises(RuntimeError, match="no open transaction"):
            repo.pinned(s, NPM, "a")
