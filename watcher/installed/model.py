"""The value types of the installed view: how far each file is from running, and as what.

`Reach` orders a file by when it can run: on install (an npm hook, `setup.py`, a gyp action),
on load (imported, run as a command, at interpreter start), or never as far as the module
graph can tell (shipped). `Runtime` says how the runtime treats the file when it does run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from watcher.gaps import Gap


class Reach(IntEnum):
    """When a file can run (ordered: shipped < import < install)."""

    SHIPPED = 0
    IMPORT = 1
    INSTALL = 2

    @property
    def label(self) -> str:
        """Lower-case name for messages ("install time", "import time", "shipped")."""
        return {0: "shipped", 1: "import time", 2: "install time"}[int(self)]


class Runtime(StrEnum):
    """How the runtime reads a file."""

    JS_CJS = "javascript (commonjs)"
    JS_ESM = "javascript (esm)"
    PYTHON = "python"
    SHELL = "shell"
    #: A native library or executable (ELF, PE, Mach-O; `.node`, `.so`, `.pyd`).
    NATIVE = "native"
    WASM = "wasm"
    #: Bytecode without its source: CPython imports a `mod.pyc` that sits where `mod.py` would.
    PYC = "sourceless pyc"
    #: A zip or egg put on `sys.path`: everything inside it is importable.
    ZIP = "zip on sys.path"
    DATA = "data"

    @property
    def is_code(self) -> bool:
        """Whether files of this kind run (anything but data)."""
        return self is not Runtime.DATA

    @property
    def is_opaque(self) -> bool:
        """Code a reviewer cannot read from a diff."""
        return self in (Runtime.NATIVE, Runtime.WASM, Runtime.PYC, Runtime.ZIP)


@dataclass(frozen=True, slots=True)
class Root:
    """A file the installer or the runtime starts on its own, and why."""

    path: str
    reach: Reach
    #: "scripts.postinstall", "main", "bin.foo", ".pth", "entry point console_scripts:foo".
    why: str


@dataclass(frozen=True, slots=True)
class FileReach:
    """One file's place in the installed view."""

    path: str
    reach: Reach
    runtime: Runtime
    #: The root that reaches it ("scripts.postinstall"), None for shipped files.
    why: str | None = None
    #: The file that loads it, None for roots and shipped files.
    via: str | None = None


@dataclass(frozen=True, slots=True)
class InstalledView:
    """Every file of one artifact with its reachability, plus the roots that reach them."""

    files: Mapping[str, FileReach]
    roots: tuple[Root, ...] = ()
    #: Where the model gave up (turned into findings by the pipeline, SPEC §4.5).
    gaps: tuple[Gap, ...] = field(default=())

    def reach(self, path: str) -> Reach:
        """A file's reachability (SHIPPED for a path the artifact does not hold)."""
        entry = self.files.get(path)
        return entry.reach if entry is not None else Reach.SHIPPED

    def runtime(self, path: str) -> Runtime:
        """How the runtime treats a file (DATA for an unknown path)."""
        entry = self.files.get(path)
        return entry.runtime if entry is not None else Runtime.DATA

    def dialect(self, path: str) -> str | None:
        """The grammar a parser needs for this file, None when it is not JS or Python source.

        A file the runtime executes is code whatever its name: `require('./x.dat')` is
        "javascript"; a `.d.ts` nothing runs stays out.
        """
        runtime = self.runtime(path)
        if runtime is Runtime.PYTHON:
            return "python"
        if runtime in (Runtime.JS_CJS, Runtime.JS_ESM):
            if path.endswith((".ts", ".mts", ".cts")):
                return "typescript"
            if path.endswith(".tsx"):
                return "tsx"
            return "javascript"
        return None

    def never_runs(self, path: str) -> bool:
        """A code file the module graph shows nothing reaches (its findings are capped low)."""
        entry = self.files.get(path)
        return entry is not None and entry.reach is Reach.SHIPPED and entry.runtime.is_code
