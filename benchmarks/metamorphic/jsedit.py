"""Parser-guided edits of JavaScript (tree-sitter): find nodes on payload lines, rewrite them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator

import tree_sitter_javascript
from tree_sitter import Language, Node, Parser

_PARSER = Parser(Language(tree_sitter_javascript.language()))

Edit = tuple[int, int, bytes]


def parse(src: bytes) -> Node:
    return _PARSER.parse(src).root_node


def parses(text: str) -> bool:
    """True when `text` is JavaScript with no syntax error (the rewrite kept it a program)."""
    return not parse(text.encode()).has_error


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def text_of(node: Node) -> str:
    assert node.text is not None
    return node.text.decode()


def apply(src: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits (an edit inside an earlier kept one is dropped)."""
    out, pos = [], 0
    for start, end, repl in sorted(edits, key=lambda e: (e[0], -e[1])):
        if start < pos:
            continue
        out += [src[pos:start], repl]
        pos = end
    out.append(src[pos:])
    return b"".join(out)


def in_rows(node: Node, rows: set[int]) -> bool:
    """Whether the node starts on one of the (1-based) payload lines."""
    return node.start_point[0] + 1 in rows


def prologue_end(src: bytes) -> int:
    """Byte offset after the shebang, directives ('use strict') and ES imports at the top."""
    root = parse(src)
    end = 0
    for child in root.children:
        if child.type in ("hash_bang_line", "comment", "import_statement"):
            end = child.end_byte
            continue
        if child.type == "expression_statement" and child.named_children:
            first = child.named_children[0]
            if first.type == "string":
                end = child.end_byte
                continue
        break
    return end


def insert_prologue(text: str, line: str) -> str:
    src = text.encode()
    at = prologue_end(src)
    sep = b"\n" if at else b""
    return (src[:at] + sep + line.encode() + b"\n" + src[at:].lstrip(b"\n")).decode()


# --------------------------------------------------------------------------- strings


def string_value(node: Node) -> str | None:
    """The value of a plain string literal node (None when it cannot be read exactly)."""
    raw = text_of(node)
    if len(raw) < 2 or raw[0] not in "'\"":
        return None
    body, out, i = raw[1:-1], [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple and not (nxt == "0" and body[i + 2 : i + 3].isdigit()):
            out.append(simple[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u" and body[i + 2] == "{":
            close = body.index("}", i)
            out.append(chr(int(body[i + 3 : close], 16)))
            i = close + 1
        elif nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "\n":
            i += 2
        elif nxt.isdigit():
            return None
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def literal(value: str) -> str:
    """A JS string literal for `value` (JSON strings are JS strings; U+2028/9 escaped)."""
    return json.dumps(value).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def payload_strings(root: Node, rows: set[int], min_len: int = 4) -> list[Node]:
    """String literals on payload lines that can be replaced by an expression of equal value.

    Not: module specifiers, directives, object keys, property names in patterns.
    """
    out = []
    for node in walk(root):
        if node.type != "string" or not in_rows(node, rows):
            continue
        parent = node.parent
        if parent is None:
            continue
        if parent.type in ("import_statement", "export_statement", "pair_pattern"):
            continue
        if parent.type == "pair" and parent.child_by_field_name("key") == node:
            continue
        if parent.type == "expression_statement":  # a directive or a no-op
            continue
        if parent.type == "arguments" and parent.parent is not None:
            fn = parent.parent.child_by_field_name("function")
            if fn is not None and text_of(fn) in ("require", "import"):
                continue
        value = string_value(node)
        if value is None or len(value) < min_len:
            continue
        out.append(node)
    return out


def chunks(value: str, size: int) -> list[str]:
    return [value[i : i + size] for i in range(0, len(value), size)] or [""]


ENCODERS: dict[str, Callable[[str], str | None]] = {
    "concat": lambda v: "(" + " + ".join(literal(c) for c in chunks(v, 5)) + ")",
    "fromcharcode": lambda v: (
        "String.fromCharCode(" + ", ".join(str(ord(c)) for c in v) + ")"
        if all(ord(c) < 0x10000 for c in v)
        else None
    ),
    "base64": lambda v: (
        f"Buffer.from('{base64.b64encode(v.encode()).decode()}', 'base64').toString()"
    ),
    "atob": lambda v: f"atob('{base64.b64encode(v.encode()).decode()}')" if v.isascii() else None,
    "hex": lambda v: f"Buffer.from('{v.encode().hex()}', 'hex').toString()",
    "template": lambda v: "`" + "".join("${" + literal(c) + "}" for c in chunks(v, 7)) + "`",
}


# --------------------------------------------------------------------------- finders


def member(node: Node, obj: str, prop: str) -> bool:
    """`obj.prop` written with a dot."""
    if node.type != "member_expression":
        return False
    o, p = node.child_by_field_name("object"), node.child_by_field_name("property")
    return (
        o is not None
        and p is not None
        and o.type == "identifier"
        and text_of(o) == obj
        and text_of(p) == prop
    )


def require_calls(root: Node, rows: set[int]) -> list[tuple[Node, Node, str]]:
    """(call, function node, specifier) of `require('bare-module')` on payload lines."""
    out = []
    for node in walk(root):
        if node.type != "call_expression" or not in_rows(node, rows):
            continue
        fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
        if fn is None or args is None or fn.type != "identifier" or text_of(fn) != "require":
            continue
        named = args.named_children
        if len(named) != 1 or named[0].type != "string":
            continue
        spec = string_value(named[0])
        if spec is None or spec.startswith("."):
            continue
        out.append((node, fn, spec))
    return out


def dotted_members(root: Node, rows: set[int]) -> list[Node]:
    """`a.b` member expressions on payload lines (not optional chains, not private names)."""
    out = []
    for node in walk(root):
        if node.type != "member_expression" or not in_rows(node, rows):
            continue
        prop = node.child_by_field_name("property")
        if prop is None or prop.type != "property_identifier":
            continue
        if any(c.type == "optional_chain" or text_of(c) == "?." for c in node.children):
            continue
        obj = node.child_by_field_name("object")
        if obj is None or obj.type in ("super", "import"):
            continue
        out.append(node)
    return out


def pairs(root: Node, rows: set[int]) -> list[Node]:
    """`key: value` pairs with a plain identifier key on payload lines."""
    out = []
    for node in walk(root):
        if node.type == "pair" and in_rows(node, rows):
            key = node.child_by_field_name("key")
            if key is not None and key.type == "property_identifier":
                out.append(node)
    return out
