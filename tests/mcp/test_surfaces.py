"""MCP surfaces beyond tools (instructions, prompts, resources, returned text), and texts that
live in other files of the package (constants, imported modules, .md/.json/.txt read at load)."""

# ruff: noqa: E501

from __future__ import annotations

from watcher.mcp.base import INSTRUCTIONS, PROMPT, RESOURCE, RESPONSE, TOOL, Tool
from watcher.mcp.javascript import js_tools
from watcher.mcp.python import python_tools
from watcher.mcp.tools import dependents, iter_surfaces, iter_tools, snapshot_loader
from watcher.models import ArtifactKind, FileEntry, Snapshot


def snapshot(files: dict[str, str]) -> Snapshot:
    entries = {p: FileEntry.of(p, v.encode()) for p, v in files.items()}
    return Snapshot("x-1.0.0.tgz", ArtifactKind.NPM_TARBALL, entries)


def surfaces(files: dict[str, str]) -> dict[tuple[str, str], Tool]:
    return {(s.kind, s.name): s for s in iter_surfaces(snapshot(files))}


# --- JavaScript / TypeScript ------------------------------------------------------------------

JS_SERVER = """\
const server = new McpServer({ name: "notes", version: "1.0.0" }, { capabilities: {}, instructions: "Use search before read." });
server.prompt("review", "Review code", { code: z.string() }, h);
server.registerPrompt("summarize", { title: "S", description: "Summarize a note", argsSchema: { id: z.string() } }, h);
server.resource("config", "config://app", { description: "App config" }, h);
server.registerResource("readme", "file:///README.md", { title: "Readme", description: "The readme" }, h);
server.tool("ping", "Ping.", {}, async () => ({ content: [{ type: "text", text: "pong" }] }));
const fast = new FastMCP({ name: "fast", version: "1", instructions: `Prefer ${"small"} pages.` });
"""


def test_js_instructions_prompts_resources_and_returned_text() -> None:
    found = surfaces({"dist/index.js": JS_SERVER})
    assert found[(INSTRUCTIONS, "notes")].description == "Use search before read."
    assert found[(INSTRUCTIONS, "notes")].line == 1
    assert found[(INSTRUCTIONS, "fast")].description == "Prefer small pages."  # folded
    assert found[(PROMPT, "review")].description == "Review code"
    assert found[(PROMPT, "review")].params == (("code", ""),)
    assert found[(PROMPT, "summarize")].description == "Summarize a note"
    assert found[(PROMPT, "summarize")].params == (("id", ""),)
    assert found[(RESOURCE, "config")].description == "App config"
    assert found[(RESOURCE, "readme")].description == "The readme"
    assert found[(RESPONSE, "ping")].description == "pong"
    assert found[(TOOL, "ping")].description == "Ping."


def test_js_tools_alone_still_returns_tools_only() -> None:
    # Direct callers (and the rules' tool diff) see tools; surfaces come with a loader.
    assert {t.kind for t in js_tools("dist/index.js", JS_SERVER)} == {TOOL}


def test_js_text_from_imported_modules() -> None:
    files = {
        "dist/index.js": (
            '"use strict";\n'
            'const texts_1 = require("./texts");\n'
            'const { SEARCH } = require("./texts.js");\n'
            'server.tool("add", texts_1.ADD, {}, h);\n'
            'server.tool("search", SEARCH, {}, h);\n'
        ),
        "dist/texts.js": (
            '"use strict";\nexports.SEARCH = exports.ADD = void 0;\n'
            'exports.ADD = "Adds " + "two numbers.";\nexports.SEARCH = "Search notes.";\n'
        ),
        "src/index.ts": (
            'import * as T from "./texts.js";\nimport { BIG as B } from "./texts";\n'
            'import D from "./default";\n'
            'server.tool("t", T.X, {}, h);\nserver.tool("b", B, {}, h);\nserver.tool("d", D, {}, h);\n'
        ),
        "src/texts.ts": 'export const X = "X text";\nexport const BIG = `big text`;\n',
        "src/default.ts": 'export default "Default text";\n',
    }
    tools = {(t.path, t.name): t for t in iter_tools(snapshot(files))}
    assert tools[("dist/index.js", "add")].description == "Adds two numbers."
    assert tools[("dist/index.js", "add")].origin == "dist/texts.js"
    assert tools[("dist/index.js", "search")].description == "Search notes."
    assert tools[("src/index.ts", "t")].description == "X text"
    assert tools[("src/index.ts", "b")].description == "big text"
    assert tools[("src/index.ts", "d")].description == "Default text"


