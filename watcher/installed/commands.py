"""What a shell command line runs: the files and inline code behind an npm script or a gyp action.

Simple but robust: `&&`, `||`, `;`, `|`, `&`, newlines, subshells and `$(…)` split commands;
environment assignments and wrappers (`env`, `cross-env`, `exec`, `nohup`) are skipped; `cd`
moves the directory later commands resolve from. Quoting follows POSIX (`shlex`); a line that
does not tokenize is split on whitespace instead, so a broken quote cannot hide a command.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class RunKind(StrEnum):
    """What a command starts."""

    #: A file run by node (`node x`, `node -r x`, or a `./x` whose shebang says node).
    NODE_FILE = "node-file"
    #: Inline JavaScript (`node -e '…'`, `node -p '…'`).
    NODE_CODE = "node-code"
    #: A module preloaded by node by specifier (`node -r ./hook`, `--import`).
    NODE_MODULE = "node-module"
    SHELL_FILE = "shell-file"
    PYTHON_FILE = "python-file"
    PYTHON_CODE = "python-code"
    PYTHON_MODULE = "python-module"
    #: A path executed directly (`./x`): its shebang or magic decides how.
    EXEC_FILE = "exec-file"
    #: `npm run x`: another script of the same package.
    NPM_SCRIPT = "npm-script"
    #: `node-gyp rebuild` and the tools that fall back to it: binding.gyp runs.
    GYP = "gyp"
    #: A package binary (`npx x`, or a bare command): the package's own `bin` when it has one.
    BIN = "bin"


@dataclass(frozen=True, slots=True)
class Run:
    """One thing a command line runs, with the directory it resolves from."""

    kind: RunKind
    #: A path (relative to `cwd`), inline code, a module name, a script or bin name.
    target: str
    cwd: str = ""


_NODES = frozenset({"node", "nodejs", "node.exe", "tsx", "ts-node", "bun", "deno"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash"})
_PYTHONS = re.compile(r"^(?:python[0-9.]*|py|pypy[0-9.]*)(?:\.exe)?$")
_WRAPPERS = frozenset({"env", "cross-env", "exec", "nohup", "time", "command", "sudo", "nice"})
_GYP_TOOLS = frozenset({"node-gyp", "node-gyp-build", "node-pre-gyp", "cmake-js", "prebuildify"})
_SHELL_WORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}"})
_OPERATORS = frozenset({"&&", "||", ";", "|", "&", "(", ")", ";;", "|&", "\n"})
#: node options that take the next word as their value.
_NODE_VALUE_OPTIONS = frozenset({"--input-type", "--conditions", "-C", "--title", "--env-file"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
#: Cap on nested `sh -c`/`$(…)` levels: a script quoting itself must not recurse forever.
MAX_DEPTH = 8


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    # An unbalanced quote: the shell would refuse the line, but the words still say what it meant.
    except ValueError:  # not a gap: the words are still read
        return line.replace('"', " ").replace("'", " ").split()


def _commands(text: str) -> Iterator[list[str]]:
    for line in text.splitlines() or [text]:
        current: list[str] = []
        for token in _tokens(line):
            if token in _OPERATORS or set(token) <= set(";&|()"):
                if current:
                    yield current
                current = []
            else:
                current.append(token)
        if current:
            yield current


def command_words(text: str) -> list[list[str]]:
    """The simple commands of a command line, each as its words (operators split them)."""
    return list(_commands(text))


def parse_command(text: str, cwd: str = "", depth: int = 0) -> Iterator[Run]:
    """Everything a command line (or a whole shell script) runs, in order."""
    if depth > MAX_DEPTH:
        return
    for match in _SUBSTITUTION.finditer(text):
        yield from parse_command(match.group(1) or match.group(2) or "", cwd, depth + 1)
    for words in _commands(text):
        while words and (
            _ASSIGNMENT.match(words[0]) or words[0] in _WRAPPERS or words[0] in _SHELL_WORDS
        ):
            words = words[1:]
        if not words:
            continue
        head, args = words[0], words[1:]
        if head == "cd":
            target = args[0] if args else ""
            cwd = "" if target.startswith(("/", "~")) else _join(cwd, target)
            continue
        yield from _one(head, args, cwd, depth)


def _join(cwd: str, path: str) -> str:
    joined = posixpath.normpath(posixpath.join(cwd, path)) if path else cwd
    return "" if joined in (".", "") else joined


def _one(head: str, args: list[str], cwd: str, depth: int) -> Iterator[Run]:
    name = head.rsplit("/", 1)[-1]
    if name in _NODES:
        yield from _node(args, cwd)
    elif name in _SHELLS:
        yield from _shell(args, cwd, depth)
    elif _PYTHONS.match(name):
        yield from _python(args, cwd)
    elif name in ("npm", "yarn", "pnpm", "bun") and args:
        rest = args[1:] if args[0] in ("run", "run-script", "exec") else args
        if rest and not rest[0].startswith("-"):
            yield Run(RunKind.NPM_SCRIPT, rest[0], cwd)
    elif name in ("npx", "pnpx"):
        rest = [a for a in args if not a.startswith("-")]
        if rest:
            yield from _one(rest[0], rest[1:], cwd, depth)
    elif name in _GYP_TOOLS or name == "prebuild-install":
        if name != "prebuild-install" or "node-gyp" in args:
            yield Run(RunKind.GYP, "binding.gyp", cwd)
    elif "/" in head or head.startswith("."):
        yield Run(RunKind.EXEC_FILE, head, cwd)
    else:
        yield Run(RunKind.BIN, head, cwd)


def _node(args: list[str], cwd: str) -> Iterator[Run]:
    index = 0
    while index < len(args):
        arg = args[index]
        option, _, inline = arg.partition("=")
        if option in ("-e", "--eval", "-p", "--print", "-pe"):
            code = inline if inline else (args[index + 1] if index + 1 < len(args) else "")
            yield Run(RunKind.NODE_CODE, code, cwd)
            return
        if option in ("-r", "--require", "--import", "--loader", "--experimental-loader"):
            value = inline if inline else (args[index + 1] if index + 1 < len(args) else "")
            if value:
                yield Run(RunKind.NODE_MODULE, value, cwd)
            index += 1 if inline else 2
            continue
        if option in _NODE_VALUE_OPTIONS and not inline:
            index += 2
            continue
        if arg.startswith("-"):
            index += 1
            continue
        yield Run(RunKind.NODE_FILE, arg, cwd)
        return


def _shell(args: list[str], cwd: str, depth: int) -> Iterator[Run]:
    for index, arg in enumerate(args):
        if arg == "-c" or (arg.startswith("-") and "c" in arg[1:] and not arg.startswith("--")):
            if index + 1 < len(args):
                yield from parse_command(args[index + 1], cwd, depth + 1)
            return
        if not arg.startswith("-"):
            yield Run(RunKind.SHELL_FILE, arg, cwd)
            return


def _python(args: list[str], cwd: str) -> Iterator[Run]:
    for index, arg in enumerate(args):
        following = args[index + 1] if index + 1 < len(args) else ""
        if arg == "-c":
            yield Run(RunKind.PYTHON_CODE, following, cwd)
            return
        if arg == "-m":
            if following:
                yield Run(RunKind.PYTHON_MODULE, following, cwd)
            return
        if not arg.startswith("-"):
            yield Run(RunKind.PYTHON_FILE, arg, cwd)
            return
