"""How long-running work reports progress, without knowing who (if anyone) shows it.

The core calls `reporter()` and tells it what it is doing; the CLI installs a terminal
implementation with `reporting(...)` when stderr is a terminal. Everywhere else (tests,
daemons, pipes) the default reporter does nothing, so output stays exactly as it was.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

#: Called with the number of bytes just received.
Advance = Callable[[int], None]
#: Called before each step with how many steps are done and what the next one is.
Step = Callable[[int, str], None]


class ProgressReporter(Protocol):
    """What the core tells a progress display."""

    def download(self, name: str, total: int | None) -> AbstractContextManager[Advance]:
        """A download of `name` (`total` bytes when known) for the `with` block's duration."""

    def steps(self, total: int) -> AbstractContextManager[Step]:
        """Work in `total` steps (`step(done, what)` before each) for the `with` block."""


class SilentReporter:
    """The default: reports nothing."""

    @contextlib.contextmanager
    def download(self, name: str, total: int | None) -> Iterator[Advance]:
        yield _ignore

    @contextlib.contextmanager
    def steps(self, total: int) -> Iterator[Step]:
        yield _ignore_step


def _ignore(_nbytes: int) -> None:
    return None


def _ignore_step(_done: int, _what: str) -> None:
    return None


_SILENT = SilentReporter()
_REPORTER: contextvars.ContextVar[ProgressReporter | None] = contextvars.ContextVar(
    "watcher_progress", default=None
)


def reporter() -> ProgressReporter:
    """The reporter of the current context (a silent one unless a front end installed one)."""
    return _REPORTER.get() or _SILENT


@contextlib.contextmanager
def reporting(progress: ProgressReporter) -> Iterator[ProgressReporter]:
    """Report to `progress` in this context (not in worker threads) for the `with` block."""
    token = _REPORTER.set(progress)
    try:
        yield progress
    finally:
        _REPORTER.reset(token)
