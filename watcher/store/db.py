"""Opening the store: engine, connection settings, migrations, sessions, error translation.

The store is a SQLite file in the data directory by default (zero set-up, one daemon) or a
PostgreSQL database named by `WATCHER_DB_URL` (teams, several daemons). Everything the rest of
watcher needs goes through `open_store()` and the functions of `watcher.store.repo`.

SQLite transactions: the driver's own implicit transactions are switched off and watcher emits
`BEGIN` itself, `BEGIN IMMEDIATE` for writes. A deferred transaction that reads and then writes
can fail at once with "database is locked" when another connection wrote in between (SQLite
cannot upgrade its read snapshot, and `busy_timeout` does not apply), so every writing
transaction takes the write lock up front and waits its turn instead. See
https://www.sqlite.org/lang_transaction.html and the SQLAlchemy pysqlite notes on
"Serializable isolation / Savepoints / Transactional DDL".
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Session

from watcher.config import data_dir
from watcher.errors import StoreError

__all__ = [
    "MIGRATIONS_DIR",
    "WRITE_OPTION",
    "Store",
    "alembic_config",
    "create_store_engine",
    "database_url",
    "migrate",
    "open_store",
    "redacted",
    "store_error",
]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Execution option that makes a SQLite transaction start with `BEGIN IMMEDIATE`.
WRITE_OPTION = "watcher_write"
#: How long a SQLite writer waits for another one before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 15_000
#: libpq's connect timeout (seconds) unless the URL sets one: an unreachable host (packets
#: dropped, not refused) must give an error, not hang the daemon's start.
PG_CONNECT_TIMEOUT = 10
#: Key of the PostgreSQL advisory lock held while migrating: several daemons starting together
#: must not run the same `CREATE TABLE` at once. (Any constant; this one spells "watcher".)
PG_MIGRATION_LOCK = 0x77617463686572

_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def database_url() -> str:
    """`WATCHER_DB_URL`, or a SQLite file `watcher.db` in the data directory."""
    configured = os.environ.get("WATCHER_DB_URL", "").strip()
    if configured:
        return configured
    return f"sqlite:///{data_dir() / 'watcher.db'}"


def redacted(url: URL) -> str:
    """The URL as safe to show: the password replaced by `***`."""
    return url.render_as_string(hide_password=True)


def store_error(action: str, error: BaseException, url: URL | None) -> StoreError:
    """One safe line for a database failure: what we tried, where, and the driver's reason.

    The SQL text and bound parameters are left out (they can hold report data), as is the
    password, even when a driver quotes the connection string back in its message.
    """
    if isinstance(error, DBAPIError) and error.orig is not None:
        detail = str(error.orig)
    else:
        detail = _BACKGROUND.sub("", str(error).split("\n[SQL:", 1)[0])
    where = f" at {redacted(url)}" if url is not None else ""
    message = f"cannot {action} the store{where}: {detail or type(error).__name__}"
    if url is not None and url.password:
        message = message.replace(str(url.password), "***")
    message = " ".join(message.split())
    return StoreError(message if len(message) <= 500 else message[:497] + "...")


def _parse(raw: str) -> URL:
    """Parse a database URL; `postgres://` and `postgresql://` mean psycopg 3 here."""
    try:
        url = make_url(raw)
    except ArgumentError as e:
        # The raw text is not shown: it cannot be parsed, so its password cannot be hidden.
        raise StoreError(
            "invalid database URL in WATCHER_DB_URL: expected e.g. sqlite:///path/watcher.db "
            "or postgresql+psycopg://user@host/dbname"
        ) from e
    # psycopg 3 is the driver we ship; SQLAlchemy's default for a bare `postgresql://` is
    # psycopg2, which is not installed. `postgres://` is the Heroku-style spelling.
    if url.drivername in {"postgres", "postgresql"}:
        url = url.set(drivername="postgresql+psycopg")
    return url


def create_store_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default: `database_url()`), configured for watcher's use.

    SQLite: the file's folder is created; WAL (readers never block the writer), a busy timeout,
    foreign keys on, and explicit `BEGIN`/`BEGIN IMMEDIATE` (see the module docstring).
    PostgreSQL: psycopg 3, a connect timeout, and pre-ping (a daemon outlives server restarts).
    """
    parsed = _parse(url or database_url())
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_engine(parsed)
        elif backend == "postgresql":
            connect_args: dict[str, Any] = {}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT
            engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        else:
            raise StoreError(
                f"unsupported database {backend!r} in {redacted(parsed)}: "
                "watcher supports sqlite:/// and postgresql+psycopg://"
            )
    except (NoSuchModuleError, ImportError, ArgumentError) as e:
        # An unknown driver name (`postgresql+nope`), or a driver that is not installed.
        raise store_error("open", e, parsed) from e
    return engine


def _sqlite_engine(url: URL) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"cannot create the folder of the store {redacted(url)}: {e.strerror or e}"
            ) from e
    # check_same_thread: the pool hands a connection to one thread at a time, and the
    # scheduler's worker threads share the engine.
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event below emits BEGIN itself,
        # which pysqlite's implicit transactions would otherwise pre-empt or commit early.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            # FULL, not NORMAL: in WAL mode NORMAL skips the fsync at each commit, which is
            # safe against a crash of the process but can lose the last commits on a power
            # loss or kernel panic, and a commit can be the outbox row of an alert (SPEC §5:
            # never lose an alert). A `watcher check` over 1,000 packages pays about 1,000
            # fsyncs for it (one per poll's result); batching those commits would break
            # "each poll's result is committed when the poll ends", which the daemon's
            # leases and crash recovery rely on.
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def alembic_config() -> Config:
    """The alembic configuration, built in code: no `alembic.ini` is needed at runtime."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there).

    Runs in one transaction holding the write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
    advisory lock), so two daemons starting at once migrate once.
    """
    config = alembic_config()
    try:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
    except SQLAlchemyError as e:
        raise store_error("migrate", e, engine.url) from e
    except CommandError as e:
        # Typically a database migrated by a newer watcher ("Can't locate revision ...").
        raise StoreError(
            f"cannot migrate the store at {redacted(engine.url)}: {' '.join(str(e).split())} "
            "(was it created by a newer watcher?)"
        ) from e


class Store:
    """An open store: the engine, and sessions for `watcher.store.repo` functions.

    Use as a context manager, or call `close()`. Sessions do not expire objects on commit:
    repo functions convert rows to dataclasses inside their transaction anyway.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        """The database URL without its password (for logs and messages)."""
        return redacted(self.engine.url)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session; each `repo` function runs (and ends) its own transaction in it."""
        return Session(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """See `migrate()`."""
        migrate(self.engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(url: str | None = None, *, run_migrations: bool = True) -> Store:
    """Open the store at `url` (default `database_url()`), migrated to the newest schema.

    Raises StoreError (one line, no password) for a bad URL, an unreachable server or a
    failed migration.
    """
    engine = create_store_engine(url)
    store = Store(engine)
    if run_migrations:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    logger.debug("store open at %s", store.url)
    return store
