"""Small text helpers shared by rules: evidence excerpts, source-file kinds, key lookup."""

from __future__ import annotations

import re

#: Evidence longer than this is cut around the match: minified bundles have megabyte lines.
EVIDENCE_WIDTH = 200

JS_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")
PY_SUFFIXES = (".py", ".pyw", ".pth")


def is_js(path: str) -> bool:
    """JavaScript or TypeScript source (type declarations excluded: they never run)."""
    return path.endswith(JS_SUFFIXES) and not path.endswith((".d.ts", ".d.mts", ".d.cts"))


def is_python(path: str) -> bool:
    """Python source, including `.pth` files (executed by `site` at interpreter start)."""
    return path.endswith(PY_SUFFIXES)


def excerpt(line: str, start: int = 0, end: int | None = None) -> str:
    """The line stripped, or a window of it around [start, end) when it is too long."""
    stripped = line.strip()
    if len(stripped) <= EVIDENCE_WIDTH:
        return stripped
    end = start if end is None else end
    half = max(0, (EVIDENCE_WIDTH - (end - start)) // 2)
    lo = max(0, start - half)
    hi = min(len(line), max(end, lo + EVIDENCE_WIDTH))
    return ("…" if lo > 0 else "") + line[lo:hi].strip() + ("…" if hi < len(line) else "")


def json_key_line(text: str, key: str, after: str | None = None) -> int | None:
    """1-based line of the first `"key":` in a JSON text, optionally after the `"after":` key.

    Good enough for package.json, where a reviewer needs the line to look at, not a parse tree.
    """
    pattern = re.compile(r'"' + re.escape(key) + r'"\s*:')
    section = re.compile(r'"' + re.escape(after) + r'"\s*:') if after else None
    in_section = section is None
    for number, line in enumerate(text.splitlines(), start=1):
        if not in_section and section is not None and section.search(line):
            in_section = True
            # `"scripts": {"postinstall": ...}` on one line: fall through to the key search.
        if in_section and pattern.search(line):
            return number
    return None
