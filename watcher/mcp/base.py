"""The `Tool` value shared by the per-language extractors."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Runs of whitespace: a reformatted description (a template literal re-indented, a string
#: concatenation re-wrapped by a formatter) says the same thing to the model.
_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """The text with whitespace runs collapsed, for comparing descriptions across releases."""
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class Tool:
    """One MCP tool as a server declares it, read from a file of the artifact.

    `description` is "" when the tool has none or it could not be resolved statically (e.g. it
    is computed at run time). `params` holds (parameter name, description) pairs in source order;
    `line` is 1-based and points at the tool's name (or its declaration).
    """

    name: str
    description: str
    params: tuple[tuple[str, str], ...]
    path: str
    line: int

    @property
    def param_names(self) -> frozenset[str]:
        """The names of the tool's parameters."""
        return frozenset(name for name, _ in self.params)
