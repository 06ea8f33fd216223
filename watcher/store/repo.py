"""Reading and writing the store in the pipeline's terms: dataclasses in, dataclasses out.

Nothing outside `watcher/store/` sees a row. Every public function here is one transaction:
it begins it, commits on success, rolls back on failure, and translates database errors into
`StoreError` (one line, no password). Pass a session with no transaction open, as
`Store.session()` returns; the same session can serve many calls.

Concurrency (several daemons on one PostgreSQL database, or threads on one SQLite file):
- Idempotent writes rely on unique constraints: the loser of a race gets an IntegrityError,
  rolls back, and reads what the winner wrote. Nothing is written twice.
- Work is claimed with a lease (`lease_owner`, `lease_until`): on PostgreSQL with
  `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers get disjoint sets without
  waiting; on SQLite inside `BEGIN IMMEDIATE` (one writer at a time). A claimer that crashes
  loses its lease when `lease_until` passes, and the work is claimed again.

Package names are stored normalised (PEP 503 for PyPI), so callers may pass any spelling.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from watcher.errors import StoreError
from watcher.models import Ecosystem, Report, Severity
from watcher.report.jsonfmt import report_dict
from watcher.store.db import WRITE_OPTION, store_error
from watcher.store.tables import (
    NAME_LEN,
    VERSION_LEN,
    AlertRow,
    AnalysisRow,
    ApprovalRow,
    PinRow,
    PollStateRow,
    ReleaseRow,
)
from watcher.subscriptions import Subscription, normalize_name

__all__ = [
    "ALERT_BACKOFF_BASE",
    "ALERT_BACKOFF_CAP",
    "DEFAULT_ALERT_MAX_ATTEMPTS",
    "POLL_BACKOFF_BASE",
    "POLL_BACKOFF_CAP",
    "AlertKind",
    "AlertStatus",
    "AlertSummary",
    "AnalysisRecord",
    "AnalysisSummary",
    "Approval",
    "HistoryEntry",
    "PendingAlert",
    "Pin",
    "PinnedAnalysis",
    "PollContext",
    "PollState",
    "PollTarget",
    "SeenRelease",
    "alert_backoff",
    "alert_dedup_key",
    "approve",
    "current_pin",
    "current_pins",
    "effective_pins",
    "pin_source",
    "resolve_pin",
    "begin_attempt",
    "claim_due_alerts",
    "claim_due_polls",
    "has_analysis",
    "history",
    "mark_failed",
    "mark_sent",
    "pinned",
    "pinned_analyses",
    "operational_dedup_key",
    "poll_backoff",
    "poll_context",
    "poll_state",
    "poll_soon",
    "seen_releases",
    "record_analysis_with_alerts",
    "record_operational_alert",
    "record_release_seen",
    "record_releases_seen",
    "save_poll_result",
    "sync_pins",
]

_T = TypeVar("_T")

#: After this many failed sends an alert is `failed` and is no longer retried (~2 h of tries
#: with the default backoff: 30 s, 1 m, 2 m, ... capped at 1 h).
DEFAULT_ALERT_MAX_ATTEMPTS = 8
ALERT_BACKOFF_BASE = timedelta(seconds=30)
ALERT_BACKOFF_CAP = timedelta(hours=1)
#: A failing poll is retried sooner than its interval at first (a blip), then less and less
#: often: 1 m, 2 m, 4 m, ... capped at 6 h, so a dead registry is not hammered.
POLL_BACKOFF_BASE = timedelta(minutes=1)
POLL_BACKOFF_CAP = timedelta(hours=6)
#: Stored error texts are capped: a registry's HTML error page is not a useful diagnostic.
_MAX_ERROR_LEN = 1000
#: A row written under a unique key is retried this often when a concurrent writer won.
_CONFLICT_RETRIES = 3

# Statements every poll runs, built once with bound parameters (`eco`, `name`, ...): building
# a SQLAlchemy expression and its cache key costs more CPU than SQLite takes to run it, and a
# `watcher check` over 1,000 packages runs each of these 1,000 times.
_PIN_VERSION = select(PinRow.version).where(
    col(PinRow.ecosystem) == bindparam("eco"), col(PinRow.name) == bindparam("name")
)
#: Refreshes a row the session already holds: `save_poll_result` writes with plain SQL, which
#: leaves the session's copy behind.
_POLL_STATE = (
    select(PollStateRow)
    .where(
        col(PollStateRow.ecosystem) == bindparam("eco"),
        col(PollStateRow.name) == bindparam("name"),
    )
    .execution_options(populate_existing=True)
)
_UNANALYSED = select(ReleaseRow.version).where(
    col(ReleaseRow.ecosystem) == bindparam("eco"),
    col(ReleaseRow.name) == bindparam("name"),
    ~select(AnalysisRow.id)
    .where(
        col(AnalysisRow.ecosystem) == bindparam("eco"),
        col(AnalysisRow.name) == bindparam("name"),
        col(AnalysisRow.old_version) == bindparam("old"),
        col(AnalysisRow.new_version) == col(ReleaseRow.version),
        col(AnalysisRow.rules_version) == bindparam("rules"),
    )
    .exists(),
)
#: What a poll's result keeps from the previous state: the failure count and the validators.
_POLL_STATE_KEEP = select(
    PollStateRow.id, PollStateRow.tries, PollStateRow.etag, PollStateRow.last_modified
).where(
    col(PollStateRow.ecosystem) == bindparam("eco"), col(PollStateRow.name) == bindparam("name")
)
#: The SET clause comes from the keys of the parameters it is executed with.
_POLL_STATE_SAVE = update(PollStateRow).where(col(PollStateRow.id) == bindparam("row_id"))
_HAS_ANALYSIS = select(AnalysisRow.id).where(
    col(AnalysisRow.ecosystem) == bindparam("eco"),
    col(AnalysisRow.name) == bindparam("name"),
    col(AnalysisRow.old_version) == bindparam("old"),
    col(AnalysisRow.new_version) == bindparam("new"),
    col(AnalysisRow.rules_version) == bindparam("rules"),
)


class AlertKind(StrEnum):
    """What an alert is about: a release's analysis, or trouble of watcher itself."""

    RELEASE = "release"
    OPERATIONAL = "operational"


