"""Text placed in the HTML report."""

from __future__ import annotations

from html import escape

from watcher.escape.chars import codepoint, has_hidden, is_hidden


def html_text(text: object, *, keep_tabs: bool = False) -> str:
    """Element content: HTML-escaped, hidden characters shown as a marked `⟨U+202E⟩`.

    `keep_tabs` leaves tabs for lines of code shown with their indentation (`pre-wrap`).
    """
    value = str(text)
    if not has_hidden(value):
        return escape(value, quote=True)
    out: list[str] = []
    start = 0
    for i, char in enumerate(value):
        if is_hidden(char) and not (keep_tabs and char == "\t"):
            out.append(escape(value[start:i], quote=True))
            out.append(f'<span class="ctl">{codepoint(char)}</span>')
            start = i + 1
    out.append(escape(value[start:], quote=True))
    return "".join(out)


def html_plain(text: object) -> str:
    """An attribute value or a `<title>`: no markup allowed, so hidden characters become a
    plain `⟨U+202E⟩`."""
    value = str(text)
    if has_hidden(value):
        value = "".join(codepoint(c) if is_hidden(c) else c for c in value)
    return escape(value, quote=True)
