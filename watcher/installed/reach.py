"""The reachability model: which files run on install, which on load, and which never.

`view_of(snapshot, manifest)` walks from the roots the installer and the runtime start on their
own (npm hooks, `binding.gyp`, `setup.py`, in-tree build backends; `main`, `exports`, `bin`,
`.pth`, entry points, installed packages) through the module graph. Where a reachable file
loads code in a way the model cannot resolve (`require(name)`, `import(expr)`, `eval` of a
file read at run time, `importlib` with a computed name), every code file it could load is
reachable at its level: a file is SHIPPED only when the model is sure nothing runs it.
"""

from __future__ import annotations

import json
import posixpath
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar, cast

from watcher import gaps
from watcher.artifacts.manifest import parse_manifest
from watcher.gaps import Gap
from watcher.installed.commands import Run, RunKind, parse_command
from watcher.installed.gyp import gyp_commands, include_path
from watcher.installed.model import FileReach, InstalledView, Reach, Root, Runtime
from watcher.installed.node_resolve import (
    Resolver,
    map_targets,
    normalize,
    pattern_files,
    subpath_map,
)
from watcher.installed.python_resolve import (
    PythonLayout,
    imported_modules,
    install_path,
    is_pyc,
    is_wheel_script,
)
from watcher.models import ArtifactKind, FileEntry, Manifest, Snapshot

#: npm runs these on a registry install; `prepare`/`prepublish` only for git or local installs.
INSTALL_HOOKS = ("preinstall", "install", "postinstall")
#: Shell scripts are tokenized in pure Python (`shlex`): beyond this, only the start is read.
MAX_SHELL_BYTES = 256 * 1024
#: Entry-point groups whose host loads every plugin on its own, without the user asking.
SELF_LOADING_GROUPS = frozenset(
    {"pytest11", "flake8.extension", "sphinx.builders", "setuptools.finalize_distribution_options"}
    | {"console_scripts", "gui_scripts", "distutils.commands", "setuptools.file_finders"}
)
#: Packages that locate and load a native addon themselves (`bindings('addon')`).
NATIVE_LOADERS = frozenset(
    {"bindings", "node-gyp-build", "node-gyp-build-optional-packages", "@mapbox/node-pre-gyp"}
    | {"node-pre-gyp", "prebuild-install", "@neon-rs/load", "detect-libc"}
)
EXECUTABLE_MAGIC = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
_JS_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")
_DTS = (".d.ts", ".d.mts", ".d.cts")
_NODE_SHEBANG = re.compile(rb"^#![^\n]*\b(?:node|nodejs|bun|deno|tsx|ts-node)\b")
_PY_SHEBANG = re.compile(rb"^#![^\n]*\b(?:python[0-9.]*|pypy[0-9.]*)\b")
_SH_SHEBANG = re.compile(rb"^#![^\n]*\b(?:sh|bash|zsh|dash|ksh|ash)\b")
_BUNDLED_MANIFEST = re.compile(r"^(?:node_modules/(?:@[^/]+/)?[^/]+/)+package\.json$")
_TOKEN = re.compile(r"[\w.@+-]+")
#: After a loader's name: `(` and one whole literal, then what follows it.
_CALL_LITERAL = re.compile(r"""\s*\(\s*(['"])([^'"\n]{0,300})\1\s*(.?)""")
_CALL_OPEN = re.compile(r"\s*\(\s*(.?)")
#: After `import`/`from`: a literal specifier (`import 'x'`, `from 'x'`).
_BARE_LITERAL = re.compile(r"""\s*(['"])([^'"\n]{1,300})\1""")
_NAMED_REQUIRE = re.compile(r"require\s*=\s*(?:[\w$]+\.)?$")
_IDENT = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
#: The loader under another name, or reached through the module system's internals.
_JS_LOADER_NAMES: tuple[str, ...] = (
    "module.constructor",
    "Module._load",
    "mainModule",
)
_JS_LOADER_NAMES += ("process.binding", "Module.prototype")
_JS_CODE_SINKS: tuple[str, ...] = (
    "eval",
    "Function",
    "runInThisContext",
    "runInNewContext",
    "runInContext",
)
_JS_CODE_SINKS += ("compileFunction", "_compile", "Script", "SourceTextModule")
_PY_LOADERS = ("import_module", "__import__")
_PY_PATH_LOADERS: tuple[str, ...] = (
    "run_path",
    "run_module",
    "load_source",
    "spec_from_file_location",
)
_PY_PATH_LOADERS += ("SourceFileLoader", "zipimporter", "load_module", "exec_module")
_PY_CODE_SINKS = ("exec", "eval", "compile")
#: Reading a file or a response: with a code sink, what it reads may be what runs.
_READ_NEEDLES: tuple[str, ...] = (
    "readFileSync",
    "readFile",
    "createReadStream",
    "open(",
    "read_text",
)
_READ_NEEDLES += ("read_bytes", "get_data", "urlopen", "fetch(", ".get(", "request(")


