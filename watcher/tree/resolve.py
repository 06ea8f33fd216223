"""Resolve a pinned release to the set of package versions an install would get.

npm: the release's `npm-shrinkwrap.json` when it ships one (npm installs exactly that), else
every range resolved as npm picks (`watcher.deps.resolve`: `latest` when it satisfies, else
the highest match; other dist-tags by name; `npm:` aliases to the package they name),
recursively through `dependencies`, `optionalDependencies` (kept with their `os`/`cpu`) and
non-optional `peerDependencies` (npm >= 7 installs those). PyPI: `Requires-Dist`, markers
evaluated for the platforms the subscription names (`platforms`, default Linux) and the
running CPython with no extra (a requirement any of them installs is kept, its marker as the
condition), each specifier resolved as pip picks.

Breadth first, each (package, version) once: cycles end and a diamond's shared dependency
appears once, under its shortest path. What cannot be resolved (a missing package, a range
nothing satisfies, a git or URL dependency, the bounds) is a gap of the tree, never an error.
"""

from __future__ import annotations

import json
import platform
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, Protocol

import nodesemver  # type: ignore[import-untyped]  # no stubs
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement

from watcher.deps.resolve import Unresolvable, candidates, is_non_registry, npm_package
from watcher.errors import WatcherError
from watcher.models import Ecosystem
from watcher.tree.catalog import NpmDeclared, PackageDoc
from watcher.tree.model import DEFAULT_BOUNDS, Bounds, Tree, TreeEntry

__all__ = [
    "Catalog",
    "linux_environment",
    "parse_shrinkwrap",
    "platform_environment",
    "resolve_tree",
]

SHRINKWRAP = "npm-shrinkwrap.json"


class Catalog(Protocol):
    """Package documents by name (`RegistryCatalog`, or a test's dict)."""

    ecosystem: Ecosystem

    def document(self, name: str) -> PackageDoc: ...

    def requires(self, name: str, version: str) -> tuple[str, ...] | None: ...


