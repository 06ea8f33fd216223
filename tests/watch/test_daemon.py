"""The daemon's tick and its scheduler loop, in process, on both store backends."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support import packages
from tests.support.stores import T0, count
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers, versions
from tests.watch.test_cycle import subscription
from watcher.daemon import Daemon, serve, settings_from_env
from watcher.errors import StoreError, UsageError
from watcher.models import Ecosystem
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription, load_subscriptions


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


# --- reloading subscriptions (SIGHUP) ---------------------------------------------------------


def pin_of(store: Store, name: str) -> str | None:
    session = store.session()
    try:
        return repo.pinned(session, Ecosystem.NPM, name)
    finally:
        session.close()


def one(store: Store, registry: FakeNpm, clock: Clock, *subs: Subscription) -> Daemon:
    return Daemon(
        store,
        subs,
        registry.sources_factory(),
        notifiers(RecordingNotifier()),
        workers=2,
        clock=clock,
    )


def test_reload_adds_changes_and_removes_packages(store: Store, registry: FakeNpm) -> None:
    registry.publish(packages.strutil_2_1_4())
    clock = Clock()
    worker = one(store, registry, clock, subscription(packages.STRUTIL, "2.1.4"))
    worker.start()
    try:
        worker.tick()
        assert registry.calls == [packages.STRUTIL]

        # The pin moves on (a changed package is polled at once, not after its interval), and
        # a package is added; nothing else happened on the clock.
        reloaded = (subscription(packages.STRUTIL, "2.1.3"), subscription(packages.CLEAN, "1.0.0"))
        assert worker.reload(lambda: reloaded)
        assert worker.subscriptions == reloaded
        assert pin_of(store, packages.CLEAN) == "1.0.0"
        # With no approval the file is the pin, whichever way it moves (sync_pins, as at
        # start-up); only an approval competes with it, by publish time.
        assert pin_of(store, packages.STRUTIL) == "2.1.3"
        worker.tick()
        # Both polled at once (strutil twice: 2.1.4 is now new against the pin and analysed).
        assert set(registry.calls[1:]) == {packages.STRUTIL, packages.CLEAN}

        # Removed: still in the store, no longer polled by this daemon.
        assert worker.reload(lambda: [subscription(packages.CLEAN, "1.0.0")])
        clock.now += timedelta(minutes=5)
        polled = len(registry.calls)
        worker.tick()
        assert registry.calls[polled:] == [packages.CLEAN]
        assert pin_of(store, packages.STRUTIL) == "2.1.3"
    finally:
        worker.close()


def test_reload_of_an_invalid_file_keeps_the_previous_subscriptions(
    store: Store, registry: FakeNpm, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "subs.toml"
    path.write_text(f'[[package]]\necosystem = "npm"\nname = "{packages.STRUTIL}"\n')
    clock = Clock()
    before = (subscription(),)
    worker = one(store, registry, clock, *before)
    worker.start()
    try:
        with caplog.at_level(logging.ERROR, logger="watcher"):
            assert not worker.reload(lambda: load_subscriptions(path))
        assert worker.subscriptions == before
        [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        message = record.getMessage()
        assert "keeping the previous 1 package(s)" in message
        assert "subs.toml" in message and "pinned" in message
        assert "\n" not in message and record.exc_info is None
        worker.tick()
        assert registry.calls == [packages.STRUTIL]
    finally:
        worker.close()


def test_reload_keeps_the_previous_subscriptions_when_the_store_fails(
    store: Store, registry: FakeNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (subscription(),)
    worker = one(store, registry, Clock(), *before)
    worker.start()

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreError("cannot sync pins in the store at test: connection refused")

    monkeypatch.setattr(repo, "sync_pins", broken)
    try:
        assert not worker.reload(lambda: [subscription(packages.CLEAN, "1.0.0")])
        assert worker.subscriptions == before
        worker.tick()
        assert registry.calls == [packages.STRUTIL]
    finally:
        worker.close()


def test_reload_undoes_a_put_off_by_a_daemon_that_did_not_know_the_package(
    open_stores: Callable[[], Store], registry: FakeNpm
) -> None:
    """Daemons get SIGHUP one after the other: one that has not reloaded yet may claim the new
    package and put it off for an hour; its own reload makes the package due again."""
    clock = Clock()
    first = one(open_stores(), registry, clock, subscription())
    second = one(open_stores(), registry, clock, subscription())
    both = [subscription(), subscription(packages.CLEAN, "1.0.0")]
    try:
        first.start()
        second.start()
        first.tick()
        assert first.reload(lambda: both)
        second.tick()  # claims the new package and, not knowing it, puts it off
        assert registry.calls == [packages.STRUTIL]
        assert second.reload(lambda: both)
        second.tick()
        assert registry.calls == [packages.STRUTIL, packages.CLEAN]
    finally:
        first.close()
        second.close()


def test_moving_a_package_in_the_file_is_not_a_change(store: Store, registry: FakeNpm) -> None:
    clock = Clock()
    worker = one(store, registry, clock, subscription())
    worker.start()
    try:
        worker.tick()
        moved = replace(subscription(), source="subscriptions/test.toml:40")
        assert worker.reload(lambda: [moved])
        worker.tick()  # not made due: nothing about the package changed
        assert registry.calls == [packages.STRUTIL]
    finally:
        worker.close()


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_serve_reloads_on_sighup_and_restores_signal_handlers(
    store: Store, registry: FakeNpm
) -> None:
    notifier = RecordingNotifier()
    worker = Daemon(
        store,
        [subscription()],
        registry.sources_factory(),
        notifiers(notifier),
        workers=1,
        clock=Clock(datetime.now(T0.tzinfo)),
    )
    loads: list[int] = []

    def load() -> Sequence[Subscription]:
        loads.append(1)
        return [subscription(), subscription(packages.CLEAN, "1.0.0")]

    stop = threading.Event()

    def drive() -> None:
        deadline = time.monotonic() + 20
        while packages.STRUTIL not in registry.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGHUP)
        while packages.CLEAN not in registry.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()

    before = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    driver = threading.Thread(target=drive)
    driver.start()
    # On the main thread: only it can install signal handlers.
    serve(worker, 0.1, stop, handle_signals=True, reload=load)
    driver.join(timeout=20)
    assert loads == [1]
    assert packages.CLEAN in registry.calls
    assert {s: signal.getsignal(s) for s in before} == before
