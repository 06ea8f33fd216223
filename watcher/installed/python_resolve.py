"""Python's import system over an artifact's file list: where modules live once installed.

A wheel installs as it is, with `<name>.data/purelib|platlib/` mapped onto site-packages. An
sdist installs what its build packages: the names its `*.egg-info/top_level.txt` lists, the
packages a `pyproject.toml` names, or the `src/` tree of a src layout; when none of those says,
everything importable counts as installed (the model cannot tell, so it does not guess).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping

from watcher.models import ArtifactKind, FileEntry, Snapshot

_DATA_LIB = re.compile(r"^[^/]+\.data/(?:purelib|platlib)/")
_DATA_SCRIPTS = re.compile(r"^[^/]+\.data/scripts/[^/]+$")
#: `import a.b as c, d` and `from .x import (y, z)`: one statement per line or `;` part.
_IMPORT = re.compile(r"^\s*import\s+([\w., \t]+)")
_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+(.*)$")
#: Extension modules: `mod.so`, `mod.cpython-312-x86_64-linux-gnu.so`, `mod.abi3.so`, `mod.pyd`.
_EXTENSION = re.compile(r"^(?P<stem>[^./]+)(?:\.[\w-]+)?\.(?:so|pyd|dylib)$")
#: First two bytes of a `.pyc` (little-endian) and `\r\n`: CPython 3.8 (3400) to 3.14 (<3650).
PYC_MAGIC_RANGE = range(3400, 3650)


def install_path(snapshot: Snapshot, path: str) -> str | None:
    """Where a wheel file lands relative to site-packages (None: scripts, headers, data)."""
    if snapshot.kind is not ArtifactKind.WHEEL:
        return path
    match = _DATA_LIB.match(path)
    if match is not None:
        return path[match.end() :]
    if path.split("/", 1)[0].endswith(".data"):
        return None
    return path


def is_wheel_script(path: str) -> bool:
    """A file of `<name>.data/scripts/`: installed onto PATH as a command."""
    return _DATA_SCRIPTS.match(path) is not None


def is_pyc(entry: FileEntry) -> bool:
    """Bytecode CPython 3.8–3.14 would import (magic number and `\\r\\n`)."""
    data = entry.data
    return (
        len(data) >= 16
        and data[2:4] == b"\r\n"
        and int.from_bytes(data[:2], "little") in PYC_MAGIC_RANGE
    )


def imported_modules(text: str, package: str) -> Iterator[str]:
    """Absolute dotted names a source imports, relative ones resolved against `package`.

    `from a import b` yields both `a` and `a.b` (b may be a submodule): a union, as the module
    graph wants. Read from the text, so it also works on files too large or broken to parse.
    """
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if "import" not in line:
            continue
        for part in line.split(";"):
            match = _IMPORT.match(part)
            if match is not None:
                for item in match.group(1).split(","):
                    name = item.split(" as ")[0].strip()
                    if name:
                        yield name
                continue
            match = _FROM.match(part)
            if match is None:
                continue
            dots, module, names = match.groups()
            if "(" in names:
                # A parenthesised name list spans lines; 200 is far beyond any real one.
                parts = [names]
                while ")" not in parts[-1] and index < len(lines) and len(parts) < 200:
                    parts.append(lines[index])
                    index += 1
                names = " ".join(parts)
            base = _relative_base(dots, module, package)
            if base is None:
                continue
            if base:
                yield base
            for item in names.replace("(", " ").replace(")", " ").split(","):
                name = item.split(" as ")[0].strip().split("#")[0].strip()
                if name and name != "*" and name.isidentifier():
                    yield f"{base}.{name}" if base else name


def _relative_base(dots: str, module: str, package: str) -> str | None:
    if not dots:
        return module
    parts = package.split(".") if package else []
    up = len(dots) - 1
    if up > len(parts):
        return None
    parts = parts[: len(parts) - up]
    if module:
        parts.append(module)
    return ".".join(parts)


class PythonLayout:
    """Import roots of one artifact and the module files under them."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        #: install path -> archive path, for everything that lands in site-packages.
        self.installed: dict[str, str] = {}
        for path in snapshot.files:
            target = install_path(snapshot, path)
            if target is not None:
                self.installed.setdefault(target, path)
        #: sys.path entries (archive prefixes) the build and the runtime import from.
        self.roots: tuple[str, ...] = ("",) if snapshot.kind is ArtifactKind.WHEEL else ("", "src/")
        self._by_directory: dict[str, list[str]] | None = None
        #: Per module name: every file imports the same few dozen (`os`, `typing`, its own).
        self._modules: dict[str, tuple[str, ...]] = {}

    def module_files(self, name: str) -> tuple[str, ...]:
        """Archive paths that `import name` executes: parent `__init__`s, then the module."""
        cached = self._modules.get(name)
        if cached is None:
            cached = self._modules[name] = self._module_files(name)
        return cached

    def _module_files(self, name: str) -> tuple[str, ...]:
        found: list[str] = []
        parts = name.split(".")
        for root in self.roots:
            for depth in range(1, len(parts) + 1):
                stem = root + "/".join(parts[:depth])
                found.extend(self._module(stem))
        return tuple(dict.fromkeys(found))

    def _module(self, stem: str) -> Iterator[str]:
        for candidate in (
            f"{stem}/__init__.py",
            f"{stem}.py",
            f"{stem}/__init__.pyc",
            f"{stem}.pyc",
        ):
            path = self.lookup(candidate)
            if path is not None:
                yield path
                return
        directory, _, leaf = stem.rpartition("/")
        for path in self.files_in(directory):
            match = _EXTENSION.match(path.rpartition("/")[2])
            if match is not None and match.group("stem") == leaf:
                yield self.installed.get(path, path)
                return

    def lookup(self, path: str) -> str | None:
        """The archive path of an install path (or an sdist path as is)."""
        if self.snapshot.kind is ArtifactKind.WHEEL:
            return self.installed.get(path)
        return path if path in self.snapshot.files else None

    def files_in(self, directory: str) -> Iterator[str]:
        """Install paths directly inside a directory."""
        if self._by_directory is None:
            # Built once: a lookup per import of every file made this quadratic (a 1,700-file
            # sdist spent seconds here).
            source = (
                self.installed if self.snapshot.kind is ArtifactKind.WHEEL else self.snapshot.files
            )
            by_directory: dict[str, list[str]] = {}
            for path in source:
                by_directory.setdefault(path.rpartition("/")[0], []).append(path)
            self._by_directory = by_directory
        yield from self._by_directory.get(directory, ())

    def package_of(self, path: str) -> str:
        """The dotted package a source file belongs to (for relative imports)."""
        target = install_path(self.snapshot, path) or path
        for root in sorted(self.roots, key=len, reverse=True):
            if root and target.startswith(root):
                target = target[len(root) :]
                break
        directory = target.rpartition("/")[0]
        return directory.replace("/", ".")

    def installed_prefixes(self) -> tuple[str, ...] | None:
        """Archive prefixes an sdist build installs; None when the model cannot tell."""
        if self.snapshot.kind is ArtifactKind.WHEEL:
            return ("",)
        files = self.snapshot.files
        for path in sorted(files):
            parts = path.split("/")
            if (
                parts[-1] == "top_level.txt"
                and len(parts) in (2, 3)
                and parts[-2].endswith(".egg-info")
            ):
                base = "/".join(parts[:-2])
                base = f"{base}/" if base else ""
                names = files[path].text.split()
                return tuple(
                    p for n in names for p in (f"{base}{n}/", f"{base}{n}.", f"{base}{n}-")
                )
        listed = _pyproject_packages(files)
        if listed is not None:
            return listed
        if any(p.startswith("src/") and p.endswith(".py") for p in files):
            return ("src/",)
        return _setuptools_flat_discovery(files)


