"""Running the real `watcher` CLI as a subprocess, the way a user or CI does."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.registries import REPO_ROOT

CLI_TIMEOUT = 120.0


@dataclass(frozen=True)
class WatcherRun:
    """The outcome of one `python -m watcher ...` subprocess."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    data_dir: Path

    def json(self) -> dict[str, Any]:
        """The single JSON object on stdout (fails the test with context if it is not one)."""
        try:
            value = json.loads(self.stdout)
        except json.JSONDecodeError as error:
            pytest.fail(f"stdout is not one JSON document ({error}):\n{self.describe()}")
        if not isinstance(value, dict):
            pytest.fail(f"stdout is JSON but not an object:\n{self.describe()}")
        return value

    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self) -> str:
        return (
            f"$ watcher {' '.join(self.args)}\nexit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )


RunWatcher = Callable[..., WatcherRun]


def watcher_env(data_dir: Path) -> dict[str, str]:
    """The environment the CLI runs in: isolated state, no alerting, no proxies for 127.0.0.1."""
    env = dict(os.environ)
    for name in (
        "SLACK_BOT_TOKEN",
        "WATCHER_WEBHOOK_URL",
        "WATCHER_DB_URL",
        "NPM_TOKEN",
        "PYPI_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        env.pop(name, None)
    env["WATCHER_DATA_DIR"] = str(data_dir)
    # The local registries stand in for private ones; no test may ask the public registry.
    env["WATCHER_PUBLIC_REGISTRY_CHECK"] = "off"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env
