"""PyPI install-time rules: `.pth` files, setup.py commands and code, entry points, backends."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from watcher.models import ChangeKind, Ecosystem, Severity
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

PYPI = frozenset({Ecosystem.PYPI})

#: setuptools commands that run on `pip install` of an sdist (or `pip install -e`).
INSTALL_COMMANDS = frozenset(
    {"install", "develop", "egg_info", "build_py", "build_ext", "bdist_wheel", "sdist", "build"}
)

#: Calls that have no business at setup.py module level: they run on every build and install.
SUSPICIOUS_SETUP_CALLS = frozenset(
    {
        "system",
        "popen",
        "Popen",
        "run",
        "call",
        "check_call",
        "check_output",
        "urlopen",
        "urlretrieve",
        "get",
        "post",
        "request",
        "exec",
        "eval",
        "compile",
        "__import__",
        "b64decode",
        "connect",
        "getaddrinfo",
    }
)


@artifact_rule(
    id="pypi.pth-file",
    summary="A .pth file was added or changed (its import lines run at every interpreter start)",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def pth_file(ctx: ArtifactContext) -> Iterator[Hit]:
    """`site` runs `.pth` lines starting with `import` at every Python start (litellm 1.82.8)."""
    for change in ctx.changed_files():
        if not change.path.endswith(".pth") or change.new is None:
            continue
        lines = change.new.text.splitlines()
        executable = next(
            (
                (n, line)
                for n, line in enumerate(lines, start=1)
                if line.startswith(("import ", "import\t"))
            ),
            None,
        )
        verb = "added" if change.kind is ChangeKind.ADDED else "changed"
        if executable is not None:
            number, line = executable
            yield Hit(
                f"`{change.path}` {verb}: it runs code at every interpreter start",
                path=change.path,
                line=number,
                evidence=excerpt(line),
            )
        else:
            yield Hit(
                f"`{change.path}` {verb} (path entries only)",
                path=change.path,
                line=1,
                evidence=excerpt(lines[0]) if lines else None,
                severity=Severity.LOW,
            )


def _parse(source: str | None) -> ast.Module | None:
    if source is None:
        return None
    try:
        return ast.parse(source)
    # A setup.py that does not parse fails the install too; nothing to learn from it here.
    except (SyntaxError, ValueError):
        return None


def _command_overrides(tree: ast.Module | None) -> dict[str, int]:
    """Classes overriding install-time commands, and `cmdclass=` keys: name -> line."""
    found: dict[str, int] = {}
    if tree is None:
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = (
                    base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                )
                if base_name in INSTALL_COMMANDS:
                    found[f"class {node.name}({base_name})"] = node.lineno
        elif (
            isinstance(node, ast.keyword)
            and node.arg == "cmdclass"
            and isinstance(node.value, ast.Dict)
        ):
            for key in node.value.keys:
                if isinstance(key, ast.Constant) and key.value in INSTALL_COMMANDS:
                    found[f"cmdclass[{key.value!r}]"] = key.lineno
    return found


@artifact_rule(
    id="pypi.setup-cmdclass",
    summary="setup.py now overrides install/develop/egg_info/build commands (runs on pip install)",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def setup_cmdclass(ctx: ArtifactContext) -> Iterator[Hit]:
    """Custom setuptools commands: the classic PyPI install-time payload hook."""
    new = ctx.diff.new_manifest.setup_py
    old = ctx.diff.old_manifest.setup_py if ctx.diff.old_manifest else None
    if new is None or new == old:
        return
    before = _command_overrides(_parse(old))
    lines = new.splitlines()
    for name, line in _command_overrides(_parse(new)).items():
        if name not in before:
            yield Hit(
                f"setup.py overrides an install-time command: {name}",
                path="setup.py",
                line=line,
                evidence=excerpt(lines[line - 1]),
            )


@artifact_rule(
    id="pypi.setup-code",
    summary="setup.py runs process, network or dynamic-code calls at module level",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def setup_code(ctx: ArtifactContext) -> Iterator[Hit]:
    """Module-level calls in setup.py run on every build of the sdist, before any review."""
    new = ctx.diff.new_manifest.setup_py
    old = ctx.diff.old_manifest.setup_py if ctx.diff.old_manifest else None
    tree = _parse(new)
    if tree is None or new is None or new == old:
        return
    old_lines = set((old or "").splitlines())
    lines = new.splitlines()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            source = lines[node.lineno - 1]
            if name in SUSPICIOUS_SETUP_CALLS and source not in old_lines:
                yield Hit(
                    f"setup.py calls `{name}(…)` at import time",
                    path="setup.py",
                    line=node.lineno,
                    evidence=excerpt(source),
                )


@artifact_rule(
    id="pypi.entry-point",
    summary="A new entry point (console script or plugin hook) was declared",
    severity=Severity.LOW,
    category="bin",
    ecosystems=PYPI,
)
def entry_point(ctx: ArtifactContext) -> Iterator[Hit]:
    """Entry points put commands on PATH or plug code into other tools' start-up."""
    if ctx.is_first_release:
        return
    old = ctx.diff.old_manifest.entry_points if ctx.diff.old_manifest else {}
    for key, target in ctx.diff.new_manifest.entry_points.items():
        if old.get(key) != target:
            yield Hit(f"entry point `{key}` → `{target}`", evidence=f"{key} = {target}")


@artifact_rule(
    id="pypi.build-backend",
    summary="The build backend changed (it runs when pip builds the sdist)",
    severity=Severity.MEDIUM,
    category="install-hook",
    ecosystems=PYPI,
)
def build_backend(ctx: ArtifactContext) -> Iterator[Hit]:
    """A swapped build backend, especially an in-tree one, is install-time code execution."""
    if ctx.diff.old_manifest is None:
        return
    old, new = ctx.diff.old_manifest.build_backend, ctx.diff.new_manifest.build_backend
    if new and old != new:
        yield Hit(
            f"build backend changed from `{old or 'setuptools (implicit)'}` to `{new}`",
            path="pyproject.toml",
            evidence=f'build-backend = "{new}"',
        )
