"""Where a use of the whole environment goes: to a child process, or anywhere else.

Handing the environment to a child process (`execFile('git', args, {env: {...process.env,
LC_ALL: 'C'}})`, `subprocess.run(cmd, env={**os.environ, 'X': '1'})`) is what every CLI
wrapper does: the child inherits the environment anyway, and nothing leaves the machine. An
environment dump is the whole environment reaching the network, a file, a log or a serialiser.
So a whole-environment use counts as "for a child" only when every path it takes, through
object copies, spreads, `Object.assign`/`dict`/`.copy()`, variables and option objects, ends as
the `env` option of a process-starting call; anything else (an unknown call, a return, a
serialiser, a variable used elsewhere) keeps it a dump. Failing toward "dump" keeps the rule
closed: this only ever weakens a finding whose whole route is seen.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from watcher.parse import Call, EnvRead, Facts

#: How far one use is followed (variables and option objects): deep flows are not the honest
#: shape, and each step may fan out to every use of a name.
MAX_HOPS = 4
#: Uses of one variable looked at before giving up (the answer is then "dump").
MAX_USES = 16
#: Node types a copy of the environment passes through unchanged in meaning (JS).
_JS_THROUGH = frozenset(
    {"spread_element", "object", "parenthesized_expression", "await_expression"}
)
#: Calls that copy the objects they are given into one (JS, Python).
_COPIERS_JS = frozenset({"Object.assign"})
_COPIERS_PY = frozenset({"dict"})


@cache
def js_language(dialect: str) -> Language:
    if dialect == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    if dialect == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_javascript.language())


#: Route steps one judgement may take in all (each a use followed): past it, the answer is
#: "dump" (hostile files with thousands of aliases cost a bounded amount).
MAX_STEPS = 256


@dataclass(frozen=True, slots=True)
class JsIndex:
    """A JS/TS syntax tree with its identifiers by name, built once per file content."""

    root: Node
    names: dict[str, list[Node]]

    def uses(self, name: Node, scope: Node | None = None) -> list[Node] | None:
        """Other occurrences of `name`'s identifier (within `scope`); None past `MAX_USES`."""
        ident = _node_text(name)
        found = [
            n
            for n in self.names.get(ident, ())
            if n.start_byte != name.start_byte
            and (scope is None or scope.start_byte <= n.start_byte < scope.end_byte)
        ]
        return found if len(found) <= MAX_USES else None


@lru_cache(maxsize=8)
def js_index(data: bytes, dialect: str) -> JsIndex:
    """The tree and identifier index of a file (a second parse: the file already parsed within
    its budget for its facts; cached, so every hit in the file shares it)."""
    root = Parser(js_language(dialect)).parse(data).root_node
    names: dict[str, list[Node]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "shorthand_property_identifier"):
            names.setdefault(_node_text(node), []).append(node)
        stack.extend(node.children)
    return JsIndex(root, names)


@dataclass(frozen=True, slots=True)
class PyIndex:
    """A Python module's tree with each node's parent and the loads of each name."""

    tree: ast.Module
    parents: dict[int, ast.AST]
    loads: dict[str, list[ast.Name]]
    #: Expressions by their first line.
    lines: dict[int, list[ast.expr]]


