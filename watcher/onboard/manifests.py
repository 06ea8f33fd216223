"""Project manifests and lock files: which MCP packages a project installs, and how firmly.

Read: `package.json` with `package-lock.json` / `npm-shrinkwrap.json`, `pnpm-lock.yaml` or
`yarn.lock` (classic and berry) next to it; `requirements*.txt` (pins and `--hash`);
`pyproject.toml` (`[project]` and Poetry dependencies) with `uv.lock` or `poetry.lock`.
Enough to answer three questions: which dependencies float (a range and no lock), which
resolved version a lock file holds, and whether the lock carries integrity hashes.

The YAML and yarn lock formats are read line by line, not parsed in full: only package keys,
versions and integrity fields matter, and no YAML library is a runtime dependency.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.ci_changes import is_mcp_name
from watcher.models import Ecosystem
from watcher.onboard import OnboardError
from watcher.onboard.jsonc import read_capped
from watcher.onboard.launchers import is_exact, split_npm_spec, split_pypi_spec

#: Lock files of large monorepos run to tens of megabytes; beyond this is not a lock file.
MAX_MANIFEST_BYTES = 64 * 1024 * 1024

NPM_LOCKS = ("npm-shrinkwrap.json", "package-lock.json", "pnpm-lock.yaml", "yarn.lock")
PYTHON_LOCKS = ("uv.lock", "poetry.lock")
MANIFEST_NAMES = ("package.json", "pyproject.toml", *NPM_LOCKS, *PYTHON_LOCKS)


@dataclass(frozen=True, slots=True)
class Locked:
    """A package's entry in a lock file."""

    version: str
    integrity: bool


@dataclass(frozen=True, slots=True)
class Dependency:
    """A direct dependency of a project, and what its lock file says about it."""

    ecosystem: Ecosystem
    name: str
    #: The spec as written (`^1.2.0`, `==1.0`, `1.2.3`); None: any version.
    spec: str | None
    #: The exact version the manifest itself names, when it names one.
    exact: str | None
    #: The lock file's resolved version (None: no lock, or the lock lacks it).
    locked: str | None
    #: Whether the lock (or a `--hash` line) carries an integrity hash; None: nothing locked.
    integrity: bool | None

    @property
    def is_mcp(self) -> bool:
        """An MCP server or SDK by its name (what `import` and `audit` report on); the same
        test as the GitHub Action's (`watcher.ci_changes`)."""
        return is_mcp_name(self.name)


@dataclass(frozen=True, slots=True)
class Project:
    """One manifest and its lock file."""

    manifest: str
    ecosystem: Ecosystem
    lockfile: str | None
    dependencies: tuple[Dependency, ...]
    #: Names of locked packages without an integrity hash (all of the lock, not only direct).
    unhashed: tuple[str, ...] = ()
    locked_count: int = 0


def is_manifest(path: Path) -> bool:
    """Whether `path` is a manifest or lock file (rather than a client configuration)."""
    name = path.name.lower()
    return name in MANIFEST_NAMES or (name.startswith("requirements") and name.endswith(".txt"))


def _text(path: Path) -> str:
    data = read_capped(path, MAX_MANIFEST_BYTES)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise OnboardError(f"{path}: not UTF-8 text (byte {e.start})") from e


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_text(path))
    except ValueError as e:
        raise OnboardError(f"{path}: invalid JSON: {e}") from e
    except RecursionError as e:
        raise OnboardError(f"{path}: invalid JSON: nested too deeply") from e
    if not isinstance(data, dict):
        raise OnboardError(f"{path}: must be a JSON object")
    return data


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(path))
    except tomllib.TOMLDecodeError as e:
        raise OnboardError(f"{path}: invalid TOML: {e}") from e
    except RecursionError as e:
        raise OnboardError(f"{path}: invalid TOML: nested too deeply") from e


def read_project(path: Path) -> Project:
    """The project a manifest or lock file belongs to; raises OnboardError naming the file."""
    name = path.name.lower()
    if name.startswith("requirements") and name.endswith(".txt"):
        return _requirements(path)
    if name in ("pyproject.toml", *PYTHON_LOCKS):
        return _pyproject(path.parent / "pyproject.toml" if name != "pyproject.toml" else path)
    manifest = path.parent / "package.json" if name != "package.json" else path
    return _package_json(manifest, path if name in NPM_LOCKS else None)


# --- npm ------------------------------------------------------------------------------------


