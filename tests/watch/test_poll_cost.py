"""What one poll costs the store: `watcher check` over 1,000 packages is 1,000 of these.

A poll answered 304 must stay a handful of statements and one write; the SQLite store must
keep syncing every commit to disk (the outbox promise), whatever that costs the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import event, text

from tests.support import packages
from tests.support.stores import T0, make_subscription
from tests.watch.fakes import FakeNpm, RecordingNotifier, notifiers
from watcher.store.db import Store
from watcher.watch import check_once, poll


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the store's engine sends while the block runs."""
    sent: list[str] = []

    def record(*args: object) -> None:
        sent.append(" ".join(str(args[2]).split()).upper())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_a_poll_answered_304_is_a_few_statements_and_one_write(store: Store) -> None:
    registry = FakeNpm(etags=True)
    registry.publish(packages.strutil_2_1_3())
    sub = replace(make_subscription(packages.STRUTIL, "2.1.3"), notify=("console",))
    factory = registry.sources_factory()
    check_once(store, [sub], factory, notifiers(RecordingNotifier()), T0, "owner")

    with statements(store) as sent:
        assert poll(store, sub, factory, T0, "owner") == []
    assert registry.not_modified == 1
    reads = [s for s in sent if s.startswith("SELECT")]
    writes = [s for s in sent if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    # The pin, the poll state, releases awaiting analysis; then the state to keep.
    assert len(reads) <= 4, reads
    assert len(writes) == 1 and writes[0].startswith("UPDATE POLL_STATE"), writes
    if store.dialect == "sqlite":
        assert sum(s == "BEGIN IMMEDIATE" for s in sent) == 1


def test_the_sqlite_store_syncs_every_commit(store: Store) -> None:
    if store.dialect != "sqlite":
        return
    with store.engine.connect() as connection:
        # 2 is FULL: NORMAL (1) in WAL mode can lose the last commits on a power loss.
        assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 2
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
