"""The commands a `binding.gyp` makes node-gyp run: action lines and `<!(…)` expansions.

A gyp file is a Python literal (comments allowed). gyp runs `<!(cmd)` and `<!@(cmd)` while it
merely reads the file, and each action's `action` list when the build runs: both are
install-time commands. `includes` pull in `.gypi` files with the same powers.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

#: Larger gyp files are read by the text fallback only (ast.literal_eval builds the whole tree).
MAX_GYP_BYTES = 512 * 1024
_EXPANSION = re.compile(r"<!@?\(")
_PAREN = re.compile(r"[()]")
_VARIABLE = re.compile(r"^<@?\(([\w-]+)\)$")
#: Text fallback: `'action': [ ... ]` with its quoted words.
_ACTION_TEXT = re.compile(r"""['"]action['"]\s*:\s*\[([^\]]{0,4000})\]""")
#: Command text read per gyp file: overlapping `<!(<!(<!(…` must not cost quadratic time.
MAX_COMMAND_BYTES = 64 * 1024
#: How far an expansion's closing parenthesis is looked for (bounds the scan per `<!(`).
MAX_EXPANSION = 4000
_QUOTED = re.compile(r"""'([^'\n]*)'|"([^"\n]*)\"""")


@dataclass(frozen=True, slots=True)
class GypCommands:
    """What one gyp file runs; `parsed` is False when the text fallback had to read it."""

    commands: tuple[str, ...]
    includes: tuple[str, ...]
    parsed: bool
    #: More command text than `MAX_COMMAND_BYTES`: the rest was not read.
    truncated: bool = False


def _expansions(text: str, budget: list[int]) -> Iterator[str]:
    """The commands inside every `<!(…)`/`<!@(…)` of a string, parentheses balanced.

    `budget` (one mutable count of characters) bounds the scanning of the whole file:
    overlapping, unclosed expansions (`<!(<!(<!(…`) must not cost quadratic time.
    """
    for match in _EXPANSION.finditer(text):
        if budget[0] <= 0:
            return
        depth, start = 1, match.end()
        stop = min(len(text), start + MAX_EXPANSION, start + budget[0])
        end = stop
        for paren in _PAREN.finditer(text, start, stop):
            depth += 1 if paren.group() == "(" else -1
            if depth == 0:
                end = paren.start()
                break
        budget[0] -= end - start + 1
        yield text[start:end]


def _word(word: str) -> str:
    """An action word with gyp's `<(python)`-style variables turned into the program they name."""
    match = _VARIABLE.match(word)
    if match is not None:
        name = match.group(1)
        return "python" if "python" in name else ("node" if "node" in name else word)
    return word


def _argv_line(argv: list[object]) -> str:
    return shlex.join(_word(str(w)) for w in argv if isinstance(w, str))


def _walk(
    value: object, commands: list[str], includes: list[str], budget: list[int], depth: int = 0
) -> None:
    if depth > 200 or budget[0] <= 0:
        return
    if isinstance(value, str):
        commands.extend(_expansions(value, budget))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "action" and isinstance(item, list):
                commands.append(_argv_line(item))
            if key == "includes" and isinstance(item, list):
                includes.extend(i for i in item if isinstance(i, str))
            if isinstance(key, str):
                commands.extend(_expansions(key, budget))
            _walk(item, commands, includes, budget, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, commands, includes, budget, depth + 1)


def gyp_commands(text: str) -> GypCommands:
    """The commands and includes of one gyp file's text."""
    commands: list[str] = []
    includes: list[str] = []
    parsed = False
    budget = [MAX_COMMAND_BYTES]
    if len(text) <= MAX_GYP_BYTES:
        try:
            tree = ast.literal_eval(text)
        # Not a literal (or too deep for the parser): the text fallback below still finds the
        # commands, and the caller reports that this file was not fully read.
        # not a gap: recorded by the caller, which knows the file's hash
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            pass
        else:
            _walk(tree, commands, includes, budget)
            parsed = True
    if not parsed:
        commands.extend(_expansions(text, budget))
        for match in _ACTION_TEXT.finditer(text):
            if budget[0] <= 0:
                break
            budget[0] -= len(match.group(0))
            words = [a or b for a, b in _QUOTED.findall(match.group(1))]
            commands.append(_argv_line(list(words)))
    kept: list[str] = []
    total = 0
    for command in commands:
        total += len(command)
        if total > MAX_COMMAND_BYTES:
            break
        kept.append(command)
    truncated = total > MAX_COMMAND_BYTES or budget[0] <= 0
    return GypCommands(tuple(kept), tuple(includes), parsed, truncated)


def include_path(gyp_path: str, include: str) -> str:
    """An `includes` entry as an archive path (relative to the including file)."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(gyp_path), include))
