"""Time and depth budgets for parsing package text (SPEC §4.5: budgets per file and per release).

A parser that meets hostile input must stop, say so (`watcher.gaps.record`) and return, never
raise or run for minutes. Two time budgets apply to every parse:

- per file (`ReleaseBudget.per_file`): tree-sitter's parse is cancelled through its progress
  callback when one file has used it up;
- per release (`ReleaseBudget.per_release`): the parse time of all files of one analysis. Once it
  is spent, further parses are refused (with a gap each) until the analysis ends.

The state of the per-release budget lives in a context variable that a caller opens once per
analysis with `release_budget()`. Nobody opening one is fine: then only the per-file budget
applies (there is no release to charge), so a test or an ad-hoc `facts_for` is never refused
because an earlier, unrelated parse in the process spent time.
"""

from __future__ import annotations

import ast
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

#: Seconds one file may take to parse and query. tree-sitter reads ~1 MB/s on a busy 2-core
#: machine and files above `MAX_PARSE_BYTES` (256 KB) are never parsed, so an honest file takes
#: well under a second; 10 s leaves room for a loaded CI runner.
PER_FILE_SECONDS = 10.0
#: Seconds all parses of one release may take together (issue 9: a release of many slow files
#: must not hold a worker for an hour).
PER_RELEASE_SECONDS = 60.0
#: Expression nesting the fact extractors follow. Python's own tokenizer stops at 200 nested
#: brackets; deeper nesting in honest code is a generated curiosity, and each level costs the
#: recursive walkers (`ast.unparse`, alias resolution) a few interpreter frames of the 1,000 a
#: thread has.
MAX_DEPTH = 200


class TreeMemo:
    """Python trees of texts already parsed in this analysis, by text: an sdist and its wheel,
    and the pinned and new release, hold the same files, and the MCP and code rules each parse
    them. Bounded by the characters of source held (a tree costs some 30 bytes a character);
    only clean parses are kept, so every gap is still recorded at each file that has it."""

    def __init__(self, max_chars: int = 2 * 1024 * 1024) -> None:
        self.max_chars = max_chars
        self.chars = 0
        self._trees: OrderedDict[str, ast.Module] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> ast.Module | None:
        """The tree parsed from this text, if still held (trees are never mutated)."""
        with self._lock:
            tree = self._trees.get(text)
            if tree is not None:
                self._trees.move_to_end(text)
            return tree

    def put(self, text: str, tree: ast.Module) -> None:
        """Hold a clean parse, dropping the least recently used past the bound."""
        if len(text) > self.max_chars // 4:
            return
        with self._lock:
            if text in self._trees:
                return
            self._trees[text] = tree
            self.chars += len(text)
            while self.chars > self.max_chars:
                old, _ = self._trees.popitem(last=False)
                self.chars -= len(old)


@dataclass(slots=True)
class ReleaseBudget:
    """Parse time left for one analysis; shared by every parse made while it is open."""

    per_release: float | None = PER_RELEASE_SECONDS
    per_file: float = PER_FILE_SECONDS
    #: Seconds of parsing charged so far.
    spent: float = 0.0
    trees: TreeMemo = field(default_factory=TreeMemo)

    def exhausted(self) -> bool:
        """Whether the release's parse time is used up (further parses are refused)."""
        return self.per_release is not None and self.spent >= self.per_release

    def file_deadline(self, start: float) -> float:
        """The `time.monotonic()` by which a parse started at `start` must stop."""
        allowed = self.per_file
        if self.per_release is not None:
            allowed = min(allowed, max(0.0, self.per_release - self.spent))
        return start + allowed

    def charge(self, seconds: float) -> None:
        """Add one parse's time to the release's total."""
        self.spent += seconds


_BUDGET: ContextVar[ReleaseBudget | None] = ContextVar("parse_budget", default=None)


@contextmanager
def release_budget(
    per_release: float | None = PER_RELEASE_SECONDS, per_file: float = PER_FILE_SECONDS
) -> Iterator[ReleaseBudget]:
    """Open the parse budget of one analysis: every parse inside the block is charged to it."""
    budget = ReleaseBudget(per_release=per_release, per_file=per_file)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current() -> ReleaseBudget:
    """The open analysis's budget, or a fresh per-file-only one when none is open."""
    budget = _BUDGET.get()
    return budget if budget is not None else ReleaseBudget(per_release=None)


class Clock:
    """One file's parse: its deadline, and its time charged to the release when it ends."""

    def __init__(self, budget: ReleaseBudget | None = None) -> None:
        self.budget = budget if budget is not None else current()
        self.start = time.monotonic()
        self.deadline = self.budget.file_deadline(self.start)

    def expired(self) -> bool:
        """Whether this file's time (or the release's) is up."""
        return time.monotonic() >= self.deadline

    def seconds(self) -> float:
        """The budget this file had, for the gap's reason."""
        return round(self.deadline - self.start, 1)

    def stop(self) -> None:
        """Charge the time spent to the release."""
        self.budget.charge(time.monotonic() - self.start)
