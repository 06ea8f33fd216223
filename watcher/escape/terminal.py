"""Text shown on a terminal: reports, console alerts, CLI errors."""

from __future__ import annotations

from watcher.escape.chars import backslashed, replace_hidden


def terminal(text: object) -> str:
    """`text` on one line with nothing a terminal would obey.

    C0/C1 controls (ESC, BEL, CR, LF, the 8-bit CSI), bidi overrides and isolates and the other
    invisible characters are written out as `\\x1b`, `\\r`, `\\u202e`: a file name cannot clear
    the screen, set the window title, open an OSC 8 link, overwrite the verdict with a carriage
    return, or make a line read backwards. Tool descriptions whose JavaScript escapes
    (`\\u001b`) were decoded to raw characters are shown escaped again the same way.
    """
    return replace_hidden(str(text), backslashed)
