"""Python facts with the standard library's `ast` (the code is parsed, never run or imported).

Every `ast.parse` of package text goes through `parse_module`, which never raises and applies
the budgets of SPEC §4.5. Packages target Python 3.8–3.14 while watcher runs on 3.11, whose
`ast` rejects 3.12+ syntax (PEP 695 `type X = …`, PEP 701 f-strings): a file `ast` rejects is
read again with tree-sitter-python, and if that grammar reads it cleanly it is honest modern
Python, judged by the text rules with no gap. Only a file neither parser reads, or a spent
budget, is a gap.
"""

from __future__ import annotations

import ast
import base64
import binascii
from collections.abc import Callable
from functools import cache
from typing import Any

import tree_sitter_python
from tree_sitter import Language, Parser

from watcher import gaps
from watcher.parse.budget import MAX_DEPTH, Clock
from watcher.parse.facts import Call, EnvRead, Facts, Import, Span, StringLit
from watcher.parse.lines import Columns

#: Names of the builtins module: `builtins.exec` is `exec`.
BUILTIN_MODULES = frozenset({"builtins", "__builtins__"})
#: Callees whose nested argument calls are recorded (`exec(base64.b64decode(…))`).
CODE_SINKS = frozenset({"exec", "eval", "compile"})
#: Calls that yield a module from its name.
MODULE_LOADERS = frozenset({"__import__", "importlib.import_module"})
#: `os.environ.<method>()` that hands over every variable.
ENV_WHOLE_METHODS = frozenset({"copy", "items", "keys", "values"})
#: Calls that serialise, copy or enumerate whatever they are given.
ENV_DUMPERS = frozenset(
    {"dict", "str", "repr", "list", "sorted", "json.dumps", "json.dump", "pickle.dumps", "print"}
)
ENVIRON = "os.environ"
GETENV = frozenset({"os.getenv"})


