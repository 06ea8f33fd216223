"""A reader that stops reading (`watcher rules list | head -1`) is not an error.

Once stdout's pipe is closed, whatever is still written to it is dropped, so the command
finishes its work and exits with its own code (a verdict is not lost because nobody read all
of the report) instead of failing with "Broken pipe".
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO, cast


class _ReaderMayLeave:
    """`stdout` that discards writes once its reader has gone, instead of raising."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                return self._inner.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._inner.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _reader_gone(self) -> None:
        self._gone = True
        # What is still buffered would fail again at the interpreter's flush on exit ("Exception
        # ignored ... BrokenPipeError"); the descriptor now leads nowhere, so that flush succeeds.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._inner.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """For the `with` block, writes to `sys.stdout` after its pipe closed are dropped."""
    original = sys.stdout
    tolerant = _ReaderMayLeave(original)
    sys.stdout = cast(TextIO, tolerant)
    try:
        yield
    finally:
        # A closed pipe is noticed here, where it is forgiven, not at the interpreter's exit.
        tolerant.flush()
        sys.stdout = original
