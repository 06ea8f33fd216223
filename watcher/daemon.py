"""`watcher run`: the long-running poller, a thin timer around `watcher.watch`.

The schedule lives in the store, not in APScheduler: each package's `next_poll_at` (jittered
interval, or backoff after failures) is in its poll state, and due packages are claimed with a
lease (`claim_due_polls`: `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several daemons on one
database never poll the same package at once, and a crashed daemon's claims expire. APScheduler
3.x (`BackgroundScheduler`) is only the in-process timer that fires `tick_job` every
`WATCHER_TICK_SECONDS`; its in-memory job store is never shared (TESTING.md).

A tick claims due polls in batches of at most `workers`, runs them on a bounded thread pool,
and then delivers due alerts from the outbox. `max_instances=1` keeps ticks from overlapping
and `coalesce=True` turns ticks missed during a long one into a single run.

Reload (SIGHUP via `serve`, with a `reload` loader): the main thread reads the subscription
files again and `Daemon.reload` swaps them in while ticks go on (polls in flight finish with
the subscription they began with): pins synced as at start-up, packages added or changed made
due at once, removed ones left to `_postpone`. A file that does not load is logged as one
ERROR line and the previous subscriptions keep running.

Shutdown (SIGTERM/SIGINT via `serve`): no new batch is claimed, the polls in flight finish and
their alerts are delivered, then the process exits 0. A poll cut short by `kill -9` keeps its
lease until `lease_until` and is polled again after that; what it had committed stays.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime
from types import FrameType
from typing import Any

# APScheduler 3.x ships no type information (no py.typed); its use here is two calls.
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

from watcher.baseline import scan_baselines
from watcher.errors import UsageError, WatcherError
from watcher.logs import package_context
from watcher.notify import Notifier
from watcher.report.pages import ReportPages
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import (
    SourcesFactory,
    deliver,
    poll,
    rules_version,
    subscription_index,
    watch_trees,
)

__all__ = [
    "DEFAULT_TICK_SECONDS",
    "DEFAULT_WORKERS",
    "Daemon",
    "SubscriptionLoader",
    "owner_id",
    "serve",
    "settings_from_env",
    "tick_job",
]

logger = logging.getLogger(__name__)

DEFAULT_TICK_SECONDS = 5.0
DEFAULT_WORKERS = 4
#: How long a claimed poll is ours. It must outlast the slowest poll (registry retries plus a
#: few downloads), or a second daemon would poll the package again while we still are.
POLL_LEASE_SECONDS = 600
#: A package that is in the store but no longer in this daemon's subscriptions is looked at
#: again after this long (another daemon with other files may still watch it).
UNSUBSCRIBED_RECHECK_SECONDS = 3600
TICK_JOB_ID = "watcher-tick"

#: Reads the subscription files again (`watcher run` passes `load_subscriptions(PATH)`);
#: raises `WatcherError` (e.g. `SubscriptionError`) for a file that does not load.
SubscriptionLoader = Callable[[], Sequence[Subscription]]


def owner_id() -> str:
    """Who holds a lease: host, process and a random suffix (pids repeat across containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def settings_from_env(env: Mapping[str, str]) -> tuple[float, int]:
    """`(tick_seconds, workers)` from `WATCHER_TICK_SECONDS` and `WATCHER_WORKERS`."""
    try:
        tick = float(env.get("WATCHER_TICK_SECONDS") or DEFAULT_TICK_SECONDS)
        workers = int(env.get("WATCHER_WORKERS") or DEFAULT_WORKERS)
    except ValueError as e:
        raise UsageError(f"WATCHER_TICK_SECONDS / WATCHER_WORKERS must be numbers: {e}") from e
    if not 0.1 <= tick <= 3600 or not 1 <= workers <= 64:
        raise UsageError(
            "WATCHER_TICK_SECONDS must be between 0.1 and 3600 and WATCHER_WORKERS between 1 "
            f"and 64 (got {tick:g} and {workers})"
        )
    return tick, workers


class Daemon:
    """Claims due polls, runs them on a bounded pool, then delivers alerts; one `tick` a time."""

    def __init__(
        self,
        store: Store,
        subscriptions: Sequence[Subscription],
        sources_factory: SourcesFactory,
        notifiers: Callable[[str], Notifier],
        *,
        workers: int = DEFAULT_WORKERS,
        owner: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pages: ReportPages | None = None,
    ) -> None:
        self.store = store
        #: Where each alerted analysis' HTML report is written and linked from (optional).
        self.pages = pages
        self.subscriptions = tuple(subscriptions)
        self.sources_factory = sources_factory
        self.notifiers = notifiers
        self.workers = workers
        self.owner = owner or owner_id()
        self.clock = clock
        self._by_key = subscription_index(self.subscriptions)
        self._rules = rules_version()
        self._stopping = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="watcher-poll")

    def start(self) -> None:
        """Bring the store's pins and poll states in line with the subscription files."""
        session = self.store.session()
        try:
            repo.sync_pins(session, self.subscriptions, now=self.clock())
        finally:
            session.close()
        logger.info(
            "watching %d package(s) as %s (rules %s, store %s)",
            len(self.subscriptions),
            self.owner,
            self._rules,
            self.store.url,
        )

    def reload(self, load: SubscriptionLoader) -> bool:
        """Apply the subscriptions `load` returns; False (and the old ones kept) if it fails.

        Nothing is dropped: a package removed from the files keeps its store rows (history)
        and is skipped when claimed; polls in flight finish with the subscription they began
        with.
        """
        before, old_index = self.subscriptions, self._by_key
        try:
            fresh = tuple(load())
        except WatcherError as e:
            logger.error(
                "subscriptions not reloaded, keeping the previous %d package(s): %s",
                len(before),
                e.diagnostics(),
            )
            return False
        index = subscription_index(fresh)
        added = sorted(index.keys() - old_index.keys())
        removed = sorted(old_index.keys() - index.keys())
        changed = sorted(
            key
            for key in index.keys() & old_index.keys()
            if _comparable(index[key]) != _comparable(old_index[key])
        )
        # Swapped before the pins are synced: `sync_pins` makes a new package due at once, and
        # a tick claiming it under the old index would put it off for an hour.
        self.subscriptions, self._by_key = fresh, index
        session = self.store.session()
        try:
            repo.sync_pins(session, fresh, now=self.clock())
            repo.poll_soon(session, [*added, *changed], now=self.clock())
        except WatcherError as e:
            self.subscriptions, self._by_key = before, old_index
            logger.error(
                "subscriptions not reloaded, keeping the previous %d package(s): %s",
                len(before),
                e.diagnostics(),
            )
            return False
        finally:
            session.close()
        logger.info(
            "subscriptions reloaded: watching %d package(s) (added %s; removed %s; changed %s)",
            len(fresh),
            _names(added),
            _names(removed),
            _names(changed),
        )
        return True

    def stop(self) -> None:
        """Take no new work; the current batch finishes."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether `stop` was called."""
        return self._stopping.is_set()

    def close(self) -> None:
        """Wait for the worker threads and release them."""
        self._pool.shutdown(wait=True)

    def tick(self) -> None:
        """Poll everything due, batch by batch, then deliver due alerts."""
        while not self.stopping:
            session = self.store.session()
            try:
                targets = repo.claim_due_polls(
                    session,
                    self.owner,
                    self.clock(),
                    limit=self.workers,
                    lease_seconds=POLL_LEASE_SECONDS,
                )
            finally:
                session.close()
            if not targets:
                break
            wait([self._pool.submit(self._poll_one, target) for target in targets])
        self._follow_trees()
        # Also when stopping: alerts of the batch that just finished go out before exit.
        deliver(self.store, self.notifiers, self.owner, self.clock(), pages=self.pages)

    def _follow_trees(self) -> None:
        """The dependency trees of registries that are due (the store keeps when, shared by
        every instance), as often as each registry's most frequently polled subscription."""
        if self.stopping or not self.subscriptions:
            return
        watch_trees(
            self.store,
            self.subscriptions,
            self.sources_factory,
            self.clock(),
            self.owner,
            rules=self._rules,
            due_only=True,
        )

    def _poll_one(self, target: repo.PollTarget) -> None:
        sub = self._by_key.get((target.ecosystem, target.name))
        with package_context(target.ecosystem, target.name):
            try:
                if sub is None:
                    self._postpone(target)
                    return
                poll(
                    self.store,
                    sub,
                    self.sources_factory,
                    self.clock(),
                    self.owner,
                    rules=self._rules,
                )
                if not sub.reviewed:
                    # On the poll's schedule and backoff: a pin nobody reviewed is scanned
                    # as a first release, its alerts delivered at the end of this tick.
                    scan_baselines(
                        self.store, [sub], self.sources_factory, self.clock(), rules=self._rules
                    )
            # A worker must never die silently: log it; the lease expires and the poll is
            # retried.
            except Exception:
                logger.exception("poll of %s/%s failed", target.ecosystem.value, target.name)

    def _postpone(self, target: repo.PollTarget) -> None:
        logger.info(
            "%s/%s is in the store but not in this daemon's subscriptions; skipping",
            target.ecosystem.value,
            target.name,
        )
        session = self.store.session()
        try:
            repo.save_poll_result(
                session,
                target.ecosystem,
                target.name,
                now=self.clock(),
                interval_seconds=UNSUBSCRIBED_RECHECK_SECONDS,
                etag=target.etag,
                last_modified=target.last_modified,
            )
        finally:
            session.close()


