"""Shared fixtures: a recording HTTP server, and no proxies between the clients and it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.slack_server import RecordingServer

TOKEN = "xoxb-SECRET-TOKEN-123"
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # slack-sdk reads HTTP(S)_PROXY and ignores NO_PROXY: 127.0.0.1 would go via the proxy.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as running:
        yield running
