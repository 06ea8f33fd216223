"""Parse source files into structured facts for the code rules (never executing anything).

The public API is small:

- `facts_for(path, entry)`: the facts of one archive file, or None when the file is not
  JavaScript/TypeScript/Python, is too large to parse cheaply, or does not parse (then callers
  fall back to text rules). Results are cached per content, so every rule asking about the same
  file in one run pays for one parse.
- `parse_source(path, text)`: the same for a string, uncached (tests, ad-hoc use).
- The fact types in `watcher.parse.facts`: `Facts`, `Call`, `Import`, `EnvRead`, `StringLit`,
  `Span`.

JavaScript and TypeScript are parsed with tree-sitter grammars (.js/.cjs/.mjs/.jsx with the
JavaScript grammar, .ts/.mts/.cts with TypeScript, .tsx with TSX); Python with `ast` (through
`python.parse_module`, the one guarded `ast.parse` for package text, with tree-sitter-python
to tell syntax newer than 3.11 from text no Python reads).

Fail closed (SPEC §4.5): no parser raises on package text. A spent budget — nesting depth, the
file's time, the release's time (`budget.release_budget()`, opened once per analysis) — or text
no parser reads records a gap (`watcher.gaps`) and gives None, so the text rules still judge the
file. A failed parse is cached like a good one, and its gaps are recorded again on every hit.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

from watcher import gaps
from watcher.models import AddedLine, FileEntry
from watcher.parse import budget, js, python
from watcher.parse.facts import Call, EnvRead, Facts, Import, Span, StringLit
from watcher.parse.kinds import is_js, is_python

__all__ = [
    "MAX_PARSE_BYTES",
    "Call",
    "EnvRead",
    "Facts",
    "Import",
    "Span",
    "StringLit",
    "can_parse",
    "facts_for",
    "facts_for_lines",
    "forget_facts",
    "parses",
    "parse_source",
]

#: Files larger than this are judged by text rules only. tree-sitter parses JavaScript at
#: roughly 1 MB/s on a busy 2-core machine and the fact query costs as much again: a 9 MB
#: bundle (typescript.js) would take seconds per release, and bundles that large are
#: generated code where the text rules' extra noise matters least.
MAX_PARSE_BYTES = 256 * 1024

#: Facts by (content hash, dialect), with the gaps the parse recorded: a file that failed or ran
#: out of time is not parsed again by the next rule (or the next analysis), and each analysis
#: still sees its gaps, since every analysis collects its own.
_CACHE: OrderedDict[tuple[str, str], tuple[Facts | None, tuple[gaps.Gap, ...]]] = OrderedDict()
_CACHE_SIZE = 256


def forget_facts() -> None:
    """Drop every cached fact (a benchmark timing a cold analysis)."""
    _CACHE.clear()


#: A Python file larger than `MAX_PARSE_BYTES` is still parsed when it is mostly one string
#: literal (a blob `exec`'d after decoding: the shape of packed droppers, whose payload would
#: otherwise buy them the text rules only). Parse cost follows the code's syntax, not its
#: bytes: `ast` reads a 1 MB base64 literal in milliseconds and 1 MB of dense code in seconds.
MAX_PYTHON_BLOB_BYTES = 4 * 1024 * 1024
#: Bytes that mark syntax (calls, separators, assignments, attribute dots, lines, spaces): an
#: upper bound on how much code a file holds, counted at memory speed.
SYNTAX_MARKS = (b"(", b",", b"=", b".", b"\n", b" ")
#: At most this many syntax marks in a larger Python file: fewer than a quarter of what
#: `MAX_PARSE_BYTES` of ordinary code has, so such a file is never costlier to parse.
MAX_PYTHON_SYNTAX = 16 * 1024


def can_parse(path: str, size: int) -> bool:
    """Whether a file of this name and size gets a parser (else: text rules only)."""
    return size <= MAX_PARSE_BYTES and (is_js(path) or is_python(path))


def parses(path: str, entry: FileEntry, dialect: Dialect = None) -> bool:
    """Whether this file, read in `dialect` (or by its name), is small or sparse enough to parse."""
    if entry.size <= MAX_PARSE_BYTES:
        return dialect is not None or is_js(path) or is_python(path)
    python = dialect == "python" or (dialect is None and is_python(path))
    return python and entry.size <= MAX_PYTHON_BLOB_BYTES and _sparse(entry.data)


def _sparse(data: bytes) -> bool:
    marks = 0
    for mark in SYNTAX_MARKS:
        marks += data.count(mark)
        if marks > MAX_PYTHON_SYNTAX:
            return False
    return True


#: How the runtime reads a file whatever its name: `require('./x.dat')` runs it as CommonJS.
#: "javascript", "typescript", "tsx" or "python"; None: judge by the file name.
Dialect = str | None


def parse_source(path: str, text: str, dialect: Dialect = None) -> Facts | None:
    """Facts of a source text named `path`; None if the language is unknown or it won't parse.

    `dialect` overrides the file name when the module graph knows how the runtime reads it.
    """
    if dialect == "python" or (dialect is None and is_python(path)):
        return python.parse(path, text)
    if dialect is not None:
        return js.parse(path, text, dialect)
    if is_js(path):
        return js.parse(path, text)
    return None


def facts_for(path: str, entry: FileEntry | None, dialect: Dialect = None) -> Facts | None:
    """Facts of one archive file, cached by content; None means "use text rules instead".

    `dialect`: as for `parse_source`, when the runtime reads the file as code its name hides.
    """
    if entry is None or entry.is_binary:
        return None
    if not parses(path, entry, dialect):
        return None
    # The grammar depends on the suffix, so the same bytes as .ts and .js are parsed apart.
    key = (entry.sha256, dialect or (js.dialect_of(path) if is_js(path) else "python"))
    return _cached_parse(key, path, entry.text, dialect, entry.sha256)


def facts_for_lines(
    path: str, entry: FileEntry | None, lines: Sequence[AddedLine], dialect: Dialect = None
) -> Facts | None:
    """Facts of a file, or of only these lines of it when the whole is too large to parse.

    A release that inserts one statement into a 2 MB bundle changes that statement: the lines
    are parsed where they sit (every other line left empty, so lines and columns are the
    file's), and what they do is judged like any parsed code. Resolution then sees only those
    lines: an alias bound elsewhere in the bundle is not followed. None when the lines
    themselves are over the parse limit, or the language is unknown.
    """
    if entry is None or entry.is_binary:
        return None
    if parses(path, entry, dialect):
        return facts_for(path, entry, dialect)
    if not lines or (dialect is None and not (is_js(path) or is_python(path))):
        return None
    if sum(len(line.text) + 1 for line in lines) > MAX_PARSE_BYTES:
        return None
    parts: list[str] = []
    current = 1
    for line in sorted(lines, key=lambda added: added.lineno):
        parts.append("\n" * (line.lineno - current))
        parts.append(line.text)
        current = line.lineno
    text = "".join(parts)
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    grammar = dialect or (js.dialect_of(path) if is_js(path) else "python")
    key = (f"{entry.sha256}:lines:{digest}", grammar)
    return _cached_parse(key, path, text, dialect, entry.sha256)


def _cached_parse(
    key: tuple[str, str], path: str, text: str, dialect: Dialect, sha256: str | None
) -> Facts | None:
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        facts, found = cached
    else:
        spent = budget.current()
        if spent.exhausted():
            # Not cached: the next analysis has time of its own for this content.
            gaps.record(
                f"parse of {path} refused: the release's parse-time budget"
                f" of {spent.per_release} s is spent",
                path,
                sha256,
            )
            return None
        with gaps.collecting() as collected:
            facts = parse_source(path, text, dialect)
        found = tuple(collected)
        # A parse the release's budget cut short says nothing about the content: not cached.
        if not (found and spent.exhausted()):
            _CACHE[key] = (facts, found)
            if len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    for gap in found:
        # The same content under another name (a copy, or the pinned release's path): the
        # reason names the file asked about now.
        reason = gap.reason.replace(gap.path, path) if gap.path else gap.reason
        gaps.record(reason, path=path, sha256=sha256, artifact=gap.artifact)
    return facts
