"""What moved between two resolutions of a tree."""

from __future__ import annotations

from watcher.models import Ecosystem
from watcher.tree.changes import TreeChange, tree_changes
from watcher.tree.model import Tree, TreeEntry

ROOT = ("server@1.0.0",)


def _tree(*entries: TreeEntry) -> Tree:
    return Tree(Ecosystem.NPM, "server", "1.0.0", entries)


def _e(
    package: str, version: str, via: tuple[str, ...] = ROOT, name: str | None = None
) -> TreeEntry:
    return TreeEntry(package, version, name or package, "^1", via)


def test_a_moved_range_a_new_package_and_an_unmoved_one() -> None:
    before = _tree(_e("a", "1.0.0"), _e("b", "2.0.0", (*ROOT, "a@^1")))
    after = _tree(
        _e("a", "1.0.0"),
        _e("b", "2.0.1", (*ROOT, "a@^1")),
        _e("c", "1.0.0", (*ROOT, "a@^1")),
    )
    assert tree_changes(before, after) == [
        TreeChange("b", "2.0.0", "2.0.1", after.entries[1]),
        TreeChange("c", None, "1.0.0", after.entries[2]),
    ]
    assert tree_changes(before, after)[0].path == "server@1.0.0 → a@^1 → b 2.0.0 → 2.0.1"


def test_a_version_already_in_the_tree_elsewhere_is_not_new() -> None:
    before = _tree(_e("a", "1.0.0"), _e("b", "2.0.0", (*ROOT, "x@^1")))
    after = _tree(_e("a", "1.0.0"), _e("b", "2.0.0", (*ROOT, "a@^1")))
    assert tree_changes(before, after) == []


def test_a_package_that_moved_place_is_diffed_against_its_old_version() -> None:
    before = _tree(_e("b", "2.0.0", (*ROOT, "x@^1")))
    after = _tree(_e("b", "2.1.0", (*ROOT, "a@^1")))
    [change] = tree_changes(before, after)
    assert (change.old, change.new) == ("2.0.0", "2.1.0")


def test_an_alias_repointed_to_another_package_is_a_new_package() -> None:
    before = _tree(_e("real", "1.0.0", name="alias"))
    after = _tree(_e("evil", "1.0.0", name="alias"))
    [change] = tree_changes(before, after)
    assert (change.package, change.old) == ("evil", None)
