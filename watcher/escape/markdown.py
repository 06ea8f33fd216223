"""Text placed in GitHub-flavoured Markdown (pull-request comments, tickets).

Inline text only: every string lands in a table cell, a list item or a heading that the
renderer wrote, so block syntax (`>`, `#`, list markers) cannot start; what must not happen is a
line break (it would end the cell or the item and let the rest become a block), and inline
syntax: code spans, HTML and comments, emphasis, strikethrough, links and images, math and
@mentions.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from watcher.escape.chars import visible

#: ASCII punctuation with an inline meaning on GitHub: code, emphasis, strikethrough, links and
#: images, HTML and entities, table cells, math. CommonMark lets a backslash escape any of them.
_INLINE = str.maketrans({c: "\\" + c for c in "\\`*_[]<>!&|~$"})

#: GitHub turns `@name` and `@org/team` into a mention (and a notification) wherever it sees
#: one in text, escaped or not; a zero-width space after the `@` is how bots avoid that. Only
#: an `@` that does not follow a letter, digit or `_` starts one (`pkg@1.0.0` does not).
_MENTION_BREAK = "@&#8203;"
_MENTION = re.compile(r"(?<![A-Za-z0-9_])@")

#: Characters that would end or break a link destination, percent-encoded instead.
_URL_UNSAFE = str.maketrans({c: f"%{ord(c):02X}" for c in " <>()[]\"`|\\'"})


def md_text(text: str) -> str:
    """`text` as literal inline Markdown on one line."""
    return _MENTION.sub(_MENTION_BREAK, visible(text).translate(_INLINE))


def md_code(text: str, *, in_table: bool = True) -> str:
    """`text` as one code span that nothing inside can close.

    The fence is one backtick longer than the longest run of backticks in `text` and is padded
    with spaces when `text` starts or ends with a backtick or a space (CommonMark strips one
    space on each side). In a table, `|` is escaped even inside code: GFM splits cells first.
    """
    body = visible(text)
    if not body:
        return ""
    if in_table:
        body = body.replace("|", "\\|")
    longest = run = 0
    for char in body:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if body[:1] in ("`", " ") or body[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md_link(url: str) -> str:
    """A link to an http(s) `url`, its text literal; anything else is shown as text only."""
    target = visible(url).translate(_URL_UNSAFE)
    try:
        parts = urlsplit(target)
    except ValueError:
        return md_text(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return md_text(url)
    return f"[{md_text(url)}]({target})"
