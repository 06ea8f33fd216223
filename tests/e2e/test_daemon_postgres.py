"""Several real `watcher run` daemons on one PostgreSQL: no double analysis, no double alert.

Two daemons run as subprocesses exactly as in production (`python -m watcher run`), each with
its own data directory (as on two hosts) and the same `WATCHER_DB_URL`: a fresh database on
the throwaway PostgreSQL cluster (`tests/support/postgres.py`). They start together on the
empty database (migrations and the first pin sync race), poll several packages served by
Verdaccio and post to the recording Slack server. One worker thread and a 0.2 s tick each make
them take turns: each claims one package at a time, so while one analyses, the other claims.

Releases are published in rounds (malicious and clean next versions); after each round every
release must have been analysed once across both daemons' logs (`watch._analyse` logs every
analysis, also one whose store write lost a race, so a double analysis would show) and each
alerting release posted once. Rounds repeat (at most three) until both daemons analysed
something: a test in which the second daemon never claimed a release would prove nothing.

Then SIGHUP: a package is added to the subscriptions file and both daemons are told to reload;
the new package is polled and alerts once. An invalid file on reload is logged as one error
and the daemon keeps its subscriptions.

Polls cannot be more frequent than every 30 s (a product rule), so after publishing, the test
makes the packages due in the store, as if their interval had passed.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.e2e.daemon import DaemonProcess
from tests.support import packages
from tests.support.postgres import ENV_URL, INSTALL_HINT, find_bindir
from tests.support.registries import Verdaccio
from tests.support.slack_server import RecordingServer

pytestmark = pytest.mark.e2e

SCOPE = "@watcher-pg"
NAMES = [f"{SCOPE}/{word}" for word in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot")]
ADDED = f"{SCOPE}/golf"
#: Generous for a loaded CI machine; on a quiet one a round takes about two seconds.
WAIT = 60.0
MAX_ROUNDS = 3


def release(base: packages.NpmRelease, name: str, version: str) -> packages.NpmRelease:
    """`base`'s files and manifest under `name` and `version`."""
    return packages.NpmRelease(
        {**base.manifest, "name": name, "version": version}, base.files, base.registry_fields
    )


def publish(registry: Verdaccio, base: packages.NpmRelease, name: str, version: str) -> None:
    item = release(base, name, version)
    registry.publish(item.manifest, item.tarball(), extra=item.registry_fields)


def subscriptions_toml(registry: Verdaccio, names: Sequence[str]) -> str:
    return "".join(
        f'[[package]]\necosystem = "npm"\nname = "{name}"\npinned = "1.0.0"\n'
        f'registry = "{registry.url}/"\nnotify = ["slack:#sec"]\ninterval = "30s"\n\n'
        for name in names
    )


def write_atomically(path: Path, text: str) -> None:
    """As an editor or a config deploy would: the daemon never reads half a file."""
    partial = path.with_suffix(".tmp")
    partial.write_text(text)
    os.replace(partial, path)


class Daemon(DaemonProcess):
    """A daemon on the shared database, named in failure logs; one worker, a 0.2 s tick."""

    def __init__(
        self, label: str, data_dir: Path, subscriptions: Path, db_url: str, slack: RecordingServer
    ) -> None:
        self.label = label
        env = {
            "WATCHER_DB_URL": db_url,
            "SLACK_BOT_TOKEN": "xoxb-test",
            "WATCHER_SLACK_API_URL": slack.url,
            "WATCHER_TICK_SECONDS": "0.2",
            "WATCHER_WORKERS": "1",
        }
        super().__init__(data_dir, subscriptions, env, WAIT)


def logs(daemons: Sequence[Daemon]) -> str:
    return "\n\n".join(f"--- {d.label} ---\n" + "\n".join(d.lines) for d in daemons)


