"""Fixed addresses added to outgoing mail's recipients: the postmark-mcp 1.0.16 rug pull.

One added line, `Bcc: 'phan@giftshop.club'`, copied every message the agent sent to the author.
A mailer that passes a `bcc` through from its caller is doing its job; an address the package's
user never wrote is a silent copy of their mail.

Judged by the mail sink, not by one spelling of it (SPEC §4.2, "mail recipients"): a recipient
field — `to`/`cc`/`bcc` and their SES/sendgrid/smtplib forms, under any key spelling (`bcc`,
`'Bcc'`, `["b" + "cc"]`, a `headers` object, `msg['Bcc'] = …`, `add_header`, `addBcc(…)`, the
envelope recipients of `sendmail(from, [...])`) — whose value, evaluated as a constant, holds an
address. The value is evaluated, not matched: literals, names bound to constants in the file,
concatenations, templates, arrays (`[].concat(data.bcc || [], ADDR)`), char codes, base64, hex,
rot13 and zlib, and constants kept in another module of the package (`require('./t')[0]`,
`__import__('pkg._strings').VALUES[0]`). Passing a caller's value through evaluates to nothing
and is never a finding.

Where the sites are found is text (one linear regex pass over each added line), with the parser
facts (`watcher.parse.facts_for`) telling whether the file sends mail at all for the field names
that are not mail-specific (`to`, `recipients`). Every evaluation is bounded: tokens read, names
resolved, module hops, decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import posixpath
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from watcher import gaps
from watcher.models import Severity, Snapshot
from watcher.parse import facts_for
from watcher.rules.added_source import SourceFile, changed_sources, old_source_text
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: An address: the local part starts with a word character (`.admin@x` after a user's name is
#: not a whole address), the domain has a dot.
ADDRESS = re.compile(r"(?<![\w.+-])\w[\w.+-]*@[\w-]+(?:\.[\w-]+)+")
#: Documentation domains (RFC 2606) appear in examples, never as a real recipient.
_DOC_DOMAIN = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|localhost)$", re.IGNORECASE)

#: Recipient fields, lower-cased and without `_`: nodemailer/postmark (`to`, `cc`, `bcc`), SES
#: (`ToAddresses`, `BccAddresses`), sendgrid (`to_emails`, `bcc_emails`), smtplib (`to_addrs`).
RECIPIENT_FIELDS = frozenset(
    {"to", "cc", "bcc", "toaddresses", "ccaddresses", "bccaddresses", "toemails", "ccemails"}
    | {"bccemails", "toaddrs", "recipients", "rcptto", "rcpt", "rcpts", "bccaddress", "ccaddress"}
)
#: Fields that only mail has: an address there is a recipient whatever the file does.
MAIL_ONLY = frozenset(f for f in RECIPIENT_FIELDS if "cc" in f or f.startswith("rcpt"))
#: Modules (and a text fallback) that say a file sends mail, for the fields that are not
#: mail-only (`to`, `recipients`): `{from: 0, to: 'x@y'}` elsewhere is not a message.
MAIL_MODULES = ("mail", "smtp", "postmark", "sendgrid", "ses", "resend", "email")
_MAIL_TEXT = re.compile(r"mail|smtp|postmark|sendgrid|\bses\b", re.IGNORECASE)

#: Where a recipient value starts (group `key` names the field; the value follows the match).
_JS_SITES = re.compile(
    r"(?<![\w$.])(?:(?P<q>['\"]?)(?P<key>[A-Za-z_]{2,16})(?P=q)|\[(?P<computed>[^\]\n]{1,160})\])"
    r"\s*:(?![:=])"
    r"|\.(?P<method>add(?:Bcc|Cc|To|Recipient)s?)\s*\("
    r"|\b(?P<list>bcc|cc|to|recipients|rcpts?)\s*\.\s*(?:push|unshift|concat)\s*\("
)
_PY_SITES = re.compile(
    r"\[(?P<computed>[^\]\n]{1,160})\]\s*=(?!=)"
    r"|\.(?:add_header|replace_header|__setitem__)\(\s*(?P<header>[^,\n]{1,160}),"
    r"|(?<![\w.])(?P<q>['\"]?)(?P<key>[A-Za-z_]{2,16})(?P=q)\s*(?::|=(?!=))"
    r"|\.(?P<sendmail>sendmail|send_message)\s*\("
    r"|\b(?P<list>bcc|cc|to_addrs|recipients|rcpt_to|rcpts?)\s*"
    r"(?:\+=|\.append\(|\.extend\(|\.insert\(\s*\d+\s*,)"
)
#: A header line `Bcc: x@y` written into message text (a raw message).
_HEADER = re.compile(r"(?<![\w$-])(bcc|cc):[ \t]*(\w[\w.+-]*@[\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)

#: Bounds of one evaluation: characters of source read, tokens, names resolved, nesting.
_WINDOW = 2000
_MAX_TOKENS = 400
_MAX_RESOLVE = 12
_MAX_DEPTH = 24
#: Recipient fields evaluated per file; past it the file is a gap (SPEC §4.5), not a pass.
_MAX_SITES = 500
#: Bytes a decompression may produce (an address is short; a zip bomb is not evaluated).
_MAX_INFLATE = 1 << 16
#: Files larger than this are evaluated within their added lines only.
_MAX_TEXT = 1 << 20


def _field(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class _Name:
    """A dotted name that is not a constant (a module, a global, a caller's value)."""

    path: str


@dataclass(frozen=True, slots=True)
class _Module:
    """A module of the package, by path."""

    path: str


@dataclass(frozen=True, slots=True)
class _Bound:
    """A method looked up on a value, waiting for its call."""

    value: object
    name: str


@dataclass(frozen=True, slots=True)
class _Any:
    """One of several values (`a || b`, `c ? a : b`, an unknown call's arguments)."""

    options: tuple[object, ...]


@dataclass(frozen=True, slots=True)
class _Tail:
    """A constant appended to a value we do not know: `user + '@corp'` is no address."""

    text: str


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>(?P<prefix>[bBrRuUfF]{0,2})(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"))"""
    r"|(?P<tpl>`(?:[^`\\]|\\.)*`)"
    r"|(?P<num>0[xX][0-9a-fA-F]+|\d+)"
    r"|(?P<name>[A-Za-z_$][\w$]*)"
    r"|(?P<op>\?\?|\|\||&&|\.\.\.|\*\*|[-+*/%?:.,()\[\]{}=!<>|&;]))",
    re.S,
)
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|(.))", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _unescape(raw: str) -> str:
    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(2) or m.group(3)
        if code is not None:
            return chr(int(code, 16)) if int(code, 16) < 0x110000 else ""
        return _SIMPLE.get(m.group(4), m.group(4))

    return _ESCAPE.sub(one, raw) if "\\" in raw else raw


