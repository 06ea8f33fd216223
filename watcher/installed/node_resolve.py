"""Node's module resolution over an archive's file list (never the disk, never running code).

Covers what Node 18–24 do for a package's own files: relative specifiers with the CommonJS
extension search (`.js`, `.json`, `.node`, plus `.cjs`/`.mjs` as a union over ESM's exact
paths), directories through `package.json` `main` and `index.*`, `exports`/`imports` maps with
every condition and `*` patterns, self-reference by the package's own name, and packages
bundled under `node_modules/`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property

#: CommonJS tries these after the exact path; ESM needs the exact path (a subset).
EXTENSIONS = (".js", ".json", ".node", ".cjs", ".mjs")
INDEXES = tuple(f"index{ext}" for ext in EXTENSIONS)
_BARE = re.compile(r"^(@[^/]+/[^/]+|[^/.@][^/]*)(/.*)?$")


def normalize(path: str) -> str | None:
    """An archive-relative path, or None when it leaves the package."""
    path = path.replace("\\", "/")
    joined = posixpath.normpath(path.lstrip("/")) if path else ""
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == "..":
        return None
    return joined


def map_targets(value: object, depth: int = 0) -> Iterator[str]:
    """Every target string of an exports/imports value: all conditions, all fallbacks."""
    if depth > 50:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from map_targets(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from map_targets(item, depth + 1)


def subpath_map(exports: object) -> dict[str, object]:
    """`exports` as {subpath: value}: a string, list or conditions object means {".": it}."""
    if isinstance(exports, dict) and exports and all(str(k).startswith(".") for k in exports):
        return {str(k): v for k, v in exports.items()}
    if isinstance(exports, dict) and any(str(k).startswith(".") for k in exports):
        # Mixed keys are invalid for Node; the subpath keys are what a loader could still use.
        return {str(k): v for k, v in exports.items() if str(k).startswith(".")}
    return {".": exports} if exports is not None else {}


def match_key(mapping: Mapping[str, object], request: str) -> Iterator[tuple[object, str | None]]:
    """Values whose key matches `request`, with the `*` substitution (or a folder remainder)."""
    if request in mapping:
        yield mapping[request], None
    for key, value in mapping.items():
        if "*" in key:
            prefix, _, suffix = key.partition("*")
            if (
                request.startswith(prefix)
                and request.endswith(suffix)
                and len(request) >= len(prefix) + len(suffix)
            ):
                yield value, request[len(prefix) : len(request) - len(suffix)]
        elif key.endswith("/") and request.startswith(key):
            # Node < 17 folder mappings (`"./lib/": "./lib/"`), kept for the union.
            yield value, "\x00" + request[len(key) :]


def substitute(target: str, star: str | None) -> str:
    """A target with its `*` replaced (or a folder remainder appended)."""
    if star is None:
        return target
    if star.startswith("\x00"):
        return target + star[1:]
    return target.replace("*", star)


def pattern_files(files: frozenset[str], base: str, target: str) -> list[str]:
    """Files a `*` target can name (every match: a root for the load-time view)."""
    path = normalize(posixpath.join(base, target))
    if path is None:
        return []
    if "*" not in path:
        return [path] if path in files else []
    # Node allows one `*` per pattern; more is invalid (and would make this a backtracking
    # search), so such a target names nothing.
    if path.count("*") != 1:
        return []
    prefix, _, suffix = path.partition("*")
    return sorted(
        f
        for f in files
        if f.startswith(prefix) and f.endswith(suffix) and len(f) >= len(prefix) + len(suffix)
    )


class Scope:
    """A package.json scope: the directory that holds it and its parsed fields."""

    def __init__(self, base: str, data: Mapping[str, object]) -> None:
        self.base = base
        self.data = data

    @cached_property
    def name(self) -> str | None:
        """The package's `name`."""
        value = self.data.get("name")
        return value if isinstance(value, str) else None

    @cached_property
    def esm(self) -> bool:
        """`"type": "module"`: `.js` files here are ES modules."""
        return self.data.get("type") == "module"


