"""Alembic environment for the store.

`watcher.store.db.migrate()` runs this with an open connection in
`config.attributes["connection"]`, so no `alembic.ini` is needed at runtime.

A new revision after changing `tables.py` (then edit it to plain SQLAlchemy types, as 0001)::

    from alembic import command
    from watcher.store.db import alembic_config, open_store
    with open_store("sqlite:////tmp/rev.db") as store, store.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.revision(config, "what changed", autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import watcher.store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: "batch" mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate over the caller's connection, or one opened from `-x url=...` (alembic CLI)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database: pass -x url=... or set sqlalchemy.url")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
