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
import bz2
import codecs
import lzma
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from functools import cache
from typing import Any

import tree_sitter_python
from tree_sitter import Language, Parser

from watcher import gaps
from watcher.parse.budget import MAX_DEPTH, Clock
from watcher.parse.droppers import STARTERS, dropper_starts
from watcher.parse.facts import (
    KEY_MATERIAL,
    Call,
    EnvRead,
    Facts,
    Import,
    Span,
    StringLit,
    may_send,
)
from watcher.parse.lines import Columns

#: Names of the builtins module: `builtins.exec` is `exec`.
BUILTIN_MODULES = frozenset({"builtins", "__builtins__"})
#: Callees whose nested argument calls are recorded (`exec(base64.b64decode(…))`).
CODE_SINKS = frozenset({"exec", "eval", "compile"})
#: How many once-bound names `argument_callees` follows from one call's arguments.
_FOLLOWED_NAMES = 16

#: Prefixes of process starters whose nested argument calls are recorded too: a command
#: decoded at run time (`os.system(bytes.fromhex(…).decode())`) is meant not to be read.
PROCESS_SINKS = (
    "subprocess.",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.startfile",
    "pty.spawn",
)
#: Calls that yield a module from its name.
MODULE_LOADERS = frozenset({"__import__", "importlib.import_module"})
#: `os.environ.<method>()` that hands over every variable.
ENV_WHOLE_METHODS = frozenset({"copy", "items", "keys", "values"})
#: Calls that serialise, copy or enumerate whatever they are given.
ENV_DUMPERS = frozenset(
    {"dict", "str", "repr", "list", "sorted", "json.dumps", "json.dump", "pickle.dumps", "print"}
)
ENVIRON = "os.environ"
#: Longest string (and list) constant folding builds: `a = b + b` repeated doubles each time,
#: and no honest host, module name or command is this long.
MAX_FOLDED = 1 << 16
#: How a folded constant was written: as one literal; assembled (concatenation, an f-string,
#: a join, a name bound to it); or decoded (base64, hex, `chr`, rot13, zlib, reversed).
LITERAL, BUILT, DECODED = 0, 1, 2
#: Calls that turn text (or bytes) into the bytes it encodes.
_BYTE_DECODERS = frozenset(
    {"base64.b64decode", "base64.decodebytes", "base64.urlsafe_b64decode", "b64decode"}
    | {"base64.b32decode", "base64.b16decode", "base64.a85decode", "base64.b85decode"}
    | {"bytes.fromhex", "bytearray.fromhex", "binascii.unhexlify", "binascii.a2b_hex"}
    | {"binascii.a2b_base64"}
)
GETENV = frozenset({"os.getenv"})