class AlertStatus(StrEnum):
    """Where an alert is in the outbox."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Pin:
    """The effective pin of a package, and the approval it comes from (None: the file)."""

    ecosystem: Ecosystem
    name: str
    version: str
    approved_by: str | None
    approved_at: datetime | None

    @property
    def source(self) -> str:
        """Where the pin comes from, as every output shows it: `file` or `approved by WHO on
        DATE` (UTC)."""
        return pin_source(self.approved_by, self.approved_at)


def pin_source(approved_by: str | None, approved_at: datetime | None) -> str:
    """`file`, or `approved by WHO on DATE` for a pin an approval set."""
    if approved_by is None or approved_at is None:
        return "file"
    return f"approved by {approved_by} on {approved_at.astimezone(UTC).date().isoformat()}"


@dataclass(frozen=True, slots=True)
class Approval:
    """One `watcher approve`: the pin moved from `from_version` (None: no pin) to `to_version`."""

    ecosystem: Ecosystem
    name: str
    from_version: str | None
    to_version: str
    who: str
    at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """An outbox entry as history shows it."""

    id: int
    channel: str
    status: AlertStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    #: The channel actually used when it was not `channel` ("console, Slack not configured").
    delivered_via: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisSummary:
    """An analysis as history shows it (the full report stays in the store)."""

    id: int
    old_version: str | None
    new_version: str
    rules_version: str
    score: int
    severity: Severity
    created_at: datetime
    alerts: tuple[AlertSummary, ...]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Everything the store knows about one version of a package."""

    version: str
    #: When the poller first saw it (None: known only from an analysis or an approval).
    first_seen_at: datetime | None
    published_at: datetime | None
    #: Whether this is the currently pinned (reviewed) version.
    pinned: bool
    #: Analyses of this version as the new one, oldest first.
    analyses: tuple[AnalysisSummary, ...]
    #: Approvals that moved the pin to this version, oldest first.
    approvals: tuple[Approval, ...]
    #: For the pinned version: where the pin comes from (`Pin.source`).
    pin_source: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisRecord:
    """A stored analysis and its outbox entries.

    `created` is False when the analysis already existed (another run or daemon wrote it):
    nothing was written, and the caller must not alert again.
    """

    id: int
    ecosystem: Ecosystem
    name: str
    old_version: str | None
    new_version: str
    rules_version: str
    score: int
    severity: Severity
    created_at: datetime
    alert_ids: tuple[int, ...]
    created: bool


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert claimed for sending: everything a notifier needs, and the lease it holds.

    An operational alert (`kind`) has no analysis: `analysis_id` is None, `report` is empty,
    the versions are the pin (`old_version` None, `new_version` "") and `payload` says what
    went wrong (see `record_operational_alert`).
    """

    id: int
    analysis_id: int | None
    channel: str
    #: Sends tried so far (0 on the first claim).
    attempts: int
    ecosystem: Ecosystem
    name: str
    old_version: str | None
    new_version: str
    score: int
    severity: Severity
    #: The headline written with the alert (ecosystem, package, versions, score, severity).
    payload: Mapping[str, Any]
    #: The full report, `report.jsonfmt.report_dict` data (schema 1).
    report: Mapping[str, Any]
    #: Send and call `mark_sent`/`mark_failed` before this, or another daemon may send too.
    lease_until: datetime
    kind: AlertKind = AlertKind.RELEASE
    #: When a send whose outcome is unknown began (a sender died or timed out mid-send):
    #: look for the alert at the receiver before sending again. None: never sent.
    attempt_started_at: datetime | None = None
    #: Where the pin the release was compared with came from when it was analysed.
    pin_source: str = "file"


@dataclass(frozen=True, slots=True)
class PollTarget:
    """A package claimed for polling, with the validators for a conditional request."""

    ecosystem: Ecosystem
    name: str
    etag: str | None
    last_modified: str | None
    #: Consecutive failed polls so far.
    tries: int
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class PollState:
    """A package's poll state after `save_poll_result`."""

    ecosystem: Ecosystem
    name: str
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime
    tries: int
    last_error: str | None


# --- transactions -------------------------------------------------------------------------


class _Conflict(Exception):
    """A unique constraint said another writer got there first; carries the original error."""

    def __init__(self, error: IntegrityError) -> None:
        super().__init__(str(error))
        self.error = error


@contextmanager
def _transaction(session: Session, *, write: bool, action: str) -> Iterator[None]:
    """One transaction: commit on success, roll back on any failure, translate DB errors."""
    if session.in_transaction():
        # Every repo function ends its own transaction, so an open one is a caller's bug that
        # would silently merge two units of work (and on SQLite hold the write lock).
        raise RuntimeError("watcher.store.repo functions need a session with no open transaction")
    url = session.get_bind().engine.url
    try:
        session.connection(execution_options={WRITE_OPTION: True} if write else None)
        yield
        session.commit()
    except BaseException as e:
        try:
            session.rollback()
        except SQLAlchemyError:
            # The connection is already gone; the original error is the one worth reporting.
            pass
        if write and isinstance(e, IntegrityError):
            # Raised by an explicit flush, an autoflush before a query, or the commit.
            raise _Conflict(e) from e
        if isinstance(e, SQLAlchemyError):
            raise store_error(action, e, url) from e
        raise


def _write(session: Session, action: str, work: Callable[[], _T]) -> _T:
    """Run `work` in a write transaction; if a concurrent writer won a unique key, re-run it.

    `work` reads before it writes, so the second run sees the winner's row and writes nothing.
    On PostgreSQL the loser's INSERT waits for the winner's commit, then fails on the unique
    index; on SQLite `BEGIN IMMEDIATE` means the loser already sees the row, so this is a
    safety net there.
    """
    for attempt in range(_CONFLICT_RETRIES):
        try:
            with _transaction(session, write=True, action=action):
                return work()
        except _Conflict as conflict:
            if attempt == _CONFLICT_RETRIES - 1:
                raise store_error(
                    action, conflict.error, session.get_bind().engine.url
                ) from conflict
    raise AssertionError("unreachable")  # pragma: no cover


def _read(session: Session, action: str, work: Callable[[], _T]) -> _T:
    """Run `work` in a read transaction."""
    with _transaction(session, write=False, action=action):
        return work()


