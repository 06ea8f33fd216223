"""Fail closed (SPEC §4.5): what watcher could not analyse is a finding, never a clean verdict.

A refused archive, a manifest that does not parse, a parser that spent its depth or time
budget, a rule that raised: each left part of the release unjudged, and an attacker who knows
which input does that would put the payload exactly there. So each is reported at high.

It is a fact like the others: the same file with the same content, incomplete in the pinned
release as well, is not new (the pinned release was reviewed with the same blind spot).
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.gaps import Gap
from watcher.models import Severity
from watcher.rules.registry import Hit, ReleaseContext, release_rule

RULE_ID = "analysis.incomplete"


@release_rule(
    id=RULE_ID,
    summary="Part of the release could not be analysed (refused archive, unreadable manifest, "
    "spent parse budget, failed rule)",
    severity=Severity.HIGH,
    category="incomplete",
    max_hits=50,
)
def analysis_incomplete(ctx: ReleaseContext) -> Iterator[Hit]:
    """One finding per gap the new release has and the pinned one did not (runs last)."""
    old_files = {
        (path, entry.sha256)
        for diff in ctx.artifacts
        if diff.old is not None
        for path, entry in diff.old.files.items()
    }
    new_files = {
        (path, entry.sha256) for diff in ctx.artifacts for path, entry in diff.new.files.items()
    }
    seen: set[tuple[str | None, str]] = set()
    for gap in _gaps(ctx):
        if gap.sha256 is not None and gap.path is not None:
            key = (gap.path, gap.sha256)
            # About a file of the pinned release only, or one it shipped unchanged: not new.
            if key in old_files or key not in new_files:
                continue
        if (gap.path, gap.reason) in seen:
            continue
        seen.add((gap.path, gap.reason))
        yield Hit(
            f"not fully analysed: {gap.reason}",
            path=gap.path,
            evidence=gap.reason,
            subject=gap.path or gap.artifact,
        )


def _gaps(ctx: ReleaseContext) -> Iterator[Gap]:
    for diff in ctx.artifacts:
        for gap in diff.new.gaps:
            yield gap if gap.artifact else Gap(gap.reason, gap.path, gap.sha256, diff.new.filename)
        yield from diff.new_manifest.gaps
    yield from ctx.gaps
