"""What stopped a release from being fully analysed (SPEC §4.5: fail closed).

Anything that gives up on part of a release — an archive it refuses, a manifest that does not
parse, a parser's depth or time budget, a rule that raised — records a `Gap` instead of quietly
returning nothing. The pipeline collects the gaps of one analysis and the `analysis.incomplete`
rule turns the new ones into findings, so a release watcher could not fully read is never NONE.

Gaps travel through a context variable rather than through every return value: the parsers
that spend budgets sit several calls below the rules that asked them, behind a cache, and a
gap must reach the report whichever caller hit it first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Gap:
    """One thing watcher could not analyse, and why."""

    #: One line a reviewer reads: "parse of lib/x.js stopped: nesting deeper than 400".
    reason: str
    #: The file inside the artifact, when the gap is about one file.
    path: str | None = None
    #: That file's content hash: the same content incomplete in the pinned release is not new.
    sha256: str | None = None
    #: The artifact (file name) the gap belongs to, when known where it was recorded.
    artifact: str | None = None


_GAPS: ContextVar[list[Gap] | None] = ContextVar("analysis_gaps", default=None)


@contextmanager
def collecting() -> Iterator[list[Gap]]:
    """Collect every gap recorded inside the block (nested blocks each see their own)."""
    found: list[Gap] = []
    token = _GAPS.set(found)
    try:
        yield found
    finally:
        _GAPS.reset(token)


def record(
    reason: str, path: str | None = None, sha256: str | None = None, artifact: str | None = None
) -> None:
    """Record that something could not be analysed; logged when no analysis is collecting."""
    found = _GAPS.get()
    gap = Gap(reason=" ".join(reason.split()), path=path, sha256=sha256, artifact=artifact)
    if found is None:
        logger.debug("analysis gap outside an analysis: %s", gap.reason)
        return
    if gap not in found:
        found.append(gap)