def _tokens(text: str, start: int) -> list[tuple[str, str]]:
    """(kind, text) tokens of `text` from `start`, up to the window and token budget."""
    out: list[tuple[str, str]] = []
    end = min(len(text), start + _WINDOW)
    position = start
    while position < end and len(out) < _MAX_TOKENS:
        m = _TOKEN.match(text, position, end)
        if m is None or m.end() == position:
            break
        kind = m.lastgroup or "op"
        if kind == "prefix":
            kind = "str"
        out.append((kind, m.group(kind)))
        position = m.end()
    return out


class _Stop(Exception):
    """The expression holds syntax this evaluator does not read: stop, keep what was found."""


class _Package:
    """The files constants may come from, and the resolution budget they share."""

    def __init__(self, snapshot: Snapshot | None, py: bool) -> None:
        self.snapshot = snapshot
        self.py = py
        self.budget = _MAX_RESOLVE

    def text(self, path: str) -> str | None:
        if self.snapshot is None:
            return None
        entry = self.snapshot.files.get(path)
        if entry is None or entry.is_binary or entry.size > _MAX_TEXT:
            return None
        return entry.text

    def module(self, here: str, name: str) -> _Module | _Name:
        """`require(name)` / `__import__(name)` / `from name import` as seen from `here`."""
        if self.py:
            level = len(name) - len(name.lstrip("."))
            base = posixpath.dirname(here)
            for _ in range(max(0, level - 1)):
                base = posixpath.dirname(base)
            rel = name.lstrip(".").replace(".", "/")
            stem = posixpath.join(base, rel) if level else rel
            candidates = [f"{stem}.py", f"{stem}/__init__.py"]
            if not level:  # an absolute import of the package's own module, from any root
                candidates += [f"src/{stem}.py", f"src/{stem}/__init__.py"]
        else:
            if not name.startswith("."):
                return _Name(name)
            stem = posixpath.normpath(posixpath.join(posixpath.dirname(here), name))
            candidates = [stem, f"{stem}.js", f"{stem}.cjs", f"{stem}/index.js", f"{stem}.json"]
        for path in candidates:
            if self.text(path) is not None:
                return _Module(path)
        return _Name(name)


