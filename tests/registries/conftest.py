"""A fake registry server on `httpx.MockTransport` and an HttpClient wired to it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from watcher.httpclient import HttpClient, RetryPolicy, make_client

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "registry"

Responder = httpx.Response | Callable[[httpx.Request], httpx.Response]


def asset(path: str) -> bytes:
    """The bytes of a file under tests/assets/registry/ (fails loudly when missing)."""
    return (ASSETS / path).read_bytes()


def json_asset(path: str) -> httpx.Response:
    """A 200 JSON response with the asset's body."""
    return httpx.Response(200, content=asset(path), headers={"content-type": "application/json"})


def json_response(data: object, status: int = 200) -> httpx.Response:
    """A JSON response built from a Python value."""
    return httpx.Response(
        status, content=json.dumps(data).encode(), headers={"content-type": "application/json"}
    )


class FakeServer:
    """Routes by exact URL (userinfo ignored); unknown URLs get 404. Records every request.

    A route holds a queue of responses: each request takes the next one, and the last one
    repeats, so `add(url, Response(503), Response(200))` models a transient outage.
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[Responder]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, url: str, *responses: Responder) -> None:
        """Serve `responses` (in order, the last one repeating) at `url`."""
        assert responses
        self.routes[url] = list(responses)

    def urls(self) -> list[str]:
        """The URLs requested so far, in order, without userinfo."""
        return [_key(r.url) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(_key(request.url))
        if not queue:
            return httpx.Response(404, text="not found")
        responder = queue.pop(0) if len(queue) > 1 else queue[0]
        return responder(request) if callable(responder) else responder


def _key(url: httpx.URL) -> str:
    return str(url.copy_with(username=None, password=None))


@pytest.fixture
def server() -> FakeServer:
    """The fake registry; add routes in the test."""
    return FakeServer()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait HttpClient asked for, instead of really sleeping."""
    return []


@pytest.fixture
def http(server: FakeServer, sleeps: list[float]) -> Iterator[HttpClient]:
    """An HttpClient on the fake server: 3 attempts, no backoff, sleeps recorded."""
    client = make_client(
        transport=httpx.MockTransport(server), retry=RetryPolicy(attempts=3, backoff=0)
    )
    client.sleep = sleeps.append
    yield client
    client.close()