class _Extractor(ast.NodeVisitor):
    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.aliases: dict[str, str] = {}
        self.parents: dict[int, ast.AST] = {}
        #: Secrets found under each expression read so far (`_sources`, by node identity: the
        #: tree outlives the extractor), and those being read.
        self.source_memo: dict[int, tuple[str, ...]] = {}
        self.source_active: set[int] = set()
        self.calls: list[Call] = []
        self.imports: list[Import] = []
        self.env_reads: list[EnvRead] = []
        self.strings: list[StringLit] = []
        #: Names bound once to an expression (`collect_constants`), and what each folded to.
        self.constants: dict[str, ast.expr] = {}
        self.folded_names: dict[str, tuple[str, int] | None] = {}
        self.resolving: set[str] = set()
        #: Some expression nested deeper than `MAX_DEPTH`: folding stopped there.
        self.exhausted = False
        #: Expressions inside one already folded into a string: not folded again.
        self.inside_folded: set[int] = set()
        #: Names that are a code sink or loader under another name (`run = exec`,
        #: `e = eval("eval")`): calls through them are concealed.
        self.borrowed: set[str] = set()

    def span(self, node: ast.expr | ast.stmt) -> Span:
        return self.columns.span_of(
            node.lineno, node.col_offset, node.end_lineno, node.end_col_offset
        )

    # -- values ---------------------------------------------------------------------------

    def fold(self, node: ast.expr | None) -> tuple[str, bool] | None:
        """A constant string and whether it took work to build (concatenation, decoding)."""
        folded = self.fold_level(node)
        return None if folded is None else (folded[0], folded[1] > LITERAL)

    def deep(self, depth: int) -> bool:
        if depth > MAX_DEPTH:
            self.exhausted = True
            return True
        return False

    def fold_level(self, node: ast.expr | None, depth: int = 0) -> tuple[str, int] | None:
        """A constant string and how it was written: `LITERAL`, `BUILT` or `DECODED`."""
        if node is None or self.deep(depth):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value, LITERAL
        if isinstance(node, ast.Name):
            return self.constant(node.id, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.fold_level(node.left, depth + 1)
            right = self.fold_level(node.right, depth + 1) if left is not None else None
            if left is None or right is None:
                return None
            return _capped(left[0] + right[0], max(left[1], right[1], BUILT))
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            level = LITERAL
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    if value.format_spec is not None or value.conversion not in (-1, 115):
                        return None
                    inner = self.fold_level(value.value, depth + 1)
                    if inner is None:
                        return None
                    parts.append(inner[0])
                    level = max(level, inner[1], BUILT)
                elif isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    return None
            return _capped("".join(parts), level)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            # 'lanretni.live'[::-1]
            sl = node.slice
            step = sl.step
            if sl.lower is None and sl.upper is None and _int_of(step) == -1:
                inner = self.fold_level(node.value, depth + 1)
                return None if inner is None else (inner[0][::-1], DECODED)
            return None
        if isinstance(node, ast.Call):
            return self.fold_call(node, depth)
        return None

    def fold_call(self, node: ast.Call, depth: int) -> tuple[str, int] | None:
        func = node.func
        if isinstance(func, ast.Attribute):
            # ''.join([...]) / ''.join(chr(c) for c in [...])
            if func.attr == "join" and len(node.args) == 1:
                sep = self.fold_level(func.value, depth + 1)
                parts = self.fold_list(node.args[0], depth + 1)
                if sep is None or parts is None:
                    return None
                return _capped(sep[0].join(parts[0]), max(sep[1], parts[1], BUILT))
            # base64.b64decode('…').decode() / bytes.fromhex('…').decode()
            if func.attr == "decode" and len(node.args) <= 1:
                data = self.fold_bytes(func.value, depth + 1)
                if data is None:
                    return None
                return _capped(data[0].decode("utf-8", "replace"), max(data[1], BUILT))
        callee = self.path(func, depth + 1)
        if callee is None:
            return None
        name = callee[0]
        if name == "chr" and len(node.args) == 1:
            code = _int_of(node.args[0])
            if code is None or not 0 <= code < 0x110000:
                return None
            return chr(code), DECODED
        if name == "codecs.decode" and len(node.args) >= 2:
            text = self.fold_level(node.args[0], depth + 1)
            codec = self.fold_level(node.args[1], depth + 1)
            if text is None or codec is None:
                return None
            if codec[0].lower().replace("-", "_") in ("rot13", "rot_13"):
                return codecs.decode(text[0], "rot13"), DECODED
        return None

    def fold_list(self, node: ast.expr, depth: int) -> tuple[list[str], int] | None:
        """Constant strings in a list, tuple, or `chr(c) for c in [...]`."""
        if self.deep(depth):
            return None
        if isinstance(node, ast.List | ast.Tuple):
            if len(node.elts) > MAX_FOLDED:
                return None
            out: list[str] = []
            level = BUILT
            for element in node.elts:
                folded = self.fold_level(element, depth + 1)
                if folded is None:
                    return None
                out.append(folded[0])
                level = max(level, folded[1])
            return out, level
        if isinstance(node, ast.Name):
            bound = self.constants.get(node.id)
            if bound is None or node.id in self.resolving:
                return None
            self.resolving.add(node.id)
            try:
                return self.fold_list(bound, depth + 1)
            finally:
                self.resolving.discard(node.id)
        if (
            isinstance(node, ast.GeneratorExp | ast.ListComp)
            and len(node.generators) == 1
            and not node.generators[0].ifs
            and isinstance(node.generators[0].target, ast.Name)
            and isinstance(node.generators[0].iter, ast.List | ast.Tuple)
            and isinstance(node.elt, ast.Call)
            and isinstance(node.elt.func, ast.Name)
            and node.elt.func.id == "chr"
            and len(node.elt.args) == 1
            and isinstance(node.elt.args[0], ast.Name)
            and node.elt.args[0].id == node.generators[0].target.id
        ):
            codes = [_int_of(e) for e in node.generators[0].iter.elts]
            if len(codes) > MAX_FOLDED or any(c is None or not 0 <= c < 0x110000 for c in codes):
                return None
            return [chr(c) for c in codes if c is not None], DECODED
        return None

    def fold_bytes(self, node: ast.expr, depth: int) -> tuple[bytes, int] | None:
        """A constant byte string: a literal, or one decoded from constants."""
        if self.deep(depth):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            return node.value, LITERAL
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "encode" and len(node.args) <= 1:
            text = self.fold_level(func.value, depth + 1)
            if text is None:
                return None
            try:
                return text[0].encode("utf-8"), text[1]
            except UnicodeEncodeError:  # not a gap: not folded
                return None
        callee = self.path(func, depth + 1)
        if callee is None or not node.args:
            return None
        name = callee[0].removeprefix("builtins.")
        if name in ("bytes", "bytearray") and isinstance(node.args[0], ast.List | ast.Tuple):
            codes = [_int_of(e) for e in node.args[0].elts]
            if len(codes) > MAX_FOLDED or any(c is None or not 0 <= c < 256 for c in codes):
                return None
            return bytes(c for c in codes if c is not None), DECODED
        if name in ("zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress"):
            data = self.fold_bytes(node.args[0], depth + 1)
            if data is None:
                return None
            return _decompress(name, data[0])
        if name == "codecs.decode" and len(node.args) >= 2:
            codec = self.fold_level(node.args[1], depth + 1)
            if codec is None or codec[0].lower() not in ("hex", "base64", "hex_codec"):
                return None
            name = "bytes.fromhex" if codec[0].lower().startswith("hex") else "b64decode"
        if name in _BYTE_DECODERS or name == "b64decode":
            value: tuple[str | bytes, int] | None = self.fold_level(node.args[0], depth + 1)
            if value is None:
                value = self.fold_bytes(node.args[0], depth + 1)
            if value is None:
                return None
            decoded = _decode_bytes(name, value[0])
            return None if decoded is None else (decoded, DECODED)
        return None

    def constant(self, name: str, depth: int) -> tuple[str, int] | None:
        """The value of a name assigned once (in any scope of the file) to a constant string."""
        if name in self.folded_names:
            return self.folded_names[name]
        value = self.constants.get(name)
        if value is None or name in self.resolving or self.deep(depth):
            return None
        self.resolving.add(name)
        try:
            result = self.fold_level(value, depth + 1)
        finally:
            self.resolving.discard(name)
        self.folded_names[name] = result
        return result

    def collect_constants(self, tree: ast.AST) -> None:
        """Names bound exactly once in the file, and that by a plain `name = <expression>`.

        A name assigned in a loop body is bound once in the text but many times when run: it is
        kept only when nothing else (`+=`, a `for` target, a parameter, `global`) binds it.
        """
        stores: dict[str, int] = {}
        simple: dict[str, ast.expr] = {}
        for node in nodes_of(tree):
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                simple[node.targets[0].id] = node.value
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                stores[node.id] = stores.get(node.id, 0) + 1
            elif isinstance(node, ast.arg):
                stores[node.arg] = stores.get(node.arg, 0) + 2
            elif isinstance(node, ast.Global | ast.Nonlocal):
                for name in node.names:
                    stores[name] = stores.get(name, 0) + 2
            elif isinstance(node, ast.alias):
                name = node.asname or node.name.split(".")[0]
                stores[name] = stores.get(name, 0) + 2
        self.constants = {name: value for name, value in simple.items() if stores[name] == 1}

    def path(self, node: ast.expr | None, depth: int = 0) -> tuple[str, int] | None:
        """The dotted path an expression names, through aliases, and how its pieces were
        written (`LITERAL`, `BUILT`, `DECODED`: the most concealed piece)."""
        if self.deep(depth):
            return None
        if isinstance(node, ast.Name):
            return self.aliases.get(
                node.id, node.id
            ), DECODED if node.id in self.borrowed else LITERAL
        if isinstance(node, ast.Attribute):
            base = self.path(node.value, depth + 1)
            if base is None:
                return None
            if base[0] in BUILTIN_MODULES:
                return node.attr, base[1]
            return f"{base[0]}.{node.attr}", base[1]
        if isinstance(node, ast.Call):
            callee = self.path(node.func, depth + 1)
            if callee is None:
                return None
            if callee[0] in MODULE_LOADERS and node.args:
                return self.fold_level(node.args[0], depth + 1)
            if callee[0] == "eval" and node.args:
                # `eval("exec")` is the builtin `exec` itself, fetched so no text names it.
                folded = self.fold_level(node.args[0], depth + 1)
                fetched = folded[0].strip() if folded is not None else ""
                if _dotted(fetched):
                    return self.aliases.get(fetched, fetched), DECODED
            if callee[0] == "getattr" and len(node.args) >= 2:
                base = self.path(node.args[0], depth + 1)
                name = self.fold_level(node.args[1], depth + 1)
                if base is None or name is None:
                    return None
                level = max(base[1], name[1])
                if base[0] in BUILTIN_MODULES:
                    return name[0], level
                return f"{base[0]}.{name[0]}", level
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

    def argument_callees(self, args: list[ast.expr]) -> tuple[str, ...]:
        """Callees of the calls in `args`, and in what a name there was bound to.

        `code = base64.b64decode(blob); run = code; exec(run)` is `exec` of a decoded value as
        much as `exec(base64.b64decode(blob))` is: names bound once (`constants`) are followed,
        through at most `_FOLLOWED_NAMES` of them.
        """
        found: list[str] = []
        followed: set[str] = set()
        pending: list[ast.expr] = list(args)
        while pending:
            for sub in ast.walk(pending.pop()):
                if isinstance(sub, ast.Call) and (c := self.path(sub.func)) is not None:
                    found.append(c[0])
                elif (
                    isinstance(sub, ast.Name)
                    and sub.id in self.constants
                    and sub.id not in followed
                    and len(followed) < _FOLLOWED_NAMES
                ):
                    followed.add(sub.id)
                    pending.append(self.constants[sub.id])
        return tuple(found)

    def sources_in(self, args: list[ast.expr]) -> Iterator[str]:
        """Secrets in a call's arguments (`Call.arg_sources`), through names bound once."""
        for arg in args:
            yield from self._sources(arg, 0, 0)

    def _sources(self, root: ast.AST, depth: int, names: int) -> tuple[str, ...]:
        """Secrets in one expression, memoised per node: nested calls and constants are read
        once per file, whatever the number of sending calls around them. At most
        `_FOLLOWED_NAMES` names are followed in a row (`b = a; c = b; …`)."""
        cached = self.source_memo.get(id(root))
        if cached is not None:
            return cached
        if id(root) in self.source_active or self.deep(depth):
            return ()
        self.source_active.add(id(root))
        found: list[str] = []
        stack: list[ast.AST] = [root]
        while stack:
            sub = stack.pop()
            source = self._source(sub)
            if source is not None:
                found.append(source)
            elif sub is not root and isinstance(sub, ast.Call):
                found.extend(self._sources(sub, depth + 1, names))
            elif isinstance(sub, ast.Name) and sub.id in self.constants:
                if names < _FOLLOWED_NAMES:
                    found.extend(self._sources(self.constants[sub.id], depth, names + 1))
            else:
                stack.extend(ast.iter_child_nodes(sub))
        self.source_active.discard(id(root))
        result = tuple(dict.fromkeys(found))
        if names == 0:  # read whole: a result cut by the name bound is not the node's own
            self.source_memo[id(root)] = result
        return result

    def _source(self, node: ast.AST) -> str | None:
        """The source the expression reads ("env:NAME", "env:*", "key:name"), or None."""
        if isinstance(node, ast.Subscript):
            if self.path(node.value) == (ENVIRON, LITERAL):
                key = self.fold(node.slice)
                return f"env:{key[0]}" if key is not None else "env:?"
        elif isinstance(node, ast.Call):
            resolved = self.path(node.func)
            if resolved is not None and resolved[0] in (*GETENV, f"{ENVIRON}.get"):
                key = self.fold(node.args[0]) if node.args else None
                return f"env:{key[0]}" if key is not None else "env:?"
        elif isinstance(node, ast.Attribute | ast.Name):
            resolved = self.path(node)
            if resolved is not None and resolved[0] == ENVIRON:
                return "env:*"
            leaf = node.attr if isinstance(node, ast.Attribute) else node.id
            if KEY_MATERIAL.match(leaf):
                return f"key:{leaf}"
        return None

    def visit_Assign(self, node: ast.Assign) -> bool:
        resolved = self.path(node.value)
        if resolved is None:
            return True
        # A plain name is an alias only for a code sink or loader: `run = exec` hides the
        # sink, while `x = y` between the package's own values is not worth following.
        lent = isinstance(node.value, ast.Name) and resolved[0] in CODE_SINKS | MODULE_LOADERS
        if lent or isinstance(node.value, ast.Call | ast.Attribute):
            sink = resolved[0].rsplit(".", 1)[-1].lower()
            for target in node.targets:
                if isinstance(target, ast.Name) and resolved[0] != ENVIRON:
                    self.aliases[target.id] = resolved[0]
                    # `exec_ = exec` (a py2/3 shim) still says what it is; `color = exec`
                    # does not.
                    if resolved[1] or (lent and sink not in target.id.lower()):
                        self.borrowed.add(target.id)
        return True

    def built_string(self, node: ast.expr, named: bool = False) -> None:
        """Record an expression that folds to a constant it took work to write."""
        if id(node) in self.inside_folded:
            return
        folded = self.fold_level(node)
        if folded is None or (folded[1] == LITERAL and not named):
            return
        for sub in ast.walk(node):
            self.inside_folded.add(id(sub))
        span = self.span(node)
        raw = folded[0]
        if node.end_lineno == node.lineno and node.end_col_offset is not None:
            raw = self.columns.text_at(span) or raw
        self.strings.append(
            StringLit(
                span, folded[0], raw, self.key_of(node), built=True, decoded=folded[1] >= DECODED
            )
        )

    def key_of(self, node: ast.expr) -> str | None:
        """The keyword or constant dict key a value is given under (`host=…`, `{'host': …}`)."""
        parent = self.parents.get(id(node))
        if isinstance(parent, ast.keyword):
            return parent.arg
        if isinstance(parent, ast.Dict):
            for key, value in zip(parent.keys, parent.values, strict=True):
                if value is node and isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return key.value
        return None

    def visit_BinOp(self, node: ast.BinOp) -> bool:
        if isinstance(node.op, ast.Add):
            self.built_string(node)
        return True

    def visit_JoinedStr(self, node: ast.JoinedStr) -> bool:
        self.built_string(node)
        return True

    def visit_Subscript(self, node: ast.Subscript) -> bool:
        if isinstance(node.slice, ast.Slice):
            self.built_string(node)
        return True

    def visit_Expr(self, node: ast.Expr) -> bool:
        # A bare string statement is a docstring or a comment in disguise: not data the code uses.
        return not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))

    def visit_Call(self, node: ast.Call) -> bool:
        self.built_string(node)
        resolved = self.path(node.func)
        if resolved is not None:
            callee, level = resolved
            first = self.fold_level(node.args[0]) if node.args else None
            span = self.span(node)
            if callee in MODULE_LOADERS and first is not None:
                self.imports.append(Import(span, first[0], first[1] > LITERAL, first[1] >= DECODED))
            nested: tuple[str, ...] = ()
            if callee in CODE_SINKS or callee.startswith(PROCESS_SINKS):
                nested = self.argument_callees(node.args)
            sources: tuple[str, ...] = ()
            if may_send(callee):
                arguments = [*node.args, *(k.value for k in node.keywords)]
                sources = tuple(dict.fromkeys(self.sources_in(arguments)))
            self.calls.append(
                Call(
                    span,
                    callee,
                    first_arg=first[0] if first is not None else None,
                    first_arg_built=first is not None and first[1] > LITERAL,
                    arg_callees=nested,
                    arg_sources=sources,
                    concealed=level > LITERAL,
                    decoded=level >= DECODED,
                )
            )
            if callee in GETENV:
                key = first[0] if first is not None else None
                self.env_reads.append(EnvRead(span, False, key))
        return True

    def visit_Attribute(self, node: ast.Attribute) -> bool:
        # Checked before the children (the reads are sorted by position afterwards).
        if self.path(node) == (ENVIRON, LITERAL):
            self.env_reads.append(self.env_use(node))
        return True

    def visit_Name(self, node: ast.Name) -> bool:
        if self.aliases.get(node.id) == ENVIRON:
            self.env_reads.append(self.env_use(node))
        elif node.id in self.constants and self.key_of(node) is not None:
            # `ftp(host=H)`, `{'host': H}`: the value given is the constant `H` names.
            self.built_string(node, named=True)
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
            raw = self.columns.text_at(span) or value
        self.strings.append(StringLit(span, value, raw, self.key_of(node)))
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
    ast.BinOp: _Extractor.visit_BinOp,
    ast.JoinedStr: _Extractor.visit_JoinedStr,
    ast.Subscript: _Extractor.visit_Subscript,
}


