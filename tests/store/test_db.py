"""Opening and migrating the store, on SQLite and PostgreSQL; errors at the boundary."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

import watcher.store.tables  # noqa: F401  (the models autogenerate compares against)
from tests.support.registries import free_port
from watcher.errors import StoreError
from watcher.store.db import (
    Store,
    alembic_config,
    create_store_engine,
    database_url,
    migrate,
    open_store,
)

TABLES = {
    "alembic_version",
    "pins",
    "approvals",
    "releases",
    "poll_state",
    "analyses",
    "alerts",
    "dependency_trees",
    "tree_entries",
    "dependency_documents",
    "dependency_releases",
    "tree_cycles",
}


def _revision(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_create_the_schema_from_empty_and_are_idempotent(db_url: str) -> None:
    engine = create_store_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) == set()
        migrate(engine)
        assert set(inspect(engine).get_table_names()) == TABLES
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head == "0004"
        migrate(engine)  # second run: nothing to do, nothing fails
        store = Store(engine)
        assert _revision(store) == head
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_migration_head_matches_the_models(store: Store) -> None:
    """Autogenerate finds nothing to do: the hand-written revision is the models' schema."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    # ... and the comparison is not vacuous: a column the models lack is reported.
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE alerts ADD COLUMN stray INTEGER"))
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d[0] for d in diff] == ["remove_column"]


def test_migrations_downgrade_to_empty_and_back(store: Store) -> None:
    from alembic import command

    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store.migrate()
    assert set(inspect(store.engine).get_table_names()) == TABLES


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'w.db'}") as store, store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000


def test_default_url_is_a_sqlite_file_in_the_data_dir_which_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "deep" / "data"
    monkeypatch.setenv("WATCHER_DATA_DIR", str(data))
    monkeypatch.delenv("WATCHER_DB_URL", raising=False)
    assert database_url() == f"sqlite:///{data / 'watcher.db'}"
    with open_store() as store:
        assert store.dialect == "sqlite"
    assert (data / "watcher.db").is_file()


def test_watcher_db_url_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DB_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert database_url() == f"sqlite:///{tmp_path / 'other.db'}"


@pytest.mark.parametrize(
    "url",
    [
        "not a url at all s3cretpw",
        "mysql://admin:s3cretpw@db.invalid/watcher",
        "postgresql+nodriver://admin:s3cretpw@db.invalid/watcher",
    ],
)
def test_a_bad_url_is_one_clear_line_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = info.value.diagnostics()
    assert "\n" not in str(info.value)
    assert "s3cretpw" not in str(info.value)
    assert message.startswith(("invalid database URL", "unsupported database", "cannot open"))


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql", "postgres"])
def test_unreachable_postgres_is_one_clear_line_without_the_password(scheme: str) -> None:
    port = free_port()  # nothing listens there: connection refused at once
    url = f"{scheme}://watcher:s3cretpw@127.0.0.1:{port}/watcher"
    with pytest.raises(StoreError) as info:
        open_store(url)
    text_ = str(info.value)
    assert "\n" not in text_ and "Traceback" not in text_
    assert "s3cretpw" not in text_
    assert text_.startswith(
        f"cannot migrate the store at postgresql+psycopg://watcher:***@127.0.0.1:{port}"
    )
    assert "refused" in text_.lower() or "failed" in text_.lower()


def test_a_password_echoed_by_the_driver_is_still_hidden() -> None:
    from sqlalchemy.engine import make_url

    from watcher.store.db import store_error

    url = make_url("postgresql+psycopg://u:hunter22@db.invalid/w")
    error = store_error("open", RuntimeError("bad dsn 'password=hunter22'\nsecond line"), url)
    assert "hunter22" not in str(error) and "\n" not in str(error)


def test_an_unwritable_sqlite_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="cannot create the folder"):
        open_store(f"sqlite:///{blocker / 'sub' / 'watcher.db'}")


def test_missing_postgres_binaries_fail_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.support import postgres

    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    with pytest.raises(postgres.PostgresStartError, match="apt-get install postgresql"):
        with postgres.start_postgres():
            pass  # pragma: no cover


def test_upgrade_from_0001_keeps_outbox_rows_as_release_alerts(db_url: str) -> None:
    """A store written by the first release upgrades in place: pending alerts survive."""
    from alembic import command

    engine = create_store_engine(db_url)
    try:
        config = alembic_config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO analyses (id, ecosystem, name, old_version, new_version,"
                    " rules_version, score, severity, report_json, created_at)"
                    " VALUES (1, 'npm', 'p', '1.0.0', '1.0.1', 'r', 90, 'critical', '{}',"
                    " CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO alerts (dedup_key, analysis_id, channel, payload_json, status,"
                    " attempts, next_attempt_at, created_at) VALUES ('k', 1, 'console', '{}',"
                    " 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT kind, analysis_id, status, attempt_started_at FROM alerts")
            ).all()
        assert [tuple(r) for r in rows] == [("release", 1, "pending", None)]
        # An operational alert needs no analysis, but a release alert still does.
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alerts (dedup_key, kind, channel, payload_json, status,"
                    " attempts, next_attempt_at, created_at) VALUES ('op', 'operational',"
                    " 'console', '{}', 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alerts (dedup_key, channel, payload_json, status,"
                    " attempts, next_attempt_at, created_at) VALUES ('bad', 'console', '{}',"
                    " 'pending', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()
