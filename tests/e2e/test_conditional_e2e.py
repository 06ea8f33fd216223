"""Conditional polling and the operational alert against real servers on 127.0.0.1.

The watch cycle runs in-process (`check_once`, the code path of `watcher check`) on a SQLite
store, with the production registry clients and HTTP client; an httpx event hook records what
went over the wire. What the servers do, found here and pinned down by these tests:

- Verdaccio sends a strong ETag on packuments (no Last-Modified) and answers a matching
  `If-None-Match` with 304, and a publish changes the ETag;
- pypiserver sends neither ETag nor Last-Modified on its Simple pages (and has no JSON API),
  so every poll there is an ordinary GET, and no validators are stored.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import packages
from tests.support.registries import PypiServer, Verdaccio, free_port
from watcher.httpclient import HttpClient, RetryPolicy, make_client
from watcher.models import Ecosystem, Severity
from watcher.notify.console import ConsoleNotifier
from watcher.store import repo
from watcher.store.db import Store, open_store
from watcher.subscriptions import Subscription
from watcher.watch import RETRY_BUDGET, Outcome, check_once, registry_sources

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@dataclass
class Wire:
    """Every registry exchange: (path, If-None-Match sent, status)."""

    exchanges: list[tuple[str, str | None, int]] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        request = response.request
        self.exchanges.append(
            (request.url.path, request.headers.get("if-none-match"), response.status_code)
        )

    def take(self) -> list[tuple[str, str | None, int]]:
        taken, self.exchanges = self.exchanges, []
        return taken


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def http(wire: Wire) -> Iterator[HttpClient]:
    client = make_client(timeout=10.0, retry=RetryPolicy(attempts=1))
    client.client.event_hooks["response"] = [wire.hook]
    yield client
    client.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'watcher.db'}")
    yield store
    store.close()


def _sub(ecosystem: Ecosystem, name: str, pinned: str, registry: str) -> Subscription:
    return Subscription(
        ecosystem=ecosystem,
        name=name,
        pinned=pinned,
        interval_seconds=900,
        notify=("console",),
        fail_on=Severity.NONE,
        registry=registry,
        allow=(),
        source="e2e.toml:1",
    )


def _cycle(
    store: Store, sub: Subscription, http: HttpClient, now: datetime, out: io.StringIO | None = None
) -> list[Outcome]:
    console = ConsoleNotifier(out or io.StringIO())
    return check_once(
        store, [sub], registry_sources(http, None), lambda _c: console, now, "e2e-owner"
    )


def test_verdaccio_packument_is_polled_conditionally(
    npm_registry: Verdaccio, sqlite_store: Store, http: HttpClient, wire: Wire
) -> None:
    name = f"@watcher-e2e/cond-{uuid.uuid4().hex[:8]}"
    first, second = packages.clean_1_0_0(), packages.clean_1_0_1()
    npm_registry.publish({**first.manifest, "name": name}, first.tarball())
    sub = _sub(Ecosystem.NPM, name, "1.0.0", npm_registry.url)

    assert _cycle(sqlite_store, sub, http, T0) == []
    # The poll, then the dependency tree's first resolution (issue 13): the packument for what
    # the pin declares, the tarball for an npm-shrinkwrap.json. Later cycles poll only the
    # tree's floating dependencies, and this package has none.
    [(got, sent, status), *tree] = wire.take()
    assert (got, sent, status) == (f"/{name}", None, 200)
    assert [(p, s, c) for p, s, c in tree if not p.endswith(".tgz")] == [(f"/{name}", None, 200)]
    assert len(tree) == 2
    state = repo.poll_state(sqlite_store.session(), Ecosystem.NPM, name)
    assert state is not None and state.etag and state.last_modified is None
    etag = state.etag

    assert _cycle(sqlite_store, sub, http, T0 + timedelta(minutes=15)) == []
    assert [(s, c) for _, s, c in wire.take()] == [(etag, 304)]

    npm_registry.publish({**second.manifest, "name": name}, second.tarball())
    [outcome] = _cycle(sqlite_store, sub, http, T0 + timedelta(minutes=30))
    assert outcome.version == "1.0.1" and outcome.report is not None and not outcome.error
    exchanges = wire.take()
    assert exchanges[0][1:] == (etag, 200)  # the packument changed: read in full
    assert any(p.endswith(".tgz") and c == 200 for p, _, c in exchanges)

    assert _cycle(sqlite_store, sub, http, T0 + timedelta(minutes=45)) == []
    [(_, sent, status)] = wire.take()
    assert sent is not None and sent != etag and status == 304


def test_pypiserver_sends_no_validators_so_polls_stay_unconditional(
    pypi_registry: PypiServer, sqlite_store: Store, http: HttpClient, wire: Wire
) -> None:
    sub = _sub(Ecosystem.PYPI, packages.PYPI_NAME, "1.0.2", pypi_registry.url)
    for minutes in (0, 15):
        assert _cycle(sqlite_store, sub, http, T0 + timedelta(minutes=minutes)) == []
        exchanges = wire.take()
        if minutes == 0:
            # The dependency tree's first resolution (issue 13): the project again, then the
            # pin's requirements: an index without a JSON API does not give them, so they are
            # read from the release's wheel.
            *exchanges, (version_json, _, missing), (artifact, _, fetched) = exchanges
            assert (version_json.endswith("/1.0.2/json"), missing) == (True, 404)
            assert (artifact.endswith(".whl"), fetched) == (True, 200)
            assert len(exchanges) == 4 and exchanges[:2] == exchanges[2:]
            exchanges = exchanges[:2]
        assert [(p.rstrip("/").rsplit("/", 1)[-1], s) for p, s, _ in exchanges] == [
            ("json", None),
            (packages.PYPI_NAME, None),
        ]
        assert [c for _, _, c in exchanges] == [404, 200]
    state = repo.poll_state(sqlite_store.session(), Ecosystem.PYPI, packages.PYPI_NAME)
    assert state is not None and (state.etag, state.last_modified, state.tries) == (None, None, 0)


def test_unreachable_registry_alerts_once_after_the_retry_budget(
    sqlite_store: Store, http: HttpClient
) -> None:
    # Nothing listens on this port: every poll is refused, as in a registry outage.
    dead = f"http://127.0.0.1:{free_port()}/"
    sub = _sub(Ecosystem.NPM, "@watcher-e2e/gone", "1.0.0", dead)
    out = io.StringIO()
    for attempt in range(RETRY_BUDGET + 2):
        [outcome] = _cycle(sqlite_store, sub, http, T0 + timedelta(hours=attempt), out)
        assert outcome.error and "unavailable" in outcome.error
    banners = [line for line in out.getvalue().splitlines() if line.startswith("===")]
    assert len(banners) == 1
    assert "OPERATIONAL alert for console: unreachable npm/@watcher-e2e/gone" in banners[0]
    assert f"watcher cannot poll registry {dead} for package npm/@watcher-e2e/gone" in (
        out.getvalue()
    )
