"""Fetch and scan the dependencies a release adds, as first releases (the event-stream case).

A new dependency's code runs in the consumer's process just like the package's own, so its
findings count towards the parent's verdict. The work is bounded: direct dependencies only
(the dependency's own new dependencies are not followed), at most `MAX_DEPENDENCIES` per
release, a smaller download cap than the parent's, and a cap on findings carried over.
Nothing here raises for a dependency that cannot be resolved or fetched: the failure is
recorded on its `DependencyScan` for the `manifest.dependency-unscanned` rule.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from watcher import gaps
from watcher.deps.resolve import AddedDependency, Unresolvable, added_dependencies, candidates
from watcher.errors import WatcherError
from watcher.models import (
    ArtifactDiff,
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

#: New dependencies scanned per release; the rest are reported as not scanned.
MAX_DEPENDENCIES = 10
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

ScanFn = Callable[["Sources", str, str], Report]


def scan_dependencies(
    sources: Sources, diffs: Sequence[ArtifactDiff], scan: ScanFn
) -> tuple[DependencyScan, ...]:
    """Resolve and scan every registry dependency `diffs` add; `scan` is `scan_release`.

    `scan` is passed in rather than imported because the pipeline calls this module.
    """
    ecosystem = sources.registry.ecosystem
    added = added_dependencies(ecosystem, diffs)
    if not added:
        return ()
    bounded = dataclasses.replace(
        sources,
        fetcher=dataclasses.replace(
            sources.fetcher, max_bytes=min(sources.fetcher.max_bytes, MAX_DEPENDENCY_BYTES)
        ),
    )
    results = [_scan_one(bounded, ecosystem, dep, scan) for dep in added[:MAX_DEPENDENCIES]]
    skipped = added[MAX_DEPENDENCIES:]
    results.extend(
        DependencyScan(
            dep.name,
            dep.spec,
            error=f"not scanned: only the first {MAX_DEPENDENCIES} new dependencies are",
        )
        for dep in skipped
    )
    if skipped:
        # Their code runs in the same process as the package's: unscanned is not clean.
        names = ", ".join(dep.name for dep in skipped[:5])
        gaps.record(
            f"{len(skipped)} new dependencies over the {MAX_DEPENDENCIES}-dependency scan cap "
            f"were not scanned ({names}{', ...' if len(skipped) > 5 else ''})"
        )
    return tuple(results)


def _scan_one(
    sources: Sources, ecosystem: Ecosystem, dep: AddedDependency, scan: ScanFn
) -> DependencyScan:
    result = DependencyScan(dep.name, dep.spec)
    try:
        package = sources.registry.package(dep.package)
        result = dataclasses.replace(result, first_published=_first_published(package))
        version = _pick(sources, ecosystem, dep, package)
        result = dataclasses.replace(
            result, version=version, published_at=package.versions.get(version)
        )
        report = scan(sources, dep.package, version)
    except Unresolvable as e:  # not a gap: reported as manifest.dependency-unscanned
        return dataclasses.replace(result, error=str(e))
    # Any domain error (not found, registry down, integrity mismatch, hostile archive) costs
    # this dependency's scan, never the parent's report.
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


def _via(finding: Finding, label: str, *, established: bool = False) -> Finding:
    if not established:
        return dataclasses.replace(
            finding, via=label, message=f"via dependency {label}: {finding.message}"
        )
    # Kept for the reviewer, but at LOW: below every critical combination's threshold.
    return dataclasses.replace(
        finding,
        via=label,
        severity=min(finding.severity, Severity.LOW),
        message=f"via established dependency {label}: {finding.message}",
    )
