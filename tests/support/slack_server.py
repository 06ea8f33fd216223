"""A real HTTP server on 127.0.0.1 that stands in for Slack's Web API (or any webhook receiver).

Not a mock: clients talk HTTP to it over a socket, so retries, headers, timeouts and dropped
connections behave as they do against Slack. It records every request and answers from a
script, one reply per request, then with a default reply (Slack's `{"ok": true, ...}`).

A successful reply is answered as Slack would: `chat.postMessage` posts the message into the
server's channel history (with its `metadata`) and answers with a fresh `ts` and the channel
id; `conversations.list` lists the channels it knows; `conversations.history` answers from what
was posted (`oldest`/`latest`/`inclusive`, `limit`/`cursor` paging, metadata only with
`include_all_metadata`). A slow reply (`delay`) posts first and answers late, and
`Reply.lost()` posts and drops the connection: the sender cannot know the message arrived.
The fault modes (429, 5xx, dropped connections, `stop()` for unreachable, then `start()` again
on the same port) apply to every method.

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

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit


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

    @property
    def method_name(self) -> str:
        """The Web API method called (`chat.postMessage`), from the path."""
        return urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def params(self) -> dict[str, Any]:
        """The call's arguments: query string, then a form or JSON body on top."""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query))
        content_type = self.headers.get("content-type", "")
        if "json" in content_type and isinstance(self.json, dict):
            params.update(self.json)
        elif "form" in content_type:
            params.update(parse_qsl(self.body.decode("utf-8", "replace")))
        return params


