"""Compare two snapshots file by file, and changed text files line by line.

Only what changed is ever looked at again: files with equal hashes cost a dict lookup, and the
rules read `added_lines`, never whole files, except where a file is new or too large to diff.
"""

from __future__ import annotations

import difflib

from unidiff import PatchSet

from watcher.models import AddedLine, ChangeKind, FileChange, FileEntry, Snapshot

#: Above this size a changed text file is treated as rewritten: difflib is quadratic in the worst
#: case, and a bundle that changed this much deserves a full scan anyway.
MAX_DIFF_BYTES = 2 * 1024 * 1024


#: Line changes by (old hash, new hash). A PyPI release's sdist and wheel carry the same modules:
#: sharing one memo across both artifacts diffs each changed module once.
LineMemo = dict[tuple[str, str], tuple[tuple[AddedLine, ...], tuple[str, ...]]]


def diff_snapshots(
    old: Snapshot | None, new: Snapshot, memo: LineMemo | None = None
) -> tuple[FileChange, ...]:
    """Files added, removed and modified from `old` to `new` (everything added when old is None).

    `memo` may be shared between the artifacts of one release to avoid diffing a file twice.
    """
    memo = {} if memo is None else memo
    old_files = old.files if old is not None else {}
    changes: list[FileChange] = []
    for path in sorted(old_files.keys() | new.files.keys()):
        before, after = old_files.get(path), new.files.get(path)
        if before is None and after is not None:
            changes.append(
                FileChange(path, ChangeKind.ADDED, None, after, added_lines=_all_lines(after))
            )
        elif after is None and before is not None:
            changes.append(FileChange(path, ChangeKind.REMOVED, before, None))
        elif before is not None and after is not None and before.sha256 != after.sha256:
            changes.append(_modified(path, before, after, memo))
    return tuple(changes)


def _all_lines(entry: FileEntry) -> tuple[AddedLine, ...]:
    if entry.is_binary:
        return ()
    return tuple(AddedLine(i, line) for i, line in enumerate(entry.text.splitlines(), start=1))


def _modified(path: str, before: FileEntry, after: FileEntry, memo: LineMemo) -> FileChange:
    if after.is_binary or before.is_binary:
        return FileChange(path, ChangeKind.MODIFIED, before, after)
    if max(before.size, after.size) > MAX_DIFF_BYTES:
        return FileChange(
            path, ChangeKind.MODIFIED, before, after, added_lines=_all_lines(after), rewritten=True
        )
    key = (before.sha256, after.sha256)
    if key not in memo:
        memo[key] = _line_changes(path, before.text, after.text)
    added, removed = memo[key]
    return FileChange(
        path, ChangeKind.MODIFIED, before, after, added_lines=added, removed_lines=removed
    )


def _line_changes(path: str, old: str, new: str) -> tuple[tuple[AddedLine, ...], tuple[str, ...]]:
    """Added lines (with their number in the new file) and removed lines, via a unified diff.

    The common head and tail are cut off first: difflib's matcher is superlinear, and most
    releases change a few places in a long file.
    """
    a, b = old.splitlines(), new.splitlines()
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    unified = difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=0, lineterm="")
    text = "\n".join(unified)
    if not text:
        return (), ()
    added: list[AddedLine] = []
    removed: list[str] = []
    for patched in PatchSet(text + "\n"):
        for hunk in patched:
            for line in hunk:
                if line.is_added and line.target_line_no is not None:
                    added.append(AddedLine(head + line.target_line_no, line.value.rstrip("\n")))
                elif line.is_removed:
                    removed.append(line.value.rstrip("\n"))
    return tuple(added), tuple(removed)
