"""WebhookNotifier against a real local HTTP server (the recording Slack stand-in)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import httpx
import pytest

from tests.notify.reports import LINKS, critical_report
from tests.support.registries import free_port
from tests.support.slack_server import RecordingServer, Reply
from watcher.errors import NotifyError, UsageError
from watcher.notify import Alert, WebhookNotifier
from watcher.report.jsonfmt import report_dict

SECRET_PATH = "/hooks/T000/B000/SECRETPATH"
SECRET_QUERY = "token=QUERYSECRET"
EXTRA_LINK = "https://example.invalid/review/42"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def _alert() -> Alert:
    return Alert(
        report=critical_report(), channel="webhook", links=(*LINKS, EXTRA_LINK), dedup_key="k-42"
    )


def _hook(server: RecordingServer, http: httpx.Client) -> WebhookNotifier:
    return WebhookNotifier(server.url_for(f"{SECRET_PATH}?{SECRET_QUERY}"), http, timeout=2)


def _send_error(notifier: WebhookNotifier) -> NotifyError:
    with pytest.raises(NotifyError) as caught:
        notifier.send(_alert())
    return caught.value


def test_posts_the_json_report_with_an_idempotency_key(
    server: RecordingServer, http: httpx.Client
) -> None:
    _hook(server, http).send(_alert())
    [call] = server.calls
    assert call.method == "POST"
    assert call.path == f"{SECRET_PATH}?{SECRET_QUERY}"
    assert call.headers["idempotency-key"] == "k-42"
    assert call.headers["content-type"] == "application/json"
    expected = report_dict(critical_report())
    expected |= {"channel": "webhook", "dedup_key": "k-42", "links": [*LINKS, EXTRA_LINK]}
    assert call.json == expected
    assert call.json["schema"] == 1 and call.json["severity"] == "critical"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 408])
def test_rate_limits_and_server_errors_are_transient(
    server: RecordingServer, http: httpx.Client, status: int
) -> None:
    server.script([Reply(status=status, headers={"Retry-After": "7"})])
    error = _send_error(_hook(server, http))
    assert not error.permanent
    assert error.retry_after == 7
    assert len(server.calls) == 1, "no inline retries: the outbox owns them"


def test_retry_after_absent(server: RecordingServer, http: httpx.Client) -> None:
    server.script([Reply.server_error(503)])
    error = _send_error(_hook(server, http))
    assert not error.permanent and error.retry_after is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 301])
def test_other_statuses_are_permanent(
    server: RecordingServer, http: httpx.Client, status: int
) -> None:
    server.script([Reply(status=status, headers={"Location": "https://elsewhere.invalid/"})])
    error = _send_error(_hook(server, http))
    assert error.permanent and error.retry_after is None
    assert f"HTTP {status}" in str(error)
    assert len(server.calls) == 1


def test_unreachable_and_timeout_are_transient(server: RecordingServer, http: httpx.Client) -> None:
    closed = WebhookNotifier(f"http://127.0.0.1:{free_port()}{SECRET_PATH}", http)
    assert not _send_error(closed).permanent
    server.script([Reply(delay=0.6)])
    slow = WebhookNotifier(server.url_for(SECRET_PATH), http, timeout=0.2)
    error = _send_error(slow)
    assert not error.permanent and "timed out" in str(error)


def test_url_is_never_logged_whole(
    server: RecordingServer, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "watcher", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    notifier = _hook(server, http)
    server.script([Reply.ok(), Reply.server_error(500), Reply(status=404)])
    notifier.send(_alert())
    errors = [_send_error(notifier), _send_error(notifier)]
    closed = WebhookNotifier(f"http://127.0.0.1:{free_port()}{SECRET_PATH}?{SECRET_QUERY}", http)
    errors.append(_send_error(closed))
    assert any(r.name == "httpx" for r in caplog.records), "httpx's request log must be seen"
    assert "127.0.0.1" in caplog.text, "the host is what the logs name"
    seen = [caplog.text, repr(notifier), repr(closed)]
    for error in errors:
        seen += [str(error), repr(error), "".join(traceback.format_exception(error))]
        assert error.__context__ is None
    for text in seen:
        assert "SECRETPATH" not in text and "QUERYSECRET" not in text


def test_rejects_non_http_urls() -> None:
    with pytest.raises(UsageError) as caught:
        WebhookNotifier("file:///etc/SECRETPATH")
    assert "SECRETPATH" not in str(caught.value)
