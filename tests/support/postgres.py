"""A real, throwaway PostgreSQL cluster for tests (TESTING.md recipe), ~1 s to start.

`start_postgres()` runs `initdb` and `pg_ctl` from the Debian package
(`/usr/lib/postgresql/<major>/bin`, or `initdb` on PATH) in a fresh temporary directory,
listening on 127.0.0.1 on a free port with its socket in that directory and `trust` auth,
creates a database, and yields its `postgresql+psycopg://` URL. The cluster is stopped and its
directory removed on exit, also when the caller fails. PostgreSQL refuses to run as root, so
when the tests run as root the server commands run as the `postgres` OS user via `su`.

`WATCHER_TEST_PG_URL` names an existing server instead (no cluster is started).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.registries import free_port

ENV_URL = "WATCHER_TEST_PG_URL"
DATABASE = "watcher"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with "
    "`apt-get install postgresql` (Debian/Ubuntu), or set WATCHER_TEST_PG_URL to "
    "a postgresql+psycopg:// URL of a server the tests may use"
)
#: Test clusters trade durability for speed: they are deleted at the end anyway.
_FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


class PostgresStartError(RuntimeError):
    """The cluster could not be created or started; the message says why (with the log)."""


def find_bindir() -> Path | None:
    """The directory holding `initdb` and `pg_ctl`, newest Debian major first, else PATH."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if debian:
        return debian[0].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _run_as_server_user(argv: list[str], *, timeout: float = 60) -> None:
    """Run a server command; as `postgres` via `su` when we are root (initdb refuses root)."""
    command = argv
    if os.geteuid() == 0:
        command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise PostgresStartError(
            f"{Path(argv[0]).name} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )


@contextmanager
def start_postgres() -> Iterator[str]:
    """A fresh cluster with an empty database `watcher`; yields its SQLAlchemy URL.

    Raises PostgresStartError with INSTALL_HINT when the binaries are missing.
    """
    bindir = find_bindir()
    if bindir is None:
        raise PostgresStartError(INSTALL_HINT)
    # Under the system temp dir, not pytest's tmp_path: that one is mode 0700 and owned by
    # root, so the `postgres` user could not reach its data directory or socket.
    root = Path(tempfile.mkdtemp(prefix="watcher-pg-"))
    started = False
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        data = root / "data"
        _run_as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} {_FAST}"
        _run_as_server_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ]
        )
        started = True
        _create_database(port)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"
    except PostgresStartError as e:
        log = root / "server.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise PostgresStartError(f"{e}\n{tail}".strip()) from e
    finally:
        if started:
            try:
                _run_as_server_user(
                    [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
                )
            except (PostgresStartError, subprocess.TimeoutExpired):
                pass  # removing the directory below is what matters for the next run
        shutil.rmtree(root, ignore_errors=True)


def _create_database(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
            ) as conn:
                conn.execute(f"CREATE DATABASE {DATABASE}")
                return
        except psycopg.OperationalError:
            # `pg_ctl -w` waits for readiness, but a freshly started server can still refuse
            # the first connection for a moment on a loaded machine.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def postgres_url() -> Iterator[str]:
    """`WATCHER_TEST_PG_URL` if set, else a throwaway cluster's URL."""
    configured = os.environ.get(ENV_URL, "").strip()
    if configured:
        yield configured
        return
    with start_postgres() as url:
        yield url
