"""Static extraction of MCP surfaces from Python source, with `ast` (parsed, never imported).

Shapes recognised (tools unless said otherwise):

* decorated functions: `@mcp.tool`, `@mcp.tool()`, `@server.tool("name")`,
  `@app.tool(name=..., description=...)` (FastMCP and the `mcp` SDK). The tool is named after the
  function unless `name` is given; the docstring is the description unless `description` is.
  Parameters come from the signature (`self`, `cls` and the injected `Context` left out), with
  descriptions from `Annotated[T, Field(description=...)]`, `Annotated[T, "text"]` or a
  `= Field(description=...)` default;
* `Tool(name=..., description=..., inputSchema={...})` calls (`types.Tool`, `mcp.types.Tool`);
* dict literals `{"name": ..., "description": ..., "inputSchema": {...}}`;
* prompts and resources: `@mcp.prompt(...)`, `@mcp.resource("uri", ...)`, as tools;
* server instructions: `FastMCP("name", instructions=...)`, `Server("name", instructions=...)`;
* fixed text returned to the model: string `return`s of tool/prompt/resource functions and
  `TextContent(type="text", text=...)` anywhere.

Strings may be literals, implicit or `+` concatenations, `textwrap.dedent(...)`/`.strip()` of
one, f-strings (substitutions shown as `{…}`), names bound once at module level, names imported
from another module of the package (`from .texts import DESCRIPTION`), and files of the package
read at load: `(Path(__file__).parent / "x.md").read_text()`, `open(os.path.join(HERE, "x.md"))
.read()`, `importlib.resources.files(__package__).joinpath("x.md").read_text()`,
`importlib.resources.read_text(pkg, "x.md")`, `pkgutil.get_data(__name__, "x.md").decode()`.
Other files are read through the `Loader` the caller sets with `using_loader` (the snapshot's
files, never the disk).
"""

from __future__ import annotations

import ast
import inspect
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from watcher.gaps import record as record_gap
from watcher.mcp.base import (
    EXTRACTING,
    INSTRUCTIONS,
    PROMPT,
    RESOURCE,
    RESPONSE,
    TOOL,
    Loader,
    Tool,
)
from watcher.parse.python import fold_string, nodes_of, parse_module

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


#: Sentinel path of the module file itself (`__file__`), before `.parent` makes it a folder.
_FILE = "\0file"
#: How far a constant is followed through imports (`server.py` → `tools.py` → `texts.py`).
_MAX_HOPS = 3
#: Server classes whose `instructions` argument the model reads at initialization.
_SERVER_CLASSES = frozenset({"FastMCP", "Server", "MCPServer", "McpServer", "LowLevelServer"})
#: Decorator attributes that declare a surface: `@mcp.tool`, `@mcp.prompt`, `@mcp.resource`.
_DECORATORS = {"tool": TOOL, "prompt": PROMPT, "resource": RESOURCE}
#: Call names that reach the network (`requests.post`, `httpx.AsyncClient().get`, `urlopen`).
_NETWORK_ROOTS = ("requests", "httpx", "aiohttp", "urllib", "urlopen", "session", "client", "http")
_NETWORK_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "request", "urlopen", "send", "stream", "fetch"}
)


@dataclass
class _Context:
    """What extraction of one file may read beyond it: the snapshot's other files."""

    loader: Loader
    #: `_Strings` of every module parsed so far in this extraction, by artifact path.
    modules: dict[str, _Strings] = field(default_factory=dict)
    #: Modules being resolved now (an import cycle stops here).
    active: set[str] = field(default_factory=set)


_CONTEXT: ContextVar[_Context | None] = ContextVar("watcher_mcp_python", default=None)


