"""Which characters are hidden, and the one visible notation documents use for them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

#: Control, format (bidi, zero-width, tags), surrogate, line and paragraph separator.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
#: Letters that render as nothing (Hangul fillers), shown so a line cannot look emptier than
#: it is; variation selectors 17-256 are handled by range below (they hide payloads in
#: strings that look empty).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def is_hidden(char: str) -> bool:
    """Whether `char` acts on a terminal or a line (or is not seen) rather than being read."""
    return (
        unicodedata.category(char) in _HIDDEN_CATEGORIES
        or char in _BLANK_LETTERS
        or "\U000e0100" <= char <= "\U000e01ef"
    )


def has_hidden(text: str) -> bool:
    """Whether any character of `text` is hidden; quick for plain ASCII, the usual case."""
    if text.isascii():
        return not text.isprintable()
    return any(is_hidden(char) for char in text)


def codepoint(char: str) -> str:
    """`⟨U+202E⟩`: how documents (Markdown, HTML, Slack) show a hidden character."""
    return f"⟨U+{ord(char):04X}⟩"


def backslashed(char: str) -> str:
    """`\\x1b`, `\\r`, `\\u202e`: how terminals and log lines show a hidden character."""
    return ascii(char)[1:-1]


def replace_hidden(text: str, show: Callable[[str], str]) -> str:
    """`text` with every hidden character replaced by `show(char)`; one pass, no regex."""
    if not has_hidden(text):
        return text
    return "".join(show(char) if is_hidden(char) else char for char in text)


def visible(text: str) -> str:
    """One line for a document: LF as `⏎`, tab as a space, other hidden characters as
    `⟨U+XXXX⟩`, so nothing in `text` breaks the line or reads differently from what it is."""

    def show(char: str) -> str:
        if char == "\n":
            return "⏎"
        if char == "\t":
            return " "
        return codepoint(char)

    return replace_hidden(text, show)