# --- small conversions ----------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, what: str) -> datetime:
    """`value` in UTC; a naive datetime is a caller bug (which zone?), not a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return _utcnow() if now is None else _aware(now, "now")


def _key(ecosystem: Ecosystem, name: str) -> tuple[str, str]:
    return Ecosystem(ecosystem).value, normalize_name(Ecosystem(ecosystem), name)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR_LEN else line[: _MAX_ERROR_LEN - 3] + "..."


def _pin(row: PinRow) -> Pin:
    return Pin(Ecosystem(row.ecosystem), row.name, row.version, row.approved_by, row.approved_at)


def _approval(row: ApprovalRow) -> Approval:
    return Approval(
        ecosystem=Ecosystem(row.ecosystem),
        name=row.name,
        from_version=row.from_version,
        to_version=row.to_version,
        who=row.approved_by,
        at=row.approved_at,
        note=row.note,
    )


def _row_id(row: AnalysisRow | AlertRow) -> int:
    if row.id is None:  # pragma: no cover - rows are flushed before conversion
        raise RuntimeError(f"{type(row).__name__} has no id yet")
    return row.id


# --- pins and approvals -----------------------------------------------------------------------


def resolve_pin(
    file_version: str | None,
    file_changed_at: datetime | None,
    approval: Approval | None,
    released: Callable[[str], datetime | None],
) -> tuple[str, Approval | None] | None:
    """The effective pin: the subscription file's version or the latest approval's, whichever
    release was published later; the approval it comes from (None: the file); None: no pin.

    `released(version)` is the publish time (the registry's, else when watcher first saw the
    release). When either publish time is unknown, the newer information wins: the approval
    when it was made after the file's version last changed (or that change is unknown, as
    for pins written before watcher recorded it), else the file. An approval of the file's
    own version is shown as the approval, the more telling source.
    """
    if approval is None:
        return (file_version, None) if file_version is not None else None
    if file_version is None or file_version == approval.to_version:
        return approval.to_version, approval
    approved_release, file_release = released(approval.to_version), released(file_version)
    if approved_release is not None and file_release is not None:
        later = approved_release >= file_release
    else:
        later = file_changed_at is None or approval.at >= file_changed_at
    return (approval.to_version, approval) if later else (file_version, None)


def _latest_approvals(
    session: Session, packages: Iterable[tuple[str, str]] | None = None
) -> dict[tuple[str, str], Approval]:
    """The latest approval of each package (of `packages`, or of every package)."""
    query = select(ApprovalRow).order_by(col(ApprovalRow.approved_at), col(ApprovalRow.id))
    wanted = set(packages) if packages is not None else None
    if wanted is not None:
        query = query.where(col(ApprovalRow.name).in_({name for _, name in wanted}))
    latest: dict[tuple[str, str], Approval] = {}
    for row in session.exec(query).all():
        if wanted is None or (row.ecosystem, row.name) in wanted:
            latest[(row.ecosystem, row.name)] = _approval(row)
    return latest


def _release_times(
    session: Session, packages: Iterable[tuple[str, str]]
) -> dict[tuple[str, str, str], datetime]:
    """Publish times (else first-seen times) of the known releases of `packages`."""
    wanted = set(packages)
    if not wanted:
        return {}
    rows = session.exec(
        select(ReleaseRow).where(col(ReleaseRow.name).in_({name for _, name in wanted}))
    ).all()
    return {
        (r.ecosystem, r.name, r.version): r.published_at or r.first_seen_at
        for r in rows
        if (r.ecosystem, r.name) in wanted
    }


def _resolved(
    eco: str,
    name: str,
    file_version: str | None,
    file_changed_at: datetime | None,
    approval: Approval | None,
    times: Mapping[tuple[str, str, str], datetime],
) -> Pin | None:
    found = resolve_pin(
        file_version, file_changed_at, approval, lambda v: times.get((eco, name, v))
    )
    if found is None:
        return None
    version, source = found
    return Pin(
        Ecosystem(eco),
        name,
        version,
        source.who if source is not None else None,
        source.at if source is not None else None,
    )


def _apply(row: PinRow, pin: Pin, moment: datetime) -> None:
    """Write the effective pin into its row (touching it only when something changed)."""
    if (row.version, row.approved_by, row.approved_at) != (
        pin.version,
        pin.approved_by,
        pin.approved_at,
    ):
        row.version = pin.version
        row.approved_by = pin.approved_by
        row.approved_at = pin.approved_at
        row.updated_at = moment


def sync_pins(
    session: Session, subscriptions: Iterable[Subscription], *, now: datetime | None = None
) -> list[Pin]:
    """Bring pins in line with the subscription files; return the effective pin of each.

    Each package's pin is `resolve_pin` of the file's version and the latest approval, so
    `subscriptions list`, `check`, `history` and alerts all show the same one. A new package
    gets a poll state due at once. Packages no longer subscribed keep their rows: history.
    """
    moment = _now(now)
    subs = list(subscriptions)

    def work() -> list[Pin]:
        # A few reads for the whole watch list rather than per package: `watcher check`
        # syncs on every run, and `watcher run` on start and on every SIGHUP.
        rows = {(r.ecosystem, r.name): r for r in session.exec(select(PinRow)).all()}
        scheduled = set(session.exec(select(PollStateRow.ecosystem, PollStateRow.name)).all())
        approvals = _latest_approvals(session)
        times = _release_times(session, approvals)
        pins: list[Pin] = []
        for sub in subs:
            ecosystem, name = _key(sub.ecosystem, sub.name)
            row = rows.get((ecosystem, name))
            if row is None:
                row = PinRow(
                    ecosystem=ecosystem,
                    name=name,
                    version=sub.pinned,
                    file_version=sub.pinned,
                    file_changed_at=moment,
                    updated_at=moment,
                )
                rows[(ecosystem, name)] = row
            elif row.file_version != sub.pinned:
                row.file_version = sub.pinned
                row.file_changed_at = moment
                row.updated_at = moment
            pin = _resolved(
                ecosystem,
                name,
                row.file_version,
                row.file_changed_at,
                approvals.get((ecosystem, name)),
                times,
            )
            assert pin is not None  # the file always gives one
            _apply(row, pin, moment)
            session.add(row)
            if (ecosystem, name) not in scheduled:
                scheduled.add((ecosystem, name))
                session.add(PollStateRow(ecosystem=ecosystem, name=name, next_poll_at=moment))
            pins.append(pin)
        session.flush()
        return pins

    return _write(session, "sync pins in", work)


def effective_pins(session: Session, subscriptions: Iterable[Subscription]) -> list[Pin]:
    """What `sync_pins` would make each subscription's pin, without writing anything
    (`subscriptions list` and `approve` look, they do not sync)."""
    subs = list(subscriptions)

    def work() -> list[Pin]:
        keys = [_key(s.ecosystem, s.name) for s in subs]
        rows = {(r.ecosystem, r.name): r for r in session.exec(select(PinRow)).all()}
        approvals = _latest_approvals(session, keys)
        times = _release_times(session, approvals)
        pins: list[Pin] = []
        for sub, (eco, name) in zip(subs, keys, strict=True):
            row = rows.get((eco, name))
            changed = row is None or row.file_version != sub.pinned
            # A file version not synced yet is the newest information there is.
            changed_at = _utcnow() if changed or row is None else row.file_changed_at
            pin = _resolved(eco, name, sub.pinned, changed_at, approvals.get((eco, name)), times)
            assert pin is not None
            pins.append(pin)
        return pins

    return _read(session, "read pins from", work)


def current_pin(session: Session, ecosystem: Ecosystem, name: str) -> Pin | None:
    """The pin as last synced or approved, with its source; None if the package has none."""
    eco, key = _key(ecosystem, name)

    def work() -> Pin | None:
        row = session.exec(
            select(PinRow).where(PinRow.ecosystem == eco, PinRow.name == key)
        ).first()
        return _pin(row) if row is not None else None

    return _read(session, "read pins from", work)


def current_pins(
    session: Session, packages: Iterable[tuple[Ecosystem, str]]
) -> dict[tuple[Ecosystem, str], Pin]:
    """`current_pin` of each package, keyed by (ecosystem, normalised name); one read."""
    wanted = {_key(eco, name) for eco, name in packages}

    def work() -> dict[tuple[Ecosystem, str], Pin]:
        return {
            (Ecosystem(row.ecosystem), row.name): _pin(row)
            for row in session.exec(select(PinRow)).all()
            if (row.ecosystem, row.name) in wanted
        }

    return _read(session, "read pins from", work)


def pinned(session: Session, ecosystem: Ecosystem, name: str) -> str | None:
    """The reviewed version of a package, or None if it has no pin."""
    eco, key = _key(ecosystem, name)

    def work() -> str | None:
        return session.exec(_PIN_VERSION, params={"eco": eco, "name": key}).first()

    return _read(session, "read pins from", work)


def approve(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    version: str,
    who: str,
    note: str | None = None,
    *,
    file_version: str | None = None,
    now: datetime | None = None,
) -> Approval:
    """Record that `who` reviewed `version`, when and why, and re-resolve the pin.

    The repository layer records decisions; whether a version may be approved (the registry
    has it, it is no downgrade, it is not yanked) is the caller's check. The approval becomes
    the pin unless the subscription file's version was published later (`resolve_pin`);
    it creates the pin if there is none. `from_version` is the pin before. `file_version`
    is what the subscription file says now, when the caller read it: the approval was made
    looking at it, so a sync that follows does not count it as a newer edit.
    """
    if not version.strip() or not who.strip():
        raise ValueError("approve needs a version and who approved it")
    moment = _now(now)
    eco, key = _key(ecosystem, name)

    def work() -> Approval:
        row = session.exec(
            select(PinRow).where(PinRow.ecosystem == eco, PinRow.name == key)
        ).first()
        previous = row.version if row is not None else None
        if row is None:
            row = PinRow(ecosystem=eco, name=key, version=version, updated_at=moment)
        if file_version is not None and row.file_version != file_version:
            row.file_version = file_version
            row.file_changed_at = moment
        record = ApprovalRow(
            ecosystem=eco,
            name=key,
            from_version=previous,
            to_version=version,
            approved_by=who,
            approved_at=moment,
            note=note,
        )
        session.add(record)
        approval = _approval(record)
        times = _release_times(session, [(eco, key)])
        pin = _resolved(eco, key, row.file_version, row.file_changed_at, approval, times)
        assert pin is not None
        _apply(row, pin, moment)
        session.add(row)
        session.flush()
        return approval

    return _write(session, "record an approval in", work)


# --- releases and analyses --------------------------------------------------------------------


def record_release_seen(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    version: str,
    *,
    published_at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Note that the registry lists `version`; True the first time, False ever after.

    A publish time learned later fills in an unknown one; a known one is never overwritten
    (registries and mirrors disagree, and the first answer is the one the alert quoted).
    """
    moment = _now(now)
    published = _aware(published_at, "published_at") if published_at is not None else None
    eco, key = _key(ecosystem, name)

    def work() -> bool:
        row = session.exec(
            select(ReleaseRow).where(
                ReleaseRow.ecosystem == eco, ReleaseRow.name == key, ReleaseRow.version == version
            )
        ).first()
        if row is not None:
            if row.published_at is None and published is not None:
                row.published_at = published
                session.add(row)
            return False
        session.add(
            ReleaseRow(
                ecosystem=eco,
                name=key,
                version=version,
                first_seen_at=moment,
                published_at=published,
            )
        )
        session.flush()
        return True

    return _write(session, "record a release in", work)


