"""Reading and writing dependency trees and the documents they were resolved from.

Like `repo`: dataclasses in and out (`watcher.tree`), one transaction per call, database errors
as `StoreError`. Trees are keyed by subscription (ecosystem, normalised name); documents by
(ecosystem, registry, package), since two registries may serve different packages by one name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from watcher.models import Ecosystem, Severity
from watcher.registries import Validators
from watcher.store.repo import (
    AlertStatus,
    AlertSummary,
    AnalysisSummary,
    _aware,
    _now,
    _read,
    _write,
)
from watcher.store.tables import (
    AlertRow,
    AnalysisRow,
    ApprovalRow,
    DependencyDocumentRow,
    DependencyReleaseRow,
    DependencyTreeRow,
    TreeCycleRow,
    TreeEntryRow,
)
from watcher.subscriptions import normalize_name
from watcher.tree.catalog import CachedDoc, doc_from_json, doc_to_json
from watcher.tree.model import Tree, TreeEntry

__all__ = [
    "DependencyHistoryEntry",
    "InstalledDependencyRelease",
    "installed_dependency_releases",
    "claim_tree_cycle",
    "finish_tree_cycle",
    "dependency_history",
    "record_dependency_releases",
    "StoredTree",
    "TreeRoot",
    "tree_roots",
    "floating_packages",
    "load_documents",
    "load_tree",
    "load_trees",
    "mark_stale",
    "save_documents",
    "save_tree",
    "trees_with",
]


@dataclass(frozen=True, slots=True)
class StoredTree:
    """A subscription's tree as the store keeps it."""

    tree: Tree
    registry: str
    stale: bool
    resolved_at: datetime


def _tree_row(session: Session, ecosystem: Ecosystem, name: str) -> DependencyTreeRow | None:
    return session.exec(
        select(DependencyTreeRow).where(
            col(DependencyTreeRow.ecosystem) == ecosystem.value,
            col(DependencyTreeRow.name) == normalize_name(ecosystem, name),
        )
    ).first()


def save_tree(session: Session, tree: Tree, registry: str, *, now: datetime | None = None) -> None:
    """Store `tree` as its subscription's tree (replacing the one before), not stale."""
    moment = _now(now)
    key = normalize_name(tree.ecosystem, tree.root)

    def work() -> None:
        row = _tree_row(session, tree.ecosystem, tree.root)
        if row is None:
            row = DependencyTreeRow(
                ecosystem=tree.ecosystem.value,
                name=key,
                registry_url=registry,
                root_version=tree.root_version,
                source=tree.source,
                gaps_json="[]",
                resolved_at=moment,
            )
        row.registry_url = registry
        row.root_version = tree.root_version
        row.source = tree.source
        row.gaps_json = json.dumps(list(tree.gaps))
        row.stale = False
        row.resolved_at = moment
        session.add(row)
        session.flush()
        session.exec(delete(TreeEntryRow).where(col(TreeEntryRow.tree_id) == row.id))
        assert row.id is not None
        if tree.entries:
            # One executemany, not an ORM object per entry: 1,000 trees of 200 are saved at once.
            session.execute(
                insert(TreeEntryRow),
                [
                    {
                        "tree_id": row.id,
                        "position": i,
                        "package": e.package,
                        "version": e.version,
                        "dep_name": e.name,
                        "spec": e.spec,
                        "via_json": json.dumps(list(e.via)),
                        "kind": e.kind,
                        "condition": e.condition,
                        "floats": e.floats,
                    }
                    for i, e in enumerate(tree.entries)
                ],
            )

    _write(session, "save a dependency tree to", work)


def _stored(session: Session, row: DependencyTreeRow, root: str) -> StoredTree:
    entries = session.exec(
        select(TreeEntryRow)
        .where(col(TreeEntryRow.tree_id) == row.id)
        .order_by(col(TreeEntryRow.position))
    ).all()
    tree = Tree(
        ecosystem=Ecosystem(row.ecosystem),
        root=root,
        root_version=row.root_version,
        entries=tuple(
            TreeEntry(
                package=e.package,
                version=e.version,
                name=e.dep_name,
                spec=e.spec,
                via=tuple(json.loads(e.via_json)),
                kind=e.kind,
                condition=e.condition,
                floats=e.floats,
            )
            for e in entries
        ),
        gaps=tuple(json.loads(row.gaps_json)),
        source=row.source,
    )
    return StoredTree(tree, row.registry_url, row.stale, row.resolved_at)


