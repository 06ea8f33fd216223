"""`notifier_for`: notify targets and the environment pick the notifier."""

from __future__ import annotations

import logging

import pytest

from tests.notify.conftest import TOKEN
from tests.notify.reports import critical_report
from tests.support.slack_server import RecordingServer
from watcher.errors import UsageError
from watcher.notify import (
    Alert,
    ConsoleNotifier,
    Notifier,
    SlackNotifier,
    WebhookNotifier,
    notifier_for,
    slack_base_url,
    slack_fallback_warning,
)


def test_slack_with_token_posts_to_the_configured_api(server: RecordingServer) -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "WATCHER_SLACK_API_URL": server.url.rstrip("/")}
    notifier = notifier_for("slack:#mcp", env)
    assert isinstance(notifier, SlackNotifier) and isinstance(notifier, Notifier)
    notifier.send(Alert(report=critical_report(), channel="slack:#mcp", links=(), dedup_key="k"))
    assert [c.path for c in server.calls] == ["/api/chat.postMessage"]
    assert TOKEN not in repr(notifier)


def test_slack_without_token_falls_back_to_console(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="watcher")
    notifier = notifier_for("slack:#mcp", {})
    assert isinstance(notifier, ConsoleNotifier)
    # It says what it stands in for; the one warning is the commands' (at start), not per target.
    assert notifier.delivered_via == "console, Slack not configured"
    assert caplog.text == ""
    assert slack_fallback_warning(["console", "slack:#b", "slack:#a", "slack:#b"], {}) == (
        "SLACK_BOT_TOKEN is not set: alerts for slack:#a, slack:#b go to the console instead "
        "of Slack"
    )
    assert slack_fallback_warning(["slack:#a"], {"SLACK_BOT_TOKEN": "xoxb-1"}) is None
    assert slack_fallback_warning(["console", "webhook"], {}) is None


def test_webhook_and_console() -> None:
    hook = notifier_for("webhook", {"WATCHER_WEBHOOK_URL": "https://hooks.invalid/x/SECRET"})
    assert isinstance(hook, WebhookNotifier)
    assert "SECRET" not in repr(hook)
    hook.close()
    assert isinstance(notifier_for("console", {}), ConsoleNotifier)


def test_configuration_errors() -> None:
    with pytest.raises(UsageError, match="WATCHER_WEBHOOK_URL"):
        notifier_for("webhook", {})
    with pytest.raises(UsageError, match="unknown notify target"):
        notifier_for("email:sec@example.invalid", {})


def test_slack_base_url() -> None:
    assert slack_base_url({}) == "https://slack.com/api/"
    assert slack_base_url({"WATCHER_SLACK_API_URL": "http://gw.invalid/api"}) == (
        "http://gw.invalid/api/"
    )