def _dotted(text: str) -> bool:
    """Whether text is a (dotted) Python name, such as `exec` or `os.system`."""
    return bool(text) and len(text) <= 128 and all(p.isidentifier() for p in text.split("."))


def _capped(value: str, level: int) -> tuple[str, int] | None:
    return (value, level) if len(value) <= MAX_FOLDED else None


def _int_of(node: ast.expr | None) -> int | None:
    """A constant integer: a literal, `-n`, or arithmetic on literals (`100 + 4`)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_of(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.BitXor):
        left, right = _int_of(node.left), _int_of(node.right)
        if left is None or right is None or abs(left) > 1 << 32 or abs(right) > 1 << 32:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        return left - right if isinstance(node.op, ast.Sub) else left ^ right
    return None


def _decode_bytes(callee: str, value: str | bytes) -> bytes | None:
    """What a decoder call gives for a constant argument; None when it would raise."""
    try:
        if callee in ("bytes.fromhex", "bytearray.fromhex"):
            return bytes.fromhex(value if isinstance(value, str) else value.decode("latin-1"))
        if callee in ("binascii.unhexlify", "binascii.a2b_hex", "base64.b16decode"):
            return binascii.unhexlify(value)
        if callee == "base64.b32decode":
            return base64.b32decode(value)
        if callee == "base64.a85decode":
            return base64.a85decode(value)
        if callee == "base64.b85decode":
            return base64.b85decode(value)
        if callee == "base64.urlsafe_b64decode":
            return base64.urlsafe_b64decode(value)
        return base64.b64decode(value)
    except (binascii.Error, ValueError):  # not a gap: the call would raise, nothing is folded
        return None


def _decompress(callee: str, data: bytes) -> tuple[bytes, int] | None:
    """Decompressed constant bytes, never more than `MAX_FOLDED` of them (no zip bombs)."""
    try:
        if callee == "zlib.decompress":
            out = zlib.decompressobj().decompress(data, MAX_FOLDED + 1)
        elif callee == "gzip.decompress":
            out = zlib.decompressobj(wbits=31).decompress(data, MAX_FOLDED + 1)
        elif callee == "bz2.decompress":
            out = bz2.BZ2Decompressor().decompress(data, MAX_FOLDED + 1)
        else:
            out = lzma.LZMADecompressor().decompress(data, MAX_FOLDED + 1)
    except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError):  # not a gap: not folded
        return None
    return (out, DECODED) if len(out) <= MAX_FOLDED else None


@cache
def _ts_language() -> Language:
    return Language(tree_sitter_python.language())


#: Messages of the `SyntaxError`s CPython 3.11 raises for nesting rather than for syntax.
_DEPTH_MESSAGES = ("too complex", "too many nested", "maximum recursion")


def fold_string(node: ast.expr, constants: Mapping[str, ast.expr]) -> tuple[str, bool] | None:
    """The string an expression folds to (concatenations, joins, char codes and decoders:
    base64, hex, rot13, zlib), names resolved through `constants`; and whether a piece had
    to be decoded. None when it is not constant."""
    extractor = _Extractor(Columns(""))
    extractor.constants = dict(constants)
    folded = extractor.fold_level(node)
    if folded is None or extractor.exhausted:
        return None
    return folded[0], folded[1] >= DECODED


def nodes_of(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of the tree, depth first (`ast.walk` visits the same nodes breadth first at
    three times the cost); expression contexts (`Load`, `Store`) are left out."""
    node_type, context = ast.AST, ast.expr_context
    stack = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        yield node
        for name in reversed(node._fields):
            value = getattr(node, name, None)
            if isinstance(value, list):
                push_all = [item for item in value if isinstance(item, node_type)]
                stack.extend(reversed(push_all))
            elif isinstance(value, node_type) and not isinstance(value, context):
                push(value)


