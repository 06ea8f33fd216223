"""Property: whatever JS or Python text a package holds, `facts_for` returns and never raises;
where analysis stops short, a gap names the file (SPEC §4.5).

Sources are honest snippets mutated the ways hostile ones are built: slices deleted or
duplicated, and runs of brackets, member links, operators or quotes thousands long spliced in.
"""

from __future__ import annotations

import ast

import tree_sitter_python
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Parser

from watcher import gaps
from watcher.mcp.tools import tools_in_file
from watcher.models import FileEntry
from watcher.parse import facts_for, js
from watcher.parse.budget import MAX_DEPTH
from watcher.parse.python import _expression_depth_over

JS_SEEDS = [
    "const cp = require('child_process');\ncp.exec('id');\n",
    "import { x } from 'y';\nexport default async function f(a) { return a?.b ?? `t${a}`; }\n",
    "server.tool('t', 'desc', { a: z.string() }, async () => ({}));\n",
    "var _0x1a2b = ['\\x65\\x76\\x61\\x6c']; globalThis[_0x1a2b[0]]('1');\n",
]
PY_SEEDS = [
    "import os\nos.system('id')\n",
    "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n"
    '@mcp.tool()\ndef f(a: int) -> int:\n    """Doc."""\n    return a\n',
    "def f[T](x: T) -> T:\n    match x:\n        case _:\n            return x\n",
    "s = f\"{'a' + f'{1}'}\"\nexec(__import__('base64').b64decode('aWQ=').decode())\n",
]
RUNS = ["(", ")", "[", "{", ".b", "+'a'", "a.b()", "'", '"', "`", "\\", "${", "if a:\n ", "\n"]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        match draw(st.sampled_from(["run", "delete", "duplicate", "noise"])):
            case "run":
                run = draw(st.sampled_from(RUNS)) * draw(st.integers(1, 3000))
                text = text[:at] + run + text[at:]
            case "delete":
                text = text[:at] + text[at + draw(st.integers(0, 40)) :]
            case "duplicate":
                text = text[:at] + text[at : at + 60] * draw(st.integers(1, 50)) + text[at:]
            case _:
                text = text[:at] + draw(st.text(max_size=30)) + text[at:]
    return text


def _check(path: str, text: str) -> tuple[object, list[gaps.Gap]] | None:
    """`facts_for` and the MCP extractors on `text`; None for text sniffed as binary."""
    entry = FileEntry.of(path, text.encode("utf-8", errors="surrogatepass"))
    if entry.is_binary:
        # A NUL byte up front: binary, never parsed (the binary-file rules judge it).
        assert facts_for(path, entry) is None
        return None
    with gaps.collecting() as found:
        facts = facts_for(path, entry)
        tools_in_file(path, entry)  # the MCP extractors read the same text
    for gap in found:
        assert gap.path == path and path in gap.reason
    return facts, list(found)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(mutated(JS_SEEDS))
def test_js_never_raises_and_stops_only_with_a_gap(text: str) -> None:
    checked = _check("lib/m.js", text)
    if checked is None:
        return
    facts, found = checked
    if facts is None and not found:
        # The one silent None: a parse so full of errors that the text rules judge the file.
        tree = Parser(js._language("javascript")).parse(text.encode("utf-8", "surrogatepass"))
        assert tree.root_node.has_error


@PROPERTY
@given(mutated(PY_SEEDS))
def test_python_never_raises_and_stops_only_with_a_gap(text: str) -> None:
    checked = _check("pkg/m.py", text)
    if checked is None:
        return
    facts, found = checked
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        if facts is None and not found:
            # Silent only for text another Python grammar reads: honest 3.12+ syntax.
            data = text.encode("utf-8", "surrogatepass")
            parsed = Parser(Language(tree_sitter_python.language())).parse(data)
            assert not parsed.root_node.has_error
        return
    if not _expression_depth_over(tree, MAX_DEPTH):
        assert facts is not None and found == []
