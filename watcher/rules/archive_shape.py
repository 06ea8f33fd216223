"""Rules about what the artifact contains rather than what its code says."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.models import Severity
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule


@artifact_rule(
    id="archive.link",
    summary="The archive contains a symlink or hardlink it did not have before",
    severity=Severity.MEDIUM,
    category="link",
)
def archive_link(ctx: ArtifactContext) -> Iterator[Hit]:
    """Links are never created by watcher, but an installer would create them: report them."""
    before = {(s.path, s.target) for s in ctx.diff.old.specials} if ctx.diff.old else set()
    for special in ctx.diff.new.specials:
        if (special.path, special.target) not in before:
            yield Hit(
                f"{special.kind.value} {special.path} → {special.target}",
                path=special.path,
                evidence=f"{special.path} -> {special.target}",
            )