@lru_cache(maxsize=8)
def py_index(text: str) -> PyIndex | None:
    """The `ast` index of a file, or None when it does not parse here (callers: "cannot tell")."""
    try:
        tree = ast.parse(text)
    # The file parsed for its facts (any gap is recorded there); failing here only means
    # "cannot tell", and callers then keep the finding at its full severity.
    # not a gap: see above
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    parents: dict[int, ast.AST] = {}
    loads: dict[str, list[ast.Name]] = {}
    lines: dict[int, list[ast.expr]] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.setdefault(node.id, []).append(node)
        if isinstance(node, ast.expr):
            lines.setdefault(node.lineno, []).append(node)
    return PyIndex(tree, parents, loads, lines)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What every judgement on one parsed file shares: its lines, calls by position, and the
    syntax index (`js`, or `py` — None when Python's `ast` does not read it here)."""

    facts: Facts
    lines: list[str]
    callee_at: dict[tuple[int, int], str]
    js: JsIndex | None
    py: PyIndex | None
    #: Positions of the calls a predicate accepts (process starts), by predicate.
    exec_starts: dict[Callable[[Call, bool], bool], set[tuple[int, int]]] = field(
        default_factory=dict
    )


#: The last few files prepared, by the identity of their (cached) facts: a rule asks about each
#: hit line of a file in turn, and must not split, join or hash the file once per line.
_PREPARED: OrderedDict[int, Prepared] = OrderedDict()
_PREPARED_SIZE = 8


def prepared(text: str, facts: Facts) -> Prepared:
    """The shared view of a parsed file (cached by its facts object)."""
    cached = _PREPARED.get(id(facts))
    # The entry keeps `facts` alive, so its id cannot be reused while cached.
    if cached is not None and cached.facts is facts:
        _PREPARED.move_to_end(id(facts))
        return cached
    lines = text.splitlines()
    joined = "\n".join(lines)
    python = facts.language == "python"
    made = Prepared(
        facts,
        lines,
        {(c.span.line, c.span.col): c.callee for c in facts.calls},
        None if python else js_index(joined.encode("utf-8", "surrogatepass"), facts.language),
        py_index(joined) if python else None,
    )
    _PREPARED[id(facts)] = made
    if len(_PREPARED) > _PREPARED_SIZE:
        _PREPARED.popitem(last=False)
    return made


def only_to_children(
    text: str, facts: Facts, line: int, is_exec: Callable[[Call, bool], bool]
) -> bool:
    """Whether every whole-environment use on `line` ends as a child process's `env`.

    False when the line has none (the hit came from the text path) or any goes elsewhere.
    `is_exec` judges a parsed call (`code._is_exec_call`).
    """
    reads = [r for r in facts.env_reads if r.whole and r.span.line == line]
    if not reads:
        return False
    python = facts.language == "python"
    prep = prepared(text, facts)
    callee_at = prep.callee_at
    starts = prep.exec_starts.get(is_exec)
    if starts is None:
        starts = {(c.span.line, c.span.col) for c in facts.calls if is_exec(c, python)}
        prep.exec_starts[is_exec] = starts
    if python:
        return prep.py is not None and _py_only_to_children(
            prep.lines, reads, starts, callee_at, prep.py
        )
    assert prep.js is not None
    return _js_only_to_children(prep.lines, reads, starts, callee_at, prep.js)


# -- JavaScript / TypeScript ------------------------------------------------------------------


def _js_only_to_children(
    lines: list[str],
    reads: list[EnvRead],
    starts: set[tuple[int, int]],
    callee_at: dict[tuple[int, int], str],
    index: JsIndex,
) -> bool:
    root = index.root
    steps = [MAX_STEPS]

    def char_col(row: int, byte_col: int) -> int:
        return len(
            lines[row].encode("utf-8", errors="surrogatepass")[:byte_col].decode(errors="ignore")
        )

    def byte_col(row: int, col: int) -> int:
        return len(lines[row][:col].encode("utf-8", errors="surrogatepass"))

    def call_key(call: Node) -> tuple[int, int]:
        row, col = call.start_point.row, call.start_point.column
        return (row + 1, char_col(row, col))

    def key_name(pair: Node) -> str | None:
        key = pair.child_by_field_name("key")
        if key is None:
            return None
        if key.type == "computed_property_name":
            inner = key.named_children[0] if key.named_children else None
            return _js_fold(inner)
        return _js_fold(key) if key.type == "string" else _node_text(key)

    def uses_of(decl: Node) -> list[Node] | None:
        name = decl.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return None
        return index.uses(name)

    def ends_in_child(node: Node, under_env: bool, hops: int) -> bool:
        steps[0] -= 1
        if hops > MAX_HOPS or steps[0] < 0:
            return False
        cur = node
        while True:
            if cur.type == "shorthand_property_identifier":
                # `{ env }`: the variable is the value of an `env` key.
                if _node_text(cur) != "env":
                    return False
                under_env = True
            parent = cur.parent
            if parent is None:
                return False
            kind = parent.type
            if kind in _JS_THROUGH:
                cur = parent
                continue
            if kind == "pair":
                if not _same(parent.child_by_field_name("value"), cur):
                    return False
                if under_env:
                    # Nested under the env option already: another key is another variable.
                    return False
                if key_name(parent) != "env":
                    return False
                under_env = True
                cur = parent
                continue
            if kind == "arguments" and parent.parent is not None:
                call = parent.parent
                if call.type not in ("call_expression", "new_expression"):
                    return False
                if callee_at.get(call_key(call)) in _COPIERS_JS:
                    cur = call
                    continue
                return under_env and call_key(call) in starts
            if kind == "variable_declarator" and _same(parent.child_by_field_name("value"), cur):
                uses = uses_of(parent)
                if not uses:
                    return False
                return all(ends_in_child(u, under_env, hops + 1) for u in uses)
            return False

    for read in reads:
        row = read.span.line - 1
        if not 0 <= row < len(lines):
            return False
        start = (row, byte_col(row, read.span.col))
        end = (row, byte_col(row, read.span.end))
        node = root.descendant_for_point_range(start, end)
        if node is None or not ends_in_child(node, False, 0):
            return False
    return True


def _node_text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and a.start_byte == b.start_byte and a.end_byte == b.end_byte


def _js_fold(node: Node | None) -> str | None:
    """A constant string key: `'env'`, `"e" + "nv"`; None otherwise."""
    if node is None:
        return None
    if node.type == "string":
        return _node_text(node)[1:-1]
    if node.type == "template_string" and not node.named_children:
        return _node_text(node)[1:-1]
    if node.type == "binary_expression":
        left = _js_fold(node.child_by_field_name("left"))
        right = _js_fold(node.child_by_field_name("right"))
        return left + right if left is not None and right is not None else None
    if node.type == "parenthesized_expression" and node.named_children:
        return _js_fold(node.named_children[0])
    return None


# -- Python -----------------------------------------------------------------------------------


def _py_only_to_children(
    lines: list[str],
    reads: list[EnvRead],
    starts: set[tuple[int, int]],
    callee_at: dict[tuple[int, int], str],
    index: PyIndex,
) -> bool:
    parents, names = index.parents, index.loads
    steps = [MAX_STEPS]

    def char_col(node: ast.expr) -> tuple[int, int]:
        row = node.lineno - 1
        text = lines[row] if 0 <= row < len(lines) else ""
        col = len(text.encode("utf-8")[: node.col_offset].decode(errors="ignore"))
        return (node.lineno, col)

    def ends_in_child(node: ast.AST, under_env: bool, hops: int) -> bool:
        steps[0] -= 1
        if hops > MAX_HOPS or steps[0] < 0:
            return False
        cur = node
        while True:
            parent = parents.get(id(cur))
            if parent is None:
                return False
            if isinstance(parent, ast.Attribute) and parent.attr == "copy":
                grand = parents.get(id(parent))
                if isinstance(grand, ast.Call) and grand.func is parent:
                    cur = grand
                    continue
                return False
            if isinstance(parent, ast.Dict):
                # `{**os.environ, 'X': '1'}` (a `None` key) copies it; as a value it is nested.
                if any(
                    k is None and v is cur for k, v in zip(parent.keys, parent.values, strict=True)
                ):
                    cur = parent
                    continue
                return False
            if isinstance(parent, ast.keyword):
                if parent.arg == "env" and not under_env:
                    under_env = True
                    call = parents.get(id(parent))
                    if isinstance(call, ast.Call) and char_col(call) in starts:
                        return True
                    return False
                if parent.arg is None and isinstance(parents.get(id(parent)), ast.Call):
                    call = parents[id(parent)]
                    assert isinstance(call, ast.Call)
                    if callee_at.get(char_col(call)) in _COPIERS_PY:
                        cur = call
                        continue
                return False
            if isinstance(parent, ast.Call) and cur in parent.args:
                if callee_at.get(char_col(parent)) in _COPIERS_PY:
                    cur = parent
                    continue
                return False
            if isinstance(parent, ast.Assign) and parent.value is cur:
                targets = parent.targets
                if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                    return False
                uses = names.get(targets[0].id, [])
                # `env['X'] = '1'` after `env = os.environ.copy()` edits the copy: not a use.
                uses = [u for u in uses if not _is_item_store(u, parents)]
                if not uses or len(uses) > MAX_USES:
                    return False
                return all(ends_in_child(u, under_env, hops + 1) for u in uses)
            return False

    for read in reads:
        hit = None
        for node in index.lines.get(read.span.line, ()):
            if char_col(node) == (read.span.line, read.span.col) and _is_environ(node):
                hit = node
                break
        if hit is None or not ends_in_child(hit, False, 0):
            return False
    return True


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" or isinstance(node, ast.Name)


def _is_item_store(name: ast.Name, parents: dict[int, ast.AST]) -> bool:
    """`name[...] = …` or `name.update(…)`: edits the copy in place."""
    parent = parents.get(id(name))
    if isinstance(parent, ast.Subscript) and parent.value is name:
        return isinstance(parent.ctx, ast.Store)
    if isinstance(parent, ast.Attribute) and parent.attr in ("update", "setdefault", "pop"):
        return True
    return False
