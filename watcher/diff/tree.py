"""Compare two snapshots file by file, and changed text files line by line.

Only what changed is ever looked at again: files with equal hashes cost a dict lookup, and the
rules read `added_lines`, never whole files, except where a file is new or too large to diff.

Added lines are compact views (`watcher.diff.lines`): offsets into the file's bytes, so memory
follows the bytes held, never the number of lines. What rules iterate line by line is bounded
by line budgets per file and per artifact (`LineBudget`); a file cut short by a budget is
recorded as a gap (SPEC §4.5), never silently skipped.
"""

from __future__ import annotations

import difflib
from array import array
from collections import Counter
from dataclasses import dataclass, field

from watcher import gaps
from watcher.diff.lines import AddedLines, LineIndex, LineTexts, count_lines
from watcher.models import AddedLine, ChangeKind, FileChange, FileEntry, Snapshot

#: Above this size, or this many lines, a changed text file is treated as rewritten: the line
#: lists a diff builds cost some 60 bytes a line beyond the text. 16 MiB holds the largest
#: bundles of real MCP servers (chrome-devtools-mcp's 8 MB third-party bundle, typescript.js).
MAX_DIFF_BYTES = 16 * 1024 * 1024
MAX_DIFF_LINES = 400_000
#: Changed regions longer than this (after the common head and tail are cut) are compared as
#: multisets of lines rather than by difflib, whose matcher is superlinear: a rebuilt bundle
#: whose modules moved has no new lines, and a line inserted or edited anywhere is one.
MAX_MATCHER_LINES = 5_000

#: Lines of one file the rules iterate. The largest file of a real pair we benchmark
#: (typescript's lib/typescript.js) has 200,000 lines; a file with more than 500,000 is data or
#: an attack (22 million two-character lines fit in the 64 MiB file limit), and every code rule
#: pays per line it is shown. Lines past the budget are a gap, not a silent skip.
MAX_FILE_LINES = 500_000
#: Added lines of one artifact the rules iterate: typescript 5.8.3 → 5.9.2, the largest real
#: diff we benchmark, adds 340,000 lines (15.5 MB). The rules hold what they scan several
#: times over (joined texts, per-line strings), so this bounds their memory and time.
MAX_ARTIFACT_LINES = 1_000_000
#: Bytes of added lines of one artifact the rules iterate, for the same reason: a million
#: 64-byte lines cost the rules as much as 64 million one-byte ones.
MAX_ARTIFACT_LINE_BYTES = 32 * 1024 * 1024


@dataclass(slots=True)
class LineBudget:
    """The line budgets of one artifact's diff, and how much of them is spent.

    The limits default to the module constants (read when the budget is made, so tests can
    patch them); `diff_snapshots` makes a fresh budget per call unless given one, and a caller
    may share one budget across the artifacts of a release.
    """

    file_lines: int = field(default_factory=lambda: MAX_FILE_LINES)
    lines: int = field(default_factory=lambda: MAX_ARTIFACT_LINES)
    line_bytes: int = field(default_factory=lambda: MAX_ARTIFACT_LINE_BYTES)
    spent_lines: int = 0
    spent_bytes: int = 0

    def allows(self) -> int:
        """How many more lines one file may show (before the byte budget is judged)."""
        return max(0, min(self.file_lines, self.lines - self.spent_lines))

    def take(self, entry: FileEntry, view: AddedLines, total: int) -> AddedLines:
        """`view` cut to what the budgets allow, recording a gap when anything is cut.

        `total` is how many lines the file would show unbounded (the view may already hold
        fewer: whole files are indexed only as far as the budget reaches).
        """
        shown = min(len(view), self.allows())
        room = self.line_bytes - self.spent_bytes
        size = view.span_bytes(shown)
        if size > room:
            # Rare (the byte budget is spent): find the cut line by line.
            size, count = 0, 0
            while count < shown and size + view.size(count) + 1 <= room:
                size += view.size(count) + 1
                count += 1
            shown = count
        self.spent_lines += shown
        self.spent_bytes += size
        if shown < total:
            if total > self.file_lines and shown == self.file_lines:
                why = f"{total} lines, over the {self.file_lines}-line budget per file"
            else:
                why = (
                    f"the artifact's budget of {self.lines} lines and "
                    f"{self.line_bytes} bytes scanned line by line was spent"
                )
            gaps.record(
                f"{entry.path}: {why}; only the first {shown} of its {total} lines were "
                "scanned line by line",
                path=entry.path,
                sha256=entry.sha256,
            )
        return view.bounded(shown)


