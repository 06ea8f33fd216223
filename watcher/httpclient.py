"""One place that talks HTTP: timeouts, a user agent, bounded retries honouring Retry-After.

Registries and the fetcher both go through `HttpClient`, so retry and credential policy live
in one module. Credentials are attached only to requests for the host they were given for,
so a token for a private registry never travels to a CDN or a redirect target.

Budgets, not only per-read timeouts: every request has one overall deadline (connect, TLS,
sending, the headers and every read of the body), so a registry that trickles a byte at a
time cannot hold a worker for longer than the deadline; and registry metadata (`get`) is
capped after decompression, so a gzip bomb stops at the cap instead of filling memory.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from watcher import __version__
from watcher.errors import MalformedResponse, RegistryUnavailable
from watcher.escape import logline

logger = logging.getLogger(__name__)

USER_AGENT = f"watcher/{__version__} (+release-diff watcher for MCP servers)"

#: Seconds to set up a connection: a host that drops packets must not take the whole timeout.
CONNECT_TIMEOUT = 10.0

#: Statuses worth retrying: rate limiting and transient server trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Default cap on one registry document (packument, PyPI JSON, simple page), counted after
#: decompression. The largest real packuments (long-lived packages with thousands of versions,
#: e.g. `typescript`, `@types/node`) are tens of MB uncompressed; 128 MiB leaves them head-room
#: while bounding what a hostile registry or mirror can make us hold (a gzip bomb of a few MB
#: would otherwise inflate to gigabytes). `WATCHER_MAX_METADATA_BYTES` overrides it.
MAX_METADATA_BYTES = 128 * 1024 * 1024
#: Default overall deadline of one metadata request (connect plus every read). Registry
#: documents are gzip-compressed on the wire (a few MB even for the largest), so a minute is
#: ample on any working link. `WATCHER_HTTP_METADATA_DEADLINE` overrides it.
METADATA_DEADLINE = 60.0
#: Default overall deadline of one artifact download: a 256 MiB artifact (the download cap)
#: at about 1 MB/s; MCP server artifacts are usually a few MB.
#: `WATCHER_HTTP_DOWNLOAD_DEADLINE` overrides it.
DOWNLOAD_DEADLINE = 300.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how patiently to retry a request."""

    attempts: int = 4
    backoff: float = 0.5
    #: A Retry-After longer than this is not waited for: the caller gets an error instead.
    max_wait: float = 60.0


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the request under way must be finished, and how long it was given (for messages)."""

    at: float
    seconds: float

    @classmethod
    def start(cls, seconds: float) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(time.monotonic() + seconds, seconds)

    def remaining(self) -> float:
        """Seconds left (negative once spent)."""
        return self.at - time.monotonic()

    def message(self) -> str:
        """The one-line reason a request stopped: it took longer than it was given."""
        return f"request deadline of {self.seconds:g} s spent"


#: The deadline of the request being made in this thread (None: only the per-phase timeout).
#: Set by `HttpClient.stream` for the whole `with` block, so the reads of a caller iterating the
#: body (`artifacts.fetch`) are bounded too; read by the network streams at every socket call.
_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "watcher_http_deadline", default=None
)


@dataclass
class HttpClient:
    """A thin wrapper over `httpx.Client` with retries, per-host bearer tokens and budgets.

    `get` (registry metadata) reads at most `max_metadata_bytes` after decompression and has
    `metadata_deadline` seconds per try; `stream` (downloads) has `download_deadline` seconds
    per try, for the request and the reads of the body done inside its `with` block.
    """

    client: httpx.Client
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: host[:port] -> token; attached as `Authorization: Bearer` to that host only.
    tokens: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    max_metadata_bytes: int = MAX_METADATA_BYTES
    metadata_deadline: float = METADATA_DEADLINE
    download_deadline: float = DOWNLOAD_DEADLINE

    def __post_init__(self) -> None:
        # However the client was built, its own connections get the deadline.
        install_deadlines(self.client)

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
        """GET registry metadata with retries; the final response whatever its status.

        The body is read here, within `metadata_deadline` and `max_metadata_bytes` (counted
        after Content-Encoding is undone). Over the cap → `MalformedResponse`; a connection
        that drops or a deadline spent while reading the body → `RegistryUnavailable`; a
        body whose gzip/deflate does not decode → `MalformedResponse`. One line each.
        """
        target = httpx.URL(url)
        with self.stream(url, headers, deadline=self.metadata_deadline) as response:
            response._content = self._read_capped(response, target)
            return response

    def _read_capped(self, response: httpx.Response, target: httpx.URL) -> bytes:
        cap = self.max_metadata_bytes
        too_large = (
            f"{_redact(target)}: response over the {cap}-byte limit for registry metadata "
            "(WATCHER_MAX_METADATA_BYTES)"
        )
        declared = response.headers.get("content-length", "").strip()
        # Only a plain body's declared length is its size; an encoded one is checked as read.
        if declared.isdigit() and len(declared) < 20 and int(declared) > cap:
            if not response.headers.get("content-encoding"):
                raise MalformedResponse(too_large)
        chunks: list[bytes] = []
        size = 0
        try:
            # iter_bytes yields what one network read (at most 64 KiB) decodes to, so memory
            # stays within the cap plus one decoded read, however well the body compresses.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise MalformedResponse(too_large)
                chunks.append(chunk)
        # Corrupt gzip/deflate is the registry's answer being nonsense, not an outage.
        except httpx.DecodingError as e:
            raise MalformedResponse(
                f"{_redact(target)}: the response body does not decode ({describe_error(e)})"
            ) from e
        # The connection dropped, a read timed out or the deadline was spent mid-body; not
        # retried (a body error never was), but a one-line error rather than an httpx traceback.
        except httpx.HTTPError as e:
            raise RegistryUnavailable(
                f"{_redact(target)} is unavailable ({describe_error(e)})"
            ) from e
        return b"".join(chunks)

    @contextlib.contextmanager
    def stream(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        deadline: float | None = None,
    ) -> Iterator[httpx.Response]:
        """Open a streamed GET, retrying connection errors, 429 and 5xx before the body is read.

        Each try has `deadline` seconds (default `download_deadline`) for everything: connect,
        headers, and the reads of the body the caller makes inside the `with` block. A try
        whose deadline is spent before the response arrives is retried like a timeout; once
        the body is being read, a spent deadline raises `httpx.ReadTimeout` from the read
        ("request deadline of N s spent"), which callers report as they report a timeout.
        """
        seconds = self.download_deadline if deadline is None else deadline
        target = httpx.URL(url)
        last_error = ""
        for attempt in range(1, self.retry.attempts + 1):
            limit = Deadline.start(seconds)
            token = _DEADLINE.set(limit)
            try:
                try:
                    request = self.client.build_request(
                        "GET", target, headers=self._headers(target, headers)
                    )
                    response = self.client.send(request, stream=True)
                # A redirect loop is the registry's configuration, not a blip: trying again
                # makes the same 20 requests. Not an httpx traceback either.
                except httpx.TooManyRedirects as e:
                    raise RegistryUnavailable(
                        f"{_redact(target)} is unavailable ({describe_error(e)})"
                    ) from e
                # Connection refused, DNS failure, timeouts: the registry may be back soon.
                except httpx.TransportError as e:
                    last_error = describe_error(e)
                    wait = self._backoff(attempt)
                else:
                    if response.status_code not in RETRY_STATUSES:
                        # Custom transports (tests, mounts) bypass the network backend that
                        # bounds each socket call; checking between chunks still bounds them.
                        if isinstance(response.stream, httpx.SyncByteStream):
                            response.stream = _DeadlineCheckedStream(
                                response.stream, limit, request
                            )
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
            finally:
                _DEADLINE.reset(token)
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
    # isascii: str.isdigit() is also true of "²" and other digits float() refuses, and a
    # server's header must not become a ValueError out of `stream` (a hostile 503 did).
    if value.isascii() and value.isdigit():
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
    return logline(str(url.copy_with(username=None, password=None, query=None)))


#: How much of an exception's text goes into a message: enough to diagnose, never a page.
_SHOWN_ERROR = 200


def describe_error(error: BaseException) -> str:
    """`Type: message` of an httpx error for a one-line message (controls escaped, shortened).

    httpx and h11 messages can quote what the server sent (a status line, a header), so a
    hostile server must not be able to put a line break or a page of text into our messages.
    """
    text = logline(str(error))
    if len(text) > _SHOWN_ERROR:
        text = text[:_SHOWN_ERROR] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --- deadlines -----------------------------------------------------------------------------------


def _bounded(timeout: float | None, exc: type[Exception]) -> float | None:
    """`timeout` (the per-phase timeout) shortened to what is left of the request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        raise exc(deadline.message())
    return remaining if timeout is None else min(timeout, remaining)


