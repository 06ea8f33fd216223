"""Store fixtures: store tests run on SQLite (a temp file) and on a real PostgreSQL.

The fixtures are registered for the whole suite by `tests/conftest.py` (the store's own tests
and the watch cycle's share one PostgreSQL cluster per session); the helpers below
(`make_report`, `make_subscription`, `count`) are imported where needed.

The PostgreSQL cluster starts once per session (`tests/support/postgres.py`, ~1 s); each test
gets its own schema in it (via the `search_path` connection option), so tests start from an
empty database without paying for a new cluster or database each time. Missing PostgreSQL
binaries fail the PostgreSQL half loudly with the install command: a silently skipped half
would hide exactly the multi-daemon guarantees these tests exist for.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.support.postgres import PostgresStartError, postgres_url
from watcher.models import (
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    Severity,
)
from watcher.store.db import Store, open_store
from watcher.subscriptions import Subscription

BACKENDS = ["sqlite", "postgresql"]
CHANNELS = ["slack:#mcp-supply-chain", "webhook"]
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The session's PostgreSQL server (started here unless WATCHER_TEST_PG_URL is set)."""
    try:
        with postgres_url() as url:
            yield url
    except PostgresStartError as e:
        pytest.fail(str(e), pytrace=False)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as psycopg/libpq spells it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'watcher.db'}"
        return
    base: str = request.getfixturevalue("pg_server_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(base), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(_libpq(base), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def open_stores(db_url: str) -> Iterator[Callable[[], Store]]:
    """Open more stores (engines) on the same database, as other daemons would; all closed."""
    opened: list[Store] = []

    def open_one() -> Store:
        store = open_store(db_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_stores: Callable[[], Store]) -> Store:
    """A migrated, empty store on the backend under test."""
    return open_stores()


def make_report(
    package: str = "demo-mcp-server",
    old: str | None = "1.0.0",
    new: str = "1.0.1",
    *,
    ecosystem: Ecosystem = Ecosystem.NPM,
    severity: Severity = Severity.HIGH,
    score: int = 70,
) -> Report:
    """A small report with one finding, enough to store and read back."""
    finding = Finding(
        rule="npm.install-script.added",
        severity=severity,
        message="`postinstall` is now `node x.js`",
        category="install-hook",
        path="package.json",
        line=5,
        evidence='"postinstall": "node x.js"',
    )
    return Report(
        ecosystem=ecosystem,
        package=package,
        old_version=old,
        new_version=new,
        score=score,
        severity=severity,
        findings=(finding,),
        files=FileCounts(added=1, removed=0, changed=1),
        metadata=MetadataSummary(
            publisher_changed=None, provenance=Provenance.UNKNOWN, version_jump=False
        ),
    )


def make_subscription(
    name: str = "demo-mcp-server", pinned: str = "1.0.0", ecosystem: Ecosystem = Ecosystem.NPM
) -> Subscription:
    """A subscription as `load_subscriptions` would return it."""
    return Subscription(
        ecosystem=ecosystem,
        name=name,
        pinned=pinned,
        interval_seconds=900,
        notify=("console",),
        fail_on=Severity.HIGH,
        registry=None,
        allow=(),
        source="subscriptions/mcp.toml:1",
    )


def count(store: Store, table: str) -> int:
    """Rows in `table`, read outside the repo (what is really there)."""
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