@dataclass(frozen=True)
class Message:
    """A message the server accepted into a channel's history."""

    channel: str
    ts: str
    text: str
    blocks: Any
    metadata: Mapping[str, Any] | None

    @property
    def event_payload(self) -> Mapping[str, Any]:
        """The metadata's `event_payload` ({} without metadata)."""
        payload = (self.metadata or {}).get("event_payload")
        return payload if isinstance(payload, Mapping) else {}


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
    #: Whether the request is carried out (a message posted) whatever the answer says;
    #: None: when the answer is a success (HTTP 200 with `ok: true`).
    carried_out: bool | None = None

    @classmethod
    def ok(cls, **extra: Any) -> Reply:
        """Success; the server adds what the method answers (a posted message's `ts`...)."""
        return cls(body={"ok": True, **extra})

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

    @classmethod
    def lost(cls) -> Reply:
        """Carry out the request (post the message), then drop the connection unanswered."""
        return cls(drop=True, carried_out=True)

    @classmethod
    def slow(cls, delay: float) -> Reply:
        """Success, answered only after `delay` seconds (the message is posted at once)."""
        return cls(body={"ok": True}, delay=delay)

    @classmethod
    def failed_after_posting(cls, status: int = 502) -> Reply:
        """Carry out the request, then answer a bare 5xx (a gateway losing Slack's answer)."""
        return cls(status=status, body=b"<html>bad gateway</html>", carried_out=True)

    @property
    def ok_answer(self) -> bool:
        """An HTTP 200 with `ok: true`: the server answers with the method's real result."""
        return (
            not self.drop
            and self.status == 200
            and isinstance(self.body, dict)
            and self.body.get("ok") is True
        )

    @property
    def succeeds(self) -> bool:
        """Whether the server carries out the request."""
        return self.ok_answer if self.carried_out is None else self.carried_out


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
        self._port = 0
        #: channel id -> name ("#sec"); ids are derived from names, so they are stable.
        self._channels: dict[str, str] = {}
        self._messages: list[Message] = []
        self._last_ts = 0.0

    # -- lifecycle

    def start(self) -> RecordingServer:
        """Serve in a daemon thread on 127.0.0.1: a free port, or the same one as before.

        After `stop()`, `start()` serves again on the same port with the same history and
        recorded calls, as Slack coming back after an outage.
        """
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._port = int(server.server_address[1])
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
        """The port the server listens on (kept while stopped, for `start()` again)."""
        assert self._port, "server not started"
        return self._port

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

    @property
    def messages(self) -> list[Message]:
        """The messages posted so far (what a channel's history shows), oldest first."""
        with self._lock:
            return list(self._messages)

    def channel_id(self, name: str) -> str:
        """The id this server gives channel `name` (`#sec` → `C...`); ids pass through."""
        name = name.strip()
        if _is_channel_id(name):
            return name
        digest = hashlib.sha256(name.lstrip("#").encode()).hexdigest()[:10].upper()
        return f"C{digest}"

    def reset_calls(self) -> None:
        """Forget recorded calls only (the channel history stays)."""
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget recorded calls, posted messages and any unused script."""
        with self._lock:
            self._calls.clear()
            self._script.clear()
            self._messages.clear()

    def _next(self, call: Call) -> Reply:
        with self._lock:
            self._calls.append(call)
            if call.method_name == "chat.postMessage" and call.params.get("channel"):
                # Channels exist before anything is posted in them, as in a real workspace.
                self._known(str(call.params["channel"]))
            return self._script.popleft() if self._script else self.default

    def _known(self, name: str) -> str:
        channel = self.channel_id(name)
        self._channels.setdefault(channel, name.lstrip("#") if name != channel else channel)
        return channel

    # -- the Web API methods the server implements

    def _carry_out(self, call: Call) -> dict[str, Any]:
        """Do what a successful `call` does; the answer's fields (before the reply's own)."""
        params = call.params
        method = call.method_name
        with self._lock:
            if method == "chat.postMessage":
                return self._post(params)
            if method == "conversations.list":
                return self._list()
            if method == "conversations.history":
                return self._history(params)
        return {}

    def _post(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._known(str(params.get("channel", "")))
        # Slack's ts: seconds.microseconds, unique and increasing within a channel.
        ts = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = ts
        metadata = params.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as JSON text
            metadata = json.loads(metadata)
        message = Message(
            channel=channel,
            ts=f"{ts:.6f}",
            text=str(params.get("text", "")),
            blocks=params.get("blocks"),
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        self._messages.append(message)
        return {"channel": channel, "ts": message.ts, "message": _shown(message, True)}

    def _list(self) -> dict[str, Any]:
        channels = [{"id": cid, "name": name} for cid, name in sorted(self._channels.items())]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}

    def _history(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if channel not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or time.time() + 1)
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        limit = max(1, min(int(params.get("limit") or 100), 999))
        start = int(params.get("cursor") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")

        def within(message: Message) -> bool:
            ts = float(message.ts)
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        # Newest first, as Slack answers.
        found = [m for m in reversed(self._messages) if m.channel == channel and within(m)]
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "messages": [_shown(m, with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }


def _handler_for(owner: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            call = Call(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            reply = owner._next(call)
            body = reply.body
            if call.path.startswith(owner.api_path) and reply.succeeds:
                # Carried out before any delay: a slow answer is slow after Slack acted.
                answer = {"ok": True, **owner._carry_out(call)}
                if reply.ok_answer:
                    if answer["ok"] and isinstance(body, dict):
                        answer.update(body)  # a scripted reply's own fields win
                    body = answer
            if reply.delay:
                time.sleep(reply.delay)
            if reply.drop:
                self.close_connection = True
                return
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            self.send_response(reply.status)
            content_type = (
                "text/html" if isinstance(body, bytes) else "application/json; charset=utf-8"
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


def _is_channel_id(name: str) -> bool:
    return len(name) >= 9 and name[0] in "CGD" and name.isalnum() and name.isupper()


def _shown(message: Message, with_metadata: bool) -> dict[str, Any]:
    """A message as the API shows it; metadata only when asked for (as Slack does)."""
    shown: dict[str, Any] = {"type": "message", "ts": message.ts, "text": message.text}
    if message.blocks is not None:
        shown["blocks"] = message.blocks
    if with_metadata and message.metadata is not None:
        shown["metadata"] = dict(message.metadata)
    return shown
