"""Generic JSON webhook alerts: the JSON report plus the alert's channel, key and links.

Webhook URLs are credentials (Slack/Teams/Discord-style URLs carry the secret in the path or
query), so this module only ever names the host: in errors, in its own logs, and in httpx's
request log, which a logging filter rewrites (httpx would otherwise log the full URL at INFO).

One `send` is one POST, without inline retries: the `Idempotency-Key` header makes the
outbox's retries safe for receivers that honour it, and the outbox owns the backoff.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from watcher.errors import NotifyError, UsageError
from watcher.httpclient import USER_AGENT, retry_after
from watcher.notify.base import Alert, OperationalAlert, all_links
from watcher.report.jsonfmt import report_dict

logger = logging.getLogger(__name__)

#: Statuses after which the same POST may succeed later.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


class _SecretUrlFilter(logging.Filter):
    """Rewrites log records that mention a registered secret URL to name its host only."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: secret fragment -> what to print instead
        self._secrets: dict[str, str] = {}

    def add(self, url: httpx.URL) -> None:
        safe = safe_target(url)
        with self._lock:
            self._secrets[str(url)] = safe
            # Some loggers print the request target alone ("POST /hook/T000/XXXX").
            target = url.raw_path.decode("ascii", "replace")
            if len(target) > 1:
                self._secrets[target] = "/…"

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = original = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        # Longest first, so that the full URL is replaced before its path.
        for secret in sorted(secrets, key=len, reverse=True):
            if secret in message:
                message = message.replace(secret, secrets[secret])
        if message != original:
            record.msg, record.args = message, None
        return True


_FILTER = _SecretUrlFilter()
# Filters attach to one logger, not its children, so each logger httpx/httpcore use is named.
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
for _name in _HTTP_LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)


def safe_target(url: httpx.URL) -> str:
    """`scheme://host[:port]/…`: where a webhook goes, without the secret parts."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}/…"


class WebhookNotifier:
    """POSTs the alert as JSON to one URL; 429/5xx/timeouts are transient, other 4xx permanent.

    `http` is shared with the caller (connection pooling); when omitted, the notifier makes
    its own client and `close()` releases it. Redirects are not followed: a redirected POST
    would become a GET or carry the report to a host nobody configured.
    """

    def __init__(self, url: str, http: httpx.Client | None = None, timeout: float = 10.0) -> None:
        try:
            parsed = httpx.URL(url.strip())
        except (httpx.InvalidURL, TypeError):
            raise UsageError("WATCHER_WEBHOOK_URL is not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise UsageError("WATCHER_WEBHOOK_URL must be an http(s) URL")
        self._url = parsed
        self.target = safe_target(parsed)
        self.timeout = timeout
        self._own_client = http is None
        self._http = http or httpx.Client(headers={"User-Agent": USER_AGENT})
        _FILTER.add(parsed)

    def __repr__(self) -> str:
        return f"WebhookNotifier(target={self.target!r})"

    def close(self) -> None:
        """Close the HTTP client if this notifier created it."""
        if self._own_client:
            self._http.close()

    def payload(self, alert: Alert | OperationalAlert) -> dict[str, Any]:
        """The JSON body: the SPEC §3 report object plus `channel`, `dedup_key` and `links`.

        An operational alert has no report: `kind` is "operational" (release alerts carry no
        `kind`, as before), `severity` is "operational", and `event`, `summary`, `registry`,
        `failures`, `error` and `at` say what went wrong.
        """
        if isinstance(alert, OperationalAlert):
            return {
                "schema": 1,
                "kind": "operational",
                "severity": "operational",
                "event": alert.event,
                "ecosystem": alert.ecosystem,
                "package": alert.package,
                "registry": alert.registry,
                "failures": alert.failures,
                "error": alert.error,
                "at": alert.at,
                "summary": alert.summary,
                "channel": alert.channel,
                "dedup_key": alert.dedup_key,
            }
        body = report_dict(alert.report)
        body["channel"] = alert.channel
        body["dedup_key"] = alert.dedup_key
        body["links"] = list(all_links(alert))
        if alert.pin_source is not None:
            body["pin_source"] = alert.pin_source
        return body

    def send(self, alert: Alert | OperationalAlert) -> None:
        """POST `alert`, or raise `NotifyError`."""
        error: NotifyError
        try:
            response = self._http.post(
                self._url,
                json=self.payload(alert),
                headers={"Idempotency-Key": alert.dedup_key},
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.UnsupportedProtocol:
            error = NotifyError(f"webhook {self.target}: unsupported protocol", permanent=True)
        except httpx.TimeoutException:
            error = NotifyError(f"webhook {self.target} timed out")
        except httpx.TransportError as e:
            # httpx's messages name the socket error, not the URL; type first for grepping.
            detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            error = NotifyError(f"webhook {self.target} unreachable ({detail})")
        else:
            status = response.status_code
            if 200 <= status < 300:
                logger.info("alert %s delivered to webhook %s", alert.dedup_key, self.target)
                return
            transient = status in TRANSIENT_STATUSES or status >= 500
            error = NotifyError(
                f"webhook {self.target} answered HTTP {status}",
                retry_after=retry_after(response.headers) if transient else None,
                permanent=not transient,
            )
        # Raised outside `except` so no httpx exception (which holds the URL) is chained.
        raise error