def _expression_depth_over(tree: ast.AST, limit: int) -> bool:
    """Whether nodes below one statement nest more than `limit` deep (a stack, no recursion).

    Reads `_fields` directly: `ast.iter_child_nodes` costs three times as much, and this runs
    on every file parsed.
    """
    stmt, node_type, context = ast.stmt, ast.AST, ast.expr_context
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, depth = pop()
        if depth > limit:
            return True
        below = depth + 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, node_type):
                        push((item, 0 if isinstance(item, stmt) else below))
            elif isinstance(value, context):  # a leaf (`Load`, `Store`): no need to visit
                if below > limit:
                    return True
            elif isinstance(value, node_type):
                push((value, 0 if isinstance(value, stmt) else below))
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


def _named_as_python(path: str) -> bool:
    """Whether the file's name says Python (or says nothing: an extensionless script)."""
    name = path.rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    return not dot or not stem or suffix.lower() in ("py", "pyw", "pyi")


def parse_module(path: str, text: str, sha256: str | None = None) -> ast.Module | None:
    """The `ast` of a Python file, or None (then text rules judge it); never raises.

    None with a gap recorded (`watcher.gaps`) when the file is not analysable: nesting deeper
    than `MAX_DEPTH` (or than CPython 3.11's parser takes, which 3.13 may compile), a spent
    time budget, or text that neither `ast` nor tree-sitter-python reads. None without a gap
    when `ast` rejects syntax newer than 3.11 that tree-sitter-python reads cleanly.
    """
    clock = Clock()
    remembered = clock.budget.trees.get(text)
    if remembered is not None:
        return remembered
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
            if reads is False and not _named_as_python(path):
                # A data file (`pyproject.toml`, `SKILL.md`) a module might `exec` is read as
                # Python on suspicion; neither parser reading it means no interpreter runs it.
                return None
            if reads is False:
                line = getattr(error, "lineno", None)
                where = f" (line {line}: {message})" if line else f" ({message})"
                gaps.record(f"parse of {path} failed: not valid Python{where}", path, sha256)
            return None
        if _expression_depth_over(tree, MAX_DEPTH):
            gaps.record(f"parse of {path} stopped: nesting deeper than {MAX_DEPTH}", path, sha256)
            return None
        clock.budget.trees.put(text, tree)
        return tree
    finally:
        clock.stop()


