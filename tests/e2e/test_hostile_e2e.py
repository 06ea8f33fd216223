"""End to end: hostile local archives are reported, never extracted, and write nothing anywhere.

Each kind in `tests.support.archives.HOSTILE` (traversal pip refuses, bombs, lying zips, ...)
is diffed against a clean artifact of the same shape with `watcher diff --old --new`. The CLI
must report the release as not fully analysed (`analysis.incomplete`, high, exit 1: SPEC §4.5),
and neither the working directory nor any path the archive aims at may gain a file. Each kind
in `HOSTILE_ACCEPTED` (odd but harmless: non-UTF-8 names, a 50 MiB line, a nested archive, ...)
must instead give a normal report, and a limit lowered through the environment must make an
archive the defaults accept an incomplete analysis.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from tests.e2e.cli import CLI_TIMEOUT, RunWatcher, watcher_env
from tests.support import packages

HOSTILE: dict[str, Callable[[], tuple[str, bytes]]] = {}
ACCEPTED: dict[str, Callable[[], tuple[str, bytes]]] = {}
HOSTILE_IMPORT_ERROR: str | None = None
try:
    from tests.support import archives
except ImportError as error:  # the archive builders are written in parallel
    HOSTILE_IMPORT_ERROR = f"tests.support.archives is unavailable: {error}"
else:
    HOSTILE.update(archives.HOSTILE)
    ACCEPTED.update(archives.HOSTILE_ACCEPTED)

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
def test_hostile_archive_is_reported_without_side_effects(
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

    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    report = run.json()
    assert report["severity"] in ("high", "critical"), run.describe()
    assert "analysis.incomplete" in {f["rule"] for f in report["findings"]}, run.describe()
    assert snapshot(cwd) == before, f"the working directory changed\n{run.describe()}"
    created = sorted(
        str(target) for target in targets - preexisting if target.exists() or target.is_symlink()
    )
    assert not created, f"the archive escaped to {created}\n{run.describe()}"


@pytest.mark.parametrize("kind", sorted(ACCEPTED) or [MISSING])
def test_odd_archive_gives_a_normal_report(
    run_watcher: RunWatcher, tmp_path: Path, kind: str
) -> None:
    if HOSTILE_IMPORT_ERROR is not None:
        pytest.fail(HOSTILE_IMPORT_ERROR, pytrace=False)
    odd_name, odd_data = ACCEPTED[kind]()
    clean_name, clean_data = clean_counterpart(odd_name)
    cwd = tmp_path / "work"
    cwd.mkdir()
    (cwd / clean_name).write_bytes(clean_data)
    (cwd / odd_name).write_bytes(odd_data)
    before = snapshot(cwd)

    run = run_watcher(
        "diff",
        "--old",
        clean_name,
        "--new",
        odd_name,
        "--format",
        "json",
        "--fail-on",
        "none",
        cwd=cwd,
    )

    assert run.returncode == 0, run.describe()
    assert "Traceback" not in run.stderr, run.describe()
    report = run.json()
    assert {"score", "severity", "findings", "files"} <= set(report)
    if kind == "symlink_loop":
        # Links are recorded, never followed: the loop shows up as findings, not as a hang.
        assert "archive.link" in {finding["rule"] for finding in report["findings"]}
    else:
        assert report["files"]["added"] >= 1
    assert snapshot(cwd) == before
    if kind == "huge_line":
        # The 50 MiB line is scanned, not copied into the report: evidence stays an excerpt.
        assert len(run.stdout) < 1024 * 1024, f"report is {len(run.stdout)} bytes"


def test_lowered_limit_from_the_environment_refuses_what_the_default_accepts(
    tmp_path: Path,
) -> None:
    old, new = packages.strutil_2_1_3(), packages.strutil_2_1_4()
    (tmp_path / old.filename).write_bytes(old.tarball())
    (tmp_path / new.filename).write_bytes(new.tarball())
    args = ["diff", "--old", old.filename, "--new", new.filename, "--fail-on", "none"]

    def watcher(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watcher", *args],
            cwd=tmp_path,
            env={**watcher_env(tmp_path / "data"), **extra},
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    assert watcher().returncode == 0
    lowered = watcher(WATCHER_MAX_ARCHIVE_BYTES="100")
    # `--fail-on none`: exit 0 whatever the verdict; the report says why it is incomplete.
    assert lowered.returncode == 0 and "Traceback" not in lowered.stderr
    assert "analysis.incomplete" in lowered.stdout and "100-byte limit" in lowered.stdout
    bad = watcher(WATCHER_MAX_FILES="abc")
    assert bad.returncode == 2
    assert bad.stderr == (
        "watcher: error: WATCHER_MAX_FILES must be a positive integer (got 'abc')\n"
    )