class Resolver:
    """Resolves specifiers inside one archive's file list."""

    def __init__(self, files: Iterable[str], read: Callable[[str], str | None]) -> None:
        self.files = frozenset(files)
        self.dirs = frozenset(p[:i] for p in self.files for i, c in enumerate(p) if c == "/")
        self._read = read
        self._scopes: dict[str, Scope | None] = {}

    def package_json(self, base: str) -> Scope | None:
        """The scope whose package.json sits in `base`, if any."""
        if base in self._scopes:
            return self._scopes[base]
        path = f"{base}/package.json" if base else "package.json"
        scope: Scope | None = None
        if path in self.files:
            text = self._read(path)
            try:
                data = json.loads(text) if isinstance(text, str) else None
            # A broken nested package.json: Node would throw; nothing under it resolves by it.
            except (ValueError, RecursionError):  # not a gap: Node cannot load through it
                data = None
            scope = Scope(base, data if isinstance(data, dict) else {})
        self._scopes[base] = scope
        return scope

    def scope_of(self, path: str) -> Scope:
        """The nearest package.json scope above a file (the package root when none)."""
        base = posixpath.dirname(path)
        while True:
            scope = self.package_json(base)
            if scope is not None:
                return scope
            if not base:
                return Scope("", {})
            base = posixpath.dirname(base)

    # -- files and directories --------------------------------------------------------------

    def as_file(self, path: str) -> str | None:
        """Node's LOAD_AS_FILE: the exact path, then each extension."""
        if path in self.files:
            return path
        for ext in EXTENSIONS:
            if path + ext in self.files:
                return path + ext
        return None

    def as_directory(self, path: str) -> str | None:
        """LOAD_AS_DIRECTORY: `package.json` main, then `index.*`."""
        if path not in self.dirs and path != "":
            return None
        scope = self.package_json(path)
        if scope is not None:
            main = scope.data.get("main")
            if isinstance(main, str) and main:
                target = normalize(posixpath.join(path, main))
                if target is not None:
                    found = self.as_file(target) or self.as_index(target)
                    if found is not None:
                        return found
        return self.as_index(path)

    def as_index(self, path: str) -> str | None:
        """`index.js`/`.json`/`.node`/… inside a directory."""
        for index in INDEXES:
            candidate = f"{path}/{index}" if path else index
            if candidate in self.files:
                return candidate
        return None

    def file_or_directory(self, path: str) -> str | None:
        """What `require(path)` loads for a path inside the package."""
        return self.as_file(path) or self.as_directory(path)

    # -- specifiers -------------------------------------------------------------------------

    def resolve(self, specifier: str, importer: str) -> list[str]:
        """Files a specifier in `importer` can load (several when a map has fallbacks)."""
        specifier = specifier.split("?", 1)[0]
        if specifier.startswith("file://"):
            specifier = specifier[len("file://") :]
        base = posixpath.dirname(importer)
        if specifier.startswith(("./", "../", "/")) or specifier in (".", ".."):
            path = normalize(posixpath.join(base, specifier))
            if path is None:
                return []
            found = self.file_or_directory(path)
            return [found] if found is not None else []
        if specifier.startswith("#"):
            return self._imports(self.scope_of(importer), specifier)
        match = _BARE.match(specifier)
        if match is None:
            return []
        name, rest = match.group(1), match.group(2) or ""
        own = self.scope_of(importer)
        if own.name == name:
            return self.package_entry(own, "." + rest)
        for directory in _ancestors(base):
            root = f"{directory}/node_modules/{name}" if directory else f"node_modules/{name}"
            if root in self.dirs:
                scope = self.package_json(root) or Scope(root, {})
                return self.package_entry(scope, "." + rest)
        return []

    def _imports(self, scope: Scope, specifier: str) -> list[str]:
        imports = scope.data.get("imports")
        if not isinstance(imports, dict):
            return []
        found: list[str] = []
        for value, star in match_key({str(k): v for k, v in imports.items()}, specifier):
            for target in map_targets(value):
                target = substitute(target, star)
                if target.startswith("./"):
                    path = normalize(posixpath.join(scope.base, target))
                    if path is not None and path in self.files:
                        found.append(path)
                else:
                    found.extend(self.resolve(target, f"{scope.base}/x" if scope.base else "x"))
        return found

    def package_entry(self, scope: Scope, subpath: str) -> list[str]:
        """What `require('<pkg><subpath>')` loads: exports when present, else main or a path."""
        exports = scope.data.get("exports")
        if exports is not None:
            found: list[str] = []
            for value, star in match_key(subpath_map(exports), subpath):
                for target in map_targets(value):
                    path = normalize(posixpath.join(scope.base, substitute(target, star)))
                    if path is not None and path in self.files:
                        found.append(path)
            return found
        path = normalize(posixpath.join(scope.base, subpath))
        if path is None:
            return []
        found_one = self.file_or_directory(path)
        return [found_one] if found_one is not None else []


def _ancestors(base: str) -> Iterator[str]:
    while True:
        yield base
        if not base:
            return
        base = posixpath.dirname(base)