#: Largest file in which names are followed to their bindings (see `_Eval.name`).
MAX_RESOLVE_TEXT = 1024 * 1024


def _last(pattern: str, text: str) -> re.Match[str] | None:
    """The last match of `pattern` in `text` (the binding that wins), or None."""
    found = None
    for found in re.finditer(pattern, text):  # noqa: B007 - the last one is wanted
        pass
    return found


def _binding(text: str, name: str, py: bool) -> int | None:
    """Where the value bound to `name` starts in `text` (its last binding), or None."""
    n = re.escape(name)
    if py:
        pattern = rf"(?m)^[ \t]*{n}[ \t]*(?::[^=\n]{{1,80}})?=(?!=)"
    else:
        pattern = rf"\b(?:const|let|var)\s+{n}\s*=(?!=)|(?<![\w$.]){n}\s*=(?![=>])"
    m = _last(pattern, text)
    return m.end() if m is not None else None


#: `from x import a, b` and `import { a, b } from 'x'`, the names bounded (linear searches).
_PY_FROM = re.compile(r"(?m)^[ \t]*from[ \t]+([\w.]+)[ \t]+import([^\n]{1,400})")
_JS_NAMED = re.compile(r"\bimport\s*\{([^}]{0,400})\}\s*from\s+['\"]([^'\"\n]{1,200})['\"]")


def _imported(text: str, name: str, py: bool) -> tuple[str, str | None] | None:
    """(module, attribute) that `name` is imported from in `text`, if it is."""
    word = re.compile(rf"(?<![\w$]){re.escape(name)}(?![\w$])")
    if py:
        for m in _PY_FROM.finditer(text):
            if word.search(m.group(2)):
                return m.group(1), name
        return None
    default = re.search(rf"\bimport\s+{re.escape(name)}\s+from\s+['\"]([^'\"\n]+)['\"]", text)
    if default is not None:
        return default.group(1), None
    for named in _JS_NAMED.finditer(text):
        if word.search(named.group(1)):
            return named.group(2), name
    return None


