"""MCP tool extraction under hostile nesting: a gap naming the file, never an exception."""

from __future__ import annotations

import pytest

from watcher import gaps
from watcher.mcp.tools import tools_in_file
from watcher.models import FileEntry

HOSTILE = {
    "objects.js": (
        "server.tool('t', " + "{a:" * 100 + "1" + "}" * 100 + ", () => 1)\n",
        "literals nested deeper than 48",
    ),
    "templates.js": ("server.tool('t', `" + "${`" * 100 + "`)\n", "templates nested deeper"),
    "deep.py": (
        "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n"
        "@mcp.tool()\ndef f(): pass\nx = a" + ".b" * 1500 + "\n",
        "nesting deeper than 200",
    ),
    "deeper.py": (
        "from mcp.server.fastmcp import FastMCP\nmcp = FastMCP('x')\n"
        "@mcp.tool()\ndef f(): pass\nx = a" + ".b" * 5000 + "\n",
        "nesting deeper than Python 3.11 accepts",
    ),
}


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_nesting_is_a_gap_with_the_content_hash(path: str) -> None:
    text, reason = HOSTILE[path]
    entry = FileEntry.of(path, text.encode())
    with gaps.collecting() as found:
        tools_in_file(path, entry)
    assert len(found) == 1
    assert found[0].path == path and path in found[0].reason and reason in found[0].reason
    assert found[0].sha256 == entry.sha256


@pytest.mark.parametrize("levels", [5, 10, 20])
def test_honestly_nested_schemas_are_no_gap(levels: int) -> None:
    schema = "{type: 'object', properties: {a: " * levels + "{type: 'string'}" + "}}" * levels
    text = f"const tools = [{{ name: 't', description: 'd', inputSchema: {schema} }}];\n"
    with gaps.collecting() as found:
        tools = tools_in_file("s.js", FileEntry.of("s.js", text.encode()))
    assert [t.name for t in tools] == ["t"] and found == []