@contextmanager
def using_loader(loader: Loader) -> Iterator[None]:
    """Let `python_tools` resolve imports and files read at load through `loader`."""
    token = _CONTEXT.set(_Context(loader))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def _dotted(node: ast.expr) -> str:
    """`a.b.c` for attribute chains and calls on them (`a.b().c` → `a.b.c`), else ""."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        else:
            return ".".join(reversed(parts))


def _join(base: str | None, part: str | None) -> str | None:
    if base is None or part is None:
        return None
    if base == _FILE:  # `Path(__file__) / "x"` is not meaningful; treat as the folder
        base = "."
    return posixpath.join(base, part) if not part.startswith("/") else part


class _Strings:
    """Static string values, with module-level `NAME = "..."` bindings resolved."""

    def __init__(self, module: ast.Module, path: str = "") -> None:
        self.path = path
        self.context = _CONTEXT.get()
        #: The artifact path of the last file a value was read from (imports, `x.md`).
        self.loaded: str | None = None
        #: Names imported at module level: local name -> (module, level, imported name).
        self.imports: dict[str, tuple[str, int, str]] = {}
        self.names: dict[str, ast.expr | None] = {}
        for stmt in module.body:
            if isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    local = alias.asname or alias.name
                    self.imports[local] = (stmt.module or "", stmt.level, alias.name)
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
        if isinstance(node, ast.Call) and self.context is not None:
            read = self._read(node, depth)
            if read is not None:
                return read
        if isinstance(node, ast.Call) and _callee_name(node.func) in _STRING_METHODS:
            if node.args:  # dedent("...")
                inner = self.value(node.args[0], depth + 1)
                return inspect.cleandoc(inner) if inner is not None else None
            if isinstance(node.func, ast.Attribute):  # "...".strip()
                inner = self.value(node.func.value, depth + 1)
                return inner.strip() if inner is not None else None
            return None
        if isinstance(node, ast.Name) and node.id not in self._resolving:
            self._resolving.add(node.id)  # also ends import cycles (a imports b imports a)
            try:
                if node.id not in self.names and node.id in self.imports:
                    return self._imported(*self.imports[node.id])
                return self.value(self.names.get(node.id), depth + 1)
            finally:
                self._resolving.discard(node.id)
        if isinstance(node, ast.Call | ast.BinOp | ast.Subscript):
            # Joined, decoded or char-coded text (`base64.b64decode(…).decode()`): what the
            # model is told is what it decodes to.
            constants = {k: v for k, v in self.names.items() if v is not None}
            folded = fold_string(node, constants)
            return folded[0] if folded is not None else None
        return None

    # --- other files of the package -------------------------------------------------------------

    def _imported(self, module: str, level: int, name: str) -> str | None:
        """The string another module of the package binds to `name` (`from .texts import X`)."""
        context = self.context
        if context is None or len(context.active) >= _MAX_HOPS:
            return None
        if level:  # relative to this module's folder: `.` is it, `..` its parent
            base = posixpath.join(".", *[".."] * (level - 1))
            stem = posixpath.join(base, *module.split(".")) if module else base
        else:  # `from pkg.texts import X`: the package's own module, wherever its root is
            stem = "/" + module.replace(".", "/")
        for candidate in (stem + ".py", stem + "/__init__.py"):
            target = self._normal(candidate)
            if target is None or target in context.active:
                continue
            strings = context.modules.get(target)
            if strings is None:
                text = self._load(candidate)
                if text is None:
                    continue
                context.active.add(target)
                try:
                    python_tools(target, text)  # parses it and registers its `_Strings`
                finally:
                    context.active.discard(target)
                strings = context.modules.get(target)
            if strings is not None:
                strings.loaded = None
                value = strings.value(ast.Name(name, ast.Load()))
                self.loaded = strings.loaded or target
                return value
        return None

    def _normal(self, relative: str) -> str | None:
        if relative.startswith("/"):
            return relative.lstrip("/")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(self.path), relative))
        return None if joined.startswith("..") else joined

    def _load(self, relative: str) -> str | None:
        if self.context is None:
            return None
        self.loaded = self._normal(relative)
        if relative.startswith("/"):
            return self.context.loader("", relative.lstrip("/"))
        return self.context.loader(self.path, relative)

    def _read(self, call: ast.Call, depth: int) -> str | None:
        """The text of a package file read at load, when its path is static."""
        callee = _callee_name(call.func)
        func = call.func
        if callee == "decode" and isinstance(func, ast.Attribute):
            inner = func.value
            return self._read(inner, depth + 1) if isinstance(inner, ast.Call) else None
        if callee in ("read_text", "read", "read_bytes") and isinstance(func, ast.Attribute):
            if len(call.args) >= 2 and callee == "read_text":  # resources.read_text(pkg, name)
                return self._load_path(self._package_file(call.args[0], call.args[1], depth))
            target = func.value
            if isinstance(target, ast.Call) and _callee_name(target.func) == "open":
                target = target.args[0] if target.args else target
            return self._load_path(self.path_of(target, depth + 1))
        if callee == "get_data" and len(call.args) >= 2:  # pkgutil.get_data(__name__, name)
            return self._load_path(self._package_file(call.args[0], call.args[1], depth))
        return None

    def _load_path(self, path: str | None) -> str | None:
        return self._load(path) if path is not None and path != _FILE else None

    def _package_file(self, package: ast.expr, name: ast.expr, depth: int) -> str | None:
        return _join(self._package_dir(package), self.value(name, depth + 1))

    def _package_dir(self, node: ast.expr) -> str | None:
        """The folder of a package named by `__package__`, `__name__` or a dotted literal."""
        if isinstance(node, ast.Name) and node.id in ("__package__", "__name__", "__spec__"):
            return "."
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str):
            return "/" + text.replace(".", "/")
        return None

    def path_of(self, node: ast.expr | None, depth: int = 0) -> str | None:
        """A path expression relative to this module's folder ("/..." from the package root),
        `_FILE` for the module file itself, None when not static."""
        if node is None or depth > 24:
            return None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return _FILE
            if node.id in self.names and node.id not in self._resolving:
                self._resolving.add(node.id)
                try:
                    return self.path_of(self.names[node.id], depth + 1)
                finally:
                    self._resolving.discard(node.id)
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value if node.value.startswith("..") else "/" + node.value
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            return self._parent(self.path_of(node.value, depth + 1))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            right = self.value(node.right, depth + 1)
            return _join(self.path_of(node.left, depth + 1), right)
        if not isinstance(node, ast.Call):
            return None
        callee = _callee_name(node.func)
        func = node.func
        if callee in ("resolve", "absolute", "abspath", "realpath", "expanduser", "Path"):
            if callee == "Path" or isinstance(func, ast.Name) or func_is_os_path(func):
                if not node.args:
                    return None
                base = self.path_of(node.args[0], depth + 1)
                for extra in node.args[1:]:
                    base = _join(base, self.value(extra, depth + 1))
                return base
            return self.path_of(func.value, depth + 1) if isinstance(func, ast.Attribute) else None
        if callee == "dirname" and node.args:
            return self._parent(self.path_of(node.args[0], depth + 1))
        if callee in ("join", "joinpath"):
            if callee == "joinpath" and isinstance(func, ast.Attribute):
                base, parts = self.path_of(func.value, depth + 1), node.args
            else:
                base, parts = self.path_of(node.args[0], depth + 1), node.args[1:]
            for part in parts:
                base = _join(base, self.value(part, depth + 1))
            return base
        if callee == "files" and node.args:  # importlib.resources.files(__package__)
            return self._package_dir(node.args[0])
        return None

    def _parent(self, path: str | None) -> str | None:
        if path is None:
            return None
        if path == _FILE:
            return "."
        return posixpath.join(path, "..")

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


def func_is_os_path(func: ast.expr) -> bool:
    """`os.path.abspath`, `os.path.realpath`: a function of its argument, not a method."""
    return isinstance(func, ast.Attribute) and _dotted(func.value).endswith("path")


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


def _surface_decorator(decorator: ast.expr) -> tuple[str, ast.Call | ast.Attribute] | None:
    """(kind, decorator) if it is `@x.tool`, `@x.prompt(...)`, `@x.resource("uri")`... in any
    spelling of the member: `@getattr(x, "tool")(...)`, `@getattr(x, "to" + "ol")`."""
    fetched = _fetched_member(decorator)
    if fetched is not None:  # `@getattr(x, "tool")`: the member itself, not called
        return (_DECORATORS[fetched.attr], fetched) if fetched.attr in _DECORATORS else None
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    target = _fetched_member(target) or target
    if isinstance(target, ast.Attribute) and target.attr in _DECORATORS:
        if isinstance(decorator, ast.Call | ast.Attribute):
            return _DECORATORS[target.attr], decorator
    return None


def _fetched_member(node: ast.expr) -> ast.Attribute | None:
    """`getattr(x, <constant>)` as the `x.<constant>` it reads."""
    if not (isinstance(node, ast.Call) and _callee_name(node.func) == "getattr"):
        return None
    if len(node.args) < 2:
        return None
    folded = fold_string(node.args[1], {})
    if folded is None or not folded[0].isidentifier():
        return None
    return ast.Attribute(value=node.args[0], attr=folded[0], ctx=ast.Load())


def _optional_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Parameters a caller may leave out: a default, or `Optional[...]`/`X | None`."""
    args = fn.args
    positional = [*args.posonlyargs, *args.args]
    optional = {a.arg for a in positional[len(positional) - len(args.defaults) :]}
    optional |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    for arg in [*positional, *args.kwonlyargs]:
        note = ast.unparse(arg.annotation) if arg.annotation is not None else ""
        if "Optional" in note or "None" in note:
            optional.add(arg.arg)
    return frozenset(optional)


