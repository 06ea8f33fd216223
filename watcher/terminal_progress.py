"""Progress bars on a terminal's stderr (rich): the CLI's implementation of `ProgressReporter`.

The display starts with the first task and is cleared when the last one ends, so nothing of
it is left between the report's lines. Names shown come from registries and subscription
files: their control characters are escaped and they are never read as rich markup.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from watcher.httpclient import escape_controls
from watcher.progress import Advance, Step


class _Amount(ProgressColumn):
    """Bytes and speed for a download, `done/total` for steps."""

    def __init__(self) -> None:
        super().__init__()
        self._size = DownloadColumn()
        self._speed = TransferSpeedColumn()
        self._count = MofNCompleteColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("download"):
            return Text.assemble(self._size.render(task), " ", self._speed.render(task))
        return self._count.render(task)


class TerminalProgress:
    """Shows downloads and steps on `stream` (a terminal) while any is under way."""

    def __init__(self, stream: TextIO) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            _Amount(),
            console=Console(file=stream),
            transient=True,
            # stdout may be a pipe: its bytes must not be moved onto the terminal.
            redirect_stdout=False,
        )
        self._tasks = 0
        self._log_streams: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []

    @contextlib.contextmanager
    def download(self, name: str, total: int | None) -> Iterator[Advance]:
        """A bar for the download of `name` for the `with` block's duration."""
        with self._task(f"downloading {escape_controls(name)}", total, download=True) as task:

            def advance(nbytes: int) -> None:
                self._progress.advance(task, nbytes)

            yield advance

    @contextlib.contextmanager
    def steps(self, total: int) -> Iterator[Step]:
        """A bar over `total` steps (`step(done, what)` before each) for the `with` block."""
        with self._task("", total, download=False) as task:

            def step(done: int, what: str) -> None:
                self._progress.update(task, completed=done, description=escape_controls(what))

            yield step

    @contextlib.contextmanager
    def _task(self, description: str, total: int | None, *, download: bool) -> Iterator[TaskID]:
        if self._tasks == 0:
            self._start()
        self._tasks += 1
        task = self._progress.add_task(description, total=total, download=download)
        try:
            yield task
        finally:
            self._progress.remove_task(task)
            self._tasks -= 1
            if self._tasks == 0:
                self._stop()

    def _start(self) -> None:
        real = sys.stderr
        self._progress.start()
        # Log handlers hold the stderr they were made with; while the bars are drawn, lines
        # must go through rich's stand-in for stderr so they print above the bars, not into them.
        if sys.stderr is real:
            return
        for handler in logging.getLogger("watcher").handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is real:
                handler.setStream(sys.stderr)
                self._log_streams.append((handler, real))

    def _stop(self) -> None:
        for handler, real in self._log_streams:
            handler.setStream(real)
        self._log_streams.clear()
        self._progress.stop()