@dataclass(frozen=True, slots=True)
class SeenRelease:
    """What the store knows about when one version appeared (`seen_releases`)."""

    version: str
    #: When watcher first saw the registry list it (the clock of the poll that did).
    first_seen_at: datetime
    #: The registry's publish time, when one was ever given.
    published_at: datetime | None


_SEEN_RELEASES = select(ReleaseRow).where(
    col(ReleaseRow.ecosystem) == bindparam("eco"), col(ReleaseRow.name) == bindparam("name")
)


def _seen(rows: Iterable[ReleaseRow]) -> dict[str, SeenRelease]:
    return {r.version: SeenRelease(r.version, r.first_seen_at, r.published_at) for r in rows}


def seen_releases(session: Session, ecosystem: Ecosystem, name: str) -> dict[str, SeenRelease]:
    """Every version of the package the store has seen, by version."""
    eco, key = _key(ecosystem, name)

    def work() -> dict[str, SeenRelease]:
        return _seen(session.exec(_SEEN_RELEASES, params={"eco": eco, "name": key}).all())

    return _read(session, "read releases from", work)


def record_releases_seen(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    versions: Mapping[str, datetime | None],
    *,
    now: datetime | None = None,
) -> dict[str, SeenRelease]:
    """`record_release_seen` for many versions in one transaction; then every seen version.

    For registries that give no publish time (a PEP 503 simple index) the first time a poll
    saw a version is the only clock there is. Versions too long for the store's column are
    left out: no registry has such a version, and one hostile string must not end the poll.
    """
    moment = _now(now)
    given = {
        v: (_aware(t, "published_at") if t is not None else None)
        for v, t in versions.items()
        if len(v) <= VERSION_LEN
    }
    if not given:
        return seen_releases(session, ecosystem, name)
    eco, key = _key(ecosystem, name)

    def work() -> dict[str, SeenRelease]:
        rows = {
            r.version: r
            for r in session.exec(_SEEN_RELEASES, params={"eco": eco, "name": key}).all()
        }
        for version, published in given.items():
            row = rows.get(version)
            if row is None:
                row = ReleaseRow(
                    ecosystem=eco,
                    name=key,
                    version=version,
                    first_seen_at=moment,
                    published_at=published,
                )
                rows[version] = row
            elif row.published_at is None and published is not None:
                row.published_at = published
            else:
                continue
            session.add(row)
        session.flush()
        return _seen(rows.values())

    return _write(session, "record releases in", work)


def _analysis_where(
    ecosystem: str, name: str, old_version: str | None, new_version: str, rules_version: str
) -> Any:
    return (
        col(AnalysisRow.ecosystem) == ecosystem,
        col(AnalysisRow.name) == name,
        col(AnalysisRow.old_version) == (old_version or ""),
        col(AnalysisRow.new_version) == new_version,
        col(AnalysisRow.rules_version) == rules_version,
    )


def has_analysis(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    old_version: str | None,
    new_version: str,
    rules_version: str,
) -> bool:
    """Whether this release pair was already analysed under this rule-set version."""
    eco, key = _key(ecosystem, name)

    params = {
        "eco": eco,
        "name": key,
        "old": old_version or "",
        "new": new_version,
        "rules": rules_version,
    }

    def work() -> bool:
        return session.exec(_HAS_ANALYSIS, params=params).first() is not None

    return _read(session, "read analyses from", work)


def alert_dedup_key(
    ecosystem: str,
    name: str,
    old_version: str | None,
    new_version: str,
    rules_version: str,
    channel: str,
) -> str:
    """The outbox's identity of an alert: one per release pair, rule set and channel.

    Hashed so that long npm names and versions fit a fixed-width unique column.
    """
    parts = ("alert/1", ecosystem, name, old_version or "", new_version, rules_version, channel)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _record(row: AnalysisRow, alert_ids: Sequence[int], created: bool) -> AnalysisRecord:
    return AnalysisRecord(
        id=_row_id(row),
        ecosystem=Ecosystem(row.ecosystem),
        name=row.name,
        old_version=row.old_version or None,
        new_version=row.new_version,
        rules_version=row.rules_version,
        score=row.score,
        severity=Severity(row.severity),
        created_at=row.created_at,
        alert_ids=tuple(alert_ids),
        created=created,
    )


