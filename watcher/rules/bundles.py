"""Minified or bundled JavaScript appearing where the package never shipped any.

Shai-Hulud added a 3.6 MB minified `bundle.js` run from `postinstall`; the chalk/debug payload
was one obfuscated line. A diff of such a file is unreadable, so its arrival is the signal.
Packages that always shipped `dist/*.min.js` or a bundled `dist/index.js` keep doing so
quietly. Native binaries are `code.opaque`'s business, not this rule's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from watcher.installed import Reach
from watcher.models import ChangeKind, Ecosystem, FileEntry, Severity
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, is_js

#: Smaller than this, a "minified" file is a one-line shim (`module.exports=require('./x')`).
MIN_BYTES = 2048
#: Mean characters per line above which code is packed rather than written.
MIN_MEAN_LINE = 250
#: Whitespace share below which code is packed (hand-written JS is around 20–30 %).
MAX_WHITESPACE = 0.10
#: javascript-obfuscator output names everything `_0x…`; this many is no accident.
OBFUSCATOR_NAMES = 20
#: A new file this large run from an install hook is a payload, minified or not.
LARGE_BYTES = 512 * 1024
INSTALL_HOOKS = ("preinstall", "install", "postinstall")
_OBFUSCATED = re.compile(r"\b_0x[0-9a-f]{4,6}\b")


def packed(entry: FileEntry) -> str | None:
    """Why a JS file looks minified or obfuscated, or None if it reads like written code."""
    if entry.is_binary or entry.size < MIN_BYTES:
        return None
    text = entry.text
    if "_0x" in text:
        obfuscated = len(_OBFUSCATED.findall(text, 0, 200_000))
        if obfuscated >= OBFUSCATOR_NAMES:
            return f"{obfuscated}+ `_0x` obfuscator names"
    mean = len(text) / (text.count("\n") + 1)
    if mean < MIN_MEAN_LINE:
        return None
    whitespace = (len(text) - sum(map(len, text.split()))) / len(text)
    if whitespace <= MAX_WHITESPACE:
        return f"{mean:,.0f} characters per line, {whitespace:.0%} whitespace"
    return None


def _had_packed(files: Mapping[str, FileEntry]) -> bool:
    """Whether the old release already shipped minified JS (a bundler is part of its build)."""
    return any(
        is_js(p) and (p.endswith((".min.js", ".min.mjs", ".min.cjs")) or packed(e) is not None)
        for p, e in files.items()
    )


def _hooks_running(ctx: ArtifactContext, path: str) -> list[str]:
    """Install hooks of the new manifest whose command names this file."""
    scripts = ctx.diff.new_manifest.scripts
    name = path.rsplit("/", 1)[-1]
    reached = ctx.view.files.get(path)
    if reached is not None and reached.reach is Reach.INSTALL and reached.why:
        # What the installed view follows through the module graph and `sh x`/`npm run x`.
        hook = reached.why.split(" ", 1)[0].removeprefix("scripts.")
        if hook in INSTALL_HOOKS:
            return [hook]
    return [
        h
        for h in INSTALL_HOOKS
        if re.search(rf"(?<![\w.-]){re.escape(name)}\b", scripts.get(h, ""))
    ]


@artifact_rule(
    id="archive.minified-appeared",
    summary="Minified or obfuscated JavaScript appeared in a package that shipped none before",
    severity=Severity.HIGH,
    category="obfuscation",
    ecosystems=frozenset({Ecosystem.NPM}),
)
def minified_appeared(ctx: ArtifactContext) -> Iterator[Hit]:
    """A packed JS file is new in a package without one, or a new large file runs on install."""
    old = ctx.diff.old
    had_packed: bool | None = None
    for change in ctx.changed_files():
        entry = change.new
        if entry is None or ctx.dialect(change.path) in (None, "python"):
            continue
        hooks = _hooks_running(ctx, change.path)
        why = packed(entry)
        if hooks and (why is not None or entry.size >= LARGE_BYTES):
            verb = "added" if change.kind is ChangeKind.ADDED else "changed"
            yield Hit(
                f"bundle: {change.path} ({entry.size:,} bytes"
                + (f"; {why}" if why else "")
                + f") was {verb} and runs from `{hooks[0]}`",
                path=change.path,
                evidence=f'"{hooks[0]}": "{ctx.diff.new_manifest.scripts[hooks[0]]}"',
            )
            continue
        # A first release has nothing to compare with: shipping a bundle is how many start.
        if why is None or old is None:
            continue
        if had_packed is None:
            had_packed = _had_packed(old.files)
        if had_packed:
            continue
        first = next(
            (a for a in change.added_lines if len(a.text) >= MIN_MEAN_LINE or "_0x" in a.text),
            change.added_lines[0] if change.added_lines else None,
        )
        yield Hit(
            f"bundle: minified JavaScript appeared in {change.path} ({entry.size:,} bytes; "
            f"{why}); the previous release shipped none",
            path=change.path,
            line=first.lineno if first else None,
            evidence=excerpt(first.text, 0, 0) if first else f"sha256 {entry.sha256}",
        )
