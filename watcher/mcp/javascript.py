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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from watcher import gaps
from watcher.mcp.base import Tool

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


Value = Str | Obj | Arr | Expr | None

#: Keywords that start a new statement: a `const` value without `;` (ASI) ends before them.
_STATEMENT_WORDS = frozenset(
    "const let var function class export import return if for while switch throw try".split()
)
_ZOD_OBJECT_CALLS = frozenset({"object", "strictObject", "looseObject", "passthrough"})
#: Recursion budget of the evaluator: deeper literals are opaque (and cannot blow the stack).
_MAX_DEPTH = 48


class Evaluator:
    """Evaluates token ranges of one file to `Value`s."""

    def __init__(self, tokens: Tokens) -> None:
        self.t = tokens
        self.consts = self._find_consts()
        self._resolving: set[str] = set()
        self._resolved: dict[str, Value] = {}
        #: Some literal nested deeper than `_MAX_DEPTH`: its value was not read.
        self.exhausted = False

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
        return self._expression(lo, hi, depth)

    def _atom(self, j: int, depth: int) -> Value:
        kind, value = self.t.kinds[j], self.t.values[j]
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

    def _expression(self, lo: int, hi: int, depth: int) -> Expr:
        t = self.t
        describe: str | None = None
        shape: Obj | None = None
        lead = t.values[lo] if t.kinds[lo] in ("str", "tpl") else None
        for j in self._top_level(lo, hi):
            if t.values[j] != "(" or t.kinds[j] != "p" or t.match[j] < 0 or j == lo:
                continue
            callee = t.values[j - 1]
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
        if shape is None and t.kinds[lo] == "id" and hi - lo == 3 and t.values[hi - 1] == "shape":
            # `Schema.shape` of a `const Schema = z.object({...})`.
            value = self.resolve(t.values[lo], depth)
            if isinstance(value, Expr):
                shape = value.shape
        return Expr(describe, shape, lead)


# --- tool shapes ------------------------------------------------------------------------------

#: Keys of the SDK's ToolAnnotations: an object made only of these is not a parameter shape.
_ANNOTATION_KEYS = frozenset(
    {"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}
)
_SCHEMA_KEYS = ("inputSchema", "input_schema", "parameters")


def _params(schema: Value) -> tuple[tuple[str, str], ...]:
    """(name, description) pairs of a zod raw shape, `z.object(...)` or a JSON Schema object."""
    if isinstance(schema, Expr):
        schema = schema.shape
    if not isinstance(schema, Obj):
        return ()
    properties = schema.get("properties")
    if isinstance(properties, Obj):  # a JSON Schema rather than a zod shape
        schema = properties
    params = []
    for name, (value, _) in schema.entries.items():
        description = ""
        if isinstance(value, Expr):
            description = value.describe or ""
        elif isinstance(value, Obj):
            description = value.text("description") or ""
        params.append((name, description))
    return tuple(params)


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


class _Extractor:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.t = tokenize(text)
        self.ev = Evaluator(self.t)

    def tools(self) -> Iterator[Tool]:
        seen: set[tuple[str, int]] = set()
        for tool in (*self._calls(), *self._literals()):
            if (tool.name, tool.line) not in seen:
                seen.add((tool.name, tool.line))
                yield tool

    def _tool(self, name: Str, description: str, params: tuple[tuple[str, str], ...]) -> Tool:
        return Tool(name.value, description, params, self.path, self.t.line(name.at))

    def _calls(self) -> Iterator[Tool]:
        """`x.tool(...)` and `x.registerTool(...)` calls with a static name."""
        t, ev = self.t, self.ev
        for i in range(1, len(t) - 1):
            if t.kinds[i] != "id" or t.values[i] not in ("tool", "registerTool"):
                continue
            if t.values[i - 1] not in (".", "?.") or t.values[i + 1] != "(" or t.match[i + 1] < 0:
                continue
            args = ev.split(i + 2, t.match[i + 1])
            if not args:
                continue
            name = ev.evaluate(*args[0])
            if not isinstance(name, Str) or not name.value:
                continue
            rest = [ev.evaluate(a, b) for a, b in args[1:4]]
            if t.values[i] == "registerTool":
                config = rest[0] if rest else None
                if isinstance(config, Obj):
                    schema = next(
                        (config.get(k) for k in _SCHEMA_KEYS if k in config.entries), None
                    )
                    yield self._tool(name, config.text("description") or "", _params(schema))
                else:
                    yield self._tool(name, "", ())
                continue
            description = ""
            if rest and isinstance(rest[0], Str):
                description = rest[0].value
                rest = rest[1:]
            elif rest and isinstance(rest[0], Expr) and rest[0].lead is not None:
                description = rest[0].lead  # `\`...\`.trim()`
                rest = rest[1:]
            shape = next((v for v in rest if _is_shape(v)), None)
            yield self._tool(name, description, _params(shape))

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
        yield self._tool(name, _text(description), _params(schema))


#: Every shape above contains one of these; a file without any is not tokenized at all.
_ANCHOR = re.compile(
    r"\.\s*(?:tool|registerTool)\s*\(|(?:inputSchema|input_schema|tools)[\"'`]?\s*:"
)


def js_tools(path: str, text: str) -> list[Tool]:
    """The tools a JavaScript/TypeScript file declares, in source order."""
    if _ANCHOR.search(text) is None:
        return []
    extractor = _Extractor(path, text)
    tools = list(extractor.tools())
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