def _alert_row(analysis: AnalysisRow, channel: str, now: datetime) -> AlertRow:
    """The outbox entry for one channel (a seam the atomicity test breaks on purpose)."""
    payload = {
        "schema": 1,
        "channel": channel,
        "ecosystem": analysis.ecosystem,
        "package": analysis.name,
        "old_version": analysis.old_version or None,
        "new_version": analysis.new_version,
        "score": analysis.score,
        "severity": analysis.severity,
        "rules_version": analysis.rules_version,
    }
    return AlertRow(
        dedup_key=alert_dedup_key(
            analysis.ecosystem,
            analysis.name,
            analysis.old_version,
            analysis.new_version,
            analysis.rules_version,
            channel,
        ),
        analysis_id=_row_id(analysis),
        channel=channel,
        payload_json=json.dumps(payload, ensure_ascii=False),
        status=AlertStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def record_analysis_with_alerts(
    session: Session,
    report: Report,
    channels: Sequence[str],
    rules_version: str,
    *,
    now: datetime | None = None,
) -> AnalysisRecord:
    """Store an analysis and one pending outbox entry per channel, atomically and once.

    Both are written in one transaction: either the analysis and all its alerts exist, or
    nothing does. A second call for the same (ecosystem, name, old, new, rules_version)
    writes nothing and returns the stored record with `created=False`; so does the loser of
    a race between two daemons (the unique constraint decides; the loser rolls back).
    Pass an empty `channels` to record an analysis that alerts no one (below threshold).
    """
    moment = _now(now)
    eco, key = _key(report.ecosystem, report.package)
    targets = list(dict.fromkeys(channels))  # a channel listed twice would alert twice
    where = _analysis_where(eco, key, report.old_version, report.new_version, rules_version)

    def work() -> AnalysisRecord:
        existing = _find_analysis(session, where)
        if existing is not None:
            alert_ids = session.exec(
                select(AlertRow.id)
                .where(AlertRow.analysis_id == existing.id)
                .order_by(col(AlertRow.id))
            ).all()
            return _record(existing, [i for i in alert_ids if i is not None], created=False)
        analysis = AnalysisRow(
            ecosystem=eco,
            name=key,
            old_version=report.old_version or "",
            new_version=report.new_version,
            rules_version=rules_version,
            score=report.score,
            severity=report.severity.value,
            report_json=json.dumps(report_dict(report), ensure_ascii=False),
            created_at=moment,
        )
        session.add(analysis)
        session.flush()
        alerts = [_alert_row(analysis, channel, moment) for channel in targets]
        session.add_all(alerts)
        session.flush()
        return _record(analysis, [_row_id(a) for a in alerts], created=True)

    return _write(session, "record an analysis in", work)


def _find_analysis(session: Session, where: Any) -> AnalysisRow | None:
    """The stored analysis matching `where` (a seam the race test uses)."""
    return session.exec(select(AnalysisRow).where(*where)).first()


# --- the alert outbox -------------------------------------------------------------------------


def claim_due_alerts(
    session: Session,
    owner: str,
    now: datetime,
    limit: int = 20,
    lease_seconds: float = 300,
) -> list[PendingAlert]:
    """Claim up to `limit` pending alerts that are due and not leased by someone else.

    Each claimed alert is leased to `owner` until `now + lease_seconds`; send it and call
    `mark_sent` or `mark_failed` before then. If the sender dies, the lease runs out and
    another claim picks the alert up again (so the lease must outlast a send's timeout).
    """
    moment = _aware(now, "now")
    lease_until = moment + timedelta(seconds=lease_seconds)

    def work() -> list[PendingAlert]:
        rows = session.exec(
            select(AlertRow, AnalysisRow)
            # Outer: operational alerts have no analysis.
            .outerjoin(AnalysisRow, col(AlertRow.analysis_id) == col(AnalysisRow.id))
            .where(
                col(AlertRow.status) == AlertStatus.PENDING.value,
                col(AlertRow.next_attempt_at) <= moment,
                or_(col(AlertRow.lease_until).is_(None), col(AlertRow.lease_until) <= moment),
            )
            .order_by(col(AlertRow.next_attempt_at), col(AlertRow.id))
            .limit(limit)
            # PostgreSQL: rows another claimer holds are skipped, not waited for. SQLite
            # ignores the clause; BEGIN IMMEDIATE already makes this the only writer.
            .with_for_update(skip_locked=True, of=AlertRow)
        ).all()
        claimed: list[PendingAlert] = []
        for alert, analysis in rows:
            alert.lease_owner = owner
            alert.lease_until = lease_until
            session.add(alert)
            pending = _pending(alert, analysis, lease_until)
            if analysis is not None and analysis.old_version:
                source = _pin_source_then(session, analysis)
                pending = replace(pending, pin_source=source)
            claimed.append(pending)
        return claimed

    return _write(session, "claim alerts in", work)


def _pin_source_then(session: Session, analysis: AnalysisRow) -> str:
    """Where the pin an analysis compared with came from when it ran: the latest approval of
    that version made before it, else the subscription file."""
    row = session.exec(
        select(ApprovalRow)
        .where(
            ApprovalRow.ecosystem == analysis.ecosystem,
            ApprovalRow.name == analysis.name,
            ApprovalRow.to_version == analysis.old_version,
            col(ApprovalRow.approved_at) <= analysis.created_at,
        )
        .order_by(col(ApprovalRow.approved_at).desc(), col(ApprovalRow.id).desc())
    ).first()
    return pin_source(row.approved_by, row.approved_at) if row is not None else "file"


def _pending(alert: AlertRow, analysis: AnalysisRow | None, lease_until: datetime) -> PendingAlert:
    if analysis is None:
        payload = json.loads(alert.payload_json)
        return PendingAlert(
            id=_row_id(alert),
            analysis_id=None,
            channel=alert.channel,
            attempts=alert.attempts,
            ecosystem=Ecosystem(payload["ecosystem"]),
            name=str(payload["package"]),
            old_version=None,
            new_version="",
            score=0,
            severity=Severity.NONE,
            payload=payload,
            report={},
            lease_until=lease_until,
            kind=AlertKind.OPERATIONAL,
            attempt_started_at=alert.attempt_started_at,
        )
    return PendingAlert(
        id=_row_id(alert),
        analysis_id=_row_id(analysis),
        channel=alert.channel,
        attempts=alert.attempts,
        ecosystem=Ecosystem(analysis.ecosystem),
        name=analysis.name,
        old_version=analysis.old_version or None,
        new_version=analysis.new_version,
        score=analysis.score,
        severity=Severity(analysis.severity),
        payload=json.loads(alert.payload_json),
        report=json.loads(analysis.report_json),
        lease_until=lease_until,
        attempt_started_at=alert.attempt_started_at,
    )


def _alert(session: Session, alert_id: int) -> AlertRow:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise StoreError(f"no alert with id {alert_id} in the store")
    return row


def begin_attempt(
    session: Session, alert_id: int, owner: str, *, now: datetime | None = None
) -> datetime | None:
    """Record that `owner` is about to send the alert; when the first unsure attempt began.

    Committed before the send, so that whoever claims the alert after a crash knows a send
    may have happened and checks the receiver first. The time of the first such attempt is
    kept (a message sent then may still be found); it is cleared by `mark_sent`. None when
    the alert is no longer `owner`'s to send (its lease expired and another sender claimed
    it, or it was sent or given up meanwhile): do not send then.
    """
    moment = _now(now)

    def work() -> datetime | None:
        row = _alert(session, alert_id)
        leased = row.lease_until is not None and row.lease_until > moment
        if row.status != AlertStatus.PENDING.value or row.lease_owner != owner or not leased:
            return None
        if row.attempt_started_at is None:
            row.attempt_started_at = moment
            session.add(row)
        return row.attempt_started_at

    return _write(session, "record a send attempt in", work)


def mark_sent(
    session: Session,
    alert_id: int,
    *,
    now: datetime | None = None,
    remote_ref: str | None = None,
    delivered_via: str | None = None,
) -> None:
    """The alert was delivered: it is never sent again. Calling it twice is harmless.

    `remote_ref` is the receiver's id of the message (Slack's `ts`), kept for audit;
    `delivered_via` names the channel actually used when it was not the alert's own (a
    `slack:` alert written to the console: "console, Slack not configured").
    """
    moment = _now(now)

    def work() -> None:
        row = _alert(session, alert_id)
        if row.status == AlertStatus.SENT.value:
            return
        row.status = AlertStatus.SENT.value
        row.sent_at = moment
        row.lease_owner = None
        row.lease_until = None
        row.last_error = None
        row.attempt_started_at = None
        if remote_ref:
            row.remote_ref = remote_ref[:NAME_LEN]
        if delivered_via:
            row.delivered_via = delivered_via[:NAME_LEN]
        session.add(row)

    _write(session, "mark an alert sent in", work)


def alert_backoff(attempts: int) -> timedelta:
    """Delay before retry number `attempts` + 1: 30 s, 1 m, 2 m, ... capped at 1 h."""
    return min(ALERT_BACKOFF_BASE * (1 << min(max(0, attempts - 1), 20)), ALERT_BACKOFF_CAP)


def mark_failed(
    session: Session,
    alert_id: int,
    error: str,
    retry_at: datetime | None = None,
    *,
    now: datetime | None = None,
    max_attempts: int = DEFAULT_ALERT_MAX_ATTEMPTS,
    permanent: bool = False,
) -> AlertStatus:
    """A send failed: count the attempt and schedule the next one, or give up.

    `retry_at` is when to try again (e.g. from Slack's Retry-After); by default exponential
    backoff from `now`. After `max_attempts` the alert is `failed` for good (and shows so in
    history). A `permanent` failure (`NotifyError.permanent`: a wrong channel, a revoked
    token) gives up at once, since retrying would fail the same way. Returns the alert's
    status afterwards.
    """
    moment = _now(now)
    retry = _aware(retry_at, "retry_at") if retry_at is not None else None

    def work() -> AlertStatus:
        row = _alert(session, alert_id)
        if row.status != AlertStatus.PENDING.value:
            # Sent (by a claimer whose lease outlived ours) or already given up: keep it.
            return AlertStatus(row.status)
        row.attempts += 1
        row.last_error = _one_line(error)
        row.lease_owner = None
        row.lease_until = None
        if permanent or row.attempts >= max_attempts:
            row.status = AlertStatus.FAILED.value
        else:
            row.next_attempt_at = retry or moment + alert_backoff(row.attempts)
        session.add(row)
        return AlertStatus(row.status)

    return _write(session, "mark an alert failed in", work)


# --- poll state -------------------------------------------------------------------------------


def claim_due_polls(
    session: Session,
    owner: str,
    now: datetime,
    limit: int = 20,
    lease_seconds: float = 300,
) -> list[PollTarget]:
    """Claim up to `limit` packages whose next poll is due, leased to `owner` (as alerts).

    Call `save_poll_result` for each, which ends the lease; a crashed poller's lease expires
    after `lease_seconds` and the package is claimed again.
    """
    moment = _aware(now, "now")
    lease_until = moment + timedelta(seconds=lease_seconds)

    def work() -> list[PollTarget]:
        rows = session.exec(
            select(PollStateRow)
            .where(
                col(PollStateRow.next_poll_at) <= moment,
                or_(
                    col(PollStateRow.lease_until).is_(None),
                    col(PollStateRow.lease_until) <= moment,
                ),
            )
            .order_by(col(PollStateRow.next_poll_at), col(PollStateRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        targets: list[PollTarget] = []
        for row in rows:
            row.lease_owner = owner
            row.lease_until = lease_until
            session.add(row)
            targets.append(
                PollTarget(
                    ecosystem=Ecosystem(row.ecosystem),
                    name=row.name,
                    etag=row.etag,
                    last_modified=row.last_modified,
                    tries=row.tries,
                    lease_until=lease_until,
                )
            )
        return targets

    return _write(session, "claim polls in", work)


def poll_backoff(tries: int) -> timedelta:
    """Delay after `tries` consecutive failed polls: 1 m, 2 m, 4 m, ... capped at 6 h."""
    return min(POLL_BACKOFF_BASE * (1 << min(max(0, tries - 1), 20)), POLL_BACKOFF_CAP)


def save_poll_result(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    *,
    now: datetime,
    interval_seconds: float,
    etag: str | None = None,
    last_modified: str | None = None,
    error: str | None = None,
    retry_after: datetime | None = None,
) -> PollState:
    """Record how a poll went and when to poll next; ends the poll's lease.

    Success (`error` is None, including a 304): tries reset to 0, the validators replaced by
    `etag`/`last_modified` (pass the old ones back after a 304), next poll after the interval.
    Failure: tries + 1, validators kept, next poll after `poll_backoff(tries)`, but not before
    `retry_after` (a 429's Retry-After). The caller decides when `tries` is worth an alert.
    """
    moment = _aware(now, "now")
    later = _aware(retry_after, "retry_after") if retry_after is not None else None
    eco, key = _key(ecosystem, name)

    def work() -> PollState:
        # Plain SQL rather than a loaded row and a flush: this runs once per poll, and the
        # ORM's unit of work costs more CPU than the UPDATE itself.
        found = session.exec(_POLL_STATE_KEEP, params={"eco": eco, "name": key}).first()
        if found is None:
            row_id, tries, old_etag, old_modified = None, 0, None, None
        else:
            row_id, tries, old_etag, old_modified = found
        values: dict[str, Any] = {
            "last_polled_at": moment,
            "lease_owner": None,
            "lease_until": None,
        }
        if error is None:
            values.update(
                tries=0,
                last_error=None,
                etag=etag,
                last_modified=last_modified,
                next_poll_at=moment + timedelta(seconds=interval_seconds),
            )
        else:
            tries += 1
            due = moment + poll_backoff(tries)
            values.update(
                tries=tries,
                last_error=_one_line(error),
                next_poll_at=later if later is not None and later > due else due,
            )
        if row_id is None:
            session.add(PollStateRow(ecosystem=eco, name=key, **values))
            session.flush()
        else:
            session.connection().execute(_POLL_STATE_SAVE, {"row_id": row_id, **values})
        return PollState(
            ecosystem=Ecosystem(eco),
            name=key,
            etag=values.get("etag", old_etag),
            last_modified=values.get("last_modified", old_modified),
            last_polled_at=moment,
            next_poll_at=values["next_poll_at"],
            tries=values["tries"],
            last_error=values["last_error"],
        )

    return _write(session, "save poll state in", work)


def _poll_state(row: PollStateRow) -> PollState:
    return PollState(
        ecosystem=Ecosystem(row.ecosystem),
        name=row.name,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        next_poll_at=row.next_poll_at,
        tries=row.tries,
        last_error=row.last_error,
    )


def _poll_state_row(session: Session, eco: str, key: str) -> PollStateRow | None:
    return session.exec(_POLL_STATE, params={"eco": eco, "name": key}).first()


def poll_soon(session: Session, packages: Iterable[tuple[Ecosystem, str]], *, now: datetime) -> int:
    """Make these packages due at `now` unless they are due already or leased; how many.

    For a daemon whose subscriptions just changed: another daemon that did not know a
    package yet may have put it off (`UNSUBSCRIBED_RECHECK_SECONDS`), and a moved pin wants
    a poll now rather than after the interval. A leased package is being polled; its poller
    schedules the next poll itself.
    """
    moment = _aware(now, "now")
    keys = {_key(ecosystem, name) for ecosystem, name in packages}

    def work() -> int:
        changed = 0
        for eco, key in sorted(keys):
            row = _poll_state_row(session, eco, key)
            leased = row is not None and row.lease_until is not None and row.lease_until > moment
            if row is None or leased or row.next_poll_at <= moment:
                continue
            row.next_poll_at = moment
            session.add(row)
            changed += 1
        return changed

    return _write(session, "schedule polls in", work)


def poll_state(session: Session, ecosystem: Ecosystem, name: str) -> PollState | None:
    """A package's poll state (validators, failure streak), None before its first sync."""
    eco, key = _key(ecosystem, name)

    def work() -> PollState | None:
        row = _poll_state_row(session, eco, key)
        return _poll_state(row) if row is not None else None

    return _read(session, "read poll state from", work)


@dataclass(frozen=True, slots=True)
class PollContext:
    """What a poll needs from the store before it asks the registry (one read transaction)."""

    #: The pin: the store's, else the subscription file's (`default_pin`).
    pin: str
    state: PollState | None
    #: Versions the poller has seen that have no analysis against `pin` under the rules.
    #: A 304 says the registry's list is unchanged, not that watcher is done with it: after
    #: the pin moved or the rules changed, releases already seen must be analysed again,
    #: which needs the full document. The caller orders them against the pin.
    unanalysed: tuple[str, ...]


def poll_context(
    session: Session, ecosystem: Ecosystem, name: str, default_pin: str, rules_version: str
) -> PollContext:
    """The pin, the poll state and the seen-but-unanalysed versions of one package."""
    eco, key = _key(ecosystem, name)

    def work() -> PollContext:
        pin = session.exec(_PIN_VERSION, params={"eco": eco, "name": key}).first()
        row = _poll_state_row(session, eco, key)
        baseline = pin or default_pin
        unanalysed = session.exec(
            _UNANALYSED,
            params={"eco": eco, "name": key, "old": baseline, "rules": rules_version},
        ).all()
        return PollContext(
            pin=baseline,
            state=_poll_state(row) if row is not None else None,
            unanalysed=tuple(unanalysed),
        )

    return _read(session, "read poll state from", work)


def operational_dedup_key(ecosystem: str, name: str, event: str, channel: str) -> str:
    """The outbox's identity of an operational alert: `event` names one occurrence."""
    parts = ("operational/1", ecosystem, name, event, channel)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def record_operational_alert(
    session: Session,
    ecosystem: Ecosystem,
    name: str,
    channels: Sequence[str],
    payload: Mapping[str, Any],
    event: str,
    *,
    now: datetime | None = None,
) -> tuple[int, ...]:
    """Queue one operational alert per channel (no analysis); the ids written.

    `payload` is what the notifiers render (JSON-safe; `ecosystem` and `package` are added
    here). `event` identifies the occurrence (e.g. "unreachable:<streak start>"): a second call
    with the same event writes nothing, so a retried or concurrent poll cannot alert twice.
    """
    moment = _now(now)
    eco, key = _key(ecosystem, name)
    targets = list(dict.fromkeys(channels))

    def work() -> tuple[int, ...]:
        written: list[AlertRow] = []
        for channel in targets:
            dedup = operational_dedup_key(eco, key, event, channel)
            if session.exec(select(AlertRow.id).where(AlertRow.dedup_key == dedup)).first():
                continue
            body = {**payload, "ecosystem": eco, "package": key, "channel": channel}
            written.append(
                AlertRow(
                    dedup_key=dedup,
                    kind=AlertKind.OPERATIONAL.value,
                    analysis_id=None,
                    channel=channel,
                    payload_json=json.dumps(body, ensure_ascii=False),
                    status=AlertStatus.PENDING.value,
                    attempts=0,
                    next_attempt_at=moment,
                    created_at=moment,
                )
            )
        session.add_all(written)
        session.flush()
        return tuple(_row_id(row) for row in written)

    return _write(session, "queue an operational alert in", work)


# --- the check gate ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinnedAnalysis:
    """A stored analysis of a release against its package's current pin (`pinned_analyses`)."""

    ecosystem: Ecosystem
    #: Normalised, as stored.
    name: str
    #: The pin the analysis compared with: the store's, else the subscription file's.
    pin: str
    new_version: str
    severity: Severity
    score: int
    #: Where `history` puts the version: the earliest time the store knows for it (seen,
    #: analysed against any pin, approved), then the release row's id, then the analysis id.
    order: tuple[datetime, int, int]


def pinned_analyses(
    session: Session,
    packages: Iterable[tuple[Ecosystem, str, str]],
    rules_version: str,
    severities: Iterable[Severity],
) -> list[PinnedAnalysis]:
    """Analyses against each package's pin under `rules_version` with one of `severities`.

    `packages` are (ecosystem, name, the subscription file's pin); the store's pin wins when
    there is one, as in `poll_context`. A handful of set-based queries whatever the number of
    packages (`watcher check` gates on this after every cycle): no report is loaded, and only
    analyses at the given severities are read. Returned in no particular order; callers
    decide which versions count as newer than the pin and sort by `order`.
    """
    wanted = sorted({s.value for s in severities})
    defaults: dict[tuple[str, str], str] = {}
    for ecosystem, name, default_pin in packages:
        defaults.setdefault(_key(ecosystem, name), default_pin)
    if not wanted or not defaults:
        return []

    def work() -> list[PinnedAnalysis]:
        pins = {
            (eco, name): version
            for eco, name, version in session.exec(
                select(PinRow.ecosystem, PinRow.name, PinRow.version)
            ).all()
            if (eco, name) in defaults
        }
        rows = list(
            session.exec(
                _gate_query(wanted, rules_version).join(
                    PinRow,
                    (col(PinRow.ecosystem) == col(AnalysisRow.ecosystem))
                    & (col(PinRow.name) == col(AnalysisRow.name))
                    & (col(PinRow.version) == col(AnalysisRow.old_version)),
                )
            ).all()
        )
        # Packages with no pin row yet (polled before their first sync): the file's pin.
        for (eco, name), default_pin in defaults.items():
            if (eco, name) not in pins:
                rows += session.exec(
                    _gate_query(wanted, rules_version).where(
                        col(AnalysisRow.ecosystem) == eco,
                        col(AnalysisRow.name) == name,
                        col(AnalysisRow.old_version) == default_pin,
                    )
                ).all()
        found: list[PinnedAnalysis] = []
        for row in rows:
            (id_, eco, name, old, new, severity, score, seen, seen_id, analysed, approved) = row
            if (eco, name) not in defaults:
                continue
            times = [t for t in (seen, analysed, approved) if t is not None]
            found.append(
                PinnedAnalysis(
                    ecosystem=Ecosystem(eco),
                    name=name,
                    pin=old,
                    new_version=new,
                    severity=Severity(severity),
                    score=score,
                    order=(
                        min(times) if times else datetime.min.replace(tzinfo=UTC),
                        seen_id if seen_id is not None else _NO_RELEASE_ROW,
                        id_,
                    ),
                )
            )
        return found

    return _read(session, "read analyses from", work)


#: Sorts a version the poller never saw after the ones it did, as `history` does.
_NO_RELEASE_ROW = 2**62


def _gate_query(severities: Sequence[str], rules_version: str) -> Any:
    """Columns of the analyses `pinned_analyses` looks at, with what orders their versions."""
    same_release = (
        col(ReleaseRow.ecosystem) == col(AnalysisRow.ecosystem),
        col(ReleaseRow.name) == col(AnalysisRow.name),
        col(ReleaseRow.version) == col(AnalysisRow.new_version),
    )
    earlier = aliased(AnalysisRow)
    first_analysed = select(func.min(earlier.created_at)).where(
        col(earlier.ecosystem) == col(AnalysisRow.ecosystem),
        col(earlier.name) == col(AnalysisRow.name),
        col(earlier.new_version) == col(AnalysisRow.new_version),
    )
    first_approved = select(func.min(ApprovalRow.approved_at)).where(
        col(ApprovalRow.ecosystem) == col(AnalysisRow.ecosystem),
        col(ApprovalRow.name) == col(AnalysisRow.name),
        col(ApprovalRow.to_version) == col(AnalysisRow.new_version),
    )
    # SQLAlchemy's `select`: sqlmodel's is typed for at most four columns.
    return sa_select(
        col(AnalysisRow.id),
        col(AnalysisRow.ecosystem),
        col(AnalysisRow.name),
        col(AnalysisRow.old_version),
        col(AnalysisRow.new_version),
        col(AnalysisRow.severity),
        col(AnalysisRow.score),
        select(ReleaseRow.first_seen_at).where(*same_release).scalar_subquery(),
        select(ReleaseRow.id).where(*same_release).scalar_subquery(),
        first_analysed.scalar_subquery(),
        first_approved.scalar_subquery(),
    ).where(
        col(AnalysisRow.rules_version) == rules_version,
        col(AnalysisRow.severity).in_(severities),
    )


# --- history ----------------------------------------------------------------------------------


def history(session: Session, ecosystem: Ecosystem, name: str) -> list[HistoryEntry]:
    """Everything known about a package, one entry per version, oldest first.

    Versions come from releases seen, analyses (new and baseline versions), approvals (both
    ends) and the pin. Entries are ordered by the earliest time the store knows for them;
    a baseline known only by name (the reviewed version in the file) comes first.
    """
    eco, key = _key(ecosystem, name)

    def work() -> list[HistoryEntry]:
        # In the order they were first recorded: versions seen at the same moment keep it
        # (without an order, SQLite reads them by its version index instead).
        releases = session.exec(
            select(ReleaseRow)
            .where(ReleaseRow.ecosystem == eco, ReleaseRow.name == key)
            .order_by(col(ReleaseRow.id))
        ).all()
        analyses = session.exec(
            select(AnalysisRow)
            .where(AnalysisRow.ecosystem == eco, AnalysisRow.name == key)
            .order_by(col(AnalysisRow.created_at), col(AnalysisRow.id))
        ).all()
        analysis_ids = [a.id for a in analyses]
        alerts = (
            session.exec(
                select(AlertRow)
                .where(col(AlertRow.analysis_id).in_(analysis_ids))
                .order_by(col(AlertRow.id))
            ).all()
            if analysis_ids
            else []
        )
        approvals = session.exec(
            select(ApprovalRow)
            .where(ApprovalRow.ecosystem == eco, ApprovalRow.name == key)
            .order_by(col(ApprovalRow.approved_at), col(ApprovalRow.id))
        ).all()
        pin = session.exec(
            select(PinRow).where(PinRow.ecosystem == eco, PinRow.name == key)
        ).first()
        return _history(releases, analyses, alerts, approvals, pin)

    return _read(session, "read history from", work)


def _history(
    releases: Sequence[ReleaseRow],
    analyses: Sequence[AnalysisRow],
    alerts: Sequence[AlertRow],
    approvals: Sequence[ApprovalRow],
    pin: PinRow | None,
) -> list[HistoryEntry]:
    by_analysis: dict[int, list[AlertSummary]] = {}
    for alert in alerts:
        if alert.analysis_id is None:  # operational alerts belong to no release
            continue
        by_analysis.setdefault(alert.analysis_id, []).append(
            AlertSummary(
                id=_row_id(alert),
                channel=alert.channel,
                status=AlertStatus(alert.status),
                attempts=alert.attempts,
                last_error=alert.last_error,
                created_at=alert.created_at,
                sent_at=alert.sent_at,
                delivered_via=alert.delivered_via,
            )
        )
    summaries: dict[str, list[AnalysisSummary]] = {}
    for analysis in analyses:
        summaries.setdefault(analysis.new_version, []).append(
            AnalysisSummary(
                id=_row_id(analysis),
                old_version=analysis.old_version or None,
                new_version=analysis.new_version,
                rules_version=analysis.rules_version,
                score=analysis.score,
                severity=Severity(analysis.severity),
                created_at=analysis.created_at,
                alerts=tuple(by_analysis.get(_row_id(analysis), ())),
            )
        )
    approved: dict[str, list[Approval]] = {}
    for approval in approvals:
        approved.setdefault(approval.to_version, []).append(_approval(approval))
    seen = {r.version: r for r in releases}

    # Baselines count too: the version an analysis compared against, or an approval left.
    baselines = [a.old_version for a in analyses if a.old_version]
    baselines += [a.from_version for a in approvals if a.from_version]
    pinned_now = [pin.version] if pin else []
    versions = list(dict.fromkeys([*seen, *summaries, *approved, *baselines, *pinned_now]))
    entries: list[HistoryEntry] = []
    for version in versions:
        release = seen.get(version)
        entries.append(
            HistoryEntry(
                version=version,
                first_seen_at=release.first_seen_at if release else None,
                published_at=release.published_at if release else None,
                pinned=pin is not None and pin.version == version,
                analyses=tuple(summaries.get(version, ())),
                approvals=tuple(approved.get(version, ())),
                pin_source=_pin(pin).source if pin is not None and pin.version == version else None,
            )
        )

    def earliest(entry: HistoryEntry) -> datetime:
        times = [entry.first_seen_at, *(a.created_at for a in entry.analyses)]
        times += [a.at for a in entry.approvals]
        known = [t for t in times if t is not None]
        # A pinned version known only from the subscription file sorts first: it is the
        # reviewed baseline everything else was compared with.
        return min(known) if known else datetime.min.replace(tzinfo=UTC)

    return sorted(entries, key=earliest)
