"""JavaScript/TypeScript facts with tree-sitter (ESM, CJS, TypeScript, TSX, minified code).

One parse, then one query that returns, in C, only the nodes a rule can care about (calls,
`new`, imports, declarations, strings, `process.env`, `_0x` names); Python touches nothing else.
Aliases are file-wide and flow-insensitive: good enough for `const cp = require(...)`, which is
how real code (and real payloads) name modules.
"""

from __future__ import annotations

import base64
import binascii
import operator
import re
import urllib.parse
from collections.abc import Callable, Iterator
from functools import cache

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from watcher import gaps
from watcher.parse.budget import MAX_DEPTH, Clock
from watcher.parse.facts import KEY_MATERIAL, Call, EnvRead, Facts, Import, StringLit, may_send
from watcher.parse.lines import JS_TERMINATORS, Columns

#: More lines than this under ERROR nodes (and more than this fraction of the file): the parse
#: is not worth trusting and the caller falls back to text rules for the whole file.
MAX_ERROR_LINES = 20
MAX_ERROR_FRACTION = 0.05
#: tree-sitter's query cursor takes time quadratic in the children of one node it cannot make
#: sense of: 100,000 `(` in a row (an ERROR node with 100,000 children) keep it busy for
#: minutes, inside C where no progress callback runs (issue 9). An ERROR node this wide is
#: refused before the query (4,096 children cost ~10 ms); honest syntax errors are a few tokens.
MAX_ERROR_CHILDREN = 4096
#: In-progress matches the query cursor may hold (its own default is unlimited).
MATCH_LIMIT = 1 << 16
#: Tree depth the query is run on. The query cursor keeps depths in 16 bits: past 65,535
#: levels (100,000 nested parentheses) it runs for minutes (issue 9), while 60,000 levels take
#: 30 ms. Honest code nests a few dozen levels; a 5,000-term string concatenation is 5,000.
MAX_TREE_DEPTH = 16384
#: Longest string (and list) constant folding builds: `a = b + b` repeated doubles each time,
#: and no honest host, module name or command is this long.
MAX_FOLDED = 1 << 16
#: How a folded constant was written: as one literal; assembled (concatenation, a template, a
#: join, a name bound to it); or decoded (base64, hex, char codes, reversed).
LITERAL, BUILT, DECODED = 0, 1, 2
#: Bytes handed to tree-sitter per read callback.
_CHUNK = 1 << 16

#: Names of the global object: `globalThis.eval` is `eval`.
GLOBAL_OBJECTS = frozenset({"globalThis", "window", "global", "self"})
#: Calls that return a module when given one: `require`, dynamic `import`, and the interop
#: wrappers TypeScript and Babel emit around them.
MODULE_LOADERS = frozenset({"require", "module.require", "process.mainModule.require"})
INTEROP = frozenset(
    {"__importDefault", "__importStar", "_interopRequireDefault", "_interopRequireWildcard"}
)
#: Callees whose nested argument calls are recorded (`eval(atob(…))` decodes and runs).
CODE_SINKS = frozenset({"eval", "Function", "module._compile"})
#: Names followed to their values from one sink's arguments (`exec(cmd)`, `cmd = decode(…)`).
_FOLLOWED_NAMES = 16
#: Process starters whose nested argument calls are recorded too (a decoded command).
PROCESS_SINKS = ("child_process.", "execa")
#: Values a name may alias even though no module is involved (`const e = eval`).
ALIASABLE_GLOBALS = frozenset({"eval", "Function", "fetch", "require", "process", "Buffer"})

_QUERY = """
(call_expression) @call
(new_expression) @new
(import_statement) @import
(variable_declarator) @decl
(string) @str
(template_string) @str
((identifier) @hex (#match? @hex "^_0x[0-9a-fA-F]{4,6}$"))
(member_expression object: (identifier) @_p (#eq? @_p "process")
  property: (property_identifier) @_e (#eq? @_e "env")) @env
(binary_expression) @concat
(assignment_expression left: (identifier) @assigned) @assign
(augmented_assignment_expression left: (identifier) @rebound)
(update_expression argument: (identifier) @rebound)
(for_in_statement left: (identifier) @rebound)
(arrow_function parameter: (identifier) @rebound)
(ERROR) @error
(MISSING) @error
"""


@cache
def _language(dialect: str) -> Language:
    if dialect == "typescript":
        return Language(tree_sitter_typescript.language_typescript())
    if dialect == "tsx":
        return Language(tree_sitter_typescript.language_tsx())
    return Language(tree_sitter_javascript.language())


#: Parameters are bound by every call: never constants.
_PARAMETERS = {
    "javascript": "(formal_parameters (identifier) @rebound)",
    "typescript": "(required_parameter pattern: (identifier) @rebound)"
    " (optional_parameter pattern: (identifier) @rebound)",
}


@cache
def _query(dialect: str) -> Query:
    parameters = _PARAMETERS["javascript" if dialect == "javascript" else "typescript"]
    return Query(_language(dialect), _QUERY + parameters)


def dialect_of(path: str) -> str:
    """The grammar a file needs: "typescript", "tsx" or "javascript"."""
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    if path.endswith(".tsx"):
        return "tsx"
    return "javascript"


