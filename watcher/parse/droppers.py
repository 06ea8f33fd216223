"""Python code that writes a script from its own text to disk and then starts it (a dropper).

A package that means to run code it carries ships it as a module and imports it. Carrying the
code as a string instead, writing it to a file (often a temp file) and starting that file with
an interpreter or the shell takes the second stage out of the package's code, where a reader
and the code rules look, into data: the shape of setup-time and import-time droppers. The
facts are "content the package supplies is written to a path" and "a process is started whose
command names that same path"; neither alone is news.

Hard negatives, kept apart on purpose:
- the content is not the package's own: a code-runner tool writes the code it was *given*
  (a parameter) to a temp file and runs it — no dropper;
- the command only names the written file without running it: `git add` of a generated
  `.gitignore`, a setup.py compiler check that writes a constant C source and runs `cc` on it.
  A start counts when its program is the written file itself or an interpreter or launcher
  (python, pythonw, `sys.executable`, a shell, PowerShell, `start`, wscript, node, …).

Paths are matched by how they are written — the same name or attribute (`tmp`, `f.name`), or a
constant path that the command's text contains — not by data flow, so a path rebound between
the write and the start is matched as written; that is the tradeoff for staying syntactic.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

#: Calls whose result is a file handle opened for writing (mode checked for `open`).
FILE_OPENERS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
#: Calls that create a file and give a handle whose `.name` is its path.
TEMP_FILES = frozenset(
    {
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "tempfile.SpooledTemporaryFile",
    }
)
WRITE_METHODS = frozenset({"write", "writelines"})
PATH_WRITERS = frozenset({"write_text", "write_bytes"})
#: Process starters (resolved callee, or its prefix).
STARTERS = (
    "subprocess.",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
    "os.startfile",
    "pty.spawn",
    "asyncio.create_subprocess_",
)
#: Programs that run the script file they are given (a trailing version and `.exe` dropped).
INTERPRETERS = frozenset(
    {"python", "pythonw", "py", "pyw", "sys.executable", "node", "perl", "ruby", "php"}
    | {"sh", "bash", "zsh", "dash", "ksh", "powershell", "pwsh", "osascript"}
    | {"wscript", "cscript", "mshta", "rundll32"}
)
#: Words in front of the program: openers hand a file to whatever the desktop associates
#: with it (a browser for a report), so through them only a script or executable counts.
DESKTOP_OPENERS = frozenset({"start", "open", "xdg-open", "cmd", "explorer"})
SWITCHES = frozenset({"nohup", "/c", "/k", "/b", "/min", "/wait", '""', "-a"})
#: Starters that open the file they are given as the desktop would.
LAUNCHERS = frozenset({"os.startfile"})
#: Names that run when opened: scripts and executables (Windows and POSIX).
RUNNABLE_SUFFIXES = (
    ".py", ".pyw", ".pyc", ".ps1", ".bat", ".cmd", ".vbs", ".vbe", ".js", ".jse", ".wsf",
    ".hta", ".sh", ".exe", ".scr", ".com", ".msi", ".jar", ".command",
)  # fmt: skip
#: An f-string counts as the package's own text when this much of it is constant: a template
#: of a script with a path or two filled in, not a message around a value.
MIN_TEMPLATE = 32
#: Shortest constant path matched inside a command's text (shorter ones match by accident).
MIN_PATH = 4

#: Resolves an expression to the dotted name it refers to (through import aliases).
Resolve = Callable[[ast.expr], "str | None"]
#: Folds an expression to the constant string it always is, if it is one.
Fold = Callable[[ast.expr], "str | None"]


@dataclass
class _Written:
    """What a file is known as where a process could name it."""

    #: Source text of the expressions naming the path (`tmp`, `f.name`, `os.path.join(d, x)`).
    exprs: set[str] = field(default_factory=set)
    #: Constant paths (`/tmp/.x.py`), matched inside a command's text.
    constants: set[str] = field(default_factory=set)


def _text(node: ast.expr) -> str | None:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):  # not a gap: an odd tree has no name to match
        return None


def _mode_writes(call: ast.Call, fold: Fold) -> bool:
    mode: ast.expr | None = call.args[1] if len(call.args) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    folded = fold(mode) if mode is not None else "r"
    return folded is not None and any(c in folded for c in "wax+")


class _Finder:
    """One file's writes of its own text and the process starts that run what was written."""

    def __init__(
        self, tree: ast.AST, resolve: Resolve, fold: Fold, bound: dict[str, ast.expr]
    ) -> None:
        self.tree = tree
        self.resolve = resolve
        self.fold = fold
        self.bound = bound
        #: Handle name → the path it was opened on (as a `_Written`).
        self.handles: dict[str, _Written] = {}
        self.written = _Written()
        #: The written texts that fold to constants: the second stage, to be read as code.
        self.scripts: list[str] = []
        #: Suffixes temp files were created with (`NamedTemporaryFile(suffix=".py")`).
        self.suffixes: set[str] = set()

    def callee(self, node: ast.expr) -> str | None:
        return self.resolve(node.func) if isinstance(node, ast.Call) else None

    def path_of(self, node: ast.expr) -> _Written:
        found = _Written()
        if (text := _text(node)) is not None:
            found.exprs.add(text)
        if (value := self.fold(node)) is not None and len(value) >= MIN_PATH:
            found.constants.add(value)
        return found

    def opened(self, node: ast.expr, name: str) -> _Written | None:
        """The path a handle-making call opens for writing, known as `name` afterwards."""
        if not isinstance(node, ast.Call):
            return None
        callee = self.callee(node)
        if callee in FILE_OPENERS and node.args and _mode_writes(node, self.fold):
            return self.path_of(node.args[0])
        if callee in TEMP_FILES or callee == "tempfile.mkstemp":
            for keyword in node.keywords:
                if keyword.arg == "suffix" and (suffix := self.fold(keyword.value)):
                    self.suffixes.add(suffix)
            return _Written(exprs={f"{name}.name", name})
        return None

    def collect_handles(self) -> None:
        for node in ast.walk(self.tree):
            pairs: list[tuple[ast.expr, ast.expr]] = []
            if isinstance(node, ast.With | ast.AsyncWith):
                pairs = [(i.context_expr, i.optional_vars) for i in node.items if i.optional_vars]
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                pairs = [(node.value, node.targets[0])]
            for value, target in pairs:
                names = [target] if isinstance(target, ast.Name) else []
                if isinstance(target, ast.Tuple):  # `fd, path = tempfile.mkstemp()`
                    names = [e for e in target.elts if isinstance(e, ast.Name)][-1:]
                for named in names:
                    path = self.opened(value, named.id)
                    if path is not None:
                        self.handles[named.id] = path

    def own_text(self, node: ast.expr, depth: int = 0) -> bool:
        """Whether written content is text the package carries (not data it was given)."""
        if depth > 4:
            return False
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str | bytes) and len(node.value) >= 1
        if self.fold(node) is not None:
            return True
        if isinstance(node, ast.JoinedStr):
            constant = sum(
                len(v.value)
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            return constant >= MIN_TEMPLATE
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            # `script.encode()` and other methods of the text itself
            return node.func.attr in ("encode", "format", "strip") and self.own_text(
                node.func.value, depth + 1
            )
        if isinstance(node, ast.Name):
            bound = self.bound.get(node.id)
            return bound is not None and self.own_text(bound, depth + 1)
        return False

    def collect_writes(self) -> None:
        for node in ast.walk(self.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            attr, target = node.func.attr, node.func.value
            if not node.args or not self.own_text(node.args[0]):
                continue
            path: _Written | None = None
            if attr in WRITE_METHODS:
                if isinstance(target, ast.Name):
                    path = self.handles.get(target.id)
                else:
                    path = self.opened(target, "")
            elif attr in PATH_WRITERS:
                path = self.path_of(target)
                if isinstance(target, ast.Call) and target.args:  # Path(p).write_text(…)
                    inner = self.path_of(target.args[0])
                    path.exprs |= inner.exprs
                    path.constants |= inner.constants
            if path is not None:
                self.written.exprs |= path.exprs
                self.written.constants |= path.constants
                self.keep_script(node.args[0])

    def keep_script(self, content: ast.expr) -> None:
        if isinstance(content, ast.Constant) and isinstance(content.value, bytes):
            self.scripts.append(content.value.decode("utf-8", "replace"))
        elif (text := self.fold(content)) is not None:
            self.scripts.append(text)

    def names_written(self, node: ast.expr) -> bool:
        """Whether an expression names a written file (by its text, or a constant path in it)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name | ast.Attribute | ast.BinOp | ast.Call | ast.Subscript):
                if _text(sub) in self.written.exprs:
                    return True
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                if any(p in sub.value for p in self.written.constants):
                    return True
            elif isinstance(sub, ast.Name | ast.JoinedStr | ast.BinOp):
                value = self.fold(sub)
                if value and any(p in value for p in self.written.constants):
                    return True
        return False

    def tokens(self, command: ast.expr) -> Iterator[tuple[ast.expr | None, str | None]]:
        """The command's words in order: each with its expression (when it is one) and its
        text (when constant, or `sys.executable…` when it resolves to that)."""
        pieces: list[ast.expr] = [command]
        if isinstance(command, ast.List | ast.Tuple):
            pieces = list(command.elts)
        elif isinstance(command, ast.JoinedStr):
            pieces = list(command.values)
        for piece in pieces:
            if isinstance(piece, ast.FormattedValue):
                piece = piece.value
            # `sys.executable.replace(".exe", "w.exe")` is still the interpreter.
            base = piece
            while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
                base = base.func.value
            resolved = self.resolve(base)
            if resolved is not None and resolved.startswith("sys.executable"):
                yield piece, "sys.executable"
                continue
            folded = self.fold(piece)
            if folded is None:
                yield piece, None
                continue
            for word in folded.split():
                yield (piece if self.names_written(piece) else None), word

    def runs_written(self, call: ast.Call, callee: str) -> bool:
        """Whether the start runs a written file: the file is the program, or an interpreter
        is; through a launcher (`start`, `open`, `os.startfile`) only a script or executable."""
        parts: list[ast.expr] = [*call.args, *(k.value for k in call.keywords)]
        if not parts or not any(self.names_written(p) for p in parts):
            return False
        if callee in LAUNCHERS:
            return self.runnable_written()
        launched = False
        for expr, word in self.tokens(parts[0]):
            if word is not None and word.lower() in SWITCHES:
                continue
            name = _program_name(word) if word is not None else None
            if name in DESKTOP_OPENERS:
                launched = True
                continue
            if (expr is not None and self.names_written(expr)) or (
                word is not None and any(p in word for p in self.written.constants)
            ):
                # The written file is the program: run as such, or opened by a launcher.
                return not launched or self.runnable_written()
            return name is not None and name in INTERPRETERS
        return False

    def runnable_written(self) -> bool:
        """Whether a written file is known to be a script or an executable by its name."""
        names = {*self.written.constants, *self.suffixes}
        return any(n.lower().endswith(RUNNABLE_SUFFIXES) for n in names)

    def starts(self) -> Iterator[ast.Call]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                callee = self.callee(node)
                if callee is None or not callee.startswith(STARTERS):
                    continue
                if self.runs_written(node, callee):
                    yield node


def _program_name(word: str) -> str:
    """A program's bare name: no directory, `.exe`, or trailing version (`python3.11`)."""
    if word == "sys.executable":
        return word
    name = word.replace("\\", "/").rsplit("/", 1)[-1].lower().removesuffix(".exe")
    return name.rstrip("0123456789.") or name


def dropper_starts(
    tree: ast.AST, resolve: Resolve, fold: Fold, bound: dict[str, ast.expr]
) -> tuple[list[ast.Call], list[str]]:
    """Process starts in `tree` that run a file the same code wrote from its own text, and
    the constant texts written (empty when nothing written is started).

    `bound`: names assigned once in the file and their values, so `f.write(SCRIPT)` with
    `SCRIPT = '''…'''` counts as the package's own text.
    """
    finder = _Finder(tree, resolve, fold, bound)
    finder.collect_handles()
    finder.collect_writes()
    if not finder.written.exprs and not finder.written.constants:
        return [], []
    starts = list(finder.starts())
    return starts, finder.scripts if starts else []
