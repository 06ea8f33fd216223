"""End to end: hostile local archives are refused cleanly and write nothing anywhere.

Each kind in `tests.support.archives.HOSTILE` (traversal, absolute paths, links, bombs, ...)
is diffed against a clean artifact of the same shape with `watcher diff --old --new`. The CLI
must exit 2 with one line on stderr, and neither the working directory nor any path the
archive aims at may gain a file.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from tests.e2e.cli import RunWatcher
from tests.support import packages

HOSTILE: dict[str, Callable[[], tuple[str, bytes]]] = {}
HOSTILE_IMPORT_ERROR: str | None = None
try:
    from tests.support import archives
except ImportError as error:  # the archive builders are written in parallel
    HOSTILE_IMPORT_ERROR = f"tests.support.archives is unavailable: {error}"
else:
    HOSTILE.update(archives.HOSTILE)

pytestmark = pytest.mark.e2e

MISSING = "tests.support.archives-missing"
MAX_INFLATE = 64 * 1024 * 1024


def clean_counterpart(hostile_filename: str) -> tuple[str, bytes]:
    """A clean artifact of the same kind as `hostile_filename` (by its suffix)."""
    if hostile_filename.endswith(".tgz"):
        release = packages.strutil_2_1_3()
        return release.filename, release.tarball()
    if hostile_filename.endswith(".whl"):
        wheel = packages.pypi_1_0_0()
        return wheel.wheel_filename, wheel.wheel()
    sdist = packages.pypi_1_0_0()
    return sdist.sdist_filename, sdist.sdist()


def member_names(data: bytes) -> list[str]:
    """Member names and link targets of a (possibly hostile) archive, best effort, in memory."""
    names: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        pass
    raw = data
    if data[:2] == b"\x1f\x8b":  # gzip: inflate at most MAX_INFLATE bytes (bombs)
        try:
            raw = zlib.decompressobj(wbits=31).decompress(data, MAX_INFLATE)
        except zlib.error:
            return names
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
            for member in archive:  # a truncated inflate still yields the leading members
                names.append(member.name)
                if member.linkname:
                    names.append(member.linkname)
    except (tarfile.TarError, OSError, EOFError, ValueError):
        pass
    return names


def escape_targets(data: bytes, cwd: Path) -> set[Path]:
    """Paths outside `cwd` a careless extractor of this archive would write to."""
    targets: set[Path] = set()
    for name in member_names(data):
        pure = PurePosixPath(name)
        if pure.is_absolute():
            targets.add(Path(name))
        elif ".." in pure.parts:
            for base in (cwd, cwd / "package", cwd / "extract"):
                resolved = (base / name).resolve()
                if not resolved.is_relative_to(cwd):
                    targets.add(resolved)
    return targets


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(path.relative_to(root)): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("kind", sorted(HOSTILE) or [MISSING])
def test_hostile_archive_is_refused_without_side_effects(
    run_watcher: RunWatcher, tmp_path: Path, kind: str
) -> None:
    if HOSTILE_IMPORT_ERROR is not None:
        pytest.fail(HOSTILE_IMPORT_ERROR, pytrace=False)
    hostile_name, hostile_data = HOSTILE[kind]()
    clean_name, clean_data = clean_counterpart(hostile_name)

    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / clean_name).write_bytes(clean_data)
    hostile_path = cwd / PurePosixPath(hostile_name).name
    hostile_path.write_bytes(hostile_data)
    before = snapshot(cwd)
    targets = escape_targets(hostile_data, cwd)
    preexisting = {target for target in targets if target.exists() or target.is_symlink()}

    run = run_watcher(
        "diff", "--old", clean_name, "--new", hostile_path.name, "--format", "json", cwd=cwd
    )

    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    assert len(run.stderr_lines()) == 1, run.describe()
    assert snapshot(cwd) == before, f"the working directory changed\n{run.describe()}"
    created = sorted(
        str(target) for target in targets - preexisting if target.exists() or target.is_symlink()
    )
    assert not created, f"the archive escaped to {created}\n{run.describe()}"