def parse(path: str, source: str) -> Facts | None:
    """Facts of a Python file, or None when it does not parse (see `parse_module`)."""
    columns = Columns(source)
    tree = parse_module(path, columns.text)
    if tree is None:
        return None
    facts = _extract(path, columns, tree, 0)
    if facts is None:
        gaps.record(f"parse of {path} stopped: nesting deeper than {MAX_DEPTH}", path)
    return facts


#: How deep code held in strings is read (a string run by `exec` that runs another string).
MAX_EMBEDDED = 3


def _extract(path: str, columns: Columns, tree: ast.AST, depth: int) -> Facts | None:
    extractor = _Extractor(columns)
    extractor.collect_constants(tree)
    # Each constant folded once, in source order: a chain `b = a; c = b; …` then costs one
    # step a name, not one recursion level.
    for name in list(extractor.constants):
        extractor.constant(name, 0)
    extractor.run(tree)
    if extractor.exhausted:
        return None
    drops, scripts = _drops(extractor, tree)
    embedded = _embedded(path, extractor, scripts, drops, depth)
    by_position = lambda fact: (fact.span.line, fact.span.col)  # noqa: E731
    return Facts(
        drops=drops,
        language="python",
        calls=tuple(sorted([*extractor.calls, *embedded.calls], key=by_position)),
        imports=tuple(sorted([*extractor.imports, *embedded.imports], key=by_position)),
        env_reads=tuple(sorted([*extractor.env_reads, *embedded.env_reads], key=by_position)),
        strings=tuple(sorted(extractor.strings, key=by_position)),
    )


