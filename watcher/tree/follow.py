"""One cycle over the subscriptions' dependency trees: poll, resolve again, analyse, alert.

1. Every package some tree resolved through a floating range is asked for once per registry
   (conditionally: a 304 reads nothing else), however many trees share it.
2. The trees that hold a package whose document changed (or that a failed analysis left
   stale) are resolved again; a subscription without a tree, or whose pin moved, gets its
   first one (a baseline: nothing to compare with, nothing alerted).
3. Each release a tree now resolves to and did not before is analysed once with the
   release pipeline, against the version it replaced (a package new to the tree is scanned
   as a first release), and queued to the channels of every subscription whose tree it is in
   that it reaches `fail_on` for, with each path. The analysis and its outbox rows are one
   transaction under the store's unique key (`repo.record_analysis_with_alerts`), so a second
   cycle or another `watcher run` instance does not queue it again.
4. A tree moves on only when every change in it was analysed; otherwise it is marked stale
   and resolved again next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlmodel import Session

from watcher.artifacts.extract import installed_view
from watcher.artifacts.manifest import parse_manifest
from watcher.errors import WatcherError
from watcher.models import ArtifactKind, Ecosystem, Report
from watcher.pipeline import Sources, diff_release, scan_release, select_artifacts
from watcher.registries.npm import NpmRegistry
from watcher.registries.pypi import PypiRegistry
from watcher.store import repo, trees
from watcher.store.db import Store
from watcher.subscriptions import Subscription, normalize_name
from watcher.tree.catalog import CachedDoc, CatalogStats, RegistryCatalog
from watcher.tree.changes import TreeChange, tree_changes
from watcher.tree.model import DEFAULT_BOUNDS, Bounds, Tree
from watcher.tree.resolve import SHRINKWRAP, resolve_tree

__all__ = ["DependencyRelease", "TreeCycle", "follow_trees"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DependencyRelease:
    """One dependency release a cycle analysed, and whose trees it is in."""

    ecosystem: Ecosystem
    package: str
    old_version: str | None
    new_version: str
    subscriptions: tuple[str, ...]
    paths: tuple[str, ...]
    report: Report | None = None
    created: bool = False
    alert_ids: tuple[int, ...] = ()
    error: str | None = None


@dataclass(slots=True)
class TreeCycle:
    """What one cycle did: releases analysed, trees resolved, what was asked of registries."""

    releases: list[DependencyRelease] = field(default_factory=list)
    resolved: int = 0
    packages: int = 0
    #: Registries whose trees another process is following (or, for the daemon, not due).
    skipped: int = 0
    stats: CatalogStats = field(default_factory=CatalogStats)


#: Decides whether a report alerts a subscription (the watch cycle's `fail_on` rule).
AlertsFor = Callable[[Report, Subscription], bool]


def follow_trees(
    store: Store,
    subscriptions: Sequence[Subscription],
    sources_factory: Callable[[Subscription], Sources],
    now: datetime,
    *,
    rules: str,
    alerts_for: AlertsFor,
    owner: str,
    due_only: bool = False,
    next_in: Callable[[float], float] = float,
    bounds: Bounds = DEFAULT_BOUNDS,
) -> TreeCycle:
    """One cycle over the trees of `subscriptions` (see the module docstring).

    The trees of one registry are followed by one process at a time: each registry is leased
    to `owner` through the store (`trees.claim_tree_cycle`), so several `watcher run`
    instances on one PostgreSQL database share the registries instead of repeating each
    other's requests. With `due_only` (the daemon) a registry whose next cycle is not due is
    skipped; the next one is due after `next_in(shortest interval of its subscriptions)`.
    """
    cycle = TreeCycle()
    groups: dict[tuple[Ecosystem, str], list[Subscription]] = {}
    for sub in subscriptions:
        groups.setdefault((sub.ecosystem, sub.registry or ""), []).append(sub)
    for (ecosystem, registry), subs in groups.items():
        sources = sources_factory(subs[0])
        if not isinstance(sources.registry, NpmRegistry | PypiRegistry):
            continue
        session = store.session()
        try:
            if not trees.claim_tree_cycle(
                session, ecosystem, registry, owner, now, due_only=due_only
            ):
                cycle.skipped += 1
                continue
            group = _Group(
                store, ecosystem, registry, subs, sources, now, rules, alerts_for, bounds
            )
            group.run(cycle)
            interval = min(s.interval_seconds for s in subs)
            trees.finish_tree_cycle(
                session, ecosystem, registry, owner, now + timedelta(seconds=next_in(interval))
            )
        finally:
            session.close()
    return cycle


class _Group:
    """The subscriptions of one registry, which share its documents."""

    def __init__(
        self,
        store: Store,
        ecosystem: Ecosystem,
        registry: str,
        subs: list[Subscription],
        sources: Sources,
        now: datetime,
        rules: str,
        alerts_for: AlertsFor,
        bounds: Bounds,
    ) -> None:
        self.store = store
        self.ecosystem = ecosystem
        self.registry = registry
        self.subs = {normalize_name(ecosystem, s.name): s for s in subs}
        self.sources = sources
        self.now = now
        self.rules = rules
        self.alerts_for = alerts_for
        self.bounds = bounds

    def run(self, cycle: TreeCycle) -> None:
        session = self.store.session()
        try:
            self._run(session, cycle)
        finally:
            session.close()

    def _run(self, session: Session, cycle: TreeCycle) -> None:
        eco, registry = self.ecosystem, self.registry
        roots = trees.tree_roots(session, eco, [s.name for s in self.subs.values()])
        pins = repo.current_pins(session, [(eco, s.name) for s in self.subs.values()])

        def load(key: str) -> CachedDoc | None:
            return trees.load_documents(session, eco, registry, [key]).get(key)

        assert isinstance(self.sources.registry, NpmRegistry | PypiRegistry)
        catalog = RegistryCatalog(
            self.sources.registry,
            validators=trees.document_validators(session, eco, registry),
            load=load,
            read_requires=self._requires_from_artifact if eco is Ecosystem.PYPI else None,
        )
        polled = sorted(
            trees.floating_packages(session, eco, registry, [s.name for s in self.subs.values()])
        )
        cycle.packages += len(polled)
        for package in polled:
            try:
                catalog.poll(package)
            except WatcherError as e:
                logger.warning("dependency %s/%s not polled: %s", eco.value, package, e)
        again = trees.trees_with(session, eco, registry, catalog.moved)
        pending: dict[tuple[str, str | None, str], list[tuple[Subscription, TreeChange]]] = {}
        resolved: dict[str, Tree] = {}
        picks: dict[tuple[str, str], str | None] = {}
        for key, sub in self.subs.items():
            pin = pins.get((eco, key))
            version = pin.version if pin is not None else sub.pinned
            root = roots.get(key)
            baseline = root is None or root.root_version != version or root.registry != registry
            if not baseline and key not in again:
                continue
            # Read whole only when resolved again: a warm cycle reads no tree at all.
            old = None if baseline else trees.load_tree(session, eco, sub.name)
            try:
                shrinkwrap = None
                if baseline and self.ecosystem is Ecosystem.NPM:
                    # Read first: the registry client keeps the packument, so the release's
                    # tarball is found without asking for it again.
                    catalog.document(sub.name)
                    shrinkwrap = self._shrinkwrap(sub.name, version)
                tree = resolve_tree(
                    catalog,
                    sub.name,
                    version,
                    shrinkwrap=shrinkwrap,
                    bounds=self.bounds,
                    picks=picks,
                    platforms=sub.platforms,
                )
            except WatcherError as e:
                logger.warning("dependency tree of %s@%s not resolved: %s", sub.name, version, e)
                continue
            if old is not None and old.tree.source == SHRINKWRAP and not baseline:
                tree = old.tree  # a shrinkwrap pins every version: nothing floats
            cycle.resolved += 1
            if baseline or old is None:
                trees.save_tree(session, tree, registry, now=self.now)
                logger.info(
                    "dependency tree of %s: %d packages (%s)",
                    tree.label,
                    len(tree.entries),
                    tree.source,
                )
                continue
            resolved[key] = tree
            for change in tree_changes(old.tree, tree):
                pending.setdefault((change.package, change.old, change.new), []).append(
                    (sub, change)
                )
        failed: set[str] = set()
        for (package, old_version, new_version), where in pending.items():
            release = self._analyse(session, package, old_version, new_version, where)
            cycle.releases.append(release)
            if release.error is not None:
                failed.update(normalize_name(eco, s.name) for s, _ in where)
        for key, tree in resolved.items():
            if key in failed:
                trees.mark_stale(session, eco, self.subs[key].name)
            else:
                trees.save_tree(session, tree, registry, now=self.now)
        if catalog.changed:
            trees.save_documents(
                session,
                eco,
                registry,
                {k: catalog.known[k] for k in catalog.changed},
                now=self.now,
            )
        cycle.stats.requests += catalog.stats.requests
        cycle.stats.not_modified += catalog.stats.not_modified

    def _shrinkwrap(self, name: str, version: str) -> bytes | None:
        """The release's npm-shrinkwrap.json, read from its tarball; None when it ships none
        (or the tarball cannot be read: the ranges are resolved instead)."""
        if self.ecosystem is not Ecosystem.NPM:
            return None
        try:
            release = self.sources.registry.release(name, version)
            for ref in release.artifacts:
                data = self.sources.fetcher.fetch(ref)
                snapshot = installed_view(data, ref.filename, self.sources.limits)
                entry = snapshot.files.get(SHRINKWRAP)
                if entry is not None:
                    return entry.data
        except WatcherError as e:
            logger.warning("%s@%s: %s not read, ranges resolved: %s", name, version, SHRINKWRAP, e)
        return None

    def _requires_from_artifact(self, name: str, version: str) -> tuple[str, ...] | None:
        """A PyPI release's `Requires-Dist`, read from its wheel (else sdist) metadata."""
        release = self.sources.registry.release(name, version)
        refs = select_artifacts(release, every=False)
        refs.sort(key=lambda ref: ref.kind is not ArtifactKind.WHEEL)
        for ref in refs[:1]:
            snapshot = installed_view(
                self.sources.fetcher.fetch(ref), ref.filename, self.sources.limits
            )
            if not snapshot.files:
                return None
            requires = parse_manifest(snapshot).dependencies
            return tuple(
                f"{dep} {spec}" if spec.startswith("@") else f"{dep}{spec}"
                for dep, spec in requires.items()
            )
        return None

    def _analyse(
        self,
        session: Session,
        package: str,
        old_version: str | None,
        new_version: str,
        where: list[tuple[Subscription, TreeChange]],
    ) -> DependencyRelease:
        subs = tuple(dict.fromkeys(s.name for s, _ in where))
        paths = tuple(dict.fromkeys(change.path for _, change in where))
        base = DependencyRelease(self.ecosystem, package, old_version, new_version, subs, paths)
        try:
            if old_version is not None:
                report = diff_release(self.sources, package, old_version, new_version)
            else:
                report = scan_release(self.sources, package, new_version)
        except WatcherError as e:
            logger.warning(
                "dependency %s %s → %s not analysed: %s",
                package,
                old_version,
                new_version,
                e.diagnostics(),
            )
            return replace(base, error=e.diagnostics())
        report = replace(report, dependency_paths=paths)
        channels: list[str] = []
        for sub, _ in where:
            if self.alerts_for(report, sub):
                channels.extend(c for c in sub.notify if c not in channels)
        record = repo.record_analysis_with_alerts(
            session, report, channels, self.rules, now=self.now
        )
        trees.record_dependency_releases(
            session,
            self.ecosystem,
            record.id,
            [(sub.name, change.path) for sub, change in where],
            now=self.now,
        )
        logger.info(
            "dependency %s %s → %s (%s): %s score %d%s",
            package,
            old_version or "(new)",
            new_version,
            "; ".join(paths),
            report.severity.value,
            report.score,
            f", {len(record.alert_ids)} alert(s) queued" if record.created and channels else "",
        )
        return replace(
            base,
            report=report,
            created=record.created,
            alert_ids=record.alert_ids if record.created else (),
        )
