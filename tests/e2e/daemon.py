"""A real `watcher run` subprocess for the daemon end-to-end tests, its stderr read by line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from tests.e2e.cli import watcher_env


class DaemonProcess:
    """`watcher run --subscriptions PATH` with `env` over the tests' isolated environment."""

    def __init__(
        self, data_dir: Path, subscriptions: Path, env: Mapping[str, str], wait: float
    ) -> None:
        self.wait = wait
        full_env = watcher_env(data_dir)
        full_env.update(env)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--subscriptions", str(subscriptions)],
            cwd=data_dir,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, needle: str, after: int = 0) -> int:
        return sum(needle in line for line in self.lines[after:])

    def hangup(self) -> None:
        self.process.send_signal(signal.SIGHUP)

    def terminate(self) -> int:
        """SIGTERM and the exit code; killed if it does not stop within the wait."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=self.wait)
        finally:
            self.kill9()

    def kill9(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or marked."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=self.wait)
        self._reader.join(timeout=5)