def paths_to(
    session: Session, ecosystem: Ecosystem, package: str, old: str, new: str
) -> tuple[str, ...]:
    """How `package` at `old` is installed in the stored trees, as paths to `new`
    (`srv@1.0.0 → a@^1.0.0 → b 2.0.0 → 2.0.1`): what `watcher diff` of a dependency release
    names. Empty when no subscription's tree holds it."""

    def work() -> tuple[str, ...]:
        rows = session.exec(
            select(TreeEntryRow)
            .join(DependencyTreeRow, col(TreeEntryRow.tree_id) == col(DependencyTreeRow.id))
            .where(
                col(DependencyTreeRow.ecosystem) == ecosystem.value,
                col(TreeEntryRow.package) == package,
                col(TreeEntryRow.version) == old,
            )
            .order_by(col(TreeEntryRow.tree_id), col(TreeEntryRow.position))
        ).all()
        paths = (
            TreeEntry(
                package=e.package,
                version=new,
                name=e.dep_name,
                spec=e.spec,
                via=tuple(json.loads(e.via_json)),
            ).path(old)
            for e in rows
        )
        return tuple(dict.fromkeys(paths))

    return _read(session, "read dependency trees from", work)


def load_tree(session: Session, ecosystem: Ecosystem, name: str) -> StoredTree | None:
    """The subscription's stored tree (`name` as the subscription spells it), or None."""

    def work() -> StoredTree | None:
        row = _tree_row(session, ecosystem, name)
        return _stored(session, row, name) if row is not None else None

    return _read(session, "read a dependency tree from", work)


@dataclass(frozen=True, slots=True)
class TreeRoot:
    """What a cycle needs to know of a stored tree before deciding to read it whole."""

    root_version: str
    registry: str
    source: str
    stale: bool


def tree_roots(session: Session, ecosystem: Ecosystem, names: Iterable[str]) -> dict[str, TreeRoot]:
    """The stored trees' roots by normalised subscription name (one query per 500 names)."""
    keys = sorted({normalize_name(ecosystem, n) for n in names})

    def work() -> dict[str, TreeRoot]:
        found: dict[str, TreeRoot] = {}
        for start in range(0, len(keys), 500):
            rows = session.exec(
                select(DependencyTreeRow).where(
                    col(DependencyTreeRow.ecosystem) == ecosystem.value,
                    col(DependencyTreeRow.name).in_(keys[start : start + 500]),
                )
            ).all()
            for r in rows:
                found[r.name] = TreeRoot(r.root_version, r.registry_url, r.source, r.stale)
        return found

    return _read(session, "read dependency trees from", work)


def load_trees(
    session: Session, subscriptions: Iterable[tuple[Ecosystem, str]]
) -> dict[tuple[Ecosystem, str], StoredTree]:
    """The stored trees of these subscriptions (keyed as given), those that have one."""
    wanted = list(subscriptions)

    def work() -> dict[tuple[Ecosystem, str], StoredTree]:
        found: dict[tuple[Ecosystem, str], StoredTree] = {}
        for ecosystem, name in wanted:
            row = _tree_row(session, ecosystem, name)
            if row is not None:
                found[(ecosystem, name)] = _stored(session, row, name)
        return found

    return _read(session, "read dependency trees from", work)


def floating_packages(
    session: Session, ecosystem: Ecosystem, registry: str, names: Iterable[str]
) -> set[str]:
    """The packages the trees of these subscriptions (on this registry) resolved through a
    floating range: what a cycle polls (an exact version or a shrinkwrap pin cannot move;
    a tree left by a subscription no longer watched is not polled)."""
    keys = sorted({normalize_name(ecosystem, n) for n in names})

    def work() -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            found.update(
                session.exec(
                    select(col(TreeEntryRow.package))
                    .join(DependencyTreeRow, col(TreeEntryRow.tree_id) == col(DependencyTreeRow.id))
                    .where(
                        col(DependencyTreeRow.ecosystem) == ecosystem.value,
                        col(DependencyTreeRow.registry_url) == registry,
                        col(DependencyTreeRow.name).in_(keys[start : start + 500]),
                        col(TreeEntryRow.floats),
                    )
                    .distinct()
                ).all()
            )
        return found

    return _read(session, "read dependency packages from", work)