#: Line changes by (old hash, new hash). A PyPI release's sdist and wheel carry the same modules:
#: sharing one memo across both artifacts diffs each changed module once.
LineMemo = dict[tuple[str, str], tuple[AddedLines, LineTexts]]


def diff_snapshots(
    old: Snapshot | None,
    new: Snapshot,
    memo: LineMemo | None = None,
    budget: LineBudget | None = None,
) -> tuple[FileChange, ...]:
    """Files added, removed and modified from `old` to `new` (everything added when old is None).

    `memo` may be shared between the artifacts of one release to avoid diffing a file twice;
    `budget` bounds the lines shown to rules (a fresh `LineBudget` when None).
    """
    memo = {} if memo is None else memo
    budget = LineBudget() if budget is None else budget
    old_files = old.files if old is not None else {}
    changes: list[FileChange] = []
    for path in sorted(old_files.keys() | new.files.keys()):
        before, after = old_files.get(path), new.files.get(path)
        if before is None and after is not None:
            lines = _all_lines(after, budget)
            changes.append(FileChange(path, ChangeKind.ADDED, None, after, added_lines=lines))
        elif after is None and before is not None:
            changes.append(FileChange(path, ChangeKind.REMOVED, before, None))
        elif before is not None and after is not None and before.sha256 != after.sha256:
            changes.append(_modified(path, before, after, memo, budget))
    return tuple(changes)


_NO_LINES: tuple[AddedLine, ...] = ()


def _all_lines(entry: FileEntry, budget: LineBudget) -> AddedLines | tuple[AddedLine, ...]:
    """Every line of a text file, as far as the budget reaches."""
    if entry.is_binary:
        return _NO_LINES
    total = count_lines(entry.data)
    # Only as many lines as the budget allows are ever indexed.
    index = LineIndex(entry.data, min(total, budget.allows()), lines=total)
    return budget.take(entry, AddedLines(index), total)


def _modified(
    path: str, before: FileEntry, after: FileEntry, memo: LineMemo, budget: LineBudget
) -> FileChange:
    if after.is_binary or before.is_binary:
        return FileChange(path, ChangeKind.MODIFIED, before, after)
    if max(before.size, after.size) > MAX_DIFF_BYTES or (
        max(count_lines(before.data), count_lines(after.data)) > MAX_DIFF_LINES
    ):
        return FileChange(
            path,
            ChangeKind.MODIFIED,
            before,
            after,
            added_lines=_all_lines(after, budget),
            rewritten=True,
        )
    key = (before.sha256, after.sha256)
    if key not in memo:
        memo[key] = _line_changes(before, after)
    added, removed = memo[key]
    return FileChange(
        path,
        ChangeKind.MODIFIED,
        before,
        after,
        added_lines=budget.take(after, added, len(added)),
        removed_lines=removed,
    )


_EMPTY = LineIndex(b"")


def _line_changes(before: FileEntry, after: FileEntry) -> tuple[AddedLines, LineTexts]:
    """Added lines (with their number in the new file) and removed lines.

    The common head and tail are cut off first: difflib's matcher is superlinear, and most
    releases change a few places in a long file. The matcher's opcodes say which lines of
    each side changed (the `+` and `-` lines of a zero-context unified diff); the lines
    themselves stay in the files' bytes. Both sides are at most `MAX_DIFF_BYTES` and
    `MAX_DIFF_LINES`, so the line lists built are bounded and dropped on return.
    """
    old_lines, new_lines = before.text.splitlines(), after.text.splitlines()
    a, b = old_lines, new_lines
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    added, removed = array("I"), array("I")
    if max(len(a), len(b)) > MAX_MATCHER_LINES:
        added.extend(head + j + 1 for j in _unmatched(b, a))
        removed.extend(head + i + 1 for i in _unmatched(a, b))
    else:
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
            if tag in ("replace", "delete"):
                removed.extend(range(head + i1 + 1, head + i2 + 1))
            if tag in ("replace", "insert"):
                added.extend(range(head + j1 + 1, head + j2 + 1))
    new_index = LineIndex.of_split(after.data, new_lines).subset(added) if added else _EMPTY
    old_index = LineIndex.of_split(before.data, old_lines).subset(removed) if removed else _EMPTY
    return AddedLines(new_index, added), LineTexts(old_index)


def _unmatched(lines: list[str], other: list[str]) -> list[int]:
    """Indexes of `lines` with no copy left in `other`, as multisets: each line of `other`
    matches one equal line. Linear in both lengths whatever the edit."""
    left = Counter(other)
    unmatched = []
    for index, line in enumerate(lines):
        if left[line] > 0:
            left[line] -= 1
        else:
            unmatched.append(index)
    return unmatched
