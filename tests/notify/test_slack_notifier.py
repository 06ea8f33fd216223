"""SlackNotifier against a real local HTTP server standing in for Slack's Web API."""

from __future__ import annotations

import logging
import time
import traceback

import pytest

from tests.notify.conftest import TOKEN
from tests.notify.reports import LINKS, critical_report
from tests.support.registries import free_port
from tests.support.slack_server import RecordingServer, Reply
from watcher.errors import NotifyError
from watcher.notify import Alert, SlackNotifier, build_blocks

POST = "/api/chat.postMessage"


def _alert(channel: str = "slack:#mcp-supply-chain") -> Alert:
    return Alert(report=critical_report(), channel=channel, links=LINKS, dedup_key="k-1")


def _notifier(url: str, **options: float) -> SlackNotifier:
    # Short backoff keeps the retry tests fast; Retry-After is honoured as sent.
    return SlackNotifier(TOKEN, base_url=url, timeout=options.pop("timeout", 5), backoff=0.02)


def _send_error(notifier: SlackNotifier, alert: Alert | None = None) -> NotifyError:
    with pytest.raises(NotifyError) as caught:
        notifier.send(alert or _alert())
    return caught.value


def test_posts_one_message_with_blocks(server: RecordingServer) -> None:
    _notifier(server.url).send(_alert())
    [call] = server.calls
    assert (call.method, call.path) == ("POST", POST)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    body = call.json
    text, blocks = build_blocks(critical_report(), LINKS)
    assert body["channel"] == "#mcp-supply-chain"
    assert body["text"] == text
    assert body["blocks"] == blocks
    assert body["unfurl_links"] is False


def test_base_url_without_trailing_slash(server: RecordingServer) -> None:
    _notifier(server.url.rstrip("/")).send(_alert("slack:C0123456"))
    assert [c.path for c in server.calls] == [POST]
    assert server.calls[0].json["channel"] == "C0123456"


def test_rate_limited_then_delivered_once_after_waiting(server: RecordingServer) -> None:
    server.script([Reply.rate_limited(1), Reply.ok()])
    start = time.monotonic()
    _notifier(server.url).send(_alert())
    assert time.monotonic() - start >= 0.95, "Retry-After: 1 must be waited out"
    assert [c.path for c in server.calls] == [POST, POST]


def test_429_then_500_then_ok(server: RecordingServer) -> None:
    server.script([Reply.rate_limited(1), Reply.server_error(500), Reply.ok()])
    _notifier(server.url).send(_alert())
    assert len(server.calls) == 3


def test_server_errors_then_delivered_once(server: RecordingServer) -> None:
    server.script([Reply.server_error(500), Reply.server_error(503), Reply.ok()])
    _notifier(server.url).send(_alert())
    assert len(server.calls) == 3


def test_persistent_500_is_transient(server: RecordingServer) -> None:
    server.default = Reply.server_error(500)
    error = _send_error(_notifier(server.url))
    assert not error.permanent
    assert "HTTP 500" in str(error)
    assert len(server.calls) == 4  # one try and three retries


def test_long_retry_after_is_left_to_the_outbox(server: RecordingServer) -> None:
    server.script([Reply.rate_limited(120)])
    start = time.monotonic()
    error = _send_error(_notifier(server.url))
    assert time.monotonic() - start < 1
    assert not error.permanent and error.retry_after == 120
    assert len(server.calls) == 1


def test_rate_limited_after_retries_keeps_retry_after(server: RecordingServer) -> None:
    server.default = Reply.rate_limited(1)
    notifier = SlackNotifier(TOKEN, base_url=server.url, retries=1, backoff=0.02)
    error = _send_error(notifier)
    assert not error.permanent and error.retry_after == 1
    assert len(server.calls) == 2


@pytest.mark.parametrize("code", ["channel_not_found", "invalid_auth", "not_in_channel"])
def test_api_errors_are_permanent(server: RecordingServer, code: str) -> None:
    server.script([Reply.error(code)])
    error = _send_error(_notifier(server.url))
    assert error.permanent and error.retry_after is None
    assert code in str(error)
    assert len(server.calls) == 1


def test_transient_api_error(server: RecordingServer) -> None:
    server.script([Reply.error("service_unavailable")])
    assert not _send_error(_notifier(server.url)).permanent


def test_rejected_blocks_fall_back_to_text(server: RecordingServer) -> None:
    server.script([Reply.error("invalid_blocks"), Reply.ok()])
    _notifier(server.url).send(_alert())
    first, second = server.calls
    assert "blocks" in first.json
    assert "blocks" not in second.json
    assert "`Bcc: 'phan@giftshop.invalid',`" in second.json["text"]


def test_dropped_connection_is_retried(server: RecordingServer) -> None:
    server.script([Reply.dropped(), Reply.ok()])
    _notifier(server.url).send(_alert())
    assert len(server.calls) == 2


def test_unreachable_server_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"
    error = _send_error(_notifier(url))
    assert not error.permanent
    assert "unreachable" in str(error)


def test_timeout_is_transient_and_not_retried(server: RecordingServer) -> None:
    server.script([Reply(delay=1.5, body={"ok": True})])
    error = _send_error(_notifier(server.url, timeout=1))
    assert not error.permanent
    assert "timed out" in str(error)
    assert len(server.calls) == 1


def test_token_never_in_logs_errors_or_repr(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "watcher", "slack_sdk", "urllib3"):
        caplog.set_level(logging.DEBUG, logger=name)
    notifier = _notifier(server.url)
    errors: list[NotifyError] = []
    server.script([Reply.ok(), Reply.error("invalid_auth"), Reply.error("invalid_blocks")])
    server.default = Reply.server_error(500)
    notifier.send(_alert())
    errors.extend(_send_error(notifier) for _ in range(3))
    errors.append(_send_error(_notifier(f"http://127.0.0.1:{free_port()}/api/")))
    assert caplog.records, "the test must see the SDK's debug logs to prove anything"
    assert any("chat.postMessage" in r.getMessage() for r in caplog.records)
    seen = [caplog.text, repr(notifier), str(vars(notifier).get("base_url"))]
    for error in errors:
        seen += [str(error), repr(error), "".join(traceback.format_exception(error))]
        assert error.__context__ is None and error.__cause__ is None
    for text in seen:
        assert TOKEN not in text
        assert "SECRET-TOKEN" not in text
