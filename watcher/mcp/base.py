"""The `Tool` value (one MCP surface) shared by the per-language extractors."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

#: Runs of whitespace: a reformatted description (a template literal re-indented, a string
#: concatenation re-wrapped by a formatter) says the same thing to the model.
_WHITESPACE = re.compile(r"\s+")

#: The kinds of text a server puts in front of the model (SPEC §4.2 "MCP surfaces").
TOOL = "tool"
PROMPT = "prompt"
RESOURCE = "resource"
#: The server's `instructions` (sent once at initialization, read by the model as guidance).
INSTRUCTIONS = "instructions"
#: Fixed text a tool (or prompt, resource) handler returns to the model.
RESPONSE = "response"
KINDS = (TOOL, PROMPT, RESOURCE, INSTRUCTIONS, RESPONSE)

#: Reads a file of the artifact relative to another: (from_path, relative path) -> text or None.
#: Given to the extractors so a description loaded from `x.md` or imported from another module
#: is read from the same snapshot (never from disk, never by running anything).
Loader = Callable[[str, str], "str | None"]

#: Set while `tools.iter_surfaces` extracts a snapshot: the language extractors then return every
#: surface kind and read other files through it. Unset (a direct `js_tools(path, text)` call),
#: they return the file's tools only, resolved from its own text.
EXTRACTING: ContextVar[Loader | None] = ContextVar("watcher_mcp_extracting", default=None)


def normalize(text: str) -> str:
    """The text with whitespace runs collapsed, for comparing descriptions across releases."""
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Tool:
    """One MCP surface as a server declares it, read from a file of the artifact.

    Most are tools; `kind` says otherwise (a prompt, a resource, the server's instructions, or
    fixed text a handler returns). `name` is the tool's/prompt's name, a resource's name or URI,
    the server's name for instructions, and the tool's name (or "" when unknown) for a response.
    `description` is "" when there is none or it could not be resolved statically (e.g. it is
    computed at run time). `params` holds (parameter name, description) pairs in source order;
    `line` is 1-based and points at the name (or the declaration).

    Not compared (facts about the same declaration, not its identity): `optional` holds the
    parameters a caller may leave out, `sends` those the handler passes to a network call,
    `origin` the file a text was loaded from when it was not the declaring file.
    """

    name: str
    description: str
    params: tuple[tuple[str, str], ...]
    path: str
    line: int
    kind: str = TOOL
    optional: frozenset[str] = field(default=frozenset(), compare=False)
    sends: frozenset[str] = field(default=frozenset(), compare=False)
    origin: str | None = field(default=None, compare=False)

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the tool's parameters."""
        return frozenset(name for name, _ in self.params)


#: Another name for what `Tool` has become: any MCP surface.
Surface = Tool
