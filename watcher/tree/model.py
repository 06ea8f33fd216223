"""The values of a resolved dependency tree: plain, frozen, serialisable."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.models import Ecosystem

#: Separates the hops of a path as alerts and `watcher tree` show them.
ARROW = " → "


@dataclass(frozen=True, slots=True)
class Bounds:
    """How far resolution goes: a tree past these is cut, and the cut is recorded as a gap."""

    max_depth: int = 32
    max_packages: int = 2000


DEFAULT_BOUNDS = Bounds()


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One package version an install gets, and how it was reached.

    `name` is the dependency's key in its parent (an `npm:` alias differs from `package`, the
    registry package actually installed); `spec` the range it was declared with; `via` the
    hops from the subscription's release down to the parent (`@vendor/server@1.2.3`,
    `schema-validator@^4.1.0`).
    """

    package: str
    version: str
    name: str
    spec: str
    via: tuple[str, ...]
    #: `prod`, `optional`, `peer` or `shrinkwrap` (pinned by the release's npm-shrinkwrap.json).
    kind: str = "prod"
    #: When it is installed at all: npm `os`/`cpu` of an optional dependency, a PEP 508 marker.
    condition: str | None = None
    #: The range can resolve to another release later (not an exact version, not shrinkwrapped).
    floats: bool = True

    @property
    def depth(self) -> int:
        return len(self.via)

    @property
    def hop(self) -> str:
        """This entry as a hop in its children's paths: `name@spec`."""
        return f"{self.name}@{self.spec}"

    def path(self, old: str | None = None) -> str:
        """`@vendor/server@1.2.3 → schema-validator@^4.1.0 → fast-str 1.0.7 → 1.0.8`."""
        moved = f"{old} → {self.version}" if old else self.version
        target = f"{self.package} {moved}"
        return ARROW.join((*self.via, target))


@dataclass(frozen=True, slots=True)
class Tree:
    """The resolved tree of one release: entries breadth first, each (package, version) once."""

    ecosystem: Ecosystem
    root: str
    root_version: str
    entries: tuple[TreeEntry, ...]
    #: What could not be resolved or was cut by the bounds, one line each.
    gaps: tuple[str, ...] = ()
    #: Where the versions came from: `ranges` or `npm-shrinkwrap.json`.
    source: str = "ranges"

    @property
    def label(self) -> str:
        return f"{self.root}@{self.root_version}"

    def packages(self) -> set[str]:
        """Every registry package in the tree (what a cycle polls)."""
        return {e.package for e in self.entries}
