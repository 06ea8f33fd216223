"""Fetch and analyse the dependencies a release adds or changes (the event-stream case).

A dependency's code runs in the consumer's process just like the package's own, so its
findings count towards the parent's verdict. New dependencies are scanned as first releases;
a dependency whose spec changed (range, re-pin) is diffed against the release its old spec
resolved to, so only what changed in it is news; an `npm:` alias re-pointed to another
package is that other package, scanned as new. The work is bounded: direct dependencies only
(a dependency's own dependencies are not followed), at most `MAX_DEPENDENCIES` per release, a
smaller download cap than the parent's, and a cap on findings carried over. Nothing here
raises for a dependency that cannot be resolved or fetched: the failure is recorded on its
`DependencyScan` for the `manifest.dependency-unscanned` rule.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from watcher import gaps
from watcher.deps.bundled import declared_bundled
from watcher.deps.resolve import (
    AddedDependency,
    ChangedDependency,
    Unresolvable,
    added_dependencies,
    as_of,
    candidates,
    changed_dependencies,
)
from watcher.errors import RegistryUnavailable, WatcherError
from watcher.models import (
    ArtifactDiff,
    DependencyChange,
    DependencyScan,
    Ecosystem,
    Finding,
    PackageInfo,
    Report,
    Severity,
)

if TYPE_CHECKING:
    from watcher.pipeline import Sources

logger = logging.getLogger(__name__)

#: New and changed dependencies analysed per release; the rest are reported as not scanned
#: (and as a gap). Real MCP server releases add 2–5; a new major can add 30.
MAX_DEPENDENCIES = 40
#: Download cap for one dependency artifact (never above the parent's own cap).
MAX_DEPENDENCY_BYTES = 64 * 1024 * 1024
#: A dependency's findings carried into the parent report, worst first.
MAX_FINDINGS = 20
#: A dependency with this many versions over this many days, resolved to a version at least
#: `FRESH_VERSION` older than its newest, is established: its findings are capped at LOW.
ESTABLISHED_VERSIONS = 10
ESTABLISHED_AGE = timedelta(days=365)
FRESH_VERSION = timedelta(days=30)
#: PyPI candidates tried when the best one is wholly yanked (pip skips yanked releases).
_YANKED_TRIES = 3
#: Why a local diff's dependencies were not scanned when no registry was given.
NO_REGISTRY = "not scanned: no registry configured for local artifacts"

ScanFn = Callable[["Sources", str, str], Report]
DiffFn = Callable[["Sources", str, str, str], Report]

#: Set while a dependency is analysed: its own dependencies are not followed (direct only).
_INSIDE: ContextVar[bool] = ContextVar("inside_dependency_scan", default=False)

Work = AddedDependency | ChangedDependency


@contextmanager
def without_dependencies() -> Iterator[None]:
    """Analyses inside the block scan no dependencies: a dependency's own analysis (direct
    dependencies only), or a benchmark timing a release's own analysis."""
    token = _INSIDE.set(True)
    try:
        yield
    finally:
        _INSIDE.reset(token)


