"""`watcher tree`: a subscription's resolved dependency tree, as text or JSON.

Text shows the tree as it was resolved: each package under the parent it was first reached
through, with the range it was declared with and whether that range floats (can resolve to
another release later; those are what the watcher polls). An exact version or a
shrinkwrapped one does not float.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from watcher.escape import json_document, terminal
from watcher.store.trees import StoredTree
from watcher.tree.model import TreeEntry


def render_tree_json(stored: StoredTree) -> str:
    tree = stored.tree
    data: dict[str, Any] = {
        "ecosystem": tree.ecosystem.value,
        "name": tree.root,
        "version": tree.root_version,
        "source": tree.source,
        "resolved_at": stored.resolved_at.isoformat(timespec="seconds"),
        "stale": stored.stale,
        "packages": [
            {
                "package": e.package,
                "version": e.version,
                "name": e.name,
                "spec": e.spec,
                "floats": e.floats,
                "kind": e.kind,
                "condition": e.condition,
                "path": [*e.via, f"{e.package}@{e.version}"],
            }
            for e in tree.entries
        ],
        "gaps": list(tree.gaps),
    }
    return json_document(data) + "\n"


def render_tree_text(stored: StoredTree) -> str:
    tree = stored.tree
    floating = sum(e.floats for e in tree.entries)
    when = stored.resolved_at.isoformat(timespec="seconds")
    lines = [
        f"{tree.ecosystem.value}/{terminal(tree.label)}: {len(tree.entries)} package(s), "
        f"{floating} on floating ranges (resolved {when}, from {terminal(tree.source)})"
    ]
    lines.extend(_branches(tree.entries, (tree.label,), 1))
    if tree.gaps:
        lines.append("not watched:")
        lines.extend(f"  {terminal(gap)}" for gap in tree.gaps)
    return "\n".join(lines) + "\n"


def _branches(entries: tuple[TreeEntry, ...], via: tuple[str, ...], depth: int) -> Iterator[str]:
    children: dict[tuple[str, ...], list[TreeEntry]] = {}
    for entry in entries:
        children.setdefault(entry.via, []).append(entry)
    stack: list[tuple[TreeEntry, int]] = [(e, depth) for e in reversed(children.get(via, []))]
    while stack:
        entry, level = stack.pop()
        shown = entry.package if entry.name == entry.package else f"{entry.name} ({entry.package})"
        notes = [
            "floats" if entry.floats else "exact",
            *([entry.kind] if entry.kind != "prod" else []),
        ]
        if entry.condition:
            notes.append(f"only when {entry.condition}")
        # Names, versions, ranges and conditions come from registries: shown escaped.
        yield terminal(f"{'  ' * level}{shown} {entry.version}  {entry.spec}  [{', '.join(notes)}]")
        below = children.get((*entry.via, entry.hop), [])
        stack.extend((child, level + 1) for child in reversed(below))