class _SkippedTicks(logging.Filter):
    """Drops APScheduler's warning that a tick was skipped because the last one still runs.

    That is the design (`max_instances=1`, `coalesce=True`): a tick polls until nothing is
    due, and with a short `WATCHER_TICK_SECONDS` the warning would fill the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in str(record.msg)


_SKIPPED_TICKS = _SkippedTicks()


def _comparable(sub: Subscription) -> Subscription:
    """`sub` without where it was declared: moving a block in the file changes nothing."""
    return replace(sub, source="")


def _names(keys: Sequence[tuple[Any, str]]) -> str:
    return ", ".join(f"{eco.value}/{name}" for eco, name in keys) or "none"


def tick_job(daemon: Daemon) -> None:
    """The APScheduler job: one tick. Errors are logged and the next tick tries again."""
    try:
        daemon.tick()
    except Exception:
        logger.exception("tick failed; retrying on the next one")


def serve(
    daemon: Daemon,
    tick_seconds: float,
    stop: threading.Event,
    *,
    handle_signals: bool = False,
    reload: SubscriptionLoader | None = None,
) -> None:
    """Run `daemon` until `stop` is set (or SIGTERM/SIGINT with `handle_signals`), then drain.

    With `handle_signals` and `reload`, SIGHUP re-reads the subscriptions (`Daemon.reload`)
    on the main thread, within half a second. The previous signal handlers are restored on
    return. Returns once the tick in progress has finished and the worker pool is shut down.
    """
    reload_requested = threading.Event()
    previous: dict[int, Any] = {}
    if handle_signals:

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            logger.info("%s received: finishing current work", signal.Signals(signum).name)
            stop.set()

        def on_hangup(_signum: int, _frame: FrameType | None) -> None:
            # Only a flag here: a handler interrupts the main thread at any bytecode, and
            # reloading reads files and writes to the store.
            reload_requested.set()

        handlers: list[tuple[signal.Signals, Callable[[int, FrameType | None], None]]] = [
            (signal.SIGTERM, on_signal),
            (signal.SIGINT, on_signal),
        ]
        # SIGHUP does not exist on Windows.
        hangup = getattr(signal, "SIGHUP", None)
        if reload is not None and hangup is not None:
            handlers.append((hangup, on_hangup))
        for signum, handler in handlers:
            previous[signum] = signal.signal(signum, handler)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    scheduler_log.addFilter(_SKIPPED_TICKS)
    try:
        daemon.start()
        scheduler.add_job(
            tick_job,
            "interval",
            seconds=tick_seconds,
            args=[daemon],
            id=TICK_JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            if reload is not None and reload_requested.is_set():
                reload_requested.clear()
                logger.info("SIGHUP received: reloading subscriptions")
                daemon.reload(reload)
    finally:
        daemon.stop()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        daemon.close()
        for number, old_handler in previous.items():
            signal.signal(number, old_handler)
        scheduler_log.removeFilter(_SKIPPED_TICKS)
        logger.info("stopped")