class _Extractor(ast.NodeVisitor):
    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.aliases: dict[str, str] = {}
        self.parents: dict[int, ast.AST] = {}
        self.calls: list[Call] = []
        self.imports: list[Import] = []
        self.env_reads: list[EnvRead] = []
        self.strings: list[StringLit] = []

    def span(self, node: ast.expr | ast.stmt) -> Span:
        return self.columns.span_of(
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset
        )

    # -- values ---------------------------------------------------------------------------

    def fold(self, node: ast.expr | None) -> tuple[str, bool] | None:
        """A constant string and whether it took work to build (concatenation, decoding)."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, False
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.fold(node.left), self.fold(node.right)
            if left is None or right is None:
                return None
            return left[0] + right[0], True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func = node.func
            # ''.join(['o', 's'])
            if (
                func.attr == "join"
                and isinstance(func.value, ast.Constant)
                and isinstance(func.value.value, str)
                and len(node.args) == 1
                and isinstance(node.args[0], ast.List | ast.Tuple)
            ):
                parts = [self.fold(e) for e in node.args[0].elts]
                if any(p is None for p in parts):
                    return None
                return func.value.value.join(p[0] for p in parts if p is not None), True
            # base64.b64decode('…').decode() / bytes.fromhex('…').decode()
            if func.attr == "decode" and isinstance(func.value, ast.Call):
                inner = func.value
                callee = self.path(inner.func)
                if callee is not None and inner.args:
                    arg = self.fold(inner.args[0])
                    if arg is not None:
                        decoded = _decode(callee[0], arg[0])
                        if decoded is not None:
                            return decoded, True
        return None

    def path(self, node: ast.expr | None) -> tuple[str, bool] | None:
        """The dotted path an expression names, through aliases, and whether it was concealed."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id), False
        if isinstance(node, ast.Attribute):
            base = self.path(node.value)
            if base is None:
                return None
            if base[0] in BUILTIN_MODULES:
                return node.attr, base[1]
            return f"{base[0]}.{node.attr}", base[1]
        if isinstance(node, ast.Call):
            callee = self.path(node.func)
            if callee is None:
                return None
            if callee[0] in MODULE_LOADERS and node.args:
                folded = self.fold(node.args[0])
                return folded
            if callee[0] == "getattr" and len(node.args) >= 2:
                base = self.path(node.args[0])
                name = self.fold(node.args[1])
                if base is None or name is None:
                    return None
                concealed = base[1] or name[1]
                if base[0] in BUILTIN_MODULES:
                    return name[0], concealed
                return f"{base[0]}.{name[0]}", concealed
        return None

    # -- visitors -------------------------------------------------------------------------

    def run(self, tree: ast.AST) -> None:
        """Visit every node in source order, with a stack rather than recursion.

        A handler returns whether the node's children are visited. `ast` accepts statements
        nested 2,000 deep (an `elif` chain); a recursive walk would spend two interpreter
        frames a level.
        """
        parents = self.parents
        stack = [tree]
        while stack:
            node = stack.pop()
            # A per-class table rather than `NodeVisitor.visit`'s per-node method-name lookup:
            # half the cost of the walk, which is as much again as `ast.parse` itself.
            method = _DISPATCH.get(type(node))
            if method is not None and not method(self, node):
                continue
            children: list[ast.AST] = []
            for name in node._fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    children.append(value)
                elif isinstance(value, list):
                    children.extend(item for item in value if isinstance(item, ast.AST))
            for child in children:
                parents[id(child)] = node
            stack.extend(reversed(children))

    def visit_Import(self, node: ast.Import) -> bool:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases.setdefault(top, top)
            self.imports.append(Import(self.span(node), alias.name))
        return False

    def visit_ImportFrom(self, node: ast.ImportFrom) -> bool:
        if node.level or not node.module:
            return False  # relative imports name the package's own modules
        self.imports.append(Import(self.span(node), node.module))
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        return False

    def visit_Assign(self, node: ast.Assign) -> bool:
        resolved = self.path(node.value)
        if resolved is not None and isinstance(node.value, ast.Call | ast.Attribute):
            for target in node.targets:
                if isinstance(target, ast.Name) and resolved[0] != ENVIRON:
                    self.aliases[target.id] = resolved[0]
        return True

    def visit_Expr(self, node: ast.Expr) -> bool:
        # A bare string statement is a docstring or a comment in disguise: not data the code uses.
        return not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))

    def visit_Call(self, node: ast.Call) -> bool:
        resolved = self.path(node.func)
        if resolved is not None:
            callee, concealed = resolved
            first = self.fold(node.args[0]) if node.args else None
            span = self.span(node)
            if callee in MODULE_LOADERS and first is not None:
                self.imports.append(Import(span, first[0], first[1]))
            nested: tuple[str, ...] = ()
            if callee in CODE_SINKS:
                nested = tuple(
                    c[0]
                    for arg in node.args
                    for sub in ast.walk(arg)
                    if isinstance(sub, ast.Call) and (c := self.path(sub.func)) is not None
                )
            self.calls.append(
                Call(
                    span,
                    callee,
                    first_arg=first[0] if first is not None else None,
                    first_arg_built=first is not None and first[1],
                    arg_callees=nested,
                    concealed=concealed,
                )
            )
            if callee in GETENV:
                key = first[0] if first is not None else None
                self.env_reads.append(EnvRead(span, False, key))
        return True

    def visit_Attribute(self, node: ast.Attribute) -> bool:
        # Checked before the children (the reads are sorted by position afterwards).
        if self.path(node) == (ENVIRON, False):
            self.env_reads.append(self.env_use(node))
        return True

    def visit_Name(self, node: ast.Name) -> bool:
        if self.aliases.get(node.id) == ENVIRON:
            self.env_reads.append(self.env_use(node))
        return False

    def visit_Constant(self, node: ast.Constant) -> bool:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return False
        span = self.span(node)
        raw = value
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            line = self.columns.lines[node.lineno - 1]
            raw = line[span.col : span.end] or value
        parent = self.parents.get(id(node))
        key = parent.arg if isinstance(parent, ast.keyword) else None
        self.strings.append(StringLit(span, value, raw, key))
        return False

    # -- environment ----------------------------------------------------------------------

    def env_use(self, node: ast.expr) -> EnvRead:
        """How one `os.environ` occurrence is used: one key, or the whole mapping."""
        span = self.span(node)
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.Attribute):
            grand = self.parents.get(id(parent))
            called = isinstance(grand, ast.Call) and grand.func is parent
            if parent.attr in ENV_WHOLE_METHODS and called:
                return EnvRead(span, True)
            if called and isinstance(grand, ast.Call) and grand.args:
                folded = self.fold(grand.args[0])
                return EnvRead(span, False, folded[0] if folded else None)
            return EnvRead(span, False)
        if isinstance(parent, ast.Subscript):
            folded = self.fold(parent.slice)
            return EnvRead(span, False, folded[0] if folded else None)
        if isinstance(parent, ast.Compare):
            folded = self.fold(parent.left)
            return EnvRead(span, False, folded[0] if folded else None)
        if isinstance(parent, ast.Assign | ast.AnnAssign | ast.For | ast.comprehension):
            return EnvRead(span, True)
        if isinstance(parent, ast.Starred | ast.Dict):
            return EnvRead(span, True)  # `{**os.environ}` / `f(*os.environ)`
        if isinstance(parent, ast.keyword) and parent.arg is None:
            return EnvRead(span, True)  # `f(**os.environ)`
        if isinstance(parent, ast.Call):
            callee = self.path(parent.func)
            if callee is not None and callee[0] in ENV_DUMPERS:
                return EnvRead(span, True)
        return EnvRead(span, False)


