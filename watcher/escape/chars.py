"""Which characters are hidden, and the one visible notation documents use for them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

#: Control, format (bidi, zero-width, tags), surrogate, line and paragraph separator.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_hidden(char: str) -> bool:
    """Whether `char` acts on a terminal or a line (or is not seen) rather than being read."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def codepoint(char: str) -> str:
    """`⟨U+202E⟩`: how documents (Markdown, HTML, Slack) show a hidden character."""
    return f"⟨U+{ord(char):04X}⟩"


def backslashed(char: str) -> str:
    """`\\x1b`, `\\r`, `\\u202e`: how terminals and log lines show a hidden character."""
    return ascii(char)[1:-1]


def replace_hidden(text: str, show: Callable[[str], str]) -> str:
    """`text` with every hidden character replaced by `show(char)`; one pass, no regex."""
    # Every hidden character is non-printable, so printable text (the usual case) is done.
    if text.isprintable():
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
