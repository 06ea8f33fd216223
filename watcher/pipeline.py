"""The one core pipeline: registry → verified fetch → in-memory extract → diff → rules → score.

The CLI (and later the daemon) only build a `Sources` and call these functions; nothing here
prints, writes to a store or sends a notification.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path

from watcher import gaps
from watcher.artifacts.extract import DEFAULT_LIMITS, ExtractLimits, installed_view, load_artifact
from watcher.artifacts.fetch import Fetcher
from watcher.artifacts.manifest import parse_manifest
from watcher.deps.bundled import analyse_bundled
from watcher.deps.scan import scan_dependencies
from watcher.diff.tree import LineMemo, diff_snapshots
from watcher.errors import (
    FetchError,
    NoArtifact,
    PackageNotFound,
    RegistryError,
    UsageError,
    WatcherError,
)
from watcher.gaps import Gap
from watcher.models import (
    ArtifactDiff,
    ArtifactKind,
    ArtifactRef,
    ChangedFile,
    ChangeKind,
    Ecosystem,
    FileCounts,
    MetadataSummary,
    PackageInfo,
    Provenance,
    Release,
    Report,
    Severity,
    Snapshot,
)
from watcher.parse import budget
from watcher.registries.base import Registry
from watcher.rules import ReleaseContext, run_rules
from watcher.scoring import escalate, score

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sources:
    """Where releases come from: one registry, a verifying fetcher, and extraction limits."""

    registry: Registry
    fetcher: Fetcher
    limits: ExtractLimits = DEFAULT_LIMITS
    #: The ecosystem's public registry when `registry` is a private one: the same name there
    #: is the dependency-confusion signal. None for the public registry or local files.
    public: Registry | None = None
    #: Every sdist and wheel of a PyPI release (the release being watched), or only the first
    #: sdist and the pure (else first) wheel: dependencies, where 30 platform wheels of each
    #: changed dependency would cost minutes per release and add little.
    every_artifact: bool = True


#: (ecosystem, name, old version, new version) -> the artifact diffs behind that analysis.
KeptDiffs = dict[tuple[Ecosystem, str, str | None, str], tuple[ArtifactDiff, ...]]

_KEPT_DIFFS: ContextVar[KeptDiffs | None] = ContextVar("kept_diffs", default=None)


@contextmanager
def keep_diffs() -> Iterator[KeptDiffs]:
    """Keep the artifact diffs of every release analysed inside the block.

    For renderers that show the diff itself (HTML). The `Report` deliberately does not carry
    the diffs: it is stored, queued and serialised, and a diff can be megabytes. Keyed by
    release pair because a diff also analyses each new dependency as a first release.
    """
    kept: KeptDiffs = {}
    token = _KEPT_DIFFS.set(kept)
    try:
        yield kept
    finally:
        _KEPT_DIFFS.reset(token)


def analyse(ctx: ReleaseContext) -> Report:
    """Run the rules over a prepared release pair and score the result (pure, no I/O)."""
    findings, failures = run_rules(ctx)
    kept = _KEPT_DIFFS.get()
    if kept is not None:
        kept[(ctx.ecosystem, ctx.name, ctx.old_version, ctx.new_version)] = ctx.artifacts
    # A new dependency's code runs in the same process: its findings are scored with ours.
    findings.extend(f for dep in ctx.dependencies for f in dep.findings)
    findings = escalate(findings)
    findings.sort(key=lambda f: (-f.severity.rank, f.artifact or "", f.path or "", f.line or 0))
    verdict = score(findings)
    old, new = ctx.old_release, ctx.new_release
    publisher_changed: bool | None = None
    if old is not None and new is not None and old.publisher and new.publisher:
        publisher_changed = any(f.rule == "meta.publisher-changed" for f in findings)
    links = tuple(r.page_url for r in (old, new) if r is not None and r.page_url)
    return Report(
        ecosystem=ctx.ecosystem,
        package=ctx.name,
        old_version=ctx.old_version,
        new_version=ctx.new_version,
        score=verdict.score,
        severity=verdict.severity,
        findings=tuple(findings),
        files=_count(ctx.artifacts),
        metadata=MetadataSummary(
            publisher_changed=publisher_changed,
            provenance=new.provenance if new is not None else Provenance.UNKNOWN,
            version_jump=any(
                f.rule == "meta.version-jump" and f.severity >= Severity.MEDIUM for f in findings
            ),
        ),
        artifacts=tuple(d.label for d in ctx.artifacts),
        reasons=verdict.reasons,
        rule_failures=tuple(failures),
        links=links,
        changed_files=_changed_files(ctx.artifacts),
    )


def _changed_files(diffs: Sequence[ArtifactDiff]) -> tuple[ChangedFile, ...]:
    """Each changed path once, by path: platform wheels repeat the same change."""
    seen: dict[tuple[str, ChangeKind, int, int], ChangedFile] = {}
    for diff in diffs:
        for change in diff.changes:
            entry = change.new or change.old
            removed = len(change.removed_lines)
            if change.kind is ChangeKind.REMOVED and change.old is not None:
                # The diff keeps no lines of a removed file; its size in lines is what went.
                data = change.old.data
                removed = data.count(b"\n") + (not data.endswith(b"\n") and bool(data))
            item = ChangedFile(
                path=change.path,
                kind=change.kind,
                added=len(change.added_lines),
                removed=removed,
                binary=entry is not None and entry.is_binary,
                rewritten=change.rewritten,
            )
            seen.setdefault((item.path, item.kind, item.added, item.removed), item)
    return tuple(sorted(seen.values(), key=lambda c: (c.path, c.kind.value)))


def _count(diffs: Sequence[ArtifactDiff]) -> FileCounts:
    kinds = [c.kind for d in diffs for c in d.changes]
    return FileCounts(
        added=kinds.count(ChangeKind.ADDED),
        removed=kinds.count(ChangeKind.REMOVED),
        changed=kinds.count(ChangeKind.MODIFIED),
    )


def artifact_diff(
    old: Snapshot | None, new: Snapshot, memo: LineMemo | None = None
) -> ArtifactDiff:
    """Diff two snapshots of the same artifact kind and parse both manifests."""
    return ArtifactDiff(
        kind=new.kind,
        old=old,
        new=new,
        old_manifest=parse_manifest(old) if old is not None else None,
        new_manifest=parse_manifest(new),
        changes=diff_snapshots(old, new, memo),
    )


def pair_snapshots(old: Sequence[Snapshot], new: Sequence[Snapshot]) -> tuple[ArtifactDiff, ...]:
    """Pair each new artifact with the old one of the same kind (else any old one) and diff.

    A release that adds a wheel is compared with the old sdist rather than with nothing, so
    that only what is really new reads as added.
    """
    memo: LineMemo = {}
    diffs = []
    for snapshot in new:
        partner = next((o for o in old if o.kind is snapshot.kind), old[0] if old else None)
        diffs.append(artifact_diff(partner, snapshot, memo))
    return tuple(diffs)


#: Most artifacts of one PyPI release analysed; the rest are reported as not analysed. Real
#: releases with native code ship 20–60 wheels (one per platform and Python).
MAX_ARTIFACTS = 64


def select_artifacts(release: Release, every: bool = True) -> list[ArtifactRef]:
    """The files to analyse: npm's tarball; every sdist and every wheel of a PyPI release.

    pip picks a wheel by platform tag, and falls back to the sdist where none fits, so any of
    them may be what a user installs: a payload in one platform's wheel only is still a
    payload (litellm's `.pth` was only in the wheel). Pure wheels and `.tar.gz` come first.
    """
    refs = release.artifacts
    if release.ecosystem is Ecosystem.NPM:
        chosen = [a for a in refs if a.kind is ArtifactKind.NPM_TARBALL][:1]
    else:
        sdists = sorted(
            (a for a in refs if a.kind is ArtifactKind.SDIST),
            key=lambda a: not a.filename.endswith(".tar.gz"),
        )
        wheels = sorted(
            (a for a in refs if a.kind is ArtifactKind.WHEEL), key=lambda a: not a.pure_python
        )
        chosen = sdists + wheels if every else sdists[:1] + wheels[:1]
    if not chosen:
        raise NoArtifact(
            f"{release.ecosystem.value} package {release.name} {release.version} has no "
            "tarball, sdist or wheel to analyse"
        )
    return chosen


def _snapshots(sources: Sources, release: Release) -> list[Snapshot]:
    refs = select_artifacts(release, sources.every_artifact)
    snapshots = [
        installed_view(sources.fetcher.fetch(ref), ref.filename, sources.limits)
        for ref in refs[:MAX_ARTIFACTS]
    ]
    # Past the limit, a platform wheel is read one at a time and dropped: when everything it
    # installs is a file an analysed artifact holds, or its platform's build of a native
    # module one holds, it says nothing more (pydantic-core ships 140 such wheels).
    uncovered = [
        ref.filename
        for ref in refs[MAX_ARTIFACTS:]
        if not _covered(
            installed_view(sources.fetcher.fetch(ref), ref.filename, sources.limits), snapshots
        )
    ]
    if uncovered:
        skipped = ", ".join(uncovered[:5])
        gaps.record(
            f"{len(uncovered)} of {len(refs)} artifacts over the {MAX_ARTIFACTS}-artifact limit"
            f" were not analysed and differ from every analysed one ({skipped}, ...)"
        )
    return snapshots


#: A wheel's own bookkeeping, different in every platform's wheel and never run: its RECORD,
#: its tags, and the SBOMs of what each platform's build linked (PEP 770).
_WHEEL_BOOKKEEPING = re.compile(r"^[^/]+\.dist-info/(?:RECORD|WHEEL|sboms/[^/]+\.json)$")
#: A native module's platform suffix (`.cpython-312-x86_64-linux-gnu.so`, `.cp312-win_amd64.pyd`,
#: `.abi3.so`): the same module built for another platform.
_NATIVE_SUFFIX = re.compile(r"\.(?:[A-Za-z0-9_-]+\.)?(?:so|pyd|dylib)$")


def _covered(extra: Snapshot, analysed: Sequence[Snapshot]) -> bool:
    """Whether every file `extra` installs is one an analysed artifact holds (same content),
    or a native module an analysed wheel holds built for another platform."""
    if extra.kind is not ArtifactKind.WHEEL or extra.gaps or extra.specials:
        return False
    shas = {entry.sha256 for snapshot in analysed for entry in snapshot.files.values()}
    natives = {
        _NATIVE_SUFFIX.sub("", path)
        for snapshot in analysed
        if snapshot.kind is ArtifactKind.WHEEL
        for path, entry in snapshot.files.items()
        if entry.is_binary and _NATIVE_SUFFIX.search(path)
    }
    for path, entry in extra.files.items():
        if entry.sha256 in shas or _WHEEL_BOOKKEEPING.match(path):
            continue
        if entry.is_binary and _NATIVE_SUFFIX.search(path):
            if _NATIVE_SUFFIX.sub("", path) in natives:
                continue
        return False
    return True


def diff_release(sources: Sources, name: str, old_version: str, new_version: str) -> Report:
    """Fetch, verify and analyse `new_version` of `name` against `old_version`."""
    package = sources.registry.package(name)
    old = sources.registry.release(name, old_version)
    new = sources.registry.release(name, new_version)
    base = ReleaseContext(
        ecosystem=sources.registry.ecosystem,
        name=new.name,
        old_version=old.version,
        new_version=new.version,
        artifacts=(),
        old_release=old,
        new_release=new,
        package=package,
    )

    def build(found: list[Gap]) -> Report:
        diffs = pair_snapshots(_snapshots(sources, old), _snapshots(sources, new))
        # Bundled node_modules/ packages are reported by their own analysis, not the parent's.
        bundled, own = analyse_bundled(diffs, analyse, artifact_diff)
        dependencies = scan_dependencies(
            base.ecosystem, sources, diffs, scan_release, diff_release, published=new.published_at
        )
        ctx = replace(
            base,
            artifacts=own,
            dependencies=(*dependencies, *bundled),
            public_package=public_listing(sources, name),
            gaps=tuple(found),
        )
        return replace(analyse(ctx), files=_count(diffs))

    return _fail_closed(base, build)


def scan_release(sources: Sources, name: str, version: str) -> Report:
    """Analyse one release on its own, as a first release (every file is new)."""
    package = sources.registry.package(name)
    release = sources.registry.release(name, version)
    base = ReleaseContext(
        ecosystem=sources.registry.ecosystem,
        name=release.name,
        old_version=None,
        new_version=release.version,
        artifacts=(),
        new_release=release,
        package=package,
    )

    def build(found: list[Gap]) -> Report:
        diffs = pair_snapshots([], _snapshots(sources, release))
        bundled, own = analyse_bundled(diffs, analyse, artifact_diff)
        ctx = replace(
            base,
            artifacts=own,
            dependencies=bundled,
            public_package=public_listing(sources, name),
            gaps=tuple(found),
        )
        return replace(analyse(ctx), files=_count(diffs))

    return _fail_closed(base, build)


def _fail_closed(base: ReleaseContext, build: Callable[[list[Gap]], Report]) -> Report:
    """`build(gaps)` with the analysis' gaps collected; any unexpected error becomes a report.

    A registry or download failure is not about the release (it is retried, and alerted as
    operational if it persists) and propagates; so does a usage error. Anything else — a
    bug, RecursionError, MemoryError on hostile input — must not end the poll or print a
    traceback: the release is reported as not fully analysed, at high (SPEC §4.5).
    """
    # One parse-time budget per release: a release of many slow files ends in a gap, not a hang.
    with budget.release_budget(), gaps.collecting() as found:
        try:
            return build(found)
        except (RegistryError, FetchError, UsageError):
            raise
        # Deliberately broad: the input is hostile and the alternative is a silent NONE.
        except Exception as e:  # noqa: BLE001
            logger.warning(
                "analysis of %s@%s stopped: %s", base.name, base.new_version, e, exc_info=True
            )
            reason = f"the analysis stopped: {type(e).__name__}: {e}"
            return analyse(replace(base, gaps=(*found, Gap(reason))))


def public_listing(sources: Sources, name: str) -> PackageInfo | None:
    """The public registry's listing of a privately sourced name; None if absent or unknown.

    A failed lookup must not fail the analysis of the private package: it is logged, and the
    confusion rule then says nothing (unknown is never "changed").
    """
    if sources.public is None:
        return None
    try:
        return sources.public.package(name)
    except PackageNotFound:  # not a gap: about the public registry, not the release
        return None
    except WatcherError as error:  # not a gap: a registry outage, logged
        logger.warning("public registry lookup for %s failed: %s", name, error)
        return None


def _ecosystem_of(snapshot: Snapshot) -> Ecosystem:
    return Ecosystem.NPM if snapshot.kind is ArtifactKind.NPM_TARBALL else Ecosystem.PYPI


def _identity(diff: ArtifactDiff) -> tuple[str, str]:
    manifest = diff.new_manifest
    return manifest.name or diff.new.filename, manifest.version or "unknown"


def diff_local(
    old_path: Path,
    new_path: Path,
    limits: ExtractLimits = DEFAULT_LIMITS,
    sources: Sources | None = None,
) -> Report:
    """Analyse two local artifacts (npm .tgz, sdist, wheel).

    New and changed dependencies are resolved against `sources`' registry when given (and
    of the artifacts' ecosystem); without one they are reported as not scanned.
    """
    old = load_artifact(old_path, limits)
    new = load_artifact(new_path, limits)
    if _ecosystem_of(old) is not _ecosystem_of(new):
        raise UsageError(
            f"cannot compare {old_path.name} ({old.kind.value}) with {new_path.name} "
            f"({new.kind.value}): they belong to different ecosystems"
        )
    base = ReleaseContext(
        ecosystem=_ecosystem_of(new),
        name=new_path.name,
        old_version=old_path.name,
        new_version=new_path.name,
        artifacts=(),
    )

    def build(found: list[Gap]) -> Report:
        diff = artifact_diff(old, new)
        name, version = _identity(diff)
        old_version = diff.old_manifest.version if diff.old_manifest else None
        bundled, own = analyse_bundled((diff,), analyse, artifact_diff)
        dependencies = scan_dependencies(
            base.ecosystem, sources, (diff,), scan_release, diff_release
        )
        ctx = replace(
            base,
            name=name,
            old_version=old_version or "unknown",
            new_version=version,
            artifacts=own,
            dependencies=(*dependencies, *bundled),
            gaps=tuple(found),
        )
        return replace(analyse(ctx), files=_count((diff,)))

    return _fail_closed(base, build)


def scan_local(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> Report:
    """Analyse one local artifact as a first release."""
    snapshot = load_artifact(path, limits)
    base = ReleaseContext(
        ecosystem=_ecosystem_of(snapshot),
        name=path.name,
        old_version=None,
        new_version=path.name,
        artifacts=(),
    )

    def build(found: list[Gap]) -> Report:
        diff = artifact_diff(None, snapshot)
        name, version = _identity(diff)
        bundled, own = analyse_bundled((diff,), analyse, artifact_diff)
        ctx = replace(
            base,
            name=name,
            new_version=version,
            artifacts=own,
            dependencies=bundled,
            gaps=tuple(found),
        )
        return replace(analyse(ctx), files=_count((diff,)))

    return _fail_closed(base, build)