def _package_json(path: Path, lock: Path | None) -> Project:
    data = _json(path) if path.is_file() or lock is None else {}
    specs: dict[str, str] = {}
    for section in ("dependencies", "devDependencies", "optionalDependencies"):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise OnboardError(f"{path}: {section}: must be an object")
        for dep, spec in table.items():
            if not isinstance(spec, str):
                raise OnboardError(f"{path}: {section}.{dep}: must be a version string")
            specs.setdefault(str(dep), spec)
    lock = lock or next((path.parent / n for n in NPM_LOCKS if (path.parent / n).is_file()), None)
    locked: Mapping[str, Locked] = _npm_lock(lock) if lock is not None else {}
    if not specs and lock is not None:
        # A lock file given alone: its packages are the dependencies.
        specs = {n: e.version for n, e in locked.items()}
    deps = []
    for dep, spec in specs.items():
        entry = locked.get(dep)
        deps.append(
            Dependency(
                Ecosystem.NPM,
                dep,
                spec,
                spec if is_exact(Ecosystem.NPM, spec) else None,
                entry.version if entry else None,
                entry.integrity if entry else None,
            )
        )
    unhashed = tuple(sorted(n for n, e in locked.items() if not e.integrity))
    return Project(
        str(path if path.is_file() else lock),
        Ecosystem.NPM,
        str(lock) if lock else None,
        tuple(deps),
        unhashed,
        len(locked),
    )


def _npm_lock(path: Path) -> dict[str, Locked]:
    name = path.name.lower()
    if name == "pnpm-lock.yaml":
        return dict(_pnpm_lock(_text(path)))
    if name == "yarn.lock":
        return dict(_yarn_lock(_text(path)))
    data = _json(path)
    found: dict[str, Locked] = {}
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            if not key.startswith("node_modules/") or not isinstance(entry, dict):
                continue
            dep = key.rsplit("node_modules/", 1)[1]
            version = entry.get("version")
            if isinstance(version, str) and not entry.get("link"):
                # Nested copies share the name; the top-level one is what the project runs.
                found.setdefault(dep, Locked(version, bool(entry.get("integrity"))))
        return found
    dependencies = data.get("dependencies")  # lockfileVersion 1
    if isinstance(dependencies, dict):
        for dep, entry in dependencies.items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                found[dep] = Locked(entry["version"], bool(entry.get("integrity")))
    return found


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _pnpm_key(key: str) -> tuple[str, str] | None:
    """`/@s/p@1.0.0(peer@1)`, `@s/p@1.0.0` (v6, v9) or `/@s/p/1.0.0` (v5) → name, version."""
    key = _unquote(key).lstrip("/").split("(", 1)[0]
    at = key.find("@", 1)
    if at > 0:
        return key[:at], key[at + 1 :]
    slash = key.rfind("/")
    return (key[:slash], key[slash + 1 :]) if slash > 0 else None


def _pnpm_lock(text: str) -> Iterator[tuple[str, Locked]]:
    in_packages = False
    current: tuple[str, str] | None = None
    integrity = False
    for line in text.splitlines():
        if line and not line[0].isspace():
            in_packages = line.rstrip() == "packages:"
            continue
        if not in_packages or not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 2 and line.rstrip().endswith(":"):
            if current is not None:
                yield current[0], Locked(current[1], integrity)
            current, integrity = _pnpm_key(line.strip()[:-1]), False
        elif current is not None and "integrity:" in line:
            integrity = True
    if current is not None:
        yield current[0], Locked(current[1], integrity)


def _yarn_lock(text: str) -> Iterator[tuple[str, Locked]]:
    names: list[str] = []
    version: str | None = None
    integrity = False

    def flush() -> Iterator[tuple[str, Locked]]:
        if version is not None:
            for dep in names:
                yield dep, Locked(version, integrity)

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            yield from flush()
            names, version, integrity = [], None, False
            if line.rstrip().endswith(":") and not line.startswith("__metadata"):
                for spec in line.rstrip()[:-1].split(","):
                    names.append(split_npm_spec(_unquote(spec))[0])
            continue
        stripped = line.strip()
        if stripped.startswith("version"):
            version = _unquote(stripped[len("version") :].lstrip(":").strip())
        elif stripped.startswith(("integrity", "checksum")):
            integrity = True
    yield from flush()


# --- Python ---------------------------------------------------------------------------------


