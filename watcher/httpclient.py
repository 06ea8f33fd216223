"""One place that talks HTTP: timeouts, a user agent, bounded retries honouring Retry-After.

Registries and the fetcher both go through `HttpClient`, so retry and credential policy live
in one module. Credentials are attached only to requests for the host they were given for,
so a token for a private registry never travels to a CDN or a redirect target.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from watcher import __version__
from watcher.errors import RegistryUnavailable

logger = logging.getLogger(__name__)

USER_AGENT = f"watcher/{__version__} (+release-diff watcher for MCP servers)"

#: Seconds to set up a connection: a host that drops packets must not take the whole timeout.
CONNECT_TIMEOUT = 10.0

#: Statuses worth retrying: rate limiting and transient server trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how patiently to retry a request."""

    attempts: int = 4
    backoff: float = 0.5
    #: A Retry-After longer than this is not waited for: the caller gets an error instead.
    max_wait: float = 60.0


@dataclass
class HttpClient:
    """A thin wrapper over `httpx.Client` with retries and per-host bearer tokens."""

    client: httpx.Client
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: host[:port] -> token; attached as `Authorization: Bearer` to that host only.
    tokens: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep

    def add_token(self, url: str, token: str) -> None:
        """Send `token` with every request to the host of `url`."""
        self.tokens[httpx.URL(url).netloc.decode()] = token

    def _headers(self, url: httpx.URL, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        token = self.tokens.get(url.netloc.decode())
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """GET with retries; returns the final response whatever its status (404 included)."""
        with self.stream(url, headers) as response:
            response.read()
            return response

    @contextlib.contextmanager
    def stream(
        self, url: str, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """Open a streamed GET, retrying connection errors, 429 and 5xx before the body is read."""
        target = httpx.URL(url)
        last_error = ""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                request = self.client.build_request(
                    "GET", target, headers=self._headers(target, headers)
                )
                response = self.client.send(request, stream=True)
            # Connection refused, DNS failure, timeouts: the registry may be back in a moment.
            except httpx.TransportError as e:
                last_error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                wait = self._backoff(attempt)
            else:
                if response.status_code not in RETRY_STATUSES:
                    try:
                        yield response
                    finally:
                        response.close()
                    return
                last_error = f"HTTP {response.status_code}"
                wait = max(self._backoff(attempt), retry_after(response.headers) or 0.0)
                response.close()
                if wait > self.retry.max_wait:
                    break
            if attempt < self.retry.attempts:
                logger.info("retrying %s in %.1fs after %s", _redact(target), wait, last_error)
                self.sleep(wait)
        raise RegistryUnavailable(f"{_redact(target)} is unavailable ({last_error})")

    def _backoff(self, attempt: int) -> float:
        return float(self.retry.backoff * (2 ** (attempt - 1)))

    def close(self) -> None:
        """Close the underlying connection pool."""
        self.client.close()


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), if any."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _redact(url: httpx.URL) -> str:
    """The URL without userinfo or query, for messages and logs."""
    return str(url.copy_with(username=None, password=None, query=None))


def make_client(
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> HttpClient:
    """The HttpClient every command uses; tests pass an `httpx.MockTransport`.

    `timeout` bounds each phase of a request (connect, every read and write, waiting for a
    pooled connection), so a server that accepts and then says nothing fails after `timeout`
    seconds per try; the connect phase gets at most `CONNECT_TIMEOUT`.
    """
    client = httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        transport=transport,
    )
    return HttpClient(client=client, retry=retry or RetryPolicy())
