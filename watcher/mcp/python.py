"""Static extraction of MCP tools from Python source, with `ast` (parsed, never imported).

Shapes recognised:

* decorated functions: `@mcp.tool`, `@mcp.tool()`, `@server.tool("name")`,
  `@app.tool(name=..., description=...)` (FastMCP and the `mcp` SDK). The tool is named after the
  function unless `name` is given; the docstring is the description unless `description` is.
  Parameters come from the signature (`self`, `cls` and the injected `Context` left out), with
  descriptions from `Annotated[T, Field(description=...)]`, `Annotated[T, "text"]` or a
  `= Field(description=...)` default;
* `Tool(name=..., description=..., inputSchema={...})` calls (`types.Tool`, `mcp.types.Tool`);
* dict literals `{"name": ..., "description": ..., "inputSchema": {...}}`.

Strings may be literals, implicit or `+` concatenations, `textwrap.dedent(...)`/`.strip()` of
one, f-strings (substitutions shown as `{…}`), or names bound once at module level.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator

from watcher.gaps import record as record_gap
from watcher.mcp.base import Tool
from watcher.parse.python import parse_module

_SCHEMA_KEYS = ("inputSchema", "input_schema", "parameters")
#: Methods of str that keep a literal's meaning for a reader (`"""...""".strip()`).
_STRING_METHODS = frozenset({"strip", "lstrip", "rstrip", "dedent", "cleandoc"})
_SKIPPED_PARAMS = frozenset({"self", "cls"})


def _callee_name(node: ast.expr) -> str | None:
    """`Tool` for `Tool`, `types.Tool`, `mcp.types.Tool`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Strings:
    """Static string values, with module-level `NAME = "..."` bindings resolved."""

    def __init__(self, module: ast.Module) -> None:
        self.names: dict[str, ast.expr | None] = {}
        for stmt in module.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            for target in targets:
                if isinstance(target, ast.Name):
                    # Bound twice: which one the tool sees depends on execution order.
                    known = target.id in self.names
                    self.names[target.id] = None if known else value
        self._resolving: set[str] = set()

    def value(self, node: ast.expr | None, depth: int = 0) -> str | None:
        """The string `node` evaluates to, if static."""
        # Deep enough for a long `"a" + "b" + ...` chain (one level per `+`), bounded for abuse.
        if node is None or depth > 200:
            return None
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                text = self.value(part, depth + 1) if isinstance(part, ast.Constant) else None
                parts.append(text if text is not None else "{…}")
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left, depth + 1), self.value(node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Call) and _callee_name(node.func) in _STRING_METHODS:
            if node.args:  # dedent("...")
                inner = self.value(node.args[0], depth + 1)
                return inspect.cleandoc(inner) if inner is not None else None
            if isinstance(node.func, ast.Attribute):  # "...".strip()
                inner = self.value(node.func.value, depth + 1)
                return inner.strip() if inner is not None else None
            return None
        if isinstance(node, ast.Name) and node.id not in self._resolving:
            self._resolving.add(node.id)
            try:
                return self.value(self.names.get(node.id), depth + 1)
            finally:
                self._resolving.discard(node.id)
        return None

    def dict(self, node: ast.expr | None, depth: int = 0) -> dict[str, ast.expr] | None:
        """A dict literal (or a module-level name bound to one) as str key -> value node."""
        if isinstance(node, ast.Name) and depth < 8:
            return self.dict(self.names.get(node.id), depth + 1)
        if isinstance(node, ast.Call) and _callee_name(node.func) == "dict":
            return {k.arg: k.value for k in node.keywords if k.arg is not None}
        if not isinstance(node, ast.Dict):
            return None
        out: dict[str, ast.expr] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            text = self.value(key) if key is not None else None
            if text is not None:
                out.setdefault(text, value)
        return out


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _field_description(node: ast.expr | None, strings: _Strings) -> str | None:
    """The description given by `Field(description=...)` (or `Field(..., description=...)`)."""
    if isinstance(node, ast.Call) and _callee_name(node.func) == "Field":
        return strings.value(_keyword(node, "description"))
    return None


def _annotation_description(node: ast.expr | None, strings: _Strings) -> str | None:
    """The description inside `Annotated[T, Field(description=...)]` or `Annotated[T, "..."]`."""
    if not isinstance(node, ast.Subscript) or _callee_name(node.value) != "Annotated":
        return None
    if not isinstance(node.slice, ast.Tuple):
        return None
    for meta in node.slice.elts[1:]:
        text = _field_description(meta, strings)
        if text is None:
            text = strings.value(meta)
        if text is not None:
            return text
    return None


