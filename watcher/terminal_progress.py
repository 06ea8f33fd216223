"""Progress bars on a terminal's stderr (rich): the CLI's implementation of `ProgressReporter`.

The display starts with the first task and is cleared when the last one ends, so nothing of
it is left between the report's lines. Names shown come from registries and subscription
files: their control characters are escaped and they are never read as rich markup.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import TextIO, cast

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

from watcher.escape import terminal
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
            # Rich's own stand-ins read a partial line as markup; `_AboveBars` never does.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._stream = stream
        self._tasks = 0
        self._restore: list[Callable[[], object]] = []

    @contextlib.contextmanager
    def download(self, name: str, total: int | None) -> Iterator[Advance]:
        """A bar for the download of `name` for the `with` block's duration."""
        with self._task(f"downloading {terminal(name)}", total, download=True) as task:

            def advance(nbytes: int) -> None:
                self._progress.advance(task, nbytes)

            yield advance

    @contextlib.contextmanager
    def steps(self, total: int) -> Iterator[Step]:
        """A bar over `total` steps (`step(done, what)` before each) for the `with` block."""
        with self._task("", total, download=False) as task:

            def step(done: int, what: str) -> None:
                self._progress.update(task, completed=done, description=terminal(what))

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
        self._progress.start()
        # Anything written while the bars are drawn must go above them, or the next redraw
        # overwrites it and the bars are left in the middle of it. Log handlers hold the
        # stderr they were made with, so they are pointed at the stand-in too.
        above = _AboveBars(self._progress.console)
        real_stderr = sys.stderr
        sys.stderr = cast(TextIO, above)
        self._restore.append(lambda: setattr(sys, "stderr", real_stderr))
        for handler in logging.getLogger("watcher").handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
                handler.setStream(cast(TextIO, above))
                self._restore.append(functools.partial(handler.setStream, self._stream))
        # Only a stdout on this same terminal: a pipe's or a file's bytes stay where they go.
        if _same_terminal(sys.stdout, self._stream):
            real_stdout = sys.stdout
            sys.stdout = cast(TextIO, above)
            self._restore.append(lambda: setattr(sys, "stdout", real_stdout))
        self._restore.append(above.finish)

    def _stop(self) -> None:
        while self._restore:
            self._restore.pop()()
        self._progress.stop()


class _AboveBars:
    """A stand-in for stdout/stderr while bars are shown: each whole line is printed above the
    bars exactly as written (no markup, highlighting or wrapping); a partial line waits."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._partial = ""

    def write(self, text: str) -> int:
        lines, newline, self._partial = (self._partial + text).rpartition("\n")
        if newline:
            self._console.out(lines, highlight=False)
        return len(text)

    def flush(self) -> None:
        return None

    def finish(self) -> None:
        """Print a partial line left over (the bars are about to go)."""
        if self._partial:
            self._console.out(self._partial, highlight=False, end="")
            self._partial = ""

    def isatty(self) -> bool:
        return True


def _same_terminal(stdout: TextIO, terminal: TextIO) -> bool:
    try:
        return stdout.isatty() and os.ttyname(stdout.fileno()) == os.ttyname(terminal.fileno())
    except (OSError, ValueError, AttributeError):
        return False