def test_js_text_and_schemas_from_files_read_at_load() -> None:
    files = {
        "dist/index.js": (
            'const fs = require("fs"); const path = require("path");\n'
            'server.tool("a", fs.readFileSync(path.join(__dirname, "..", "docs", "a.md"), "utf8"), {}, h);\n'
            'server.tool("b", readFileSync(new URL("./b.txt", import.meta.url), "utf-8").trim(), {}, h);\n'
            'server.registerTool("c", { description: "C", inputSchema: JSON.parse(fs.readFileSync(path.join(__dirname, "c.json"), "utf8")) }, h);\n'
        ),
        "docs/a.md": "A from markdown.",
        "dist/b.txt": "B from text.",
        "dist/c.json": '{"type": "object", "properties": {"q": {"type": "string", "description": "Query"}}, "required": []}',
        "src/index.ts": 'import desc from "./d.md?raw";\nimport schema from "./s.json" with { type: "json" };\nserver.registerTool("d", { description: desc, inputSchema: schema }, h);\n',
        "src/d.md": "D from a raw import.",
        "src/s.json": '{"type": "object", "properties": {"x": {"type": "string", "description": "X"}}, "required": ["x"]}',
    }
    tools = {t.name: t for t in iter_tools(snapshot(files))}
    assert tools["a"].description == "A from markdown."
    assert tools["a"].origin == "docs/a.md"
    assert tools["b"].description == "B from text."
    assert tools["c"].params == (("q", "Query"),)
    assert tools["c"].optional == frozenset({"q"})
    assert tools["d"].description == "D from a raw import."
    assert tools["d"].params == (("x", "X"),)
    assert tools["d"].optional == frozenset()


def test_js_optional_and_sent_parameters() -> None:
    source = (
        'server.tool("s", "S", { q: z.string(), key: z.string().optional(), n: z.number().default(5) },\n'
        '  async ({ q, key }) => fetch("https://api.example.com/s?q=" + q, { headers: { k: key } }));\n'
    )
    (tool,) = [t for t in js_tools("a.js", source) if t.kind == TOOL]
    assert tool.optional == frozenset({"key", "n"})
    assert tool.sends == frozenset({"q", "key"})


def test_loader_stays_inside_the_snapshot() -> None:
    load = snapshot_loader(snapshot({"a/b.md": "B", "docs/x.md": "X", "c/x.md": "X2"}).files)
    assert load("a/index.js", "b.md") == "B"
    assert load("a/index.js", "../../etc/passwd") is None
    assert load("a/index.js", "/etc/passwd") is None
    assert load("", "b.md") == "B"  # a root-relative path found by its unique suffix
    assert load("", "x.md") is None  # ambiguous: two files end with it
    assert load("a/index.js", "./missing.md") is None


def test_dependents_of_a_changed_text_file() -> None:
    snap = snapshot(
        {
            "dist/index.js": 'server.tool("a", readFileSync(join(__dirname, "about.md")), {}, h);',
            "dist/other.js": 'server.tool("b", "B", {}, h);',
            "dist/about.md": "A",
        }
    )
    assert dependents(snap, ["dist/about.md"]) == {"dist/index.js"}
    assert dependents(snap, ["package.json"]) == set()


def test_javascript_dependents_name_the_module_by_path() -> None:
    """A changed `version.js` is read by the file that requires `./version.js`, not by every
    file saying "version"; a changed `lib/index.js` by the file that requires `./lib`."""
    snap = snapshot(
        {
            "dist/version.js": "exports.VERSION = '1.0.1';",
            "dist/lib/index.js": "exports.DESC = 'Lists notes';",
            "dist/server.js": 'const {VERSION} = require("./version.js"); server.tool("v", h);',
            "dist/tools.js": 'const {DESC} = require("./lib"); server.tool("n", DESC, h);',
            "dist/bundle.js": 'server.tool("b", "print the version and index", h);',
        }
    )
    assert dependents(snap, ["dist/version.js"]) == {"dist/server.js"}
    assert dependents(snap, ["dist/lib/index.js"]) == {"dist/tools.js"}


# --- Python -----------------------------------------------------------------------------------

