"""SlackNotifier against a real local HTTP server standing in for Slack's Web API."""

from __future__ import annotations

import logging
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.notify.conftest import TOKEN
from tests.notify.reports import LINKS, critical_report
from tests.support.registries import free_port
from tests.support.slack_server import RecordingServer, Reply
from watcher.errors import NotifyError
from watcher.notify import Alert, SlackNotifier, build_blocks

POST = "/api/chat.postMessage"
LIST = "/api/conversations.list"
HISTORY = "/api/conversations.history"


def _alert(channel: str = "slack:#mcp-supply-chain") -> Alert:
    return Alert(report=critical_report(), channel=channel, links=LINKS, dedup_key="k-1")


def _notifier(url: str, **options: float) -> SlackNotifier:
    # Short backoff keeps the retry tests fast; Retry-After is honoured as sent.
    return SlackNotifier(TOKEN, base_url=url, timeout=options.pop("timeout", 5), backoff=0.02)


def _send_error(notifier: SlackNotifier, alert: Alert | None = None) -> NotifyError:
    with pytest.raises(NotifyError) as caught:
        notifier.send(alert or _alert())
    return caught.value


def _paths(server: RecordingServer) -> list[str]:
    return [c.path.split("?")[0] for c in server.calls]


def _delivered(server: RecordingServer) -> Counter[str]:
    """How many messages in the server's history carry each dedup key."""
    return Counter(str(m.event_payload.get("dedup_key")) for m in server.messages)


def test_posts_one_message_with_blocks_and_the_alerts_metadata(server: RecordingServer) -> None:
    ts = _notifier(server.url).send_once(_alert(), unsure_since=None)
    [call] = server.calls
    assert (call.method, call.path) == ("POST", POST)
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    body = call.json
    text, blocks = build_blocks(critical_report(), LINKS)
    assert body["channel"] == "#mcp-supply-chain"
    assert body["text"] == text
    assert body["blocks"] == blocks
    assert body["unfurl_links"] is False
    assert body["metadata"] == {
        "event_type": "watcher_alert",
        "event_payload": {
            "dedup_key": "k-1",
            "ecosystem": "npm",
            "package": "postmark-mcp",
            "old_version": "1.0.15",
            "new_version": "1.0.16",
            "severity": "critical",
            "score": critical_report().score,
        },
    }
    [message] = server.messages
    assert ts == message.ts and ts


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
    server.script([Reply.rate_limited(1), Reply.server_error(500)])
    _notifier(server.url).send(_alert())
    # After the 500 Slack may have posted: the channel is searched before the second post.
    assert _paths(server) == [POST, POST, LIST, HISTORY, POST]
    assert _delivered(server) == {"k-1": 1}


def test_server_errors_then_delivered_once(server: RecordingServer) -> None:
    server.script([Reply.server_error(500), Reply.ok(), Reply.ok(), Reply.server_error(503)])
    _notifier(server.url).send(_alert())
    assert _paths(server) == [POST, LIST, HISTORY, POST, HISTORY, POST]
    assert _delivered(server) == {"k-1": 1}


def test_persistent_500_is_transient(server: RecordingServer) -> None:
    server.default = Reply.server_error(500)
    error = _send_error(_notifier(server.url))
    assert not error.permanent
    assert "HTTP 500" in str(error)
    # The search after the first 500 fails too (after its own retries): nothing re-posted.
    assert _paths(server).count(POST) == 1
    assert not server.messages


def test_a_500_after_posting_is_found_and_not_posted_again(server: RecordingServer) -> None:
    # A gateway error on the way back: Slack has the message, the sender saw only the 500.
    server.script([Reply.failed_after_posting(502)])
    ts = _notifier(server.url).send_once(_alert(), unsure_since=None)
    assert _paths(server) == [POST, LIST, HISTORY]
    assert _delivered(server) == {"k-1": 1}
    assert ts == server.messages[0].ts


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


def test_dropped_connection_is_retried_after_a_search(server: RecordingServer) -> None:
    server.script([Reply.dropped()])
    _notifier(server.url).send(_alert())
    assert _paths(server) == [POST, LIST, HISTORY, POST]
    assert _delivered(server) == {"k-1": 1}


