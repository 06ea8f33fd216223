"""JSON documents (the `json` and `sarif` formats) that are safe to print on a terminal.

JSON keeps the exact data, but `json.dumps(ensure_ascii=False)` writes C1 controls (the 8-bit
CSI), bidi overrides and line separators raw, and a report is often just printed. Written as
`\\uXXXX` escapes they decode to the same strings and drive nothing.
"""

from __future__ import annotations

import json

from watcher.escape.chars import replace_hidden


def _escaped(char: str) -> str:
    if char == "\n":  # json.dumps escapes newlines in strings: this one is the indentation's
        return char
    code = ord(char)
    if code > 0xFFFF:  # as a UTF-16 surrogate pair, as JSON spells it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_document(data: object) -> str:
    """`data` as indented JSON, non-ASCII text kept readable, hidden characters escaped.

    Outside strings JSON is plain ASCII, so every hidden character in the text is inside a
    string literal, where `\\uXXXX` means the same character.
    """
    return replace_hidden(json.dumps(data, indent=2, ensure_ascii=False), _escaped)


def json_line(data: object) -> str:
    """`data` as one line of JSON (a JSON log record), hidden characters escaped the same way."""
    return replace_hidden(json.dumps(data, ensure_ascii=False), _escaped)
