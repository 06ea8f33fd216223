"""Manifest parsers over random JSON, e-mail headers, TOML and INI text.

A broken manifest must never stop an analysis: `parse_manifest` always returns a `Manifest`
whose fields have their declared types (strings where strings are promised).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from watcher.artifacts.manifest import parse_manifest
from watcher.models import ArtifactKind, FileEntry, Manifest, Snapshot

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
KEYS = st.sampled_from(
    [
        "name",
        "version",
        "scripts",
        "dependencies",
        "optionalDependencies",
        "peerDependencies",
        "bin",
        "repository",
        "project",
        "build-system",
        "urls",
        "scripts",
        "entry-points",
    ]
)
#: JSON objects that use the keys the parser reads, with anything as values.
MANIFEST_JSON = st.dictionaries(KEYS, JSON, max_size=8)
TEXT = st.text(max_size=300)
HEADER_TEXT = st.lists(
    st.tuples(
        st.sampled_from(["Name", "Version", "Requires-Dist", "Project-URL", "X", "Name "]),
        st.text(max_size=60),
    ),
    max_size=8,
).map(lambda pairs: "".join(f"{k}: {v}\n" for k, v in pairs))


def _snapshot(kind: ArtifactKind, files: dict[str, str | bytes]) -> Snapshot:
    entries = {
        path: FileEntry.of(
            path, data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        )
        for path, data in files.items()
    }
    return Snapshot(filename="x", kind=kind, files=entries)


def _str_map(value: Any) -> bool:
    return all(isinstance(k, str) and isinstance(v, str) for k, v in dict(value).items())


def _check(manifest: Manifest) -> None:
    for text in (manifest.name, manifest.version, manifest.build_backend, manifest.repository):
        assert text is None or isinstance(text, str), repr(text)
    for mapping in (manifest.scripts, manifest.dependencies, manifest.bin, manifest.entry_points):
        assert _str_map(mapping)
    assert all(isinstance(p, str) for p in manifest.backend_path)


@FUZZ
@given(MANIFEST_JSON | JSON)
def test_package_json(document: Any) -> None:
    text = json.dumps(document)
    _check(parse_manifest(_snapshot(ArtifactKind.NPM_TARBALL, {"package.json": text})))


@FUZZ
@given(st.binary(max_size=200))
@example(b'{"name": "\\ud800"}')
@example(b"\xef\xbb\xbf{}")
def test_package_json_bytes(raw: bytes) -> None:
    _check(parse_manifest(_snapshot(ArtifactKind.NPM_TARBALL, {"package.json": raw})))


@FUZZ
@given(HEADER_TEXT | TEXT, st.sampled_from([ArtifactKind.SDIST, ArtifactKind.WHEEL]))
@example("Name: \udcff\nRequires-Dist: a\udcff\n", ArtifactKind.SDIST)
@example("Name: =?utf-8?q?x?=\n", ArtifactKind.SDIST)
def test_core_metadata(text: str, kind: ArtifactKind) -> None:
    path = "PKG-INFO" if kind is ArtifactKind.SDIST else "pkg-1.0.dist-info/METADATA"
    _check(parse_manifest(_snapshot(kind, {path: text})))


@FUZZ
@given(MANIFEST_JSON, TEXT, TEXT, TEXT)
def test_pyproject_setup_cfg_and_entry_points(
    document: dict[str, Any], setup_cfg: str, entry_points: str, egg: str
) -> None:
    # TOML has no null: drop them, keep every other shape the generator makes.
    def tomlish(value: Any) -> str:
        if isinstance(value, dict):
            inner = ", ".join(
                f"{json.dumps(k)} = {tomlish(v)}" for k, v in value.items() if v is not None
            )
            return "{" + inner + "}"
        if isinstance(value, list):
            return "[" + ", ".join(tomlish(v) for v in value if v is not None) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value) if value is not None else '""'

    pyproject = "\n".join(
        f"{json.dumps(k)} = {tomlish(v)}" for k, v in document.items() if v is not None
    )
    files: dict[str, str | bytes] = {
        "pyproject.toml": pyproject,
        "setup.cfg": "[options.entry_points]\n" + setup_cfg,
        "pkg.egg-info/entry_points.txt": entry_points,
        "src/pkg.egg-info/entry_points.txt": egg,
        "evil.pth": "import os",
    }
    _check(parse_manifest(_snapshot(ArtifactKind.SDIST, files)))
