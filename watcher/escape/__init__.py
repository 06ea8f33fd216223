"""One escaping layer per output, for every string a package or a registry controls.

File names, evidence, messages, tool descriptions, package names and versions and registry
messages are all written by whoever published the release. Each output has one module here
that makes such text inert where it lands, and every renderer goes through it:

- `terminal`: text reports, console alerts (C0/C1 controls, escape sequences and bidi
  characters shown as `\\x1b`, `\\u202e`; nothing can drive the terminal or reorder a line).
- `logline`: log and error lines (the same notation: CR/LF can neither split nor forge a line).
- `markdown`: pull-request comments (no line break leaves a table cell, no code span can be
  closed early, no HTML, emphasis, link, math or @mention forms from package text).
- `html`: the HTML report (escaped, with invisible characters shown as marked `⟨U+202E⟩`).
- `jsontext`: the `json` and `sarif` documents (exact data; hidden characters as `\\uXXXX`
  escapes, so printing a report on a terminal is safe too).
- `sarif`: result messages (hidden characters shown, `[text](n)` link syntax made literal);
  the evidence in snippets and properties stays exact, it is data.
- `slack`: what still goes into Slack mrkdwn (`&`, `<`, `>` as entities, controls visible);
  package text itself goes into rich_text elements, which Slack never parses.

`chars` decides which characters are hidden: control (Cc), format (Cf: bidi overrides and
isolates, zero-width characters, tag characters), surrogate (Cs: undecodable bytes in a file
name), line/paragraph separators (Zl, Zp), and characters that render as nothing (variation
selectors 17-256, Hangul fillers).
"""

from __future__ import annotations

from watcher.escape.chars import is_hidden, visible
from watcher.escape.html import html_plain, html_text
from watcher.escape.jsontext import json_document, json_line
from watcher.escape.logline import logline
from watcher.escape.markdown import md_code, md_link, md_text
from watcher.escape.sarif import sarif_message
from watcher.escape.slack import mrkdwn, slack_plain
from watcher.escape.terminal import terminal

__all__ = [
    "html_plain",
    "html_text",
    "is_hidden",
    "json_document",
    "json_line",
    "logline",
    "md_code",
    "md_link",
    "md_text",
    "mrkdwn",
    "sarif_message",
    "slack_plain",
    "terminal",
    "visible",
]
