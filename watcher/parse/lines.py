"""Line and column bookkeeping shared by the parsers.

Parsers count UTF-8 bytes; evidence excerpts count characters; the diff numbers lines with
`str.splitlines`. `Columns` feeds a parser the lines joined by `\\n` only, so that its rows are
the diff's line numbers, and converts byte columns back to character columns.
"""

from __future__ import annotations

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


class Columns:
    """A source text split the way the diff splits it, with byte → character conversion."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()
        self.text = "\n".join(self.lines)
        self.data = self.text.encode("utf-8", errors="surrogatepass")
        self.line_count = len(self.lines)

    def char_col(self, line: int, byte_col: int) -> int:
        """Character column of a byte column on a 1-based line."""
        if not 0 < line <= self.line_count:
            return byte_col
        text = self.lines[line - 1]
        if text.isascii():
            return byte_col
        return len(text.encode("utf-8", errors="surrogatepass")[:byte_col].decode(errors="ignore"))

    def line_end(self, line: int) -> int:
        """Length in characters of a 1-based line."""
        return len(self.lines[line - 1]) if 0 < line <= self.line_count else 0

    def span(self, node: _Node) -> Span:
        """The span of a tree-sitter node."""
        start, end = node.start_point, node.end_point
        return self.span_of(start.row + 1, start.column, end.row + 1, end.column)

    def span_of(self, line: int, byte_col: int, end_line: int | None, end_byte: int | None) -> Span:
        """A span from 1-based lines and byte columns (Python `ast` positions)."""
        col = self.char_col(line, byte_col)
        if end_line == line and end_byte is not None:
            return Span(line, col, self.char_col(line, end_byte))
        return Span(line, col, self.line_end(line))
