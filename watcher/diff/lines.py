"""Compact line views: a file's lines as offsets into its bytes, not as one object per line.

A release may hold 22 million two-character lines inside the archive limits. Holding each as an
`AddedLine` (plus its string) costs ~150 bytes a line, 3 GB for that one file; the views here
keep the file's bytes (already held by its `FileEntry`) and two `array('I')` of byte offsets,
8 bytes a line, and build the `AddedLine` for a line only when a rule asks for it, keeping
nothing afterwards.

Lines are exactly those of `entry.text.splitlines()`: the bytes are cut at the UTF-8 encodings
of the characters `str.splitlines` breaks on, and each line is decoded on its own with
`errors="replace"`. Every break character is ASCII or a complete multi-byte sequence whose lead
byte can never continue another sequence, so decoding line by line gives the same characters
(replacement characters included) as decoding the whole file and splitting it.
"""

from __future__ import annotations

import itertools
import operator
import re
from array import array
from collections.abc import Iterator, Sequence
from typing import overload

from watcher.models import AddedLine

#: The UTF-8 encodings of what `str.splitlines` treats as a line boundary; `\r\n` is one.
_BREAK = re.compile(rb"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e]|\xc2\x85|\xe2\x80[\xa8\xa9]")
#: Single bytes that break a line; with the multi-byte ones below, all `_BREAK` matches.
_BREAK_BYTES = (b"\n", b"\r", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e")
_BREAK_SEQUENCES = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")
#: Below this many bytes the offsets fit in 32 bits (always, under the default limits).
_SMALL = 1 << 32


def _offsets() -> array[int]:
    return array("I")


def _wide_offsets() -> array[int]:
    return array("Q")


def _plain(data: bytes) -> bool:
    """Whether `\n` is the only line break in `data` (ASCII text cannot hold the others)."""
    if any(b in data for b in _BREAK_BYTES[1:]):
        return False
    return data.isascii() or not any(s in data for s in _BREAK_SEQUENCES)


def count_lines(data: bytes) -> int:
    """How many lines `data.decode(errors="replace").splitlines()` gives, without splitting.

    A handful of C-speed scans of the bytes: the line budgets are judged before any offset is
    stored, so a file of 22 million lines costs no more than counting them.
    """
    if not data:
        return 0
    if _plain(data):
        breaks = data.count(b"\n")
        last_is_break = data.endswith(b"\n")
    else:
        breaks = sum(data.count(b) for b in _BREAK_BYTES) - data.count(b"\r\n")
        breaks += sum(data.count(s) for s in _BREAK_SEQUENCES)
        match = _BREAK.search(data, max(0, len(data) - 3))
        last_is_break = False
        while match is not None:
            last_is_break = match.end() == len(data)
            match = _BREAK.search(data, match.end())
    return breaks + (0 if last_is_break else 1)


class LineIndex:
    """Where each line of a file's bytes starts and ends (its break excluded).

    `limit` stops indexing after that many lines: only what a budget allows is ever stored.
    `lines` is `count_lines(data)` when the caller has it already.
    """

    __slots__ = ("data", "ends", "starts")

    def __init__(self, data: bytes, limit: int | None = None, lines: int | None = None) -> None:
        self.data = data
        make = _offsets if len(data) < _SMALL else _wide_offsets
        self.starts, self.ends = make(), make()
        if not data:
            return
        total = count_lines(data) if lines is None else lines
        wanted = total if limit is None else min(limit, total)
        if wanted == 0:
            return
        starts, ends = self.starts, self.ends
        position = 0
        plain = _plain(data)
        if plain and wanted == total:
            # The common case, `\n` only and every line wanted: lengths from one C-speed split
            # (transient, as many pieces as the budget allowed lines).
            lengths = list(map(len, data.split(b"\n", wanted)))[:wanted]
            starts.extend(itertools.accumulate(map((1).__add__, lengths[:-1]), initial=0))
            ends.extend(map(operator.add, starts, lengths))
            return
        if plain:
            # `\n` only but cut short by a budget: `find` stops where the budget does.
            find = data.find
            while len(starts) < wanted:
                end = find(b"\n", position)
                if end == -1:
                    end = len(data)
                starts.append(position)
                ends.append(end)
                position = end + 1
            return
        for match in _BREAK.finditer(data):
            if len(starts) >= wanted:
                return
            starts.append(position)
            ends.append(match.start())
            position = match.end()
        if len(starts) < wanted:
            starts.append(position)
            ends.append(len(data))

    @classmethod
    def of_split(cls, data: bytes, lines: Sequence[str]) -> LineIndex:
        """The index of `data` from its `splitlines()` (a diffed file has them already).

        Offsets come from the line lengths, which is exact when the bytes are ASCII with `\n`
        as the only break (most source files); otherwise the bytes are scanned as usual.
        """
        if not data.isascii() or any(b in data for b in _BREAK_BYTES[1:]):
            return cls(data)
        index = cls(b"")
        index.data = data
        make = _offsets if len(data) < _SMALL else _wide_offsets
        starts = make()
        starts.extend(itertools.accumulate((len(x) + 1 for x in lines[:-1]), initial=0))
        index.starts = starts if lines else make()
        index.ends = make()
        index.ends.extend(s + len(x) for s, x in zip(index.starts, lines, strict=True))
        return index

    def __len__(self) -> int:
        return len(self.starts)

    def subset(self, numbers: array[int]) -> LineIndex:
        """An index of only the lines with these 1-based numbers, in their order."""
        kept = LineIndex(b"")
        kept.data = self.data
        starts, ends = self.starts, self.ends
        kept.starts = array(starts.typecode, (starts[n - 1] for n in numbers))
        kept.ends = array(ends.typecode, (ends[n - 1] for n in numbers))
        return kept

    def span_bytes(self, count: int) -> int:
        """Bytes of the first `count` lines, one break each counted."""
        return sum(self.ends[:count]) - sum(self.starts[:count]) + count

    def text(self, index: int) -> str:
        """The 0-based line `index`, decoded as the file's text is."""
        return self.data[self.starts[index] : self.ends[index]].decode("utf-8", errors="replace")

    def size(self, index: int) -> int:
        """Bytes of the 0-based line `index`, its break excluded."""
        return self.ends[index] - self.starts[index]


class AddedLines(Sequence[AddedLine]):
    """A sequence of `AddedLine` over a `LineIndex`: a whole file, or selected lines of it.

    With `numbers` None the index holds the file's lines from line 1 on; otherwise it holds
    exactly the lines shown (`LineIndex.subset`) and `numbers` their 1-based line numbers.

    Behaves as the tuple it replaces (indexing, slicing, `len`, equality with tuples and
    lists, hashing as the equal tuple), but each `AddedLine` is built on access and never
    kept: the rules that search every line share one joined text (`watcher.rules.added_text`)
    instead of an object per line.
    """

    __slots__ = ("_count", "_index", "_numbers")

    def __init__(
        self, index: LineIndex, numbers: array[int] | None = None, count: int | None = None
    ) -> None:
        self._index = index
        #: 1-based line numbers of the lines shown, or None: lines 1..count of the file.
        self._numbers = numbers
        full = len(index)
        self._count = full if count is None else min(count, full)

    def bounded(self, count: int) -> AddedLines:
        """The first `count` lines of this view (the same arrays, nothing copied)."""
        if count >= self._count:
            return self
        return AddedLines(self._index, self._numbers, count)

    def block(self) -> tuple[str, array[int]] | None:
        """The view's lines joined by `\n` and their start offsets, without a per-line object.

        Only for a view of a file's first lines when the file is ASCII with `\n` as its only
        break (most sources and bundles): the lines are then one slice of the bytes, and byte
        offsets are character offsets. None otherwise (join the lines instead).
        """
        index = self._index
        if self._numbers is not None or not self._count:
            return None
        data = index.data
        if not data.isascii() or not _plain(data):
            return None
        # Decoded from a view of the bytes: no copy of the slice on the way.
        text = str(memoryview(data)[: index.ends[self._count - 1]], "ascii")
        return text, index.starts[: self._count]

    def lineno(self, position: int) -> int:
        """1-based line number in the file of the `position`-th line of the view."""
        return position + 1 if self._numbers is None else self._numbers[position]

    def size(self, position: int) -> int:
        """Bytes of the `position`-th line of the view."""
        return self._index.size(position)

    def span_bytes(self, count: int) -> int:
        """Bytes of the view's first `count` lines, one break each counted."""
        return self._index.span_bytes(min(count, self._count))

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, position: int) -> AddedLine: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[AddedLine, ...]: ...

    def __getitem__(self, position: int | slice) -> AddedLine | tuple[AddedLine, ...]:
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(self._count)))
        if position < 0:
            position += self._count
        if not 0 <= position < self._count:
            raise IndexError("added line index out of range")
        return AddedLine(self.lineno(position), self._index.text(position))

    def __iter__(self) -> Iterator[AddedLine]:
        index, numbers = self._index, self._numbers
        data, starts, ends = index.data, index.starts, index.ends
        for i in range(self._count):
            yield AddedLine(
                i + 1 if numbers is None else numbers[i],
                data[starts[i] : ends[i]].decode("utf-8", errors="replace"),
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"AddedLines({len(self)} lines)"


class LineTexts(Sequence[str]):
    """The texts of the lines of a `LineIndex` (a modified file's removed lines)."""

    __slots__ = ("_index",)

    def __init__(self, index: LineIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, position: int) -> str: ...

    @overload
    def __getitem__(self, position: slice) -> tuple[str, ...]: ...

    def __getitem__(self, position: int | slice) -> str | tuple[str, ...]:
        if isinstance(position, slice):
            return tuple(self[i] for i in range(*position.indices(len(self))))
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError("line index out of range")
        return self._index.text(position)

    def __iter__(self) -> Iterator[str]:
        text = self._index.text
        for position in range(len(self)):
            yield text(position)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"LineTexts({len(self)} lines)"
