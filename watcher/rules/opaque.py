"""Opaque code: compiled or packed code a reviewer cannot read from a diff (SPEC §4.1, §4.4).

Sourceless `.pyc` that CPython 3.8–3.14 imports, native libraries and executables (ELF, PE,
Mach-O, `.node`), WebAssembly, and zips or eggs put on `sys.path`. What matters is where it
lands in the installed view and whether the pinned release already had code of that kind:
appearing at install time where there was none is critical, on a reachable path high; a
native addon rebuilt in place (same path, new hash: native packages do it every release) is
low; a file nothing reaches is low.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.installed import InstalledView, Reach, Runtime
from watcher.models import ChangeKind, Severity
from watcher.rules.npm_install import INSTALL_HOOKS, KNOWN_BUILD_COMMANDS
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule


def _kinds(view: InstalledView | None) -> frozenset[Runtime]:
    if view is None:
        return frozenset()
    return frozenset(f.runtime for f in view.files.values() if f.runtime.is_opaque)


def _built_native_on_install(ctx: ArtifactContext) -> bool:
    """Whether the pinned release made a native addon on install (built or fetched one).

    node-gyp builds `binding.gyp` into a `.node`; `prebuild-install` and `node-pre-gyp
    install` download one. Such a package already ran native code it did not ship: bcrypt 6
    shipping its prebuilds instead of downloading them at install brings no new kind of code.
    """
    old = ctx.diff.old_manifest
    if old is None:
        return False
    hooks = (old.scripts.get(h, "") for h in INSTALL_HOOKS)
    return old.has_binding_gyp or any(KNOWN_BUILD_COMMANDS.match(c) for c in hooks if c)


@artifact_rule(
    id="code.opaque",
    summary="Opaque code (native binary, wasm, sourceless .pyc, zip on sys.path) appeared or "
    "changed where it can run",
    severity=Severity.HIGH,
    category="binary",
)
def opaque_code(ctx: ArtifactContext) -> Iterator[Hit]:
    """Compiled code appeared, or was replaced, on a path the installed view says can run."""
    view, old_view = ctx.view, ctx.old_view
    had = _kinds(old_view)
    if _built_native_on_install(ctx):
        had |= {Runtime.NATIVE}
    for change in ctx.changed_files():
        entry = change.new
        reached = view.files.get(change.path)
        if entry is None or reached is None or not reached.runtime.is_opaque:
            continue
        kind = reached.runtime
        where = (
            f"runs at {reached.reach.label}" + (f" via {reached.why}" if reached.why else "")
            if reached.reach is not Reach.SHIPPED
            else "nothing reaches it"
        )
        before = change.old
        rebuilt = (
            change.kind is ChangeKind.MODIFIED
            and before is not None
            and old_view is not None
            and old_view.runtime(change.path) is kind
        )
        if rebuilt:
            assert before is not None
            yield Hit(
                f"{kind.value} rebuilt in place: {change.path} ({entry.size:,} bytes, {where})",
                path=change.path,
                evidence=f"sha256 {before.sha256} -> {entry.sha256}",
                severity=Severity.LOW,
            )
            continue
        if reached.reach is Reach.SHIPPED:
            severity = Severity.LOW
        elif ctx.is_first_release or kind in had:
            # Nothing to compare with, or the package already ships code of this kind.
            severity = Severity.MEDIUM
        elif reached.reach is Reach.INSTALL:
            severity = Severity.CRITICAL
        else:
            severity = Severity.HIGH
        novelty = "" if ctx.is_first_release or kind in had else "; the pinned release had none"
        yield Hit(
            f"{kind.value} {'added' if change.kind is ChangeKind.ADDED else 'replaced'}: "
            f"{change.path} ({entry.size:,} bytes, {where}{novelty})",
            path=change.path,
            evidence=f"sha256 {entry.sha256}",
            severity=severity,
        )