_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|(.))", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(raw: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2) or m.group(3)
        if code is not None:
            try:
                return chr(int(code, 16))
            except (ValueError, OverflowError):  # not a gap: not a character, as in JS
                return ""
        ch = m.group(4)
        return _SIMPLE.get(ch, "" if ch == "\n" else ch)

    return _ESCAPE.sub(one, raw) if "\\" in raw else raw


def _text(node: Node) -> str:
    # Slicing the source we hold is much cheaper than `node.text`, which copies per call.
    return _SOURCE.data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


class _Source:
    """The bytes being parsed right now (parsing is synchronous and not re-entrant)."""

    data: bytes = b""


_SOURCE = _Source()


class _Extractor:
    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.aliases: dict[str, str] = {}
        #: Some expression nested deeper than `MAX_DEPTH`: facts past it were not extracted.
        self.exhausted = False
        #: Names bound exactly once (a declaration or one assignment) → the value's node.
        self.constants: dict[str, Node] = {}
        #: Names bound more than once, or by a loop, a parameter or `+=`: never constants.
        self.rebound: set[str] = set()
        self.folded_names: dict[str, tuple[str | tuple[str, ...], int] | None] = {}
        #: Names being folded right now: `a = b; b = a` stops instead of looping.
        self.resolving: set[str] = set()
        #: Byte ranges of `+` nodes folded as part of a longer chain (not folded again).
        self.spine: set[tuple[int, int]] = set()
        #: Secrets found under each expression read so far (`_sources`), and those being read.
        self.source_memo: dict[tuple[int, int, str], tuple[str, ...]] = {}
        self.source_active: set[tuple[int, int, str]] = set()

    # -- values ---------------------------------------------------------------------------

    def string_value(self, node: Node) -> str | None:
        """The value of a string or a substitution-free template literal."""
        if node.type == "string":
            return _unescape(_text(node)[1:-1])
        if node.type == "template_string":
            if any(c.type == "template_substitution" for c in node.named_children):
                return None
            return _unescape(_text(node)[1:-1])
        return None

    def deep(self, depth: int) -> bool:
        """Whether `depth` is past the nesting budget (then the file's facts are incomplete)."""
        if depth > MAX_DEPTH:
            self.exhausted = True
            return True
        return False

    def fold(self, node: Node | None, depth: int = 0) -> tuple[str, bool] | None:
        """A constant string and whether it took work to build (concatenation, decoding)."""
        folded = self.fold_level(node, depth)
        return None if folded is None else (folded[0], folded[1] > LITERAL)

    def fold_level(self, node: Node | None, depth: int = 0) -> tuple[str, int] | None:
        """A constant string and how it was written: `LITERAL`, `BUILT` or `DECODED`."""
        if node is None or self.deep(depth):
            return None
        kind = node.type
        if kind == "string":
            value = self.string_value(node)
            return None if value is None else (value, LITERAL)
        if kind == "template_string":
            parts: list[str] = []
            level = LITERAL
            for child in node.named_children:
                if child.type == "template_substitution":
                    inner = self.fold_level(
                        child.named_children[0] if child.named_children else None, depth + 1
                    )
                    if inner is None:
                        return None
                    parts.append(inner[0])
                    level = max(level, inner[1], BUILT)
                else:
                    parts.append(_unescape(_text(child)))
            return _capped("".join(parts), level)
        if kind == "identifier":
            bound = self.constant(_text(node), depth + 1)
            if bound is None or not isinstance(bound[0], str):
                return None
            return bound[0], bound[1]
        if kind == "parenthesized_expression":
            return self.fold_level(
                node.named_children[-1] if node.named_children else None, depth + 1
            )
        if kind == "binary_expression":
            # `'a' + 'b' + … + 'z'` nests to the left, one level per `+`: walk that spine in a
            # loop, so a long honest concatenation costs no recursion budget.
            operands: list[Node | None] = []
            top = node
            while node is not None and node.type == "binary_expression":
                # Marked before the verdict: a chain that does not fold is not walked again
                # from each of its inner nodes (quadratic in a long `x - 1 + 'a' + …`).
                if node is not top:
                    self.spine.add((node.start_byte, node.end_byte))
                operator = node.child_by_field_name("operator")
                if operator is None or operator.type != "+":
                    return None
                operands.append(node.child_by_field_name("right"))
                node = node.child_by_field_name("left")
            operands.append(node)
            pieces: list[str] = []
            size = 0
            level = BUILT
            for operand in reversed(operands):
                folded = self.fold_level(operand, depth + 1)
                if folded is None:
                    return None
                pieces.append(folded[0])
                level = max(level, folded[1])
                size += len(folded[0])
                if size > MAX_FOLDED:
                    return None
            return "".join(pieces), level
        if kind == "call_expression":
            return self.fold_call(node, depth)
        return None

    def constant(self, name: str, depth: int) -> tuple[str | tuple[str, ...], int] | None:
        """The value of a name bound once to a constant (a string, or a list of strings)."""
        if name in self.folded_names:
            return self.folded_names[name]
        value = self.constants.get(name)
        if value is None or name in self.resolving or self.deep(depth):
            return None
        self.resolving.add(name)
        try:
            result: tuple[str | tuple[str, ...], int] | None = self.fold_level(value, depth + 1)
            if result is None:
                items = self.fold_list(value, depth + 1)
                result = None if items is None else (tuple(items[0]), items[1])
        finally:
            self.resolving.discard(name)
        if result is not None and not isinstance(result[0], str):
            result = (result[0], max(result[1], BUILT))
        self.folded_names[name] = result
        return result

    def fold_list(self, node: Node | None, depth: int) -> tuple[list[str], int] | None:
        """A constant list of strings: `['a', 'b']`, `s.split('')`, `….reverse()`."""
        if node is None or self.deep(depth):
            return None
        if node.type == "array":
            out: list[str] = []
            level = BUILT
            for item in node.named_children:
                if item.type == "spread_element":
                    inner = self.fold_list(
                        item.named_children[0] if item.named_children else None, depth + 1
                    )
                    if inner is None:
                        return None
                    out.extend(inner[0])
                    level = max(level, inner[1])
                else:
                    folded = self.fold_level(item, depth + 1)
                    if folded is None:
                        return None
                    out.append(folded[0])
                    level = max(level, folded[1])
                if len(out) > MAX_FOLDED:
                    return None
            return out, level
        if node.type == "identifier":
            value = self.constant(_text(node), depth + 1)
            if value is None or isinstance(value[0], str):
                return None
            return list(value[0]), value[1]
        if node.type == "parenthesized_expression" and node.named_children:
            return self.fold_list(node.named_children[-1], depth + 1)
        if node.type != "call_expression":
            return None
        method, obj, items = _method_call(node)
        if method == "split" and obj is not None:
            text = self.fold_level(obj, depth + 1)
            sep = self.fold_level(items[0], depth + 1) if items else None
            if text is None or sep is None:
                return None
            parts = list(text[0]) if sep[0] == "" else text[0].split(sep[0])
            return parts, max(text[1], BUILT)
        if method == "reverse" and obj is not None and not items:
            inner = self.fold_list(obj, depth + 1)
            # Reversed text is written not to be read.
            return None if inner is None else (inner[0][::-1], DECODED)
        return None

    def fold_number(self, node: Node | None, depth: int) -> int | None:
        """A constant integer: a literal, or arithmetic on literals (`0x68`, `100 + 4`)."""
        if node is None or self.deep(depth):
            return None
        kind = node.type
        if kind == "number":
            try:
                return int(_text(node).replace("_", ""), 0)
            except ValueError:  # not a gap: a float or an odd literal is not folded
                return None
        if kind == "parenthesized_expression" and node.named_children:
            return self.fold_number(node.named_children[-1], depth + 1)
        if kind == "unary_expression" and node.named_children:
            operator = node.child_by_field_name("operator")
            value = self.fold_number(node.named_children[-1], depth + 1)
            if value is None or operator is None or operator.type not in ("-", "+"):
                return None
            return -value if operator.type == "-" else value
        if kind == "binary_expression":
            operator = node.child_by_field_name("operator")
            op = _ARITHMETIC.get(operator.type) if operator is not None else None
            left = self.fold_number(node.child_by_field_name("left"), depth + 1)
            right = self.fold_number(node.child_by_field_name("right"), depth + 1)
            if op is None or left is None or right is None:
                return None
            if abs(left) > 1 << 32 or abs(right) > 1 << 32:
                return None  # not folded: no honest char code is built from huge numbers
            try:
                return op(left, right)
            except (ValueError, ZeroDivisionError, OverflowError):  # not a gap: not folded
                return None
        return None

    def char_codes(self, items: list[Node], depth: int) -> list[int] | None:
        codes: list[int] = []
        for item in items:
            if item.type == "spread_element":
                inner = item.named_children[0] if item.named_children else None
                if inner is None or inner.type != "array":
                    return None
                more = self.char_codes(inner.named_children, depth + 1)
                if more is None:
                    return None
                codes.extend(more)
            else:
                code = self.fold_number(item, depth + 1)
                if code is None:
                    return None
                codes.append(code)
            if len(codes) > MAX_FOLDED:
                return None
        return codes

    def fold_call(self, node: Node, depth: int) -> tuple[str, int] | None:
        """Decoders and string methods applied to constants."""
        args = node.child_by_field_name("arguments")
        items = args.named_children if args is not None else []
        method, obj, _ = _method_call(node)
        if method == "join" and obj is not None:
            parts = self.fold_list(obj, depth + 1)
            sep = self.fold_level(items[0], depth + 1) if items else (",", LITERAL)
            if parts is None or sep is None:
                return None
            return _capped(sep[0].join(parts[0]), max(parts[1], sep[1], BUILT))
        if method == "concat" and obj is not None:
            pieces = [self.fold_level(n, depth + 1) for n in [obj, *items]]
            if any(p is None for p in pieces):
                return None
            return _capped(
                "".join(p[0] for p in pieces if p is not None),
                max([BUILT, *(p[1] for p in pieces if p is not None)]),
            )
        if method == "toString" and obj is not None and obj.type == "call_expression":
            return self.fold_buffer(obj, depth + 1)
        callee = self.path(node.child_by_field_name("function"), depth + 1)
        if callee is None or not items:
            return None
        name = callee[0]
        if name == "atob":
            encoded = self.fold_level(items[0], depth + 1)
            if encoded is not None:
                try:
                    decoded = base64.b64decode(encoded[0], validate=True)
                except (binascii.Error, ValueError):  # not a gap: atob would throw
                    return None
                return _capped(decoded.decode("latin-1"), DECODED)
        if name == "String.fromCharCode":
            codes = self.char_codes(items, depth + 1)
            if codes is None:
                return None
            try:
                return _capped("".join(chr(c & 0xFFFF) for c in codes), DECODED)
            except (ValueError, OverflowError):  # not a gap: not foldable
                return None
        if name in ("decodeURIComponent", "decodeURI", "unescape"):
            encoded = self.fold_level(items[0], depth + 1)
            if encoded is not None:
                return _capped(urllib.parse.unquote(encoded[0]), DECODED)
        return None

    def fold_buffer(self, node: Node, depth: int) -> tuple[str, int] | None:
        """`Buffer.from(<constant>, 'base64' | 'hex' | …)` read back as text."""
        if self.deep(depth):
            return None
        callee = self.path(node.child_by_field_name("function"), depth + 1)
        args = node.child_by_field_name("arguments")
        items = args.named_children if args is not None else []
        if callee is None or callee[0] != "Buffer.from" or not items:
            return None
        if items[0].type == "array":
            codes = self.char_codes(items[0].named_children, depth + 1)
            if codes is None:
                return None
            return bytes(c & 0xFF for c in codes).decode("utf-8", "replace"), DECODED
        value = self.fold_level(items[0], depth + 1)
        encoding = self.fold_level(items[1], depth + 1) if len(items) > 1 else ("utf8", LITERAL)
        if value is None or encoding is None:
            return None
        data = _buffer_bytes(value[0], encoding[0].lower())
        if data is None:
            return None
        level = value[1] if encoding[0].lower() in _TEXT_ENCODINGS else DECODED
        return _capped(data.decode("utf-8", "replace"), max(level, BUILT))

    def module_of(self, call: Node, depth: int = 0) -> tuple[str, int] | None:
        """The module a `require(…)`/`import(…)`/interop-wrapper call yields, if constant."""
        function = call.child_by_field_name("function")
        args = call.child_by_field_name("arguments")
        if function is None or args is None or not args.named_children or self.deep(depth):
            return None
        first = args.named_children[0]
        if function.type == "import":
            folded = self.fold_level(first, depth + 1)
        else:
            if function.type == "member_expression":
                # Only `….require` (or `….default`) can name a loader: `a.then().then()…`
                # chains are not followed into, whatever their length.
                prop = function.child_by_field_name("property")
                if prop is None or _text(prop) not in ("require", "default"):
                    return None
            callee = self.path(function, depth + 1)
            if callee is None:
                return None
            if callee[0] in INTEROP:
                if first.type != "call_expression":
                    return None
                return self.module_of(first, depth + 1)
            if callee[0] not in MODULE_LOADERS:
                return None
            folded = self.fold_level(first, depth + 1)
        if folded is None:
            return None
        return _module_name(folded[0]), folded[1]

    def path(self, node: Node | None, depth: int = 0) -> tuple[str, int] | None:
        """The dotted path an expression names, through aliases, and how its pieces were
        written (`LITERAL`, `BUILT`, `DECODED`: the most concealed piece).

        Member chains (`a.b.c…`) are walked in a loop, so their length costs no recursion.
        """
        # Properties from the outside in, each with how its name was written.
        props: list[tuple[str, int]] = []
        base: tuple[str, int] | None = None
        while base is None:
            if node is None or self.deep(depth):
                return None
            kind = node.type
            if kind == "identifier":
                name = _text(node)
                base = (
                    ("", LITERAL)
                    if name in GLOBAL_OBJECTS
                    else (self.aliases.get(name, name), LITERAL)
                )
            elif kind == "member_expression":
                prop = node.child_by_field_name("property")
                if prop is None:
                    return None
                props.append((_text(prop), LITERAL))
                node = node.child_by_field_name("object")
            elif kind == "subscript_expression":
                folded = self.fold_level(node.child_by_field_name("index"), depth + 1)
                if folded is None:
                    return None
                props.append(folded)
                node = node.child_by_field_name("object")
            elif kind in ("parenthesized_expression", "sequence_expression"):
                # `(0, cp.exec)(…)` is how TypeScript and Babel call an imported function.
                children = node.named_children
                node = children[-1] if children else None
                depth += 1
            elif kind in ("await_expression", "non_null_expression", "as_expression"):
                children = node.named_children
                node = children[0] if children else None
                depth += 1
            elif kind == "call_expression":
                base = self.module_of(node, depth + 1)
                if base is None:
                    return None
            elif kind == "this":
                base = ("this", LITERAL)
            else:
                return None
        name_so_far, level = base
        for name, written in reversed(props):
            level = max(level, written)
            if name != "default":
                name_so_far = f"{name_so_far}.{name}" if name_so_far else name
        return name_so_far, level

    # -- declarations ---------------------------------------------------------------------

    def bind(self, name: Node, value: tuple[str, int], rooted: bool) -> None:
        """Record what a declared name (or a destructuring pattern) aliases."""
        if name.type == "identifier":
            if rooted or value[0] in ALIASABLE_GLOBALS:
                self.aliases[_text(name)] = value[0]
            return
        if name.type != "object_pattern" or not rooted:
            return
        for part in name.named_children:
            if part.type == "shorthand_property_identifier_pattern":
                key = target = _text(part)
            elif part.type == "object_assignment_pattern":
                left = part.child_by_field_name("left")
                if left is None:
                    continue
                key = target = _text(left)
            elif part.type == "pair_pattern":
                k = part.child_by_field_name("key")
                v = part.child_by_field_name("value")
                if k is None or v is None or v.type != "identifier":
                    continue
                key, target = _text(k).strip("'\""), _text(v)
            else:
                continue
            self.aliases[target] = f"{value[0]}.{key}" if value[0] else key

    def rooted(self, value: Node) -> bool:
        """Whether an expression starts at a module (`require(…)`, or a name bound to one)."""
        node: Node | None = value
        while node is not None:
            if node.type == "call_expression":
                return self.module_of(node) is not None
            if node.type == "identifier":
                return _text(node) in self.aliases
            if node.type in ("member_expression", "subscript_expression"):
                node = node.child_by_field_name("object")
            elif node.type in ("await_expression", "parenthesized_expression", "as_expression"):
                node = node.named_children[0] if node.named_children else None
            else:
                return False
        return False

    def bound(self, name: str, value: Node | None) -> None:
        """One binding of `name` (None: a binding whose value is not an expression)."""
        if name in self.rebound:
            return
        if value is None or name in self.constants:
            self.constants.pop(name, None)
            self.rebound.add(name)
            return
        self.constants[name] = value

    def declaration(self, node: Node) -> None:
        name = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name is not None and name.type == "identifier" and value is not None:
            self.bound(_text(name), value)
        if name is None or value is None:
            return
        resolved = self.path(value)
        if resolved is not None:
            self.bind(name, resolved, self.rooted(value))

    def import_statement(self, node: Node, imports: list[Import]) -> None:
        source = node.child_by_field_name("source")
        span = self.columns.span(node)
        if source is None:
            # TypeScript `import cp = require('child_process')`.
            for child in node.named_children:
                if child.type == "import_require_clause":
                    ident = child.named_children[0] if child.named_children else None
                    src = child.child_by_field_name("source")
                    value = self.string_value(src) if src is not None else None
                    if ident is not None and value is not None:
                        module = _module_name(value)
                        self.aliases[_text(ident)] = module
                        imports.append(Import(span, module))
            return
        value = self.string_value(source)
        if value is None:
            return
        module = _module_name(value)
        imports.append(Import(span, module))
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":  # default import
                    self.aliases[_text(part)] = module
                elif part.type == "namespace_import":
                    for ident in part.named_children:
                        self.aliases[_text(ident)] = module
                elif part.type == "named_imports":
                    for spec in part.named_children:
                        if spec.type != "import_specifier":
                            continue
                        imported = spec.child_by_field_name("name")
                        local = spec.child_by_field_name("alias") or imported
                        if imported is None or local is None:
                            continue
                        key = _text(imported).strip("'\"")
                        self.aliases[_text(local)] = (
                            module if key == "default" else f"{module}.{key}"
                        )

    # -- uses -----------------------------------------------------------------------------

    def call(self, node: Node, new: bool, imports: list[Import]) -> Call | None:
        function = node.child_by_field_name("constructor" if new else "function")
        args = node.child_by_field_name("arguments")
        items = args.named_children if args is not None and args.type == "arguments" else []
        span = self.columns.span(node)
        if not new and function is not None and function.type == "import":
            module = self.module_of(node)
            if module is not None:
                imports.append(Import(span, module[0], module[1] > LITERAL, module[1] >= DECODED))
            return None
        resolved = self.path(function)
        if resolved is None:
            return None
        callee, level = resolved
        first = self.fold_level(items[0]) if items and items[0].type in _FOLDABLE else None
        if callee in MODULE_LOADERS and first is not None:
            imports.append(
                Import(span, _module_name(first[0]), first[1] > LITERAL, first[1] >= DECODED)
            )
        nested: tuple[str, ...] = ()
        if callee in CODE_SINKS or callee.startswith(("vm.", *PROCESS_SINKS)):
            nested = tuple(self.nested_callees(items))
        sources = tuple(dict.fromkeys(self.sources_in(items))) if may_send(callee) else ()
        return Call(
            span,
            callee,
            new=new,
            first_arg=first[0] if first is not None else None,
            first_arg_built=first is not None and first[1] > LITERAL,
            arg_callees=nested,
            arg_sources=sources,
            concealed=level > LITERAL,
            decoded=level >= DECODED,
        )

    def sources_in(self, items: list[Node]) -> Iterator[str]:
        """Secrets in a call's arguments (`Call.arg_sources`), through names bound once."""
        for item in items:
            yield from self._sources(item, 0, 0)

    def _sources(self, root: Node, depth: int, names: int) -> tuple[str, ...]:
        """Secrets in one expression, memoised per node: nested calls and constants are read
        once per file, whatever the number of sending calls around them. At most
        `_FOLLOWED_NAMES` names are followed in a row (`b = a; c = b; …`)."""
        key = (root.start_byte, root.end_byte, root.type)
        cached = self.source_memo.get(key)
        if cached is not None:
            return cached
        if key in self.source_active or self.deep(depth):
            return ()
        self.source_active.add(key)
        found: list[str] = []
        stack = [root]
        while stack:
            node = stack.pop()
            kind = node.type
            if node is not root and kind in ("call_expression", "new_expression"):
                found.extend(self._sources(node, depth + 1, names))
                continue
            if kind == "subscript_expression":
                base = self.path(node.child_by_field_name("object"))
                if base is not None and base[0] == "process.env":
                    index = self.fold(node.child_by_field_name("index"))
                    found.append(f"env:{index[0]}" if index is not None else "env:?")
                    continue
            if kind in ("member_expression", "subscript_expression", "identifier"):
                resolved = self.path(node)
                name = resolved[0] if resolved is not None else ""
                if name == "process.env":
                    found.append("env:*")
                    continue
                if name.startswith("process.env."):
                    found.append("env:" + name.removeprefix("process.env."))
                    continue
                leaf = name.rsplit(".", 1)[-1] if name else _text(node)
                if KEY_MATERIAL.match(leaf):
                    found.append("key:" + leaf)
                    continue
                if kind == "identifier":
                    value = self.constants.get(_text(node))
                    if value is not None and names < _FOLLOWED_NAMES:
                        found.extend(self._sources(value, depth, names + 1))
                    continue
            elif kind in ("shorthand_property_identifier", "property_identifier"):
                if KEY_MATERIAL.match(_text(node)):
                    found.append("key:" + _text(node))
                value = self.constants.get(_text(node)) if kind.startswith("shorthand") else None
                if value is not None and names < _FOLLOWED_NAMES:
                    found.extend(self._sources(value, depth, names + 1))
                continue
            stack.extend(node.named_children)
        self.source_active.discard(key)
        result = tuple(dict.fromkeys(found))
        if names == 0:  # read whole: a result cut by the name bound is not the node's own
            self.source_memo[key] = result
        return result

    def nested_callees(self, items: list[Node]) -> list[str]:
        """Callees of the calls inside a sink's arguments, through names bound once.

        `const cmd = Buffer.from(blob, 'base64').toString(); exec(cmd)` runs a decoded command
        as much as `exec(Buffer.from(blob, 'base64').toString())` does: a name bound once
        (`constants`) is followed to its value, through at most `_FOLLOWED_NAMES` names.
        """
        found: list[str] = []
        followed: set[str] = set()
        stack = list(items)
        while stack:
            node = stack.pop()
            if node.type in ("call_expression", "new_expression"):
                field = "constructor" if node.type == "new_expression" else "function"
                resolved = self.path(node.child_by_field_name(field))
                if resolved is not None:
                    found.append(resolved[0])
            elif node.type == "identifier":
                name = _text(node)
                value = self.constants.get(name)
                if value is not None and name not in followed:
                    if len(followed) < _FOLLOWED_NAMES:
                        followed.add(name)
                        stack.append(value)
                continue
            stack.extend(node.named_children)
        return found

    def env_read(self, node: Node) -> EnvRead:
        span = self.columns.span(node)
        parent = node.parent
        if parent is None:
            return EnvRead(span, whole=False)
        kind = parent.type
        if kind == "member_expression" and _same(parent.child_by_field_name("object"), node):
            prop = parent.child_by_field_name("property")
            return EnvRead(span, False, _text(prop) if prop is not None else None)
        if kind == "subscript_expression" and _same(parent.child_by_field_name("object"), node):
            folded = self.fold(parent.child_by_field_name("index"))
            return EnvRead(span, False, folded[0] if folded is not None else None)
        if kind == "variable_declarator":
            name = parent.child_by_field_name("name")
            if name is not None and name.type == "object_pattern":
                keys = [_text(c) for c in name.named_children]
                return EnvRead(span, False, keys[0].split("=")[0].strip() if keys else None)
            return EnvRead(span, True)
        if kind in ("spread_element", "for_in_statement", "assignment_expression"):
            return EnvRead(span, True)
        if kind == "arguments" and parent.parent is not None:
            resolved = self.path(parent.parent.child_by_field_name("function"))
            if resolved is not None and resolved[0] in ENV_DUMPERS:
                return EnvRead(span, True)
        return EnvRead(span, False)


