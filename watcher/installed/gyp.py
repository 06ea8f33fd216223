"""The commands a `binding.gyp` makes node-gyp run: action lines and `<!(…)` expansions.

A gyp file is a Python literal (comments allowed). gyp runs `<!(cmd)` and `<!@(cmd)` while it
merely reads the file, and each action's `action` list when the build runs: both are
install-time commands. `includes` pull in `.gypi` files with the same powers.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

#: Larger gyp files are read by the text fallback only (ast.literal_eval builds the whole tree).
MAX_GYP_BYTES = 512 * 1024
_EXPANSION = re.compile(r"<!@?\(")
_VARIABLE = re.compile(r"^<@?\(([\w-]+)\)$")
#: Text fallback: `'action': [ ... ]` with its quoted words.
_ACTION_TEXT = re.compile(r"""['"]action['"]\s*:\s*\[([^\]]*)\]""")
_QUOTED = re.compile(r"""'([^'\n]*)'|"([^"\n]*)\"""")


@dataclass(frozen=True, slots=True)
class GypCommands:
    """What one gyp file runs; `parsed` is False when the text fallback had to read it."""

    commands: tuple[str, ...]
    includes: tuple[str, ...]
    parsed: bool


def _expansions(text: str) -> Iterator[str]:
    """The commands inside every `<!(…)`/`<!@(…)` of a string, parentheses balanced."""
    for match in _EXPANSION.finditer(text):
        depth, start = 1, match.end()
        for index in range(start, len(text)):
            char = text[index]
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    yield text[start:index]
                    break
        else:
            yield text[start:]


def _word(word: str) -> str:
    """An action word with gyp's `<(python)`-style variables turned into the program they name."""
    match = _VARIABLE.match(word)
    if match is not None:
        name = match.group(1)
        return "python" if "python" in name else ("node" if "node" in name else word)
    return word


def _argv_line(argv: list[object]) -> str:
    import shlex

    return shlex.join(_word(str(w)) for w in argv if isinstance(w, str))


def _walk(value: object, commands: list[str], includes: list[str], depth: int = 0) -> None:
    if depth > 200:
        return
    if isinstance(value, str):
        commands.extend(_expansions(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "action" and isinstance(item, list):
                commands.append(_argv_line(item))
            if key == "includes" and isinstance(item, list):
                includes.extend(i for i in item if isinstance(i, str))
            if isinstance(key, str):
                commands.extend(_expansions(key))
            _walk(item, commands, includes, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, commands, includes, depth + 1)


def gyp_commands(text: str) -> GypCommands:
    """The commands and includes of one gyp file's text."""
    commands: list[str] = []
    includes: list[str] = []
    if len(text) <= MAX_GYP_BYTES:
        try:
            tree = ast.literal_eval(text)
        # Not a literal (or too deep for the parser): the text fallback below still finds the
        # commands, and the caller reports that this file was not fully read.
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            pass
        else:
            _walk(tree, commands, includes)
            return GypCommands(tuple(commands), tuple(includes), True)
    commands.extend(_expansions(text))
    for match in _ACTION_TEXT.finditer(text):
        words = [a or b for a, b in _QUOTED.findall(match.group(1))]
        commands.append(_argv_line(list(words)))
    return GypCommands(tuple(commands), tuple(includes), False)


def include_path(gyp_path: str, include: str) -> str:
    """An `includes` entry as an archive path (relative to the including file)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(gyp_path), include))