def test_lost_answer_after_posting_is_not_posted_twice(server: RecordingServer) -> None:
    server.script([Reply.lost()])
    _notifier(server.url).send(_alert())
    assert _paths(server) == [POST, LIST, HISTORY]
    assert _delivered(server) == {"k-1": 1}


def test_an_unsure_alert_already_in_the_channel_is_not_posted(server: RecordingServer) -> None:
    before = datetime.now(UTC)
    _notifier(server.url).send(_alert())  # the process that "died" before marking it sent
    server.reset_calls()
    ts = _notifier(server.url).send_once(_alert(), unsure_since=before)
    assert _paths(server) == [LIST, HISTORY]
    history = server.calls[-1]
    assert history.params["channel"] == server.channel_id("#mcp-supply-chain")
    assert history.params["include_all_metadata"] in ("1", "true", "True")
    assert float(history.params["oldest"]) <= before.timestamp()
    assert ts == server.messages[0].ts
    assert _delivered(server) == {"k-1": 1}


def test_an_unsure_alert_not_in_the_channel_is_posted(server: RecordingServer) -> None:
    # Another alert in the channel (different dedup key) and plain messages do not count.
    other = Alert(
        report=critical_report(), channel="slack:#mcp-supply-chain", links=(), dedup_key="k-2"
    )
    _notifier(server.url).send(other)
    ts = _notifier(server.url).send_once(_alert(), unsure_since=datetime.now(UTC))
    assert _delivered(server) == {"k-1": 1, "k-2": 1}
    assert ts == server.messages[-1].ts


def test_the_search_only_looks_after_the_first_attempt(server: RecordingServer) -> None:
    _notifier(server.url).send(_alert())
    later = datetime.now(UTC) + timedelta(minutes=10)
    _notifier(server.url).send_once(_alert(), unsure_since=later)
    # A delivery before the window (minus the clock-skew allowance) is not this attempt's.
    assert _delivered(server) == {"k-1": 2}


def test_the_search_pages_through_a_busy_channel(server: RecordingServer) -> None:
    before = datetime.now(UTC)
    notifier = _notifier(server.url)
    notifier.send(_alert())
    for n in range(450):  # more than two pages of newer messages
        notifier.send(Alert(critical_report(), "slack:#mcp-supply-chain", (), f"other-{n}"))
    server.reset_calls()
    ts = SlackNotifier(TOKEN, base_url=server.url).send_once(_alert(), unsure_since=before)
    assert ts == server.messages[0].ts
    assert _paths(server) == [LIST, HISTORY, HISTORY, HISTORY]
    assert all(c.params.get("cursor") for c in server.calls[2:])


def test_a_search_slack_cannot_answer_posts_nothing(server: RecordingServer) -> None:
    server.default = Reply.server_error(503)
    with pytest.raises(NotifyError) as caught:
        _notifier(server.url).send_once(_alert(), unsure_since=datetime.now(UTC))
    assert not caught.value.permanent
    assert POST not in _paths(server)


def test_a_search_without_the_scope_posts_with_a_warning(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script([Reply.error("missing_scope")])
    caplog.set_level(logging.WARNING, logger="watcher")
    # A channel id needs no conversations.list.
    _notifier(server.url).send_once(_alert("slack:C0TESTCHAN1"), unsure_since=datetime.now(UTC))
    assert _paths(server) == [HISTORY, POST]
    assert "cannot check Slack for an earlier delivery of alert k-1" in caplog.text


def test_unreachable_server_is_transient() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"
    error = _send_error(_notifier(url))
    assert not error.permanent
    assert "unreachable" in str(error)


def test_timeout_is_transient_and_not_retried(server: RecordingServer) -> None:
    server.script([Reply.slow(1.5)])
    error = _send_error(_notifier(server.url, timeout=1))
    assert not error.permanent
    assert "timed out" in str(error)
    assert len(server.calls) == 1
    # Slack posted it all the same: the next sender must search, and does find it.
    assert len(server.messages) == 1


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