#: Calls that serialise, copy or enumerate whatever object they are given.
ENV_DUMPERS = frozenset(
    {
        "JSON.stringify",
        "Object.keys",
        "Object.entries",
        "Object.values",
        "Object.assign",
        "Object.getOwnPropertyNames",
        "util.inspect",
        "structuredClone",
        "String",
        "Buffer.from",
        "btoa",
        "encodeURIComponent",
    }
)


#: Node types `fold` can turn into a constant (anything else is skipped without a look).
_FOLDABLE = frozenset(
    {"string", "template_string", "binary_expression", "parenthesized_expression"}
    | {"call_expression", "identifier"}
)
_ARITHMETIC: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "^": operator.xor,
    "|": operator.or_,
    "&": operator.and_,
    "%": operator.mod,
    "<<": lambda a, b: a << b if 0 <= b < 64 else 0,
    ">>": lambda a, b: a >> b if 0 <= b < 64 else 0,
}
#: `Buffer.from(s, enc)` encodings that store text as it is (no decoding to read it).
_TEXT_ENCODINGS = frozenset({"utf8", "utf-8", "latin1", "binary", "ascii"})


def _capped(value: str, level: int) -> tuple[str, int] | None:
    return (value, level) if len(value) <= MAX_FOLDED else None


def _method_call(node: Node) -> tuple[str | None, Node | None, list[Node]]:
    """(method name, object, arguments) of `obj.method(…)`; (None, None, args) otherwise."""
    function = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    items = args.named_children if args is not None else []
    if function is None or function.type != "member_expression":
        return None, None, items
    prop = function.child_by_field_name("property")
    obj = function.child_by_field_name("object")
    return (_text(prop) if prop is not None else None), obj, items


