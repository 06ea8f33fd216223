"""The daemon's tick and its scheduler loop, in process, on both store backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from tests.support import packages
from tests.support.stores import T0, count
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers, versions
from tests.watch.test_cycle import subscription
from watcher.daemon import Daemon, serve, settings_from_env
from watcher.errors import UsageError
from watcher.store.db import Store


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def daemon(store: Store, registry: FakeNpm, notifier: RecordingNotifier, clock: Clock) -> Daemon:
    return Daemon(
        store,
        [subscription(), subscription(packages.CLEAN, "1.0.0")],
        registry.sources_factory(),
        notifiers(notifier),
        workers=2,
        clock=clock,
    )


@pytest.fixture
def registry() -> FakeNpm:
    fake = FakeNpm()
    fake.publish(packages.strutil_2_1_3(), packages.clean_1_0_0())
    return fake


def test_tick_polls_what_is_due_and_respects_intervals(store: Store, registry: FakeNpm) -> None:
    notifier, clock = RecordingNotifier(), Clock()
    worker = daemon(store, registry, notifier, clock)
    worker.start()
    try:
        worker.tick()
        assert sorted(registry.calls) == sorted([packages.STRUTIL, packages.CLEAN])
        registry.publish(packages.strutil_2_1_4())
        clock.now += timedelta(seconds=30)
        worker.tick()  # not due yet (60 s interval, ±10 %)
        assert len(registry.calls) == 2 and notifier.sent == []
        clock.now += timedelta(seconds=40)
        worker.tick()
        assert versions(notifier.sent) == [(packages.STRUTIL, "2.1.3", "2.1.4")]
        clock.now += timedelta(seconds=70)
        worker.tick()
        assert len(notifier.sent) == 1 and count(store, "analyses") == 1
    finally:
        worker.close()


def test_two_daemons_share_the_work_without_doubles(
    open_stores: Callable[[], Store], registry: FakeNpm
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.clean_1_0_1())
    notifier, clock = RecordingNotifier(), Clock()
    workers = [daemon(open_stores(), registry, notifier, clock) for _ in range(2)]
    for worker in workers:
        worker.start()
    threads = [threading.Thread(target=w.tick) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for worker in workers:
        worker.close()
    # Each package polled once in all (one listing for the poll, one inside `diff_release`),
    # one analysis per release, one alert.
    assert registry.calls.count(packages.STRUTIL) == 2
    assert registry.calls.count(packages.CLEAN) == 2
    assert count(workers[0].store, "analyses") == 2
    assert versions(notifier.sent) == [(packages.STRUTIL, "2.1.3", "2.1.4")]


def test_serve_runs_ticks_until_stopped(store: Store, registry: FakeNpm) -> None:
    registry.publish(packages.strutil_2_1_4())
    notifier = RecordingNotifier()
    worker = daemon(store, registry, notifier, Clock(datetime.now(T0.tzinfo)))
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(worker, 0.1, stop))
    thread.start()
    deadline = time.monotonic() + 20
    while not notifier.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert worker.stopping
    assert versions(notifier.sent) == [(packages.STRUTIL, "2.1.3", "2.1.4")]


def test_settings_from_env() -> None:
    assert settings_from_env({}) == (5.0, 4)
    assert settings_from_env({"WATCHER_TICK_SECONDS": "1", "WATCHER_WORKERS": "2"}) == (1.0, 2)
    for bad in ({"WATCHER_TICK_SECONDS": "soon"}, {"WATCHER_WORKERS": "0"}):
        with pytest.raises(UsageError):
            settings_from_env(bad)