def trees_with(
    session: Session, ecosystem: Ecosystem, registry: str, packages: Iterable[str]
) -> set[str]:
    """Names (normalised) of the subscriptions whose tree has a floating entry of one of
    `packages`, plus those marked stale: the trees a cycle resolves again."""
    names = list(packages)

    def work() -> set[str]:
        found: set[str] = set()
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            found.update(
                session.exec(
                    select(DependencyTreeRow.name)
                    .join(TreeEntryRow, col(TreeEntryRow.tree_id) == col(DependencyTreeRow.id))
                    .where(
                        col(DependencyTreeRow.ecosystem) == ecosystem.value,
                        col(DependencyTreeRow.registry_url) == registry,
                        col(TreeEntryRow.floats),
                        col(TreeEntryRow.package).in_(chunk),
                    )
                    .distinct()
                ).all()
            )
        found.update(
            session.exec(
                select(DependencyTreeRow.name).where(
                    col(DependencyTreeRow.ecosystem) == ecosystem.value,
                    col(DependencyTreeRow.registry_url) == registry,
                    col(DependencyTreeRow.stale),
                )
            ).all()
        )
        return found

    return _read(session, "read dependency trees from", work)


def mark_stale(session: Session, ecosystem: Ecosystem, name: str) -> None:
    """Ask the next cycle to resolve this subscription's tree again."""

    def work() -> None:
        row = _tree_row(session, ecosystem, name)
        if row is not None:
            row.stale = True
            session.add(row)

    _write(session, "mark a dependency tree stale in", work)


def load_documents(
    session: Session, ecosystem: Ecosystem, registry: str, packages: Iterable[str] | None = None
) -> dict[str, CachedDoc]:
    """Kept documents by package (all of the registry's when `packages` is None)."""
    names = list(packages) if packages is not None else None

    def work() -> dict[str, CachedDoc]:
        query = select(DependencyDocumentRow).where(
            col(DependencyDocumentRow.ecosystem) == ecosystem.value,
            col(DependencyDocumentRow.registry_url) == registry,
        )
        rows: list[DependencyDocumentRow] = []
        if names is None:
            rows.extend(session.exec(query).all())
        else:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                rows.extend(
                    session.exec(query.where(col(DependencyDocumentRow.package).in_(chunk))).all()
                )
        return {
            r.package: CachedDoc(
                doc_from_json(json.loads(r.doc_json)), Validators(r.etag, r.last_modified)
            )
            for r in rows
        }

    return _read(session, "read dependency documents from", work)


def document_validators(
    session: Session, ecosystem: Ecosystem, registry: str
) -> dict[str, Validators]:
    """The validators of every kept document of the registry (what a poll sends back)."""

    def work() -> dict[str, Validators]:
        rows = session.exec(
            select(
                DependencyDocumentRow.package,
                DependencyDocumentRow.etag,
                DependencyDocumentRow.last_modified,
            ).where(
                col(DependencyDocumentRow.ecosystem) == ecosystem.value,
                col(DependencyDocumentRow.registry_url) == registry,
            )
        ).all()
        return {package: Validators(etag, modified) for package, etag, modified in rows}

    return _read(session, "read dependency documents from", work)


def save_documents(
    session: Session,
    ecosystem: Ecosystem,
    registry: str,
    docs: Mapping[str, CachedDoc],
    *,
    now: datetime | None = None,
) -> None:
    """Keep these documents (insert or replace), with their validators."""
    moment = _now(now)
    items = list(docs.items())

    def work() -> None:
        for start in range(0, len(items), 500):
            chunk = dict(items[start : start + 500])
            existing = {
                r.package: r
                for r in session.exec(
                    select(DependencyDocumentRow).where(
                        col(DependencyDocumentRow.ecosystem) == ecosystem.value,
                        col(DependencyDocumentRow.registry_url) == registry,
                        col(DependencyDocumentRow.package).in_(list(chunk)),
                    )
                ).all()
            }
            for package, cached in chunk.items():
                row = existing.get(package) or DependencyDocumentRow(
                    ecosystem=ecosystem.value,
                    registry_url=registry,
                    package=package,
                    doc_json="",
                    fetched_at=moment,
                )
                row.etag = cached.validators.etag
                row.last_modified = cached.validators.last_modified
                row.doc_json = json.dumps(doc_to_json(cached.doc), separators=(",", ":"))
                row.fetched_at = moment
                session.add(row)

    _write(session, "save dependency documents to", work)


