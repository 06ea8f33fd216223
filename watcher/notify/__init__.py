"""Alert notifiers: pure senders of one alert to Slack, a JSON webhook or the console.

The alert outbox (store) decides what to send and when; `notifier_for` maps a subscription's
notify target to the notifier that delivers it, from the environment (SPEC §3 Environment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TextIO

import httpx

from watcher.errors import UsageError
from watcher.notify.base import Alert, Notifier
from watcher.notify.console import ConsoleNotifier
from watcher.notify.slack import DEFAULT_BASE_URL, SlackNotifier, build_blocks
from watcher.notify.webhook import WebhookNotifier

__all__ = [
    "Alert",
    "ConsoleNotifier",
    "Notifier",
    "SlackNotifier",
    "WebhookNotifier",
    "build_blocks",
    "notifier_for",
    "slack_base_url",
    "slack_fallback_warning",
]


def slack_base_url(env: Mapping[str, str]) -> str:
    """`WATCHER_SLACK_API_URL` or Slack's own, with the trailing slash slack-sdk needs."""
    url = (env.get("WATCHER_SLACK_API_URL") or "").strip() or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def slack_fallback_warning(targets: Iterable[str], env: Mapping[str, str]) -> str | None:
    """The one warning for `slack:` targets that will go to the console; None when Slack is
    configured or nothing is sent there."""
    slack = sorted({t.strip() for t in targets if t.strip().startswith("slack:")})
    if not slack or (env.get("SLACK_BOT_TOKEN") or "").strip():
        return None
    return (
        f"SLACK_BOT_TOKEN is not set: alerts for {', '.join(slack)} go to the console instead "
        "of Slack"
    )


def notifier_for(
    channel: str,
    env: Mapping[str, str],
    *,
    http: httpx.Client | None = None,
    stream: TextIO | None = None,
) -> Notifier:
    """The notifier for a notify target: `slack:#x`, `webhook` or `console`.

    `slack:` falls back to the console when `SLACK_BOT_TOKEN` is unset, as SPEC §3 says (the
    commands warn once at start: `slack_fallback_warning`); `webhook` without
    `WATCHER_WEBHOOK_URL` is a configuration error, since nobody asks for a webhook by accident.
    Build notifiers once per target and reuse them.
    """
    target = channel.strip()
    if target.startswith("slack:"):
        token = (env.get("SLACK_BOT_TOKEN") or "").strip()
        if token:
            return SlackNotifier(token, base_url=slack_base_url(env))
        return ConsoleNotifier(stream, slack_fallback=True)
    if target == "webhook":
        url = (env.get("WATCHER_WEBHOOK_URL") or "").strip()
        if not url:
            raise UsageError("notify target 'webhook' needs WATCHER_WEBHOOK_URL to be set")
        return WebhookNotifier(url, http)
    if target == "console":
        return ConsoleNotifier(stream)
    raise UsageError(
        f"unknown notify target {channel!r} (expected 'slack:#channel', 'webhook' or 'console')"
    )
