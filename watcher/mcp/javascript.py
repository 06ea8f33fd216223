"""Static extraction of MCP tools from JavaScript and TypeScript (source, tsc output, bundles).

No JavaScript parser is a dependency, so this is a tokenizer plus a tiny evaluator of constant
expressions. The tokenizer knows what matters to keep the token stream honest on real code:
string literals with escapes, template literals (nested `${}` included), comments, regex
literals (by the usual "what came before the slash" heuristic, confined to one line), and the
nesting of (), [] and {}. The evaluator understands string literals and their `+`
concatenations, templates without substitutions, object and array literals, references to
`const` bindings defined once in the file, and zod chains (`z.string().describe("…")`,
`z.object({...})`). Everything else is opaque and nothing is ever executed.

Shapes recognised:

* `server.tool("name", "description"?, {shape}?, ..., handler)` (the SDK's `McpServer.tool`),
* `server.registerTool("name", {title, description, inputSchema}, handler)`,
* object literals `{name: "x", description: "…", inputSchema: {...}}` anywhere (ListTools
  handlers, `const TOOL: Tool = {...}`), and any `{name, description}` element of an array that
  is the value of a `tools` key.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from watcher import gaps
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
from watcher.parse.js import parse as parse_js

# --- tokenizer ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    # Whitespace and comments are skipped inside the match (one iteration per token, not per
    # gap). Single-`\s` units: `(?:\s+)*` would backtrack exponentially on a failed match.
    # Strings are "unrolled" (`[^"\\]*(?:\\.[^"\\]*)*`): runs of plain characters in one step.
    r"""(?:\s|//[^\n]*|/\*.*?(?:\*/|\Z))*
    (?:
    (?P<id>(?:[^\W\d]|\$)[\w$]*)
    |(?P<num>\.?\d[\w.]*)
    |(?P<str>"[^"\\\n]*(?:\\(?:\r\n|[\s\S])[^"\\\n]*)*"|'[^'\\\n]*(?:\\(?:\r\n|[\s\S])[^'\\\n]*)*')
    |(?P<tpl>`)
    |(?P<p>>>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.|\+\+|--
        |[-+*/%&|^!~?:;,.<>=(){}\[\]@#])
    |(?P<other>[\s\S])
    )""",
    re.VERBOSE | re.DOTALL,
)
#: A regex literal body and flags; never across a line, so a misjudged `/` costs one line.
_REGEX_LITERAL = re.compile(r"/(?:[^/\\\[\n]|\\[^\n]|\[(?:[^\]\\\n]|\\[^\n])*\])+/[A-Za-z]*")
#: Template literal text up to the next backtick or `${`.
_TEMPLATE_CHUNK = re.compile(r"[^`\\$]*(?:(?:\\[\s\S]|\$(?!\{))[^`\\$]*)*")
#: Keywords after which a `/` starts a regex literal rather than dividing.
_REGEX_AFTER_WORDS = frozenset(
    "return typeof instanceof in of new delete void throw case do else yield await".split()
)
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,8}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_LINE_CONTINUATIONS = frozenset({"\n", "\r", "\r\n", "\u2028", "\u2029"})
#: How deeply `${ `...` }` may nest before the tokenizer gives up on the rest of the file.
_MAX_TEMPLATE_DEPTH = 32
#: Stands for a `${...}` substitution in a template's text (its value is unknown statically).
PLACEHOLDER = "${…}"

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset(_OPEN.values())


def _unescape_one(match: re.Match[str]) -> str:
    body = match.group(1)
    if body in _LINE_CONTINUATIONS:
        return ""
    if body[0] == "u" and len(body) > 1:
        code = int(body[2:-1] if body[1] == "{" else body[1:], 16)
        return chr(code) if code <= 0x10FFFF else "\ufffd"
    if body[0] == "x" and len(body) == 3:
        return chr(int(body[1:], 16))
    return _SIMPLE_ESCAPES.get(body, body)


def unescape(raw: str) -> str:
    """The value of a JS string body: escapes decoded, `\\uD83D\\uDE00` pairs joined.

    A lone surrogate becomes U+FFFD, so the result is always encodable text.
    """
    if "\\" not in raw:
        return raw
    value = _ESCAPE.sub(_unescape_one, raw)
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@dataclass
class Tokens:
    """A file's significant tokens as parallel lists (comments and whitespace dropped).

    `kinds`: "id", "num", "str" (value decoded), "tpl" (template text, `${}` as PLACEHOLDER),
    "re", "p" (punctuation), "other". `match[i]` is the index of the bracket closing the one
    opened at i (-1 if none); `parent[i]` the index of the innermost bracket open around i.
    """

    text: str
    kinds: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    match: list[int] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    #: Templates nested deeper than `_MAX_TEMPLATE_DEPTH`: the rest of the file was not read.
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.kinds)

    newlines: list[int] | None = None

    def line(self, index: int) -> int:
        """1-based line of token `index`."""
        if self.newlines is None:  # built once, on the first tool found
            self.newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self.newlines, self.starts[index]) + 1


class _Scanner:
    """Turns source text into `Tokens`, never failing: malformed input just tokenizes oddly."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = Tokens(text)

    def run(self) -> Tokens:
        text = self.text
        kinds, values, starts = self.out.kinds, self.out.values, self.out.starts
        pos = 0
        # Whether a `/` here would start a regex literal: true at the start of an expression.
        regex_ok = True
        while pos < len(text):
            resume = len(text)
            for m in _TOKEN.finditer(text, pos):
                kind = m.lastgroup or "other"
                start = m.start(kind)
                value = m.group(kind)
                if kind == "p":
                    if value == "/" and regex_ok:
                        literal = _REGEX_LITERAL.match(text, start)
                        if literal is not None:
                            kinds.append("re")
                            values.append(literal.group())
                            starts.append(start)
                            regex_ok = False
                            resume = literal.end()
                            break
                    regex_ok = value not in (")", "]", "}")
                elif kind == "tpl":
                    resume, value = self._template(m.end(), 0)
                    kinds.append(kind)
                    values.append(value)
                    starts.append(start)
                    regex_ok = False
                    break
                elif kind == "str":
                    value = unescape(value[1:-1])
                    regex_ok = False
                else:
                    regex_ok = kind == "id" and value in _REGEX_AFTER_WORDS
                kinds.append(kind)
                values.append(value)
                starts.append(start)
            # A regex literal or template moved the position: tokenizing resumes after it.
            pos = resume
        self._link_brackets()
        return self.out

    def _emit(self, kind: str, value: str, start: int) -> None:
        self.out.kinds.append(kind)
        self.out.values.append(value)
        self.out.starts.append(start)

    def _template(self, pos: int, depth: int) -> tuple[int, str]:
        """Read a template literal whose backtick ended at `pos`: (end, cooked text)."""
        text, parts = self.text, []
        while True:
            chunk = _TEMPLATE_CHUNK.match(text, pos)
            assert chunk is not None  # the pattern matches the empty string
            parts.append(unescape(chunk.group()))
            pos = chunk.end()
            if pos >= len(text):  # unterminated: the rest of the file is the template
                return pos, "".join(parts)
            if text[pos] == "`":
                return pos + 1, "".join(parts)
            parts.append(PLACEHOLDER)
            pos = self._skip_substitution(pos + 2, depth + 1)

    def _skip_substitution(self, pos: int, depth: int) -> int:
        """The position after the `}` closing a `${` that ended at `pos`."""
        if depth > _MAX_TEMPLATE_DEPTH:
            self.out.truncated = True
            return len(self.text)
        text, braces = self.text, 1
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:  # pragma: no cover
                break
            pos = m.end()
            value = m.group(m.lastgroup or "other")
            if m.lastgroup == "tpl":
                pos, _ = self._template(pos, depth)
            elif value == "{":
                braces += 1
            elif value == "}":
                braces -= 1
                if braces == 0:
                    return pos
        return len(text)

    def _link_brackets(self) -> None:
        """Fill `match` and `parent`, tolerating unbalanced brackets."""
        out = self.out
        count = len(out.kinds)
        out.match = [-1] * count
        out.parent = [-1] * count
        stack: list[int] = []
        values, kinds = out.values, out.kinds
        for i in range(count):
            out.parent[i] = stack[-1] if stack else -1
            if kinds[i] != "p":
                continue
            value = values[i]
            if value in _OPEN:
                stack.append(i)
            elif value in _CLOSE:
                # Pop to the nearest opener of the same kind: a stray closer is skipped.
                for depth in range(len(stack) - 1, -1, -1):
                    if _OPEN[values[stack[depth]]] == value:
                        out.match[stack[depth]] = i
                        del stack[depth:]
                        break
                out.parent[i] = stack[-1] if stack else -1


def tokenize(text: str) -> Tokens:
    """The significant tokens of a JS/TS source text."""
    return _Scanner(text).run()


# --- constant evaluation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Str:
    """A statically known string; `at` is the token index where it starts."""

    value: str
    at: int
    #: The file the text was read from, when not the file being evaluated (`x.md`, a module).
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Obj:
    """An object literal: key -> (value, token index of the key)."""

    entries: dict[str, tuple[Value, int]]
    at: int

    def get(self, key: str) -> Value:
        """The value at `key`, or None."""
        entry = self.entries.get(key)
        return entry[0] if entry is not None else None

    def text(self, key: str) -> str | None:
        """The value at `key` if it is a string."""
        value = self.get(key)
        if isinstance(value, Str):
            return value.value
        if isinstance(value, Expr):
            return value.lead
        return None


@dataclass(frozen=True, slots=True)
class Arr:
    """An array literal."""

    items: tuple[Value, ...]
    at: int


@dataclass(frozen=True, slots=True)
class Expr:
    """Any other expression, with what a tool extractor can still use of it.

    `describe`: the argument of the last `.describe("…")` in the expression's top-level chain
    (zod); `shape`: the object literal given to `z.object(...)` at its head; `lead`: a string
    the expression starts with (`` `text`.trim() ``).
    """

    describe: str | None = None
    shape: Obj | None = None
    lead: str | None = None
    #: `.optional()`, `.nullish()` or `.default(...)` in the chain: the caller may leave it out.
    optional: bool = False


Value = Str | Obj | Arr | Expr | None

#: Keywords that start a new statement: a `const` value without `;` (ASI) ends before them.
_STATEMENT_WORDS = frozenset(
    "const let var function class export import return if for while switch throw try".split()
)
_ZOD_OBJECT_CALLS = frozenset({"object", "strictObject", "looseObject", "passthrough"})
#: Recursion budget of the evaluator: deeper literals are opaque (and cannot blow the stack).
_MAX_DEPTH = 48
#: How far a constant is followed through imports (`index.js` → `tools.js` → `texts.js`).
_MAX_HOPS = 3
#: Files a bundler's raw/text loader imports as a string, and `readFileSync` targets read as one.
_TEXT_SUFFIXES = (".md", ".txt", ".markdown", ".prompt", ".html")
#: Calls that read a file's text at load (`fs.readFileSync`, `await fs.promises.readFile`).
_READERS = frozenset({"readFileSync", "readFile"})
#: zod calls that make a parameter optional.
_OPTIONAL_CALLS = frozenset({"optional", "nullish", "default"})
_MODULE_SUFFIXES = (".js", ".ts", ".mjs", ".cjs", ".mts", ".cts", ".jsx", ".tsx")


def _origin(path: str, relative: str) -> str:
    """The artifact path `relative` names from the file at `path` (for evidence)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))


def _module_candidates(spec: str) -> list[str]:
    """Files Node (or a TypeScript source tree) would load for a relative specifier."""
    stem, ext = posixpath.splitext(spec)
    found = [spec] if ext in _MODULE_SUFFIXES else []
    if ext in (".js", ".mjs", ".cjs", ".jsx"):  # `import "./x.js"` in TypeScript means x.ts
        found += [stem + ".ts", stem + ".mts", stem + ".cts", stem + ".tsx"]
    found += [spec + suffix for suffix in _MODULE_SUFFIXES]
    found += [f"{spec}/index{suffix}" for suffix in _MODULE_SUFFIXES]
    return found


def _json_value(text: str | None, origin: str | None, depth: int = 0) -> Value:
    """A JSON document as evaluator values (a schema or descriptions kept in a `.json`)."""
    if text is None:
        return None
    try:
        data = json.loads(text)
    # not a gap: `JSON.parse` of it would throw as the server loads, so it declares nothing
    except (ValueError, RecursionError):
        return None
    return _from_json(data, origin, 0)


def _from_json(data: object, origin: str | None, depth: int) -> Value:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(data, str):
        return Str(data, 0, origin)
    if isinstance(data, dict):
        entries = {str(k): (_from_json(v, origin, depth + 1), 0) for k, v in data.items()}
        return Obj(entries, 0)
    if isinstance(data, list):
        return Arr(tuple(_from_json(v, origin, depth + 1) for v in data), 0)
    return Expr()


class Evaluator:
    """Evaluates token ranges of one file to `Value`s."""

    def __init__(
        self,
        tokens: Tokens,
        path: str = "",
        loader: Loader | None = None,
        hops: int = 0,
        modules: dict[str, Evaluator] | None = None,
    ) -> None:
        self.t = tokens
        self.path = path
        self.loader = loader
        #: Evaluators of the files imported so far, shared along the import chain: a module
        #: referenced by a hundred constants is tokenized once.
        self.modules: dict[str, Evaluator] = modules if modules is not None else {}
        #: How many imports away from the file being extracted this one is.
        self.hops = hops
        self.consts = self._find_consts()
        self.imports = self._find_imports() if loader is not None else {}
        self._resolving: set[str] = set()
        self._resolved: dict[str, Value] = {}
        #: Some literal nested deeper than `_MAX_DEPTH`: its value was not read.
        self.exhausted = False

    def _find_imports(self) -> dict[str, tuple[str, str]]:
        """Local name -> (module specifier, exported name; "*" for the namespace) for relative
        imports: `import {A, B as C} from "./x"`, `import D from "./x.md"`, `import * as N`,
        `const {A} = require("./x")`, `const x_1 = require("./x")` (tsc's CommonJS)."""
        t = self.t
        found: dict[str, tuple[str, str]] = {}
        kinds, values, n = t.kinds, t.values, len(t)
        for i in range(n):
            if kinds[i] == "id" and values[i] == "from" and i + 1 < n and kinds[i + 1] == "str":
                spec = values[i + 1]
                if not spec.startswith("."):
                    continue
                j = i - 1
                while j >= 0 and not (kinds[j] == "id" and values[j] == "import"):
                    if values[j] in (";",) or i - j > 200:
                        j = -1
                        break
                    j -= 1
                if j >= 0:
                    self._import_clause(j + 1, i, spec, found)
            elif kinds[i] == "id" and values[i] == "require" and i + 3 < n:
                if values[i + 1] != "(" or kinds[i + 2] != "str" or values[i + 3] != ")":
                    continue
                spec = values[i + 2]
                if not spec.startswith(".") or i < 2 or values[i - 1] != "=":
                    continue
                if kinds[i - 2] == "id":
                    found[values[i - 2]] = (spec, "*")
                elif values[i - 2] == "}" and kinds[i - 2] == "p":
                    opener = next((k for k in range(i - 3, -1, -1) if t.match[k] == i - 2), -1)
                    if opener >= 0:
                        self._named(opener + 1, i - 2, spec, found, ":")
        return found

    def _import_clause(
        self, lo: int, hi: int, spec: str, found: dict[str, tuple[str, str]]
    ) -> None:
        t, j = self.t, lo
        while j < hi:
            kind, value = t.kinds[j], t.values[j]
            if value == "{" and kind == "p" and 0 < t.match[j] <= hi:
                self._named(j + 1, t.match[j], spec, found, "as")
                j = t.match[j]
            elif value == "*" and j + 2 < hi and t.values[j + 1] == "as":
                found[t.values[j + 2]] = (spec, "*")
                j += 2
            elif kind == "id" and value not in ("type", "typeof"):
                found[value] = (spec, "default")
            j += 1

    def _named(
        self, lo: int, hi: int, spec: str, found: dict[str, tuple[str, str]], rename: str
    ) -> None:
        """`A, B as C` (import) or `A, B: C` (destructuring) between lo and hi."""
        for a, b in self.split(lo, hi):
            names = [self.t.values[k] for k in range(a, b) if self.t.kinds[k] in ("id", "str")]
            names = [n for n in names if n not in ("type", rename)]
            if len(names) == 1:
                found[names[0]] = (spec, names[0])
            elif len(names) == 2:
                found[names[1]] = (spec, names[0])

    def _find_consts(self) -> dict[str, tuple[int, int] | None]:
        """`const|let|var NAME (: Type)? = <value>` → token range of the value.

        A name bound more than once (scopes, minifiers' `e`/`t`) maps to None: ambiguous.
        """
        t, consts = self.t, {}
        kinds, values, n = t.kinds, t.values, len(t)
        for i in range(n - 2):
            if kinds[i] != "id" or values[i] not in ("const", "let", "var"):
                continue
            if kinds[i + 1] != "id":
                continue
            name, j = values[i + 1], i + 2
            if values[j] == ":":  # a TypeScript annotation: skip to the `=`
                j = self._skip_to_assign(j + 1)
            if j < 0 or j >= n or values[j] != "=" or kinds[j] != "p":
                continue
            lo = j + 1
            hi = self.segment_end(lo)
            consts[name] = None if name in consts else (lo, hi)
        return consts

    def _skip_to_assign(self, j: int) -> int:
        t = self.t
        for _ in range(64):
            if j >= len(t):
                return -1
            value = t.values[j]
            if t.kinds[j] == "p":
                if value == "=":
                    return j
                if value in (";", ",", ")", "]", "}"):
                    return -1
                if value in _OPEN:
                    if t.match[j] < 0:
                        return -1
                    j = t.match[j]
            j += 1
        return -1

    def segment_end(self, lo: int) -> int:
        """The end (exclusive) of the expression starting at `lo`."""
        t = self.t
        j = lo
        while j < len(t):
            kind, value = t.kinds[j], t.values[j]
            if kind == "p":
                if value in (",", ";") or value in _CLOSE:
                    return j
                if value in _OPEN:
                    if t.match[j] < 0:
                        return len(t)
                    j = t.match[j]
            elif kind == "id" and value in _STATEMENT_WORDS and j > lo:
                return j
            j += 1
        return j

    def split(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Top-level comma-separated ranges of [lo, hi) (empty ones dropped)."""
        t, parts, start, j = self.t, [], lo, lo
        while j < hi:
            if t.kinds[j] == "p":
                value = t.values[j]
                if value == ",":
                    if j > start:
                        parts.append((start, j))
                    start = j + 1
                elif value in _OPEN and 0 <= t.match[j] < hi:
                    j = t.match[j]
            j += 1
        if hi > start:
            parts.append((start, hi))
        return parts

    def _top_level(self, lo: int, hi: int) -> Iterator[int]:
        """Token indexes of [lo, hi) not nested inside brackets (openers included)."""
        t, j = self.t, lo
        while j < hi:
            yield j
            if t.kinds[j] == "p" and t.values[j] in _OPEN and 0 <= t.match[j] < hi:
                j = t.match[j]
            j += 1

    def evaluate(self, lo: int, hi: int, depth: int = 0) -> Value:
        """The value of the expression in [lo, hi), as far as it is static."""
        t = self.t
        if depth > _MAX_DEPTH:
            self.exhausted = True
            return None
        if lo >= hi:
            return None
        # TypeScript `x as const`, `x satisfies T`, `x!`: the value is x.
        for j in self._top_level(lo, hi):
            if j > lo and t.kinds[j] == "id" and t.values[j] in ("as", "satisfies"):
                hi = j
                break
        while hi - lo > 1 and t.values[hi - 1] == "!" and t.kinds[hi - 1] == "p":
            hi -= 1
        first = t.values[lo]
        if t.kinds[lo] == "p" and first in _OPEN and t.match[lo] == hi - 1:
            if first == "(":
                return self.evaluate(lo + 1, hi - 1, depth + 1)
            if first == "{":
                return self._object(lo, depth)
            items = tuple(self.evaluate(a, b, depth + 1) for a, b in self.split(lo + 1, hi - 1))
            return Arr(items, lo)
        if hi - lo == 1:
            return self._atom(lo, depth)
        pluses = [j for j in self._top_level(lo, hi) if t.values[j] == "+" and t.kinds[j] == "p"]
        if pluses:
            return self._concat(lo, hi, pluses, depth)
        if hi - lo == 2 and t.kinds[lo] == "id" and t.kinds[lo + 1] == "tpl":
            # A tagged template (`dedent\`...\``): the text is what matters.
            return Str(t.values[lo + 1], lo + 1)
        if (
            hi - lo == 3
            and t.kinds[lo] == "id"
            and t.values[lo + 1] in (".", "?.")
            and (t.kinds[lo + 2] == "id")
        ):
            member = self._member(t.values[lo], t.values[lo + 2], depth)
            if member is not None:
                return member
        return self._expression(lo, hi, depth)

    def _member(self, base: str, key: str, depth: int) -> Value:
        """`ns.KEY` of a namespace import (`consts_1.DESCRIPTION`) or of a const object."""
        imported = self.imports.get(base)
        if imported is not None and imported[1] == "*":
            return self.imported(imported[0], key)
        value = self.resolve(base, depth)
        return value.get(key) if isinstance(value, Obj) else None

    # --- other files: imported modules and text read at load ----------------------------------

    def imported(self, spec: str, name: str) -> Value:
        """The value another file of the package exports as `name` ("default", or "*")."""
        if self.loader is None or self.hops >= _MAX_HOPS:
            return None
        bare = spec.split("?", 1)[0]
        if bare.endswith(_TEXT_SUFFIXES):
            # `import text from "./x.md"` (bundlers' raw/text loaders, `?raw`).
            text = self._load(bare)
            return Str(text, 0, _origin(self.path, bare)) if text is not None else None
        if bare.endswith(".json"):
            data = _json_value(self._load(bare), _origin(self.path, bare))
            return data if name in ("default", "*") or not isinstance(data, Obj) else data.get(name)
        for candidate in _module_candidates(bare):
            target = _origin(self.path, candidate)
            other = self.modules.get(target)
            if other is None:
                text = self._load(candidate)
                if text is None:
                    continue
                other = Evaluator(tokenize(text), target, self.loader, self.hops + 1, self.modules)
                self.modules[target] = other
            value = other.exported(name)
            if isinstance(value, Str) and value.origin is None:
                return Str(value.value, 0, other.path)
            return value
        return None

    def _load(self, relative: str) -> str | None:
        return self.loader(self.path, relative) if self.loader is not None else None

    def exported(self, name: str) -> Value:
        """What this file exports as `name`: `export const`, `exports.NAME =`,
        `module.exports = {...}`, `export default`."""
        t = self.t
        kinds, values, n = t.kinds, t.values, len(t)
        found: Value = None
        for i in range(n - 3):
            if kinds[i] != "id":
                continue
            if values[i] == "exports" and values[i + 1] == "." and values[i + 3] == "=":
                if values[i + 2] == name and t.kinds[i + 3] == "p":
                    value = self.evaluate(i + 4, self.segment_end(i + 4))
                    found = value if value is not None else found
            elif values[i] == "module" and values[i + 1] == "." and values[i + 2] == "exports":
                if values[i + 3] == "=" and kinds[i + 3] == "p":
                    value = self.evaluate(i + 4, self.segment_end(i + 4))
                    if name == "default":
                        found = value
                    elif isinstance(value, Obj) and name in value.entries:
                        found = value.get(name)
            elif values[i] == "export" and values[i + 1] == "default" and name == "default":
                found = self.evaluate(i + 2, self.segment_end(i + 2))
        if found is None and name in self.consts:
            found = self.resolve(name, 0)
        return found

    def read_file(self, lo: int, hi: int) -> Str | None:
        """The text of `readFileSync(<path>)`'s file when the path is static, relative to the
        module (`path.join(__dirname, "x.md")`, `new URL("./x.md", import.meta.url)`)."""
        relative = self._path(lo, hi, 0)
        if relative is None:
            return None
        text = self._load(relative)
        return Str(text, lo, _origin(self.path, relative)) if text is not None else None

    def _path(self, lo: int, hi: int, depth: int) -> str | None:
        t = self.t
        if lo >= hi or depth > 8:
            return None
        if hi - lo == 1:
            if t.kinds[lo] in ("str", "tpl"):
                return t.values[lo].replace(PLACEHOLDER, "", 1).lstrip("/") or None
            span = self.consts.get(t.values[lo]) if t.kinds[lo] == "id" else None
            return self._path(*span, depth + 1) if span is not None else None
        pluses = [j for j in self._top_level(lo, hi) if t.values[j] == "+" and t.kinds[j] == "p"]
        if pluses:  # `__dirname + "/x.md"`
            tail = [t.values[j] for j in range(pluses[0] + 1, hi) if t.kinds[j] == "str"]
            return "".join(tail).lstrip("/") or None
        # The last call of the expression: `path.join(a, "x.md")`, `new URL("./x.md", base)`.
        calls = [j for j in self._top_level(lo, hi) if t.values[j] == "(" and t.kinds[j] == "p"]
        if not calls or t.match[calls[-1]] < 0:
            return None
        opener = calls[-1]
        args = self.split(opener + 1, t.match[opener])
        callee = t.values[opener - 1] if opener > lo else ""
        if callee == "URL" and args:
            return self._path(*args[0], depth + 1)
        if callee in ("join", "resolve") and args:
            parts = []
            for a, b in args:
                value = self.evaluate(a, b, depth + 1)
                if isinstance(value, Str):
                    parts.append(value.value)
                elif parts:
                    return None
            return "/".join(parts) if parts else None
        return None

    def _atom(self, j: int, depth: int) -> Value:
        kind, value = self.t.kinds[j], self.t.values[j]
        if kind == "tpl" and PLACEHOLDER in value:
            # `${'Never m'}${'ention'}`: substitutions of constants are text too.
            folded = self._decoded(j, j + 1, depth, any_expression=True)
            if folded is not None:
                return folded
        if kind in ("str", "tpl"):
            return Str(value, j)
        if kind == "id":
            return self.resolve(value, depth)
        return None

    def resolve(self, name: str, depth: int) -> Value:
        """The value bound to a `const` name defined once in the file."""
        if name in self._resolved:
            return self._resolved[name]
        span = self.consts.get(name)
        if span is None and name in self.imports and name not in self._resolving:
            self._resolving.add(name)
            try:
                value = self.imported(*self.imports[name])
            finally:
                self._resolving.discard(name)
            self._resolved[name] = value
            return value
        if span is None or name in self._resolving:
            return None
        self._resolving.add(name)
        try:
            value = self.evaluate(span[0], span[1], depth + 1)
        finally:
            self._resolving.discard(name)
        # Memoized: a constant referenced from a thousand objects is evaluated once.
        self._resolved[name] = value
        return value

    def _concat(self, lo: int, hi: int, pluses: list[int], depth: int) -> Value:
        pieces, start = [], lo
        for plus in [*pluses, hi]:
            value = self.evaluate(start, plus, depth + 1)
            if not isinstance(value, Str):
                return Expr()
            pieces.append(value.value)
            start = plus + 1
        return Str("".join(pieces), lo)

    def _decoded(self, lo: int, hi: int, depth: int, any_expression: bool = False) -> Str | None:
        """Text the server decodes or assembles at load (`Buffer.from(b, 'base64')`, `atob`,
        `String.fromCharCode`, `[...].join('')`), folded by the JavaScript parser with the
        file's constant strings: what the model is told is what it decodes to."""
        t = self.t
        if not any_expression and not any(t.values[j] in _DECODER_WORDS for j in range(lo, hi)):
            return None
        end = t.starts[hi] if hi < len(t.starts) else len(t.text)
        expression = t.text[t.starts[lo] : end].strip().rstrip(",;")
        if not expression or len(expression) > _MAX_DECODED_SOURCE:
            return None
        prelude: list[str] = []
        seen: set[str] = set()
        for match in _NAME.finditer(expression):
            name = match.group(1)
            if name in seen or len(prelude) >= _MAX_DECODED_NAMES:
                continue
            seen.add(name)
            value = self.resolve(name, depth + 1)
            if isinstance(value, Str):
                prelude.append(f"const {name} = {json.dumps(value.value)};\n")
        head = "const __decoded = ("
        source = "".join(prelude) + head + expression + ");\n"
        facts = parse_js("decoded.js", source)
        if facts is None:
            return None
        line = len(prelude) + 1
        for literal in facts.strings:
            # `built`: folded whole; a template with an unknown substitution is not.
            if literal.span.line == line and literal.span.col == len(head) and literal.built:
                return Str(literal.value, lo)
        return None

    def _object(self, lo: int, depth: int) -> Obj:
        t = self.t
        entries: dict[str, tuple[Value, int]] = {}
        for a, b in self.split(lo + 1, t.match[lo]):
            kind, key = t.kinds[a], t.values[a]
            if kind not in ("id", "str", "num"):
                continue  # `...spread`, `[computed]`
            if b - a == 1 and kind == "id":  # shorthand `{ description }`
                entries.setdefault(key, (self.resolve(key, depth), a))
            elif b - a > 2 and t.values[a + 1] == ":" and t.kinds[a + 1] == "p":
                entries.setdefault(key, (self.evaluate(a + 2, b, depth + 1), a))
        return Obj(entries, lo)

    def _expression(self, lo: int, hi: int, depth: int) -> Value:
        t = self.t
        describe: str | None = None
        shape: Obj | None = None
        lead = t.values[lo] if t.kinds[lo] in ("str", "tpl") else None
        optional = False
        for j in self._top_level(lo, hi):
            if t.values[j] != "(" or t.kinds[j] != "p" or t.match[j] < 0 or j == lo:
                continue
            callee = t.values[j - 1]
            if callee in _READERS:
                args = self.split(j + 1, t.match[j])
                read = self.read_file(*args[0]) if args else None
                if read is not None:
                    return read
            elif callee == "parse" and j >= 2 and t.values[j - 2] in (".",):
                inner = self.evaluate(j + 1, t.match[j], depth + 1)
                if isinstance(inner, Str) and inner.origin is not None:
                    data = _json_value(inner.value, inner.origin)
                    if data is not None:
                        return data
            elif callee in _OPTIONAL_CALLS:
                optional = True
            if callee == "describe":
                value = self.evaluate(j + 1, t.match[j], depth + 1)
                if isinstance(value, Str):
                    describe = value.value
            elif callee in _ZOD_OBJECT_CALLS and shape is None:
                value = self.evaluate(j + 1, t.match[j], depth + 1)
                if isinstance(value, Obj):
                    shape = value
                elif isinstance(value, Expr):
                    shape = value.shape
        if describe is None and shape is None and lead is None:
            decoded = self._decoded(lo, hi, depth)
            if decoded is not None:
                return decoded
        if shape is None and t.kinds[lo] == "id" and hi - lo == 3 and t.values[hi - 1] == "shape":
            # `Schema.shape` of a `const Schema = z.object({...})`.
            value = self.resolve(t.values[lo], depth)
            if isinstance(value, Expr):
                shape = value.shape
        return Expr(describe, shape, lead, optional)


# --- tool shapes ------------------------------------------------------------------------------

#: Keys of the SDK's ToolAnnotations: an object made only of these is not a parameter shape.
_ANNOTATION_KEYS = frozenset(
    {"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
)
_SCHEMA_KEYS = ("inputSchema", "input_schema", "parameters")
#: Callees that decode or assemble text at load; an expression with one is folded by the
#: parser (`Evaluator._decoded`), with at most this much source and this many named constants.
_DECODER_WORDS = frozenset({"atob", "from", "fromCharCode", "fromCodePoint", "join", "decode"})
_MAX_DECODED_SOURCE = 64 * 1024
_MAX_DECODED_NAMES = 32
#: A name not read as a property (`.from` is not a constant named `from`).
_NAME = re.compile(r"(?<![\w$.])([A-Za-z_$][\w$]*)")
_PROMPT_SCHEMA_KEYS = ("argsSchema", "arguments")
#: Calls that reach the network: a tool parameter passed into one leaves the machine.
_NETWORK_CALLEES = frozenset(
    {
        "fetch",
        "axios",
        "got",
        "request",
        "post",
        "put",
        "patch",
        "sendBeacon",
        "ky",
        "ajax",
        "XMLHttpRequest",
        "WebSocket",
        "open",
        "send",
        "write",
        "upload",
    }
)
_CALLS = {
    "tool": TOOL,
    "registerTool": TOOL,
    "prompt": PROMPT,
    "registerPrompt": PROMPT,
    "resource": RESOURCE,
    "registerResource": RESOURCE,
}


@dataclass(frozen=True, slots=True)
class _Params:
    pairs: tuple[tuple[str, str], ...] = ()
    optional: frozenset[str] = frozenset()


def _params(schema: Value) -> _Params:
    """(name, description) pairs of a zod raw shape, `z.object(...)` or a JSON Schema object,
    and which of them are optional."""
    if isinstance(schema, Expr):
        schema = schema.shape
    if not isinstance(schema, Obj):
        return _Params()
    required: set[str] | None = None
    properties = schema.get("properties")
    if isinstance(properties, Obj):  # a JSON Schema rather than a zod shape
        listed = schema.get("required")
        required = set()
        if isinstance(listed, Arr):
            required = {item.value for item in listed.items if isinstance(item, Str)}
        schema = properties
    pairs, optional = [], set()
    for name, (value, _) in schema.entries.items():
        description = ""
        if isinstance(value, Expr):
            description = value.describe or ""
            if value.optional:
                optional.add(name)
        elif isinstance(value, Obj):
            description = value.text("description") or ""
        if required is not None and name not in required:
            optional.add(name)
        pairs.append((name, description))
    return _Params(tuple(pairs), frozenset(optional))


def _is_shape(value: Value) -> bool:
    """Whether a `server.tool` argument is the parameter shape (not annotations, not handler)."""
    if isinstance(value, Expr):
        return value.shape is not None
    return isinstance(value, Obj) and not (
        value.entries and value.entries.keys() <= _ANNOTATION_KEYS
    )


def _text(value: Value) -> str:
    if isinstance(value, Str):
        return value.value
    if isinstance(value, Expr):
        return value.describe or value.lead or ""
    return ""


def _origin_of(value: Value) -> str | None:
    return value.origin if isinstance(value, Str) else None


class _Extractor:
    def __init__(self, path: str, text: str, loader: Loader | None) -> None:
        self.path = path
        self.t = tokenize(text)
        self.ev = Evaluator(self.t, path, loader)
        #: (first, last) token index of each tool/prompt/resource call, and its name.
        self.handlers: list[tuple[int, int, str]] = []

    def tools(self) -> Iterator[Tool]:
        seen: set[tuple[str, str, int]] = set()
        for tool in (*self._calls(), *self._literals(), *self._instructions(), *self._texts()):
            key = (tool.kind, tool.name, tool.line)
            if key not in seen:
                seen.add(key)
                yield tool

    def _tool(
        self,
        name: Str,
        description: Value,
        params: _Params = _Params(),  # noqa: B008 (frozen, shared safely)
        kind: str = TOOL,
        sends: frozenset[str] = frozenset(),
    ) -> Tool:
        return Tool(
            name.value,
            _text(description),
            params.pairs,
            self.path,
            self.t.line(name.at),
            kind,
            params.optional,
            sends,
            _origin_of(description),
        )

    def _sends(self, lo: int, hi: int, params: _Params) -> frozenset[str]:
        """Parameters named inside the arguments of a network call in [lo, hi) (the handler)."""
        t, names = self.t, {name for name, _ in params.pairs}
        if not names:
            return frozenset()
        found: set[str] = set()
        for j in range(lo, hi - 1):
            if t.kinds[j] != "id" or t.values[j] not in _NETWORK_CALLEES:
                continue
            opener = j + 1
            if t.values[opener] != "(" or t.match[opener] < 0:
                continue
            for k in range(opener + 1, t.match[opener]):
                if t.kinds[k] == "id" and t.values[k] in names:
                    found.add(t.values[k])
        return frozenset(found)

    def _calls(self) -> Iterator[Tool]:
        """`x.tool(...)`, `x.registerTool(...)` and the prompt/resource equivalents."""
        t, ev = self.t, self.ev
        for i in range(1, len(t) - 1):
            if t.kinds[i] != "id" or t.values[i] not in _CALLS:
                continue
            if t.values[i - 1] not in (".", "?.") or t.values[i + 1] != "(" or t.match[i + 1] < 0:
                continue
            end = t.match[i + 1]
            args = ev.split(i + 2, end)
            if not args:
                continue
            name = ev.evaluate(*args[0])
            if not isinstance(name, Str) or not name.value:
                continue
            self.handlers.append((i, end, name.value))
            kind, method = _CALLS[t.values[i]], t.values[i]
            rest = [ev.evaluate(a, b) for a, b in args[1:4]]
            if kind == RESOURCE:
                # `resource(name, uri, metadata?, cb)`, `registerResource(name, uri, metadata, cb)`
                metadata = next((v for v in rest[1:] if isinstance(v, Obj)), None)
                about = metadata.get("description") if metadata is not None else None
                yield self._tool(name, about, kind=kind)
                continue
            if method.startswith("register"):
                config = rest[0] if rest else None
                if isinstance(config, Obj):
                    keys = _SCHEMA_KEYS if kind == TOOL else _PROMPT_SCHEMA_KEYS
                    schema = next((config.get(k) for k in keys if k in config.entries), None)
                    params = _params(schema)
                    sends = self._sends(i, end, params)
                    yield self._tool(name, config.get("description"), params, kind, sends)
                else:
                    yield self._tool(name, None, kind=kind)
                continue
            description: Value = None
            if rest and isinstance(rest[0], Str):
                description = rest[0]
                rest = rest[1:]
            elif rest and isinstance(rest[0], Expr) and rest[0].lead is not None:
                description = rest[0]  # `\`...\`.trim()`
                rest = rest[1:]
            params = _params(next((v for v in rest if _is_shape(v)), None))
            yield self._tool(name, description, params, kind, self._sends(i, end, params))

    def _literals(self) -> Iterator[Tool]:
        """Object literals with a name and description that are tool definitions."""
        t, ev = self.t, self.ev
        done: set[int] = set()  # objects already read (one per object, however many keys)
        for i in range(len(t) - 2):
            if t.kinds[i] not in ("id", "str") or t.values[i + 1] != ":":
                continue
            key = t.values[i]
            if key in _SCHEMA_KEYS[:2]:
                opener = t.parent[i]
                if opener in done:
                    continue
                done.add(opener)
                if opener >= 0 and t.values[opener] == "{" and t.match[opener] > 0:
                    yield from self._definition(ev.evaluate(opener, t.match[opener] + 1))
            elif key == "tools":
                value = ev.evaluate(i + 2, ev.segment_end(i + 2))
                if isinstance(value, Arr):
                    for item in value.items:
                        yield from self._definition(item, need_description=True)

    def _definition(self, value: Value, need_description: bool = False) -> Iterator[Tool]:
        """A tool from an object literal; `{name, description}` alone counts only in `tools`."""
        if not isinstance(value, Obj):
            return
        name = value.get("name")
        description = value.get("description")
        if not isinstance(name, Str) or not name.value:
            return
        if need_description and description is None:
            return
        schema = next((value.get(k) for k in _SCHEMA_KEYS if k in value.entries), None)
        yield self._tool(name, description, _params(schema))

    def _instructions(self) -> Iterator[Tool]:
        """`instructions` given to a server's constructor: `new McpServer(info, {instructions})`,
        `new Server(info, {capabilities, instructions})`, `new FastMCP({name, instructions})`."""
        t, ev = self.t, self.ev
        for i in range(len(t) - 2):
            if t.kinds[i] not in ("id", "str") or t.values[i] != "instructions":
                continue
            shorthand = t.values[i + 1] in (",", "}") and t.kinds[i] == "id"
            if t.values[i + 1] != ":" and not shorthand:
                continue
            obj = t.parent[i]
            call = t.parent[obj] if obj >= 0 else -1
            if obj < 0 or t.values[obj] != "{" or call < 0 or t.values[call] != "(":
                continue
            if not any(t.values[k] == "new" for k in range(max(0, call - 6), call)):
                continue
            if t.values[i + 1] == ":":
                value = ev.evaluate(i + 2, ev.segment_end(i + 2))
            else:  # shorthand `{ instructions }`
                value = ev.resolve("instructions", 0)
            text = _text(value)
            if not text:
                continue
            first = ev.split(call + 1, t.match[call]) if t.match[call] > 0 else []
            server = ev.evaluate(*first[0]) if first else None
            server_name = server.get("name") if isinstance(server, Obj) else None
            label = server_name.value if isinstance(server_name, Str) else "server"
            yield Tool(
                label, text, (), self.path, t.line(i), INSTRUCTIONS, origin=_origin_of(value)
            )

    def _texts(self) -> Iterator[Tool]:
        """Fixed text returned to the model: `{type: "text", text: "..."}` content items."""
        t, ev = self.t, self.ev
        for i in range(len(t) - 2):
            if t.values[i] != "text" or t.kinds[i] not in ("id", "str") or t.values[i + 1] != ":":
                continue
            opener = t.parent[i]
            if opener < 0 or t.values[opener] != "{" or t.match[opener] < 0:
                continue
            item = ev.evaluate(opener, t.match[opener] + 1)
            if not isinstance(item, Obj) or item.text("type") != "text":
                continue
            value = item.get("text")
            text = _text(value)
            if not text.replace(PLACEHOLDER, "").strip():
                continue
            owner = next((n for lo, hi, n in reversed(self.handlers) if lo < i < hi), "")
            yield Tool(owner, text, (), self.path, t.line(i), RESPONSE, origin=_origin_of(value))


#: Every shape above contains one of these; a file without any is not tokenized at all.
_ANCHOR = re.compile(
    r"\.\s*(?:tool|registerTool|prompt|registerPrompt|resource|registerResource)\s*\("
    r"|(?:inputSchema|input_schema|tools|instructions)[\"'`]?\s*:|CallToolRequestSchema"
)


def js_tools(path: str, text: str, loader: Loader | None = None) -> list[Tool]:
    """The MCP surfaces a JavaScript/TypeScript file declares, in source order.

    With a `loader` (given, or set by `tools.iter_surfaces`), every surface kind, with texts
    in other files of the artifact (imported modules, `.md` files read at load) resolved
    through it; without one, the file's tools only, from its own constants.
    """
    if _ANCHOR.search(text) is None:
        return []
    loader = loader if loader is not None else EXTRACTING.get()
    extractor = _Extractor(path, text, loader)
    tools = [t for t in extractor.tools() if loader is not None or t.kind == TOOL]
    # The budgets keep hostile nesting from blowing the stack; what they cut off is a gap.
    if extractor.t.truncated:
        gaps.record(
            f"MCP tool extraction of {path} stopped: templates nested deeper than"
            f" {_MAX_TEMPLATE_DEPTH}",
            path,
        )
    if extractor.ev.exhausted:
        gaps.record(
            f"MCP tool extraction of {path} stopped: literals nested deeper than {_MAX_DEPTH}",
            path,
        )
    return sorted(tools, key=lambda tool: tool.line)