def _requirement_lines(text: str) -> Iterator[str]:
    """Logical lines: continuations joined, comments dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip():
            yield line.strip()
    if pending.strip():
        yield pending.strip()


def _requirements(path: Path) -> Project:
    deps: list[Dependency] = []
    for line in _requirement_lines(_text(path)):
        if line.startswith("-"):
            continue  # -r, -c, --index-url and other options
        requirement, *options = line.split(" --")
        hashed = any(o.startswith("hash") for o in options)
        name, spec, exact = split_pypi_spec(requirement.strip())
        if not name or _local_requirement(requirement):
            continue
        deps.append(Dependency(Ecosystem.PYPI, name, spec, exact, exact, hashed if exact else None))
    pinned = bool(deps) and all(d.exact for d in deps)
    return Project(
        str(path),
        Ecosystem.PYPI,
        str(path) if pinned else None,
        tuple(deps),
        tuple(d.name for d in deps if d.exact and not d.integrity),
        sum(1 for d in deps if d.exact),
    )


def _local_requirement(requirement: str) -> bool:
    return (
        requirement.startswith((".", "/", "git+", "http:", "https:", "file:"))
        or " @ " in requirement
    )


def _pyproject(path: Path) -> Project:
    data = _toml(path) if path.is_file() else {}
    specs: list[str] = []
    project = data.get("project", {})
    if isinstance(project, dict):
        listed = project.get("dependencies", [])
        if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
            raise OnboardError(f"{path}: project.dependencies: must be a list of strings")
        specs.extend(listed)
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    poetry_deps = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
    if isinstance(poetry_deps, dict):
        for dep, spec in poetry_deps.items():
            if dep.lower() == "python":
                continue
            version = spec.get("version", "*") if isinstance(spec, dict) else spec
            specs.append(_poetry_spec(str(dep), str(version)))
    lock = next((path.parent / n for n in PYTHON_LOCKS if (path.parent / n).is_file()), None)
    locked = _python_lock(lock) if lock is not None else {}
    deps = []
    for text in specs:
        name, spec, exact = split_pypi_spec(text)
        if not name:
            continue
        entry = locked.get(_pep503(name))
        deps.append(
            Dependency(
                Ecosystem.PYPI,
                name,
                spec,
                exact,
                entry.version if entry else None,
                entry.integrity if entry else None,
            )
        )
    return Project(
        str(path),
        Ecosystem.PYPI,
        str(lock) if lock else None,
        tuple(deps),
        tuple(sorted(n for n, e in locked.items() if not e.integrity)),
        len(locked),
    )


def _poetry_spec(name: str, version: str) -> str:
    """Poetry's `^1.2` / `1.2.3` / `*` as a PEP 508 string (exact when Poetry's is)."""
    if version in ("*", ""):
        return name
    if version[0].isdigit():
        return f"{name}=={version}"
    return f"{name}{version}" if version[0] in "=<>!~" else f"{name}~={version.lstrip('^~')}"


def _pep503(name: str) -> str:
    out: list[str] = []
    dash = False
    for c in name.lower():
        if c in "-_.":
            dash = True
            continue
        if dash and out:
            out.append("-")
        dash = False
        out.append(c)
    return "".join(out)


def _python_lock(path: Path) -> dict[str, Locked]:
    data = _toml(path)
    found: dict[str, Locked] = {}
    metadata = data.get("metadata")
    files = metadata.get("files") if isinstance(metadata, dict) else None
    # poetry.lock before 1.5 keeps the hashes in `[metadata.files]`, by name.
    metadata_files: Mapping[str, Any] = files if isinstance(files, dict) else {}
    for entry in _tables(data.get("package", [])):
        name, version = entry.get("name"), entry.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            continue
        hashes = _has_hash(entry.get("sdist")) or any(
            _has_hash(w) for w in _tables(entry.get("wheels", []))
        )
        hashes = hashes or any(_has_hash(f) for f in _tables(entry.get("files", [])))
        hashes = hashes or any(_has_hash(f) for f in _tables(metadata_files.get(name, [])))
        # uv.lock lists the project itself and path dependencies without hashes: not downloads.
        source = entry.get("source", {})
        if isinstance(source, dict) and (
            {"editable", "virtual", "directory", "path"} & set(source)
        ):
            continue
        found[_pep503(name)] = Locked(version, hashes)
    return found


def _tables(value: object) -> Iterable[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _has_hash(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("hash"), str) and bool(value["hash"])
