"""The tree diff: what changed, and the exact new-file line numbers of added lines."""

from __future__ import annotations

import pytest

from watcher.diff import tree
from watcher.models import ArtifactKind, ChangeKind, FileChange, FileEntry, Snapshot


def snap(files: dict[str, bytes | str]) -> Snapshot:
    entries = {
        p: FileEntry.of(p, v.encode() if isinstance(v, str) else v) for p, v in files.items()
    }
    return Snapshot("x.tgz", ArtifactKind.NPM_TARBALL, entries)


def by_path(changes: tuple[FileChange, ...]) -> dict[str, FileChange]:
    return {c.path: c for c in changes}


def test_added_removed_modified_and_unchanged() -> None:
    old = snap({"a.js": "1\n", "b.js": "same\n", "gone.js": "x\n"})
    new = snap({"a.js": "1\n2\n", "b.js": "same\n", "new.js": "n1\nn2\n"})
    changes = by_path(tree.diff_snapshots(old, new))
    assert set(changes) == {"a.js", "gone.js", "new.js"}
    assert changes["a.js"].kind is ChangeKind.MODIFIED
    assert changes["gone.js"].kind is ChangeKind.REMOVED
    added = changes["new.js"]
    assert added.kind is ChangeKind.ADDED
    assert [(a.lineno, a.text) for a in added.added_lines] == [(1, "n1"), (2, "n2")]


def test_added_lines_carry_their_line_number_in_the_new_file() -> None:
    old = "\n".join(f"line {i}" for i in range(1, 21)) + "\n"
    lines = old.splitlines()
    lines.insert(4, "inserted A")  # becomes line 5
    lines[14] = "replaced"  # line 15
    lines.append("appended")
    new = "\n".join(lines) + "\n"
    change = tree.diff_snapshots(snap({"f.py": old}), snap({"f.py": new}))[0]
    assert [(a.lineno, a.text) for a in change.added_lines] == [
        (5, "inserted A"),
        (15, "replaced"),
        (22, "appended"),
    ]
    assert set(change.removed_lines) == {"line 14"}


def test_lines_that_look_like_diff_headers_are_plain_content() -> None:
    old = "a\n-- comment\n++ x\n"
    new = "a\n--- comment\n+++ y\n@@ not a hunk @@\n"
    change = tree.diff_snapshots(snap({"f.sql": old}), snap({"f.sql": new}))[0]
    assert [a.text for a in change.added_lines] == ["--- comment", "+++ y", "@@ not a hunk @@"]
    assert [a.lineno for a in change.added_lines] == [2, 3, 4]


def test_binary_changes_are_by_hash_with_no_lines() -> None:
    old = snap({"lib.node": b"\x7fELF\x00\x01"})
    new = snap({"lib.node": b"\x7fELF\x00\x02"})
    (change,) = tree.diff_snapshots(old, new)
    assert change.kind is ChangeKind.MODIFIED and change.added_lines == ()


def test_huge_changed_file_is_treated_as_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_DIFF_BYTES", 100)
    old = snap({"bundle.js": "x\n" * 100})
    new = snap({"bundle.js": "x\n" * 99 + "evil()\n"})
    (change,) = tree.diff_snapshots(old, new)
    assert change.rewritten
    assert len(change.added_lines) == 100
    assert change.added_lines[-1].text == "evil()"


def test_too_many_lines_is_treated_as_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_DIFF_LINES", 50)
    old = snap({"data.txt": "x\n" * 60})
    new = snap({"data.txt": "x\n" * 60 + "y\n"})
    (change,) = tree.diff_snapshots(old, new)
    assert change.rewritten and len(change.added_lines) == 61


def test_long_changed_region_is_compared_as_line_multisets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebuilt bundle whose modules moved adds nothing; the one new line, and the one edited
    line, are what is added, wherever they sit."""
    monkeypatch.setattr(tree, "MAX_MATCHER_LINES", 10)
    modules = [f"function m{i}() {{ return {i}; }}" for i in range(40)]
    moved = modules[20:] + modules[:20]
    moved[5] = "function m25() { return 'changed'; }"
    moved.insert(30, "eval(atob(payload));")
    old = snap({"bundle.js": "\n".join(["'use strict';", *modules, "end();"]) + "\n"})
    new = snap({"bundle.js": "\n".join(["'use strict';", *moved, "end();"]) + "\n"})
    (change,) = tree.diff_snapshots(old, new)
    assert not change.rewritten
    assert [a.text for a in change.added_lines] == [
        "function m25() { return 'changed'; }",
        "eval(atob(payload));",
    ]
    assert [a.lineno for a in change.added_lines] == [7, 32]
    assert list(change.removed_lines) == ["function m25() { return 25; }"]


def test_first_release_has_everything_added() -> None:
    changes = tree.diff_snapshots(None, snap({"a.js": "1\n", "b.js": "2\n"}))
    assert {c.kind for c in changes} == {ChangeKind.ADDED}
