"""Manifests and lock files of each kind: resolved versions and integrity hashes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watcher.onboard import OnboardError
from watcher.onboard.manifests import Dependency, read_project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_name(deps: tuple[Dependency, ...]) -> dict[str, Dependency]:
    return {d.name: d for d in deps}


PACKAGE_JSON = json.dumps(
    {
        "name": "app",
        "dependencies": {"@modelcontextprotocol/sdk": "^1.0.0", "left-pad": "1.3.0"},
        "devDependencies": {"mcp-helper": "~2.0.0"},
    }
)


def test_package_json_without_a_lock(tmp_path: Path) -> None:
    project = read_project(write(tmp_path / "package.json", PACKAGE_JSON))
    assert project.lockfile is None
    deps = by_name(project.dependencies)
    sdk = deps["@modelcontextprotocol/sdk"]
    assert (sdk.spec, sdk.exact, sdk.locked, sdk.integrity, sdk.is_mcp) == (
        "^1.0.0",
        None,
        None,
        None,
        True,
    )
    assert deps["left-pad"].exact == "1.3.0" and not deps["left-pad"].is_mcp


def test_package_lock_v3_with_and_without_integrity(tmp_path: Path) -> None:
    write(tmp_path / "package.json", PACKAGE_JSON)
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/@modelcontextprotocol/sdk": {
                "version": "1.4.1",
                "integrity": "sha512-" + "A" * 86 + "==",
            },
            "node_modules/mcp-helper": {"version": "2.0.3"},
            "node_modules/x/node_modules/mcp-helper": {"version": "1.0.0", "integrity": "sha1-x"},
        },
    }
    write(tmp_path / "package-lock.json", json.dumps(lock))
    project = read_project(tmp_path / "package.json")
    assert project.lockfile == str(tmp_path / "package-lock.json")
    deps = by_name(project.dependencies)
    assert (
        deps["@modelcontextprotocol/sdk"].locked,
        deps["@modelcontextprotocol/sdk"].integrity,
    ) == ("1.4.1", True)
    assert (deps["mcp-helper"].locked, deps["mcp-helper"].integrity) == ("2.0.3", False)
    assert project.unhashed == ("mcp-helper",)


def test_package_lock_v1(tmp_path: Path) -> None:
    write(tmp_path / "package.json", PACKAGE_JSON)
    write(
        tmp_path / "package-lock.json",
        json.dumps(
            {
                "lockfileVersion": 1,
                "dependencies": {"mcp-helper": {"version": "2.0.1", "integrity": "sha512-x"}},
            }
        ),
    )
    assert (
        by_name(read_project(tmp_path / "package-lock.json").dependencies)["mcp-helper"].locked
        == "2.0.1"
    )


@pytest.mark.parametrize(
    "pnpm",
    [
        # v9
        "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: {}\npackages:\n"
        "  '@modelcontextprotocol/sdk@1.4.1':\n    resolution: {integrity: sha512-abc}\n"
        "  mcp-helper@2.0.3:\n    resolution: {tarball: https://t.invalid/x.tgz}\n",
        # v6, with a peer suffix
        "lockfileVersion: '6.0'\npackages:\n"
        "  /@modelcontextprotocol/sdk@1.4.1(zod@3.0.0):\n    resolution: {integrity: sha512-abc}\n"
        "    dev: false\n  /mcp-helper@2.0.3:\n    resolution: {tarball: x}\n",
        # v5
        "lockfileVersion: 5.4\npackages:\n"
        "  /@modelcontextprotocol/sdk/1.4.1:\n    resolution: {integrity: sha512-abc}\n"
        "  /mcp-helper/2.0.3:\n    dev: true\n",
    ],
)
def test_pnpm_lock_versions(tmp_path: Path, pnpm: str) -> None:
    write(tmp_path / "package.json", PACKAGE_JSON)
    write(tmp_path / "pnpm-lock.yaml", pnpm)
    deps = by_name(read_project(tmp_path / "package.json").dependencies)
    assert (
        deps["@modelcontextprotocol/sdk"].locked,
        deps["@modelcontextprotocol/sdk"].integrity,
    ) == ("1.4.1", True)
    assert (deps["mcp-helper"].locked, deps["mcp-helper"].integrity) == ("2.0.3", False)


@pytest.mark.parametrize(
    "yarn",
    [
        "# yarn lockfile v1\n\n"
        '"@modelcontextprotocol/sdk@^1.0.0", "@modelcontextprotocol/sdk@^1.1.0":\n'
        '  version "1.4.1"\n  resolved "https://r.invalid/sdk.tgz"\n  integrity sha512-abc\n\n'
        'mcp-helper@~2.0.0:\n  version "2.0.3"\n  resolved "https://r.invalid/h.tgz"\n',
        '__metadata:\n  version: 6\n\n"@modelcontextprotocol/sdk@npm:^1.0.0":\n  version: 1.4.1\n'
        '  checksum: abc123\n\n"mcp-helper@npm:~2.0.0":\n  version: 2.0.3\n  languageName: node\n',
    ],
)
def test_yarn_lock_classic_and_berry(tmp_path: Path, yarn: str) -> None:
    write(tmp_path / "package.json", PACKAGE_JSON)
    write(tmp_path / "yarn.lock", yarn)
    deps = by_name(read_project(tmp_path / "yarn.lock").dependencies)
    assert (
        deps["@modelcontextprotocol/sdk"].locked,
        deps["@modelcontextprotocol/sdk"].integrity,
    ) == ("1.4.1", True)
    assert (deps["mcp-helper"].locked, deps["mcp-helper"].integrity) == ("2.0.3", False)


def test_requirements_pins_hashes_and_ranges(tmp_path: Path) -> None:
    path = write(
        tmp_path / "requirements-mcp.txt",
        "# servers\n-r base.txt\n--index-url https://pypi.invalid/simple\n"
        "mcp==1.9.4 \\\n    --hash=sha256:" + "a" * 64 + "\n"
        "mcp-server-fetch==2025.4.7  # no hash\n"
        "mcp-server-git>=2025.1\n"
        "./local-pkg\n",
    )
    project = read_project(path)
    deps = by_name(project.dependencies)
    assert (deps["mcp"].exact, deps["mcp"].integrity) == ("1.9.4", True)
    assert (deps["mcp-server-fetch"].exact, deps["mcp-server-fetch"].integrity) == (
        "2025.4.7",
        False,
    )
    assert (deps["mcp-server-git"].exact, deps["mcp-server-git"].locked) == (None, None)
    assert "./local-pkg" not in deps and project.lockfile is None


def test_pyproject_with_uv_lock(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "app"\ndependencies = ["mcp[cli]>=1.2", "mcp-server-time"]\n',
    )
    write(
        tmp_path / "uv.lock",
        'version = 1\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
        'source = { editable = "." }\n\n'
        '[[package]]\nname = "mcp"\nversion = "1.9.4"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        'sdist = { url = "https://f.invalid/mcp.tar.gz", hash = "sha256:abc" }\n\n'
        '[[package]]\nname = "mcp-server-time"\nversion = "0.6.2"\n'
        'source = { registry = "https://pypi.org/simple" }\n',
    )
    project = read_project(tmp_path / "pyproject.toml")
    deps = by_name(project.dependencies)
    assert (deps["mcp"].spec, deps["mcp"].locked, deps["mcp"].integrity) == (">=1.2", "1.9.4", True)
    assert (deps["mcp-server-time"].locked, deps["mcp-server-time"].integrity) == ("0.6.2", False)
    assert project.unhashed == ("mcp-server-time",)


def test_poetry_with_poetry_lock(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[tool.poetry.dependencies]\npython = "^3.11"\nmcp = "^1.2"\n'
        'mcp-server-git = "2025.1.14"\n',
    )
    write(
        tmp_path / "poetry.lock",
        '[[package]]\nname = "mcp"\nversion = "1.9.4"\n'
        'files = [{file = "mcp.whl", hash = "sha256:abc"}]\n\n'
        '[[package]]\nname = "mcp-server-git"\nversion = "2025.1.14"\nfiles = []\n',
    )
    deps = by_name(read_project(tmp_path / "poetry.lock").dependencies)
    assert (deps["mcp"].locked, deps["mcp"].integrity, deps["mcp"].exact) == ("1.9.4", True, None)
    assert (deps["mcp-server-git"].exact, deps["mcp-server-git"].integrity) == ("2025.1.14", False)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("package.json", "{", "invalid JSON"),
        ("package.json", '{"dependencies": []}', "dependencies: must be an object"),
        ("package.json", '{"dependencies": {"a": 1}}', "dependencies.a: must be a version string"),
        ("pyproject.toml", "[project\n", "invalid TOML"),
        (
            "pyproject.toml",
            '[project]\ndependencies = "mcp"\n',
            "project.dependencies: must be a list",
        ),
    ],
)
def test_malformed_manifests(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(OnboardError) as caught:
        read_project(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_old_poetry_lock_keeps_hashes_under_metadata_files(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.poetry.dependencies]\nmcp = "1.9.4"\n')
    write(
        tmp_path / "poetry.lock",
        '[[package]]\nname = "mcp"\nversion = "1.9.4"\n\n'
        '[metadata.files]\nmcp = [{file = "mcp.whl", hash = "sha256:abc"}]\n',
    )
    [dep] = read_project(tmp_path / "pyproject.toml").dependencies
    assert (dep.locked, dep.integrity) == ("1.9.4", True)
    write(
        tmp_path / "poetry.lock",
        '[metadata]\nfiles = []\n[[package]]\nname = "mcp"\nversion = "1.9.4"\n',
    )
    [dep] = read_project(tmp_path / "pyproject.toml").dependencies
    assert (dep.locked, dep.integrity) == ("1.9.4", False)
