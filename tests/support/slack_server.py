"""A real HTTP server on 127.0.0.1 that stands in for Slack's Web API (or any webhook receiver).

Not a mock: clients talk HTTP to it over a socket, so retries, headers, timeouts and dropped
connections behave as they do against Slack. It records every request and answers from a
script, one reply per request, then with a default reply (Slack's `{"ok": true, ...}`).

Usage::

    with RecordingServer() as slack:
        slack.script([Reply.rate_limited(1), Reply.status(500), Reply.ok()])
        WebClient(token="xoxb-test", base_url=slack.url).chat_postMessage(channel="#x", text="hi")
        assert [c.path for c in slack.calls] == ["/api/chat.postMessage"] * 3
        assert slack.calls[-1].json["channel"] == "#x"

`slack.url` is the API base URL (ends in `/api/`, as slack-sdk requires); `slack.url_for(path)`
gives other URLs on the same server (a webhook at `/hooks/T000/SECRET`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the server received."""

    method: str
    path: str
    #: Header names lower-cased.
    headers: Mapping[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Reply:
    """What to answer to one request."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds to wait before answering (to provoke client timeouts).
    delay: float = 0.0
    #: Close the connection without answering at all.
    drop: bool = False

    @classmethod
    def ok(cls, **extra: Any) -> Reply:
        """Slack's success answer to chat.postMessage."""
        return cls(body={"ok": True, "channel": "C0123456", "ts": "1700000000.000100", **extra})

    @classmethod
    def error(cls, code: str, status: int = 200) -> Reply:
        """A Slack API error: HTTP 200 with `{"ok": false, "error": code}`."""
        return cls(status=status, body={"ok": False, "error": code})

    @classmethod
    def rate_limited(cls, retry_after: int | str = 1) -> Reply:
        """HTTP 429 with a Retry-After header, as Slack sends it."""
        return cls(
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(retry_after)},
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        """A bare 5xx with an HTML body, as a proxy in front of the API sends it."""
        return cls(status=status, body=b"<html>upstream trouble</html>")

    @classmethod
    def dropped(cls) -> Reply:
        """Read the request, then close the connection without a response."""
        return cls(drop=True)


class RecordingServer:
    """A threaded HTTP server that records requests and answers from a script."""

    def __init__(self, api_path: str = "/api/", default: Reply | None = None) -> None:
        self.api_path = api_path if api_path.endswith("/") else api_path + "/"
        self.default = default or Reply.ok()
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._script: deque[Reply] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> RecordingServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        # A short poll interval makes `stop()` quick (the default 0.5 s adds up over tests).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="slack-server"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The Slack API base URL, e.g. `http://127.0.0.1:PORT/api/`."""
        return self.url_for(self.api_path)

    def url_for(self, path: str) -> str:
        """Any URL on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # -- script and record

    def script(self, replies: Iterable[Reply]) -> None:
        """Answer the next requests with `replies`, in order, then with the default."""
        with self._lock:
            self._script.extend(replies)

    @property
    def calls(self) -> list[Call]:
        """A copy of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._calls)

    def reset(self) -> None:
        """Forget recorded calls and any unused script."""
        with self._lock:
            self._calls.clear()
            self._script.clear()

    def _next(self, call: Call) -> Reply:
        with self._lock:
            self._calls.append(call)
            return self._script.popleft() if self._script else self.default


def _handler_for(owner: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            call = Call(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = owner._next(call)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            data = (
                reply.body
                if isinstance(reply.body, bytes)
                else json.dumps(reply.body).encode("utf-8")
            )
            self.send_response(reply.status)
            content_type = (
                "text/html" if isinstance(reply.body, bytes) else "application/json; charset=utf-8"
            )
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        do_POST = do_GET = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            # Quiet: a test reads `.calls`, not stderr.
            pass

    return Handler
