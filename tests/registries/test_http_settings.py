"""WATCHER_HTTP_TIMEOUT / WATCHER_HTTP_RETRIES: parsed once, bad values refused, and used."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from watcher.cli import _http, build_parser, main
from watcher.config import HttpSettings, http_settings_from_env
from watcher.errors import RegistryUnavailable, UsageError
from watcher.httpclient import CONNECT_TIMEOUT, RetryPolicy, make_client
from watcher.models import Ecosystem
from watcher.registries import open_registry


def test_unset_or_empty_leaves_the_client_defaults() -> None:
    assert http_settings_from_env({}) == HttpSettings(None, None)
    blank = {"WATCHER_HTTP_TIMEOUT": " ", "WATCHER_HTTP_RETRIES": ""}
    assert http_settings_from_env(blank) == HttpSettings(None, None)
    # The defaults the README states: 30 s, 3 retries (4 tries).
    http = make_client()
    assert http.client.timeout.read == 30.0 and http.retry.attempts == 4
    http.close()


def test_values_are_read() -> None:
    env = {"WATCHER_HTTP_TIMEOUT": " 2.5 ", "WATCHER_HTTP_RETRIES": "0"}
    assert http_settings_from_env(env) == HttpSettings(timeout=2.5, retries=0)
    assert http_settings_from_env({"WATCHER_HTTP_RETRIES": "10"}).retries == 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WATCHER_HTTP_TIMEOUT", "0"),
        ("WATCHER_HTTP_TIMEOUT", "-1"),
        ("WATCHER_HTTP_TIMEOUT", "30s"),
        ("WATCHER_HTTP_TIMEOUT", "nan"),
        ("WATCHER_HTTP_TIMEOUT", "121"),
        ("WATCHER_HTTP_RETRIES", "-1"),
        ("WATCHER_HTTP_RETRIES", "1.5"),
        ("WATCHER_HTTP_RETRIES", "three"),
        ("WATCHER_HTTP_RETRIES", "11"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(UsageError, match=variable):
        http_settings_from_env({variable: value})


def test_a_bad_value_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATCHER_HTTP_TIMEOUT", "soon")
    assert main(["rules", "list"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "watcher: error: WATCHER_HTTP_TIMEOUT must be a positive number (got 'soon')\n"


def test_the_client_gets_the_timeout() -> None:
    http = make_client(2.0)
    assert (http.client.timeout.read, http.client.timeout.connect) == (2.0, 2.0)
    http.close()
    http = make_client(60.0)
    assert (http.client.timeout.read, http.client.timeout.connect) == (60.0, CONNECT_TIMEOUT)
    http.close()


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in accepted:
            connection.close()


def test_a_registry_that_never_answers_fails_after_timeout_times_tries(
    silent_server: tuple[str, list[socket.socket]],
) -> None:
    url, accepted = silent_server
    http = make_client(0.3, RetryPolicy(attempts=2, backoff=0))
    try:
        registry = open_registry(Ecosystem.NPM, http, url)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="ReadTimeout"):
            registry.package("demo-mcp-server")
        elapsed = time.monotonic() - started
    finally:
        http.close()
    # Two tries of 0.3 s each; nowhere near the 30 s default.
    assert 0.5 <= elapsed < 10, elapsed
    assert len(accepted) == 2


def test_the_cli_builds_its_client_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_HTTP_TIMEOUT", "2")
    monkeypatch.setenv("WATCHER_HTTP_RETRIES", "0")
    args = build_parser().parse_args(["check"])
    http = _http(args)  # as `main` left it unset: read from the environment
    assert (http.client.timeout.read, http.retry.attempts) == (2.0, 1)
    http.close()
    args.http = HttpSettings(timeout=7.5)
    http = _http(args)
    assert (http.client.timeout.read, http.retry.attempts) == (7.5, 4)
    http.close()
