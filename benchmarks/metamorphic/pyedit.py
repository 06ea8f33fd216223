"""Parser-guided edits of Python (`ast` with exact offsets): rewrite nodes on payload lines."""

from __future__ import annotations

import ast
import base64
import codecs
import inspect
import zlib
from collections.abc import Callable

Edit = tuple[int, int, bytes]


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


class Source:
    """A Python file with its tree and a (line, col) -> byte offset map."""

    def __init__(self, text: str) -> None:
        self.src = text.encode()
        self.tree = ast.parse(text)
        self.starts = [0]
        for line in self.src.split(b"\n"):
            self.starts.append(self.starts[-1] + len(line) + 1)
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.src[start:end].decode()

    def inside(self, node: ast.AST, kind: type) -> bool:
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, kind):
                return True
            current = self.parents.get(current)
        return False

    def apply(self, edits: list[Edit]) -> str:
        out, pos = [], 0
        for start, end, repl in sorted(edits, key=lambda e: (e[0], -e[1])):
            if start < pos:
                continue
            out += [self.src[pos:start], repl]
            pos = end
        out.append(self.src[pos:])
        return b"".join(out).decode()


def on_rows(node: ast.AST, rows: set[int]) -> bool:
    return getattr(node, "lineno", 0) in rows


def payload_strings(s: Source, rows: set[int], min_len: int = 4) -> list[ast.Constant]:
    """str constants on payload lines that an expression of equal value can replace."""
    out = []
    for node in ast.walk(s.tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if not on_rows(node, rows) or len(node.value) < min_len:
            continue
        parent = s.parents.get(node)
        if isinstance(parent, ast.Expr):  # docstrings and no-op strings
            continue
        if s.inside(node, ast.JoinedStr) or isinstance(parent, ast.arg | ast.AnnAssign):
            continue
        if isinstance(parent, ast.ImportFrom | ast.alias):
            continue
        out.append(node)
    return out


def rot13(value: str) -> str:
    return codecs.encode(value, "rot13")


ENCODERS: dict[str, Callable[[str], str]] = {
    "concat": lambda v: "(" + " + ".join(repr(v[i : i + 5]) for i in range(0, len(v), 5)) + ")",
    "fromhex": lambda v: f"bytes.fromhex({v.encode().hex()!r}).decode()",
    "b64decode": lambda v: (
        f"__import__('base64').b64decode({base64.b64encode(v.encode())!r}).decode()"
    ),
    "rot13": lambda v: f"__import__('codecs').decode({rot13(v)!r}, 'rot13')",
    "join": lambda v: (
        "''.join([" + ", ".join(repr(v[i : i + 7]) for i in range(0, len(v), 7)) + "])"
    ),
    "zlib": lambda v: (
        f"__import__('zlib').decompress(bytes.fromhex({zlib.compress(v.encode()).hex()!r})).decode()"
    ),
}


def import_rewrites(s: Source, rows: set[int], style: str) -> list[Edit]:
    """`import a.b` / `from a import x` on payload lines as calls to a loader.

    style "dunder": `__import__`; "importlib": `importlib.import_module`.
    """
    edits: list[Edit] = []
    loader = "__import__('importlib').import_module"
    for node in ast.walk(s.tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or not on_rows(node, rows):
            continue
        if node.lineno != node.end_lineno:
            continue
        parts = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if style == "dunder":
                    if alias.asname:
                        parts.append(f"{alias.asname} = {loader}({alias.name!r})")
                    else:
                        parts.append(f"{top} = __import__({alias.name!r})")
                else:
                    bound = alias.asname or top
                    target = alias.name if alias.asname else top
                    if alias.asname is None and alias.name != top:
                        parts.append(f"{loader}({alias.name!r})")
                    parts.append(f"{bound} = {loader}({target!r})")
        else:
            if node.level or node.module is None or any(a.name == "*" for a in node.names):
                continue
            for alias in node.names:
                bound = alias.asname or alias.name
                if style == "dunder":
                    call = f"__import__({node.module!r}, fromlist=[{alias.name!r}])"
                else:
                    call = f"{loader}({node.module!r})"
                parts.append(f"{bound} = {call}.{alias.name}")
        start, end = s.span(node)
        edits.append((start, end, "; ".join(parts).encode()))
    return edits


def attributes(s: Source, rows: set[int]) -> list[ast.Attribute]:
    """Attribute loads on payload lines."""
    return [
        n
        for n in ast.walk(s.tree)
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and on_rows(n, rows)
    ]


def is_module_attr(node: ast.Attribute, module: str, attr: str) -> bool:
    return isinstance(node.value, ast.Name) and node.value.id == module and node.attr == attr


def tool_docstrings(s: Source, rows: set[int]) -> list[tuple[ast.Call, ast.Expr, str]]:
    """(decorator call, docstring statement, text) of MCP tools (`@x.tool(...)`) whose
    docstring is their description and sits on payload lines."""
    out = []
    for node in ast.walk(s.tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or len(node.body) < 2:
            continue
        first = node.body[0]
        if not (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
            and on_rows(first, rows)
        ):
            continue
        out.extend(
            (deco, first, first.value.value)
            for deco in node.decorator_list
            if isinstance(deco, ast.Call)
            and isinstance(deco.func, ast.Attribute)
            and deco.func.attr == "tool"
            and not any(k.arg == "description" for k in deco.keywords)
        )
    return out


def description_edits(s: Source, rows: set[int], encode: Callable[[str], str]) -> list[Edit]:
    """Move each tool docstring into `description=` of its decorator, spelled by `encode`.

    FastMCP takes the description from the keyword when given, else from the docstring."""
    edits: list[Edit] = []
    for call, doc, text in tool_docstrings(s, rows):
        start, end = s.span(call)
        head = s.src[start : end - 1].decode()
        sep = "" if head.endswith("(") else ", "
        value = encode(inspect.cleandoc(text))
        edits.append((start, end, f"{head}{sep}description={value})".encode()))
        d_start, d_end = s.span(doc)
        edits.append((d_start, d_end, b"pass"))
    return edits
