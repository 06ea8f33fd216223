"""JSON with comments and trailing commas (VS Code's `mcp.json`, `settings.json`), safely.

VS Code and Cursor accept `//` and `/* */` comments and trailing commas; `json` does not. One
left-to-right pass turns such text into plain JSON, keeping string contents byte for byte (a
`//` inside `"https://..."` is not a comment) and line breaks (so `json`'s error positions
still point at the user's line). It is linear in the input, with no regular expressions, and it
measures nesting depth on the way, so a hostile file cannot make `json.loads` recurse deeply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from watcher.onboard import OnboardError

#: Configuration files are kilobytes; a megabyte-scale file is not a client config.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: Real configs nest five or six levels; far below Python's recursion limit.
MAX_DEPTH = 64


def strip_jsonc(text: str, *, max_depth: int = MAX_DEPTH) -> str:
    """`text` with comments blanked and trailing commas removed; raises ValueError on nesting
    deeper than `max_depth` or an unterminated block comment."""
    out: list[str] = []
    i, n = 0, len(text)
    depth = 0
    # Index in `out` of a comma that may turn out to be trailing (only whitespace and comments
    # since): dropped when the next significant character closes an object or array.
    pending_comma: int | None = None
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == '"':
                    break
                j += 1
            out.append(text[i : j + 1])
            pending_comma = None
            i = j + 1
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError("unterminated /* comment")
            # Keep the comment's line breaks, so error lines still match the file.
            out.append("\n" * text.count("\n", i, j))
            i = j + 2
            continue
        if c in "]}":
            if pending_comma is not None:
                out[pending_comma] = ""
                pending_comma = None
            depth -= 1
        elif c in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels")
            pending_comma = None
        elif c == ",":
            pending_comma = len(out)
        elif not c.isspace():
            pending_comma = None
        out.append(c)
        i += 1
    return "".join(out)


def load_jsonc(path: Path, *, max_bytes: int = MAX_CONFIG_BYTES) -> Any:
    """The JSON(C) value in `path`; raises OnboardError naming the file on any problem."""
    data = read_capped(path, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise OnboardError(f"{path}: not UTF-8 text (byte {e.start})") from e
    try:
        return json.loads(strip_jsonc(text))
    except ValueError as e:
        # json.JSONDecodeError is a ValueError; its text carries line and column.
        raise OnboardError(f"{path}: invalid JSON: {e}") from e
    except RecursionError as e:  # pragma: no cover - MAX_DEPTH keeps json far from the limit
        raise OnboardError(f"{path}: invalid JSON: nested too deeply") from e


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, refusing files larger than `max_bytes` before reading them all."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except IsADirectoryError as e:
        raise OnboardError(f"{path}: is a folder, not a file") from e
    except OSError as e:
        raise OnboardError(f"{path}: cannot read: {e.strerror or e}") from e
    if len(data) > max_bytes:
        raise OnboardError(f"{path}: larger than {max_bytes} bytes; not a configuration file")
    return data
