"""Text inside one log or error line."""

from __future__ import annotations

from watcher.escape.chars import backslashed, replace_hidden


def logline(text: object) -> str:
    """`text` with control and line-breaking characters escaped (`\\r`, `\\x1b`, `\\u2028`).

    For every message or log line built from text a registry or server sent: CR, LF and
    friends would otherwise split the line (and forge another one in a log); ESC would drive
    the terminal the log is read on.
    """
    return replace_hidden(str(text), backslashed)
