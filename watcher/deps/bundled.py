"""Packages shipped inside an npm tarball under `node_modules/`, analysed as packages of their own.

`bundleDependencies` (or any `node_modules/<name>/package.json` in the tarball) puts another
package's code into the tarball: npm installs that copy, runs its install hooks and loads it
with `require('<name>')`. When the payload ships bundled (the event-stream/flatmap-stream
shape), it is that package's manifest and entry points that say what runs, not the parent's.

So each bundled package is carved out of the parent snapshot (the files under
`node_modules/<name>/`, prefix stripped, nested bundled packages left to themselves) and
diffed as a package: new bundled packages as first releases, changed ones against their old
copy, unchanged ones not at all. Their findings are carried into the parent's report `via
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
from collections.abc import Callable, Mapping, Sequence

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
    old: Snapshot | None


def package_roots(snapshot: Snapshot) -> list[str]:
    """Every `node_modules/.../<name>/` folder holding a package.json, shallowest first."""
    roots = [m.group(1) for path in snapshot.files if (m := _PACKAGE_ROOT.match(path))]
    return sorted(roots, key=lambda r: (r.count("/"), r))


def _owner(path: str, roots: Sequence[str]) -> str | None:
    """The deepest package root a path belongs to (None: the parent's own file)."""
    best: str | None = None
    for root in roots:
        if path.startswith(root) and (best is None or len(root) > len(best)):
            best = root
    return best


def carve(snapshot: Snapshot, root: str, roots: Sequence[str]) -> Snapshot:
    """The files of the package at `root`, `root` stripped; nested packages left out."""
    files: dict[str, FileEntry] = {}
    for path, entry in snapshot.files.items():
        if _owner(path, roots) == root:
            inner = path[len(root) :]
            files[inner] = dataclasses.replace(entry, path=inner)
    return Snapshot(filename=snapshot.filename, kind=snapshot.kind, files=files)


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
    old_roots = package_roots(diff.old) if diff.old is not None else []
    found: list[BundledPackage] = []
    for root in new_roots:
        new = carve(diff.new, root, new_roots)
        old = None
        if diff.old is not None and root in old_roots:
            old = carve(diff.old, root, old_roots)
            if _same(old.files, new.files):
                continue
        found.append(BundledPackage(root, _name_of(root), new, old))
    return found


def declared_bundled(diffs: Sequence[ArtifactDiff]) -> frozenset[str]:
    """Names in the new manifest's `bundleDependencies` whose copy ships in the tarball.

    npm installs the bundled copy, not the registry's, so these are not resolved against the
    registry: the copy is analysed instead. `true` bundles every dependency.
    """
    names: set[str] = set()
    for diff in diffs:
        entry = diff.new.files.get("package.json")
        if diff.kind is not ArtifactKind.NPM_TARBALL or entry is None:
            continue
        try:
            document = json.loads(entry.text)
        # The manifest parser reports an unreadable package.json; nothing is bundled then.
        except ValueError:  # not a gap: manifest parsing records it
            continue
        if not isinstance(document, dict):
            continue
        for key in ("bundleDependencies", "bundledDependencies"):
            value = document.get(key)
            if value is True:
                names.update(diff.new_manifest.dependencies)
            elif isinstance(value, list):
                names.update(v for v in value if isinstance(v, str))
        names = {n for n in names if f"node_modules/{n}/package.json" in diff.new.files}
    return frozenset(names)


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
        roots = package_roots(diff.new) + (package_roots(diff.old) if diff.old else [])
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
    if diff.old_manifest is not None:
        old_version = diff.old_manifest.version or "unknown"
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
