"""The rewrite families, fixed before the analysis is tuned (issue 10).

A family is a list of variants; a variant is a function `Pair -> Pair | None` that rewrites the
payload of a release pair without changing what it does (None: it does not apply to this
payload, e.g. no `process.env` to respell). Text edits are parser-guided (tree-sitter for JS,
`ast` for Python) and touch only the payload lines; every rewritten file must still parse.
`ENCODING` families conceal text and are not applied to the hard negatives.
"""

from __future__ import annotations

import ast
import base64
import json
import posixpath
import random
import re
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from benchmarks.metamorphic import jsedit, pyedit
from benchmarks.metamorphic.archive import Pair, Tree, inserted_blocks, payload_of

Variant = Callable[[Pair], Pair | None]


@dataclass(frozen=True)
class Family:
    name: str
    variants: tuple[tuple[str, Variant], ...]
    encoding: bool = False


# --------------------------------------------------------------------------- plumbing


def _finish(seed: Pair, old: Tree, new: Tree, variant: str, family: str, not_payload=()) -> Pair:
    """The rewritten pair; its payload is what now differs, minus stubs that only point to it."""
    for path, text in new.files.items():
        if seed.new.files.get(path) == text:
            continue  # only what the rewrite touched needs checking
        if path != "package.json" and not path.endswith("/package.json"):
            if path.endswith((".js", ".cjs", ".mjs")) and not jsedit.parses(text):
                raise AssertionError(f"{variant}: {path} no longer parses")
            if path.endswith(".py") and not pyedit.parses(text):
                raise AssertionError(f"{variant}: {path} no longer parses")
    payload = {p: rows for p, rows in payload_of(old, new).items() if p not in not_payload}
    if seed.malicious and not payload:
        raise AssertionError(f"{variant}: the rewrite lost the payload")
    return replace(seed, old=old, new=new, payload=payload, family=family, variant=variant)


def _py(path: str) -> bool:
    return path.endswith((".py", ".pth"))


TextEdit = Callable[[str, set[int], str, Tree], str | None]


def per_file(family: str, variant: str, js: TextEdit | None, py: TextEdit | None) -> Variant:
    """A variant that edits each payload file of its language in place."""

    def run(seed: Pair) -> Pair | None:
        files = dict(seed.new.files)
        changed = False
        for path, rows in seed.payload.items():
            fn = js if path.endswith((".js", ".cjs", ".mjs")) else py if _py(path) else None
            if fn is None:
                continue
            out = fn(files[path], rows, path, seed.new)
            if out is not None and out != files[path]:
                if path.endswith(".pth"):
                    out = "\n".join(
                        ln
                        if not ln.strip() or ln.startswith(("import ", "#"))
                        else "import sys; " + ln
                        for ln in out.split("\n")
                    )
                files[path], changed = out, True
        if not changed:
            return None
        return _finish(seed, seed.old, seed.new.with_files(files), variant, family)

    return run


def _py_source(text: str, path: str) -> pyedit.Source | None:
    try:
        return pyedit.Source(text)
    except SyntaxError:
        return None


# --------------------------------------------------------------------------- member access


def _js_env(style: str) -> TextEdit:
    spell = {
        "bracket": "process['env']",
        "concat": 'process["e" + "nv"]',
        "reflect": "Reflect.get(process, 'env')",
        "globalthis": "globalThis.process.env",
        "destructure": "__pe",
    }[style]

    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        src = text.encode()
        root = jsedit.parse(src)
        hits = [n for n in jsedit.walk(root) if jsedit.member(n, "process", "env")]
        hits = [n for n in hits if jsedit.in_rows(n, rows)]
        if not hits:
            return None
        out = jsedit.apply(src, [(n.start_byte, n.end_byte, spell.encode()) for n in hits])
        result = out.decode()
        if style == "destructure":
            result = jsedit.insert_prologue(result, "const { env: __pe } = process;")
        return result

    return edit


