"""Fixtures shared by several test packages.

The store fixtures (`db_url`: one empty database per test, on SQLite and on a real PostgreSQL;
`store`, `open_stores`, the session's `pg_server_url`) live in `tests/support/stores.py` and are
registered here, once, so every package uses the same PostgreSQL cluster.
"""

from collections.abc import Iterator

import pytest

from tests.support.stores import db_url, open_stores, pg_server_url, store

__all__ = ["db_url", "open_stores", "pg_server_url", "store"]


@pytest.fixture(autouse=True)
def _no_public_registry_lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local registries stand in for private ones in tests: never ask the public registry."""
    monkeypatch.setenv("WATCHER_PUBLIC_REGISTRY_CHECK", "off")
    yield