def _sites(text: str, word: str) -> Iterator[int]:
    """End offsets of `word` where it starts a name (not inside a longer identifier).

    A literal search (`str.find`) rather than a regex: a `\\b(?:…)` alternation costs seconds
    on a 10 MB bundle, a find costs milliseconds.
    """
    position = text.find(word)
    while position != -1:
        end = position + len(word)
        before = text[position - 1] if position else " "
        after = text[end] if end < len(text) else " "
        if before not in _IDENT and after not in _IDENT:
            yield end
        position = text.find(word, end)


T = TypeVar("T")


class _ByContent:
    """Results of a pure function of a file's text, by the file's hash: the pinned and the new
    release's views read the same unchanged files. Bounded in entries (least recently used
    dropped); shared by threads."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._held: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str, compute: Callable[[], T]) -> T:
        with self._lock:
            if sha256 in self._held:
                self._held.move_to_end(sha256)
                return cast(T, self._held[sha256])
        value = compute()
        with self._lock:
            self._held[sha256] = value
            while len(self._held) > self.entries:
                self._held.popitem(last=False)
        return value

    def clear(self) -> None:
        """Drop everything held."""
        with self._lock:
            self._held.clear()


def forget_contents() -> None:
    """Drop what was read from files by content (a benchmark timing a cold analysis)."""
    _LOADS.clear()
    _WORDS.clear()


#: Module loads of a file (a few specifiers each), and the words of a file (large: only the
#: few files read for the names they mention).
_LOADS = _ByContent(8192)
_WORDS = _ByContent(16)


@dataclass(frozen=True, slots=True)
class _Loads:
    """What one source text loads: literal specifiers, and whether anything is computed."""

    specifiers: tuple[str, ...]
    dynamic: bool
    evals: bool


def _calls(text: str, words: Iterable[str]) -> tuple[list[str], bool]:
    """Literal first arguments of calls to these names, and whether any call had another."""
    literal: list[str] = []
    computed = False
    for word in words:
        for end in _sites(text, word):
            match = _CALL_LITERAL.match(text, end)
            if match is not None:
                if match.group(3) in (",", ")"):
                    literal.append(match.group(2))
                else:
                    computed = True  # `require('./a' + ext)`
                continue
            opened = _CALL_OPEN.match(text, end)
            if opened is not None and opened.group(1) not in ("", ")"):
                computed = True
    return literal, computed


_NEXT_CHAR = re.compile(r"\s*(\S?)")


def _char_after(text: str, index: int) -> str:
    """The first non-space character from `index` on ("" at the end). No copy of the rest:
    a slice per site made a bundle with thousands of `require`s quadratic."""
    match = _NEXT_CHAR.match(text, index)
    return match.group(1) if match is not None else ""


def _char_before(text: str, index: int) -> str:
    """The last non-space character before `index` ("" at the start)."""
    while index > 0 and text[index - 1].isspace():
        index -= 1
    return text[index - 1] if index > 0 else ""


def js_loads(text: str) -> _Loads:
    """Module loads of a JavaScript text (read from the text: linear, errs toward loading)."""
    specifiers, dynamic = _calls(text, ("require", "import"))
    for word in ("from", "import"):
        for end in _sites(text, word):
            match = _BARE_LITERAL.match(text, end)
            if match is not None:
                specifiers.append(match.group(2))
    for end in _sites(text, "require"):
        # `const r = require;`: the loader kept under another name.
        before = _char_before(text, end - len("require"))
        after = _char_after(text, end)
        if before in ("=", ":", "(", ",") and after in (";", ",", ")", "}", ""):
            dynamic = True
    dynamic = dynamic or any(name in text for name in _JS_LOADER_NAMES)
    for end in _sites(text, "createRequire"):
        # `const require = createRequire(import.meta.url)` keeps the name: its calls are read
        # above. Under any other name the loads cannot be followed.
        start = end - len("createRequire")
        after = _char_after(text, end)
        if after in ("}", ",", "") or _NAMED_REQUIRE.search(text, max(0, start - 60), start):
            continue
        dynamic = True
    _, evals = _calls(text, _JS_CODE_SINKS)
    return _Loads(tuple(specifiers), dynamic, evals)


def py_loads(text: str) -> _Loads:
    """Computed loads of a Python text (`import_module(name)`, `runpy`, `exec(…)`)."""
    specifiers, dynamic = _calls(text, _PY_LOADERS)
    dynamic = dynamic or any(True for word in _PY_PATH_LOADERS for _ in _sites(text, word))
    _, evals = _calls(text, _PY_CODE_SINKS)
    return _Loads(tuple(specifiers), dynamic, evals)


def reads_files(text: str) -> bool:
    """Whether a text reads a file or a response (what a code sink may then run)."""
    return any(needle in text for needle in _READ_NEEDLES)


def classify(path: str, entry: FileEntry, esm: bool = False) -> Runtime:
    """How the runtime would read a file judged by itself (name, magic, shebang)."""
    data = entry.data
    if data.startswith(b"\x00asm"):
        return Runtime.WASM
    if entry.is_binary and data.startswith(EXECUTABLE_MAGIC):
        return Runtime.NATIVE
    if path.endswith(".node") and entry.is_binary:
        return Runtime.NATIVE
    if path.endswith(".pyc") and "__pycache__/" not in path and is_pyc(entry):
        return Runtime.PYC
    if entry.is_binary:
        return Runtime.DATA
    if path.endswith(_JS_SUFFIXES) and not path.endswith(_DTS):
        if path.endswith(".mjs") or (esm and path.endswith(".js")):
            return Runtime.JS_ESM
        return Runtime.JS_CJS
    if path.endswith((".py", ".pyw", ".pth")):
        return Runtime.PYTHON
    if path.endswith((".sh", ".bash")) or _SH_SHEBANG.match(data):
        return Runtime.SHELL
    if _NODE_SHEBANG.match(data):
        return Runtime.JS_CJS
    if _PY_SHEBANG.match(data):
        return Runtime.PYTHON
    return Runtime.DATA


class _Walk:
    """One breadth-first walk per level, install roots first."""

    def __init__(self, snapshot: Snapshot, manifest: Manifest) -> None:
        self.snapshot = snapshot
        self.manifest = manifest
        self.files = snapshot.files
        self.npm = snapshot.kind is ArtifactKind.NPM_TARBALL
        self.resolver = Resolver(self.files, self._text)
        self.layout = PythonLayout(snapshot)
        self.esm = manifest.package_type == "module"
        self.base = {p: classify(p, e, self._esm(p)) for p, e in self.files.items()}
        self.opaque = [(p, r) for p, r in self.base.items() if r.is_opaque]
        self.reach: dict[str, Reach] = {}
        self.runtime: dict[str, Runtime] = {}
        self.why: dict[str, str] = {}
        self.via: dict[str, str] = {}
        self.roots: list[Root] = []
        self.gaps: list[Gap] = []
        self.queue: deque[str] = deque()
        self.level = Reach.INSTALL
        self.expanded: set[tuple[Reach, str]] = set()
        self._tokens: dict[str, frozenset[str]] = {}
        self._seen_scripts: set[str] = set()

    def _text(self, path: str) -> str | None:
        entry = self.files.get(path)
        return entry.text if entry is not None and not entry.is_binary else None

    def _esm(self, path: str) -> bool:
        if self.snapshot.kind is not ArtifactKind.NPM_TARBALL:
            return False
        return self.resolver.scope_of(path).esm if "/node_modules/" in f"/{path}" else self.esm

    def gap(self, reason: str, path: str | None = None) -> None:
        entry = self.files.get(path) if path else None
        self.gaps.append(Gap(reason, path, entry.sha256 if entry else None, self.snapshot.filename))

    # -- marking ----------------------------------------------------------------------------

    def root(self, path: str, why: str, runtime: Runtime | None = None) -> None:
        if path not in self.files:
            return
        self.roots.append(Root(path, self.level, why))
        self.visit(path, why, None, runtime)

    def visit(self, path: str, why: str, via: str | None, runtime: Runtime | None = None) -> None:
        if path not in self.files:
            return
        current = self.reach.get(path)
        runtime = runtime or self.base[path]
        if current is not None and current >= self.level:
            # Already reached at this level; a stronger reading (run as code) still counts.
            if self.runtime[path] is Runtime.DATA and runtime.is_code:
                self.runtime[path] = runtime
                self.queue.append(path)
            return
        self.reach[path] = self.level
        previous = self.runtime.get(path)
        self.runtime[path] = (
            runtime if previous is None or runtime is not Runtime.DATA else previous
        )
        self.why[path] = why
        if via is not None:
            self.via[path] = via
        self.queue.append(path)

    def drain(self) -> None:
        while self.queue:
            path = self.queue.popleft()
            runtime = self.runtime[path]
            why = self.why[path]
            if runtime in (Runtime.JS_CJS, Runtime.JS_ESM):
                self.js_edges(path, why)
            elif runtime is Runtime.PYTHON:
                self.python_edges(path, why)
            elif runtime is Runtime.SHELL:
                self.shell_edges(path, why)

    def expand(self, path: str, why: str, reason: str, mentioned: bool) -> None:
        """Fail toward reachable: every code file (and files the loader names) at this level."""
        key = (self.level, reason)
        if mentioned:
            for target in self.mentioned(path):
                if not self.loadable(target) or self.inert_json(target):
                    continue
                as_code = Runtime.PYTHON if path.endswith(".py") else Runtime.JS_CJS
                runtime = self.base[target] if self.base[target].is_code else as_code
                self.visit(target, why, path, runtime)
        if key in self.expanded:
            return
        self.expanded.add(key)
        for target, runtime in self.base.items():
            if runtime.is_code and runtime is not Runtime.ZIP and self.loadable(target):
                self.visit(target, why, path)

    def loadable(self, path: str) -> bool:
        """Whether a loader with a computed name could find this file at the current level.

        After `pip install` of an sdist only what the build installed exists: a dynamic
        `import_module(name)` in the installed package cannot reach the sdist's tests, docs or
        CI scripts, which pip never copies. At install time the build runs inside the unpacked
        sdist, where every file is there; npm installs every file of its tarball. Unknown
        prefixes keep every file (fail toward reachable).
        """
        if self.npm or self.level is Reach.INSTALL:
            return True
        prefixes = self.installed_prefixes
        if prefixes is None:
            return True
        target = install_path(self.snapshot, path)
        return target is not None and target.startswith(prefixes)

    def inert_json(self, path: str) -> bool:
        """A data file (not named as code) whose whole text is one JSON document.

        Run as a script it does nothing: as JavaScript a JSON object is a syntax error and
        any other JSON value an expression without effects; as Python, a literal. So a source
        map a `./*` exports pattern or a loader could name is data, whatever the name says.
        """
        entry = self.files.get(path)
        if entry is None or entry.is_binary or self.base[path].is_code:
            return False
        head = entry.data.lstrip()[:1]
        if head not in (b"{", b"["):
            return False
        try:
            json.loads(entry.text)
        # Not JSON: the file may be code under a data name, and stays as the loader reads it.
        # not a gap: nothing failed, the file is simply not inert
        except (ValueError, RecursionError):
            return False
        return True

    @cached_property
    def installed_prefixes(self) -> tuple[str, ...] | None:
        """`PythonLayout.installed_prefixes`, computed once per walk."""
        return self.layout.installed_prefixes()

    def tokens(self, path: str) -> frozenset[str]:
        cached = self._tokens.get(path)
        if cached is None:
            entry = self.files.get(path)
            if entry is None or entry.is_binary:
                cached = frozenset()
            else:
                cached = _WORDS.get(entry.sha256, lambda: frozenset(_TOKEN.findall(entry.text)))
            self._tokens[path] = cached
        return cached

    def mentioned(self, path: str) -> Iterable[str]:
        """Files of the package whose base name the file's text names."""
        words = self.tokens(path)
        return [p for p in self.files if p != path and p.rsplit("/", 1)[-1] in words]

    # -- JavaScript -------------------------------------------------------------------------

    def js_edges(self, path: str, why: str) -> None:
        entry = self.files[path]
        if entry.is_binary:
            self.gap(f"{path} runs as JavaScript ({why}) but holds binary bytes", path)
            return
        loads = _LOADS.get("js:" + entry.sha256, lambda: js_loads(entry.text))
        self.js_from(path, why, entry.text, loads)

    def js_from(self, path: str, why: str, text: str, loads: _Loads | None = None) -> None:
        """Edges of one JavaScript file, read from its text.

        The text, not the parser: it costs one linear scan, works on files too large or too
        broken to parse, and errs toward reachable (a `require('x')` in a comment is an edge).
        """
        loads = loads if loads is not None else js_loads(text)
        specifiers, dynamic, evals = loads.specifiers, loads.dynamic, loads.evals
        for specifier in specifiers:
            if specifier in NATIVE_LOADERS or specifier.split("/")[0] in NATIVE_LOADERS:
                for target, runtime in self.base.items():
                    if runtime is Runtime.NATIVE:
                        self.visit(target, why, path)
            for target in self.resolver.resolve(specifier, path):
                self.visit(target, why, path, self._required_as(target))
        if "WebAssembly" in text:
            for target, runtime in self.base.items():
                if runtime is Runtime.WASM:
                    self.visit(target, why, path)
        if dynamic:
            self.expand(path, why, "dynamic-js", mentioned=True)
        if evals and reads_files(text):
            self.expand(path, why, "eval-js", mentioned=True)
        self.opaque_mentions(path, why)

    def _required_as(self, target: str) -> Runtime:
        """`require` runs any file as CommonJS, except JSON (data) and `.node` (native)."""
        base = self.base[target]
        if target.endswith(".json") or (not base.is_code and self.inert_json(target)):
            return Runtime.DATA
        if base in (Runtime.NATIVE, Runtime.WASM) or target.endswith(".node"):
            return Runtime.NATIVE if base is not Runtime.WASM else base
        if base is Runtime.JS_ESM:
            return base
        return Runtime.JS_CJS

    def opaque_mentions(self, path: str, why: str) -> None:
        """Opaque files a reachable file names (`spawn(join(__dirname, 'helper'))`)."""
        if not self.opaque:
            return
        text = self._text(path) or ""
        for target, runtime in self.opaque:
            if target == path:
                continue
            name = target.rsplit("/", 1)[-1]
            stem = name.split(".")[0]
            # A substring, not a word: `'helper' + ext` still names the file (errs toward running).
            if name in text or (runtime is Runtime.NATIVE and len(stem) >= 3 and stem in text):
                self.visit(target, why, path)

    # -- shell and commands -----------------------------------------------------------------

    def shell_edges(self, path: str, why: str) -> None:
        text = self._text(path)
        if text is None:
            return
        if len(text) > MAX_SHELL_BYTES:
            # Shell is tokenized in Python: a script this large is followed only in part.
            self.gap(f"{path} is a {len(text):,}-byte shell script ({why}): read in part", path)
            text = text[:MAX_SHELL_BYTES]
        # npm runs scripts from the package root; a script may also expect its own folder.
        for cwd in dict.fromkeys(("", posixpath.dirname(path))):
            for run in parse_command(text, cwd):
                self.command_run(run, why, path)
        self.opaque_mentions(path, why)

    def command(self, text: str, why: str, cwd: str = "") -> None:
        for run in parse_command(text, cwd):
            self.command_run(run, why, None)

    def command_run(self, run: Run, why: str, via: str | None) -> None:
        target = (
            normalize(posixpath.join(run.cwd, run.target))
            if run.kind
            in (RunKind.NODE_FILE, RunKind.SHELL_FILE, RunKind.PYTHON_FILE, RunKind.EXEC_FILE)
            else None
        )
        match run.kind:
            case RunKind.NODE_FILE:
                if target is not None:
                    found = self.resolver.file_or_directory(target)
                    if found is not None:
                        runtime = self._required_as(found)
                        self._mark(found, why, via, runtime)
            case RunKind.NODE_MODULE:
                # `-r x` resolves like `require('x')` from the working directory, and a bare
                # path-looking name may also be meant as `./x`: the union of both.
                importer = f"{run.cwd}/x" if run.cwd else "x"
                found_all = self.resolver.resolve(run.target, importer)
                if not run.target.startswith((".", "/", "#")):
                    found_all += self.resolver.resolve("./" + run.target, importer)
                for found in found_all:
                    self._mark(found, why, via, self._required_as(found))
            case RunKind.NODE_CODE:
                importer = f"{run.cwd}/<inline>" if run.cwd else "<inline>"
                self.js_inline(importer, why, run.target)
            case RunKind.SHELL_FILE:
                if target is not None:
                    self._mark(target, why, via, Runtime.SHELL)
            case RunKind.PYTHON_FILE:
                if target is not None:
                    self._mark(target, why, via, Runtime.PYTHON)
            case RunKind.PYTHON_CODE:
                for name in imported_modules(run.target.replace(";", "\n"), ""):
                    for found in self.layout.module_files(name):
                        self._mark(found, why, via, None)
                inline = py_loads(run.target)
                if inline.dynamic or inline.evals:
                    self.expand(via or "<inline>", why, "dynamic-py", mentioned=False)
            case RunKind.PYTHON_MODULE:
                for found in self.layout.module_files(run.target):
                    self._mark(found, why, via, None)
            case RunKind.EXEC_FILE:
                if target is not None and target in self.files:
                    runtime = self.base[target]
                    self._mark(target, why, via, runtime if runtime.is_code else Runtime.SHELL)
            case RunKind.NPM_SCRIPT:
                script = self.manifest.scripts.get(run.target)
                if script is not None and run.target not in self._seen_scripts:
                    self._seen_scripts.add(run.target)
                    self.command(script, f"{why} → scripts.{run.target}", run.cwd)
            case RunKind.GYP:
                self.gyp(normalize(posixpath.join(run.cwd, run.target)) or run.target, why)
            case RunKind.BIN:
                bin_target = self.manifest.bin.get(run.target)
                if bin_target is not None:
                    found = normalize(bin_target)
                    if found is not None:
                        self._mark(found, why, via, self._bin_runtime(found))

    def _mark(self, path: str, why: str, via: str | None, runtime: Runtime | None) -> None:
        if via is None and path in self.files:
            self.roots.append(Root(path, self.level, why))
        self.visit(path, why, via, runtime)

    def js_inline(self, importer: str, why: str, code: str) -> None:
        """`node -e '…'`: the same edges as a file, resolved from the working directory."""
        loads = js_loads(code)
        for specifier in loads.specifiers:
            for found in self.resolver.resolve(specifier, importer):
                self._mark(found, why, None, self._required_as(found))
        words = frozenset(_TOKEN.findall(code))
        if loads.dynamic or (loads.evals and reads_files(code)):
            self.expand(importer, why, "dynamic-js", mentioned=False)
            for target in self.files:
                if target.rsplit("/", 1)[-1] in words:
                    runtime = self.base[target]
                    self._mark(target, why, None, runtime if runtime.is_code else Runtime.JS_CJS)
        for target, runtime in self.base.items():
            if runtime.is_opaque and target.rsplit("/", 1)[-1] in words:
                self._mark(target, why, None, None)

    def _bin_runtime(self, path: str) -> Runtime:
        base = self.base.get(path, Runtime.DATA)
        if base in (Runtime.SHELL, Runtime.PYTHON, Runtime.NATIVE, Runtime.JS_ESM):
            return base
        # npm's shims run a file without a shebang with node (Windows), and so does a user.
        return Runtime.JS_CJS

    def gyp(self, path: str, why: str, depth: int = 0) -> None:
        text = self._text(path)
        if text is None or depth > 8:
            return
        self.visit(path, why, None, Runtime.DATA)
        read = gyp_commands(text)
        if not read.parsed:
            self.gap(f"{path} is not a Python literal: its commands were read from text", path)
        if read.truncated:
            self.gap(f"{path} holds more command text than watcher reads: read in part", path)
        cwd = posixpath.dirname(path)
        for command in read.commands:
            for run in parse_command(command, cwd):
                self.command_run(run, f"{why} → {path}", None)
        for include in read.includes:
            self.gyp(include_path(path, include), why, depth + 1)

    # -- Python -----------------------------------------------------------------------------

    def python_edges(self, path: str, why: str) -> None:
        entry = self.files[path]
        if entry.is_binary:
            self.gap(f"{path} runs as Python ({why}) but holds binary bytes", path)
            return
        text = entry.text
        package = self.layout.package_of(path)
        names = list(
            _LOADS.get(
                f"py-imports:{package}:{entry.sha256}",
                lambda: tuple(imported_modules(text, package)),
            )
        )
        loads = _LOADS.get("py:" + entry.sha256, lambda: py_loads(text))
        names.extend(loads.specifiers)
        dynamic, evals = loads.dynamic, loads.evals
        for name in names:
            for found in self.layout.module_files(name):
                self.visit(found, why, path)
        if dynamic:
            self.expand(path, why, "dynamic-py", mentioned=True)
        if evals and reads_files(text):
            self.expand(path, why, "eval-py", mentioned=True)
        if "sys.path" in text or path.endswith(".pth"):
            self.sys_path_entries(path, why)
        self.opaque_mentions(path, why)

    def sys_path_entries(self, path: str, why: str) -> None:
        """Zips and eggs a `.pth` line or a `sys.path` edit puts on the import path."""
        words = self.tokens(path)
        lines = (self._text(path) or "").splitlines() if path.endswith(".pth") else []
        for target, entry in self.files.items():
            if not entry.data.startswith(b"PK\x03\x04"):
                continue
            name = target.rsplit("/", 1)[-1]
            if name in words or any(line.strip().endswith(name) for line in lines):
                self.visit(target, why, path, Runtime.ZIP)

    # -- roots ------------------------------------------------------------------------------

    def bundled_hooks(self, manifest_path: str) -> None:
        """A dependency shipped under `node_modules/`: npm runs its install hooks too."""
        base = manifest_path.removesuffix("/package.json")
        scope = self.resolver.package_json(base)
        scripts = scope.data.get("scripts") if scope is not None else None
        if not isinstance(scripts, dict):
            scripts = {}
        package = base.rsplit("node_modules/", 1)[-1]
        for hook in INSTALL_HOOKS:
            command = scripts.get(hook)
            if isinstance(command, str) and command:
                self.command(command, f"{package} scripts.{hook}", base)
        gyp = f"{base}/binding.gyp"
        if gyp in self.files and not (scripts.get("install") or scripts.get("preinstall")):
            self.gyp(gyp, f"{package} binding.gyp (implicit node-gyp rebuild)")

    def _readable_package_json(self) -> bool:
        text = self._text("package.json")
        if text is None:
            return False
        try:
            return isinstance(json.loads(text), dict)
        # The manifest parser reports a broken package.json (a gap); here it means "unknown",
        # which makes every code file count as reachable (fail toward reachable).
        except (ValueError, RecursionError):  # not a gap: the manifest parser records it
            return False

    def npm_roots(self) -> None:
        scripts = self.manifest.scripts
        self.level = Reach.INSTALL
        for hook in INSTALL_HOOKS:
            if scripts.get(hook):
                self.command(scripts[hook], f"scripts.{hook}")
        for manifest_path in sorted(self.files):
            if _BUNDLED_MANIFEST.match(manifest_path):
                self.bundled_hooks(manifest_path)
        if "binding.gyp" in self.files and not (
            scripts.get("install") or scripts.get("preinstall")
        ):
            self.roots.append(
                Root("binding.gyp", Reach.INSTALL, "binding.gyp (implicit node-gyp rebuild)")
            )
            self.gyp("binding.gyp", "binding.gyp (implicit node-gyp rebuild)")
        self.drain()
        self.level = Reach.IMPORT
        if not self._readable_package_json():
            # Without a manifest npm installs nothing and the model cannot tell what a loader
            # would run: every code file counts (fail toward reachable).
            for path, runtime in self.base.items():
                if runtime.is_code:
                    self.root(path, "no readable package.json")
            self.drain()
            return
        manifest = self.manifest
        main_found: str | None = None
        if manifest.main:
            target = normalize(manifest.main)
            if target is not None:
                main_found = self.resolver.file_or_directory(target)
        if main_found is None and (manifest.main or manifest.exports is None):
            main_found = self.resolver.as_index("")
        if main_found is not None:
            self.root(main_found, "main", self._required_as(main_found))
        if manifest.module:
            target = normalize(manifest.module)
            found = self.resolver.as_file(target) if target is not None else None
            if found is not None:
                self.root(found, "module", Runtime.JS_ESM)
        for key, value in subpath_map(manifest.exports).items():
            for target in map_targets(value):
                for found in pattern_files(self.resolver.files, "", target):
                    self.root(found, f"exports[{key!r}]", self._required_as(found))
        if isinstance(manifest.imports, dict):
            for key, value in manifest.imports.items():
                for target in map_targets(value):
                    if target.startswith("./"):
                        for found in pattern_files(self.resolver.files, "", target):
                            self.root(found, f"imports[{key!r}]", self._required_as(found))
        for name, target in manifest.bin.items():
            found = normalize(target)
            if found is not None:
                self.root(found, f"bin.{name}", self._bin_runtime(found))
        if not any(r.reach is Reach.IMPORT for r in self.roots):
            # No entry point resolves: `require('pkg/lib/x')` is the only way in, and any file
            # may be it (fail toward reachable).
            for path, runtime in self.base.items():
                if runtime.is_code and runtime is not Runtime.ZIP:
                    self.root(path, "no entry point: any file may be deep-imported")
        self.drain()

    def python_roots(self) -> None:
        self.level = Reach.INSTALL
        wheel = self.snapshot.kind is ArtifactKind.WHEEL
        if not wheel:
            if "setup.py" in self.files:
                self.root("setup.py", "setup.py", Runtime.PYTHON)
            backend = self.manifest.build_backend
            for directory in self.manifest.backend_path:
                base = normalize(directory) or ""
                if backend:
                    module = backend.split(":")[0]
                    stem = (
                        f"{base}/{module.replace('.', '/')}" if base else module.replace(".", "/")
                    )
                    for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
                        self.root(candidate, "build-system.backend-path", Runtime.PYTHON)
            for hook in ("hatch_build.py", "pdm_build.py", "build.py"):
                if hook in self.files and (backend or "").split(".")[0] in (
                    "hatchling",
                    "pdm",
                    "poetry",
                ):
                    self.root(hook, f"build hook {hook}", Runtime.PYTHON)
        self.drain()
        self.level = Reach.IMPORT
        for path in self.files:
            target = install_path(self.snapshot, path)
            if target is None:
                if is_wheel_script(path):
                    self.root(path, "wheel script", self._bin_runtime(path))
                continue
            name = target.rsplit("/", 1)[-1]
            if target.endswith(".pth") and (
                "/" not in target or not wheel and target.count("/") == 0
            ):
                self.root(path, ".pth", Runtime.PYTHON)
            elif "/" not in target and name in ("sitecustomize.py", "usercustomize.py"):
                self.root(path, name.removesuffix(".py"), Runtime.PYTHON)
        for key, value in self.manifest.entry_points.items():
            group = key.split(":", 1)[0]
            module = value.split(":", 1)[0].split("[", 1)[0].strip()
            why = f"entry point {key}" + (" (loads itself)" if group in SELF_LOADING_GROUPS else "")
            for found in self.layout.module_files(module):
                self.root(found, why)
        prefixes = self.installed_prefixes
        for path, runtime in self.base.items():
            if not runtime.is_code or runtime is Runtime.ZIP:
                continue
            target = install_path(self.snapshot, path)
            if target is None or target.split("/", 1)[0].endswith((".dist-info", ".egg-info")):
                continue
            if prefixes is None or target.startswith(prefixes):
                if target.endswith(".pth") and "/" in target:
                    continue  # only site-packages' own .pth files run
                self.root(path, "installed package")
        self.drain()


