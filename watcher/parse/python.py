"""Python facts with the standard library's `ast` (the code is parsed, never run or imported)."""

from __future__ import annotations

import ast
import base64
import binascii
from collections.abc import Callable
from typing import Any

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

    def visit(self, node: ast.AST) -> None:
        # `NodeVisitor.visit` builds the method name per node; a per-class table is half the
        # cost of the walk, which is as much again as `ast.parse` itself.
        method = _DISPATCH.get(type(node))
        if method is None:
            self.generic_visit(node)
        else:
            method(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        parents = self.parents
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                parents[id(value)] = node
                self.visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        parents[id(item)] = node
                        self.visit(item)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases.setdefault(top, top)
            self.imports.append(Import(self.span(node), alias.name))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports name the package's own modules
        self.imports.append(Import(self.span(node), node.module))
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def visit_Assign(self, node: ast.Assign) -> None:
        resolved = self.path(node.value)
        if resolved is not None and isinstance(node.value, ast.Call | ast.Attribute):
            for target in node.targets:
                if isinstance(target, ast.Name) and resolved[0] != ENVIRON:
                    self.aliases[target.id] = resolved[0]
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        # A bare string statement is a docstring or a comment in disguise: not data the code uses.
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
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
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)
        if self.path(node) == (ENVIRON, False):
            self.env_reads.append(self.env_use(node))

    def visit_Name(self, node: ast.Name) -> None:
        if self.aliases.get(node.id) == ENVIRON:
            self.env_reads.append(self.env_use(node))

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(value, str):
            return
        span = self.span(node)
        raw = value
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            line = self.columns.lines[node.lineno - 1]
            raw = line[span.col : span.end] or value
        parent = self.parents.get(id(node))
        key = parent.arg if isinstance(parent, ast.keyword) else None
        self.strings.append(StringLit(span, value, raw, key))

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


_DISPATCH: dict[type[ast.AST], Callable[[_Extractor, Any], None]] = {
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
    except (binascii.Error, ValueError):
        return None
    return None


def parse(path: str, source: str) -> Facts | None:
    """Facts of a Python file, or None when it is not valid Python 3 (e.g. Python 2 code)."""
    columns = Columns(source)
    try:
        tree = ast.parse(columns.text, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    extractor = _Extractor(columns)
    try:
        extractor.visit(tree)
    except RecursionError:
        return None
    by_position = lambda fact: (fact.span.line, fact.span.col)  # noqa: E731
    return Facts(
        language="python",
        calls=tuple(sorted(extractor.calls, key=by_position)),
        imports=tuple(sorted(extractor.imports, key=by_position)),
        env_reads=tuple(sorted(extractor.env_reads, key=by_position)),
        strings=tuple(sorted(extractor.strings, key=by_position)),
    )