_DISPATCH: dict[type[ast.AST], Callable[[_Extractor, Any], bool]] = {
    ast.Import: _Extractor.visit_Import,
    ast.ImportFrom: _Extractor.visit_ImportFrom,
    ast.Assign: _Extractor.visit_Assign,
    ast.Expr: _Extractor.visit_Expr,
    ast.Call: _Extractor.visit_Call,
    ast.Attribute: _Extractor.visit_Attribute,
    ast.Name: _Extractor.visit_Name,
    ast.Constant: _Extractor.visit_Constant,
}


def _decode(callee: str, text: str) -> str | None:
    try:
        if callee in ("base64.b64decode", "base64.decodebytes", "b64decode"):
            return base64.b64decode(text, validate=True).decode("latin-1")
        if callee in ("bytes.fromhex", "binascii.unhexlify"):
            return bytes.fromhex(text).decode("latin-1")
    except (binascii.Error, ValueError):  # not a gap: not an encoding, the text stays as is
        return None
    return None


@cache
def _ts_language() -> Language:
    return Language(tree_sitter_python.language())


#: Messages of the `SyntaxError`s CPython 3.11 raises for nesting rather than for syntax.
_DEPTH_MESSAGES = ("too complex", "too many nested", "maximum recursion")


def _expression_depth_over(tree: ast.AST, limit: int) -> bool:
    """Whether nodes below one statement nest more than `limit` deep (a stack, no recursion)."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend(
            (child, 0 if isinstance(child, ast.stmt) else depth + 1)
            for child in ast.iter_child_nodes(node)
        )
    return False


def _reads_as_python(path: str, data: bytes, clock: Clock, sha256: str | None) -> bool | None:
    """Whether tree-sitter-python reads the file with no error; None if its time ran out."""

    def read(offset: int, _point: object) -> bytes:
        return data[offset : offset + 65536]

    try:
        tree = Parser(_ts_language()).parse(read, progress_callback=lambda *_: clock.expired())
    # tree-sitter reports a cancelled parse as ValueError("Parsing failed").
    except ValueError:
        gaps.record(
            f"parse of {path} stopped: time budget of {clock.seconds()} s spent", path, sha256
        )
        return None
    return not tree.root_node.has_error


def parse_module(path: str, text: str, sha256: str | None = None) -> ast.Module | None:
    """The `ast` of a Python file, or None (then text rules judge it); never raises.

    None with a gap recorded (`watcher.gaps`) when the file is not analysable: nesting deeper
    than `MAX_DEPTH` (or than CPython 3.11's parser takes, which 3.13 may compile), a spent
    time budget, or text that neither `ast` nor tree-sitter-python reads. None without a gap
    when `ast` rejects syntax newer than 3.11 that tree-sitter-python reads cleanly.
    """
    clock = Clock()
    try:
        if clock.budget.exhausted():
            gaps.record(
                f"parse of {path} refused: the release's parse-time budget"
                f" of {clock.budget.per_release} s is spent",
                path,
                sha256,
            )
            return None
        try:
            tree = ast.parse(text, filename=path)
        # CPython 3.11 turns deep nesting into RecursionError/MemoryError (3.13 compiles a
        # 3,000-deep attribute chain that 3.11 refuses): a budget, not a syntax verdict.
        except (RecursionError, MemoryError):
            gaps.record(
                f"parse of {path} stopped: nesting deeper than Python 3.11 accepts", path, sha256
            )
            return None
        # ValueError: null bytes in the source.
        except (SyntaxError, ValueError) as error:
            message = str(getattr(error, "msg", error))
            if any(m in message for m in _DEPTH_MESSAGES) and "parenthes" not in message:
                gaps.record(
                    f"parse of {path} stopped: nesting deeper than Python 3.11 accepts",
                    path,
                    sha256,
                )
                return None
            data = text.encode("utf-8", errors="surrogatepass")
            reads = _reads_as_python(path, data, clock, sha256)
            if reads is False:
                line = getattr(error, "lineno", None)
                where = f" (line {line}: {message})" if line else f" ({message})"
                gaps.record(f"parse of {path} failed: not valid Python{where}", path, sha256)
            return None
        if _expression_depth_over(tree, MAX_DEPTH):
            gaps.record(f"parse of {path} stopped: nesting deeper than {MAX_DEPTH}", path, sha256)
            return None
        return tree
    finally:
        clock.stop()


def parse(path: str, source: str) -> Facts | None:
    """Facts of a Python file, or None when it does not parse (see `parse_module`)."""
    columns = Columns(source)
    tree = parse_module(path, columns.text)
    if tree is None:
        return None
    extractor = _Extractor(columns)
    extractor.run(tree)
    by_position = lambda fact: (fact.span.line, fact.span.col)  # noqa: E731
    return Facts(
        language="python",
        calls=tuple(sorted(extractor.calls, key=by_position)),
        imports=tuple(sorted(extractor.imports, key=by_position)),
        env_reads=tuple(sorted(extractor.env_reads, key=by_position)),
        strings=tuple(sorted(extractor.strings, key=by_position)),
    )