def scan_dependencies(
    ecosystem: Ecosystem,
    sources: Sources | None,
    diffs: Sequence[ArtifactDiff],
    scan: ScanFn,
    diff: DiffFn,
    *,
    published: datetime | None = None,
) -> tuple[DependencyScan, ...]:
    """Resolve and analyse every registry dependency `diffs` add or change.

    `scan` is `scan_release` and `diff` is `diff_release`, passed in rather than imported
    because the pipeline calls this module. `published` is when the new release was
    published: a changed spec's old side is resolved as the registry stood then. Without
    `sources` (a local diff with no registry) every such dependency is reported unscanned.
    Inside a dependency's own analysis this returns nothing: direct dependencies only.
    """
    if _INSIDE.get():
        return ()
    bundled = declared_bundled(diffs) if ecosystem is Ecosystem.NPM else frozenset()
    work: list[Work] = [
        *added_dependencies(ecosystem, diffs, bundled),
        *changed_dependencies(ecosystem, diffs, bundled),
    ]
    if not work:
        return ()
    if sources is None or sources.registry.ecosystem is not ecosystem:
        return tuple(_unscanned(item, NO_REGISTRY) for item in work)
    bounded = dataclasses.replace(
        sources,
        fetcher=dataclasses.replace(
            sources.fetcher, max_bytes=min(sources.fetcher.max_bytes, MAX_DEPENDENCY_BYTES)
        ),
        every_artifact=False,
    )
    results: list[DependencyScan] = []
    down: str | None = None
    with without_dependencies():
        for item in work[:MAX_DEPENDENCIES]:
            if down is not None:
                # One unreachable registry is not retried once per dependency.
                results.append(_unscanned(item, down))
                continue
            try:
                results.append(
                    _scan_one(bounded, ecosystem, item, scan)
                    if isinstance(item, AddedDependency)
                    else _scan_changed(bounded, ecosystem, item, scan, diff, published)
                )
            # The registry is down: this and the remaining dependencies are reported
            # unscanned (low), never the parent's report lost.
            except RegistryUnavailable as e:  # not a gap: reported as dependency-unscanned
                logger.info("dependency scan stopped: %s", e)
                down = f"not scanned: {e.diagnostics()}"
                results.append(_unscanned(item, down))
    skipped = work[MAX_DEPENDENCIES:]
    results.extend(
        _unscanned(
            item, f"not scanned: only the first {MAX_DEPENDENCIES} new or changed dependencies are"
        )
        for item in skipped
    )
    if skipped:
        # Their code runs in the same process as the package's: unscanned is not clean.
        names = ", ".join(_target(item).name for item in skipped[:5])
        gaps.record(
            f"{len(skipped)} new or changed dependencies over the {MAX_DEPENDENCIES}-dependency "
            f"scan cap were not scanned ({names}{', ...' if len(skipped) > 5 else ''})"
        )
    return tuple(results)


def _target(item: Work) -> AddedDependency:
    return item if isinstance(item, AddedDependency) else item.new


def _change(item: Work) -> DependencyChange:
    if isinstance(item, AddedDependency):
        return DependencyChange.ADDED
    return DependencyChange.REPOINTED if item.repointed else DependencyChange.CHANGED


def _unscanned(item: Work, why: str) -> DependencyScan:
    dep = _target(item)
    return DependencyScan(dep.name, dep.spec, error=why, change=_change(item))


def _resolve(
    sources: Sources, ecosystem: Ecosystem, dep: AddedDependency, result: DependencyScan
) -> tuple[DependencyScan, PackageInfo, str]:
    """The version an install of `dep` picks now, recorded on `result` with its dates."""
    package = sources.registry.package(dep.package)
    version = _pick(sources, ecosystem, dep, package)
    result = dataclasses.replace(
        result,
        first_published=_first_published(package),
        version=version,
        published_at=package.versions.get(version),
    )
    return result, package, version


def _scan_changed(
    sources: Sources,
    ecosystem: Ecosystem,
    item: ChangedDependency,
    scan: ScanFn,
    diff: DiffFn,
    published: datetime | None,
) -> DependencyScan:
    """A changed spec: diffed against the old spec's release when it is the same package."""
    dep, old = item.new, item.old
    if old is None or item.repointed:
        scanned = _scan_one(sources, ecosystem, dep, scan)
        return dataclasses.replace(scanned, change=_change(item))
    result = DependencyScan(dep.name, dep.spec, change=DependencyChange.CHANGED)
    try:
        result, package, version = _resolve(sources, ecosystem, dep, result)
        try:
            before = _pick(sources, ecosystem, old, as_of(package, published))
        # The old spec matched nothing then (or cannot be read): nothing to diff against,
        # so the dependency is scanned as a first release, as a new one would be.
        except Unresolvable:  # not a gap: scanned in full instead
            scanned = _scan_one(sources, ecosystem, dep, scan)
            return dataclasses.replace(scanned, change=DependencyChange.CHANGED)
        if before == version:
            # The same release installs before and after: nothing new runs.
            return dataclasses.replace(result, old_version=before)
        result = dataclasses.replace(result, old_version=before)
        report = diff(sources, dep.package, before, version)
    except Unresolvable as e:  # not a gap: reported as manifest.dependency-unscanned
        return dataclasses.replace(result, error=str(e))
    except RegistryUnavailable:  # not a gap: scan_dependencies reports the rest unscanned
        raise
    # Any domain error (not found, integrity mismatch) costs this dependency's analysis,
    # never the parent's report.
    # not a gap: reported as manifest.dependency-unscanned
    except WatcherError as e:
        logger.info("dependency %s not scanned: %s", result.label, e)
        return dataclasses.replace(result, error=e.diagnostics())
    if result.published_at is None:
        result = dataclasses.replace(
            result, published_at=_release_time(sources, dep.package, version)
        )
    label = f"{dep.package}@{version}"
    # Diffed, so only what changed in the dependency is news: no cap at LOW. An established
    # package resolved to a version out for a while is one step weaker (glob 10 → 13 starts
    # shipping minified bundles); a fresh version of it (a hijack) keeps full weight.
    weaker = _established(package, result.published_at)
    # The new range is the parent author's choice: a jump across majors is what they asked for.
    news = [f for f in report.findings if f.rule not in _DELIBERATE]
    return dataclasses.replace(
        result,
        findings=tuple(_via(f, label, was=before, weaker=weaker) for f in news[:MAX_FINDINGS]),
    )


