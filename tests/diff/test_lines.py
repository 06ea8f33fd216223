"""Compact line views and line budgets: the same lines as before, bounded, gaps recorded.

The reference implementations below are the straightforward ones the views replaced (one
`AddedLine` per line from `str.splitlines`, and a unified diff parsed with unidiff); the
property tests hold the views to exactly their (lineno, text) sequences.
"""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unidiff import PatchSet

from watcher import gaps
from watcher.diff import tree
from watcher.diff.lines import AddedLines, LineIndex, count_lines
from watcher.models import AddedLine, ArtifactKind, ChangeKind, FileEntry, Snapshot

# --- the implementations the views replaced ---------------------------------------------------


def reference_all_lines(data: bytes) -> list[tuple[int, str]]:
    text = data.decode("utf-8", errors="replace")
    return [(i, line) for i, line in enumerate(text.splitlines(), start=1)]


def reference_line_changes(old: str, new: str) -> tuple[list[tuple[int, str]], list[str]]:
    a, b = old.splitlines(), new.splitlines()
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    a, b = a[head : len(a) - tail], b[head : len(b) - tail]
    text = "\n".join(difflib.unified_diff(a, b, "a/f", "b/f", n=0, lineterm=""))
    if not text:
        return [], []
    added: list[tuple[int, str]] = []
    removed: list[str] = []
    for patched in PatchSet(text + "\n"):
        for hunk in patched:
            for line in hunk:
                if line.is_added and line.target_line_no is not None:
                    added.append((head + line.target_line_no, line.value.rstrip("\n")))
                elif line.is_removed:
                    removed.append(line.value.rstrip("\n"))
    return added, removed


# --- inputs: every line ending str.splitlines knows, mixed, plus invalid UTF-8 ----------------

BREAKS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
line_text = st.text(
    alphabet=st.characters(blacklist_characters="".join(BREAKS) + "\x00", codec="utf-8"),
    max_size=8,
)
texts = st.lists(st.tuples(line_text, st.sampled_from(BREAKS)), max_size=30).map(
    lambda parts: "".join(t + b for t, b in parts)
) | st.lists(line_text, max_size=30).map("\n".join)
# Raw bytes: truncated sequences, lone continuation bytes, break bytes inside sequences.
raw = st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"")) | st.lists(
    st.sampled_from(
        [b"a", b"\n", b"\r", b"\r\n", b"\xc2", b"\x85", b"\xc2\x85", b"\xe2", b"\x80", b"\xa8"]
        + [b"\xe2\x80\xa8", b"\xe2\x80\xa9", b"\xf0\x9f", b"\xed\xa0\x80", b"\x1c", b"\xff"]
    ),
    max_size=40,
).map(b"".join)


def entry(path: str, data: bytes | str) -> FileEntry:
    return FileEntry.of(path, data.encode() if isinstance(data, str) else data)


def snap(files: dict[str, bytes | str]) -> Snapshot:
    return Snapshot("x.tgz", ArtifactKind.NPM_TARBALL, {p: entry(p, v) for p, v in files.items()})


def pairs(lines: object) -> list[tuple[int, str]]:
    assert isinstance(lines, AddedLines | tuple)
    return [(a.lineno, a.text) for a in lines]


@settings(max_examples=300, deadline=None)
@given(texts.map(str.encode) | raw)
def test_whole_file_view_matches_splitlines(data: bytes) -> None:
    expected = reference_all_lines(data)
    assert count_lines(data) == len(expected)
    (change,) = tree.diff_snapshots(None, snap({"f.js": data}))
    if change.new is not None and change.new.is_binary:
        return
    assert pairs(change.added_lines) == expected
    assert len(change.added_lines) == len(expected)
    assert change.added_lines == tuple(AddedLine(n, t) for n, t in expected)
    if expected:
        assert (change.added_lines[-1].lineno, change.added_lines[-1].text) == expected[-1]


@settings(max_examples=300, deadline=None)
@given(texts | raw.map(lambda b: b.decode("utf-8", errors="replace")), texts)
def test_modified_file_view_matches_the_unified_diff(old: str, new: str) -> None:
    changes = tree.diff_snapshots(snap({"f.py": old}), snap({"f.py": new}))
    if old.encode() == new.encode():
        assert changes == ()
        return
    (change,) = changes
    added, removed = reference_line_changes(old, new)
    assert pairs(change.added_lines) == added
    assert list(change.removed_lines) == removed


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"one",
        b"one\n",
        b"a\r\nb\r\nc",
        b"a\rb\r\n\rc\n",
        b"mixed\r\nends\rhere\nand\x0bthere\x0cx\x1cy\x1dz\x1e",
        "nel\x85ls\u2028ps\u2029end".encode(),
        b"bad \xff bytes\n\xe2\x80 cut\n",
    ],
)
def test_views_match_on_line_ending_edge_cases(data: bytes) -> None:
    (change,) = tree.diff_snapshots(None, snap({"f.txt": data}))
    assert pairs(change.added_lines) == reference_all_lines(data)
    index = LineIndex(data)
    assert [index.text(i) for i in range(len(index))] == [t for _, t in reference_all_lines(data)]


