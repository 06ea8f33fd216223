"""Packages shipped inside an npm tarball under `node_modules/`, analysed as packages of their own.

`bundleDependencies` (or any `node_modules/<name>/package.json` in the tarball) puts another
package's code into the tarball: npm installs that copy, runs its install hooks and loads it
with `require('<name>')`. When the payload ships bundled (the event-stream/flatmap-stream
shape), it is that package's manifest and entry points that say what runs, not the parent's.

So each bundled package is carved out of the parent snapshot (the files under
`node_modules/<name>/`, prefix stripped, nested bundled packages left to themselves) and
diffed as a package: changed ones against their old copy, unchanged ones not at all, new ones
against an empty copy (the pinned release had none of it; in a first release, as a first
release). Their findings are carried into the parent's report `via
bundled dependency <name>@<version>`, with the path as it is in the parent tarball.

Reported once: a bundled package analysed here is taken out of the parent's own changes, so
the parent's rules do not report its files a second time (under the wrong manifest). Bundled
packages over the `MAX_BUNDLED` cap stay in the parent's view: analysed, only less precisely.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
import re
from collections.abc import Callable, Collection, Mapping, Sequence

from watcher.models import (
    ArtifactDiff,
    ArtifactKind,
    DependencyChange,
    DependencyScan,
    Ecosystem,
    FileEntry,
    Finding,
    Report,
    Snapshot,
)
from watcher.rules import ReleaseContext

logger = logging.getLogger(__name__)

#: Changed bundled packages analysed per artifact; the rest stay in the parent's own view.
#: npm itself bundles ~200 packages, but a release changes few of them.
MAX_BUNDLED = 40
#: A bundled package's findings carried into the parent report, worst first.
MAX_FINDINGS = 20

#: `node_modules/<name>/package.json` at any depth (scoped names included).
_PACKAGE_ROOT = re.compile(r"^((?:node_modules/(?:@[^/]+/)?[^/]+/)+)package\.json$")

AnalyseFn = Callable[[ReleaseContext], Report]
DiffFn = Callable[[Snapshot | None, Snapshot], ArtifactDiff]


@dataclasses.dataclass(frozen=True, slots=True)
class BundledPackage:
    """One package root inside a tarball, old and new copies carved out as snapshots."""

    #: `node_modules/<name>/` (or deeper), as in the parent tarball.
    prefix: str
    name: str
    new: Snapshot
    #: The old copy; empty when the package is new in a release that had a predecessor;
    #: None in a first release.
    old: Snapshot | None


def package_roots(snapshot: Snapshot) -> list[str]:
    """Every `node_modules/.../<name>/` folder holding a package.json, shallowest first."""
    roots = [m.group(1) for path in snapshot.files if (m := _PACKAGE_ROOT.match(path))]
    return sorted(roots, key=lambda r: (r.count("/"), r))


def _owner(path: str, roots: Collection[str]) -> str | None:
    """The deepest package root a path belongs to (None: the parent's own file).

    Only the folders right below a `node_modules/` can be roots, so those prefixes of the
    path are looked up: linear in the path, whatever the number of bundled packages.
    """
    best: str | None = None
    start = 0
    while (at := path.find("node_modules/", start)) != -1:
        start = at + len("node_modules/")
        name_end = path.find("/", start)
        if name_end != -1 and path[start] == "@":
            name_end = path.find("/", name_end + 1)
        if name_end == -1:
            break
        if (prefix := path[: name_end + 1]) in roots:
            best = prefix
    return best


def partition(snapshot: Snapshot, roots: Collection[str]) -> dict[str, Snapshot]:
    """Each package root's own files as a snapshot, root stripped; nested packages apart."""
    files: dict[str, dict[str, FileEntry]] = {root: {} for root in roots}
    for path, entry in snapshot.files.items():
        root = _owner(path, files)
        if root is not None:
            inner = path[len(root) :]
            files[root][inner] = dataclasses.replace(entry, path=inner)
    return {
        root: Snapshot(filename=snapshot.filename, kind=snapshot.kind, files=own)
        for root, own in files.items()
    }


def _name_of(root: str) -> str:
    """The name `require()` finds the package under: its folder below the last node_modules."""
    return root.rstrip("/").rsplit("node_modules/", 1)[1]


def _same(old: Mapping[str, FileEntry], new: Mapping[str, FileEntry]) -> bool:
    return old.keys() == new.keys() and all(old[p].sha256 == new[p].sha256 for p in new)


def changed_packages(diff: ArtifactDiff) -> list[BundledPackage]:
    """Bundled packages of `diff` that are new or whose content changed, shallowest first."""
    if diff.kind is not ArtifactKind.NPM_TARBALL:
        return []
    new_roots = package_roots(diff.new)
    if not new_roots:
        return []
    carved = partition(diff.new, new_roots)
    old_carved = partition(diff.old, package_roots(diff.old)) if diff.old is not None else {}
    found: list[BundledPackage] = []
    for root in new_roots:
        new, old = carved[root], old_carved.get(root)
        if old is not None and _same(old.files, new.files):
            continue
        if old is None and diff.old is not None:
            # New in a release that had a predecessor: the pinned release had none of it, so
            # it is diffed against nothing rather than read as a first release ("minified
            # code appeared where the pinned release shipped none" stays news).
            old = Snapshot(filename=diff.old.filename, kind=diff.old.kind, files={})
        found.append(BundledPackage(root, _name_of(root), new, old))
    return found


def declared_bundled(diffs: Sequence[ArtifactDiff]) -> frozenset[str]:
    """Names in the new manifest's `bundleDependencies` whose copy ships in the tarball.

    npm installs the bundled copy, not the registry's, so these are not resolved against the
    registry: the copy is analysed instead. `true` bundles every dependency.
    """
    names: set[str] = set()
    for diff in diffs:
        names.update(_declared(diff))
    return frozenset(names)


def _declared(diff: ArtifactDiff) -> set[str]:
    names: set[str] = set()
    if diff.kind is not ArtifactKind.NPM_TARBALL or "package.json" not in diff.new.files:
        return names
    try:
        document = json.loads(diff.new.files["package.json"].text)
    # The manifest parser reports an unreadable package.json; nothing is bundled then.
    # RecursionError: hostile nesting, which the manifest parser records as a gap too.
    except (ValueError, RecursionError):  # not a gap: manifest parsing records it
        return names
    if not isinstance(document, dict):
        return names
    for key in ("bundleDependencies", "bundledDependencies"):
        value = document.get(key)
        if value is True:
            names.update(diff.new_manifest.dependencies)
        elif isinstance(value, list):
            names.update(v for v in value if isinstance(v, str))
    return {n for n in names if f"node_modules/{n}/package.json" in diff.new.files}


def analyse_bundled(
    diffs: Sequence[ArtifactDiff], analyse: AnalyseFn, artifact_diff: DiffFn
) -> tuple[tuple[DependencyScan, ...], tuple[ArtifactDiff, ...]]:
    """Analyse each new or changed bundled package; the parent's diffs without their changes.

    `analyse` and `artifact_diff` are the pipeline's (passed in: the pipeline calls this).
    """
    scans: list[DependencyScan] = []
    parents: list[ArtifactDiff] = []
    for diff in diffs:
        packages = changed_packages(diff)
        if not packages:
            parents.append(diff)
            continue
        if len(packages) > MAX_BUNDLED:
            logger.info(
                "%d changed bundled packages in %s; %d left to the parent's view",
                len(packages),
                diff.label,
                len(packages) - MAX_BUNDLED,
            )
        taken = packages[:MAX_BUNDLED]
        scans.extend(_analyse_one(package, analyse, artifact_diff) for package in taken)
        roots = {*package_roots(diff.new), *(package_roots(diff.old) if diff.old else [])}
        analysed = {p.prefix for p in taken}
        kept = tuple(c for c in diff.changes if _owner(c.path, roots) not in analysed)
        parents.append(dataclasses.replace(diff, changes=kept))
    return tuple(scans), tuple(parents)


def _analyse_one(
    package: BundledPackage, analyse: AnalyseFn, artifact_diff: DiffFn
) -> DependencyScan:
    diff = artifact_diff(package.old, package.new)
    version = diff.new_manifest.version or "unknown"
    old_version = None
    if package.old is not None and package.old.files:
        old_version = (diff.old_manifest.version if diff.old_manifest else None) or "unknown"
    report = analyse(
        ReleaseContext(
            ecosystem=Ecosystem.NPM,
            name=package.name,
            old_version=old_version,
            new_version=version,
            artifacts=(diff,),
        )
    )
    label = f"{package.name}@{version}"
    was = f" (was {old_version})" if old_version is not None else ""
    return DependencyScan(
        name=package.name,
        spec=package.prefix.rstrip("/"),
        version=version,
        old_version=old_version,
        change=DependencyChange.BUNDLED,
        findings=tuple(_via(f, label, was, package.prefix) for f in report.findings[:MAX_FINDINGS]),
    )


def _via(finding: Finding, label: str, was: str, prefix: str) -> Finding:
    # The path as it is in the parent's tarball, where the reviewer will look for it.
    path = posixpath.join(prefix, finding.path) if finding.path else finding.path
    return dataclasses.replace(
        finding,
        via=label,
        path=path,
        message=f"via bundled dependency {label}{was}: {finding.message}",
    )
