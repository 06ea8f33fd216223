"""Reading and writing dependency trees and the documents they were resolved from.

Like `repo`: dataclasses in and out (`watcher.tree`), one transaction per call, database errors
as `StoreError`. Trees are keyed by subscription (ecosystem, normalised name); documents by
(ecosystem, registry, package), since two registries may serve different packages by one name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from watcher.models import Ecosystem
from watcher.registries import Validators
from watcher.store.repo import _now, _read, _write
from watcher.store.tables import DependencyDocumentRow, DependencyTreeRow, TreeEntryRow
from watcher.subscriptions import normalize_name
from watcher.tree.catalog import CachedDoc, doc_from_json, doc_to_json
from watcher.tree.model import Tree, TreeEntry

__all__ = [
    "StoredTree",
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
        session.add_all(
            TreeEntryRow(
                tree_id=row.id,
                position=i,
                package=e.package,
                version=e.version,
                dep_name=e.name,
                spec=e.spec,
                via_json=json.dumps(list(e.via)),
                kind=e.kind,
                condition=e.condition,
                floats=e.floats,
            )
            for i, e in enumerate(tree.entries)
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


def load_tree(session: Session, ecosystem: Ecosystem, name: str) -> StoredTree | None:
    """The subscription's stored tree (`name` as the subscription spells it), or None."""

    def work() -> StoredTree | None:
        row = _tree_row(session, ecosystem, name)
        return _stored(session, row, name) if row is not None else None

    return _read(session, "read a dependency tree from", work)


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


def floating_packages(session: Session) -> dict[tuple[Ecosystem, str], set[str]]:
    """(ecosystem, registry) → the packages some tree resolved through a floating range:
    what a cycle polls (an exact version or a shrinkwrap pin cannot move)."""

    def work() -> dict[tuple[Ecosystem, str], set[str]]:
        rows = session.exec(
            select(
                col(DependencyTreeRow.ecosystem),
                col(DependencyTreeRow.registry_url),
                col(TreeEntryRow.package),
            )
            .join(TreeEntryRow, col(TreeEntryRow.tree_id) == col(DependencyTreeRow.id))
            .where(col(TreeEntryRow.floats))
            .distinct()
        ).all()
        found: dict[tuple[Ecosystem, str], set[str]] = {}
        for eco, registry, package in rows:
            found.setdefault((Ecosystem(eco), str(registry)), set()).add(str(package))
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
