"""Rules about what the artifact contains rather than what its code says."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.models import ChangeKind, Severity
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule

#: File magic of native executables and libraries (ELF, PE, Mach-O 32/64 both byte orders, fat).
EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
EXECUTABLE_SUFFIXES = (".exe", ".dll", ".so", ".dylib", ".node", ".bin")


@artifact_rule(
    id="archive.binary",
    summary="A native executable or library was added or replaced",
    severity=Severity.MEDIUM,
    category="binary",
)
def binary_added(ctx: ArtifactContext) -> Iterator[Hit]:
    """Compiled code cannot be reviewed from the diff; new or changed binaries need a look."""
    for change in ctx.changed_files():
        entry = change.new
        if entry is None or not entry.is_binary:
            continue
        native = entry.data.startswith(EXECUTABLE_MAGIC)
        if not native and not change.path.endswith(EXECUTABLE_SUFFIXES):
            continue
        verb = "added" if change.kind is ChangeKind.ADDED else "replaced"
        yield Hit(
            f"native binary {verb}: {change.path} ({entry.size:,} bytes)",
            path=change.path,
            evidence=f"sha256 {entry.sha256}",
        )


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