@dataclass(frozen=True, slots=True)
class DependencyHistoryEntry:
    """A dependency release analysed for a subscription's tree, as `history` shows it."""

    package: str
    path: str
    analysis: AnalysisSummary


def record_dependency_releases(
    session: Session,
    ecosystem: Ecosystem,
    analysis_id: int,
    paths: Sequence[tuple[str, str]],
    *,
    now: datetime | None = None,
) -> None:
    """Link an analysis to the subscriptions (name, path) whose tree holds it; once each."""
    moment = _now(now)

    def work() -> None:
        known = set(
            session.exec(
                select(DependencyReleaseRow.name).where(
                    col(DependencyReleaseRow.ecosystem) == ecosystem.value,
                    col(DependencyReleaseRow.analysis_id) == analysis_id,
                )
            ).all()
        )
        for name, path in paths:
            key = normalize_name(ecosystem, name)
            if key in known:
                continue
            known.add(key)
            session.add(
                DependencyReleaseRow(
                    ecosystem=ecosystem.value,
                    name=key,
                    analysis_id=analysis_id,
                    path=path,
                    created_at=moment,
                )
            )

    _write(session, "record dependency releases in", work)


def dependency_history(
    session: Session, ecosystem: Ecosystem, name: str
) -> list[DependencyHistoryEntry]:
    """The dependency releases analysed for the subscription's tree, oldest first."""
    key = normalize_name(ecosystem, name)

    def work() -> list[DependencyHistoryEntry]:
        links = session.exec(
            select(DependencyReleaseRow)
            .where(
                col(DependencyReleaseRow.ecosystem) == ecosystem.value,
                col(DependencyReleaseRow.name) == key,
            )
            .order_by(col(DependencyReleaseRow.created_at), col(DependencyReleaseRow.id))
        ).all()
        ids = [link.analysis_id for link in links]
        if not ids:
            return []
        analyses = {
            a.id: a for a in session.exec(select(AnalysisRow).where(col(AnalysisRow.id).in_(ids)))
        }
        alerts: dict[int, list[AlertSummary]] = {}
        for alert in session.exec(
            select(AlertRow).where(col(AlertRow.analysis_id).in_(ids)).order_by(col(AlertRow.id))
        ):
            assert alert.analysis_id is not None and alert.id is not None
            alerts.setdefault(alert.analysis_id, []).append(
                AlertSummary(
                    id=alert.id,
                    channel=alert.channel,
                    status=AlertStatus(alert.status),
                    attempts=alert.attempts,
                    last_error=alert.last_error,
                    created_at=alert.created_at,
                    sent_at=alert.sent_at,
                    delivered_via=alert.delivered_via,
                )
            )
        found: list[DependencyHistoryEntry] = []
        for link in links:
            a = analyses.get(link.analysis_id)
            if a is None or a.id is None:
                continue
            found.append(
                DependencyHistoryEntry(
                    package=a.name,
                    path=link.path,
                    analysis=AnalysisSummary(
                        id=a.id,
                        old_version=a.old_version or None,
                        new_version=a.new_version,
                        rules_version=a.rules_version,
                        score=a.score,
                        severity=Severity(a.severity),
                        created_at=a.created_at,
                        alerts=tuple(alerts.get(a.id, ())),
                    ),
                )
            )
        return found

    return _read(session, "read dependency history from", work)


