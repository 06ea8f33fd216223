"""`reviewed = false`: the pin is scanned as a first release at once, and `check` fails until
`watcher approve` records the review (an unreviewed baseline is never trusted silently)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support import packages
from tests.support.stores import T0, count
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers, versions
from watcher.baseline import UnreviewedBaseline, scan_baselines
from watcher.cli import check_summary
from watcher.models import Ecosystem, Severity
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import check_once, deliver

STRUTIL = packages.STRUTIL


def subscription(pinned: str, *, reviewed: bool) -> Subscription:
    return Subscription(
        ecosystem=Ecosystem.NPM,
        name=STRUTIL,
        pinned=pinned,
        interval_seconds=60,
        notify=("slack:#sec",),
        fail_on=Severity.HIGH,
        registry=None,
        allow=(),
        source="subscriptions/mine.toml:3",
        reviewed=reviewed,
    )


@pytest.fixture
def registry() -> FakeNpm:
    fake = FakeNpm()
    fake.publish(packages.strutil_2_1_3(), packages.strutil_2_1_4())
    return fake


def test_an_unreviewed_malicious_pin_is_scanned_alerted_and_gates_until_approved(
    store: Store, registry: FakeNpm, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = subscription("2.1.4", reviewed=False)
    notifier = RecordingNotifier()
    outcomes = check_once(store, [sub], registry.sources_factory(), notifiers(notifier), T0, "t")
    assert outcomes == []  # nothing after the pin: without the scan, check would pass

    baselines = scan_baselines(store, [sub], registry.sources_factory(), T0)
    assert baselines == [
        UnreviewedBaseline(Ecosystem.NPM, STRUTIL, "2.1.4", Severity.CRITICAL, baselines[0].score)
    ]
    deliver(store, notifiers(notifier), "t", T0)
    assert versions(notifier.sent) == [(STRUTIL, None, "2.1.4")]

    assert check_summary(outcomes, [], None, baselines) == 1
    out = capsys.readouterr().out
    assert f"npm/{STRUTIL} 2.1.4: not reviewed (first-release scan: critical" in out
    assert f"watcher approve {STRUTIL} 2.1.4" in out

    # The next check: no second scan or alert, still a failure.
    again = scan_baselines(store, [sub], registry.sources_factory(), T0)
    assert [(b.version, b.severity) for b in again] == [("2.1.4", Severity.CRITICAL)]
    assert count(store, "analyses") == 1 and count(store, "alerts") == 1

    session = store.session()
    try:
        repo.approve(session, Ecosystem.NPM, STRUTIL, "2.1.4", "alice", "read it all")
    finally:
        session.close()
    assert scan_baselines(store, [sub], registry.sources_factory(), T0) == []
    assert check_summary([], [], None, []) == 0


def test_a_clean_unreviewed_pin_still_fails_check(store: Store, registry: FakeNpm) -> None:
    sub = subscription("2.1.3", reviewed=False)
    baselines = scan_baselines(store, [sub], registry.sources_factory(), T0)
    assert [(b.version, b.severity) for b in baselines] == [("2.1.3", Severity.NONE)]
    assert count(store, "alerts") == 0  # below fail_on: recorded, nobody paged
    assert check_summary([], [], None, baselines) == 1


def test_reviewed_pins_are_not_scanned(store: Store, registry: FakeNpm) -> None:
    assert (
        scan_baselines(
            store, [subscription("2.1.4", reviewed=True)], registry.sources_factory(), T0
        )
        == []
    )
    assert count(store, "analyses") == 0


def test_a_failed_scan_gates_and_is_retried(
    store: Store, registry: FakeNpm, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = replace(subscription("9.9.9", reviewed=False))
    [failed] = scan_baselines(store, [sub], registry.sources_factory(), T0)
    assert failed.severity is None and "9.9.9" in (failed.error or "")
    assert check_summary([], [], None, [failed]) == 1
    assert "scan failed" in capsys.readouterr().out
    assert count(store, "analyses") == 0


def test_the_daemon_scans_an_unreviewed_pin_on_its_poll_and_alerts(
    store: Store, registry: FakeNpm
) -> None:
    from watcher.daemon import Daemon

    notifier = RecordingNotifier()
    worker = Daemon(
        store,
        [subscription("2.1.4", reviewed=False)],
        registry.sources_factory(),
        notifiers(notifier),
        workers=1,
        clock=lambda: T0,
    )
    worker.start()
    try:
        worker.tick()
        assert versions(notifier.sent) == [(STRUTIL, None, "2.1.4")]
        worker.tick()  # not due again yet: no second scan
        assert count(store, "analyses") == 1 and len(notifier.sent) == 1
    finally:
        worker.close()
