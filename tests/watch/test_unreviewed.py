"""`watch.unreviewed` (what `watcher check` gates on) over many packages, on both backends.

It used to read each package's whole history; it now asks the store a few set-based queries
(`repo.pinned_analyses`). The reference below is the history-based definition, so the two must
agree on a store with every case at once: pins moved by approvals and by the files, analyses
against earlier pins and under other rule sets, pre-releases, versions below the pin, PyPI
name spellings, packages not synced yet, and thresholds that differ per subscription.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import event

from tests.support.stores import T0, make_report, make_subscription
from watcher.models import Ecosystem, Severity
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import Unreviewed, reaches, rules_version, unreviewed

RULES = rules_version()
SEVERITIES = list(Severity)


def reference(store: Store, subscriptions: list[Subscription]) -> list[Unreviewed]:
    """The definition: each package's history, every version but the pin (the poller analyses
    only releases published after it, whatever their number), analyses against the pin under
    the current rules that reach `fail_on`, in history order."""
    found: list[Unreviewed] = []
    session = store.session()
    try:
        for sub in subscriptions:
            current = repo.current_pin(session, sub.ecosystem, sub.name)
            pin = current.version if current is not None else sub.pinned
            source = current.source if current is not None else "file"
            entries = repo.history(session, sub.ecosystem, sub.name)
            newer = {e.version for e in entries} - {pin}
            found.extend(
                Unreviewed(sub.ecosystem, sub.name, pin, e.version, a.severity, a.score, source)
                for e in entries
                if e.version in newer
                for a in e.analyses
                if a.old_version == pin
                and a.rules_version == RULES
                and reaches(a.severity, sub.fail_on)
            )
    finally:
        session.close()
    return found


def _analyse(
    store: Store,
    sub: Subscription,
    old: str,
    new: str,
    severity: Severity,
    when: int,
    rules: str = RULES,
) -> None:
    session = store.session()
    try:
        moment = T0 + timedelta(minutes=when)
        repo.record_release_seen(session, sub.ecosystem, sub.name, new, now=moment)
        report = make_report(
            sub.name, old, new, ecosystem=sub.ecosystem, severity=severity, score=when % 100
        )
        repo.record_analysis_with_alerts(session, report, [], rules, now=moment)
    finally:
        session.close()


def populate(store: Store, packages: int, seed: int) -> list[Subscription]:
    """`packages` subscriptions and a random but reproducible history for each."""
    rng = random.Random(seed)
    subs: list[Subscription] = []
    for i in range(packages):
        if i % 3 == 0:
            sub = make_subscription(f"Demo_Tool.{i}", "1.0.0", Ecosystem.PYPI)
        else:
            sub = make_subscription(f"@bench/server-{i}", "1.0.0")
        subs.append(
            replace(sub, fail_on=rng.choice([Severity.MEDIUM, Severity.HIGH, Severity.NONE]))
        )
    # The last few are never synced: no pin row, the file's pin counts.
    synced = subs[: max(1, packages - 3)]
    session = store.session()
    try:
        repo.sync_pins(session, synced, now=T0)
    finally:
        session.close()
    clock = 0
    for sub in subs:
        versions = ["0.9.0", "1.0.1", "1.0.2", "1.1.0", "2.0.0", "2.0.0-beta.1"]
        if sub.ecosystem is Ecosystem.PYPI:
            versions[-1] = "2.0.0b1"
        for _ in range(rng.randint(0, 8)):
            clock += rng.choice([0, 1, 5])  # equal times too: the order must hold on ties
            new = rng.choice(versions)
            old = rng.choice(["1.0.0", "1.0.0", "1.0.1", "1.0.2"])
            rules = RULES if rng.random() < 0.8 else "older-rules"
            _analyse(store, sub, old, new, rng.choice(SEVERITIES), clock, rules)
        if sub in synced and rng.random() < 0.25:
            session = store.session()
            try:
                target = rng.choice(["1.0.1", "1.0.2", "0.9.0"])
                repo.approve(
                    session, sub.ecosystem, sub.name, target, "alice", now=T0 + timedelta(hours=1)
                )
            finally:
                session.close()
    return subs


def test_unreviewed_agrees_with_the_history_definition_over_many_packages(store: Store) -> None:
    subs = populate(store, 80, seed=4)
    expected = reference(store, subs)
    assert len(expected) >= 10  # the store really holds findings to gate on
    assert {u.pinned for u in expected} > {"1.0.0"}  # approvals moved some pins
    assert unreviewed(store, subs) == expected
    # A subset, and a different order of the same subscriptions.
    some = subs[::-2]
    assert unreviewed(store, some) == reference(store, some)


def test_unreviewed_takes_a_constant_number_of_queries(store: Store) -> None:
    subs = populate(store, 40, seed=11)
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        unreviewed(store, subs[:5])
        few = len(statements)
        statements.clear()
        unreviewed(store, subs)
        many = len(statements)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    # One query per package (or worse, a history per package) would grow 8-fold here; the
    # unsynced packages at the end may add one each.
    assert many <= few + 3, (few, many)
    assert not any("report_json" in s for s in statements)


def test_nothing_to_gate_on_asks_nothing(store: Store) -> None:
    subs = [replace(make_subscription(), fail_on=Severity.NONE)]
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert unreviewed(store, subs) == []
        assert unreviewed(store, []) == []
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert statements == []
