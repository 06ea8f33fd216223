"""Every alert names the pin it compared with and where that pin came from (issue 11)."""

from __future__ import annotations

import io
import json

import httpx

from tests.notify.conftest import TOKEN
from tests.notify.reports import LINKS, critical_report
from tests.support.slack_server import RecordingServer
from watcher.notify import Alert, ConsoleNotifier, SlackNotifier, WebhookNotifier

SOURCE = "approved by a&b <@U123> on 2026-12-01"


def _alert(channel: str) -> Alert:
    return Alert(critical_report(), channel, LINKS, "k-1", pin_source=SOURCE)


def test_console_alert_names_the_pin_and_its_source() -> None:
    stream = io.StringIO()
    ConsoleNotifier(stream).send(_alert("console"))
    old = critical_report().old_version
    assert stream.getvalue().splitlines()[1] == f"Pinned: {old} ({SOURCE})"


def test_slack_alert_names_the_pin_escaped(server: RecordingServer) -> None:
    SlackNotifier(TOKEN, base_url=server.url, timeout=5).send_once(
        _alert("slack:#sec"), unsure_since=None
    )
    [call] = server.calls
    # The context block: before the closing next-step block.
    context = [b for b in call.json["blocks"] if b["type"] == "context"][-1]
    old = critical_report().old_version
    # A user name cannot mention anyone or open markup.
    assert context["elements"][0]["text"] == (
        f"Pinned: {old} (approved by a&amp;b &lt;@U123&gt; on 2026-12-01)"
    )


def test_webhook_alert_carries_the_pin_source() -> None:
    bodies: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200)

    http = httpx.Client(transport=httpx.MockTransport(handle))
    WebhookNotifier("https://hooks.invalid/x", http).send(_alert("webhook"))
    [body] = bodies
    assert body["pin_source"] == SOURCE and body["old_version"] == critical_report().old_version