def _is_context(annotation: ast.expr | None) -> bool:
    """`ctx: Context` (or `Context[...]`, `"Context"`) is injected by FastMCP, not model input."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant):
        name = annotation.value if isinstance(annotation.value, str) else None
    elif isinstance(annotation, ast.Subscript):
        name = _callee_name(annotation.value)
    else:
        name = _callee_name(annotation)
    return name is not None and name.endswith("Context")


def _signature_params(
    fn: ast.FunctionDef | ast.AsyncFunctionDef, strings: _Strings
) -> tuple[tuple[str, str], ...]:
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    # Defaults align with the last positional parameters; keyword-only ones have their own.
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    pairs = [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    params = []
    for arg, default in pairs:
        if arg.arg in _SKIPPED_PARAMS or _is_context(arg.annotation):
            continue
        description = _annotation_description(arg.annotation, strings)
        if description is None:
            description = _field_description(default, strings)
        params.append((arg.arg, description or ""))
    return tuple(params)


def _tool_decorator(decorator: ast.expr) -> ast.Call | ast.Attribute | None:
    """The decorator if it is `@x.tool` or `@x.tool(...)`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute) and target.attr == "tool":
        return decorator if isinstance(decorator, ast.Call | ast.Attribute) else None
    return None


def _schema_params(node: ast.expr | None, strings: _Strings) -> tuple[tuple[str, str], ...]:
    """(name, description) pairs of a JSON Schema dict's `properties`."""
    schema = strings.dict(node)
    properties = strings.dict(schema.get("properties")) if schema else None
    if not properties:
        return ()
    params = []
    for name, value in properties.items():
        prop = strings.dict(value)
        description = strings.value(prop.get("description")) if prop else None
        params.append((name, description or ""))
    return tuple(params)


class _Visitor:
    def __init__(self, path: str, module: ast.Module) -> None:
        self.path = path
        self.module = module
        self.strings = _Strings(module)

    def tools(self) -> Iterator[Tool]:
        for node in ast.walk(self.module):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from self._decorated(node)
            elif isinstance(node, ast.Call) and _callee_name(node.func) == "Tool":
                yield from self._tool_call(node)
            elif isinstance(node, ast.Dict):
                yield from self._tool_dict(node)

    def _decorated(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Tool]:
        for decorator in fn.decorator_list:
            found = _tool_decorator(decorator)
            if found is None:
                continue
            name: str | None = fn.name
            description = ast.get_docstring(fn, clean=True) or ""
            if isinstance(found, ast.Call):
                given = _keyword(found, "name") or (found.args[0] if found.args else None)
                if given is not None:
                    name = self.strings.value(given)
                text = self.strings.value(_keyword(found, "description"))
                if text is not None:
                    description = text
            if name:
                params = _signature_params(fn, self.strings)
                yield Tool(name, description, params, self.path, decorator.lineno)
            return

    def _tool_call(self, call: ast.Call) -> Iterator[Tool]:
        name = self.strings.value(_keyword(call, "name"))
        if not name:
            return
        description = self.strings.value(_keyword(call, "description")) or ""
        schema = next((v for k in _SCHEMA_KEYS if (v := _keyword(call, k)) is not None), None)
        params = _schema_params(schema, self.strings)
        yield Tool(name, description, params, self.path, call.lineno)

    def _tool_dict(self, node: ast.Dict) -> Iterator[Tool]:
        entries = self.strings.dict(node)
        if not entries or "name" not in entries:
            return
        schema = next((entries[k] for k in _SCHEMA_KEYS[:2] if k in entries), None)
        if schema is None:
            return
        name = self.strings.value(entries["name"])
        if name:
            description = self.strings.value(entries.get("description")) or ""
            params = _schema_params(schema, self.strings)
            yield Tool(name, description, params, self.path, node.lineno)


def python_tools(path: str, text: str) -> list[Tool]:
    """The tools a Python file declares, in source order; [] if it does not parse."""
    # Hostile, too deep, or syntax `ast` on 3.11 does not read: no tools rather than a failed
    # rule; `parse_module` records a gap when the file could not be analysed.
    module = parse_module(path, text)
    if module is None:
        return []
    try:
        tools = list(_Visitor(path, module).tools())
    except RecursionError:
        record_gap(f"MCP tool extraction of {path} stopped: nesting too deep", path=path)
        return []
    return sorted(tools, key=lambda tool: tool.line)
