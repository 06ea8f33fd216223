"""Rules about what the artifact contains rather than what its code says."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.models import Severity, SpecialKind
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule

LINK_KINDS = frozenset(
    {SpecialKind.SYMLINK, SpecialKind.HARDLINK, SpecialKind.DEVICE, SpecialKind.FIFO}
)

#: How the installer's view differs from a naive read of the archive, and how much it matters.
#: Two entries for one path, or a file only one platform installs, show a scanner one file and
#: users another; bytes after the end marker and skipped entries are only what `tar -i` or a
#: careless unpacker would see.
INSTALLER_VIEW = {
    SpecialKind.DUPLICATE: (
        Severity.HIGH,
        "two entries for {path}: the installer keeps the later one ({target})",
    ),
    SpecialKind.RENAMED: (
        Severity.HIGH,
        "{target!r} installs as {path} on Windows only (npm splits names on backslashes there)",
    ),
    SpecialKind.HIDDEN_DATA: (Severity.MEDIUM, "data hidden in the archive: {target}"),
    SpecialKind.SKIPPED: (Severity.LOW, "the installer skips the {target} entry {path!r}"),
}


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
        if special.kind not in LINK_KINDS:
            continue
        if (special.path, special.target) not in before:
            yield Hit(
                f"{special.kind.value} {special.path} → {special.target}",
                path=special.path,
                evidence=f"{special.path} -> {special.target}",
            )


@artifact_rule(
    id="archive.installer-view",
    summary="The installer lays out the archive differently from a plain reading of it "
    "(duplicate entries, platform-only names, hidden data, skipped entries)",
    severity=Severity.HIGH,
    category="archive",
)
def installer_view(ctx: ArtifactContext) -> Iterator[Hit]:
    """Archive tricks that make reviewers and scanners see other files than users install."""
    old = ctx.diff.old
    before = {(s.path, s.kind) for s in old.specials} if old is not None else set()
    for special in ctx.diff.new.specials:
        known = INSTALLER_VIEW.get(special.kind)
        if known is None or (special.path, special.kind) in before:
            continue
        severity, template = known
        yield Hit(
            template.format(path=special.path or ctx.diff.new.filename, target=special.target),
            path=special.path or None,
            evidence=f"{special.kind.value}: {special.target}",
            severity=severity,
        )