#: PEP 508 marker values per platform a subscription can name (`platforms`).
_PLATFORM_MARKERS = {
    "linux": {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux"},
    "macos": {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin"},
    "windows": {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows"},
}


def platform_environment(name: str) -> dict[str, str]:
    """PEP 508 marker values for a platform (`linux`, `macos`, `windows`) and the running
    CPython's version."""
    env = {k: str(v) for k, v in default_environment().items()}
    env.update(
        {
            **_PLATFORM_MARKERS[name],
            "platform_machine": platform.machine() or "x86_64",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
            "extra": "",
        }
    )
    return env


def linux_environment() -> dict[str, str]:
    """PEP 508 marker values for Linux and the running CPython (the default platform)."""
    return platform_environment("linux")


def resolve_tree(
    catalog: Catalog,
    name: str,
    version: str,
    *,
    shrinkwrap: bytes | None = None,
    bounds: Bounds = DEFAULT_BOUNDS,
    picks: dict[tuple[str, str], str | None] | None = None,
    platforms: tuple[str, ...] = ("linux",),
) -> Tree:
    """The tree of `name@version` (see the module docstring); `shrinkwrap` is the release's
    `npm-shrinkwrap.json` when it ships one. `picks` remembers what each (package, range)
    resolved to across the trees of one cycle, so that 1,000 trees sharing a graph match
    each range once (only valid while the catalog's documents do not change)."""
    gaps: list[str] = []
    if catalog.ecosystem is Ecosystem.NPM and shrinkwrap is not None:
        tree = parse_shrinkwrap(name, version, shrinkwrap, bounds)
        if tree is not None:
            return tree
        gaps.append(f"{name}@{version}: {SHRINKWRAP} unreadable, its ranges were resolved")
    resolver = _Resolver(catalog, bounds, picks if picks is not None else {}, platforms)
    tree = resolver.run(name, version)
    return replace(tree, gaps=(*gaps, *tree.gaps)) if gaps else tree


class _Resolver:
    def __init__(
        self,
        catalog: Catalog,
        bounds: Bounds,
        picks: dict[tuple[str, str], str | None],
        platforms: tuple[str, ...] = ("linux",),
    ) -> None:
        self.catalog = catalog
        self.picks = picks
        self.bounds = bounds
        self.gaps: list[str] = []
        self.entries: dict[tuple[str, str], TreeEntry] = {}
        self._docs: dict[str, PackageDoc | str] = {}
        # A requirement is installed when any platform the subscription names installs it.
        self._envs = [platform_environment(p) for p in platforms] or [linux_environment()]
        self._cut = False

    def _doc(self, package: str) -> PackageDoc | str:
        """The document, or why there is none (asked once per package)."""
        if package not in self._docs:
            try:
                self._docs[package] = self.catalog.document(package)
            except WatcherError as e:
                self._docs[package] = str(e).splitlines()[0] if str(e) else type(e).__name__
        return self._docs[package]

    def run(self, name: str, version: str) -> Tree:
        root = f"{name}@{version}"
        queue: deque[tuple[str, str, tuple[str, ...], str | None]] = deque(
            [(name, version, (root,), None)]
        )
        while queue:
            package, at, via, condition = queue.popleft()
            for entry in self._children(package, at, via, condition):
                key = (entry.package, entry.version)
                if key in self.entries or key == (name, version):
                    continue
                if len(self.entries) >= self.bounds.max_packages:
                    if not self._cut:
                        self._cut = True
                        self.gaps.append(
                            f"tree cut at {self.bounds.max_packages} packages: "
                            "deeper dependencies are not watched"
                        )
                    continue
                self.entries[key] = entry
                if entry.depth >= self.bounds.max_depth:
                    self.gaps.append(
                        f"{entry.path()}: deeper than {self.bounds.max_depth} levels; "
                        "its dependencies are not watched"
                    )
                    continue
                queue.append((entry.package, entry.version, (*via, entry.hop), entry.condition))
        return Tree(
            ecosystem=self.catalog.ecosystem,
            root=name,
            root_version=version,
            entries=tuple(self.entries.values()),
            gaps=tuple(dict.fromkeys(self.gaps)),
        )

    def _children(
        self, package: str, version: str, via: tuple[str, ...], condition: str | None
    ) -> Iterator[TreeEntry]:
        if self.catalog.ecosystem is Ecosystem.NPM:
            yield from self._npm_children(package, version, via, condition)
        else:
            yield from self._pypi_children(package, version, via, condition)

    # --- npm ----------------------------------------------------------------------------------

    def _npm_children(
        self, package: str, version: str, via: tuple[str, ...], condition: str | None
    ) -> Iterator[TreeEntry]:
        doc = self._doc(package)
        if isinstance(doc, str):
            self.gaps.append(f"{' → '.join(via)}: {doc}")
            return
        declared = doc.declared.get(version)
        if declared is None:
            self.gaps.append(f"{' → '.join(via)}: the registry does not list this version")
            return
        for dep, spec, kind in _npm_edges(declared):
            entry = self._npm_entry(dep, spec, kind, via, condition)
            if entry is not None:
                yield entry

    def _npm_entry(
        self, dep: str, spec: str, kind: str, via: tuple[str, ...], condition: str | None
    ) -> TreeEntry | None:
        where = " → ".join((*via, f"{dep}@{spec}"))
        if is_non_registry(Ecosystem.NPM, spec):
            self.gaps.append(f"{where}: installs from outside the registry, not watched")
            return None
        target = npm_package(dep, spec)
        wanted = spec.strip()
        if wanted.startswith("npm:"):
            # `npm:@scope/x@^1`: an @ in first place is the scope's, not the range's.
            rest = wanted[4:]
            at = rest.find("@", 1)
            wanted = rest[at + 1 :].strip() if at > 0 else ""
        doc = self._doc(target)
        if isinstance(doc, str):
            if kind != "optional":  # a missing optional dependency is skipped by npm too
                self.gaps.append(f"{where}: {doc}")
            return None
        resolved = doc.tags.get(wanted) if wanted and wanted in doc.tags else None
        if resolved is None:
            memo = (target, wanted)
            if memo in self.picks:
                resolved = self.picks[memo]
            else:
                try:
                    resolved = candidates(Ecosystem.NPM, wanted, doc.info(Ecosystem.NPM))[0]
                except Unresolvable:
                    resolved = None
                self.picks[memo] = resolved
            if resolved is None:
                if kind != "optional":
                    self.gaps.append(f"{where}: no published version of {target} satisfies it")
                return None
        own = doc.declared.get(resolved)
        platform_condition = own.condition if own is not None else None
        return TreeEntry(
            package=target,
            version=resolved,
            name=dep,
            spec=spec.strip(),
            via=via,
            kind=kind,
            condition=platform_condition or condition,
            floats=not _npm_exact(wanted),
        )

    # --- PyPI ---------------------------------------------------------------------------------

    def _pypi_children(
        self, package: str, version: str, via: tuple[str, ...], condition: str | None
    ) -> Iterator[TreeEntry]:
        try:
            requires = self.catalog.requires(package, version)
        except WatcherError as e:
            self.gaps.append(f"{' → '.join(via)}: {str(e).splitlines()[0] if str(e) else e}")
            return
        if requires is None:
            self.gaps.append(f"{' → '.join(via)}: the index does not list its requirements")
            return
        for line in requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                self.gaps.append(f"{' → '.join(via)}: unreadable requirement `{line[:200]}`")
                continue
            if req.marker is not None and not any(req.marker.evaluate(e) for e in self._envs):
                continue
            spec = str(req.specifier)
            where = " → ".join((*via, f"{req.name}{spec}"))
            if req.url:
                self.gaps.append(f"{where}: installs from a URL, not watched")
                continue
            doc = self._doc(req.name)
            if isinstance(doc, str):
                self.gaps.append(f"{where}: {doc}")
                continue
            try:
                resolved = candidates(Ecosystem.PYPI, spec, doc.info(Ecosystem.PYPI))[0]
            except Unresolvable as e:
                self.gaps.append(f"{where}: {e}")
                continue
            marker = str(req.marker) if req.marker is not None else None
            yield TreeEntry(
                package=doc.name,
                version=resolved,
                name=req.name,
                spec=spec or "*",
                via=via,
                condition=marker or condition,
                floats=not _pypi_exact(spec),
            )


def _npm_edges(declared: NpmDeclared) -> Iterator[tuple[str, str, str]]:
    """(name, spec, kind) as npm installs them: an optional spec wins over a regular one of
    the same name; a peer is installed unless marked optional or also a regular dependency."""
    for dep, spec in declared.dependencies.items():
        if dep not in declared.optional:
            yield dep, spec, "prod"
    for dep, spec in declared.optional.items():
        yield dep, spec, "optional"
    for dep, spec in declared.peer.items():
        if dep in declared.dependencies or dep in declared.optional:
            continue
        if dep not in declared.optional_peers:
            yield dep, spec, "peer"


@lru_cache(maxsize=4096)
def _npm_exact(spec: str) -> bool:
    try:
        return bool(spec) and nodesemver.valid(spec, loose=True) is not None
    except ValueError:  # not a gap: a spec that is no version floats as far as we can tell
        return False


def _pypi_exact(spec: str) -> bool:
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    return any(p.startswith(("==", "===")) and not p.endswith(".*") for p in parts)


# --- npm-shrinkwrap.json --------------------------------------------------------------------


def parse_shrinkwrap(name: str, version: str, data: bytes, bounds: Bounds) -> Tree | None:
    """The tree a release's `npm-shrinkwrap.json` pins; None when it cannot be read (then
    the ranges are resolved instead, and the reason is a gap of that tree)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    root = f"{name}@{version}"
    found: list[tuple[str, str, str, dict[str, Any]]] = []
    packages = doc.get("packages")
    if isinstance(packages, dict):
        found.extend(_lock_v2(packages))
    elif isinstance(doc.get("dependencies"), dict):
        found.extend(_lock_v1(doc["dependencies"], ""))
    else:
        return None
    entries: dict[tuple[str, str], TreeEntry] = {}
    gaps: list[str] = []
    labels: dict[str, str] = {"": root}
    for location, dep, pinned, _meta in found:
        labels[location] = f"{dep}@{pinned}"
    for location, dep, pinned, meta in found:
        if meta.get("dev") is True:
            continue  # dev dependencies of the release are not installed with it
        via = tuple(labels.get(p, p) for p in _parents(location))
        package = meta["name"] if isinstance(meta.get("name"), str) else dep
        if meta.get("link") is True or is_non_registry(Ecosystem.NPM, pinned):
            gaps.append(f"{' → '.join((*via, dep))}: not from the registry, not watched")
            continue
        if len(via) > bounds.max_depth:
            continue
        if len(entries) >= bounds.max_packages:
            gaps.append(f"tree cut at {bounds.max_packages} packages")
            break
        osl, cpu = _words(meta.get("os")), _words(meta.get("cpu"))
        condition = NpmDeclared(os=osl, cpu=cpu).condition
        entries.setdefault(
            (package, pinned),
            TreeEntry(
                package=package,
                version=pinned,
                name=dep,
                spec=pinned,
                via=via,
                kind="shrinkwrap",
                condition=condition,
                floats=False,
            ),
        )
    ordered = sorted(entries.values(), key=lambda e: e.depth)
    return Tree(
        Ecosystem.NPM, name, version, tuple(ordered), tuple(dict.fromkeys(gaps)), SHRINKWRAP
    )


def _words(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list):
        return tuple(w for w in raw if isinstance(w, str))
    return ()


def _parents(location: str) -> list[str]:
    """`node_modules/a/node_modules/b` → ["", "node_modules/a"] (the root, then each parent)."""
    parents = [""]
    marker = "node_modules/"
    start = 0
    while True:
        found = location.find("/" + marker, start)
        if found < 0:
            return parents
        parents.append(location[:found])
        start = found + 1


def _lock_v2(packages: Mapping[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for location, meta in packages.items():
        if not location or not isinstance(meta, dict):
            continue
        dep = location.rpartition("node_modules/")[2]
        pinned = meta.get("version")
        if not dep or not isinstance(pinned, str):
            continue
        yield location, dep, pinned, meta


def _lock_v1(
    deps: Mapping[str, Any], prefix: str, depth: int = 0
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    if depth > 64:
        return
    for dep, meta in deps.items():
        if not isinstance(meta, dict) or not isinstance(meta.get("version"), str):
            continue
        location = f"{prefix}node_modules/{dep}"
        pinned = meta["version"]
        alias = pinned.startswith("npm:")
        if alias:
            target, _, pinned = pinned[4:].rpartition("@")
            meta = {**meta, "name": target}
        yield location, dep, pinned, meta
        if isinstance(meta.get("dependencies"), dict):
            yield from _lock_v1(meta["dependencies"], f"{location}/", depth + 1)