def _buffer_bytes(value: str, encoding: str) -> bytes | None:
    """The bytes `Buffer.from(value, encoding)` holds (Node skips what it cannot decode)."""
    try:
        if encoding in ("base64", "base64url"):
            cleaned = re.sub(r"[^A-Za-z0-9+/\-_]", "", value)
            cleaned = cleaned.replace("-", "+").replace("_", "/")
            return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        if encoding == "hex":
            match = re.match(r"(?:[0-9a-fA-F]{2})*", value)
            return bytes.fromhex(match.group(0) if match else "")
        if encoding in _TEXT_ENCODINGS:
            return value.encode("latin-1" if encoding in ("latin1", "binary") else "utf-8")
    except (binascii.Error, ValueError, UnicodeEncodeError):  # not a gap: not folded
        return None
    return None


def _same(a: Node | None, b: Node) -> bool:
    return a is not None and a.start_byte == b.start_byte and a.end_byte == b.end_byte


def _module_name(name: str) -> str:
    return name.removeprefix("node:")


_PAIRS = """
(pair key: (_) @key value: (_) @value)
"""


@cache
def _pairs_query(dialect: str) -> Query:
    return Query(_language(dialect), _PAIRS)


def _keys_of_values(
    tree: Tree, dialect: str, named: list[Node] | None = None
) -> dict[tuple[int, int], str]:
    """(start, end) byte range of each string that is a property's value → the property name.

    Found by a query rather than `node.parent`, which tree-sitter answers by walking down from
    the root: per string, that is quadratic in a deep file (5,000 strings in a 5,000-term
    concatenation took 0.9 s).
    """
    keys: dict[tuple[int, int], str] = {}
    for _, match in QueryCursor(_pairs_query(dialect)).matches(tree.root_node):
        key, value = match.get("key"), match.get("value")
        if key and value:
            keys[(value[0].start_byte, value[0].end_byte)] = _text(key[0]).strip("'\"`")
            if named is not None and value[0].type == "identifier":
                named.append(value[0])
    return keys