#: Views of the last few snapshots: every rule of an analysis asks about the same artifact.
_CACHE: OrderedDict[int, tuple[Snapshot, InstalledView]] = OrderedDict()
_CACHE_SIZE = 16
_LOCK = threading.Lock()


def build_view(snapshot: Snapshot, manifest: Manifest | None = None) -> InstalledView:
    """Compute the installed view of one artifact (uncached)."""
    walk = _Walk(snapshot, manifest if manifest is not None else parse_manifest(snapshot))
    if walk.npm:
        walk.npm_roots()
    else:
        walk.python_roots()
    files = {
        path: FileReach(
            path,
            walk.reach.get(path, Reach.SHIPPED),
            walk.runtime.get(path, walk.base[path]),
            walk.why.get(path),
            walk.via.get(path),
        )
        for path in snapshot.files
    }
    roots = tuple(dict.fromkeys(walk.roots))
    return InstalledView(files, roots, tuple(dict.fromkeys(walk.gaps)))


def view_of(snapshot: Snapshot, manifest: Manifest | None = None) -> InstalledView:
    """The installed view of a snapshot, computed once per snapshot object.

    Thread-safe: the daemon analyses releases on several threads; two threads asking for the
    same new snapshot at once may both compute it, which costs time but never correctness.
    """
    with _LOCK:
        cached = _CACHE.get(id(snapshot))
        # The entry keeps `snapshot` alive, so its id cannot be reused while cached.
        if cached is not None and cached[0] is snapshot:
            _CACHE.move_to_end(id(snapshot))
            view: InstalledView | None = cached[1]
        else:
            view = None
    if view is None:
        view = build_view(snapshot, manifest)
        with _LOCK:
            _CACHE[id(snapshot)] = (snapshot, view)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    for gap in view.gaps:
        gaps.record(gap.reason, gap.path, gap.sha256, gap.artifact)
    return view