def wait_until(condition: Callable[[], bool], what: str, daemons: Sequence[Daemon]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        for daemon in daemons:
            if daemon.process.poll() is not None:
                pytest.fail(
                    f"{daemon.label} exited ({daemon.process.returncode}) waiting for {what}:\n"
                    f"{logs(daemons)}"
                )
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; daemon logs:\n{logs(daemons)}")
        time.sleep(0.1)


def analysed(name: str, version: str) -> str:
    """The log line `watch._analyse` writes for each analysis of `version` against pin 1.0.0."""
    return f"polled npm/{name}@1.0.0: npm/{name}@{version} "


def posts_for(slack: RecordingServer, name: str, version: str) -> list[dict[str, Any]]:
    """Messages whose fallback text (`CRITICAL: NAME 1.0.0 ... VERSION ...`) names the release."""
    found = []
    for call in slack.calls:
        if call.path.endswith("/chat.postMessage"):
            text = str(call.json.get("text", ""))
            if f": {name} " in text and version in text:
                found.append(call.json)
    return found


def logged_anywhere(
    daemons: Sequence[Daemon], needle: str, after: dict[str, int] | None = None
) -> Callable[[], bool]:
    """A condition: some daemon logged `needle` (after line `after[label]`, if given)."""
    start = after or {}
    return lambda: any(d.count(needle, start.get(d.label, 0)) for d in daemons)


def all_posts(slack: RecordingServer) -> int:
    return sum(c.path.endswith("/chat.postMessage") for c in slack.calls)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database (not a schema: the daemons must see exactly what production sees)."""
    if not os.environ.get(ENV_URL, "").strip() and find_bindir() is None:
        pytest.skip(INSTALL_HINT)
    server: str = request.getfixturevalue("pg_server_url")
    database = f"e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    yield make_url(server).set(database=database).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(server), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def make_due(db_url: str) -> None:
    """Every package due now, as if its interval had passed (the daemons are idle then)."""
    with psycopg.connect(_libpq(db_url), autocommit=True) as conn:
        conn.execute("UPDATE poll_state SET next_poll_at = now() - interval '1 day'")


def analyses_per_release(db_url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(_libpq(db_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, new_version, count(*) FROM analyses GROUP BY name, new_version"
        ).fetchall()
    return {(str(name), str(version)): int(n) for name, version, n in rows}


@pytest.fixture
def slack() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def test_two_daemons_on_one_postgres_analyse_and_alert_once(
    npm_registry: Verdaccio, slack: RecordingServer, pg_database: str, tmp_path: Path
) -> None:
    clean, bad, honest = (
        packages.strutil_2_1_3(),
        packages.strutil_2_1_4(),
        packages.strutil_2_1_5(),
    )
    for name in NAMES:
        publish(npm_registry, clean, name, "1.0.0")
    subscriptions = tmp_path / "subscriptions.toml"
    subscriptions.write_text(subscriptions_toml(npm_registry, NAMES))

    daemons: list[Daemon] = []
    for label in ("daemon-a", "daemon-b"):
        data_dir = tmp_path / label
        data_dir.mkdir()
        daemons.append(Daemon(label, data_dir, subscriptions, pg_database, slack))
    try:
        # Both started together on an empty database: one migration, one pin per package,
        # and one first poll per package between them.
        for name in NAMES:
            needle = f"polled npm/{name}@1.0.0: no new release"
            wait_until(
                logged_anywhere(daemons, needle),
                f"the first poll of {name}",
                daemons,
            )
        for name in NAMES:
            needle = f"polled npm/{name}@1.0.0: no new release"
            assert sum(d.count(needle) for d in daemons) == 1, logs(daemons)

        expected_alerts: list[tuple[str, str]] = []
        released: list[tuple[str, str]] = []
        for round_ in range(1, MAX_ROUNDS + 1):
            version = f"1.0.{round_}"
            # Malicious and honest releases alternate, and swap packages from round to round.
            for index, name in enumerate(NAMES):
                malicious = (index + round_) % 2 == 0
                publish(npm_registry, bad if malicious else honest, name, version)
                released.append((name, version))
                if malicious:
                    expected_alerts.append((name, version))
            make_due(pg_database)
            for name, version in released:
                wait_until(
                    logged_anywhere(daemons, analysed(name, version)),
                    f"the analysis of {name}@{version}",
                    daemons,
                )
            wait_until(
                lambda: all_posts(slack) >= len(expected_alerts), "the Slack alerts", daemons
            )
            time.sleep(2.0)  # ten ticks more: nothing else is analysed or posted

            for name, version in released:
                runs = sum(d.count(analysed(name, version)) for d in daemons)
                assert runs == 1, f"{name}@{version} analysed {runs} times\n{logs(daemons)}"
            assert all_posts(slack) == len(expected_alerts), logs(daemons)
            for name, version in expected_alerts:
                [message] = posts_for(slack, name, version)
                assert message["channel"] == "#sec"
                assert "critical" in str(message).lower()
            workers = [
                d.label for d in daemons if any(d.count(analysed(n, v)) for n, v in released)
            ]
            if len(workers) == len(daemons):
                break
        else:
            pytest.fail(
                f"after {MAX_ROUNDS} rounds only {workers} analysed anything: the test "
                f"cannot show that the daemons share work\n{logs(daemons)}"
            )

        stored = analyses_per_release(pg_database)
        assert stored == dict.fromkeys(released, 1)
        delivered = sum(d.count("delivered to slack:#sec") for d in daemons)
        assert delivered == len(expected_alerts), logs(daemons)

        # SIGHUP: a package joins the file; every daemon reloads; it is polled and alerts once.
        publish(npm_registry, clean, ADDED, "1.0.0")
        publish(npm_registry, bad, ADDED, "1.0.1")
        write_atomically(subscriptions, subscriptions_toml(npm_registry, [*NAMES, ADDED]))
        for daemon in daemons:
            daemon.hangup()
        wait_until(
            lambda: all(d.count("subscriptions reloaded: watching 7 package(s)") for d in daemons),
            "both daemons to reload",
            daemons,
        )
        assert all(d.count(f"added npm/{ADDED};") == 1 for d in daemons), logs(daemons)
        wait_until(
            lambda: sum(d.count(analysed(ADDED, "1.0.1")) for d in daemons) >= 1,
            f"the analysis of {ADDED}@1.0.1",
            daemons,
        )
        wait_until(
            lambda: len(posts_for(slack, ADDED, "1.0.1")) >= 1, f"the {ADDED} alert", daemons
        )
        time.sleep(2.0)
        assert sum(d.count(analysed(ADDED, "1.0.1")) for d in daemons) == 1, logs(daemons)
        assert len(posts_for(slack, ADDED, "1.0.1")) == 1
        assert all_posts(slack) == len(expected_alerts) + 1

        # An edit that breaks the file: one clear error line; the daemon keeps its packages.
        # The other daemon stops first, so that every poll from now on is this one's.
        first, second = daemons
        assert second.terminate() == 0, logs(daemons)
        seen = len(first.lines)
        write_atomically(subscriptions, subscriptions.read_text() + "[[package]]\nname = 3\n")
        first.hangup()
        wait_until(
            lambda: first.count("subscriptions not reloaded", seen) >= 1,
            "the reload error",
            [first],
        )
        [error] = [line for line in first.lines[seen:] if "subscriptions not reloaded" in line]
        assert "keeping the previous 7 package(s)" in error
        assert "subscriptions.toml" in error
        assert first.count("Traceback", seen) == 0
        # Still watching all seven: each is polled again, none is skipped as unknown.
        make_due(pg_database)
        for name in [*NAMES, ADDED]:
            wait_until(
                logged_anywhere([first], f"polled npm/{name}@1.0.0: ", {first.label: seen}),
                f"a poll of {name} after the failed reload",
                [first],
            )
        assert first.count("not in this daemon's subscriptions", seen) == 0, logs(daemons)
        assert first.terminate() == 0, logs(daemons)
        assert all_posts(slack) == len(expected_alerts) + 1
        # Overlapping ticks are by design (one tick polls until nothing is due): not logged.
        assert "maximum number of running instances" not in logs(daemons)
    finally:
        for daemon in daemons:
            daemon.kill9()
