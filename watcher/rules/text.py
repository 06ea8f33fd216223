"""Small text helpers shared by rules: evidence excerpts, source-file kinds, key lookup."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from watcher.parse.kinds import JS_SUFFIXES, PY_SUFFIXES, is_js, is_python

__all__ = [
    "EVIDENCE_WIDTH",
    "JS_SUFFIXES",
    "PY_SUFFIXES",
    "excerpt",
    "is_js",
    "is_python",
    "json_key_line",
    "json_key_lines",
    "json_path_line",
]

#: Evidence longer than this is cut around the match: minified bundles have megabyte lines.
EVIDENCE_WIDTH = 200


def excerpt(line: str, start: int = 0, end: int | None = None) -> str:
    """The line stripped, or a window of it around [start, end) when it is too long."""
    stripped = line.strip()
    if len(stripped) <= EVIDENCE_WIDTH:
        return stripped
    end = start if end is None else end
    half = max(0, (EVIDENCE_WIDTH - (end - start)) // 2)
    lo = max(0, start - half)
    # A match longer than the window is cut too: a 50 MB one-line blob must not become evidence.
    hi = min(len(line), lo + EVIDENCE_WIDTH)
    return ("…" if lo > 0 else "") + line[lo:hi].strip() + ("…" if hi < len(line) else "")


#: A JSON string (optionally followed by `:`, which makes it a key) or a bracket.
_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"(\s*:)?|[{}\[\]]')


def json_key_lines(text: str) -> Iterator[tuple[tuple[str, ...], int]]:
    """Every object key of a JSON text as (path from the root, 1-based line), in order.

    `{"a": {"b": 1}}` gives `(("a",), 1)` then `(("a", "b"), 1)`. A tolerant token scan, not a
    parser: it needs no valid JSON and keeps line numbers, which is all evidence needs.
    """
    stack: list[str | None] = []  # the key each open container is the value of (None: none)
    pending: str | None = None  # the key just read, whose value may be a container
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            stack.append(pending)
            pending = None
        elif token in ("}", "]"):
            if stack:
                stack.pop()
            pending = None
        elif match.group(1) is not None:
            raw = token[: token.rindex('"') + 1]
            try:
                key = json.loads(raw)
            # A malformed escape: the raw text between the quotes is as good a key as any.
            except json.JSONDecodeError:  # not a gap: the raw key is used
                key = raw[1:-1]
            path = tuple(k or "" for k in stack[1:]) + (key,)
            yield path, text.count("\n", 0, match.start()) + 1
            pending = key
        else:
            pending = None


def json_key_line(text: str, key: str, after: str | None = None) -> int | None:
    """1-based line of the first `"key":` in a JSON text, optionally within the `after` object.

    With `after` (a top-level key such as `scripts` or `peerDependencies`), only the direct
    members of that object count: the same key in another section (`devDependencies`) or
    nested deeper is not it. Without, the first `"key":` anywhere. Good enough for
    package.json, where a reviewer needs the line to look at, not a parse tree.
    """
    if after is None:
        pattern = re.compile(r'"' + re.escape(key) + r'"\s*:')
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                return number
        return None
    return json_path_line(text, after, key)


def json_path_line(text: str, *path: str) -> int | None:
    """1-based line of the key at exactly this path from the root (`"bin"`, `"scripts", "x"`)."""
    return next((n for keys, n in json_key_lines(text) if keys == path), None)
