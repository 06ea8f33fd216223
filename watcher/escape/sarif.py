"""Text placed in a SARIF result's `message.text`, which code-scanning UIs show to people."""

from __future__ import annotations

from watcher.escape.chars import visible

#: SARIF plain-text messages turn `[text](n)` into links to related locations; a backslash
#: makes a bracket literal (SARIF 2.1.0 §3.11.6).
_BRACKETS = str.maketrans({"[": "\\[", "]": "\\]"})


def sarif_message(text: str) -> str:
    """`text` on one line, hidden characters shown, brackets literal.

    Only the message is escaped: the evidence in `snippet` and `properties` stays exact,
    for tools that match it against the file.
    """
    return visible(text).translate(_BRACKETS)