class _Eval:
    """A bounded evaluator of one expression's constant value (JS or Python syntax)."""

    def __init__(self, package: _Package, path: str, text: str, depth: int = 0) -> None:
        self.package = package
        self.path = path
        self.text = text
        self.depth = depth
        self.tokens: list[tuple[str, str]] = []
        self.at = 0

    # -- entry points ---------------------------------------------------------------------

    def value_at(self, start: int) -> object:
        """The value of the expression starting at `start` (None when nothing is known)."""
        self.tokens, self.at = _tokens(self.text, start), 0
        try:
            return self.expr()
        # Syntax this evaluator does not read (or the token window's end) leaves the value
        # unknown, as a caller's value is. Nesting is bounded (`_MAX_DEPTH`), so no
        # RecursionError is caught here: one would fail the rule, which is a gap.
        # not a gap: an unknown value, never a skipped file
        except (_Stop, IndexError):
            return None

    def args_at(self, start: int) -> list[object]:
        """The arguments of a call whose `(` ends right before `start`."""
        self.tokens, self.at = _tokens(self.text, start), 0
        out: list[object] = []
        try:
            while self.peek() not in (")", None):
                out.append(self.expr())
                if not self.eat(","):
                    break
        # not a gap: as in `value_at`, the arguments read so far are kept.
        except (_Stop, IndexError):
            pass
        return out

    # -- tokens ---------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> str | None:
        index = self.at + ahead
        return self.tokens[index][1] if index < len(self.tokens) else None

    def kind(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def eat(self, token: str) -> bool:
        if self.peek() == token:
            self.at += 1
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.eat(token):
            raise _Stop

    # -- grammar --------------------------------------------------------------------------

    def expr(self, depth: int = 0) -> object:
        if depth > _MAX_DEPTH:
            raise _Stop
        value = self.either(depth + 1)
        if self.eat("?"):
            a = self.expr(depth + 1)
            self.expect(":")
            return _Any((a, self.expr(depth + 1)))
        if self.package.py and self.eat("if"):
            self.either(depth + 1)
            self.expect("else")
            return _Any((value, self.expr(depth + 1)))
        return value

    def either(self, depth: int) -> object:
        options = [self.sum(depth)]
        while self.peek() in ("||", "??", "&&", "or", "and"):
            self.at += 1
            options.append(self.sum(depth))
        return options[0] if len(options) == 1 else _Any(tuple(options))

    def sum(self, depth: int) -> object:
        value = self.postfix(depth)
        while self.eat("+"):
            value = _concat(value, self.postfix(depth))
        return value

    def postfix(self, depth: int) -> object:
        value = self.primary(depth)
        while True:
            if self.eat("."):
                if self.kind() != "name":
                    raise _Stop
                value = self.member(value, self.tokens[self.at][1])
                self.at += 1
            elif self.eat("["):
                index = self.expr(depth + 1)
                self.expect("]")
                value = self.index(value, index)
            elif self.eat("("):
                args: list[object] = []
                keywords: dict[str, object] = {}
                while not self.eat(")"):
                    if self.kind() == "name" and self.peek(1) == "=" and self.package.py:
                        key = self.tokens[self.at][1]
                        self.at += 2
                        keywords[key] = self.expr(depth + 1)
                    else:
                        self.eat("...") or self.eat("*")
                        args.append(self.expr(depth + 1))
                    if not self.eat(","):
                        self.expect(")")
                        break
                value = self.call(value, args, keywords)
            else:
                return value

    def primary(self, depth: int) -> object:
        kind, token = self.tokens[self.at]
        self.at += 1
        if kind == "str":
            return self.string(token)
        if kind == "tpl":
            return self.template(token[1:-1])
        if kind == "num":
            return _number(token)
        if kind == "name":
            if token in ("new", "await", "typeof", "void", "not"):
                return self.postfix(depth)
            if token in ("true", "false", "null", "undefined", "None", "True", "False"):
                return None
            return self.name(token)
        if token in ("(", "["):
            close = ")" if token == "(" else "]"
            items: list[object] = []
            while not self.eat(close):
                self.eat("...") or self.eat("*")
                items.append(self.expr(depth + 1))
                if not self.eat(","):
                    self.expect(close)
                    break
            if token == "(" and len(items) == 1:
                return items[0]
            return items
        if token == "{":
            return self.mapping(depth)
        if token in ("!", "-"):
            self.postfix(depth)
            return None
        raise _Stop

    def mapping(self, depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        while not self.eat("}"):
            if self.eat("..."):
                spread = self.expr(depth + 1)
                if isinstance(spread, dict):
                    out.update(spread)
                else:
                    out[f"...{len(out)}"] = spread
            else:
                kind, token = self.tokens[self.at]
                self.at += 1
                if kind == "str":
                    key = self.string(token)
                elif token == "[":
                    key = self.expr(depth + 1)
                    self.expect("]")
                else:
                    key = token
                if self.eat(":"):
                    out[str(key)] = self.expr(depth + 1)
                else:  # `{ addr }` shorthand
                    out[str(key)] = self.name(token) if kind == "name" else None
            if not self.eat(","):
                self.expect("}")
                break
        return out

    # -- values ---------------------------------------------------------------------------

    def string(self, token: str) -> object:
        prefix = ""
        while token[0] not in "'\"":
            prefix, token = prefix + token[0].lower(), token[1:]
        body = token[1:-1]
        if "r" not in prefix:
            body = _unescape(body)
        if "f" in prefix:
            return self.template(body.replace("{", "${"), raw=True)
        return body.encode("latin-1", "replace") if "b" in prefix else body

    def template(self, body: str, raw: bool = False) -> object:
        """A template literal (or f-string): constant only when every substitution is."""
        value: object = ""
        position = 0
        while True:
            open_at = body.find("${", position)
            if open_at == -1:
                piece = body[position:]
                return _concat(value, piece if raw else _unescape(piece))
            piece = body[position:open_at]
            value = _concat(value, piece if raw else _unescape(piece))
            close = body.find("}", open_at)
            if close == -1:
                raise _Stop
            inner = _Eval(self.package, self.path, body[open_at + 2 : close], self.depth + 1)
            value = _concat(value, inner.value_at(0))
            position = close + 1

    def name(self, name: str) -> object:
        if name in ("require", "__import__", "atob", "chr", "bytes", "String", "Buffer"):
            return _Name(name)
        if self.depth >= 4 or self.package.budget <= 0:
            return _Name(name)
        # Each lookup scans the file: in a multi-megabyte bundle 80 of them took 48 s
        # (typescript.js). Names there stay unresolved; literal and encoded addresses at the
        # site are still read, and the other rules judge the bundle.
        if len(self.text) > MAX_RESOLVE_TEXT:
            return _Name(name)
        self.package.budget -= 1
        py = self.package.py
        imported = _imported(self.text, name, py)
        if imported is not None:
            module = self.package.module(self.path, imported[0])
            if isinstance(module, _Module):
                return self.member(module, imported[1]) if imported[1] else self.exported(module)
        start = _binding(self.text, name, py)
        if start is None:
            return _Name(name)
        return _Eval(self.package, self.path, self.text, self.depth + 1).value_at(start)

    def exported(self, module: _Module) -> object:
        """What a JS module exports as a whole (`module.exports =`, `export default`)."""
        text = self.package.text(module.path)
        if text is None or self.depth >= 4 or self.package.budget <= 0:
            return None
        self.package.budget -= 1
        m = _last(r"\bmodule\.exports\s*=(?!=)|\bexport\s+default\b", text)
        if m is None:
            return module
        return _Eval(self.package, module.path, text, self.depth + 1).value_at(m.end())

    def member(self, value: object, name: str) -> object:
        if isinstance(value, _Module):
            text = self.package.text(value.path)
            if text is None or self.depth >= 4:
                return None
            inner = _Eval(self.package, value.path, text, self.depth + 1)
            if not self.package.py:
                whole = self.exported(value)
                if isinstance(whole, dict):
                    return whole.get(name)
                m = _last(
                    rf"\b(?:module\.)?exports\.{re.escape(name)}\s*=(?!=)"
                    rf"|\bexport\s+(?:const|let|var)\s+{re.escape(name)}\s*=",
                    text,
                )
                return inner.value_at(m.end()) if m is not None else None
            return inner.name(name)
        if isinstance(value, _Name):
            return _Name(f"{value.path}.{name}")
        if isinstance(value, dict) and name in value:
            return value[name]
        return _Bound(value, name)

    def index(self, value: object, index: object) -> object:
        if isinstance(value, _Module):
            value = self.exported(value)
        if isinstance(value, list) and isinstance(index, int) and -len(value) <= index < len(value):
            return value[index]
        if isinstance(value, dict) and isinstance(index, str):
            return value.get(index)
        if isinstance(value, _Name) and isinstance(index, str):
            return _Name(f"{value.path}.{index}")
        return None

    def call(self, callee: object, args: list[object], keywords: dict[str, object]) -> object:
        first = args[0] if args else None
        if isinstance(callee, _Name):
            path = callee.path
            loaders = ("require", "__import__", "importlib.import_module")
            if path in loaders and isinstance(first, str):
                module = self.package.module(self.path, first)
                if isinstance(module, _Module) and not self.package.py:
                    return self.exported(module)
                return module
            decoded = _decode(path.rsplit(".", 1)[-1] if "." in path else path, path, args)
            if decoded is not _UNKNOWN:
                return decoded
        if isinstance(callee, _Bound):
            method = _method(callee.value, callee.name, args)
            if method is not _UNKNOWN:
                return method
        # An unknown call: whatever constants it is given may be what it returns.
        return _Any((*args, *keywords.values()))


_UNKNOWN = object()


def _decode(name: str, path: str, args: list[object]) -> object:
    """A decoder's result: `atob`, `Buffer.from`, `b64decode`, `fromhex`, `codecs.decode`…"""
    first = args[0] if args else None
    second = args[1] if len(args) > 1 else None
    try:
        if path == "String.fromCharCode" and all(isinstance(a, int) for a in args):
            return "".join(chr(a) for a in args if isinstance(a, int))
        if name == "chr" and isinstance(first, int):
            return chr(first)
        if name == "atob" and isinstance(first, str):
            return base64.b64decode(first).decode("latin-1")
        if path == "Buffer.from" and isinstance(first, str):
            if second == "base64":
                return base64.b64decode(first)
            if second == "hex":
                return bytes.fromhex(first)
            return first.encode()
        if name in ("b64decode", "decodebytes", "standard_b64decode", "urlsafe_b64decode") and (
            isinstance(first, str | bytes)
        ):
            return base64.b64decode(first)
        if path == "bytes.fromhex" and isinstance(first, str):
            return bytes.fromhex(first)
        if path == "codecs.decode" and isinstance(first, str) and second in ("rot13", "rot_13"):
            return codecs.decode(first, "rot13")
        if name in ("decompress", "inflateSync", "unzipSync") and isinstance(first, bytes):
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
            return inflater.decompress(first, _MAX_INFLATE)
    # not a gap: the text does not decode, so it is no address either (JS would throw too).
    except (binascii.Error, ValueError, LookupError, zlib.error, TypeError):
        return None
    return _UNKNOWN


def _method(value: object, name: str, args: list[object]) -> object:
    """A method of a constant: `.toString()`, `.decode()`, `.join()`, `.concat()`…"""
    first = args[0] if args else None
    if name in ("toString", "decode") and isinstance(value, bytes):
        encoding = first if isinstance(first, str) else "utf-8"
        try:
            if encoding in ("base64", "hex"):
                return base64.b64encode(value).decode() if encoding == "base64" else value.hex()
            return value.decode(encoding, "replace")
        except LookupError:  # not a gap: an encoding Python does not know
            return value.decode("latin-1")
    if name in ("toString", "trim", "strip", "toLowerCase", "lower", "valueOf") and isinstance(
        value, str
    ):
        return value.strip() if name in ("trim", "strip") else value
    if name == "join":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return (first if isinstance(first, str) else ",").join(value)
        if isinstance(value, str) and isinstance(first, list):
            if all(isinstance(v, str) for v in first):
                return value.join(first)
    if name == "reverse" and isinstance(value, list):
        return value[::-1]
    if name == "concat":
        if isinstance(value, str):
            out: object = value
            for a in args:
                out = _concat(out, a)
            return out
        if isinstance(value, list):
            return [*value, *args]
    return _UNKNOWN


def _concat(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, bytes) and isinstance(b, bytes):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(b, str):
        # Something unknown, then a constant: the constant alone is no whole address.
        return _Any((a, _Tail(b)))
    return _Any((a, b))


def _texts(value: object, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """Each constant string a value can be, with whether it is a tail after an unknown."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value, False
    elif isinstance(value, bytes):
        yield value.decode("latin-1"), False
    elif isinstance(value, _Tail):
        yield value.text, True
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item, depth + 1)
    elif isinstance(value, _Any):
        for item in value.options:
            yield from _texts(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item, depth + 1)


def addresses(value: object) -> list[str]:
    """The whole addresses a recipient value holds (documentation domains excluded)."""
    found: list[str] = []
    for text, tail in _texts(value):
        if tail:
            # `user + ', x@y'` still adds x@y; `user + '.x@y'` or `user + '@y'` does not.
            text = text.lstrip(" ,;<\t")
            m = ADDRESS.match(text)
            candidates = [m.group()] if m else []
        else:
            candidates = ADDRESS.findall(text)
        for address in candidates:
            if not _DOC_DOMAIN.search(address) and address not in found:
                found.append(address)
    return found


# --------------------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class _Site:
    """A recipient field in the source: its line, the field, and what it sends to."""

    line: int
    column: int
    end: int
    field: str
    addresses: tuple[str, ...]
    #: The address is not written as one literal in the line (assembled or decoded).
    built: bool


def _field_of(evaluator: _Eval, start: int) -> str | None:
    """A computed key's name (`["b" + "cc"]`, `msg['Bcc']`), when it folds to a constant."""
    value = evaluator.value_at(start)
    return _field(value) if isinstance(value, str) else None


def _sites(
    path: str,
    text: str,
    rows: set[int] | None,
    package: _Package,
    sends_mail: Callable[[], bool],
) -> Iterator[_Site]:
    """Recipient fields on the given rows (every row when None) and the addresses they get."""
    py = package.py
    pattern = _PY_SITES if py else _JS_SITES
    evaluator = _Eval(package, path, text)
    evaluated = 0
    offset = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        line_start, offset = offset, offset + len(line) + 1
        if (rows is not None and lineno not in rows) or not line.strip():
            continue
        for m in pattern.finditer(line):
            groups = m.groupdict()
            value_at = line_start + m.end()
            field: str | None = None
            if groups.get("key"):
                field = _field(groups["key"])
            elif groups.get("computed"):
                field = _field_of(evaluator, line_start + m.start("computed"))
            elif groups.get("header"):
                field = _field_of(evaluator, line_start + m.start("header"))
            elif groups.get("method"):
                field = _field(groups["method"][3:].rstrip("s")) or "to"
                field = "to" if field == "recipient" else field
            elif groups.get("list"):
                field = _field(groups["list"])
            elif groups.get("sendmail"):
                package.budget = _MAX_RESOLVE
                args = evaluator.args_at(value_at)
                position = 1 if groups["sendmail"] == "sendmail" else 2
                if len(args) > position:
                    yield from _site(lineno, m, line, "toaddrs", args[position], text, value_at)
                continue
            if field is None or field not in RECIPIENT_FIELDS:
                continue
            if field not in MAIL_ONLY and not sends_mail():
                continue
            evaluated += 1
            if evaluated > _MAX_SITES:
                gaps.record(
                    f"mail recipients of {path}: more than {_MAX_SITES} recipient fields,"
                    " the rest not evaluated",
                    path,
                )
                return
            package.budget = _MAX_RESOLVE
            if groups.get("method") or groups.get("list"):
                value: object = _Any(tuple(evaluator.args_at(value_at)))
            else:
                value = evaluator.value_at(value_at)
            yield from _site(lineno, m, line, field, value, text, value_at)
        for m in _HEADER.finditer(line):
            address = m.group(2)
            if not _DOC_DOMAIN.search(address):
                field = f"{m.group(1).lower()} header"
                yield _Site(lineno, m.start(), m.end(), field, (address,), False)


def _site(
    lineno: int, m: re.Match[str], line: str, field: str, value: object, text: str, at: int
) -> Iterator[_Site]:
    found = addresses(value)
    if not found:
        return
    written = text[at : at + _WINDOW]
    built = not all(a in written for a in found)
    yield _Site(lineno, m.start(), min(len(line), m.end() + 80), field, tuple(found), built)


def _label(field: str) -> str:
    for name, label in (("bcc", "BCC"), ("cc", "CC")):
        if field.startswith(name) or field.endswith(name + "addresses"):
            return label + (" header" if "header" in field else " recipient")
    if field in ("toaddrs", "rcptto", "rcpt", "rcpts"):
        return "SMTP envelope recipient (a BCC nobody sees)"
    return "recipient"


# --------------------------------------------------------------------------- the rule


def _sends_mail(
    path: str, snapshot: Snapshot, text: str, dialect: str | None
) -> Callable[[], bool]:
    """Whether a file sends mail: its imports and calls (parser facts), or its text."""
    answer: list[bool] = []

    def ask() -> bool:
        if not answer:
            facts = facts_for(path, snapshot.files.get(path), dialect)
            if facts is not None:
                names = [i.module.lower() for i in facts.imports]
                names += [c.callee.lower() for c in facts.calls]
                answer.append(any(m in n for n in names for m in MAIL_MODULES))
            else:  # no parse: the text says it (`mailto:` links and all, so only then)
                answer.append(bool(_MAIL_TEXT.search(text)))
        return answer[0]

    return ask


def _text_of(snapshot: Snapshot | None, path: str, source: SourceFile | None) -> str | None:
    if snapshot is None:
        return None
    entry = snapshot.files.get(path)
    if entry is None or entry.is_binary:
        return None
    if entry.size > _MAX_TEXT:
        # A large bundle: only its added lines are evaluated (they hold the change).
        return source.joined if source is not None else None
    return entry.text


@artifact_rule(
    id="code.email-bcc-added",
    summary="Added code copies outgoing mail to a hard-coded address (BCC/CC, SMTP recipients)",
    severity=Severity.CRITICAL,
    category="exfil",
)
def email_bcc_added(ctx: ArtifactContext) -> Iterator[Hit]:
    """A recipient field gains an address (literal, constant, assembled or decoded)."""
    old_text: str | None = None
    new = ctx.diff.new
    for source in changed_sources(ctx):
        text = _text_of(new, source.path, source)
        if text is None:
            continue
        package = _Package(new, not source.js)
        big = new.files[source.path].size > _MAX_TEXT
        rows = None if big else source.code_linenos()
        sends = _sends_mail(source.path, new, text, ctx.dialect(source.path))
        sites = list(_sites(source.path, text, rows, package, sends))
        if not sites:
            continue
        # What the pinned release already sent to, through the same file: not news.
        before: set[str] = set()
        old_file = _text_of(ctx.diff.old, source.path, None)
        if old_file is not None and ctx.diff.old is not None:
            old_package = _Package(ctx.diff.old, not source.js)
            for site in _sites(source.path, old_file, None, old_package, lambda: True):
                before.update(a.lower() for a in site.addresses)
        reported: set[tuple[int, str]] = set()
        for site in sites:
            fresh = [a for a in site.addresses if a.lower() not in before]
            if not fresh or (site.line, fresh[0].lower()) in reported:
                continue
            address = fresh[0]
            reported.add((site.line, address.lower()))
            if old_text is None:
                old_text = old_source_text(ctx.diff.old).lower()
            known = address.lower() in old_text
            lineno = site.line
            if big:  # `text` is the added lines joined: its row n is the n-th added line
                lineno = source.lines[site.line - 1].lineno
            line = source.line_text(lineno)
            if line is None:
                line = text.split("\n")[site.line - 1]
            how = " (assembled from pieces or decoded)" if site.built else ""
            yield Hit(
                f"outgoing mail: `{address}` added as a hard-coded {_label(site.field)}{how}"
                + (" (the previous release already named this address)" if known else ""),
                path=source.path,
                line=lineno,
                evidence=excerpt(line, site.column, site.end),
                weaker=known,
                subject=address,
            )


def _number(token: str) -> int | None:
    """A number token's value: `0x68`, `104`, JS legacy octal `07`; None for anything else."""
    text = token.replace("_", "")
    try:
        return int(text, 0)
    # not a gap: `07` (legacy octal), floats and 4,300+ digit numbers are no address part
    except ValueError:
        if text.isdigit() and len(text) < 20:
            return int(text, 8 if set(text) <= set("01234567") else 10)
        return None