@contextlib.contextmanager
def _deadline_message() -> Iterator[None]:
    """Say "deadline spent" rather than "timed out" when the shortened timeout is what fired."""
    try:
        yield
    except httpcore.TimeoutException as e:
        deadline = _DEADLINE.get()
        if deadline is not None and deadline.remaining() <= 0:
            raise type(e)(deadline.message()) from e
        raise


class _DeadlineNetworkStream(httpcore.NetworkStream):
    """A connection whose every socket call is bounded by the current request's deadline.

    Connections are pooled and outlive a request, so the deadline is looked up at each call
    rather than fixed when the connection was opened.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _deadline_message():
            return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _deadline_message():
            self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_message():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            return _DeadlineNetworkStream(
                self._inner.start_tls(ssl_context, server_hostname, bounded)
            )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with connections bounded by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_message():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineNetworkStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_message():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            stream = self._inner.connect_unix_socket(path, bounded, socket_options)
        return _DeadlineNetworkStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineCheckedStream(httpx.SyncByteStream):
    """A response body that stops between chunks once the request's deadline is spent."""

    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline, request: httpx.Request):
        self._inner = inner
        self._deadline = deadline
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if self._deadline.remaining() <= 0:
                raise httpx.ReadTimeout(self._deadline.message(), request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def install_deadlines(client: httpx.Client) -> int:
    """Bound every connection of `client`'s own transports by the request deadline.

    httpx 0.28 has no public hook for httpcore's network backend, so the pools' backends are
    wrapped in place (the proxy transports from the environment included). Returns how many
    pools were wrapped; a test asserts it, so an httpx upgrade that moves these attributes
    fails loudly instead of silently losing the deadline (the check between chunks remains).
    """
    wrapped = 0
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            continue
        if not isinstance(backend, _DeadlineBackend):
            setattr(pool, "_network_backend", _DeadlineBackend(backend))  # noqa: B010
        wrapped += 1
    return wrapped


def make_client(
    timeout: float = 30.0,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    *,
    max_metadata_bytes: int = MAX_METADATA_BYTES,
    metadata_deadline: float = METADATA_DEADLINE,
    download_deadline: float = DOWNLOAD_DEADLINE,
) -> HttpClient:
    """The HttpClient every command uses; tests pass an `httpx.MockTransport`.

    `timeout` bounds each phase of a request (connect, every read and write, waiting for a
    pooled connection), so a server that accepts and then says nothing fails after `timeout`
    seconds per try; the connect phase gets at most `CONNECT_TIMEOUT`. The deadlines bound a
    whole try (a server answering one byte per `timeout` would otherwise never time out).
    """
    client = httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        transport=transport,
    )
    return HttpClient(
        client=client,
        retry=retry or RetryPolicy(),
        max_metadata_bytes=max_metadata_bytes,
        metadata_deadline=metadata_deadline,
        download_deadline=download_deadline,
    )
