"""npm install-time rules: code that runs on `npm install` of this package."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Iterator, Mapping

from watcher.installed import Reach
from watcher.installed.commands import command_words
from watcher.models import ChangeKind, Ecosystem, FileChange, FileEntry, Severity
from watcher.parse import facts_for
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, json_key_line, json_path_line

NPM = frozenset({Ecosystem.NPM})

#: The hooks npm runs when the package is installed from a registry. `prepare` and
#: `prepublish(Only)` run only for git/local installs or on the publisher's machine.
INSTALL_HOOKS = ("preinstall", "install", "postinstall")

#: Install commands of well-known native-build tooling: still code execution, but the shape an
#: honest native module has (guarddog#308 keeps a similar allowlist).
KNOWN_BUILD_COMMANDS = re.compile(
    r"^\s*(node-gyp(-build)? rebuild|node-gyp-build|prebuild-install( \|\| node-gyp rebuild)?"
    r"|node-pre-gyp install( --fallback-to-build)?)\s*$"
)


def _package_json_text(ctx: ArtifactContext) -> str:
    entry = ctx.diff.new.files.get("package.json")
    return entry.text if entry is not None else ""


@artifact_rule(
    id="npm.install-script",
    summary="A preinstall/install/postinstall script was added or changed (runs on npm install)",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=NPM,
)
def install_script(ctx: ArtifactContext) -> Iterator[Hit]:
    """New or changed lifecycle hooks that npm runs on every install."""
    old = ctx.diff.old_manifest.scripts if ctx.diff.old_manifest else {}
    yield from _hook_hits(old, ctx.diff.new_manifest.scripts, _package_json_text(ctx))
    yield from _bundled_hooks(ctx)
    yield from _install_code_changed(ctx)


def _version_bump_only(ctx: ArtifactContext, change: FileChange) -> bool:
    """Every added line is a removed one with the release's version number swapped in.

    esbuild's `install.js` pins its own version (`const ESBUILD_VERSION = '0.25.1'`): the same
    code under a new number is not new install-time behaviour.
    """
    old = ctx.diff.old_manifest.version if ctx.diff.old_manifest else None
    new = ctx.diff.new_manifest.version
    if change.kind is not ChangeKind.MODIFIED or not old or not new or old == new:
        return False
    removed = set(change.removed_lines)
    return all(a.text.replace(new, old) in removed for a in change.added_lines)


def _install_code_changed(ctx: ArtifactContext) -> Iterator[Hit]:
    """Files an install hook of the pinned release already ran, changed under that same hook.

    An edited `install.js` behind an unchanged `"postinstall": "node install.js"` is new
    install-time code as much as a new hook is; the installed view follows the hook through
    `sh x`, `npm run x`, `binding.gyp` actions and the module graph.

    Medium, not high (SPEC §4.4: severity from behaviour): the change is shown for review, and
    what it *does* is judged by the capability rules on the same lines, which the engine makes
    critical at install time (network, processes, dynamic code) and which complete the
    install-hook combination (environment, secrets). An edit that adds none of that — esbuild's
    library gaining an option, loaded by its unchanged `install.js` — is not an alarm.
    """
    old_view = ctx.old_view
    if old_view is None or not any(r.reach is Reach.INSTALL for r in old_view.roots):
        return
    for change in ctx.changed_files():
        reached = ctx.view.files.get(change.path)
        if reached is None or reached.reach is not Reach.INSTALL or not reached.runtime.is_code:
            continue
        if _version_bump_only(ctx, change):
            continue
        verb = "changed" if change.kind is ChangeKind.MODIFIED else "added"
        first = change.added_lines[0] if change.added_lines else None
        yield Hit(
            f"install-time code {verb}: {change.path} runs on install ({reached.why}"
            + (f", loaded by {reached.via}" if reached.via else "")
            + ")",
            path=change.path,
            line=first.lineno if first else None,
            evidence=excerpt(first.text)
            if first
            else f"sha256 {change.new.sha256 if change.new else ''}",
            severity=Severity.MEDIUM,
        )


#: The manifest of a dependency shipped inside the tarball (`bundleDependencies`): npm runs
#: its install hooks too, so a vendored dropper is as live as the package's own hook.
BUNDLED_MANIFEST = re.compile(r"^(?:node_modules/(?:@[^/]+/)?[^/]+/)+package\.json$")


def _scripts_of(text: str) -> dict[str, str]:
    try:
        document = json.loads(text)
    # An unreadable nested manifest cannot be installed either; the top-level one is what
    # the manifest parser judges.
    except ValueError:  # not a gap: npm cannot install it either
        return {}
    scripts = document.get("scripts") if isinstance(document, dict) else None
    if not isinstance(scripts, dict):
        return {}
    return {str(k): v for k, v in scripts.items() if isinstance(v, str)}


def _bundled_hooks(ctx: ArtifactContext) -> Iterator[Hit]:
    old_files = ctx.diff.old.files if ctx.diff.old is not None else {}
    for change in ctx.changed_files():
        entry = change.new
        if entry is None or entry.is_binary or not BUNDLED_MANIFEST.match(change.path):
            continue
        before = old_files.get(change.path)
        old = _scripts_of(before.text) if before is not None and not before.is_binary else {}
        for hit in _hook_hits(old, _scripts_of(entry.text), entry.text):
            package = change.path.removesuffix("/package.json").rsplit("node_modules/", 1)[1]
            yield dataclasses.replace(
                hit, message=f"bundled dependency `{package}`: {hit.message}", path=change.path
            )


def _hook_hits(old: Mapping[str, str], new: Mapping[str, str], text: str) -> Iterator[Hit]:
    for hook in INSTALL_HOOKS:
        command = new.get(hook)
        if not command or command == old.get(hook):
            continue
        verb = "changed" if hook in old else "added"
        line = json_key_line(text, hook, after="scripts")
        evidence = text.splitlines()[line - 1] if line else f'"{hook}": "{command}"'
        weaker = KNOWN_BUILD_COMMANDS.match(command) is not None
        same = hook in old and _runs_nothing_new(old[hook], command)
        yield Hit(
            f"`{hook}` script {verb}: `{command}`"
            + (" (a known native-build command)" if weaker else "")
            + (" (it runs what it ran before; its new inline code only exits)" if same else ""),
            path="package.json",
            line=line,
            evidence=excerpt(evidence),
            severity=Severity.LOW if same else Severity.MEDIUM if weaker else None,
        )


#: Calls inline hook code may make and still do nothing but end the hook (or say why).
_INERT_CALLS = frozenset({"process.exit", "console.log", "console.error", "console.warn"})
_NODE_EVAL = frozenset({"-e", "-p", "--eval", "--print"})


def _runs_nothing_new(old: str, new: str) -> bool:
    """Every simple command of the new hook is one the old hook ran, or `node -e` code that
    only exits or logs (`… || true` rewritten as `… || node -e "process.exit(0)"`).

    Compared as whole word lists, so an added argument, redirection or `$(…)` is a new
    command, and any other inline code (a require, an import, an environment read, any other
    call) keeps the change a changed hook.
    """
    before = {tuple(words) for words in command_words(old)}
    return all(tuple(words) in before or _inert_inline(words) for words in command_words(new))


def _inert_inline(words: list[str]) -> bool:
    if len(words) != 3 or words[0] not in ("node", "nodejs") or words[1] not in _NODE_EVAL:
        return False
    facts = facts_for("inline.js", FileEntry.of("inline.js", words[2].encode()), "javascript")
    if facts is None or facts.error_lines or facts.imports or facts.env_reads:
        return False
    # Every parenthesis a call: a call the parser could not name (`(0, eval)(s)`) is not inert.
    if words[2].count("(") != len(facts.calls):
        return False
    return all(call.callee in _INERT_CALLS and not call.concealed for call in facts.calls)


@artifact_rule(
    id="npm.binding-gyp",
    summary="binding.gyp appeared: npm runs node-gyp (arbitrary build actions) on install",
    severity=Severity.MEDIUM,
    category="install-hook",
    ecosystems=NPM,
)
def binding_gyp(ctx: ArtifactContext) -> Iterator[Hit]:
    """A native build file appeared: npm implies `node-gyp rebuild` as the install script."""
    had = ctx.diff.old_manifest.has_binding_gyp if ctx.diff.old_manifest else False
    if ctx.diff.new_manifest.has_binding_gyp and not had:
        yield Hit(
            "binding.gyp added: node-gyp will build (and run its actions) on install",
            path="binding.gyp",
            line=1,
        )


def _bin_target(path: str) -> str:
    """A bin target as the file it names: npm 9 rewrites `./bin/cli.js` as `bin/cli.js`."""
    return posixpath.normpath(path.strip().replace("\\", "/"))


@artifact_rule(
    id="npm.bin",
    summary="A new executable was added to `bin` (put on PATH by npm install)",
    severity=Severity.LOW,
    category="bin",
    ecosystems=NPM,
)
def new_bin(ctx: ArtifactContext) -> Iterator[Hit]:
    """Commands the package installs onto the user's PATH, which can shadow common tools."""
    old = ctx.diff.old_manifest.bin if ctx.diff.old_manifest else {}
    text = _package_json_text(ctx)
    for name, target in ctx.diff.new_manifest.bin.items():
        if name in old and _bin_target(old[name]) == _bin_target(target):
            continue
        # A string `bin` has no per-command key: point at the `"bin":` line itself.
        line = json_key_line(text, name, after="bin") or json_path_line(text, "bin")
        yield Hit(
            f"`bin` entry `{name}` → `{target}`",
            path="package.json",
            line=line,
            evidence=excerpt(text.splitlines()[line - 1]) if line else None,
        )