#: Findings of a diffed dependency that the parent's own spec change explains.
_DELIBERATE = frozenset({"meta.version-jump"})


def _scan_one(
    sources: Sources, ecosystem: Ecosystem, dep: AddedDependency, scan: ScanFn
) -> DependencyScan:
    result = DependencyScan(dep.name, dep.spec)
    try:
        result, package, version = _resolve(sources, ecosystem, dep, result)
        report = scan(sources, dep.package, version)
    except Unresolvable as e:  # not a gap: reported as manifest.dependency-unscanned
        return dataclasses.replace(result, error=str(e))
    except RegistryUnavailable:  # not a gap: scan_dependencies reports the rest unscanned
        raise
    # Any domain error (not found, integrity mismatch, hostile archive) costs this
    # dependency's scan, never the parent's report.
    # not a gap: reported as manifest.dependency-unscanned
    except WatcherError as e:
        logger.info("dependency %s not scanned: %s", result.label, e)
        return dataclasses.replace(result, error=e.diagnostics())
    if result.published_at is None:
        # Fall back to the release document's own time (some indexes only have it there).
        published = _release_time(sources, dep.package, version)
        result = dataclasses.replace(result, published_at=published)
    label = f"{dep.package}@{version}"
    established = _established(package, result.published_at)
    return dataclasses.replace(
        result,
        findings=tuple(
            _via(f, label, established=established) for f in report.findings[:MAX_FINDINGS]
        ),
    )


def _established(package: PackageInfo, published: datetime | None) -> bool:
    """A long-published package with a long history, resolved to a version that is not new.

    Scanned as a first release, all its code reads as new: sharp's install hook and
    environment reads would make every release that adopts sharp critical. The hijacked-old-
    package case (ua-parser-js 0.7.29) resolves to a fresh version and keeps full weight.
    """
    first = _first_published(package)
    if first is None or published is None:
        return False
    # Against now, not the parent's publish time: the range is resolved against today's
    # registry too, so an old parent release still gets today's version of the dependency.
    now = datetime.now(UTC)
    return (
        len(package.versions) >= ESTABLISHED_VERSIONS
        and now - first >= ESTABLISHED_AGE
        and now - published >= FRESH_VERSION
    )


def _pick(
    sources: Sources, ecosystem: Ecosystem, dep: AddedDependency, package: PackageInfo
) -> str:
    options = candidates(ecosystem, dep.range, package)
    if ecosystem is not Ecosystem.PYPI:
        return options[0]
    for version in options[:_YANKED_TRIES]:
        if not sources.registry.release(dep.package, version).yanked:
            return version
    return options[0]


def _release_time(sources: Sources, name: str, version: str) -> datetime | None:
    try:
        return sources.registry.release(name, version).published_at
    except WatcherError:  # not a gap: a publish time is metadata, not code
        return None


def _first_published(package: PackageInfo) -> datetime | None:
    if package.created is not None:
        return package.created
    known = [t for t in package.versions.values() if t is not None]
    return min(known) if known else None


def _via(
    finding: Finding,
    label: str,
    *,
    established: bool = False,
    was: str | None = None,
    weaker: bool = False,
) -> Finding:
    if not established:
        path = f"{label} (was {was})" if was is not None else label
        return dataclasses.replace(
            finding,
            via=label,
            severity=finding.severity.step_down(weaker),
            message=f"via {'established ' * weaker}dependency {path}: {finding.message}",
        )
    # Kept for the reviewer, but at LOW: below every critical combination's threshold.
    return dataclasses.replace(
        finding,
        via=label,
        severity=min(finding.severity, Severity.LOW),
        message=f"via established dependency {label}: {finding.message}",
    )
