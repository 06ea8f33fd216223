"""Manifests parsed from an artifact's own files, never by running them."""

from __future__ import annotations

from watcher.artifacts.manifest import parse_manifest
from watcher.models import ArtifactKind, FileEntry, Snapshot


def snap(kind: ArtifactKind, files: dict[str, str]) -> Snapshot:
    return Snapshot("x", kind, {p: FileEntry.of(p, v.encode()) for p, v in files.items()})


def test_npm_package_json() -> None:
    manifest = parse_manifest(
        snap(
            ArtifactKind.NPM_TARBALL,
            {
                "package.json": """{"name": "@s/tool", "version": "1.2.3",
                "scripts": {"postinstall": "node x.js", "bad": 3},
                "dependencies": {"a": "^1"}, "optionalDependencies": {"b": "2"},
                "peerDependencies": {"c": "*"}, "devDependencies": {"d": "1"},
                "bin": "cli.js", "repository": {"type": "git", "url": "git+https://g/x.git"}}""",
                "binding.gyp": "{}",
            },
        )
    )
    assert manifest.name == "@s/tool" and manifest.version == "1.2.3"
    assert manifest.scripts == {"postinstall": "node x.js"}
    assert manifest.dependencies == {"a": "^1", "b": "2", "c": "*"}
    assert manifest.bin == {"tool": "cli.js"}
    assert manifest.repository == "git+https://g/x.git"
    assert manifest.has_binding_gyp


def test_broken_package_json_gives_an_empty_manifest_not_an_error() -> None:
    manifest = parse_manifest(snap(ArtifactKind.NPM_TARBALL, {"package.json": "{nope"}))
    assert manifest.scripts == {} and manifest.name is None


def test_wheel_metadata_entry_points_and_pth() -> None:
    manifest = parse_manifest(
        snap(
            ArtifactKind.WHEEL,
            {
                "pkg-1.0.dist-info/METADATA": (
                    "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
                    "Requires-Dist: Requests>=2\nRequires-Dist: evil @ https://x.invalid/e.tgz\n"
                    "Requires-Dist: tomli; python_version < '3.11'\n"
                    "Project-URL: Source, https://github.com/o/pkg\n"
                ),
                "pkg-1.0.dist-info/entry_points.txt": "[console_scripts]\npkg = pkg.cli:main\n",
                "pkg_init.pth": "import os\n",
                "pkg/__init__.py": "",
            },
        )
    )
    assert manifest.name == "pkg" and manifest.version == "1.0"
    assert manifest.dependencies["requests"] == ">=2"
    assert manifest.dependencies["evil"] == "@ https://x.invalid/e.tgz"
    assert manifest.dependencies["tomli"] == '; python_version < "3.11"'
    assert manifest.entry_points == {"console_scripts:pkg": "pkg.cli:main"}
    assert manifest.pth_files == ("pkg_init.pth",)
    assert manifest.repository == "https://github.com/o/pkg"


def test_sdist_pyproject_fallbacks_and_setup_py_text() -> None:
    manifest = parse_manifest(
        snap(
            ArtifactKind.SDIST,
            {
                "pyproject.toml": (
                    '[build-system]\nbuild-backend = "hatchling.build"\n'
                    '[project]\nname = "pkg"\nversion = "2.0"\ndependencies = ["httpx"]\n'
                    '[project.scripts]\npkg = "pkg:main"\n'
                ),
                "setup.py": "from setuptools import setup\nsetup()\n",
            },
        )
    )
    assert manifest.build_backend == "hatchling.build"
    assert manifest.dependencies == {"httpx": ""}
    assert manifest.entry_points == {"console_scripts:pkg": "pkg:main"}
    assert manifest.setup_py is not None and "setup()" in manifest.setup_py
    assert manifest.backend_path == ()


def test_in_tree_backend_path() -> None:
    manifest = parse_manifest(
        snap(
            ArtifactKind.SDIST,
            {
                "pyproject.toml": (
                    '[build-system]\nrequires = []\nbuild-backend = "_build"\n'
                    'backend-path = [".", "tools", 3]\n'
                ),
            },
        )
    )
    assert manifest.build_backend == "_build"
    assert manifest.backend_path == (".", "tools")


def test_sdist_egg_info_entry_points_root_or_src() -> None:
    for prefix in ("", "src/"):
        manifest = parse_manifest(
            snap(
                ArtifactKind.SDIST,
                {
                    "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
                    f"{prefix}pkg.egg-info/entry_points.txt": "[console_scripts]\nPkg = pkg:main\n",
                    "pkg/vendored/x.egg-info/entry_points.txt": "[console_scripts]\nno = x:y\n",
                },
            )
        )
        assert manifest.entry_points == {"console_scripts:Pkg": "pkg:main"}, prefix


def test_setup_cfg_entry_points() -> None:
    manifest = parse_manifest(
        snap(
            ArtifactKind.SDIST,
            {
                "setup.cfg": (
                    "[metadata]\nname = pkg\n\n[options.entry_points]\n"
                    "console_scripts =\n    pkg = pkg.cli:main\n    pkg-admin = pkg.admin:main\n"
                    "pytest11 = pkg = pkg.plugin\n"
                ),
            },
        )
    )
    assert manifest.entry_points == {
        "console_scripts:pkg": "pkg.cli:main",
        "console_scripts:pkg-admin": "pkg.admin:main",
        "pytest11:pkg": "pkg.plugin",
    }


def test_broken_setup_cfg_gives_no_entry_points() -> None:
    manifest = parse_manifest(snap(ArtifactKind.SDIST, {"setup.cfg": "console_scripts = x\n"}))
    assert manifest.entry_points == {}