def claim_tree_cycle(
    session: Session,
    ecosystem: Ecosystem,
    registry: str,
    owner: str,
    now: datetime,
    *,
    lease_seconds: float = 600,
    due_only: bool = True,
) -> bool:
    """Lease the registry's trees to `owner`; False when another holder's lease is live (or,
    with `due_only`, when the next cycle is not due yet). `finish_tree_cycle` ends the lease;
    a crashed holder's lease expires after `lease_seconds`."""
    moment = _aware(now, "now")
    until = moment + timedelta(seconds=lease_seconds)

    def work() -> bool:
        row = session.exec(
            select(TreeCycleRow)
            .where(
                col(TreeCycleRow.ecosystem) == ecosystem.value,
                col(TreeCycleRow.registry_url) == registry,
            )
            .with_for_update()
        ).first()
        if row is None:
            row = TreeCycleRow(ecosystem=ecosystem.value, registry_url=registry, next_run_at=moment)
        elif row.lease_until is not None and row.lease_until > moment and row.lease_owner != owner:
            return False
        elif due_only and row.next_run_at > moment:
            return False
        row.lease_owner, row.lease_until = owner, until
        session.add(row)
        return True

    return _write(session, "claim dependency trees in", work)


def finish_tree_cycle(
    session: Session, ecosystem: Ecosystem, registry: str, owner: str, next_run_at: datetime
) -> None:
    """End `owner`'s lease on the registry's trees; the next cycle is due at `next_run_at`."""

    def work() -> None:
        row = session.exec(
            select(TreeCycleRow).where(
                col(TreeCycleRow.ecosystem) == ecosystem.value,
                col(TreeCycleRow.registry_url) == registry,
            )
        ).first()
        if row is not None and row.lease_owner == owner:
            row.lease_owner, row.lease_until = None, None
            row.next_run_at = next_run_at
            session.add(row)

    _write(session, "release dependency trees in", work)


@dataclass(frozen=True, slots=True)
class InstalledDependencyRelease:
    """A dependency release analysed for a subscription's tree that the tree still resolves to."""

    name: str
    package: str
    old_version: str | None
    new_version: str
    severity: Severity
    score: int
    path: str


def installed_dependency_releases(
    session: Session, ecosystem: Ecosystem, names: Iterable[str], rules_version: str
) -> list[InstalledDependencyRelease]:
    """Per subscription (normalised `names`), the dependency releases analysed under
    `rules_version` that its stored tree still installs and nobody approved, oldest first."""
    keys = sorted({normalize_name(ecosystem, n) for n in names})

    def work() -> list[InstalledDependencyRelease]:
        found: list[InstalledDependencyRelease] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            # Columns, not rows: an analysis row carries its whole report.
            rows = session.execute(
                sa_select(
                    col(DependencyReleaseRow.name),
                    col(DependencyReleaseRow.path),
                    col(AnalysisRow.name),
                    col(AnalysisRow.old_version),
                    col(AnalysisRow.new_version),
                    col(AnalysisRow.severity),
                    col(AnalysisRow.score),
                )
                .join(AnalysisRow, col(AnalysisRow.id) == col(DependencyReleaseRow.analysis_id))
                .where(
                    col(DependencyReleaseRow.ecosystem) == ecosystem.value,
                    col(DependencyReleaseRow.name).in_(chunk),
                    col(AnalysisRow.rules_version) == rules_version,
                )
                .order_by(col(DependencyReleaseRow.created_at), col(DependencyReleaseRow.id))
            ).all()
            if not rows:
                continue
            installed = set(
                session.exec(
                    select(DependencyTreeRow.name, TreeEntryRow.package, TreeEntryRow.version)
                    .join(TreeEntryRow, col(TreeEntryRow.tree_id) == col(DependencyTreeRow.id))
                    .where(
                        col(DependencyTreeRow.ecosystem) == ecosystem.value,
                        col(DependencyTreeRow.name).in_(chunk),
                        col(TreeEntryRow.package).in_({r[2] for r in rows}),
                    )
                ).all()
            )
            # A reviewer's `watcher approve PACKAGE VERSION` clears it, like any approval.
            approved = set(
                session.exec(
                    select(ApprovalRow.name, ApprovalRow.to_version).where(
                        col(ApprovalRow.ecosystem) == ecosystem.value,
                        col(ApprovalRow.name).in_({r[2] for r in rows}),
                    )
                ).all()
            )
            found.extend(
                InstalledDependencyRelease(
                    name=name,
                    package=package,
                    old_version=old or None,
                    new_version=new,
                    severity=Severity(severity),
                    score=score,
                    path=path,
                )
                for name, path, package, old, new, severity, score in rows
                if (name, package, new) in installed and (package, new) not in approved
            )
        return found

    return _read(session, "read dependency releases from", work)
