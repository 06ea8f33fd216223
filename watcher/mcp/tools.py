"""The MCP tools an artifact declares, read statically from its JS/TS, Python and JSON files.

`extract_tools(snapshot)` gives one `Tool` per name; `iter_tools` gives every declaration (a
TypeScript package ships the same tool in `src/` and `dist/`, and the two can differ, which is
itself worth seeing). `paths` restricts the work to some files: the rules pass only what a
release added or changed, so unchanged code costs nothing.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator
from typing import Any

from watcher import gaps
from watcher.mcp.base import Tool, normalize
from watcher.mcp.javascript import js_tools
from watcher.mcp.python import python_tools
from watcher.models import FileEntry, Snapshot

__all__ = ["Tool", "extract_tools", "is_candidate", "iter_tools", "normalize", "tools_in_file"]

#: File names of JSON manifests that list tools (DXT/MCPB `manifest.json`, the MCP registry's
#: `server.json`, ad-hoc `mcp.json`).
MANIFEST_NAMES = frozenset({"manifest.json", "server.json", "mcp.json"})
#: Literals every recognised declaration contains (`tool(`, `registerTool(`, `Tool(`, `tools:`).
PREFILTER = (b"tool", b"Tool")
#: Files larger than this are not tokenized: a bundle this size would cost seconds, and the
#: line-based code rules still see every line it adds.
MAX_SOURCE_BYTES = 8 * 1024 * 1024
#: JavaScript/TypeScript sources (as `watcher.rules.text.is_js`, which this package cannot import:
#: `watcher.rules` imports this package for its MCP rules).
_JS_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")
#: Tools declared in tests, examples' fixtures or type declarations are never served.
_NOT_SERVED = re.compile(
    r"(^|/)(tests?|__tests__|__mocks__|spec)/|\.(test|spec)\.[cm]?[jt]sx?$|(^|/)test_[^/]*\.py$"
    r"|_test\.py$|\.d\.[cm]?ts$"
)


def _kind(path: str) -> str | None:
    """ "js", "py" or "json" for a file that may declare tools, else None."""
    if _NOT_SERVED.search(path):
        return None
    if path.endswith(_JS_SUFFIXES):
        return "js"
    if path.endswith((".py", ".pyw")):
        return "py"
    if posixpath.basename(path) in MANIFEST_NAMES:
        return "json"
    return None


def is_candidate(path: str, entry: FileEntry) -> bool:
    """Whether a file is worth extracting: a source/manifest kind, text, and a prefilter hit."""
    return (
        _kind(path) is not None
        and not entry.is_binary
        and entry.size <= MAX_SOURCE_BYTES
        and any(needle in entry.data for needle in PREFILTER)
    )


def tools_in_file(path: str, entry: FileEntry) -> list[Tool]:
    """Every tool one file declares, in source order ([] for files that cannot declare any)."""
    if not is_candidate(path, entry):
        return []
    kind = _kind(path)
    text = entry.text
    # The extractors record what they could not read; the gaps carry the content hash so the
    # same file incomplete in the pinned release is not news.
    with gaps.collecting() as found:
        if kind == "js":
            tools = js_tools(path, text)
        elif kind == "py":
            tools = python_tools(path, text)
        else:
            tools = json_tools(path, text)
    for gap in found:
        gaps.record(gap.reason, gap.path or path, entry.sha256, gap.artifact)
    return tools


def iter_tools(snapshot: Snapshot, paths: Iterable[str] | None = None) -> Iterator[Tool]:
    """Every tool declaration in the snapshot (or in `paths` of it), file by file in path order."""
    selected = sorted(snapshot.files if paths is None else set(paths))
    for path in selected:
        entry = snapshot.files.get(path)
        if entry is not None:
            yield from tools_in_file(path, entry)


def extract_tools(snapshot: Snapshot, paths: Iterable[str] | None = None) -> dict[str, Tool]:
    """The snapshot's tools by name; where a name is declared twice, the first in path order."""
    tools: dict[str, Tool] = {}
    for tool in iter_tools(snapshot, paths):
        tools.setdefault(tool.name, tool)
    return tools


# --- JSON manifests ---------------------------------------------------------------------------


def _json_line(text: str, name: str, after: int) -> tuple[int, int]:
    """(1-based line, offset) of the tool's `"name"` value, searching from offset `after`."""
    for needle in (json.dumps(name, ensure_ascii=False), json.dumps(name)):
        at = text.find(needle, after)
        if at >= 0:
            return text.count("\n", 0, at) + 1, at + len(needle)
    return 1, after


def _schema_params(schema: Any) -> tuple[tuple[str, str], ...]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return ()
    params = []
    for name, prop in properties.items():
        description = prop.get("description") if isinstance(prop, dict) else None
        params.append((str(name), description if isinstance(description, str) else ""))
    return tuple(params)


def json_tools(path: str, text: str) -> list[Tool]:
    """Tools listed in a manifest's top-level `tools` array ([] if it is not such JSON)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not a gap: not a tools manifest npm or MCP reads
        return []
    listed = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return []
    tools, offset = [], 0
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            continue
        description = item.get("description")
        schema = item.get("inputSchema", item.get("input_schema"))
        line, offset = _json_line(text, item["name"], offset)
        tools.append(
            Tool(
                item["name"],
                description if isinstance(description, str) else "",
                _schema_params(schema),
                path,
                line,
            )
        )
    return tools
