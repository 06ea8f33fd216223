"""The MCP surfaces an artifact declares, read statically from its JS/TS, Python and JSON files.

`extract_tools(snapshot)` gives one `Tool` per name; `iter_tools` gives every tool declaration (a
TypeScript package ships the same tool in `src/` and `dist/`, and the two can differ, which is
itself worth seeing); `iter_surfaces` gives every surface (tools, prompts, resources, server
instructions, fixed text returned to the model). `paths` restricts the work to some files: the
rules pass only what a release added or changed (and the files that read those: `dependents`),
so unchanged code costs nothing.

Texts may live in other files of the package (an imported module, a `.md` read at load): the
extractors read them through a `Loader` over the same snapshot, never from disk.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from watcher import gaps
from watcher.mcp.base import EXTRACTING, PROMPT, RESPONSE, TOOL, Loader, Tool, normalize
from watcher.mcp.javascript import js_tools
from watcher.mcp.python import python_surfaces
from watcher.models import FileEntry, Snapshot

__all__ = [
    "Tool",
    "dependents",
    "extract_tools",
    "is_candidate",
    "may_declare",
    "iter_surfaces",
    "iter_tools",
    "normalize",
    "snapshot_loader",
    "tools_in_file",
]

#: File names of JSON manifests that list tools (DXT/MCPB `manifest.json`, the MCP registry's
#: `server.json`, ad-hoc `mcp.json`).
MANIFEST_NAMES = frozenset({"manifest.json", "server.json", "mcp.json"})
#: Literals every recognised declaration contains (`tool(`, `registerTool(`, `Tool(`, `tools:`,
#: `prompt(`, `resource(`, `instructions`, `@mcp.prompt`); returned text is read only in files
#: that have one.
#: Plain `prompt`/`resource`/`text` would send most of any package to the parsers.
PREFILTER: tuple[bytes, ...] = (b"tool", b"Tool", b"prompt(", b"Prompt(", b"resource(")
PREFILTER += (b"Resource(", b"instructions", b"mcp.", b"MCP(", b'"prompts"')
#: What the Python extractor (`watcher.mcp.python`) needs to find anything: a `.tool`,
#: `.prompt` or `.resource` decorator, a `Tool(...)` call, server `instructions`, `TextContent`,
#: a dict with a quoted schema key, a member fetched by name (`getattr(mcp, "tool")`), or the
#: FastMCP server itself. Whole words: `functools` and `setuptools` hold "tool", and would send
#: most of any Python package to the parser.
_PY_NEEDLES = re.compile(
    rb"\.[ \t\r\n\\]*(?:tool|prompt|resource)(?![A-Za-z0-9_])"
    rb"|(?<![A-Za-z0-9_])(?:Tool|TextContent|instructions|FastMCP)(?![A-Za-z0-9_])"
    rb"|[\"'](?:inputSchema|input_schema|tool|prompt|resource)[\"']"
)
#: Text files a server reads at load for its descriptions (and the size it may read of one).
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".json", ".prompt", ".html")
MAX_LOADED_BYTES = 1024 * 1024
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
    kind = _kind(path)
    if kind is None or entry.is_binary or entry.size > MAX_SOURCE_BYTES:
        return False
    if kind == "py":
        return _PY_NEEDLES.search(entry.data) is not None
    return any(needle in entry.data for needle in PREFILTER)


def may_declare(path: str, text: str) -> bool:
    """Whether this text (one line, or any excerpt of the file at `path`) holds what a
    declaration needs: the same prefilter as `is_candidate`, on text."""
    data = text.encode("utf-8", errors="surrogatepass")
    if _kind(path) == "py":
        return _PY_NEEDLES.search(data) is not None
    return any(needle in data for needle in PREFILTER)


def snapshot_loader(files: Mapping[str, FileEntry]) -> Loader:
    """A `Loader` over a snapshot's files: `relative` is read from `from_path`'s folder (""
    for the package root); when no file is there, the one file whose path ends with it (a
    path relative to the working directory, a `src/` layout; never for `./x`). Binary and large
    files, and paths leaving the root, read as None."""
    by_suffix: dict[str, list[str]] = {}

    def load(from_path: str, relative: str) -> str | None:
        if relative.startswith("/") or "\0" in relative:
            return None
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), relative))
        entry = files.get(joined) if not joined.startswith("..") else None
        if entry is None:
            # `./x` and `../x` are relative to the module, and nothing else.
            tail = posixpath.normpath(relative)
            if relative.startswith(".") or tail.startswith(".") or tail == ".":
                return None
            if not by_suffix:
                for path in files:
                    by_suffix.setdefault(posixpath.basename(path), []).append(path)
            matches = [
                p
                for p in by_suffix.get(posixpath.basename(tail), [])
                if p == tail or p.endswith("/" + tail)
            ]
            entry = files.get(matches[0]) if len(matches) == 1 else None
        if entry is None or entry.is_binary or entry.size > MAX_LOADED_BYTES:
            return None
        return entry.text

    return load


@contextmanager
def _loading(loader: Loader) -> Iterator[None]:
    token = EXTRACTING.set(loader)
    try:
        yield
    finally:
        EXTRACTING.reset(token)


def tools_in_file(path: str, entry: FileEntry) -> list[Tool]:
    """Every surface one file declares, in source order ([] for files that cannot declare any).

    Inside `iter_surfaces`, texts in other files of the snapshot are resolved too.
    """
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
            tools = python_surfaces(path, text)
        else:
            tools = json_tools(path, text)
    for gap in found:
        gaps.record(gap.reason, gap.path or path, entry.sha256, gap.artifact)
    return tools


def iter_surfaces(snapshot: Snapshot, paths: Iterable[str] | None = None) -> Iterator[Tool]:
    """Every surface declared in the snapshot (or in `paths` of it), file by file in path order."""
    selected = sorted(snapshot.files if paths is None else set(paths))
    loader = snapshot_loader(snapshot.files)
    for path in selected:
        entry = snapshot.files.get(path)
        if entry is not None:
            with _loading(loader):
                found = tools_in_file(path, entry)
            yield from found


def iter_tools(snapshot: Snapshot, paths: Iterable[str] | None = None) -> Iterator[Tool]:
    """Every tool declaration in the snapshot (or in `paths` of it), file by file in path order."""
    return (s for s in iter_surfaces(snapshot, paths) if s.kind == TOOL)


def dependents(snapshot: Snapshot, changed: Iterable[str]) -> set[str]:
    """Unchanged source files that may read a changed one (import it, or load it as text): a
    description kept in `tools.md` or `texts.py` changes what `index.js` declares.

    A prefilter on how each kind of file is named where it is read (one pass over each
    unchanged file, whatever the number of changed files); the extractors then decide:
    a Python module by its word (`from .texts import`, `from . import texts`), a JavaScript
    module by the last component of a quoted path (`'./version.js'`, `"../lib"` for
    `lib/index.js`), a text file by its file name (`"about.md"`, `'../package.json'`). A bare
    word would match every file that says "index", "version" or "package".
    """
    changed = set(changed)
    words: set[bytes] = set()
    paths: set[bytes] = set()
    names: set[bytes] = set()
    for path in changed:
        base = posixpath.basename(path)
        stem = posixpath.splitext(base)[0]
        kind = _kind(path)
        if kind not in ("js", "py"):
            if base.endswith(TEXT_SUFFIXES) and base not in MANIFEST_NAMES:
                names.add(base.encode())
            continue
        if stem == "index" and kind == "js":  # `./lib/index.js`, and `./lib` below
            paths.add(stem.encode())
        if stem in ("__init__", "index"):  # named by its folder
            stem = posixpath.basename(posixpath.dirname(path))
        if len(stem) >= 3:
            (paths if kind == "js" else words).add(stem.encode())
    if not words and not paths and not names:
        return set()
    found = set()
    for path, entry in snapshot.files.items():
        if path in changed or _kind(path) not in ("js", "py") or not is_candidate(path, entry):
            continue
        data = entry.data
        if (
            (words and not words.isdisjoint(_WORD.findall(data)))
            or (paths and not paths.isdisjoint(_PATH_WORD.findall(data)))
            or (names and not names.isdisjoint(_FILE_NAME.findall(data)))
        ):
            found.add(path)
    return found


#: Words of a source file, as a Python module is named (`texts`, `save_note`).
_WORD = re.compile(rb"[A-Za-z0-9_$-]+")
#: The last component of a quoted module path (`version` in `'./version.js'`, `lib` in
#: `"../lib"`): a URL or a comment that mentions `/version/` names no module.
_PATH_WORD = re.compile(rb"/([A-Za-z0-9_$-]+)(?:\.[cm]?[jt]sx?|\.json)?[\"'`]")
#: File names of text files a source file may load (`tools.md`, `package.json`).
#: Tried only where a run of name characters starts, so a long run costs one pass.
_FILE_NAME = re.compile(
    rb"(?<![A-Za-z0-9_$.-])[A-Za-z0-9_$.-]+\.(?:md|markdown|txt|json|prompt|html)(?![A-Za-z0-9])"
)


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
    """Tools listed in a manifest's top-level `tools` array, and (DXT/MCPB) its `prompts`
    with their descriptions and template text ([] if it is not such JSON)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # not a gap: not a manifest npm or an MCP client reads
        return []
    listed = data.get("tools") if isinstance(data, dict) else None
    prompts = data.get("prompts") if isinstance(data, dict) else None
    found = _json_prompts(path, text, prompts) if isinstance(prompts, list) else []
    if not isinstance(listed, list):
        return found
    return _json_tools(path, text, listed) + found


def _json_prompts(path: str, text: str, listed: list[Any]) -> list[Tool]:
    found, offset = [], 0
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            continue
        line, offset = _json_line(text, item["name"], offset)
        description = item.get("description")
        arguments = item.get("arguments")
        params = tuple(
            (str(a["name"]), str(a.get("description") or ""))
            for a in (arguments if isinstance(arguments, list) else [])
            if isinstance(a, dict) and isinstance(a.get("name"), str)
        )
        described = description if isinstance(description, str) else ""
        found.append(Tool(item["name"], described, params, path, line, PROMPT))
        if isinstance(item.get("text"), str) and item["text"].strip():
            found.append(Tool(item["name"], item["text"], (), path, line, RESPONSE))
    return found


def _json_tools(path: str, text: str, listed: list[Any]) -> list[Tool]:
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
