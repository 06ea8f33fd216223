"""Text placed in Slack messages.

Slack mrkdwn has no escape for `*`, `_`, `~` or a backtick, so package text never goes into
mrkdwn: it goes into rich_text elements or plain_text, which Slack shows as written. What is
still mrkdwn (our own lines, which may quote a rule name) is entity-escaped.
"""

from __future__ import annotations

from watcher.escape.chars import visible


def mrkdwn(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control: `&`, `<`, `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_plain(text: str) -> str:
    """Text for a plain_text object or a rich_text element: one line, hidden characters shown.

    Slack does not parse these, so nothing is entity-escaped (it would show as `&amp;`).
    """
    return visible(text)