def _sends(fn: ast.FunctionDef | ast.AsyncFunctionDef, names: frozenset[str]) -> frozenset[str]:
    """Parameters passed (by name) into a network call in the function's body."""
    found: set[str] = set()
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call) or _callee_name(node.func) not in _NETWORK_METHODS:
            continue
        dotted = _dotted(node.func).lower()
        if not any(root in dotted for root in _NETWORK_ROOTS):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            found |= {n.id for n in ast.walk(arg) if isinstance(n, ast.Name) and n.id in names}
    return frozenset(found)


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
        self.strings = _Strings(module, path)
        context = _CONTEXT.get()
        if context is not None:  # other files' imports of this module read its constants
            context.modules[path] = self.strings

    def tools(self) -> Iterator[Tool]:
        """Every surface under a loader (`python_surfaces`), the tools only without one."""
        every = _CONTEXT.get() is not None
        return (t for t in self._surfaces() if every or t.kind == TOOL)

    def _surfaces(self) -> Iterator[Tool]:
        for node in nodes_of(self.module):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from self._decorated(node)
            elif isinstance(node, ast.Call):
                callee = _callee_name(node.func)
                if callee == "Tool":
                    yield from self._tool_call(node)
                elif callee in _SERVER_CLASSES:
                    yield from self._instructions(node)
                elif callee == "TextContent":
                    yield from self._text_content(node)
            elif isinstance(node, ast.Dict):
                yield from self._tool_dict(node)

    def _decorated(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[Tool]:
        for decorator in fn.decorator_list:
            found = _surface_decorator(decorator)
            if found is None:
                continue
            kind, call = found
            name: str | None = fn.name
            description = ast.get_docstring(fn, clean=True) or ""
            origin = None
            if isinstance(call, ast.Call):
                given = _keyword(call, "name") or (call.args[0] if call.args else None)
                if given is not None:
                    name = self.strings.value(given)
                text, loaded = self._text(_keyword(call, "description"))
                if text is not None:
                    description, origin = text, loaded
            if name:
                params = _signature_params(fn, self.strings) if kind != RESOURCE else ()
                names = frozenset(p for p, _ in params)
                yield Tool(
                    name,
                    description,
                    params,
                    self.path,
                    decorator.lineno,
                    kind,
                    _optional_params(fn) & names,
                    _sends(fn, names),
                    origin,
                )
                yield from self._returns(fn, name)
            return

    def _text(self, node: ast.expr | None) -> tuple[str | None, str | None]:
        """A static string and the other file it was read from (None: written here)."""
        self.strings.loaded = None
        text = self.strings.value(node)
        return text, self.strings.loaded if text is not None else None

    def _returns(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, owner: str) -> Iterator[Tool]:
        """Fixed strings the function returns to the model."""
        for node in ast.walk(fn):
            if isinstance(node, ast.Return) and node.value is not None:
                text = self.strings.value(node.value)
                if text and text.replace("{…}", "").strip():
                    yield Tool(owner, text, (), self.path, node.lineno, RESPONSE)

    def _instructions(self, call: ast.Call) -> Iterator[Tool]:
        node = _keyword(call, "instructions")
        text, origin = self._text(node) if node is not None else (None, None)
        if text:
            given = _keyword(call, "name") or (call.args[0] if call.args else None)
            name = self.strings.value(given) or "server"
            yield Tool(name, text, (), self.path, call.lineno, INSTRUCTIONS, origin=origin)

    def _text_content(self, call: ast.Call) -> Iterator[Tool]:
        text = self.strings.value(_keyword(call, "text"))
        if text and text.replace("{…}", "").strip():
            yield Tool("", text, (), self.path, call.lineno, RESPONSE)

    def _tool_call(self, call: ast.Call) -> Iterator[Tool]:
        name = self.strings.value(_keyword(call, "name"))
        if not name:
            return
        description = self.strings.value(_keyword(call, "description")) or ""
        schema = next((v for k in _SCHEMA_KEYS if (v := _keyword(call, k)) is not None), None)
        params = _schema_params(schema, self.strings)
        yield Tool(name, description, params, self.path, call.lineno)

    def _tool_dict(self, node: ast.Dict) -> Iterator[Tool]:
        keys = node.keys
        if all(isinstance(k, ast.Constant) and k.value not in _SCHEMA_KEYS[:2] for k in keys):
            return  # literal keys and no schema among them: not a tool, resolve nothing
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


def python_surfaces(path: str, text: str, loader: Loader | None = None) -> list[Tool]:
    """Every MCP surface a Python file declares; `loader` (given, or set by
    `tools.iter_surfaces`) reads the package's other files. Without one: its tools only."""
    loader = loader if loader is not None else EXTRACTING.get()
    if loader is None or _CONTEXT.get() is not None:
        return python_tools(path, text)
    with using_loader(loader):
        return python_tools(path, text)


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