def _built_strings(
    extractor: _Extractor,
    captures: dict[str, list[Node]],
    keys: dict[tuple[int, int], str],
    named_values: list[Node],
) -> Iterator[StringLit]:
    """Expressions that fold to a constant string (`'ht' + 'tps'`, `atob(…)`, `${a}${b}`).

    Outermost first: the pieces of a folded expression are not folded again (each is a
    literal of its own already), so a long chain is folded once.
    """
    candidates = [
        n
        for n in captures.get("concat", []) + captures.get("call", [])
        if n.type != "call_expression" or n.child_by_field_name("function") is not None
    ]
    candidates += [
        n
        for n in captures.get("str", [])
        if n.type == "template_string"
        and any(c.type == "template_substitution" for c in n.named_children)
    ]
    # `{host: H}`: the property's value is the constant `H` names.
    candidates += named_values
    candidates.sort(key=lambda n: (n.start_byte, -n.end_byte))
    covered = -1
    for node in candidates:
        if node.end_byte <= covered or (node.start_byte, node.end_byte) in extractor.spine:
            continue
        folded = extractor.fold_level(node)
        if folded is None:
            if node.type == "template_string":  # keep its constant parts, as written
                value = "".join(
                    "${}" if c.type == "template_substitution" else _unescape(_text(c))
                    for c in node.named_children
                )
                raw = _text(node) if node.start_point.row == node.end_point.row else value
                key = keys.get((node.start_byte, node.end_byte))
                yield StringLit(extractor.columns.span(node), value, raw, key)
            continue
        if folded[1] == LITERAL and node.type != "identifier":
            continue
        covered = node.end_byte
        value = folded[0]
        raw = _text(node) if node.start_point.row == node.end_point.row else value
        key = keys.get((node.start_byte, node.end_byte))
        yield StringLit(
            extractor.columns.span(node),
            value,
            raw,
            key,
            built=True,
            decoded=folded[1] >= DECODED,
        )


