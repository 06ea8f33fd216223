"""Whether a credential-path literal is only compared against, never opened.

A path sanitizer names the files it protects (`const DENY = ['.ssh/id_rsa', '.aws/credentials'];
if (DENY.some((d) => p.endsWith(d))) throw …`): the names are matched against a path the caller
gives, and nothing here reads them. A stealer names the same files to read them. So a literal is
"only matched" when every route it takes ends in a comparison: an equality, a
`startsWith`/`endsWith`/`includes`/`indexOf`/`has` test, `in`/`not in`, or a deny-list whose
every use is such a test (with `some`/`every`/`find` callbacks that only compare their item).
Anything else — a `path.join`, a read, a loop, an export, an unknown call — keeps it a read.
Failing toward "read" keeps the rule closed: this only weakens a finding whose whole route is
seen.
"""

from __future__ import annotations

import ast
import posixpath
from collections.abc import Callable

from tree_sitter import Node

from watcher.parse import Facts, StringLit
from watcher.rules.env_flow import (
    MAX_HOPS,
    MAX_STEPS,
    MAX_USES,
    JsIndex,
    PyIndex,
    js_index,
    prepared,
)

#: Methods that test a string against another (JS receiver or argument; Python `str` methods).
COMPARE_METHODS_JS = frozenset(
    {"endsWith", "startsWith", "includes", "indexOf", "lastIndexOf", "localeCompare", "has"}
)
#: Array methods whose callback gets each item: the item must only be compared in it.
ITEM_CALLBACKS_JS = frozenset({"some", "every", "find", "findIndex", "filter"})
EQUALITY_JS = frozenset({"===", "!==", "==", "!="})
COMPARE_METHODS_PY = frozenset({"endswith", "startswith"})
#: Builders of a container from literals: `frozenset({...})`, `set([...])`, `tuple(...)`.
CONTAINERS_PY = frozenset({"frozenset", "set", "tuple", "list"})


#: `judge`'s answers: every route ends in a comparison; some end as the module's exports (a
#: table other files use: judge them with `requirers_only_compare`); some route reads.
MATCHED, EXPORTED, READ = "matched", "exported", "read"


def only_matched(text: str, facts: Facts, literals: list[StringLit]) -> bool:
    """Whether every literal given (all on one line of this file) is only compared against."""
    return judge(text, facts, literals) == MATCHED


def judge(text: str, facts: Facts, literals: list[StringLit]) -> str:
    """`MATCHED`, `EXPORTED` (a JS `module.exports = [...]` table) or `READ`."""
    if not literals:
        return READ
    prep = prepared(text, facts)
    lines = prep.lines
    if facts.language == "python":
        return MATCHED if prep.py and _py_only_matched(prep.py, literals) else READ
    assert prep.js is not None
    exported: list[bool] = []

    def starts(root: Node) -> list[Node] | None:
        found = []
        for lit in literals:
            row = lit.span.line - 1
            if not 0 <= row < len(lines):
                return None
            text = lines[row]
            start = (row, len(text[: lit.span.col].encode("utf-8", errors="surrogatepass")))
            end = (row, len(text[: lit.span.end].encode("utf-8", errors="surrogatepass")))
            node = root.descendant_for_point_range(start, end)
            while node is not None and node.type not in ("string", "template_string"):
                node = node.parent
            if node is None:
                return None
            found.append(node)
        return found

    if not _js_compared(prep.js, starts, exported):
        return READ
    return EXPORTED if exported else MATCHED


