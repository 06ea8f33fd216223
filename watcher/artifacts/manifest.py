"""Read what an artifact declares about itself from its own files, without running anything.

npm: `package.json`. PyPI: `*.dist-info/METADATA` (wheel) or `PKG-INFO` (sdist), with
`pyproject.toml`, `setup.py` (as text), `setup.cfg`, `entry_points.txt` (a wheel's dist-info or
an sdist's egg-info) and `*.pth` files. A file that does
not parse yields an empty field rather than an error: a broken manifest must not hide the rest
of the analysis.
"""

from __future__ import annotations

import configparser
import json
import tomllib
from collections.abc import Mapping
from email.parser import HeaderParser
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from watcher import gaps
from watcher.gaps import Gap
from watcher.models import ArtifactKind, Manifest, Snapshot

#: npm installs these alongside the package (peers automatically since npm 7).
NPM_DEPENDENCY_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")


def parse_manifest(snapshot: Snapshot) -> Manifest:
    """The manifest of one artifact."""
    if snapshot.kind is ArtifactKind.NPM_TARBALL:
        return _npm_manifest(snapshot)
    return _python_manifest(snapshot)


def _text(snapshot: Snapshot, path: str) -> str | None:
    entry = snapshot.files.get(path)
    return entry.text if entry is not None else None


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _npm_manifest(snapshot: Snapshot) -> Manifest:
    raw = _text(snapshot, "package.json")
    gaps: tuple[Gap, ...] = ()
    try:
        data = json.loads(raw) if raw is not None else {}
    # A package.json watcher cannot read hides its scripts and entry points: the rest is
    # still analysed, and the release is reported as not fully analysed (fail closed).
    # RecursionError: json nests by recursion, and a few thousand `[` exhaust it.
    # ValueError also covers integers longer than Python converts (int_max_str_digits).
    except (ValueError, RecursionError) as e:
        why = "nested too deep" if isinstance(e, RecursionError) else f"not valid JSON ({e})"
        gaps = (_manifest_gap(snapshot, "package.json", why),)
        data = {}
    if not isinstance(data, dict):
        gaps = gaps or (_manifest_gap(snapshot, "package.json", "not a JSON object"),)
        data = {}
    name = data.get("name") if isinstance(data.get("name"), str) else None
    dependencies: dict[str, str] = {}
    for field in NPM_DEPENDENCY_FIELDS:
        dependencies.update(_str_map(data.get(field)))
    raw_bin = data.get("bin")
    if isinstance(raw_bin, str):
        # A string `bin` is installed under the package's own (unscoped) name.
        bin_map = {(name or "").rsplit("/", 1)[-1]: raw_bin}
    else:
        bin_map = _str_map(raw_bin)
    repository = data.get("repository")
    if isinstance(repository, dict):
        repository = repository.get("url")
    return Manifest(
        name=name,
        version=data.get("version") if isinstance(data.get("version"), str) else None,
        scripts=_str_map(data.get("scripts")),
        dependencies=dependencies,
        bin=bin_map,
        repository=repository if isinstance(repository, str) else None,
        has_binding_gyp="binding.gyp" in snapshot.files,
        main=_str_or_none(data.get("main")),
        module=_str_or_none(data.get("module")),
        package_type=_str_or_none(data.get("type")),
        exports=data.get("exports"),
        imports=data.get("imports"),
        gaps=gaps,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _record_gap(snapshot: Snapshot, path: str, why: str) -> None:
    gap = _manifest_gap(snapshot, path, why)
    gaps.record(gap.reason, path=gap.path, sha256=gap.sha256)


def _manifest_gap(snapshot: Snapshot, path: str, why: str) -> Gap:
    entry = snapshot.files[path]
    return Gap(f"{path} could not be read: {why}", path=path, sha256=entry.sha256)


def _python_manifest(snapshot: Snapshot) -> Manifest:
    metadata_path = _find_metadata(snapshot)
    headers = (
        HeaderParser().parsestr(_text(snapshot, metadata_path) or "") if metadata_path else None
    )
    pyproject, why = _load_toml(_text(snapshot, "pyproject.toml"))
    gaps = (_manifest_gap(snapshot, "pyproject.toml", why),) if why else ()
    project = pyproject.get("project") if isinstance(pyproject.get("project"), dict) else {}
    assert isinstance(project, dict)

    requirements: list[str] = []
    if headers is not None:
        requirements = headers.get_all("Requires-Dist") or []
    if not requirements and isinstance(project.get("dependencies"), list):
        requirements = [r for r in project["dependencies"] if isinstance(r, str)]

    # Built metadata first (what the installer will register), then the source declarations.
    entry_points = (
        _entry_points_txt(snapshot, _find_entry_points_txt(snapshot, ".dist-info"))
        or _entry_points_txt(snapshot, _find_entry_points_txt(snapshot, ".egg-info"))
        or _pyproject_entry_points(project)
        or _setup_cfg_entry_points(_text(snapshot, "setup.cfg"))
    )
    build_system = pyproject.get("build-system")
    if not isinstance(build_system, dict):
        build_system = {}
    backend = build_system.get("build-backend")
    backend_path = build_system.get("backend-path")
    if isinstance(backend_path, str):
        backend_path = [backend_path]

    build_requires = build_system.get("requires")
    return Manifest(
        name=(headers.get("Name") if headers is not None else None) or project.get("name"),
        version=(headers.get("Version") if headers is not None else None) or project.get("version"),
        dependencies=_requirements_map(requirements),
        entry_points=entry_points,
        build_backend=backend if isinstance(backend, str) else None,
        backend_path=tuple(p for p in backend_path if isinstance(p, str))
        if isinstance(backend_path, list)
        else (),
        repository=_python_repository(headers, project),
        pth_files=tuple(sorted(p for p in snapshot.files if p.endswith(".pth"))),
        setup_py=_text(snapshot, "setup.py"),
        build_requires=_requirements_map(
            [r for r in build_requires if isinstance(r, str)]
            if isinstance(build_requires, list) and snapshot.kind is ArtifactKind.SDIST
            else []
        ),
        gaps=gaps,
    )


def _find_metadata(snapshot: Snapshot) -> str | None:
    if snapshot.kind is ArtifactKind.WHEEL:
        for path in snapshot.files:
            parts = path.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return path
        return None
    return "PKG-INFO" if "PKG-INFO" in snapshot.files else None


def _load_toml(text: str | None) -> tuple[dict[str, Any], str | None]:
    """The parsed TOML and, when it does not parse, why (pip's build would fail on it too)."""
    if text is None:
        return {}, None
    try:
        return tomllib.loads(text), None
    # The build backend and its requirements are unknown without it: the analysis goes on,
    # reported incomplete. RecursionError: tomllib nests by recursion like json.
    except tomllib.TOMLDecodeError as e:  # not a gap: the caller makes the reason one
        return {}, f"not valid TOML ({e})"
    except (RecursionError, ValueError):  # not a gap: the caller makes the reason one
        return {}, "nested too deep or out of range"


def _requirements_map(requirements: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in requirements:
        try:
            req = Requirement(line)
        # Metadata may carry anything; an unparseable requirement is kept verbatim.
        except InvalidRequirement:  # not a gap: kept verbatim for the dependency rules
            result[line.strip()] = ""
            continue
        spec = f"@ {req.url}" if req.url else str(req.specifier)
        if req.marker is not None:
            spec = f"{spec}; {req.marker}".lstrip()
        result[canonicalize_name(req.name)] = spec
    return result


def _find_entry_points_txt(snapshot: Snapshot, suffix: str) -> str | None:
    """`<name>.dist-info/entry_points.txt` at a wheel's root, or an sdist's `*.egg-info` one.

    setuptools writes the egg-info at the root or under `src/`: one directory deep at most.
    """
    for path in sorted(snapshot.files):
        parts = path.split("/")
        if parts[-1] == "entry_points.txt" and len(parts) >= 2 and parts[-2].endswith(suffix):
            if len(parts) == 2 or (len(parts) == 3 and suffix == ".egg-info"):
                return path
    return None


def _entry_points_txt(snapshot: Snapshot, path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    parser = _ini_parser()
    try:
        parser.read_string(_text(snapshot, path) or "")
    # The installer cannot read its entry points either; which of them run is now unknown.
    except configparser.Error as e:
        _record_gap(snapshot, path, f"not a valid entry-point file ({type(e).__name__})")
        return {}
    return {
        f"{section}:{name}": value.strip()
        for section in parser.sections()
        for name, value in parser.items(section)
    }


def _ini_parser() -> configparser.ConfigParser:
    """An INI parser as setuptools reads these files: `=` only, case kept, no interpolation."""
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    return parser


def _setup_cfg_entry_points(text: str | None) -> dict[str, str]:
    """`[options.entry_points]` of setup.cfg: each option is a group, its lines `name = target`."""
    if text is None:
        return {}
    parser = _ini_parser()
    try:
        parser.read_string(text)
    # setuptools fails on it too; the entry points it declares are unknown.
    except configparser.Error as e:
        gaps.record(f"setup.cfg could not be read ({type(e).__name__})", path="setup.cfg")
        return {}
    if not parser.has_section("options.entry_points"):
        return {}
    result: dict[str, str] = {}
    for group, value in parser.items("options.entry_points"):
        for line in value.splitlines():
            name, sep, target = line.partition("=")
            if sep and name.strip():
                result[f"{group}:{name.strip()}"] = target.strip()
    return result


def _pyproject_entry_points(project: Mapping[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    groups: dict[str, Any] = {
        "console_scripts": project.get("scripts"),
        "gui_scripts": project.get("gui-scripts"),
    }
    extra = project.get("entry-points")
    if isinstance(extra, dict):
        groups.update(extra)
    for group, entries in groups.items():
        for name, value in _str_map(entries).items():
            result[f"{group}:{name}"] = value
    return result


def _python_repository(headers: Any, project: Mapping[str, Any]) -> str | None:
    urls: dict[str, str] = {}
    if headers is not None:
        for value in headers.get_all("Project-URL") or []:
            label, _, url = value.partition(",")
            urls[label.strip().lower()] = url.strip()
    urls.update({k.lower(): v for k, v in _str_map(project.get("urls")).items()})
    for key in ("source", "source code", "repository", "code", "github", "homepage"):
        if urls.get(key):
            return urls[key]
    return None
