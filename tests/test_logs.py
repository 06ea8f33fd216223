"""Structured logging and the redaction filter (watcher/logs.py), and the leak test.

The leak test runs the real commands (`watcher check`, `watcher diff`, `watcher history`)
against a real HTTP server on 127.0.0.1 that plays an npm registry for one package and, for
every other request, answers with an error that echoes the request back: method, URL and every
header, `Authorization` included. Slack and the webhook point at the same server. Distinctive
fake secrets are set in the environment; the test then asserts that none of them appears in
anything watcher printed or rendered, and that the server really was sent them (so the test
would fail if the redaction were gone, rather than pass because nothing was exercised).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.packages import NpmRelease, strutil_2_1_3, strutil_2_1_4
from watcher.cli import main
from watcher.logs import (
    REDACTED,
    JsonFormatter,
    RedactionFilter,
    TextFormatter,
    configure_logging,
    current_package,
    package_context,
    redact,
)

CANARY = "LEAKCANARY"
SLACK_TOKEN = f"xoxb-000000000000-111111111111-{CANARY}slack0000000000"
NPM_TOKEN = f"npm_{CANARY}npmtoken0000000000"
PYPI_TOKEN = f"pypi-{CANARY}pypitoken000000000"
BASIC_PASSWORD = f"{CANARY}basicpassword"
WEBHOOK_PATH = f"/hooks/T0000/B0000/{CANARY}webhookpath000"


# --------------------------------------------------------------------------- formatting


def _record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("watcher.test", level, __file__, 1, message, args, None)


def test_json_lines_parse_and_carry_the_package() -> None:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream, logger_name="watcher.test_json")
    log = logging.getLogger("watcher.test_json")
    log.info("outside")
    with package_context("npm", "@scope/server", "1.2.3"):
        log.warning("polled %s", "it")
        with package_context("pypi", "mcp"):
            log.info("inner")
        log.error("back")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["outside", "polled it", "inner", "back"]
    assert "package" not in lines[0]
    assert [line.get("package") for line in lines[1:]] == [
        "npm:@scope/server@1.2.3",
        "pypi:mcp",
        "npm:@scope/server@1.2.3",
    ]
    assert {"ts", "level", "logger", "message"} <= lines[1].keys()
    assert lines[1]["level"] == "WARNING" and lines[1]["logger"] == "watcher.test_json"
    assert lines[1]["ts"].endswith("+00:00")
    assert current_package() is None


def test_json_exception_text_is_one_line_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPM_TOKEN", NPM_TOKEN)
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream, logger_name="watcher.test_exc")
    log = logging.getLogger("watcher.test_exc")
    try:
        raise RuntimeError(f"registry said: Authorization: Bearer {NPM_TOKEN}")
    except RuntimeError:
        log.exception("poll failed")
    (line,) = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert "RuntimeError" in entry["exc"]
    assert CANARY not in line


def test_text_lines_name_the_package() -> None:
    formatter = TextFormatter(timestamps=False)
    with package_context("npm", "x", "2.0.0"):
        assert formatter.format(_record("hello")) == "INFO watcher.test: [npm:x@2.0.0] hello"
    assert formatter.format(_record("hello")) == "INFO watcher.test: hello"


def test_package_context_is_per_thread() -> None:
    seen: list[str | None] = []
    with package_context("npm", "main-thread", "1.0.0"):
        thread = threading.Thread(target=lambda: seen.append(current_package()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_json_formatter_uses_the_record_package_when_given() -> None:
    record = _record("x")
    record.package = "pypi:explicit@1"
    assert json.loads(JsonFormatter().format(record))["package"] == "pypi:explicit@1"


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token {SLACK_TOKEN} rejected", SLACK_TOKEN),
        ("an app token xapp-1-A0000-000000-abcdef0123 here", "xapp-1-A0000-000000-abcdef0123"),
        ("headers: {'Authorization': 'Bearer abc.def-123456'}", "abc.def-123456"),
        ('"authorization": "Basic dXNlcjpwYXNzd29yZA=="', "dXNlcjpwYXNzd29yZA=="),
        ("Authorization: token ghp_0123456789", "ghp_0123456789"),
        ("GET https://ci:hunter22secret@npm.example.invalid/x", "hunter22secret"),
        ("sent with bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "eyJhbGciOiJIUzI1NiJ9.e30.sig"),
    ],
)
def test_credential_shapes_are_redacted_without_configuration(text: str, secret: str) -> None:
    out = redact(text, {})
    assert secret not in out
    assert REDACTED in out


def test_configured_secrets_and_webhook_parts_are_redacted() -> None:
    env = {
        "NPM_TOKEN": NPM_TOKEN,
        "PYPI_TOKEN": PYPI_TOKEN,
        "WATCHER_WEBHOOK_URL": f"https://hooks.example.invalid{WEBHOOK_PATH}?sig=abcdef123",
        "WATCHER_DB_URL": "postgresql+psycopg://watcher:dbpassword99@db/watcher",
    }
    text = (
        f"npm={NPM_TOKEN} pypi={PYPI_TOKEN} url=https://hooks.example.invalid{WEBHOOK_PATH} "
        f"target=POST {WEBHOOK_PATH} tail={WEBHOOK_PATH.rsplit('/', 1)[1]} sig=abcdef123 "
        "db password dbpassword99"
    )
    out = redact(text, env)
    assert CANARY not in out
    assert "abcdef123" not in out and "dbpassword99" not in out
    # What is not secret stays readable.
    assert out.startswith("npm=[redacted] pypi=[redacted] url=https://hooks.example.invalid[redac")


def test_ordinary_text_is_left_alone() -> None:
    text = (
        "polled npm/@scope/x@1.2.3: critical score 95; evidence 'Bcc: a@b.invalid'; "
        "basic auth as https://host/...; see https://registry.npmjs.org/x"
    )
    assert redact(text, {"NPM_TOKEN": "abc"}) == text  # too short to be taken for a secret


def test_filter_rewrites_message_args_and_exception() -> None:
    env = {"SLACK_BOT_TOKEN": "plain-token-without-prefix"}
    try:
        raise ValueError("boom plain-token-without-prefix")
    except ValueError:
        import sys

        record = _record("sending with %s", "plain-token-without-prefix", level=logging.ERROR)
        record.exc_info = sys.exc_info()
    assert RedactionFilter(env).filter(record)
    assert record.getMessage() == "sending with [redacted]"
    assert record.exc_text is not None and "plain-token-without-prefix" not in record.exc_text
    assert "ValueError: boom [redacted]" in record.exc_text


# --------------------------------------------------------------------------- the CLI


def test_cli_json_logs_carry_the_package_of_a_diff(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    echo_registry: _EchoRegistry,
) -> None:
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    code = main(
        [
            "--log-format",
            "json",
            "--log-level",
            "debug",
            "diff",
            "@watcher-e2e/strutil",
            "2.1.3",
            "2.1.4",
            "--registry",
            f"{echo_registry.url}/npm/",
            "--format",
            "json",
            "--fail-on",
            "none",
        ]  # fmt: skip
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["new_version"] == "2.1.4"
    lines = [json.loads(line) for line in captured.err.splitlines() if line.strip()]
    assert lines, "debug logging of a registry diff printed nothing"
    assert {line.get("package") for line in lines} == {"npm:@watcher-e2e/strutil@2.1.4"}
    assert "analysed against 2.1.3: critical" in lines[-1]["message"]


def test_log_settings_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHER_LOG_FORMAT", "yaml")
    assert main(["rules", "list"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "watcher: error: WATCHER_LOG_FORMAT must be one of text, json (got 'yaml')"
    ]
    monkeypatch.setenv("WATCHER_LOG_FORMAT", "json")
    monkeypatch.setenv("WATCHER_LOG_LEVEL", "loud")
    assert main(["rules", "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("watcher: error: WATCHER_LOG_LEVEL:") and "\n" not in err
    monkeypatch.setenv("WATCHER_LOG_LEVEL", "INFO")
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WATCHER_MAX_FILES", "many")
    assert main(["rules", "list"]) == 2
    assert "WATCHER_MAX_FILES" in capsys.readouterr().err


# --------------------------------------------------------------------------- the leak test


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


class _EchoRegistry:
    """An npm registry for `@watcher-e2e/strutil` under /npm/; every other request is an error
    that echoes the request (method, URL, headers) back, as careless servers and proxies do."""

    def __init__(self, releases: list[NpmRelease]) -> None:
        self.releases = {r.version: r for r in releases}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _EchoRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def packument(self) -> dict[str, Any]:
        name = next(iter(self.releases.values())).name
        versions = {
            v: {
                **r.manifest,
                "dist": {
                    "tarball": f"{self.url}/npm/tarballs/{r.filename}",
                    "integrity": _sri(r.tarball()),
                },
            }
            for v, r in self.releases.items()
        }
        times = {v: f"2026-01-0{i + 1}T00:00:00.000Z" for i, v in enumerate(self.releases)}
        latest = list(self.releases)[-1]
        return {"name": name, "dist-tags": {"latest": latest}, "versions": versions, "time": times}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _echo(self) -> str:
                headers = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
                return f"{self.command} {owner.url}{self.path}\n{headers}"

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                echo = self._echo()
                with owner._lock:
                    owner.requests.append(echo)
                path = unquote(self.path)
                if self.command == "GET" and path == "/npm/@watcher-e2e/strutil":
                    body = json.dumps(owner.packument()).encode()
                    return self._send(200, body, "application/json")
                if self.command == "GET" and path.startswith("/npm/tarballs/"):
                    for release in owner.releases.values():
                        if path.endswith("/" + release.filename):
                            return self._send(200, release.tarball(), "application/octet-stream")
                if path.startswith("/api/"):
                    # Slack's Web API answers 200 with ok=false; this one repeats the request.
                    body = json.dumps({"ok": False, "error": "invalid_auth", "echo": echo})
                    return self._send(200, body.encode(), "application/json")
                if path.startswith("/broken-json/"):
                    body = json.dumps({"name": echo, "versions": echo, "error": echo})
                    return self._send(200, body.encode(), "application/json")
                if path.startswith("/broken-html/"):
                    return self._send(200, f"<pre>{echo}</pre>".encode(), "text/html")
                return self._send(400, echo.encode(), "text/plain")

            do_GET = do_POST = do_PUT = _answer  # noqa: N815

        return Handler


@pytest.fixture
def echo_registry() -> Iterator[_EchoRegistry]:
    with _EchoRegistry([strutil_2_1_3(), strutil_2_1_4()]) as server:
        yield server


def _secrets_env(monkeypatch: pytest.MonkeyPatch, server: _EchoRegistry, data: Path) -> str:
    webhook = f"{server.url}{WEBHOOK_PATH}"
    for name, value in {
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "WATCHER_SLACK_API_URL": f"{server.url}/api/",
        "WATCHER_WEBHOOK_URL": webhook,
        "NPM_TOKEN": NPM_TOKEN,
        "PYPI_TOKEN": PYPI_TOKEN,
        "WATCHER_DATA_DIR": str(data),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WATCHER_DB_URL", raising=False)
    return webhook


def _assert_clean(text: str, webhook: str, where: str) -> None:
    for secret in (CANARY, webhook, WEBHOOK_PATH, SLACK_TOKEN, NPM_TOKEN, BASIC_PASSWORD):
        assert secret not in text, f"{secret!r} leaked into {where}:\n{text}"


def test_no_secret_reaches_logs_or_reports(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    echo_registry: _EchoRegistry,
) -> None:
    server = echo_registry
    webhook = _secrets_env(monkeypatch, server, tmp_path / "data")
    subs = tmp_path / "subs.toml"
    subs.write_text(
        '[defaults]\ninterval = "15m"\nnotify = ["slack:#mcp-alerts", "webhook"]\n'
        'fail_on = "high"\n\n'
        f'[[package]]\necosystem = "npm"\nname = "@watcher-e2e/strutil"\npinned = "2.1.3"\n'
        f'registry = "{server.url}/npm/"\n\n'
        f'[[package]]\necosystem = "npm"\nname = "broken-json"\npinned = "1.0.0"\n'
        f'registry = "{server.url}/broken-json/"\n\n'
        f'[[package]]\necosystem = "npm"\nname = "broken-html"\npinned = "1.0.0"\n'
        f'registry = "{server.url}/broken-html/"\n\n'
        f'[[package]]\necosystem = "npm"\nname = "broken-status"\npinned = "1.0.0"\n'
        f'registry = "{server.url}/broken-status/"\n'
    )
    outputs: list[tuple[str, str]] = []

    for log_format in ("json", "text"):
        code = main(
            [
                "--log-format",
                log_format,
                "--log-level",
                "debug",
                "check",
                "--subscriptions",
                str(subs),
            ]  # fmt: skip
        )
        captured = capsys.readouterr()
        outputs += [(f"check {log_format} stdout", captured.out)]
        outputs += [(f"check {log_format} stderr", captured.err)]
        # The malicious release reached fail_on (and the broken registries failed): exit 1.
        assert code == 1, captured.err
    json_err = outputs[1][1]
    assert "not delivered" in json_err, "no alert delivery failed: the test exercised nothing"
    assert "broken-json" in json_err and "broken-status" in json_err
    for line in json_err.splitlines():
        if line.startswith("{"):
            json.loads(line)

    registry = f"http://ci:{BASIC_PASSWORD}@{server.url.removeprefix('http://')}"
    for fmt in ("json", "text", "markdown", "sarif", "html"):
        argv = ["-vv", "diff", "@watcher-e2e/strutil", "2.1.3", "2.1.4"]
        argv += ["--registry", f"{registry}/npm/", "--format", fmt, "--fail-on", "none"]
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 0, captured.err
        outputs += [(f"diff --format {fmt}", captured.out), (f"diff {fmt} stderr", captured.err)]
    assert '"severity": "critical"' in outputs[-10][1]

    for broken in ("broken-json", "broken-html", "broken-status"):
        code = main(
            [
                "--log-format",
                "json",
                "-vv",
                "diff",
                "@watcher-e2e/strutil",
                "2.1.3",
                "2.1.4",
                "--registry",
                f"{registry}/{broken}/",
            ]  # fmt: skip
        )
        captured = capsys.readouterr()
        assert code == 2
        outputs += [(f"failing diff via {broken}", captured.out + captured.err)]

    code = main(["history", "@watcher-e2e/strutil", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0
    outputs += [("history", captured.out + captured.err)]

    for where, text in outputs:
        _assert_clean(text, webhook, where)

    # The secrets did travel, and came back in the server's answers: had watcher printed what
    # it was told, the assertions above would have caught it.
    sent = "\n".join(server.requests)
    assert f"Bearer {NPM_TOKEN}" in sent
    assert f"Bearer {SLACK_TOKEN}" in sent
    assert f"POST {webhook}" in sent
    assert "Authorization: Basic " in sent
