"""Small helpers for the rules that read added source lines (mail, DNS, wallet, AI CLI).

Kept apart from `code.py` on purpose: that module is being rebuilt on tree-sitter, and these
rules only need the added lines of source files, without comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from watcher.models import AddedLine, ArtifactDiff, Snapshot
from watcher.rules.added_text import AddedText, added_text
from watcher.rules.registry import ArtifactContext
from watcher.rules.text import is_js, is_python


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One added or changed source file: its path, language and the code lines the release adds.

    `joined` is the change's shared `AddedText` (comment-only lines blanked), so that a rule
    runs each regex once per file rather than once per line, and no rule holds its own copy.
    """

    path: str
    js: bool
    text: AddedText

    @property
    def joined(self) -> str:
        """The added lines joined by newlines, comment-only lines as spaces."""
        return self.text.joined

    @property
    def lines(self) -> Sequence[AddedLine]:
        """The added lines (the n-th line of `joined` is the n-th of these)."""
        lines = self.text.lines
        assert lines is not None  # built from a change, never from a whole text
        return lines

    @property
    def lowered(self) -> str:
        """`joined` lower-cased, same length (built per call: rules that need it are few)."""
        joined = self.text.joined
        lowered = joined.lower()
        # Lower-casing may change the length of a few characters (`İ`); needles then miss
        # nothing that matters, but offsets would drift, so fall back to a same-length copy.
        if len(lowered) != len(joined):
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in joined)
        return lowered

    def code_linenos(self) -> set[int]:
        """File line numbers of the added lines that hold code (not blank, not comment)."""
        text = self.text
        return {text.lineno(i) for i in range(len(text)) if text.line(i).strip()}

    def line_text(self, lineno: int) -> str | None:
        """The added line with this file line number, as added (None if not added)."""
        index = self.text.index_of_lineno(lineno)
        return None if index is None else self.text.added(index).text

    def mentions(self, needles: tuple[str, ...], *, lower: bool = False) -> bool:
        """Whether any needle occurs in the added lines (lower-cased first when `lower`)."""
        text = self.lowered if lower else self.joined
        return any(n in text for n in needles)

    def index_of(self, offset: int) -> int:
        """Index in `lines` of the line holding `offset` of `joined`."""
        return self.text.index_of(offset)

    def line_at(self, offset: int) -> AddedLine:
        """The added line holding `offset` of `joined`."""
        return self.text.added(self.index_of(offset))

    def column(self, offset: int) -> int:
        """`offset` of `joined` as a position within its own line."""
        return offset - self.text.starts[self.index_of(offset)]

    def around(self, start: int, end: int, width: int) -> str:
        """`joined[start:end]` with up to `width` characters each side, within its line."""
        joined = self.joined
        line_start = self.text.starts[self.index_of(start)]
        line_end = joined.find("\n", end)
        line_end = len(joined) if line_end == -1 else line_end
        return joined[max(line_start, start - width) : min(line_end, end + width)]

    def rest_of_line(self, offset: int, width: int) -> str:
        """Up to `width` characters of `joined` from `offset`, not past the end of its line."""
        joined = self.joined
        end = joined.find("\n", offset, offset + width)
        return joined[offset : end if end != -1 else offset + width]


#: The last artifact's sources: every rule of this family reads the same files.
_CACHE: list[tuple[ArtifactDiff, tuple[SourceFile, ...]]] = []


def changed_sources(ctx: ArtifactContext) -> tuple[SourceFile, ...]:
    """Added/changed JS or Python files (as the runtime reads them), with their added code lines.

    Test code is not skipped by its path: a finding in a file nothing reaches is capped low by
    the engine, from the installed view, and a `tests/` file that `main` requires is code.
    """
    # One read of the slot: rules of different analyses may run on other threads.
    cached = _CACHE[0] if _CACHE else None
    if cached is not None and cached[0] is ctx.diff:
        return cached[1]
    sources: list[SourceFile] = []
    for change in ctx.changed_files():
        path = change.path
        if change.new is None or change.new.is_binary or not change.added_lines:
            continue
        dialect = ctx.dialect(path)
        if dialect is None:
            continue
        text = added_text(change)
        if text.joined and not text.joined.isspace():
            sources.append(SourceFile(path, dialect != "python", text))
    # The entry keeps the diff alive, so `is` cannot be fooled by a reused id.
    result = tuple(sources)
    _CACHE[:] = [(ctx.diff, result)]
    return result


def old_source_text(old: Snapshot | None) -> str:
    """The old release's JS and Python source joined, to tell new literals from known ones."""
    if old is None:
        return ""
    return "\n".join(
        e.text for p, e in old.files.items() if not e.is_binary and (is_js(p) or is_python(p))
    )


#: Lines longer than this (minified bundles: megabytes) get their regexes run only near needles.
LONG_LINE = 4096


def near(
    pattern: re.Pattern[str],
    text: str,
    needles: tuple[str, ...],
    *,
    before: int = 60,
    after: int = 300,
    haystack: str | None = None,
) -> Iterator[re.Match[str]]:
    """Matches of `pattern` in `text` that start near one of the literal `needles`.

    Finding a literal is a memory search; running an alternation-heavy regex over a 9 MB
    minified line is seconds. So on long lines the regex only runs in windows around needle
    hits. `haystack` is where the needles are looked for (e.g. `text.lower()`), same length.
    """
    hay = text if haystack is None else haystack
    if len(text) <= LONG_LINE:
        if any(n in hay for n in needles):
            yield from pattern.finditer(text)
        return
    positions: list[int] = []
    for needle in needles:
        position = hay.find(needle)
        while position != -1:
            positions.append(position)
            position = hay.find(needle, position + 1)
    positions.sort()
    lo = hi = -1
    for position in positions:
        start, end = max(0, position - before), min(len(text), position + after)
        if start <= hi:
            hi = max(hi, end)
            continue
        if hi > lo:
            yield from pattern.finditer(text, lo, hi)
        lo, hi = start, end
    if hi > lo:
        yield from pattern.finditer(text, lo, hi)


def first_near(
    pattern: re.Pattern[str],
    text: str,
    needles: tuple[str, ...],
    *,
    before: int = 60,
    after: int = 300,
    haystack: str | None = None,
) -> re.Match[str] | None:
    """The first match `near` finds, or None."""
    return next(near(pattern, text, needles, before=before, after=after, haystack=haystack), None)
