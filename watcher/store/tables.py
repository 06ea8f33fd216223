"""The store's tables: SQLModel `table=True` classes only (STYLE §4).

No code outside `watcher/store/` sees these classes: `repo.py` converts them to and from the
pipeline's frozen dataclasses. SQLModel table classes do not validate on construction (sqlmodel
#225, #453), so `repo.py` is where values are checked.

Conventions:
- Package names are stored normalised (`subscriptions.normalize_name`: PEP 503 for PyPI), so
  `Foo_Bar` and `foo-bar` are one package, as they are on PyPI.
- Every timestamp is `UTCDateTime`: `timestamptz` on PostgreSQL, aware UTC in Python.
- Every constraint and index is named, so that migrations and autogenerate comparisons are
  stable across backends.
- A change here needs a new revision in `migrations/versions/` (the tests compare them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from watcher.store.columns import UTCDateTime

#: Column widths. Names: npm allows 214 characters; PyPI has no limit but nothing real is longer.
ECOSYSTEM_LEN = 16
NAME_LEN = 255
VERSION_LEN = 128


class PinRow(SQLModel, table=True):
    """The reviewed version of a package: new releases are diffed against it.

    `version` is the effective pin (`repo.resolve_pin`): the later, by publish time, of the
    subscription file's `file_version` and the latest approval (`approved_by`/`approved_at`
    set when it is the approval). `file_changed_at` is when the file's version was first seen,
    which decides when a publish time is unknown.
    """

    __tablename__ = "pins"
    __table_args__ = (UniqueConstraint("ecosystem", "name", name="uq_pins_package"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    version: str = Field(max_length=VERSION_LEN)
    file_version: str | None = Field(default=None, max_length=VERSION_LEN)
    file_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=NAME_LEN)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ApprovalRow(SQLModel, table=True):
    """One `watcher approve`: who moved the pin, from where to where, when and why."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_package", "ecosystem", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    from_version: str | None = Field(default=None, max_length=VERSION_LEN)
    to_version: str = Field(max_length=VERSION_LEN)
    approved_by: str = Field(max_length=NAME_LEN)
    approved_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=Text)


