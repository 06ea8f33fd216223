"""What moved between two resolutions of one subscription's tree."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.tree.model import Tree, TreeEntry


@dataclass(frozen=True, slots=True)
class TreeChange:
    """A package version the tree now gets: `old` is what the same place resolved to before
    (None: the package is new to the tree, and is scanned as a first release)."""

    package: str
    old: str | None
    new: str
    entry: TreeEntry

    @property
    def path(self) -> str:
        return self.entry.path(self.old)


def tree_changes(before: Tree, after: Tree) -> list[TreeChange]:
    """Entries of `after` that `before` did not resolve to, each with what it replaced.

    An entry is matched with the one of `before` at the same place (same parent path and
    dependency name), else with the same package anywhere in `before`; a package `before`
    never had is new. A version `before` already had somewhere is not a change: it was
    watched (and installed) already.
    """
    by_place = {(e.via, e.name): e for e in before.entries}
    versions: dict[str, list[str]] = {}
    for e in before.entries:
        versions.setdefault(e.package, []).append(e.version)
    found: list[TreeChange] = []
    for entry in after.entries:
        known = versions.get(entry.package)
        if known is not None and entry.version in known:
            continue
        same = by_place.get((entry.via, entry.name))
        if same is not None and same.package == entry.package:
            found.append(TreeChange(entry.package, same.version, entry.version, entry))
        elif known:
            found.append(TreeChange(entry.package, known[0], entry.version, entry))
        else:
            found.append(TreeChange(entry.package, None, entry.version, entry))
    return found