def test_view_behaves_as_the_tuple_it_replaces() -> None:
    (change,) = tree.diff_snapshots(None, snap({"f.js": "a\nb\nc\n"}))
    lines = change.added_lines
    expected = (AddedLine(1, "a"), AddedLine(2, "b"), AddedLine(3, "c"))
    assert lines == expected and lines == list(expected)
    assert hash(lines) == hash(expected)
    assert lines[1:] == expected[1:] and lines[-1] == expected[-1]
    assert list(reversed(lines)) == list(reversed(expected))
    with pytest.raises(IndexError):
        lines[3]
    assert AddedLine(2, "b") in lines and lines.index(AddedLine(3, "c")) == 2


# --- budgets -----------------------------------------------------------------------------------


def test_a_file_over_the_line_budget_is_cut_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_FILE_LINES", 10)
    data = "".join(f"l{i}\n" for i in range(1, 26))
    with gaps.collecting() as found:
        changes = tree.diff_snapshots(None, snap({"big.js": data, "small.js": "ok\n"}))
    big, small = changes
    assert pairs(big.added_lines) == [(i, f"l{i}") for i in range(1, 11)]
    assert pairs(small.added_lines) == [(1, "ok")]
    (gap,) = found
    assert gap.path == "big.js" and gap.sha256 == big.new.sha256  # type: ignore[union-attr]
    assert "25 lines, over the 10-line budget per file" in gap.reason


def test_the_artifact_budget_bounds_every_file_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_ARTIFACT_LINES", 12)
    files = {f"f{i}.js": "x\n" * 5 for i in range(4)}
    with gaps.collecting() as found:
        changes = tree.diff_snapshots(None, snap(files))
    assert [len(c.added_lines) for c in changes] == [5, 5, 2, 0]
    assert [g.path for g in found] == ["f2.js", "f3.js"]
    assert "only the first 2 of its 5 lines" in found[0].reason


def test_the_artifact_byte_budget_bounds_long_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_ARTIFACT_LINE_BYTES", 250)
    with gaps.collecting() as found:
        (change,) = tree.diff_snapshots(None, snap({"a.js": ("y" * 99 + "\n") * 5}))
    assert len(change.added_lines) == 2
    assert found and "budget" in found[0].reason


def test_budgets_also_bound_modified_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_FILE_LINES", 3)
    old, new = "a\n", "a\n" + "".join(f"n{i}\n" for i in range(6))
    with gaps.collecting() as found:
        (change,) = tree.diff_snapshots(snap({"m.py": old}), snap({"m.py": new}))
    assert change.kind is ChangeKind.MODIFIED
    assert pairs(change.added_lines) == [(2, "n0"), (3, "n1"), (4, "n2")]
    assert len(found) == 1 and "6 lines" in found[0].reason


def test_huge_line_counts_do_not_index_past_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tree, "MAX_FILE_LINES", 1000)
    data = b"x;\n" * 2_000_000
    with gaps.collecting() as found:
        (change,) = tree.diff_snapshots(None, snap({"lines.js": data}))
    assert isinstance(change.added_lines, AddedLines)
    assert len(change.added_lines) == 1000
    assert "2000000 lines" in found[0].reason


def test_no_gap_within_budgets() -> None:
    with gaps.collecting() as found:
        tree.diff_snapshots(snap({"a.js": "1\n"}), snap({"a.js": "1\n2\n", "b.js": "x\n"}))
    assert found == []


# --- decoded texts -------------------------------------------------------------------------------


def test_a_small_text_is_decoded_once_and_shared() -> None:
    first, second = entry("a.py", "x = 1\n"), entry("b.py", "x = 1\n")
    assert first.text is first.text is second.text
    assert first.text == "x = 1\n"


def test_a_large_text_is_decoded_per_read_and_never_kept() -> None:
    data = b"y" * (3 * 1024 * 1024)
    big = entry("big.js", data)
    assert big.text == data.decode() and big.text is not big.text