class ReleaseRow(SQLModel, table=True):
    """A release the poller has seen on the registry (once per version)."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("ecosystem", "name", "version", name="uq_releases_version"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    version: str = Field(max_length=VERSION_LEN)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PollStateRow(SQLModel, table=True):
    """When to poll a package next, the validators for a conditional request, and a lease.

    The lease (`lease_owner`, `lease_until`) lets several daemons share one PostgreSQL store:
    a poll is claimed before it runs, and a crashed daemon's claim expires.
    """

    __tablename__ = "poll_state"
    __table_args__ = (
        UniqueConstraint("ecosystem", "name", name="uq_poll_state_package"),
        Index("ix_poll_state_due", "next_poll_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_poll_at: datetime = Field(sa_type=UTCDateTime)
    tries: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    lease_owner: str | None = Field(default=None, max_length=NAME_LEN)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AnalysisRow(SQLModel, table=True):
    """The verdict on one release against its predecessor, under one rule-set version.

    `old_version` is "" for a first release (no predecessor): unique constraints treat NULLs
    as distinct on both SQLite and PostgreSQL, which would let a first-release analysis be
    written twice.
    """

    __tablename__ = "analyses"
    __table_args__ = (
        UniqueConstraint(
            "ecosystem",
            "name",
            "old_version",
            "new_version",
            "rules_version",
            name="uq_analyses_release_rules",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    old_version: str = Field(max_length=VERSION_LEN)
    new_version: str = Field(max_length=VERSION_LEN)
    rules_version: str = Field(max_length=64)
    score: int
    severity: str = Field(max_length=16)
    #: The full report as `report.jsonfmt.report_dict` JSON (schema 1).
    report_json: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AlertRow(SQLModel, table=True):
    """The alert outbox: one row per (analysis, channel), written with the analysis.

    An alert is written before it is sent and marked sent after, so a crash or an outage
    never loses one; `dedup_key` is unique, so overlapping runs never write one twice.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_alerts_dedup_key"),
        ForeignKeyConstraint(["analysis_id"], ["analyses.id"], name="fk_alerts_analysis_id"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="ck_alerts_status"),
        CheckConstraint("kind IN ('release', 'operational')", name="ck_alerts_kind"),
        CheckConstraint(
            "kind = 'operational' OR analysis_id IS NOT NULL", name="ck_alerts_release_analysis"
        ),
        Index("ix_alerts_due", "status", "next_attempt_at"),
        Index("ix_alerts_analysis_id", "analysis_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=64)
    #: `release` alerts come from an analysis; `operational` ones (a registry unreachable past
    #: the retry budget) have no analysis and carry everything in `payload_json`.
    kind: str = Field(default="release", max_length=16)
    analysis_id: int | None = None
    #: A notify target as in subscription files: `slack:#channel`, `webhook`, `console`.
    channel: str = Field(max_length=NAME_LEN)
    payload_json: str = Field(sa_type=Text)
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    lease_owner: str | None = Field(default=None, max_length=NAME_LEN)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Set before a send whose outcome is not yet known and cleared when it is: a row claimed
    #: again with this set may already have been delivered by a process that died.
    attempt_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The receiver's id for the delivered message (Slack `ts`), for audit and de-duplication.
    remote_ref: str | None = Field(default=None, max_length=NAME_LEN)
    #: Set when the alert went elsewhere than `channel` ("console, Slack not configured").
    delivered_via: str | None = Field(default=None, max_length=NAME_LEN)


class DependencyTreeRow(SQLModel, table=True):
    """A subscription's resolved dependency tree (`watcher.tree`): one row per subscription.

    `stale` asks the next cycle to resolve it again although no document changed (an analysis
    of a moved dependency failed, so the tree must not move on yet).
    """

    __tablename__ = "dependency_trees"
    __table_args__ = (UniqueConstraint("ecosystem", "name", name="uq_dependency_trees_package"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    name: str = Field(max_length=NAME_LEN)
    #: The subscription's registry URL ("" for the public one): where its tree is polled.
    registry_url: str = Field(sa_type=Text)
    root_version: str = Field(max_length=VERSION_LEN)
    source: str = Field(max_length=32)
    gaps_json: str = Field(sa_type=Text)
    stale: bool = Field(default=False)
    resolved_at: datetime = Field(sa_type=UTCDateTime)


class TreeEntryRow(SQLModel, table=True):
    """One package version in a subscription's tree, with the path it was resolved through."""

    __tablename__ = "tree_entries"
    __table_args__ = (
        ForeignKeyConstraint(["tree_id"], ["dependency_trees.id"], name="fk_tree_entries_tree_id"),
        Index("ix_tree_entries_tree_id", "tree_id"),
        Index("ix_tree_entries_package", "package"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tree_id: int
    #: Breadth-first order within the tree.
    position: int
    package: str = Field(max_length=NAME_LEN)
    version: str = Field(max_length=VERSION_LEN)
    dep_name: str = Field(max_length=NAME_LEN)
    spec: str = Field(sa_type=Text)
    via_json: str = Field(sa_type=Text)
    kind: str = Field(max_length=16)
    condition: str | None = Field(default=None, sa_type=Text)
    floats: bool


class DependencyDocumentRow(SQLModel, table=True):
    """What resolution read of one package on one registry, with the validators it came with:
    polled conditionally, a 304 re-uses it (`watcher.tree.catalog.PackageDoc`, as JSON)."""

    __tablename__ = "dependency_documents"
    __table_args__ = (
        UniqueConstraint(
            "ecosystem", "registry_url", "package", name="uq_dependency_documents_package"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    registry_url: str = Field(sa_type=Text)
    package: str = Field(max_length=NAME_LEN)
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    doc_json: str = Field(sa_type=Text)
    fetched_at: datetime = Field(sa_type=UTCDateTime)


class DependencyReleaseRow(SQLModel, table=True):
    """A dependency release analysed because it entered a subscription's tree, and the path:
    `watcher history NAME` lists it under the subscription (the analysis is the package's)."""

    __tablename__ = "dependency_releases"
    __table_args__ = (
        UniqueConstraint("ecosystem", "name", "analysis_id", name="uq_dependency_releases"),
        ForeignKeyConstraint(
            ["analysis_id"], ["analyses.id"], name="fk_dependency_releases_analysis_id"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    #: The subscription (normalised name) whose tree the release is in.
    name: str = Field(max_length=NAME_LEN)
    analysis_id: int
    path: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TreeCycleRow(SQLModel, table=True):
    """When the trees of one registry are next followed, and who is following them now: the
    lease lets several `watcher run` instances share the work, one registry's trees at a time."""

    __tablename__ = "tree_cycles"
    __table_args__ = (
        UniqueConstraint("ecosystem", "registry_url", name="uq_tree_cycles_registry"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(max_length=ECOSYSTEM_LEN)
    registry_url: str = Field(sa_type=Text)
    next_run_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, max_length=NAME_LEN)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
