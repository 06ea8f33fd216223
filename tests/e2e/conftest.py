"""Fixtures for the end-to-end tests: real Verdaccio and pypiserver, the real CLI.

The registries are session-scoped and the fixture packages are published once per session, so
the whole e2e module costs one server start each (~1-2 s) plus the CLI runs. The first run on
a fresh clone also installs Verdaccio with `npm ci` from the committed lock file (~20 s).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.e2e.cli import CLI_TIMEOUT, RunWatcher, WatcherRun, watcher_env
from tests.support import packages
from tests.support.registries import (
    PypiServer,
    RegistryStartError,
    Verdaccio,
    start_pypiserver,
    start_verdaccio,
)


@pytest.fixture
def run_watcher(tmp_path_factory: pytest.TempPathFactory) -> RunWatcher:
    """Run the real CLI: `run_watcher("diff", NAME, OLD, NEW, ..., cwd=..., data_dir=...)`.

    Each test gets its own fresh `WATCHER_DATA_DIR` unless `data_dir` is passed.
    """
    default_data_dir = tmp_path_factory.mktemp("watcher-data")

    def run(*args: str, cwd: Path | None = None, data_dir: Path | None = None) -> WatcherRun:
        data = data_dir or default_data_dir
        command: Sequence[str] = [sys.executable, "-m", "watcher", *args]
        result = subprocess.run(
            command,
            cwd=cwd or data,
            env=watcher_env(data),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return WatcherRun(tuple(args), result.returncode, result.stdout, result.stderr, data)

    return run


@pytest.fixture(scope="session")
def run_watcher_memo(tmp_path_factory: pytest.TempPathFactory) -> RunWatcher:
    """Like `run_watcher`, but identical argument lists run once per session (shared data dir).

    For tests that only read a report: several assertions on one diff cost one CLI start.
    """
    data_dir = tmp_path_factory.mktemp("watcher-data-shared")
    results: dict[tuple[str, ...], WatcherRun] = {}

    def run(*args: str) -> WatcherRun:
        if args not in results:
            completed = subprocess.run(
                [sys.executable, "-m", "watcher", *args],
                cwd=data_dir,
                env=watcher_env(data_dir),
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            results[args] = WatcherRun(
                args, completed.returncode, completed.stdout, completed.stderr, data_dir
            )
        return results[args]

    return run


@pytest.fixture(scope="session")
def npm_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    """A Verdaccio with every npm fixture release published (see tests/support/packages.py)."""
    workdir = tmp_path_factory.mktemp("verdaccio")
    try:
        with start_verdaccio(workdir) as server:
            token = server.create_user("ci")
            for release in packages.npm_releases():
                server.publish(
                    release.manifest,
                    release.tarball(),
                    token=token,
                    extra=release.registry_fields,
                )
            # tampered 1.0.1: real bytes of one tarball, `dist.integrity` of another. Verdaccio
            # checks `shasum` on publish but keeps `integrity` as sent (verified in
            # test_registries_e2e.py), which is what a tampered mirror or CDN looks like.
            tampered = packages.tampered_1_0_1()
            claimed = packages.tampered_1_0_1_claimed().tarball()
            server.publish(
                tampered.manifest,
                tampered.tarball(),
                token=token,
                dist={"integrity": packages.sri_sha512(claimed)},
            )
            yield server
    except RegistryStartError as error:
        pytest.fail(f"cannot run the npm end-to-end registry: {error}", pytrace=False)


@pytest.fixture(scope="session")
def pypi_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServer]:
    """A pypiserver serving every PyPI fixture release (sdist + wheel each)."""
    workdir = tmp_path_factory.mktemp("pypiserver")
    packages_dir = workdir / "packages"
    packages_dir.mkdir()
    for release in packages.pypi_releases():
        for filename, data in release.distributions():
            (packages_dir / filename).write_bytes(data)
    try:
        with start_pypiserver(packages_dir) as server:
            yield server
    except RegistryStartError as error:
        pytest.fail(f"cannot run the PyPI end-to-end registry: {error}", pytrace=False)