def _embedded(
    path: str, extractor: _Extractor, scripts: list[str], drops: tuple[Span, ...], depth: int
) -> Facts:
    """Facts of code the file holds as text and runs: a constant given to `exec`/`eval`/
    `compile`, or a script it writes to disk and starts (`scripts`, started at `drops`).

    What that code calls is what the file does, so its calls, imports and environment reads
    are the file's, placed on the line that runs it (the string's own lines are not the
    file's). Its literals are not repeated: the file's string already holds their text. Text
    that does not parse as Python is no gap: it was never known to be code. Code that parses
    but nests too deep (in strings, or in expressions) is one: it is code not read.
    """
    sources = [(c.first_arg, c.span) for c in extractor.calls if c.callee in CODE_SINKS]
    if drops:
        sources += [(script, drops[0]) for script in scripts]
    calls: list[Call] = []
    imports: list[Import] = []
    env_reads: list[EnvRead] = []
    for text, span in sources:
        if not text or len(text) > MAX_FOLDED or not any(c in text for c in "(=\n;"):
            continue
        inner = _parse_embedded(path, text, span, depth + 1)
        if inner is None:
            continue
        calls += [replace(c, span=span) for c in inner.calls]
        imports += [replace(i, span=span) for i in inner.imports]
        env_reads += [replace(e, span=span) for e in inner.env_reads]
    return Facts(
        language="python", calls=tuple(calls), imports=tuple(imports), env_reads=tuple(env_reads)
    )