def parse(path: str, source: str, dialect: str | None = None) -> Facts | None:
    """Facts of a JavaScript/TypeScript file, or None when it does not parse well enough.

    `dialect` overrides the grammar the file name suggests (a `.dat` that `require` runs).
    Never raises on hostile input: a spent time or depth budget records a gap
    (`watcher.gaps`) and returns None, so the text rules judge the file.
    """
    dialect = dialect or dialect_of(path)
    clock = Clock()
    try:
        return _parse(path, Columns(source, JS_TERMINATORS), dialect, clock)
    finally:
        clock.stop()


def _syntax_tree(path: str, data: bytes, dialect: str, clock: Clock) -> Tree | None:
    """tree-sitter's parse under the file's time budget (a gap and None when it runs out)."""

    def read(offset: int, _point: object) -> bytes:
        return data[offset : offset + _CHUNK]

    def cancel(_offset: int, _has_error: bool) -> bool:
        return clock.expired()

    try:
        # Only the read-callback form of `parse` takes a progress callback (py-tree-sitter 0.25).
        return Parser(_language(dialect)).parse(read, progress_callback=cancel)
    # tree-sitter reports a cancelled parse as ValueError("Parsing failed").
    except ValueError:
        gaps.record(f"parse of {path} stopped: time budget of {clock.seconds()} s spent", path)
        return None


