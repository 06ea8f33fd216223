"""Which MCP dependencies a pull request moves to another version: the GitHub Action's input.

`python -m watcher.ci_changes --base REF` compares the dependency files of the working tree
(the PR's head) with the same files at `REF` (`git show REF:path`) and prints one JSON object
per changed dependency: `{"ecosystem", "name", "old", "new"}` (`old` is null for a dependency
the PR adds). The action runs `watcher diff NAME OLD NEW` for each (`watcher scan` for added
ones).

Read: npm `package-lock.json` (lockfile v1-v3; every installed package, so a transitive MCP
server counts too) or, without a lock, the exact versions in `package.json`; Python
`requirements*.txt` (`name==version`), `uv.lock` and `poetry.lock`, and `==` pins in
`pyproject.toml`. Ranges are not versions: a range change with no lock change is not a release
change and is skipped.

"MCP dependency": a name that says so (`mcp`, `@modelcontextprotocol/…`, `…-mcp`, `mcp-…`,
`…mcp-server…`) or one of the packages in the subscription files; `--all` takes every
dependency. Nothing here downloads or runs anything.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from watcher.errors import SubscriptionError, UsageError

__all__ = ["Change", "changed", "is_mcp_name", "main", "versions_in"]

NPM_FILES = ("package-lock.json", "npm-shrinkwrap.json", "package.json")
PYPI_FILES = ("uv.lock", "poetry.lock", "pyproject.toml")
_REQUIREMENTS = re.compile(r"requirements[\w.-]*\.(?:txt|in)$")
_SKIP_DIRS = {"node_modules", ".git", ".venv", "venv", "site-packages"}

_MCP_NAME = re.compile(r"(^|[/@._-])mcp($|[._-])|^@modelcontextprotocol/", re.IGNORECASE)
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*===?\s*([^\s;#,]+)")
_EXACT_NPM = re.compile(r"^=?v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$")


@dataclass(frozen=True, slots=True, order=True)
class Change:
    """One dependency whose resolved version differs between base and head."""

    ecosystem: str
    name: str
    old: str | None
    new: str


def is_mcp_name(name: str) -> bool:
    """Whether a package name says it is an MCP server or SDK."""
    return bool(_MCP_NAME.search(name))


def _pypi_key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def versions_in(path: str, text: str) -> tuple[str, dict[str, str]]:
    """`(ecosystem, {name: version})` of one dependency file; ValueError when unreadable."""
    filename = PurePosixPath(path).name
    if filename in ("package-lock.json", "npm-shrinkwrap.json"):
        return "npm", _npm_lock(json.loads(text))
    if filename == "package.json":
        return "npm", _npm_manifest(json.loads(text))
    if filename in ("uv.lock", "poetry.lock"):
        doc = tomllib.loads(text)
        return "pypi", {
            _pypi_key(str(p["name"])): str(p["version"])
            for p in doc.get("package", [])
            if isinstance(p, dict) and "name" in p and "version" in p
        }
    if filename == "pyproject.toml":
        project = tomllib.loads(text).get("project", {})
        return "pypi", _pins(project.get("dependencies", []))
    if _REQUIREMENTS.search(filename):
        return "pypi", _pins(text.splitlines())
    raise ValueError(f"{path}: not a dependency file this tool reads")


def _npm_lock(doc: Mapping[str, object]) -> dict[str, str]:
    found: dict[str, str] = {}
    packages = doc.get("packages")
    if isinstance(packages, dict):  # lockfile v2/v3: keys are install paths
        for where, entry in packages.items():
            if not where or not isinstance(entry, dict) or entry.get("link"):
                continue
            name = entry.get("name") or where.rsplit("node_modules/", 1)[-1]
            if isinstance(entry.get("version"), str):
                # Several copies of one package: keep the hoisted (shortest path) one.
                found.setdefault(str(name), str(entry["version"]))
        return found

    def walk(deps: object) -> None:  # lockfile v1: nested "dependencies"
        if not isinstance(deps, dict):
            return
        for name, entry in deps.items():
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                found.setdefault(str(name), entry["version"])
                walk(entry.get("dependencies"))

    walk(doc.get("dependencies"))
    return found


def _npm_manifest(doc: Mapping[str, object]) -> dict[str, str]:
    found: dict[str, str] = {}
    for field in ("dependencies", "devDependencies", "optionalDependencies"):
        deps = doc.get(field)
        if isinstance(deps, dict):
            for name, spec in deps.items():
                match = _EXACT_NPM.match(str(spec).strip())
                if match:
                    found[str(name)] = match[1]
    return found


def _pins(lines: Iterable[object]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        match = _PIN.match(str(line))
        if match and not str(line).lstrip().startswith(("#", "-")):
            found[_pypi_key(match[1])] = match[2]
    return found


def changed(
    base: Mapping[str, Mapping[str, str]],
    head: Mapping[str, Mapping[str, str]],
    wanted: Mapping[str, set[str]] | None = None,
) -> list[Change]:
    """Dependencies (per ecosystem) whose version differs or that head adds, sorted.

    `wanted` limits the result to MCP names plus those per-ecosystem names (subscriptions);
    None takes everything. A dependency the PR removes is not a release to review.
    """
    found: set[Change] = set()
    for ecosystem, versions in head.items():
        before = base.get(ecosystem, {})
        extra = (wanted or {}).get(ecosystem, set())
        for name, version in versions.items():
            if wanted is not None and not (is_mcp_name(name) or _norm(ecosystem, name) in extra):
                continue
            if before.get(name) != version:
                found.add(Change(ecosystem, name, before.get(name), version))
    return sorted(found)


def _norm(ecosystem: str, name: str) -> str:
    return _pypi_key(name) if ecosystem == "pypi" else name


def dependency_files(root: Path) -> list[str]:
    """Dependency files under `root` (relative POSIX paths), vendored trees skipped.

    With a lock beside it, `package.json` / `pyproject.toml` only add noise: the lock decides.
    """
    files: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts) or not path.is_file():
            continue
        name = path.name
        if name in NPM_FILES + PYPI_FILES or _REQUIREMENTS.search(name):
            siblings = {p.name for p in path.parent.iterdir()}
            if name == "package.json" and siblings & {"package-lock.json", "npm-shrinkwrap.json"}:
                continue
            if name == "pyproject.toml" and siblings & {"uv.lock", "poetry.lock"}:
                continue
            files.append(rel.as_posix())
    return files


def _git_show(root: Path, ref: str, path: str) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(root), "show", f"{ref}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout if result.returncode == 0 else None


def collect(
    root: Path, base_ref: str
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
    """`(base, head)` versions per ecosystem, head from the working tree, base from git."""
    verify = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{base_ref}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if verify.returncode != 0:
        raise UsageError(f"--base {base_ref!r} is not a commit in {root} (fetch it first)")
    base: dict[str, dict[str, str]] = {}
    head: dict[str, dict[str, str]] = {}
    for rel in dependency_files(root):
        try:
            ecosystem, now = versions_in(rel, (root / rel).read_text(encoding="utf-8"))
        except (ValueError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise UsageError(f"{rel}: cannot read dependencies: {e}") from e
        head.setdefault(ecosystem, {}).update(now)
        old = _git_show(root, base_ref, rel)
        if old is not None:
            try:
                base.setdefault(ecosystem, {}).update(versions_in(rel, old)[1])
            except (ValueError, tomllib.TOMLDecodeError):
                pass  # unreadable at base: everything in it counts as added
    return base, head


def _subscribed(path: Path | None) -> dict[str, set[str]]:
    if path is None or not path.exists():
        return {}
    from watcher.subscriptions import load_subscriptions

    names: dict[str, set[str]] = {}
    for sub in load_subscriptions(path):
        names.setdefault(sub.ecosystem.value, set()).add(_norm(sub.ecosystem.value, sub.name))
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Print the changed MCP dependencies as JSON lines; 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m watcher.ci_changes", description=__doc__)
    parser.add_argument("--base", required=True, help="the PR's base commit (sha or ref)")
    parser.add_argument("--root", type=Path, default=Path("."), help="the checked-out head")
    parser.add_argument(
        "--subscriptions", type=Path, help="also count the packages named in these files"
    )
    parser.add_argument("--all", action="store_true", help="every dependency, not only MCP")
    args = parser.parse_args(argv)
    try:
        base, head = collect(args.root, args.base)
        wanted = None if args.all else _subscribed(args.subscriptions)
    except (UsageError, SubscriptionError) as e:
        print(f"ci_changes: error: {e}", file=sys.stderr)
        return 2
    for change in changed(base, head, wanted):
        print(json.dumps(asdict(change)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