def _pyproject_packages(files: Mapping[str, FileEntry]) -> tuple[str, ...] | None:
    entry = files.get("pyproject.toml")
    if entry is None:
        return None
    try:
        data = tomllib.loads(entry.text)
    # A broken pyproject.toml fails the build; the model then cannot tell what installs.
    # not a gap: the manifest parser records it, and unknown means everything is reachable
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    assert isinstance(tool, dict)
    hatch = tool.get("hatch", {})
    wheel = (
        hatch.get("build", {}).get("targets", {}).get("wheel", {})
        if isinstance(hatch, dict)
        else {}
    )
    packages = wheel.get("packages") if isinstance(wheel, dict) else None
    build = data.get("build-system")
    backend = build.get("build-backend") if isinstance(build, dict) else None
    if backend == "hatchling.build" and isinstance(wheel, dict):
        included = _hatch_only_include(wheel)
        if included is not None:
            return included
        if not any(key in wheel for key in _HATCH_SELECTION):
            project = data.get("project")
            name = project.get("name") if isinstance(project, dict) else None
            found = _hatch_default(files, name) if isinstance(name, str) else None
            if found is not None:
                return found
    setuptools = tool.get("setuptools", {})
    if packages is None and isinstance(setuptools, dict):
        listed = setuptools.get("packages")
        if isinstance(listed, list):
            packages = [str(p).replace(".", "/") for p in listed]
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        return None
    return tuple(f"{p.strip('/')}/" for p in packages)


#: Wheel-target options that choose files: with any of them the default below does not apply.
_HATCH_SELECTION = ("packages", "only-include", "include", "sources", "force-include")