def _widest_error(tree: Tree) -> int:
    """The most children any ERROR node has (0 for a clean tree), without recursion."""
    if not tree.root_node.has_error:
        return 0
    widest = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR":
            widest = max(widest, node.child_count)
            if widest > MAX_ERROR_CHILDREN:
                return widest
        # Only subtrees holding an error can hold an ERROR node.
        stack.extend(c for c in node.children if c.has_error)
    return widest


def _deeper_than(tree: Tree, limit: int) -> bool:
    """Whether the tree nests more than `limit` levels (a cursor walk: ~0.1 µs a node)."""
    cursor = tree.walk()
    depth = 0
    while True:
        if cursor.goto_first_child():
            depth += 1
            if depth > limit:
                return True
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return False
            depth -= 1


def _parse(path: str, columns: Columns, dialect: str, clock: Clock) -> Facts | None:
    tree = _syntax_tree(path, columns.data, dialect, clock)
    if tree is None:
        return None
    widest = _widest_error(tree)
    if widest > MAX_ERROR_CHILDREN:
        gaps.record(
            f"parse of {path} stopped: a syntax error spans more than {MAX_ERROR_CHILDREN} tokens"
            " (querying it would exceed the time budget)",
            path,
        )
        return None
    if _deeper_than(tree, MAX_TREE_DEPTH):
        gaps.record(f"parse of {path} stopped: nesting deeper than {MAX_TREE_DEPTH}", path)
        return None
    cursor = QueryCursor(_query(dialect), match_limit=MATCH_LIMIT)
    # No progress callback here: py-tree-sitter 0.26 crashes (SIGSEGV) calling one on a deep
    # tree (a 5,000-term `+` chain). The checks above bound what the query can be given.
    captures = cursor.captures(tree.root_node)
    if clock.expired():
        gaps.record(f"parse of {path} stopped: time budget of {clock.seconds()} s spent", path)
        return None
    if cursor.did_exceed_match_limit:
        gaps.record(f"parse of {path} stopped: more than {MATCH_LIMIT} open query matches", path)
        return None
    error_lines: set[int] = set()
    for node in captures.get("error", []):
        first = columns.diff_line(node.start_point.row + 1)
        error_lines.update(range(first, columns.diff_line(node.end_point.row + 1) + 1))
    if len(error_lines) > max(MAX_ERROR_LINES, MAX_ERROR_FRACTION * columns.line_count):
        return None
    _SOURCE.data = columns.data
    extractor = _Extractor(columns)
    # Aliases first, in source order: uses may come before the declaration in the file.
    bindings = captures.get("import", []) + captures.get("decl", [])
    bindings.sort(key=lambda n: n.start_byte)
    imports: list[Import] = []
    for node in bindings:
        if node.type == "import_statement":
            extractor.import_statement(node, imports)
        else:
            extractor.declaration(node)
    for node in captures.get("assign", []):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is not None and left.type == "identifier":
            extractor.bound(_text(left), right)
    for node in captures.get("rebound", []):
        extractor.bound(_text(node), None)
    # Constants in source order, each folded once: a chain `b = a; c = b; …` then costs one
    # step a name, not one recursion level.
    for name in list(extractor.constants):
        extractor.constant(name, 0)
    calls: list[Call] = []
    for kind, new in (("call", False), ("new", True)):
        for node in captures.get(kind, []):
            call = extractor.call(node, new, imports)
            if call is not None:
                calls.append(call)
    calls.sort(key=lambda c: (c.span.line, c.span.col))
    imports.sort(key=lambda i: (i.span.line, i.span.col))
    strings: list[StringLit] = []
    named_values: list[Node] = []
    keys = _keys_of_values(tree, dialect, named_values)
    for node in captures.get("str", []):
        value = extractor.string_value(node)
        if value is None:  # a template with substitutions: folded when they are constants
            continue
        raw = _text(node) if node.start_point.row == node.end_point.row else value
        key = keys.get((node.start_byte, node.end_byte))
        strings.append(StringLit(columns.span(node), value, raw, key))
    strings.extend(_built_strings(extractor, captures, keys, named_values))
    strings.sort(key=lambda lit: (lit.span.line, lit.span.col))
    env_reads = []
    for node in captures.get("env", []):
        # `env_read` asks for parents, which tree-sitter finds from the root: bounded by time.
        if clock.expired():
            break
        env_reads.append(extractor.env_read(node))
    if extractor.exhausted:
        gaps.record(f"parse of {path} stopped: nesting deeper than {MAX_DEPTH}", path)
        return None
    if clock.expired():
        gaps.record(f"parse of {path} stopped: time budget of {clock.seconds()} s spent", path)
        return None
    return Facts(
        language=dialect,
        calls=tuple(calls),
        imports=tuple(imports),
        env_reads=tuple(sorted(env_reads, key=lambda e: (e.span.line, e.span.col))),
        strings=tuple(strings),
        hex_identifiers=tuple(columns.span(n) for n in captures.get("hex", [])),
        error_lines=frozenset(error_lines),
    )
