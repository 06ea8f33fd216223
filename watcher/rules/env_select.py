"""Environment variables picked by a fixed name prefix: keyed reads, not a dump of it all.

`Object.keys(process.env).filter((k) => /^debug_/i.test(k))` (the `debug` package, bundled
into a great many CLIs and servers) enumerates the environment only to keep the variables whose
names begin with one constant prefix: what it reads is that family of variables, as
`process.env.DEBUG_COLORS` would, never every secret the environment holds. So a line counts as
"selected by name" only when *every* whole-environment use on it is that shape: an enumeration
(`Object.keys`/`entries`) filtered at once by a predicate that is nothing but a test of the key
against a literal prefix (an anchored regex literal or `startsWith`). Any other use on the line
(a spread, a serialiser, an unfiltered enumeration, a negated or unanchored test) keeps the whole
line a dump: this only ever weakens a finding whose every use is seen.

Text-based, so it reads minified bundles the parser skips; every match is anchored at a known
offset with patterns whose quantifiers never nest (linear time).
"""

from __future__ import annotations

import re

#: The spelling every whole-environment use on the line is checked against.
_ENV = "process.env"
#: Characters inspected after an enumeration, whitespace removed: the filter and its test.
_WINDOW = 400
#: Lines after the hit's own a pretty-printed filter may continue on.
FOLLOWING_LINES = 4
#: Shortest prefix that selects a family of variables (`^D` would select almost anything).
MIN_PREFIX = 3

_ENUMERATION = re.compile(r"Object\.(?:keys|entries)\($")
#: `).filter(` then the predicate's parameter: `function(k){return`, `(k)=>{return`, `k=>`.
_FILTER = re.compile(
    r"\)\.filter\((?:function[\w$]*\(([\w$]+)\)\{return|\(?([\w$]+)\)?=>(?:\{return)?)"
)
#: `/^prefix/i.test(k)` or `k.startsWith("prefix")` (also after `.toLowerCase()`).
_REGEX_TEST = re.compile(r"/\^([\w-]+)/[a-z]*\.test\(([\w$]+)\)")
#: What follows the parameter in the `startsWith` spelling.
_STARTS_WITH = re.compile(r"(?:\.to(?:Lower|Upper)Case\(\))?\.startsWith\((['\"`])([\w-]+)\1\)")
#: What may close the predicate: its end, or the block's `;}` and the call's `)`.
_PREDICATE_END = re.compile(r";?\}?\)")


def _squeezed(text: str) -> str:
    return "".join(text.split())


def _keyed(line: str, end: int) -> bool:
    """`process.env.NAME` or `process.env[key]`: one variable, not the object."""
    return line.startswith((".", "["), end) and not line.startswith("...", end)


def selected_prefix(line: str, following: str = "") -> str | None:
    """The literal prefix every whole-environment use on `line` filters by, or None.

    `following` is the text after the line (the filter of a pretty-printed bundle continues
    on the next lines). None when the line holds no whole-environment use, or any use that is
    not an enumeration filtered by one literal prefix.
    """
    prefixes: set[str] = set()
    at = line.find(_ENV)
    while at != -1:
        end = at + len(_ENV)
        if end < len(line) and (line[end].isalnum() or line[end] in "_$"):
            pass  # another identifier (`process.envelope`)
        elif not _keyed(line, end):
            prefix = _filter_prefix(line, at, end, following)
            if prefix is None:
                return None
            prefixes.add(prefix)
        at = line.find(_ENV, end)
    if len(prefixes) != 1:
        return None
    return prefixes.pop()


def _filter_prefix(line: str, at: int, end: int, following: str) -> str | None:
    before = _squeezed(line[max(0, at - 40) : at])
    if _ENUMERATION.search(before) is None:
        return None
    after = _squeezed((line[end:] + "\n" + following)[:_WINDOW])
    head = _FILTER.match(after)
    if head is None:
        return None
    param = head.group(1) or head.group(2)
    rest = after[head.end() :]
    test = _REGEX_TEST.match(rest)
    if test is not None and test.group(2) == param:
        prefix, tail = test.group(1), rest[test.end() :]
    else:
        starts = _STARTS_WITH.match(rest, len(param)) if rest.startswith(param) else None
        if starts is None:
            return None
        prefix, tail = starts.group(2), rest[starts.end() :]
    if len(prefix) < MIN_PREFIX or _PREDICATE_END.match(tail) is None:
        return None
    return prefix