def requirers_only_compare(path: str, text: str, dialect: str, target: str) -> bool | None:
    """Whether what this file takes from `target` (`require('./table')[0]`) is only compared
    against; None when it does not require `target` at all. Exports of its own: not judged
    (False)."""
    lines = text.splitlines()
    exported: list[bool] = []
    directory = posixpath.dirname(path)

    def starts(root: Node) -> list[Node] | None:
        found: list[Node] = []
        stack = [root]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.type != "call_expression":
                continue
            func = node.child_by_field_name("function")
            args = node.child_by_field_name("arguments")
            first = args.named_children[0] if args is not None and args.named_children else None
            if func is None or _text(func) != "require" or first is None or first.type != "string":
                continue
            spec = _text(first)[1:-1]
            if not spec.startswith("."):
                continue
            resolved = posixpath.normpath(posixpath.join(directory, spec))
            if resolved not in (target, target.removesuffix(".js")):
                continue
            parent = node.parent
            # `require('./t')[0]`: the item is the value; `require('./t')` whole: the table.
            if parent is not None and parent.type == "subscript_expression":
                found.append(parent)
            else:
                found.append(node)
        return found

    found_any: list[bool] = []

    def counted(root: Node) -> list[Node] | None:
        nodes = starts(root)
        if nodes:
            found_any.append(True)
        return nodes

    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    verdict = _js_compared(js_index(data, dialect), counted, exported)
    if not found_any:
        return None
    return verdict and not exported


# -- JavaScript / TypeScript ------------------------------------------------------------------


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _method(call: Node) -> tuple[Node, str] | None:
    """(receiver, method name) of `recv.name(…)` / `recv['name'](…)`."""
    func = call.child_by_field_name("function")
    if func is None:
        return None
    recv = func.child_by_field_name("object")
    if recv is None:
        return None
    if func.type == "member_expression":
        prop = func.child_by_field_name("property")
        return (recv, _text(prop)) if prop is not None else None
    if func.type == "subscript_expression":
        index = func.child_by_field_name("index")
        if index is not None and index.type == "string":
            return recv, _text(index)[1:-1]
    return None


def _js_compared(
    index: JsIndex,
    starts: Callable[[Node], list[Node] | None],
    exported: list[bool],
) -> bool:
    """Whether every node `starts` picks is only compared against (see the module docstring).
    A route ending as `module.exports = …` counts as compared here and is noted in `exported`."""
    root = index.root
    steps = [MAX_STEPS]

    def uses_of(name: Node, scope: Node) -> list[Node] | None:
        return index.uses(name, scope)

    def callback_compares(fn: Node, hops: int) -> bool:
        """A `(d) => p.endsWith(d)` callback: its first parameter is only compared."""
        if fn.type not in ("arrow_function", "function_expression", "function"):
            return False
        param = fn.child_by_field_name("parameter")
        if param is None:
            params = fn.child_by_field_name("parameters")
            named = params.named_children if params is not None else []
            param = named[0] if named else None
        if param is None or param.type not in ("identifier", "required_parameter"):
            return False
        if param.type == "required_parameter":
            param = param.child_by_field_name("pattern")
            if param is None or param.type != "identifier":
                return False
        body = fn.child_by_field_name("body")
        if body is None:
            return False
        uses = uses_of(param, body)
        return bool(uses) and all(compared(u, hops + 1) for u in uses or ())

    def method_compares(call: Node | None, hops: int) -> bool:
        """`x.endsWith(…)`, or `DENY.some((d) => …)` whose callback only compares `d`."""
        if call is None or call.type != "call_expression":
            return False
        found = _method(call)
        if found is None:
            return False
        if found[1] in COMPARE_METHODS_JS:
            return True
        if found[1] in ITEM_CALLBACKS_JS:
            args = call.child_by_field_name("arguments")
            first = args.named_children[0] if args and args.named_children else None
            return first is not None and callback_compares(first, hops)
        return False

    def compared(node: Node, hops: int) -> bool:
        steps[0] -= 1
        if hops > MAX_HOPS or steps[0] < 0:
            return False
        cur = node
        while True:
            parent = cur.parent
            if parent is None:
                return False
            kind = parent.type
            if kind in ("array", "parenthesized_expression"):
                cur = parent
                continue
            if kind == "call_expression" and parent.child_by_field_name("function") is not None:
                # `String(d).endsWith(x)`: `String(d)` is `d` as a string.
                func = parent.child_by_field_name("function")
                if func is not None and _text(func) == "String" and not _same(func, cur):
                    cur = parent
                    continue
            if kind == "binary_expression":
                op = parent.child_by_field_name("operator")
                return op is not None and _text(op) in EQUALITY_JS
            if kind == "switch_case":
                return True
            if kind in ("member_expression", "subscript_expression") and _same(
                parent.child_by_field_name("object"), cur
            ):
                return method_compares(parent.parent, hops)
            if kind == "arguments" and parent.parent is not None:
                call = parent.parent
                if call.type == "new_expression":
                    ctor = call.child_by_field_name("constructor")
                    if ctor is not None and _text(ctor) == "Set":
                        cur = call
                        continue
                    return False
                found = _method(call) if call.type == "call_expression" else None
                return found is not None and found[1] in COMPARE_METHODS_JS
            if kind == "assignment_expression" and _same(parent.child_by_field_name("right"), cur):
                left = parent.child_by_field_name("left")
                if left is not None and _text(left) == "module.exports":
                    exported.append(True)
                    return True
                return False
            if kind == "variable_declarator" and _same(parent.child_by_field_name("value"), cur):
                bound = parent.child_by_field_name("name")
                if bound is None or bound.type != "identifier":
                    return False
                uses = uses_of(bound, root)
                return bool(uses) and all(compared(u, hops + 1) for u in uses or ())
            return False

    nodes = starts(root)
    return bool(nodes) and all(compared(node, 0) for node in nodes or ())


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and a.start_byte == b.start_byte and a.end_byte == b.end_byte


