"""Budgets against a hostile registry or mirror (issue 9): what one request may cost.

The gzip bomb, the trickling servers and the deadlines are exercised against real threaded
HTTP servers on 127.0.0.1 (never another host), because what they test is how the client
behaves on a socket: how much it reads, how long it waits. Each server stops by itself.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.fuzz import assert_one_line
from watcher.artifacts.fetch import Fetcher
from watcher.config import HttpSettings, http_settings_from_env
from watcher.errors import FetchError, MalformedResponse, RegistryUnavailable, UsageError
from watcher.httpclient import (
    DOWNLOAD_DEADLINE,
    MAX_METADATA_BYTES,
    METADATA_DEADLINE,
    RetryPolicy,
    install_deadlines,
    make_client,
)
from watcher.models import ArtifactKind, ArtifactRef, Ecosystem
from watcher.registries import open_registry

#: Whatever goes wrong, no test here may take longer than this (the deadlines are ~2 s).
HANG_GUARD = 30.0
#: The pace of the trickling servers, and how many bytes they send at most (bounded loops).
TRICKLE_PAUSE = 0.2
TRICKLE_MAX = 400


@dataclass
class Served:
    """What a test server did: connections accepted, body bytes it managed to send."""

    connections: int = 0
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, sent: int = 0, connections: int = 0) -> None:
        with self.lock:
            self.sent += sent
            self.connections += connections


Behaviour = Callable[[BaseHTTPRequestHandler, Served], None]


@contextlib.contextmanager
def serve(behaviour: Behaviour) -> Iterator[tuple[str, Served]]:
    """A threaded HTTP server on 127.0.0.1 answering every GET with `behaviour`."""
    served = Served()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            served.count(connections=1)
            # The client hanging up mid-answer is what most tests expect.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                behaviour(self, served)
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _send(handler: BaseHTTPRequestHandler, served: Served, data: bytes) -> None:
    handler.wfile.write(data)
    handler.wfile.flush()
    served.count(sent=len(data))


# --- the gzip bomb: metadata is capped after decompression ------------------------------------

#: One MiB of zeros as a deflate block ending in a full flush: the same bytes every time, so
#: the server can send a many-GiB gzip stream without computing it (about 1 KB per MiB).
_GZIP = zlib.compressobj(9, zlib.DEFLATED, 31)
_GZIP_HEADER = _GZIP.compress(b"")
_GZIP_MIB = _GZIP.compress(b"\0" * (1 << 20)) + _GZIP.flush(zlib.Z_FULL_FLUSH)
#: 6 GiB once inflated, as in the report: ~6 MB on the wire.
BOMB_MIB = 6 * 1024


def gzip_bomb(handler: BaseHTTPRequestHandler, served: Served) -> None:
    # A small send buffer, so "how much the server managed to send" tracks what the client read.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(_GZIP_HEADER) + BOMB_MIB * len(_GZIP_MIB)))
    handler.end_headers()
    _send(handler, served, _GZIP_HEADER)
    for _ in range(BOMB_MIB):
        _send(handler, served, _GZIP_MIB)


def test_a_gzip_bomb_packument_stops_at_the_cap() -> None:
    http = make_client(5.0, RetryPolicy(attempts=1), max_metadata_bytes=4 * 1024 * 1024)
    with serve(gzip_bomb) as (url, served):
        registry = open_registry(Ecosystem.NPM, http, url)
        started = time.monotonic()
        with pytest.raises(MalformedResponse) as caught:
            registry.package("demo-mcp-server")
        elapsed = time.monotonic() - started
    http.close()
    assert_one_line(caught.value)
    assert "over the 4194304-byte limit for registry metadata" in str(caught.value)
    assert "WATCHER_MAX_METADATA_BYTES" in str(caught.value)
    assert elapsed < HANG_GUARD
    # The read stopped at the cap: 4 MiB inflated is ~4 KB of the ~6 MB bomb, plus what the
    # socket buffers held. Reading it all would have meant 6 GiB in memory.
    total = len(_GZIP_HEADER) + BOMB_MIB * len(_GZIP_MIB)
    assert served.sent < total // 4, (served.sent, total)


def test_the_cap_counts_decoded_bytes_exactly() -> None:
    body = b"x" * 1000
    compressed = zlib.compress(body)

    def answer(request: httpx.Request) -> httpx.Response:
        # An iterator, so the body is streamed and decoded as read (bytes are decoded at once).
        return httpx.Response(
            200, content=iter([compressed]), headers={"Content-Encoding": "deflate"}
        )

    http = make_client(transport=httpx.MockTransport(answer), max_metadata_bytes=1000)
    assert http.get("https://registry.invalid/x").content == body
    http.max_metadata_bytes = 999
    with pytest.raises(MalformedResponse, match="over the 999-byte limit"):
        http.get("https://registry.invalid/x")
    http.close()


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"{}"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"Content-Length": "5000"})

    http = make_client(transport=httpx.MockTransport(answer), max_metadata_bytes=4096)
    with pytest.raises(MalformedResponse, match="over the 4096-byte limit"):
        http.get("https://registry.invalid/x")
    http.close()
    assert read == []


def test_a_body_that_does_not_decode_is_malformed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=iter([b"not gzip at all"]), headers={"Content-Encoding": "gzip"}
        )

    http = make_client(transport=httpx.MockTransport(answer))
    with pytest.raises(MalformedResponse, match="does not decode") as caught:
        http.get("https://registry.invalid/x")
    http.close()
    assert_one_line(caught.value)


def test_a_connection_dropped_mid_body_is_unavailable_not_an_httpx_error() -> None:
    def short(handler: BaseHTTPRequestHandler, served: Served) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        _send(handler, served, b'{"name": "x"')

    http = make_client(5.0, RetryPolicy(attempts=1))
    with serve(short) as (url, _):
        with pytest.raises(RegistryUnavailable, match="RemoteProtocolError") as caught:
            http.get(url)
    http.close()
    assert_one_line(caught.value)


# --- deadlines: one per try, connect plus every read ------------------------------------------


def trickle_body(handler: BaseHTTPRequestHandler, served: Served) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(TRICKLE_MAX))
    handler.end_headers()
    for _ in range(TRICKLE_MAX):
        _send(handler, served, b" ")
        time.sleep(TRICKLE_PAUSE)


def trickle_headers(handler: BaseHTTPRequestHandler, served: Served) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(TRICKLE_MAX):
        _send(handler, served, b"a")
        time.sleep(TRICKLE_PAUSE)


def test_a_trickling_registry_fails_at_the_metadata_deadline() -> None:
    # Each read gets a byte well within the 5 s timeout: only the deadline can stop this.
    http = make_client(5.0, RetryPolicy(attempts=3, backoff=0), metadata_deadline=2.0)
    with serve(trickle_body) as (url, served):
        registry = open_registry(Ecosystem.NPM, http, url)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as caught:
            registry.package("demo-mcp-server")
        elapsed = time.monotonic() - started
    http.close()
    assert_one_line(caught.value)
    assert "request deadline of 2 s spent" in str(caught.value)
    # A body that stops mid-way is not retried (it never was): one try, about 2 s.
    assert 1.5 <= elapsed < HANG_GUARD, elapsed
    assert served.connections == 1
    assert served.sent < 2.0 / TRICKLE_PAUSE + 5


def test_headers_trickled_forever_are_retried_like_a_timeout_then_fail() -> None:
    http = make_client(5.0, RetryPolicy(attempts=2, backoff=0), metadata_deadline=1.5)
    with serve(trickle_headers) as (url, served):
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable) as caught:
            http.get(url)
        elapsed = time.monotonic() - started
    http.close()
    assert_one_line(caught.value)
    assert "ReadTimeout: request deadline of 1.5 s spent" in str(caught.value)
    # Retried per the retry policy, no more: two tries of 1.5 s.
    assert served.connections == 2
    assert 2.5 <= elapsed < HANG_GUARD, elapsed


def test_a_trickled_download_fails_at_the_download_deadline() -> None:
    """fetch.py needs no change: the deadline bounds the reads it makes inside `stream`."""
    http = make_client(5.0, RetryPolicy(attempts=1), download_deadline=2.0)
    with serve(trickle_body) as (url, _):
        ref = ArtifactRef(
            url=url + "demo-1.0.0.tgz",
            filename="demo-1.0.0.tgz",
            kind=ArtifactKind.NPM_TARBALL,
            digests={"sha256": "a" * 64},
            size=None,
        )
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            Fetcher(http, cache_dir=None).fetch(ref)
        elapsed = time.monotonic() - started
    http.close()
    assert_one_line(caught.value)
    assert "request deadline of 2 s spent" in str(caught.value)
    assert 1.5 <= elapsed < HANG_GUARD, elapsed


def test_metadata_and_downloads_have_their_own_deadlines() -> None:
    seen: list[float | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}")

    http = make_client(transport=httpx.MockTransport(answer))
    assert (http.metadata_deadline, http.download_deadline) == (
        METADATA_DEADLINE,
        DOWNLOAD_DEADLINE,
    )
    assert http.max_metadata_bytes == MAX_METADATA_BYTES
    http.get("https://registry.invalid/x")
    with http.stream("https://registry.invalid/x") as response:
        seen.append(response.read() and None)
    http.close()
    assert seen == [None]


def test_other_transports_are_still_checked_between_chunks() -> None:
    def slow() -> Iterator[bytes]:
        for _ in range(50):
            time.sleep(0.1)
            yield b" "

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=slow())

    http = make_client(transport=httpx.MockTransport(answer), metadata_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable, match="request deadline of 0.5 s spent"):
        http.get("https://registry.invalid/x")
    assert time.monotonic() - started < 3
    http.close()


def test_the_default_client_has_the_deadline_hook_installed() -> None:
    """httpx has no public hook for it: an upgrade that moves the attributes must fail here."""
    http = make_client()
    assert install_deadlines(http.client) >= 1
    http.close()


# --- settings ------------------------------------------------------------------------------------


def test_budget_settings_are_read_and_reach_the_client() -> None:
    env = {
        "WATCHER_HTTP_METADATA_DEADLINE": "20",
        "WATCHER_HTTP_DOWNLOAD_DEADLINE": "90.5",
        "WATCHER_MAX_METADATA_BYTES": "1048576",
    }
    settings = http_settings_from_env(env)
    assert settings == HttpSettings(
        metadata_deadline=20.0, download_deadline=90.5, max_metadata_bytes=1048576
    )
    http = make_client(**settings.client_options())
    assert (http.metadata_deadline, http.download_deadline, http.max_metadata_bytes) == (
        20.0,
        90.5,
        1048576,
    )
    http.close()
    http = make_client(**HttpSettings(timeout=3.0, retries=0).client_options())
    assert (http.client.timeout.read, http.retry.attempts) == (3.0, 1)
    assert http.metadata_deadline == METADATA_DEADLINE
    http.close()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WATCHER_HTTP_METADATA_DEADLINE", "0"),
        ("WATCHER_HTTP_METADATA_DEADLINE", "601"),
        ("WATCHER_HTTP_DOWNLOAD_DEADLINE", "soon"),
        ("WATCHER_MAX_METADATA_BYTES", "1.5"),
        ("WATCHER_MAX_METADATA_BYTES", "0"),
    ],
)
def test_bad_budget_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(UsageError, match=variable):
        http_settings_from_env({variable: value})
