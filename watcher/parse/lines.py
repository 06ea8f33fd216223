"""Line and column bookkeeping shared by the parsers.

Parsers count UTF-8 bytes; evidence excerpts count characters; the diff numbers lines with
`str.splitlines`. `Columns` feeds a parser the lines joined by `\\n` only, so that its rows are
the diff's line numbers, and converts byte columns back to character columns.
"""

from __future__ import annotations

import bisect
from typing import Protocol

from watcher.parse.facts import Span


class _Point(Protocol):
    @property
    def row(self) -> int: ...

    @property
    def column(self) -> int: ...


class _Node(Protocol):
    @property
    def start_point(self) -> _Point: ...

    @property
    def end_point(self) -> _Point: ...


#: Characters `str.splitlines` breaks lines at but neither Python nor JavaScript does
#: (JavaScript also ends lines at U+2028/U+2029; see `JS_TERMINATORS`).
_ODD_BREAKS = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
#: Line terminators of JavaScript beyond CR and LF.
JS_TERMINATORS = "\u2028\u2029"


class Columns:
    """A source text split the way the diff splits it, with byte → character conversion.

    The parser must read the program the runtime reads: a `\x1e` inside a string is one
    character to Python, but a line break to `str.splitlines` (which numbers the diff). Text
    with such characters is given to the parser with only the language's own line breaks
    (`terminators` beyond CR/LF), and the parser's rows and columns are mapped back to the
    diff's lines; without them the two numberings agree and nothing is mapped.
    """

    def __init__(self, source: str, terminators: str = "") -> None:
        self.lines = source.splitlines()
        self.line_count = len(self.lines)
        odd = _ODD_BREAKS.difference(terminators)
        #: Per parser row (only when the numberings differ): the diff line of its start and
        #: the offsets in the row of the characters the diff breaks at.
        self._rows: list[str] | None = None
        self._row_line: list[int] = []
        self._row_breaks: list[list[int]] = []
        if not any(c in source for c in odd):
            self.text = "\n".join(self.lines)
        else:
            text = source.replace("\r\n", "\n").replace("\r", "\n")
            for terminator in terminators:
                text = text.replace(terminator, "\n")
            rows = text.split("\n")
            line = 1
            for row in rows:
                breaks = [i for i, c in enumerate(row) if c in odd]
                self._row_line.append(line)
                self._row_breaks.append(breaks)
                line += len(breaks) + 1
            self._rows = rows
            self.text = text
        self.data = self.text.encode("utf-8", errors="surrogatepass")

    def row_text(self, row: int) -> str:
        """The text of a 1-based parser row (a diff line unless the numberings differ)."""
        rows = self._rows if self._rows is not None else self.lines
        return rows[row - 1] if 0 < row <= len(rows) else ""

    def position(self, row: int, char: int) -> tuple[int, int]:
        """(diff line, character column) of a character column on a 1-based parser row."""
        if self._rows is None or not 0 < row <= len(self._rows):
            return row, char
        breaks = self._row_breaks[row - 1]
        before = bisect.bisect_left(breaks, char)
        column = char - breaks[before - 1] - 1 if before else char
        return self._row_line[row - 1] + before, column

    def diff_line(self, row: int) -> int:
        """The diff line a 1-based parser row starts on."""
        return self.position(row, 0)[0]

    def char_col(self, line: int, byte_col: int) -> int:
        """Character column of a byte column on a 1-based parser row."""
        text = self.row_text(line)
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8", errors="surrogatepass")[:byte_col].decode(errors="ignore"))

    def text_at(self, span: Span) -> str:
        """The diff line's text a span covers."""
        if not 0 < span.line <= self.line_count:
            return ""
        return self.lines[span.line - 1][span.col : span.end]

    def line_end(self, line: int) -> int:
        """Length in characters of a 1-based diff line."""
        return len(self.lines[line - 1]) if 0 < line <= self.line_count else 0

    def span(self, node: _Node) -> Span:
        """The span of a tree-sitter node."""
        start, end = node.start_point, node.end_point
        return self.span_of(start.row + 1, start.column, end.row + 1, end.column)

    def span_of(self, line: int, byte_col: int, end_line: int | None, end_byte: int | None) -> Span:
        """A span from 1-based parser rows and byte columns (Python `ast` positions)."""
        first, col = self.position(line, self.char_col(line, byte_col))
        if end_line == line and end_byte is not None:
            last, end = self.position(line, self.char_col(line, end_byte))
            if last == first:
                return Span(first, col, end)
        return Span(first, col, self.line_end(first))