def _hatch_default(files: Mapping[str, FileEntry], name: str) -> tuple[str, ...] | None:
    """What hatchling's wheel builder ships when nothing chooses files: the package or module
    named after the project (`my-app` → `my_app/`, `src/my_app/`, `my_app.py`), and nothing
    else of the sdist. None when none exists: hatchling then refuses to build (older releases
    shipped everything), and the model cannot tell.
    """
    stem = re.sub(r"[^\w\d.]+", "_", name).replace(".", "_")
    for candidate in dict.fromkeys((stem, stem.lower())):
        if f"{candidate}/__init__.py" in files:
            return (f"{candidate}/",)
        if f"src/{candidate}/__init__.py" in files:
            return (f"src/{candidate}/",)
        if f"{candidate}.py" in files:
            return (f"{candidate}.py",)
    return None


def _hatch_only_include(wheel: Mapping[str, object]) -> tuple[str, ...] | None:
    """What hatchling's wheel target `only-include` (plus `force-include`) puts in the wheel.

    Only that, whatever else the sdist ships: a meta-package that ships its repository in the
    sdist and declares `only-include = []` installs nothing of it (fastmcp 4.2). None when
    the target does not say, or says it in a form the model does not read.
    """
    only = wheel.get("only-include")
    if not isinstance(only, list) or not all(isinstance(p, str) for p in only):
        return None
    forced = wheel.get("force-include", {})
    if not isinstance(forced, dict):
        return None
    paths = [p.strip("/") for p in (*only, *(str(k) for k in forced))]
    # A directory installs what is under it; a file (`mod.py`) itself.
    return tuple(p for path in paths if path for p in (f"{path}/", path))


#: Top-level folders setuptools' automatic discovery never takes as packages in a flat layout
#: (`FlatLayoutPackageFinder.DEFAULT_EXCLUDE`), and modules it never takes
#: (`FlatLayoutModuleFinder.DEFAULT_EXCLUDE`); names starting with `.` or `_` neither.
_FLAT_EXCLUDED_PACKAGES = frozenset(
    """ci bin debian doc docs documentation manpages news newsfragments changelog test tests
    unit_test unit_tests example examples scripts tools util utils python build dist venv env
    requirements tasks fabfile site_scons benchmark benchmarks exercise exercises
    htmlcov""".split()
)
_FLAT_EXCLUDED_MODULES = frozenset(
    """setup conftest test tests example examples build toxfile noxfile pavement dodo tasks
    fabfile manage benchmark benchmarks exercise exercises""".split()
)
#: Words in setup.py / setup.cfg / pyproject.toml that mean the package list is given, not
#: discovered: then the model cannot tell from the layout alone.
_EXPLICIT = ("packages", "py_modules", "py-modules", "package_dir", "package-dir")


def _setuptools_flat_discovery(files: Mapping[str, FileEntry]) -> tuple[str, ...] | None:
    """What setuptools' automatic discovery installs from a flat-layout sdist, or None.

    Only when setuptools builds it (no other backend declared) and nothing lists packages or
    modules: then the build takes the top-level packages and modules outside its exclude
    lists, so a `tests/` or `docs/` folder shipped beside them is not installed.
    """
    entry = files.get("pyproject.toml")
    if entry is not None:
        try:
            data = tomllib.loads(entry.text)
        # not a gap: the manifest parser records it, and unknown means everything is reachable
        except (tomllib.TOMLDecodeError, RecursionError, ValueError):
            return None
        build = data.get("build-system")
        backend = build.get("build-backend") if isinstance(build, dict) else None
        if backend is not None and not str(backend).startswith("setuptools."):
            return None
        tool = data.get("tool")
        if isinstance(tool, dict) and isinstance(tool.get("setuptools"), dict):
            if any(key in tool["setuptools"] for key in _EXPLICIT):
                return None
    for name in ("setup.py", "setup.cfg"):
        config = files.get(name)
        if config is not None and any(word in config.text for word in _EXPLICIT):
            return None
    if "setup.py" not in files and entry is None:
        return None
    prefixes: list[str] = []
    for path in files:
        head, sep, rest = path.partition("/")
        if head.startswith((".", "_")):
            continue
        if sep and rest.endswith(".py"):
            # setuptools' flat-layout finder is a PEP 420 one: no `__init__.py` needed.
            if head.isidentifier() and head not in _FLAT_EXCLUDED_PACKAGES:
                prefixes.append(f"{head}/")
        elif not sep and head.endswith(".py"):
            stem = head.removesuffix(".py")
            if stem.isidentifier() and stem not in _FLAT_EXCLUDED_MODULES:
                prefixes.append(head)
    return tuple(sorted(set(prefixes)))
