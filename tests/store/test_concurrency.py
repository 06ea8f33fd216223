"""Several daemons on one database: separate engines in threads, racing for the same work.

On PostgreSQL this is the multi-daemon guarantee (unique constraints decide races,
`FOR UPDATE SKIP LOCKED` splits claimed work); on SQLite `BEGIN IMMEDIATE` serialises writers
and the same guarantees hold for threads or processes sharing the file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import text

from tests.store.conftest import CHANNELS, T0, count, make_report, make_subscription
from watcher.store import repo
from watcher.store.db import Store

_T = TypeVar("_T")
DAEMONS = 4


def race(stores: list[Store], work: Callable[[Store], _T]) -> list[_T]:
    """Run `work` once per store, all threads released together by a barrier."""
    barrier = threading.Barrier(len(stores))

    def run(store: Store) -> _T:
        barrier.wait(timeout=10)
        return work(store)

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(run, stores, timeout=60))


def test_racing_daemons_write_one_analysis_and_one_alert_per_channel(
    open_stores: Callable[[], Store],
) -> None:
    stores = [open_stores() for _ in range(DAEMONS)]
    report = make_report()

    def record(store: Store) -> repo.AnalysisRecord:
        with store.session() as s:
            return repo.record_analysis_with_alerts(s, report, CHANNELS, "r1", now=T0)

    records = race(stores, record)
    assert sorted(r.created for r in records) == [False] * (DAEMONS - 1) + [True]
    assert len({(r.id, r.alert_ids) for r in records}) == 1
    assert count(stores[0], "analyses") == 1
    assert count(stores[0], "alerts") == len(CHANNELS)


def test_racing_daemons_sync_the_same_new_pins_once(open_stores: Callable[[], Store]) -> None:
    stores = [open_stores() for _ in range(DAEMONS)]
    subs = [make_subscription(f"pkg-{i}", "1.0.0") for i in range(5)]

    def sync(store: Store) -> list[repo.Pin]:
        with store.session() as s:
            return repo.sync_pins(s, subs, now=T0)

    results = race(stores, sync)
    assert all([p.version for p in pins] == ["1.0.0"] * 5 for pins in results)
    assert count(stores[0], "pins") == 5 and count(stores[0], "poll_state") == 5


def test_concurrent_claims_get_disjoint_alerts_and_together_all(
    open_stores: Callable[[], Store],
) -> None:
    first = open_stores()
    with first.session() as s:
        for patch in range(15):
            repo.record_analysis_with_alerts(
                s, make_report(new=f"1.0.{patch + 1}"), CHANNELS, "r1", now=T0
            )
    stores = [first, *(open_stores() for _ in range(DAEMONS - 1))]

    def drain(store: Store) -> list[int]:
        owner = f"daemon-{id(store)}"
        claimed: list[int] = []
        with store.session() as s:
            while batch := repo.claim_due_alerts(s, owner, T0, limit=2, lease_seconds=600):
                claimed += [a.id for a in batch]
        return claimed

    per_daemon = race(stores, drain)
    everything = [alert_id for claimed in per_daemon for alert_id in claimed]
    assert len(everything) == len(set(everything)) == 30


def test_postgres_claims_skip_rows_locked_by_another_daemon(
    open_stores: Callable[[], Store],
) -> None:
    """While one daemon holds rows in its claim transaction, another takes the rest, unblocked.

    (SQLite has no row locks: a second writer waits for the first, which the tests above cover.)
    """
    store = open_stores()
    if store.dialect != "postgresql":
        return
    with store.session() as s:
        for patch in range(3):
            repo.record_analysis_with_alerts(
                s, make_report(new=f"2.0.{patch}"), ["console"], "r1", now=T0
            )
    with store.engine.connect() as holder:
        locked = (
            holder.execute(text("SELECT id FROM alerts ORDER BY id LIMIT 2 FOR UPDATE"))
            .scalars()
            .all()
        )
        other = open_stores()
        result: list[list[int]] = []

        def claim() -> None:
            with other.session() as s:
                result.append([a.id for a in repo.claim_due_alerts(s, "daemon-2", T0)])

        thread = threading.Thread(target=claim)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the claim waited for locked rows instead of skipping them"
        holder.rollback()
    (claimed,) = result
    assert len(claimed) == 1 and claimed[0] not in locked
