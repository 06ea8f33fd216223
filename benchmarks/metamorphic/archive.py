"""Artifacts as editable file trees: read an npm tarball, sdist or wheel, change files, rebuild."""

from __future__ import annotations

import base64
import difflib
import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from dataclasses import dataclass, field, replace
from typing import Any

from tests.support.packages import NPM_MTIME, ZIP_DATE

#: Files that describe a package rather than run: never a payload location.
MANIFESTS = {"package.json", "PKG-INFO", "pyproject.toml", "setup.cfg"}
CODE_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".py", ".pth")


@dataclass(frozen=True)
class Tree:
    """One artifact as the files it holds (text), plus how to pack it again."""

    filename: str
    kind: str  # "npm" | "sdist" | "wheel"
    root: str  # first path segment inside a tarball ("package", "name-1.0"), "" for wheels
    files: dict[str, str]

    def with_files(self, files: dict[str, str]) -> Tree:
        return replace(self, files=files)

    @property
    def ecosystem(self) -> str:
        return "npm" if self.kind == "npm" else "pypi"

    def manifest(self) -> dict[str, Any]:
        """package.json of an npm tree, parsed."""
        return dict(json.loads(self.files.get("package.json", "{}")))

    def esm(self, path: str) -> bool:
        """Whether Node loads `path` as an ES module."""
        if path.endswith(".mjs"):
            return True
        if path.endswith(".cjs") or self.kind != "npm":
            return False
        return bool(self.manifest().get("type") == "module")


def read_tree(filename: str, data: bytes) -> Tree:
    """The file tree of a release artifact (every member is text in these fixtures)."""
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {n: archive.read(n).decode() for n in archive.namelist()}
        return Tree(filename, "wheel", "", files)
    files, root = {}, ""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            root, _, rest = member.name.partition("/")
            handle = tar.extractfile(member)
            assert handle is not None
            files[rest] = handle.read().decode()
    return Tree(filename, "npm" if filename.endswith(".tgz") else "sdist", root, files)


def pack(tree: Tree) -> bytes:
    """The artifact bytes for `tree` (a wheel's RECORD is rewritten to match)."""
    encoded = {p: t.encode() for p, t in tree.files.items()}
    if tree.kind == "wheel":
        records = [p for p in encoded if p.endswith(".dist-info/RECORD")]
        for record_path in records:
            lines = []
            for path, data in encoded.items():
                if path == record_path:
                    continue
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                lines.append(f"{path},sha256={digest.decode()},{len(data)}")
            lines.append(f"{record_path},,")
            encoded[record_path] = ("\n".join(lines) + "\n").encode()
        raw = io.BytesIO()
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path, data in encoded.items():
                info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        return raw.getvalue()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(encoded):
            info = tarfile.TarInfo(f"{tree.root}/{path}")
            info.size, info.mode, info.mtime = len(encoded[path]), 0o644, NPM_MTIME
            tar.addfile(info, io.BytesIO(encoded[path]))
    return gzip.compress(raw.getvalue(), mtime=0)


def is_code(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.endswith(CODE_SUFFIXES) and name not in MANIFESTS


def changed_lines(old: str | None, new: str) -> set[int]:
    """1-based numbers of the lines of `new` that are not in `old` (all of them if added)."""
    new_lines = new.splitlines()
    if old is None:
        return set(range(1, len(new_lines) + 1))
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new_lines, autojunk=False)
    out: set[int] = set()
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            out.update(range(j1 + 1, j2 + 1))
    return out


def inserted_blocks(old: str, new: str) -> list[tuple[int, int]]:
    """(start, end) 0-based line spans of `new` that were purely inserted into `old`."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return [(j1, j2) for tag, _, _, j1, j2 in matcher.get_opcodes() if tag == "insert"]


@dataclass(frozen=True)
class Pair:
    """An (old, new) release pair and where its payload sits in the new release."""

    id: str
    old: Tree
    new: Tree
    #: Payload files of the new tree -> payload line numbers (1-based). Empty for negatives.
    payload: dict[str, set[int]] = field(default_factory=dict)
    family: str = "baseline"
    variant: str = "baseline"
    seed: str = ""
    malicious: bool = True

    @property
    def ecosystem(self) -> str:
        return self.new.ecosystem


_VERSION = re.compile(r"^Version: (\S+)$", re.MULTILINE)


def version_of(tree: Tree) -> str | None:
    """The release's version, from package.json, PKG-INFO or a wheel's METADATA."""
    if tree.kind == "npm":
        return str(tree.manifest().get("version", "")) or None
    for path, text in tree.files.items():
        if path == "PKG-INFO" or path.endswith(".dist-info/METADATA"):
            match = _VERSION.search(text)
            if match:
                return match.group(1)
    return None


def payload_of(old: Tree, new: Tree) -> dict[str, set[int]]:
    """Every non-manifest file the new tree adds or changes, with the lines that are new.

    A line whose only change is the version bump (`__version__`, a server's `version:`) is
    not payload: a finding there must not count as catching anything.
    """
    out = {}
    old_v, new_v = version_of(old), version_of(new)
    for path, text in new.files.items():
        if path.rsplit("/", 1)[-1] in MANIFESTS or ".dist-info/" in path:
            continue
        before = old.files.get(path)
        if before == text:
            continue
        compared = text.replace(new_v, old_v) if before and old_v and new_v else text
        lines = changed_lines(before, compared)
        if lines:
            out[path] = lines
    return out
