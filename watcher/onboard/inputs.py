"""The files `import` and `audit` read: the paths given, or the default locations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from watcher.onboard import OnboardError
from watcher.onboard.clients import ClientConfig, default_locations, read_client_config
from watcher.onboard.manifests import Project, is_manifest, read_project

#: Manifests `--discover` looks for in the current folder.
PROJECT_FILES = ("package.json", "pyproject.toml", "requirements.txt")


@dataclass(frozen=True, slots=True)
class Inputs:
    """Every configuration and project read, in the order given."""

    configs: tuple[ClientConfig, ...]
    projects: tuple[Project, ...]

    @property
    def files(self) -> tuple[str, ...]:
        """The files read, for report headers."""
        return tuple(c.file for c in self.configs) + tuple(p.manifest for p in self.projects)


def discovered(home: Path, cwd: Path) -> list[Path]:
    """The client configurations and project manifests that exist in the default places."""
    candidates = [*default_locations(home, cwd), *(cwd / n for n in PROJECT_FILES)]
    return [p for p in dict.fromkeys(candidates) if p.is_file()]


def read_inputs(paths: Sequence[Path], *, discover: bool, home: Path, cwd: Path) -> Inputs:
    """Read `paths` (and, with `discover`, the default locations); OnboardError on the first
    file that cannot be read, naming it."""
    files = list(paths)
    if discover:
        found = discovered(home, cwd)
        if not found and not files:
            where = ", ".join(str(p) for p in default_locations(home, cwd)[:3])
            raise OnboardError(
                f"--discover found no MCP client configuration or manifest (looked in {where}, "
                "and more); pass the files as PATH"
            )
        files.extend(found)
    if not files:
        raise OnboardError("nothing to read: pass configuration files as PATH, or --discover")
    configs: list[ClientConfig] = []
    projects: list[Project] = []
    seen: set[Path] = set()
    for path in files:
        key = path.resolve() if path.exists() else path
        if key in seen:
            continue
        seen.add(key)
        if not path.exists():
            raise OnboardError(f"{path}: no such file")
        if is_manifest(path):
            project = read_project(path)
            if project.manifest not in {p.manifest for p in projects}:
                projects.append(project)
        else:
            configs.append(read_client_config(path))
    return Inputs(tuple(configs), tuple(projects))