def _parse_embedded(path: str, text: str, span: Span, depth: int) -> Facts | None:
    """Facts of a string run as code at `span`; None when it is not Python (recording
    nothing) or when it is but could not be read (a gap)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, OverflowError):  # not a gap: text never known to be code
        return None
    except (RecursionError, MemoryError):
        _record_deep_gap(path, span)
        return None
    facts = None
    if depth <= MAX_EMBEDDED and not _expression_depth_over(tree, MAX_DEPTH):
        facts = _extract(path, Columns(text), tree, depth)
    if facts is None:
        _record_deep_gap(path, span)
    return facts


def _record_deep_gap(path: str, span: Span) -> None:
    gaps.record(
        f"parse of {path} stopped: code run from a string at line {span.line} nests too deep"
        f" (strings within strings past {MAX_EMBEDDED}, or expressions past {MAX_DEPTH})",
        path,
    )


def _drops(extractor: _Extractor, tree: ast.AST) -> tuple[tuple[Span, ...], list[str]]:
    """Process starts that run a script this file wrote from its own text (a dropper), and
    the scripts it wrote."""
    # Most files start no process: the extra walks are paid only by those that do.
    if not any(call.callee.startswith(STARTERS) for call in extractor.calls):
        return (), []

    def resolve(node: ast.expr) -> str | None:
        found = extractor.path(node)
        return None if found is None else found[0]

    def fold(node: ast.expr) -> str | None:
        found = extractor.fold_level(node)
        return None if found is None else found[0]

    starts, scripts = dropper_starts(tree, resolve, fold, extractor.constants)
    spans = sorted((extractor.span(c) for c in starts), key=lambda s: (s.line, s.col))
    return tuple(spans), scripts