# -- Python -----------------------------------------------------------------------------------


def _py_only_matched(index: PyIndex, literals: list[StringLit]) -> bool:
    parents, loads = index.parents, index.loads
    constants = [
        node
        for line in {lit.span.line for lit in literals}
        for node in index.lines.get(line, ())
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    steps = [MAX_STEPS]

    def uses_in(name: str, scope: ast.AST) -> list[ast.Name]:
        return [
            n
            for n in ast.walk(scope)
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
        ]

    def compared(node: ast.AST, hops: int) -> bool:
        steps[0] -= 1
        if hops > MAX_HOPS or steps[0] < 0:
            return False
        cur = node
        while True:
            parent = parents.get(id(cur))
            if parent is None:
                return False
            if isinstance(parent, ast.Tuple | ast.List | ast.Set):
                cur = parent
                continue
            if isinstance(parent, ast.Call):
                func = parent.func
                if isinstance(func, ast.Name) and func.id in CONTAINERS_PY and cur in parent.args:
                    cur = parent
                    continue
                if isinstance(func, ast.Attribute) and func.attr in COMPARE_METHODS_PY:
                    return cur in parent.args
                return False
            if isinstance(parent, ast.Compare):
                ops = parent.ops
                # `p == '.npmrc'`, `p in DENY`, `'.ssh/' in p`: each a test, none a read.
                return all(isinstance(o, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for o in ops)
            if isinstance(parent, ast.comprehension) and cur is parent.iter:
                # `any(p.endswith(d) for d in DENY)`: the item is only compared in the element.
                comp = parents.get(id(parent))
                target = parent.target
                if not isinstance(target, ast.Name) or comp is None:
                    return False
                elts = [
                    getattr(comp, "elt", None),
                    getattr(comp, "key", None),
                    getattr(comp, "value", None),
                    *parent.ifs,
                ]
                uses = [u for e in elts if e is not None for u in uses_in(target.id, e)]
                return bool(uses) and all(compared(u, hops + 1) for u in uses)
            if isinstance(parent, ast.Assign | ast.AnnAssign) and parent.value is cur:
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                    return False
                name = targets[0].id
                reads: list[ast.expr] = list(loads.get(name, []))
                if isinstance(parents.get(id(parent)), ast.ClassDef):
                    # A class attribute is read as `self.NAME`, `cls.NAME` or `Klass.NAME`.
                    reads += attribute_loads(name)
                if not reads or len(reads) > MAX_USES:
                    return False
                return all(compared(u, hops + 1) for u in reads)
            return False

    def attribute_loads(name: str) -> list[ast.expr]:
        return [
            n
            for n in ast.walk(index.tree)
            if isinstance(n, ast.Attribute) and n.attr == name and isinstance(n.ctx, ast.Load)
        ]

    for lit in literals:
        found = [c for c in constants if c.lineno == lit.span.line and c.value == lit.value]
        if not found or not all(compared(c, 0) for c in found):
            return False
    return True