def _js_bracket_all(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
    src = text.encode()
    root = jsedit.parse(src)
    edits = []
    for node in jsedit.dotted_members(root, rows):
        obj, prop = node.child_by_field_name("object"), node.child_by_field_name("property")
        assert obj is not None and prop is not None
        edits.append(
            (obj.end_byte, node.end_byte, f"[{jsedit.literal(jsedit.text_of(prop))}]".encode())
        )
    return jsedit.apply(src, edits).decode() if edits else None


def _js_keys(style: str) -> TextEdit:
    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        src = text.encode()
        root = jsedit.parse(src)
        edits = []
        for node in jsedit.pairs(root, rows):
            key = node.child_by_field_name("key")
            assert key is not None
            name = jsedit.text_of(key)
            if style == "computed":
                edits.append((key.start_byte, key.end_byte, f"[{jsedit.literal(name)}]".encode()))
            elif style == "concat" and len(name) > 1:
                k = f"[{jsedit.literal(name[:1])} + {jsedit.literal(name[1:])}]"
                edits.append((key.start_byte, key.end_byte, k.encode()))
            elif style == "spread":
                whole = jsedit.text_of(node)
                edits.append((node.start_byte, node.end_byte, f"...{{ {whole} }}".encode()))
        return jsedit.apply(src, edits).decode() if edits else None

    return edit


def _py_env(style: str) -> TextEdit:
    spell = {
        "getattr": "getattr(os, 'environ')",
        "dict": "os.__dict__['environ']",
        "dunder-import": "__import__('os').environ",
        "importlib": "__import__('importlib').import_module('os').environ",
    }[style]

    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        s = _py_source(text, path)
        if s is None:
            return None
        hits = [a for a in pyedit.attributes(s, rows) if pyedit.is_module_attr(a, "os", "environ")]
        if not hits:
            return None
        return s.apply([(*s.span(a), spell.encode()) for a in hits])

    return edit


def _py_tool_description(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
    s = _py_source(text, path)
    if s is None:
        return None
    edits = pyedit.description_edits(s, rows, repr)
    return s.apply(edits) if edits else None


def _py_getattr_all(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
    s = _py_source(text, path)
    if s is None:
        return None
    edits = []
    for a in pyedit.attributes(s, rows):
        if a.lineno != a.end_lineno or a.attr.startswith("__"):
            continue
        start, end = s.span(a)
        inner = s.segment(a.value)
        edits.append((start, end, f"getattr({inner}, {a.attr!r})".encode()))
    return s.apply(edits) if edits else None


# --------------------------------------------------------------------------- module loaders


def _js_loader(style: str) -> TextEdit:
    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        src = text.encode()
        root = jsedit.parse(src)
        calls = jsedit.require_calls(root, rows)
        if not calls:
            return None
        edits = []
        for call, fn, spec in calls:
            if style == "constructor-load":
                edits.append((fn.start_byte, fn.end_byte, b"module.constructor._load"))
            elif style == "create-require":
                new = b"require('module').createRequire(__filename)"
                edits.append((fn.start_byte, fn.end_byte, new))
            elif style == "main-module":
                edits.append((fn.start_byte, fn.end_byte, b"process.mainModule.require"))
            else:
                half = max(1, len(spec) // 2)
                arg = f"__r({jsedit.literal(spec[:half])} + {jsedit.literal(spec[half:])})"
                edits.append((call.start_byte, call.end_byte, arg.encode()))
        out = jsedit.apply(src, edits).decode()
        if style == "alias":
            out = jsedit.insert_prologue(out, "const __r = require;")
        return out

    return edit


def _py_loader(style: str) -> TextEdit:
    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        s = _py_source(text, path)
        if s is None:
            return None
        edits = pyedit.import_rewrites(s, rows, style)
        return s.apply(edits) if edits else None

    return edit


# --------------------------------------------------------------------------- constants


def _js_const(style: str) -> TextEdit:
    encode = jsedit.ENCODERS[style]

    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        src = text.encode()
        root = jsedit.parse(src)
        edits = []
        for node in jsedit.payload_strings(root, rows):
            value = jsedit.string_value(node)
            assert value is not None
            expr = encode(value)
            if expr is not None:
                edits.append((node.start_byte, node.end_byte, expr.encode()))
        return jsedit.apply(src, edits).decode() if edits else None

    return edit


def _py_const(style: str) -> TextEdit:
    encode = pyedit.ENCODERS[style]

    def edit(text: str, rows: set[int], path: str, tree: Tree) -> str | None:
        s = _py_source(text, path)
        if s is None:
            return None
        edits = pyedit.description_edits(s, rows, encode)
        for node in pyedit.payload_strings(s, rows):
            edits.append((*s.span(node), encode(node.value).encode()))
        return s.apply(edits) if edits else None

    return edit


# --------------------------------------------------------------------------- payload units


@dataclass(frozen=True)
class Unit:
    """A self-contained piece of payload: a whole file a script runs, or an inserted block."""

    path: str
    kind: str  # "file" | "hunk"
    #: For hunks: 0-based [start, end) line span in the new file.
    span: tuple[int, int] = (0, 0)

    def body(self, tree: Tree) -> str:
        text = tree.files[self.path]
        if self.kind == "file":
            if _py(self.path):
                return text
            at = jsedit.prologue_end(text.encode())
            return text.encode()[at:].decode().strip("\n") + "\n"
        lines = text.split("\n")
        return "\n".join(lines[self.span[0] : self.span[1]]) + "\n"

    def replace_body(self, tree: Tree, body: str) -> str:
        text = tree.files[self.path]
        if self.kind == "file":
            if _py(self.path):
                return body
            at = jsedit.prologue_end(text.encode())
            head = text.encode()[:at].decode()
            return (head + "\n" if head else "") + body
        lines = text.split("\n")
        return "\n".join(
            lines[: self.span[0]] + body.rstrip("\n").split("\n") + lines[self.span[1] :]
        )


def _script_targets(tree: Tree) -> set[str]:
    """Files that a package.json lifecycle script runs with `node FILE`."""
    out = set()
    for path, text in tree.files.items():
        if path != "package.json" and not path.endswith("/package.json"):
            continue
        base = posixpath.dirname(path)
        try:
            scripts = json.loads(text).get("scripts", {})
        except ValueError:
            continue
        for cmd in scripts.values():
            for target in re.findall(r"node\s+([\w./-]+)", str(cmd)):
                out.add(posixpath.normpath(posixpath.join(base, target)))
    return out


_REL_REQUIRE = re.compile(r"""require\(\s*['"](\.[^'"]+)['"]\s*\)""")


def _required(tree: Tree) -> set[str]:
    """Files some other file loads with a relative `require`."""
    out = set()
    for path, text in tree.files.items():
        for spec in _REL_REQUIRE.findall(text):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
            out |= {target, target + ".js"}
    return out


def units(seed: Pair) -> list[Unit]:
    out = []
    targets = _script_targets(seed.new) | _required(seed.new)
    for path in seed.payload:
        new = seed.new.files[path]
        old = seed.old.files.get(path)
        if old is None:
            if path in targets or (path.endswith((".py", ".pth"))):
                out.append(Unit(path, "file"))
            continue
        blocks = inserted_blocks(old, new)
        if len(blocks) != 1:
            continue
        start, end = blocks[0]
        lines = new.split("\n")
        while start < end and not lines[start].strip():
            start += 1
        if start == end or lines[start][:1].isspace():
            continue
        chunk = "\n".join(lines[start:end])
        ok = pyedit.parses(chunk) if _py(path) else jsedit.parses(chunk)
        if ok:
            out.append(Unit(path, "hunk", (start, end)))
    return out


def _cjs(seed: Pair, unit: Unit) -> bool:
    if not unit.path.endswith((".js", ".cjs")) or seed.new.esm(unit.path):
        return False
    return "import " not in unit.body(seed.new).split("\n", 1)[0]


def _top_names(text: str) -> set[str]:
    root = jsedit.parse(text.encode())
    names = set()
    for child in root.children:
        for node in jsedit.walk(child):
            if node.type in ("variable_declarator", "function_declaration", "class_declaration"):
                name = node.child_by_field_name("name")
                if name is not None:
                    names.add(jsedit.text_of(name))
            if node.type in ("statement_block", "function_expression", "arrow_function"):
                break
    return names


def _self_contained(seed: Pair, unit: Unit) -> bool:
    """A hunk that uses nothing its host file declares can move to another file."""
    if unit.kind == "file":
        return True
    host = seed.old.files.get(unit.path, "")
    used = {
        jsedit.text_of(n)
        for n in jsedit.walk(jsedit.parse(unit.body(seed.new).encode()))
        if n.type == "identifier"
    }
    return not (used & _top_names(host))


def _redirect_scripts(tree: Tree, old_path: str, new_path: str) -> dict[str, str]:
    """package.json files whose scripts run `old_path`, rewritten to run `new_path`."""
    files = dict(tree.files)
    for path, text in tree.files.items():
        if path != "package.json" and not path.endswith("/package.json"):
            continue
        base = posixpath.dirname(path)
        data = json.loads(text)
        scripts = data.get("scripts", {})
        for key, cmd in scripts.items():
            for target in re.findall(r"node\s+([\w./-]+)", str(cmd)):
                if posixpath.normpath(posixpath.join(base, target)) == old_path:
                    rel = posixpath.relpath(new_path, base or ".")
                    scripts[key] = str(cmd).replace(target, rel)
        files[path] = json.dumps(data, indent=2) + "\n"
    return files


# --------------------------------------------------------------------------- minified bundle

_LICENCES = [
    "/*! lodash-lite v4.17.21 | (c) OpenJS Foundation and other contributors | MIT License */",
    "/*! tiny-emitter v2.1.0 | (c) Scott Corgan | MIT */",
    "/*! @license fflate v0.8.2 | MIT */",
    "/*! semver-lite v7.6.3 | ISC License */",
]


def make_bundle(seed: int = 7, size: int = 200_000) -> str:
    """A ~200 KB minified-looking bundle: a few long lines, each after a licence comment."""
    rng = random.Random(seed)
    lines = []
    per_line = size // len(_LICENCES)
    for n, licence in enumerate(_LICENCES):
        parts, length = [licence], len(licence)
        i = 0
        while length < per_line:
            a, b, c = (rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3))
            k = rng.randrange(1, 1 << 16)
            stmt = (
                f"var _{n}${i:04x}=function({a},{b}){{var {c}={a}^{k}|0;"
                f"return {b}?{c}+{b}.length:{c}>>>{k % 31}}};"
            )
            parts.append(stmt)
            length += len(stmt)
            i += 1
        lines.append("".join(parts))
    return "\n".join(lines) + "\n"


_BUNDLE = make_bundle()


def minify(body: str) -> str | None:
    """`body` on one line: comments and shebang dropped, lines joined (None if unsafe)."""
    src = body.encode()
    root = jsedit.parse(src)
    edits = []
    for node in jsedit.walk(root):
        if node.type in ("comment", "hash_bang_line"):
            edits.append((node.start_byte, node.end_byte, b""))
        if node.type == "template_string" and b"\n" in (node.text or b""):
            return None
    text = jsedit.apply(src, edits).decode()
    one = " ".join(line.strip() for line in text.split("\n") if line.strip())
    return one if jsedit.parses(one) else None


def _bundle(licence_line: bool, bundle_path: str) -> Variant:
    def run(seed: Pair) -> Pair | None:
        for unit in units(seed):
            if not _cjs(seed, unit) or not _self_contained(seed, unit):
                continue
            if "exports" in unit.body(seed.new):
                continue
            body = minify(unit.body(seed.new))
            if body is None:
                continue
            stmt = f";(function(){{{body}}})();"
            lines = _BUNDLE.split("\n")
            if licence_line:
                head = _LICENCES[2]
                lines[2] = head + stmt + lines[2][len(head) :]
            else:
                cut = lines[1].index(";", len(lines[1]) // 2) + 1
                lines[1] = lines[1][:cut] + stmt + lines[1][cut:]
            infected = "\n".join(lines)
            old_files = {**seed.old.files, bundle_path: _BUNDLE}
            new_files = {**seed.new.files, bundle_path: infected}
            not_payload: set[str] = set()
            if unit.kind == "file":
                new_files = _redirect_scripts(
                    seed.new.with_files(new_files), unit.path, bundle_path
                )
                del new_files[unit.path]
            else:
                rel = _rel_require(unit.path, bundle_path)
                loader = f"require('{rel}');"
                old_files[unit.path] = seed.old.files[unit.path].rstrip("\n") + "\n" + loader + "\n"
                new_files[unit.path] = unit.replace_body(seed.new, loader)
                not_payload.add(unit.path)
            variant = "licence-line" if licence_line else "minified-bundle"
            return _finish(
                seed, seed.old.with_files(old_files), seed.new.with_files(new_files),
                variant, "bundle", not_payload,
            )  # fmt: skip
        return None

    return run


def _rel_require(from_file: str, to_file: str) -> str:
    rel = posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")
    return rel if rel.startswith(".") else "./" + rel


# --------------------------------------------------------------------------- unusual extension


def _extension(name: str) -> Variant:
    def run(seed: Pair) -> Pair | None:
        for unit in units(seed):
            if not _cjs(seed, unit) or not _self_contained(seed, unit):
                continue
            target = posixpath.join(posixpath.dirname(unit.path), name)
            if target in seed.new.files:
                continue
            body = unit.body(seed.new)
            rel = _rel_require(unit.path, target)
            files = {**seed.new.files, target: body}
            stub = f"module.exports = require('{rel}');\n" if unit.kind == "file" else ""
            files[unit.path] = unit.replace_body(seed.new, stub or f"require('{rel}');\n")
            return _finish(
                seed, seed.old, seed.new.with_files(files), name.rsplit("/", 1)[-1],
                "extension", {unit.path},
            )  # fmt: skip
        return None

    return run


# --------------------------------------------------------------------------- gated


def _has_call(body: str) -> bool:
    """Whether the block does something when run: a call, or a decorated definition (the
    decorator runs, e.g. registering an MCP tool)."""
    return any(
        (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call))
        or (isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.decorator_list)
        for s in ast.parse(body).body
    )


_JS_GATES = {
    "delay": ("setTimeout(() => {{\n{body}\n}}, 3e5);\n"),
    "ci-only": ("if (process.env.CI) {{\n{body}\n}}\n"),
    "every-nth-call": (
        "globalThis.__wcalls = (globalThis.__wcalls || 0) + 1;\n"
        "if (globalThis.__wcalls % 5 === 1) {{\n{body}\n}}\n"
    ),
}
_PY_GATES = {
    "delay": (
        "def _wdeferred():\n{body}\n__import__('threading').Timer(300.0, _wdeferred).start()\n"
    ),
    "ci-only": "if __import__('os').environ.get('CI'):\n{body}\n",
    "every-nth-call": (
        "import builtins as _wb\n_wb._wcalls = getattr(_wb, '_wcalls', 0) + 1\n"
        "if _wb._wcalls % 5 == 1:\n{body}\n"
    ),
}


def _gate(kind: str) -> Variant:
    def run(seed: Pair) -> Pair | None:
        files = dict(seed.new.files)
        done = False
        for unit in units(seed):
            body = unit.body(seed.new)
            if unit.path.endswith(".pth"):
                continue
            if _py(unit.path):
                if not _has_call(body):
                    continue
                wrapped = _PY_GATES[kind].format(body=textwrap.indent(body.rstrip("\n"), "    "))
            else:
                if seed.new.esm(unit.path) and "import " in body:
                    continue
                if unit.kind == "file" and "exports" in body:
                    continue  # deferring the exports would change what the module offers
                wrapped = _JS_GATES[kind].format(body=body.rstrip("\n"))
            files[unit.path] = unit.replace_body(seed.new.with_files(files), wrapped)
            done = True
            break
        if not done:
            return None
        return _finish(seed, seed.old, seed.new.with_files(files), kind, "gated")

    return run


# --------------------------------------------------------------------------- split


def _pkg_module(path: str) -> str | None:
    folder = posixpath.dirname(path)
    return folder.replace("/", ".") if folder else None


def _split_source(seed: Pair) -> Pair | None:
    """The environment is read in a new module and sent from the payload file."""
    files = dict(seed.new.files)
    for n, (path, rows) in enumerate(seed.payload.items()):
        text = files[path]
        if path.endswith((".js", ".cjs")) and not seed.new.esm(path):
            src = text.encode()
            hits = [
                node
                for node in jsedit.walk(jsedit.parse(src))
                if jsedit.member(node, "process", "env") and jsedit.in_rows(node, rows)
            ]
            if not hits:
                continue
            module = posixpath.join(posixpath.dirname(path), f"runtime-state{n}.js")
            call = f"require('{_rel_require(path, module)}').snapshot()".encode()
            files[path] = jsedit.apply(
                src, [(h.start_byte, h.end_byte, call) for h in hits]
            ).decode()
            files[module] = "'use strict';\nexports.snapshot = () => process.env;\n"
            return _finish(seed, seed.old, seed.new.with_files(files), "source-module", "split")
        if path.endswith(".py") and (pkg := _pkg_module(path)):
            s = _py_source(text, path)
            if s is None:
                continue
            hits = [
                a for a in pyedit.attributes(s, rows) if pyedit.is_module_attr(a, "os", "environ")
            ]
            if not hits:
                continue
            module = posixpath.join(posixpath.dirname(path), "_runtime_state.py")
            call = f"__import__('{pkg}._runtime_state', fromlist=['snapshot']).snapshot()"
            files[path] = s.apply([(*s.span(h), call.encode()) for h in hits])
            files[module] = "import os\n\n\ndef snapshot():\n    return os.environ\n"
            return _finish(seed, seed.old, seed.new.with_files(files), "source-module", "split")
    return None


def _split_constants(seed: Pair) -> Pair | None:
    """The payload's string constants (hosts, paths, text) live in a second module."""
    files = dict(seed.new.files)
    for path, rows in seed.payload.items():
        text = files[path]
        if path.endswith((".js", ".cjs", ".mjs")):
            src = text.encode()
            nodes = jsedit.payload_strings(jsedit.parse(src), rows, min_len=6)
            if not nodes:
                continue
            values = [jsedit.string_value(x) for x in nodes]
            module = posixpath.join(posixpath.dirname(path), "strings-table.js")
            rel = _rel_require(path, module)
            esm = seed.new.esm(path)
            ref = "__k" if esm else f"require('{rel}')"
            edits = [
                (x.start_byte, x.end_byte, f"{ref}[{i}]".encode()) for i, x in enumerate(nodes)
            ]
            out = jsedit.apply(src, edits).decode()
            table = "[\n" + "".join(f"  {jsedit.literal(str(v))},\n" for v in values) + "]"
            if esm:
                out = jsedit.insert_prologue(out, f"import __k from '{rel}';")
                files[module] = f"export default {table};\n"
            else:
                files[module] = f"module.exports = {table};\n"
            files[path] = out
            return _finish(seed, seed.old, seed.new.with_files(files), "constants-module", "split")
        if path.endswith(".py") and (pkg := _pkg_module(path)):
            s = _py_source(text, path)
            if s is None:
                continue
            nodes = pyedit.payload_strings(s, rows, min_len=6)
            if not nodes:
                continue
            ref = f"__import__('{pkg}._strings', fromlist=['VALUES']).VALUES"
            files[path] = s.apply(
                [(*s.span(x), f"{ref}[{i}]".encode()) for i, x in enumerate(nodes)]
            )
            body = "".join(f"    {x.value!r},\n" for x in nodes)
            files[posixpath.join(posixpath.dirname(path), "_strings.py")] = f"VALUES = [\n{body}]\n"
            return _finish(seed, seed.old, seed.new.with_files(files), "constants-module", "split")
    return None


# --------------------------------------------------------------------------- wholly encoded


def _encoded(style: str) -> Variant:
    def run(seed: Pair) -> Pair | None:
        files = dict(seed.new.files)
        done = False
        for unit in units(seed):
            body = unit.body(seed.new)
            b64 = base64.b64encode(body.encode()).decode()
            if unit.path.endswith(".pth"):
                line = body.strip()
                if style == "eval":
                    b = base64.b64encode(line.encode()).decode()
                    code = f"import base64; exec(base64.b64decode('{b}'))\n"
                else:
                    z = base64.b64encode(zlib.compress(line.encode())).decode()
                    code = f"import base64, zlib; exec(zlib.decompress(base64.b64decode('{z}')))\n"
            elif _py(unit.path):
                if style == "eval":
                    code = f"exec(__import__('base64').b64decode('{b64}'))\n"
                else:
                    z = base64.b64encode(zlib.compress(body.encode())).decode()
                    code = (
                        "exec(__import__('zlib').decompress("
                        f"__import__('base64').b64decode('{z}')))\n"
                    )
            else:
                if not _cjs(seed, unit):
                    continue
                if style == "eval":
                    code = f"eval(Buffer.from('{b64}', 'base64').toString());\n"
                else:
                    fn = (
                        "(function (require, module, exports, __filename, __dirname) {\n"
                        + body
                        + "\n})"
                    )
                    enc = base64.b64encode(fn.encode()).decode()
                    code = (
                        f"(0, eval)(Buffer.from('{enc}', 'base64').toString())"
                        "(require, module, exports, __filename, __dirname);\n"
                    )
            files[unit.path] = unit.replace_body(seed.new.with_files(files), code)
            done = True
        if not done:
            return None
        name = {"eval": "eval-base64", "indirect": "indirect-eval-or-zlib"}[style]
        return _finish(seed, seed.old, seed.new.with_files(files), name, "encoded")

    return run


# --------------------------------------------------------------------------- the families


def _both(js: TextEdit | None, py: TextEdit | None, family: str, name: str) -> tuple[str, Variant]:
    return name, per_file(family, name, js, py)


FAMILIES: tuple[Family, ...] = (
    Family(
        "member-access",
        (
            _both(_js_env("bracket"), _py_env("getattr"), "member-access", "env-bracket/getattr"),
            _both(_js_env("concat"), _py_env("dict"), "member-access", "env-concat/__dict__"),
            _both(
                _js_env("destructure"),
                _py_env("dunder-import"),
                "member-access",
                "env-destructure/__import__",
            ),
            _both(
                _js_env("reflect"), _py_env("importlib"), "member-access", "env-reflect/importlib"
            ),
            _both(_js_env("globalthis"), None, "member-access", "env-globalThis"),
            _both(_js_bracket_all, _py_getattr_all, "member-access", "all-members-computed"),
            _both(
                _js_keys("computed"),
                _py_tool_description,
                "member-access",
                "computed-keys/description-keyword",
            ),
            _both(_js_keys("concat"), None, "member-access", "concatenated-keys"),
            _both(_js_keys("spread"), None, "member-access", "spread-pairs"),
        ),
    ),
    Family(
        "module-loader",
        (
            _both(
                _js_loader("constructor-load"),
                _py_loader("dunder"),
                "module-loader",
                "module.constructor._load/__import__",
            ),
            _both(
                _js_loader("create-require"),
                _py_loader("importlib"),
                "module-loader",
                "createRequire/importlib",
            ),
            _both(_js_loader("main-module"), None, "module-loader", "process.mainModule.require"),
            _both(_js_loader("alias"), None, "module-loader", "aliased-require-concat"),
        ),
    ),
    Family(
        "constants",
        (
            _both(_js_const("concat"), _py_const("concat"), "constants", "concat"),
            _both(
                _js_const("fromcharcode"),
                _py_const("fromhex"),
                "constants",
                "fromCharCode/bytes.fromhex",
            ),
            _both(
                _js_const("base64"), _py_const("b64decode"), "constants", "Buffer-base64/b64decode"
            ),
            _both(_js_const("atob"), _py_const("rot13"), "constants", "atob/rot13"),
            _both(_js_const("hex"), _py_const("zlib"), "constants", "hex/zlib"),
            _both(_js_const("template"), _py_const("join"), "constants", "template/join"),
        ),
        encoding=True,
    ),
    Family(
        "bundle",
        (
            ("minified-bundle", _bundle(False, "dist/vendor.min.js")),
            ("licence-line", _bundle(True, "lib/runtime.bundle.min.js")),
        ),
    ),
    Family(
        "extension",
        (
            ("util.d.ts", _extension("util.d.ts")),
            ("data.dat", _extension("data.dat")),
            ("extensionless", _extension("helper")),
        ),
    ),
    Family(
        "gated",
        (
            ("delay", _gate("delay")),
            ("ci-only", _gate("ci-only")),
            ("every-nth-call", _gate("every-nth-call")),
        ),
    ),
    Family("split", (("source-module", _split_source), ("constants-module", _split_constants))),
    Family(
        "encoded",
        (("eval-base64", _encoded("eval")), ("indirect-eval/zlib", _encoded("indirect"))),
        encoding=True,
    ),
)
