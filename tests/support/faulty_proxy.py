"""A real HTTP proxy on 127.0.0.1 that forwards to a registry and injects faults on demand.

Put it between the code under test and a real registry (Verdaccio, pypiserver) by giving its
`url` as the registry URL. While `mode` is `Fault.NONE` it forwards every request unchanged
(method, path, headers, body; the answer's status, headers and body); otherwise it answers
itself:

- `Fault.HANG`: reads the request and answers nothing until `release()` or `hang_limit`
  seconds (then closes the connection): a client's read timeout fires first.
- `Fault.ERROR`: `error_status` (503) with an HTML body, as a load balancer sends.
- `Fault.MALFORMED`: 200 `application/json` whose body is cut off mid-document.

Usage::

    with FaultyProxy(verdaccio.url) as proxy:
        proxy.mode = Fault.ERROR
        ...  # the client sees 503s
        proxy.mode = Fault.NONE
        assert proxy.faulted >= 1
"""

from __future__ import annotations

import http.client
import threading
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

#: Hop-by-hop headers are the proxy's own business (RFC 9110 §7.6.1), never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class Fault(StrEnum):
    """What the proxy does with the next requests."""

    NONE = "none"
    HANG = "hang"
    ERROR = "error"
    MALFORMED = "malformed"


class FaultyProxy:
    """A threaded forwarding proxy with a switchable fault mode; see the module docstring."""

    def __init__(self, upstream: str, *, hang_limit: float = 120.0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.mode = Fault.NONE
        self.error_status = 503
        self.hang_limit = hang_limit
        self._release = threading.Event()
        self._lock = threading.Lock()
        #: (mode, method, path) of every request, in arrival order.
        self.requests: list[tuple[Fault, str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL (no trailing slash), to use in place of the upstream's."""
        assert self._server is not None, "proxy not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def faulted(self) -> int:
        """How many requests were answered with a fault."""
        with self._lock:
            return sum(1 for mode, _, _ in self.requests if mode is not Fault.NONE)

    def switch(self, mode: Fault) -> None:
        """Change the fault mode; leaving `HANG` releases the requests that hang."""
        self.mode = mode
        if mode is Fault.HANG:
            self._release.clear()
        else:
            self._release.set()

    def release(self) -> None:
        """Let hanging requests end (their connections are closed unanswered)."""
        self._release.set()

    def start(self) -> FaultyProxy:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="faulty-proxy"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, method: str, path: str) -> Fault:
        with self._lock:
            mode = self.mode
            self.requests.append((mode, method, path))
            return mode


def _handler_for(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            mode = proxy._record(self.command, self.path)
            if mode is Fault.HANG:
                proxy._release.wait(proxy.hang_limit)
                self.close_connection = True
                return
            if mode is Fault.ERROR:
                self._answer(proxy.error_status, "text/html", b"<html>upstream trouble</html>")
                return
            if mode is Fault.MALFORMED:
                self._answer(200, "application/json", b'{"name": "x", "versions": {"1.0.')
                return
            self._forward(body)

        def _forward(self, body: bytes) -> None:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
            }
            connection = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=30
            )
            try:
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True
            finally:
                connection.close()

        def _answer(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