PY_SERVER = '''\
from pathlib import Path
import importlib.resources, pkgutil, os
from mcp.server.fastmcp import FastMCP
from .texts import DESC
HERE = Path(__file__).resolve().parent
mcp = FastMCP("py", instructions=(HERE / "prompts" / "instructions.md").read_text())

@mcp.tool(description=DESC)
def a(x: str, api_key: str | None = None) -> str:
    requests.get("https://api.example.com", headers={"k": api_key})
    return "Fixed text to the model"

@mcp.tool(description=importlib.resources.files(__package__).joinpath("b.md").read_text())
def b() -> str: ...

@mcp.tool(description=pkgutil.get_data(__name__, "c.txt").decode())
def c() -> str: ...

@mcp.tool(description=open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "b.md")).read())
def d() -> str: ...

@mcp.prompt()
def review(code: str) -> str:
    """Review code."""
    return f"Please review {code}"

@mcp.resource("config://app")
def cfg() -> str:
    """App configuration."""
    return "{}"

@server.call_tool()
async def call(name, arguments):
    return [TextContent(type="text", text="Done.")]
'''


def test_python_surfaces_and_files_read_at_load() -> None:
    found = surfaces(
        {
            "srv/server.py": PY_SERVER,
            "srv/texts.py": 'DESC = "Desc from " "the texts module."\n',
            "srv/prompts/instructions.md": "Python instructions.",
            "srv/b.md": "B from md.",
            "srv/c.txt": "C from txt.",
        }
    )
    assert found[(INSTRUCTIONS, "py")].description == "Python instructions."
    assert found[(INSTRUCTIONS, "py")].origin == "srv/prompts/instructions.md"
    assert found[(TOOL, "a")].description == "Desc from the texts module."
    assert found[(TOOL, "a")].origin == "srv/texts.py"
    assert found[(TOOL, "c")].origin == "srv/c.txt"
    assert found[(PROMPT, "review")].origin is None
    assert found[(TOOL, "a")].optional == frozenset({"api_key"})
    assert found[(TOOL, "a")].sends == frozenset({"api_key"})
    assert found[(RESPONSE, "a")].description == "Fixed text to the model"
    assert found[(TOOL, "b")].description == "B from md."
    assert found[(TOOL, "c")].description == "C from txt."
    assert found[(TOOL, "d")].description == "B from md."
    assert found[(PROMPT, "review")].description == "Review code."
    assert found[(PROMPT, "review")].params == (("code", ""),)
    assert found[(RESPONSE, "review")].description == "Please review {…}"
    assert found[(RESOURCE, "config://app")].description == "App configuration."
    assert found[(RESPONSE, "")].description == "Done."


def test_python_tools_alone_is_unchanged_and_import_cycles_end() -> None:
    assert {t.kind for t in python_tools("srv/server.py", PY_SERVER)} == {TOOL}
    found = surfaces(
        {
            "pkg/a.py": "from .b import X\n@mcp.tool(description=X)\ndef a(): ...\n",
            "pkg/b.py": "from .a import X\n",
        }
    )
    assert found[(TOOL, "a")].description == ""


def test_python_absolute_import_of_the_package_own_module_in_a_src_layout() -> None:
    found = surfaces(
        {
            "src/weather/server.py": "from weather.texts import D\n@mcp.tool(description=D)\ndef w(): ...\n",
            "src/weather/texts.py": 'D = "Weather."\n',
        }
    )
    assert found[(TOOL, "w")].description == "Weather."


def test_dxt_manifest_prompts_and_their_text() -> None:
    manifest = """{
  "dxt_version": "0.1",
  "tools": [{"name": "search", "description": "Search."}],
  "prompts": [
    {"name": "triage", "description": "Triage an issue", "arguments": [{"name": "issue", "description": "Issue id"}],
     "text": "Triage issue ${arguments.issue}."}
  ]
}"""
    found = surfaces({"manifest.json": manifest})
    assert found[(TOOL, "search")].description == "Search."
    assert found[(PROMPT, "triage")].description == "Triage an issue"
    assert found[(PROMPT, "triage")].params == (("issue", "Issue id"),)
    assert found[(PROMPT, "triage")].line == 5
    assert found[(RESPONSE, "triage")].description == "Triage issue ${arguments.issue}."
    assert [t.name for t in iter_tools(snapshot({"manifest.json": manifest}))] == ["search"]
