"""A change's added code lines as one string, shared by every rule that searches them.

Rules search added lines with regexes once per file, not once per line (a 400,000-line diff
would pay the per-call cost 400,000 times), so each needs the lines joined. Joined once per
change and shared, with an `array` of line starts instead of an object per line: a
budget-sized file (500,000 lines, 32 MiB) then costs its text and 4 bytes a line, however
many rules read it.

Comment-only lines are joined as spaces: they run nothing (a URL in a JSDoc block, an address
in an example is not news), and keeping every position means the n-th joined line is the n-th
added line and, for ASCII text, an offset in the file is an offset in the joined text.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Sequence

from watcher.diff.lines import AddedLines
from watcher.models import AddedLine, FileChange


def is_comment(line: str) -> bool:
    """Whether a line holds only a comment (`//`, `#`, or inside or closing a `/* */` block).

    A line that closes a block and goes on (`*/;(function(){…`, `/*! banner */ code…`) is
    code: that is how payloads are appended to minified bundles.
    """
    stripped = line.lstrip()
    if stripped.startswith(("//", "#")):
        return True
    if not stripped.startswith(("/*", "*")):
        return False
    close = stripped.rfind("*/")
    return close == -1 or not stripped[close + 2 :].strip()


class AddedText:
    """The added lines of one change joined by newlines (comment-only lines left empty)."""

    __slots__ = ("_has", "_numbers", "joined", "lines", "starts")

    def __init__(self, lines: Sequence[AddedLine] | None, text: str | None = None) -> None:
        self.lines = lines
        #: 1-based line numbers, when they are not simply consecutive (built on first use).
        self._numbers: array[int] | None = None
        self._has: dict[str, bool] = {}
        if lines is None:
            # A whole file's text (`of_text`): every line, numbered from 1.
            self.joined, self.starts = _lines_of(text or "")
            return
        block = lines.block() if isinstance(lines, AddedLines) else None
        if block is None:
            texts = [_blank_comment(a.text) for a in lines]
            self.joined = "\n".join(texts)
            self.starts = array("I" if len(self.joined) < 1 << 32 else "Q")
            self.starts.extend(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
            if not texts:
                del self.starts[:]
        else:
            text, self.starts = block
            self.joined = _blank_comments(text, self.starts)

    @classmethod
    def of_text(cls, text: str) -> AddedText:
        """A whole file's text as if every line were added (the old release's files)."""
        return cls(None, text)

    def __len__(self) -> int:
        return len(self.starts)

    def has(self, needle: str) -> bool:
        """Whether `needle` occurs in the joined text (remembered: rules ask the same ones)."""
        found = self._has.get(needle)
        if found is None:
            found = self._has[needle] = needle in self.joined
        return found

    def index_of(self, offset: int) -> int:
        """Index (0-based, among the added lines) of the line holding `offset` of `joined`."""
        return bisect.bisect_right(self.starts, offset) - 1

    def line(self, index: int) -> str:
        """The joined text of line `index` (spaces for a comment-only line)."""
        start = self.starts[index]
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.joined)
        return self.joined[start:end]

    def added(self, index: int) -> AddedLine:
        """The added line at `index`, as the diff has it (comments included)."""
        if self.lines is None:
            return AddedLine(index + 1, self.line(index))
        return self.lines[index]

    def lineno(self, index: int) -> int:
        """1-based line number in the file of the added line at `index`."""
        if self.lines is None:
            return index + 1
        if isinstance(self.lines, AddedLines):
            return self.lines.lineno(index)
        return self.lines[index].lineno

    def index_of_lineno(self, lineno: int) -> int | None:
        """Index of the added line with this 1-based file line number, or None."""
        count = len(self)
        if not count:
            return None
        first = self.lineno(0)
        if self.lineno(count - 1) - first == count - 1:
            # Consecutive lines (a whole new file): no lookup table needed.
            return lineno - first if first <= lineno < first + count else None
        numbers = self._numbers
        if numbers is None:
            numbers = self._numbers = array("Q", (self.lineno(i) for i in range(count)))
        at = bisect.bisect_left(numbers, lineno)
        return at if at < len(numbers) and numbers[at] == lineno else None

    def size(self) -> int:
        """Roughly the memory this holds, for the cache's budget."""
        return len(self.joined) + self.starts.itemsize * len(self.starts)


#: What `str.splitlines` breaks on besides `\n`.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _lines_of(text: str) -> tuple[str, array[int]]:
    """`text`'s lines (as `splitlines` cuts them) joined by `\n`, comments blanked; starts."""
    starts = array("I" if len(text) < 1 << 32 else "Q")
    if not text:
        return "", starts
    if any(b in text for b in _OTHER_BREAKS):
        text = "\n".join(text.splitlines())
    elif text.endswith("\n"):
        text = text[:-1]
    position = 0
    find = text.find
    while position != -1:
        starts.append(position)
        position = find("\n", position)
        if position != -1:
            position += 1
    return _blank_comments(text, starts), starts


def _blank_comment(text: str) -> str:
    return " " * len(text) if is_comment(text) else text


#: Where a line may begin a comment: linear (`^` fails at once anywhere but a line start).
_COMMENT_START = re.compile(r"^[ \t]*[/*#]", re.MULTILINE)


def _blank_comments(text: str, starts: array[int]) -> str:
    """`text` with every comment-only line replaced by spaces (same length: offsets hold)."""
    pieces: list[str] = []
    kept = 0
    for match in _COMMENT_START.finditer(text):
        start = match.start()
        index = bisect.bisect_right(starts, start) - 1
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        if starts[index] == start and is_comment(text[start:end]):
            pieces.append(text[kept:start])
            pieces.append(" " * (end - start))
            kept = end
    if not pieces:
        return text
    pieces.append(text[kept:])
    return "".join(pieces)


class _Cache:
    """Added texts of the changes read last, within a memory budget (rules share them)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[int, tuple[FileChange, AddedText]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, change: FileChange) -> AddedText:
        with self._lock:
            item = self._items.get(id(change))
            # The entry keeps `change` alive, so its id cannot be reused while cached.
            if item is not None and item[0] is change:
                self._items.move_to_end(id(change))
                return item[1]
        text = AddedText(change.added_lines)
        with self._lock:
            if id(change) not in self._items:
                self._items[id(change)] = (change, text)
                self._held += text.size()
                while self._held > self.budget and len(self._items) > 1:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self._held -= dropped.size()
        return text


#: Enough for an artifact's whole line budget (32 MiB of lines), so the rules that each go
#: through every changed file do not join them again; beyond it the oldest are dropped.
_CACHE = _Cache(budget=40 * 1024 * 1024)


def added_text(change: FileChange) -> AddedText:
    """The shared `AddedText` of `change`."""
    return _CACHE.get(change)
