"""Safe in-memory extraction: formats, root stripping, and every hostile archive we know of."""

from __future__ import annotations

import builtins
import contextlib
import gzip
import hashlib
import io
import os
import random
import stat
import struct
import tarfile
import time
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import archives as A
from watcher.artifacts import extract
from watcher.artifacts.extract import (
    DEFAULT_LIMITS,
    RATIO_FLOOR,
    ExtractLimits,
    installed_view,
    load_artifact,
    read_archive,
)
from watcher.artifacts.manifest import parse_manifest
from watcher.errors import ArchiveError, NotAnArchive, UnsafeArchive
from watcher.models import ArtifactKind, Snapshot, SpecialEntry, SpecialKind

MiB = 1024 * 1024


@contextlib.contextmanager
def disk_guard(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in an empty cwd where extracting or opening anything for writing fails the test."""

    def forbidden(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("extraction must never touch the filesystem")

    for cls in (tarfile.TarFile, zipfile.ZipFile):
        monkeypatch.setattr(cls, "extract", forbidden)
        monkeypatch.setattr(cls, "extractall", forbidden)
    real_open = os.open
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def guarded_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & write_flags:
            raise AssertionError(f"extraction opened {path!r} for writing")
        return real_open(path, flags, *args, **kwargs)

    real_io_open = io.open

    def guarded_io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if set(mode) & set("wax+"):
            raise AssertionError(f"extraction opened {file!r} for writing")
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_io_open)
    monkeypatch.setattr(builtins, "open", guarded_io_open)
    monkeypatch.chdir(directory)
    yield
    monkeypatch.undo()
    assert list(directory.iterdir()) == [], "extraction left files behind"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`disk_guard` around a whole test."""
    with disk_guard(tmp_path, monkeypatch):
        yield tmp_path


def read(data: bytes, filename: str, limits: ExtractLimits = DEFAULT_LIMITS) -> Snapshot:
    return read_archive(data, filename, limits)


def error_of(data: bytes, filename: str, limits: ExtractLimits = DEFAULT_LIMITS) -> ArchiveError:
    with pytest.raises(ArchiveError) as caught:
        read_archive(data, filename, limits)
    message = str(caught.value)
    assert "\n" not in message and filename in message
    return caught.value


def assert_installed_paths_are_safe(snapshot: Snapshot) -> None:
    """No path of the installed view is absolute, climbs with `..` or is empty."""
    written = [*snapshot.files]
    written += [
        s.path
        for s in snapshot.specials
        if s.kind not in (SpecialKind.SKIPPED, SpecialKind.HIDDEN_DATA)
    ]
    for path in written:
        assert path and not path.startswith(("/", "\\")), path
        assert not extract._DRIVE.match(path), path
        assert ".." not in path.replace("\\", "/").split("/"), path
    for path, entry in snapshot.files.items():
        assert entry.path == path


def sdist_of(build: Any) -> tuple[str, bytes]:
    """The archive a `NPM_ACCEPTED` builder makes, rooted and named as an sdist."""
    return "demo-1.0.tar.gz", build(root="demo-1.0")[1]


# --- hostile archives -----------------------------------------------------------------------

EXPECTED_MESSAGE = {
    "too_many_files": "more than 20000 members",
    "ratio_bomb": "expands more than 200x",
    "gzip_bomb": "expands more than 200x",
    "corrupt_gzip": "invalid gzip data",
    "truncated_tar": "truncated tar stream",
    "zip_lying_size": "'lying/__init__.py' declares 16 bytes but holds more",
    "zip_traversal": "'../../evil.pth' escapes the archive",
    "nul_in_name": "has a NUL in its name",
    "gnu_sparse": "'package/sparse.bin' is 4294967296 bytes, over the 67108864-byte limit",
    "pax_sparse": "'package/sparse.bin' is 10737418240 bytes, over the 67108864-byte limit",
    "zip_backslash_traversal": "escapes the archive with '..'",
    "zip_drive_letter": "'C:/Users/Public/evil.pth' has an absolute path",
    "zip_unicode_path_mismatch": "'up/ok.py' is named '../../evil.pth' in its unicode path field",
    "zip64_lying_size": "'z64/__init__.py' declares 16 bytes but holds more",
    "pax_negative_size": "'package/neg.js' has a negative size",
    "zip_central_dir_outside": "'out/x.py' lies outside the file",
    "zip_overlapping_entries": "'ov/b.py' has a different name in its local header",
}


def test_every_hostile_kind_has_an_expectation() -> None:
    assert set(EXPECTED_MESSAGE) == set(A.HOSTILE) == set(A.HOSTILE_ERRORS)
    assert set(A.HOSTILE_ACCEPTED) == set(A.HOSTILE_ACCEPTED_EXPECT) == set(ACCEPTED_CHECKS)
    assert set(A.NPM_ACCEPTED) == set(NPM_VIEW) == set(SDIST_REFUSAL)
    tables = (A.HOSTILE, A.HOSTILE_ACCEPTED, A.NPM_ACCEPTED)
    assert sum(len(table) for table in tables) == len(set().union(*tables)) >= 36


# --- odd archives that must be read, safely -------------------------------------------------


def _check_latin1(snapshot: Snapshot) -> None:
    assert snapshot.files["caf\ufffd.js"].data.startswith(b"// inert test payload")


def _check_cp437(snapshot: Snapshot) -> None:
    assert sorted(snapshot.files) == ["demo/__init__.py", "demo/caf\u00e9.py"]


def _check_huge_line(snapshot: Snapshot) -> None:
    bundle = snapshot.files["bundle.js"]
    assert bundle.size > A.HUGE_LINE_BYTES - 1024 and bundle.data.count(b"\n") == 0
    assert not bundle.is_binary


def _check_nested(snapshot: Snapshot) -> None:
    assert sorted(snapshot.files) == ["index.js", "vendor/inner.tgz"]
    inner = snapshot.files["vendor/inner.tgz"]
    assert inner.is_binary and inner.data[:2] == b"\x1f\x8b"


def _check_case(snapshot: Snapshot) -> None:
    assert sorted(snapshot.files) == ["A.js", "a.js", "index.js"]
    assert b"attacker.invalid" in snapshot.files["a.js"].data


def _check_loop(snapshot: Snapshot) -> None:
    assert list(snapshot.files) == ["index.js"]
    assert {(s.path, s.target) for s in snapshot.specials} == {
        ("a", "b"),
        ("b", "a"),
        ("self", "self"),
    }


def _check_odd_numbers(snapshot: Snapshot) -> None:
    # npm skips index.js here (node-tar: a base-256 uid past 2**53 makes the header invalid),
    # and so does the view; pax numbers out of range are read as npm reads them (old.js).
    assert "index.js" not in snapshot.files
    assert snapshot.files["old.js"].data == b"x"
    assert SpecialEntry(
        "package/index.js", SpecialKind.SKIPPED, "header number node-tar rejects"
    ) in (snapshot.specials)


def _check_zip_duplicates(snapshot: Snapshot) -> None:
    # pip's installer looks every name up in the zip: the later entry is the one written.
    assert {p: f.data for p, f in snapshot.files.items()} == {"dup/__init__.py": A._INERT}
    assert snapshot.specials == (
        SpecialEntry("dup/__init__.py", SpecialKind.DUPLICATE, "dup/__init__.py"),
    )


ACCEPTED_CHECKS = {
    "tar_latin1_name": _check_latin1,
    "zip_cp437_name": _check_cp437,
    "huge_line": _check_huge_line,
    "nested_archive": _check_nested,
    "case_collision": _check_case,
    "symlink_loop": _check_loop,
    "odd_header_numbers": _check_odd_numbers,
    "zip_duplicate_entries": _check_zip_duplicates,
}


@pytest.mark.parametrize("name", sorted(A.HOSTILE_ACCEPTED))
def test_odd_archive_is_read_safely(name: str, sandbox: Path) -> None:
    filename, data = A.HOSTILE_ACCEPTED[name]()
    started = time.monotonic()
    snapshot = read(data, filename)
    # Generous for a loaded machine; the 50 MiB line takes ~1 s alone.
    assert time.monotonic() - started < 30
    ACCEPTED_CHECKS[name](snapshot)


@pytest.mark.parametrize("name", sorted(A.HOSTILE))
def test_hostile_archive_is_refused_without_touching_disk(name: str, sandbox: Path) -> None:
    filename, data = A.HOSTILE[name]()
    error = error_of(data, filename)
    assert type(error) is A.HOSTILE_ERRORS[name]
    assert EXPECTED_MESSAGE[name] in str(error)
    # What the pipeline sees: no files, a gap naming why (an incomplete analysis, SPEC 4.5).
    view = installed_view(data, filename)
    assert view.files == {} and view.specials == ()
    assert [gap.reason for gap in view.gaps] == [f"archive refused: {error}"]


_INERT = A._INERT
_SKIPPED_FILE = SpecialKind.SKIPPED

#: What npm installs from each `NPM_ACCEPTED` tarball: files (path -> content) and specials.
NPM_VIEW: dict[str, tuple[dict[str, bytes], tuple[SpecialEntry, ...]]] = {
    "traversal": (
        {"index.js": b"ok"},
        (SpecialEntry("package/../../evil", _SKIPPED_FILE, "file"),),
    ),
    # node-tar strips the first segment (here the empty one before `/`): `/etc/evil` is
    # written as `etc/evil` inside the package, never at the root of the filesystem.
    "absolute_path": ({"index.js": b"ok", "etc/evil": _INERT}, ()),
    "symlink_escape": (
        {"index.js": b"ok"},
        (SpecialEntry("link", SpecialKind.SYMLINK, "../../etc/passwd"),),
    ),
    "hardlink_escape": (
        {"index.js": b"ok"},
        (SpecialEntry("hl", SpecialKind.HARDLINK, "../../etc/passwd"),),
    ),
    "char_device": ({"index.js": b"ok"}, (SpecialEntry("null", SpecialKind.DEVICE),)),
    "duplicate_entries": (
        {"index.js": _INERT},
        (SpecialEntry("index.js", SpecialKind.DUPLICATE, "package/index.js"),),
    ),
    # The pax `path` record `../x` loses its first segment, `..`, like any other name.
    "pax_path_traversal": ({"index.js": b"ok", "x": _INERT}, ()),
    "dot_name": ({"index.js": b"ok"}, (SpecialEntry("package/.", _SKIPPED_FILE, "file"),)),
    "empty_name": ({"index.js": b"ok"}, (SpecialEntry("", _SKIPPED_FILE, "file"),)),
    "fifo": ({"index.js": b"ok"}, (SpecialEntry("pipe", SpecialKind.FIFO),)),
    "deep_nesting": (
        {"index.js": b"ok"},
        (SpecialEntry(("package/" + "d/" * 200)[:200] + "...", _SKIPPED_FILE, "file"),),
    ),
    # The link is never written, so `lib/index.js` lands in a real `lib/` folder.
    "write_through_symlink": (
        {"index.js": b"module.exports = 'benign';\n", "lib/index.js": _INERT},
        (SpecialEntry("lib", SpecialKind.SYMLINK, "."),),
    ),
}

#: The same archives rooted and named as sdists: pip refuses them (None: pip installs it).
SDIST_REFUSAL: dict[str, str | None] = {
    "traversal": "'demo-1.0/../../evil' escapes the archive with '..'",
    "absolute_path": "'/etc/evil' has an absolute path",
    "symlink_escape": "symlink 'demo-1.0/link' -> '../../etc/passwd' points outside",
    "hardlink_escape": "hardlink 'demo-1.0/hl' -> '../../etc/passwd' points outside",
    "char_device": "'demo-1.0/null' is a device",
    "duplicate_entries": None,
    "pax_path_traversal": "member '../x' escapes the archive with '..'",
    "dot_name": "'demo-1.0/.' is not a directory but has no file name",
    "empty_name": "member '' is not a directory but has no file name",
    "fifo": "'demo-1.0/pipe' is a fifo",
    "deep_nesting": "(20017 characters) has a path over the 4096-character limit",
    "write_through_symlink": "'demo-1.0/lib/index.js' lies under 'demo-1.0/lib', which is a sym",
}


@pytest.mark.parametrize("name", sorted(A.NPM_ACCEPTED))
def test_hostile_npm_tarball_is_read_as_npm_installs_it(name: str, sandbox: Path) -> None:
    filename, data = A.NPM_ACCEPTED[name]()
    snapshot = read(data, filename)
    files, specials = NPM_VIEW[name]
    assert snapshot.kind is ArtifactKind.NPM_TARBALL and snapshot.gaps == ()
    assert {path: entry.data for path, entry in snapshot.files.items()} == files
    assert snapshot.specials == specials
    assert_installed_paths_are_safe(snapshot)
    assert installed_view(data, filename) == snapshot


@pytest.mark.parametrize("name", sorted(A.NPM_ACCEPTED))
def test_the_same_archive_as_an_sdist_is_refused_where_pip_refuses_it(
    name: str, sandbox: Path
) -> None:
    filename, data = sdist_of(A.NPM_ACCEPTED[name])
    message = SDIST_REFUSAL[name]
    if message is None:
        snapshot = read(data, filename)
        assert snapshot.kind is ArtifactKind.SDIST
        files, _ = NPM_VIEW[name]
        assert {path: entry.data for path, entry in snapshot.files.items()} == files
        assert_installed_paths_are_safe(snapshot)
        return
    error = error_of(data, filename)
    assert isinstance(error, UnsafeArchive) and message in str(error)
    view = installed_view(data, filename)
    assert view.kind is ArtifactKind.SDIST and view.files == {}
    assert [gap.reason for gap in view.gaps] == [f"archive refused: {error}"]


def test_disk_guard_can_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard itself must be able to fail, or the hostile tests prove nothing.
    with pytest.raises(AssertionError, match="for writing"), disk_guard(tmp_path, monkeypatch):
        Path("x").write_bytes(b"")
    with pytest.raises(AssertionError, match="never touch"), disk_guard(tmp_path, monkeypatch):
        tarfile.TarFile.extractall(None)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="for writing"), disk_guard(tmp_path, monkeypatch):
        os.open("y", os.O_WRONLY | os.O_CREAT)
    assert list(tmp_path.iterdir()) == []
    # And a file that does get written (behind the guard's back) is noticed.
    with pytest.raises(AssertionError, match="left files behind"):
        with disk_guard(tmp_path, monkeypatch):
            (tmp_path / "z").mkdir()  # mkdir is not guarded; the emptiness check is


def test_ratio_bomb_is_judged_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reading(*_args: object) -> None:
        raise AssertionError("member data read before the ratio check")

    monkeypatch.setattr(tarfile.TarFile, "extractfile", no_reading)
    filename, data = A.ratio_bomb()
    assert "expands more than" in str(error_of(data, filename))


def test_gzip_bomb_stops_inflating_early() -> None:
    data = A.gzip_of_zeros(b"", 64 * MiB)
    source = extract._TarSource(data, "bomb.tgz", DEFAULT_LIMITS, gzipped=True)
    with pytest.raises(UnsafeArchive, match="expands more than 200x"):
        source.tail(0)
    # Stopped within one inflate slice of the ratio limit, far from the 64 MiB payload.
    inflated = len(source._buf)
    assert inflated <= 200 * len(data) + 256 * 1024 < 64 * MiB


def test_ratio_limit_applies_to_moderately_compressible_data() -> None:
    text = hashlib.shake_256(b"seed").hexdigest(MiB)  # 2 MiB of hex: ratio ~2
    data = A.npm_tarball({"data.txt": text})
    assert read(data, "a.tgz").files["data.txt"].size == 2 * MiB
    error = error_of(data, "a.tgz", ExtractLimits(max_ratio=1.5))
    assert isinstance(error, UnsafeArchive) and "expands more than 1.5x" in str(error)


def test_ratio_is_not_judged_for_tiny_archives() -> None:
    data = A.tgz([])  # a 10 KiB record of zeros compresses ~300x
    assert len(data) * DEFAULT_LIMITS.max_ratio < 10240 <= RATIO_FLOOR
    snapshot = read(data, "empty.tgz")
    assert snapshot.files == {} and snapshot.specials == ()


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tgz", "zip"])
def test_member_limit_boundary(fmt: str) -> None:
    def build(count: int) -> tuple[str, bytes]:
        files = {f"f{i}.js": "x" for i in range(count)}
        if fmt == "tgz":
            return "a.tgz", A.npm_tarball(files)
        return "a-1.0-py3-none-any.whl", A.wheel(files)

    limits = ExtractLimits(max_members=3)
    assert len(read(build(3)[1], build(3)[0], limits).files) == 3
    error = error_of(build(4)[1], build(4)[0], limits)
    assert isinstance(error, UnsafeArchive) and "3" in str(error) and "member" in str(error)


def test_zip_member_count_is_checked_before_zipfile_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = A.wheel({f"f{i}.py": "" for i in range(5)})

    def no_parsing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("zipfile parsed the central directory")

    monkeypatch.setattr(zipfile.ZipFile, "__init__", no_parsing)
    error = error_of(data, "a-1.0-py3-none-any.whl", ExtractLimits(max_members=4))
    assert isinstance(error, UnsafeArchive) and "declares 5 members" in str(error)


def test_zip_declared_count_handles_zip64() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.py", "")
    data = bytearray(buffer.getvalue())
    # Rewrite as a zip64 EOCD: record + locator, then an EOCD whose count says "see zip64".
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<LL", data, eocd + 12)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 7, 7, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd, 1)
    tail = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_offset, 0)
    assert extract._zip_declared_count(bytes(data[:eocd] + record + locator + tail)) == 7


@pytest.mark.parametrize("fmt", ["tgz", "zip"])
def test_file_size_limit_is_checked_before_reading(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"small.js": "x" * 10, "big.js": "y" * 2000}
    filename, data = (
        ("a.tgz", A.npm_tarball(files)) if fmt == "tgz" else ("a.zip", A.zip_archive(files))
    )

    def no_reading(*_args: object) -> None:
        raise AssertionError("member data read before the size check")

    monkeypatch.setattr(extract, "_zip_member_bytes", no_reading)
    limits = ExtractLimits(max_file_bytes=1000)
    if fmt == "tgz":
        monkeypatch.setattr(tarfile.TarFile, "extractfile", no_reading)
        limits = ExtractLimits(max_file_bytes=1)  # the first member already trips it
    error = error_of(data, filename, limits)
    assert isinstance(error, UnsafeArchive) and "limit per file" in str(error)


@pytest.mark.parametrize("fmt", ["tgz", "zip"])
def test_total_size_limit(fmt: str) -> None:
    files = {"a.js": "x" * 600, "b.js": "y" * 600}
    filename, data = (
        ("a.tgz", A.npm_tarball(files)) if fmt == "tgz" else ("a.zip", A.zip_archive(files))
    )
    assert len(read(data, filename, ExtractLimits(max_total_bytes=1200)).files) == 2
    error = error_of(data, filename, ExtractLimits(max_total_bytes=1000))
    assert isinstance(error, UnsafeArchive) and "1000-byte limit" in str(error)


def test_zip_bomb_is_judged_on_declared_sizes_before_inflating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = A.wheel({"zeros.bin": bytes(4 * MiB)})

    def no_reading(*_args: object) -> None:
        raise AssertionError("member inflated before the declared-size check")

    monkeypatch.setattr(extract, "_zip_member_bytes", no_reading)
    error = error_of(data, "bomb-1.0-py3-none-any.whl")
    assert isinstance(error, UnsafeArchive) and "expands more than 200x" in str(error)


def test_zip_declaring_more_than_it_holds_is_refused() -> None:
    data = bytearray(A.wheel({"a.py": "print('hi')\n"}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        struct.pack_into("<L", data, data.find(signature) + offset, 500)
    error = error_of(bytes(data), "a-1.0-py3-none-any.whl")
    assert isinstance(error, UnsafeArchive) and "declares 500 bytes but holds 12" in str(error)


def test_stored_zip_member_with_lying_size() -> None:
    data = bytearray(A.zip_archive({"a.py": "x" * 100}, compression=zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        struct.pack_into("<L", data, data.find(signature) + offset, 10)
    error = error_of(bytes(data), "a.zip")
    assert isinstance(error, UnsafeArchive) and "declares 10 bytes" in str(error)


# --- corrupt input ----------------------------------------------------------------------------


def test_truncated_gzip() -> None:
    data = A.npm_tarball({"index.js": "x"})[:-6]
    assert "truncated gzip stream" in str(error_of(data, "a.tgz"))


def test_gzip_crc_damage_is_caught() -> None:
    data = bytearray(A.npm_tarball({"index.js": "x"}))
    data[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    error = error_of(bytes(data), "a.tgz")
    assert type(error) is ArchiveError and "invalid gzip data" in str(error)


def test_trailing_garbage_after_gzip() -> None:
    data = A.npm_tarball({"index.js": "x"}) + b"GARBAGE"
    assert "trailing garbage" in str(error_of(data, "a.tgz"))


def test_concatenated_gzip_members_and_zero_padding_are_fine() -> None:
    raw = A.tar([A.regular("package/a.js", "a" * 3000), A.regular("package/b.js", "b")])
    data = A.gz(raw[:1000]) + A.gz(raw[1000:]) + bytes(32)
    assert read(data, "a.tgz").files["a.js"].data == b"a" * 3000


def test_tar_ending_at_a_member_boundary_is_truncated() -> None:
    raw = A.tar([A.regular("package/a.js", "a" * 512)], fmt=tarfile.USTAR_FORMAT)
    cut = raw[: 2 * tarfile.BLOCKSIZE]  # header + data, no end-of-archive marker
    assert "truncated tar stream" in str(error_of(A.gz(cut), "a.tgz"))


def test_damaged_header_mid_archive_is_not_taken_as_the_end() -> None:
    raw = bytearray(
        A.tar(
            [A.regular("package/a.js", "a"), A.regular("package/b.js", "b")],
            fmt=tarfile.USTAR_FORMAT,
        )
    )
    raw[2 * tarfile.BLOCKSIZE + 10] ^= 0xFF  # second header: checksum no longer matches
    error = error_of(bytes(raw), "a.tar")
    assert type(error) is ArchiveError and "invalid tar header at offset 1024" in str(error)


@pytest.mark.parametrize(("root", "filename"), [("package", "a.tgz"), ("demo-1.0", "a.tar.gz")])
def test_data_hidden_after_the_end_marker(root: str, filename: str, sandbox: Path) -> None:
    # npm's node-tar and pip's tarfile both stop at the marker: what follows is not installed,
    # and is noted (`tar -i` would extract it).
    raw = A.tar([A.regular(f"{root}/a.js", "a")])
    hidden = A.tar([A.regular(f"{root}/evil.js", "x")])
    snapshot = read(A.gz(raw + hidden), filename)
    assert {path: entry.data for path, entry in snapshot.files.items()} == {"a.js": b"a"}
    hidden_bytes = len(hidden) - hidden.count(0)
    assert snapshot.specials == (
        SpecialEntry(
            "", SpecialKind.HIDDEN_DATA, f"{hidden_bytes:,} bytes after the end-of-archive marker"
        ),
    )


def test_zero_padding_after_the_end_marker_is_not_hidden_data() -> None:
    raw = A.tar([A.regular("package/a.js", "a")]) + bytes(4 * tarfile.BLOCKSIZE)
    assert read(A.gz(raw), "a.tgz").specials == ()


@pytest.mark.parametrize(
    ("data", "filename", "message", "kind"),
    [
        (b"", "a.tgz", "the file is empty", NotAnArchive),
        (b"just some text, not an archive", "a.tgz", "unknown archive format a.tgz", NotAnArchive),
        (b"PK\x03\x04" + b"\x00" * 40, "a.zip", "corrupt archive a.zip", ArchiveError),
        (
            A.npm_tarball({"a": "b"}),
            "a-1.0-py3-none-any.whl",
            "a wheel must be a zip file",
            ArchiveError,
        ),
        (b"x" * 700, "a.tar", "corrupt archive a.tar", ArchiveError),
    ],
)
def test_unreadable_input(
    data: bytes, filename: str, message: str, kind: type[ArchiveError]
) -> None:
    error = error_of(data, filename)
    assert type(error) is kind and message in str(error)
    # From a registry, even no archive at all is a gap of the release, never an exception...
    view = installed_view(data, filename)
    assert view.files == {} and len(view.gaps) == 1
    expected = "archive not readable: " if kind is NotAnArchive else "archive refused: "
    assert view.gaps[0].reason.startswith(expected)
    # ...but a local file that is no archive is the user's input error.
    if kind is NotAnArchive:
        with pytest.raises(NotAnArchive):
            installed_view(data, filename, local=True)
    else:
        assert installed_view(data, filename, local=True) == view


def test_zip_crc_mismatch() -> None:
    data = bytearray(A.zip_archive({"a.py": "hello world"}, compression=zipfile.ZIP_STORED))
    data[data.find(b"hello")] ^= 0x01
    error = error_of(bytes(data), "a.zip")
    assert type(error) is ArchiveError and "CRC mismatch for member 'a.py'" in str(error)


def test_zip_local_header_name_must_match_central_directory() -> None:
    data = bytearray(A.zip_archive({"a.py": "x"}))
    data[data.find(b"a.py")] = ord("b")  # the first occurrence is the local header's
    error = error_of(bytes(data), "a.zip")
    assert isinstance(error, UnsafeArchive) and "different name in its local header" in str(error)


# --- names ------------------------------------------------------------------------------------


_SKIP = SpecialKind.SKIPPED
_RENAMED = SpecialKind.RENAMED


@pytest.mark.parametrize(
    ("name", "message", "files", "specials"),
    [
        # npm strips the first segment, whatever it is: here the drive letter.
        ("C:/Windows/evil.dll", "absolute path", ["Windows/evil.dll"], ()),
        ("c:evil", "absolute path", [], (SpecialEntry("c:evil", _SKIP, "file"),)),
        # One segment on POSIX (skipped); npm on Windows splits it: `\evil` -> `evil`.
        (
            "\\evil",
            "absolute path",
            ["evil"],
            (SpecialEntry("evil", _RENAMED, "\\evil"),),
        ),
        (
            "\\\\server\\share\\evil",
            "absolute path",
            ["server/share/evil"],
            (SpecialEntry("server/share/evil", _RENAMED, "\\\\server\\share\\evil"),),
        ),
        (
            "package\\..\\..\\evil",
            "'..'",
            [],
            (SpecialEntry("package\\..\\..\\evil", _SKIP, "file"),),
        ),
        (
            "package/a/../../../evil",
            "'..'",
            [],
            (SpecialEntry("package/a/../../../evil", _SKIP, "file"),),
        ),
        ("..", "'..'", [], (SpecialEntry("..", _SKIP, "file"),)),
    ],
)
def test_hostile_names(
    name: str,
    message: str,
    files: list[str],
    specials: tuple[SpecialEntry, ...],
    sandbox: Path,
) -> None:
    data = A.tgz([A.regular("package/index.js", "ok"), A.regular(name, "x")])
    snapshot = read(data, "a.tgz")
    assert sorted(snapshot.files) == sorted(["index.js", *files])
    assert snapshot.specials == specials
    assert_installed_paths_are_safe(snapshot)
    # pip refuses the same names in an sdist.
    sdist = A.tgz([A.regular("demo-1.0/index.js", "ok"), A.regular(name, "x")])
    error = error_of(sdist, "demo-1.0.tar.gz")
    assert isinstance(error, UnsafeArchive) and message in str(error)


def test_nul_in_pax_name() -> None:
    info, data = A.regular("package/a.js", "x")
    info.pax_headers = {"path": "package/a\x00.pth"}
    snapshot = read(A.tar([(info, data)]), "a.tar")
    assert snapshot.kind is ArtifactKind.NPM_TARBALL and snapshot.files == {}
    assert snapshot.specials == (SpecialEntry("package/a\x00.pth", _SKIP, "file"),)
    info, data = A.regular("demo-1.0/a.js", "x")
    info.pax_headers = {"path": "demo-1.0/a\x00.pth"}
    error = error_of(A.tar([(info, data), A.regular("demo-1.0/b.py")]), "demo-1.0.tar")
    assert isinstance(error, UnsafeArchive) and "NUL" in str(error)


def test_names_are_normalised_after_the_first_segment_is_stripped() -> None:
    data = A.tgz(
        [
            A.directory("./package"),
            A.regular("./package//lib/./a.js", "a"),
            A.regular("package/b.js", "b"),
        ]
    )
    # npm strips `.`, the first segment, so the `package/` folder stays.
    assert sorted(read(data, "a.tgz").files) == ["b.js", "package/lib/a.js"]
    sdist = A.tgz([A.regular("./demo-1.0//lib/./a.js", "a"), A.regular("demo-1.0/b.py", "b")])
    assert sorted(read(sdist, "demo-1.0.tar.gz").files) == ["b.py", "lib/a.js"]


@pytest.mark.parametrize(("root", "filename"), [("package", "a.tgz"), ("demo-1.0", "a.tar.gz")])
def test_duplicates_after_normalisation(root: str, filename: str) -> None:
    data = A.tgz([A.regular(f"{root}/a.js", "1"), A.regular(f"{root}/./a.js", "2")])
    snapshot = read(data, filename)
    assert {path: entry.data for path, entry in snapshot.files.items()} == {"a.js": b"2"}
    # The target is the archive's name for the later entry (pip's view normalises it).
    later = f"{root}/./a.js" if root == "package" else f"{root}/a.js"
    assert snapshot.specials == (SpecialEntry("a.js", SpecialKind.DUPLICATE, later),)


@pytest.mark.parametrize(("root", "filename"), [("package", "a.tgz"), ("demo-1.0", "a.tar.gz")])
def test_file_and_directory_with_one_path(root: str, filename: str) -> None:
    # Neither installer writes directory entries as such (npm filters them, and the folder
    # made for a file is what counts), so the file is what lands.
    data = A.tgz([A.directory(f"{root}/a"), A.regular(f"{root}/a", "x")])
    snapshot = read(data, filename)
    assert {path: entry.data for path, entry in snapshot.files.items()} == {"a": b"x"}
    assert snapshot.specials == ()


def test_repeated_directories_are_fine() -> None:
    data = A.tgz([A.directory("package"), A.directory("package/"), A.regular("package/a", "x")])
    assert list(read(data, "a.tgz").files) == ["a"]


@pytest.mark.parametrize("filename", ["a-1.0-py3-none-any.whl", "a-1.0.zip"])
def test_duplicate_zip_entries(filename: str) -> None:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
        archive.writestr("a/__init__.py", "benign")
        archive.writestr("a/__init__.py", "evil")
    snapshot = read(buffer.getvalue(), filename)
    # pip writes members in order (and looks names up in the zip): the later one stays.
    assert {path: entry.data for path, entry in snapshot.files.items()} == {
        "a/__init__.py" if filename.endswith(".whl") else "__init__.py": b"evil"
    }
    assert [(s.kind, s.target) for s in snapshot.specials] == [
        (SpecialKind.DUPLICATE, "a/__init__.py")
    ]


def test_non_utf8_names_do_not_crash() -> None:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT, encoding="latin-1"
    ) as archive:
        info, data = A.regular("package/café.js", "x")
        archive.addfile(info, io.BytesIO(data))
    assert list(read(buffer.getvalue(), "a.tar").files) == ["caf\ufffd.js"]


# --- links and special members ----------------------------------------------------------------


@pytest.mark.parametrize(("root", "filename"), [("package", "a.tgz"), ("demo-1.0", "a.tar.gz")])
def test_links_inside_the_root_are_recorded_not_materialised(root: str, filename: str) -> None:
    data = A.tgz(
        [
            A.regular(f"{root}/index.js", "x"),
            A.symlink(f"{root}/lib/link.js", "../index.js"),
            A.symlink(f"{root}/self", "."),
            A.hardlink(f"{root}/copy.js", f"{root}/index.js"),
        ]
    )
    snapshot = read(data, filename)
    assert list(snapshot.files) == ["index.js"]
    # npm never writes a link (pacote filters them out); pip's view resolves the hard link's
    # archive path. Either way the link is a special, never a file.
    hardlink_target = f"{root}/index.js" if root == "package" else "index.js"
    assert snapshot.specials == (
        SpecialEntry("lib/link.js", SpecialKind.SYMLINK, "../index.js"),
        SpecialEntry("self", SpecialKind.SYMLINK, "."),
        SpecialEntry("copy.js", SpecialKind.HARDLINK, hardlink_target),
    )


_ESCAPING_LINKS = [
    (A.symlink, "link", "/etc/passwd"),
    (A.symlink, "link", "../other/file"),  # inside the archive, outside the root
    (A.symlink, "link", ".."),
    (A.symlink, "link", "C:\\Windows"),
    (A.symlink, "link", ""),
    (A.hardlink, "hl", "/etc/passwd"),
    (A.hardlink, "hl", "other/file"),
    (A.hardlink, "hl", "{root}/../../x"),
]


@pytest.mark.parametrize(("make", "name", "target"), _ESCAPING_LINKS)
def test_links_escaping_the_root(make: Any, name: str, target: str, sandbox: Path) -> None:
    # npm never writes links: the tarball installs without it, the link noted as a special.
    npm_target = target.format(root="package")
    data = A.tgz([A.regular("package/index.js", "x"), make(f"package/{name}", npm_target)])
    snapshot = read(data, "a.tgz")
    assert list(snapshot.files) == ["index.js"]
    kind = SpecialKind.SYMLINK if make is A.symlink else SpecialKind.HARDLINK
    assert snapshot.specials == (SpecialEntry(name, kind, npm_target),)
    # pip refuses the same link in an sdist.
    sdist_target = target.format(root="demo-1.0")
    sdist = A.tgz([A.regular("demo-1.0/index.js", "x"), make(f"demo-1.0/{name}", sdist_target)])
    error = error_of(sdist, "demo-1.0.tar.gz")
    assert isinstance(error, UnsafeArchive) and "points outside the demo-1.0/ root" in str(error)


def test_symlink_chain_escape() -> None:
    # `d/up` -> `..` stays inside; but `d/up/..` is `..` of the root, not `d`, on a real disk.
    def build(root: str) -> bytes:
        return A.tgz(
            [
                A.regular(f"{root}/d/a.js", "x"),
                A.symlink(f"{root}/d/up", ".."),
                A.symlink(f"{root}/x", "d/up/../.."),
            ]
        )

    assert "symlink 'demo-1.0/x'" in str(error_of(build("demo-1.0"), "demo-1.0.tar.gz"))
    snapshot = read(build("package"), "a.tgz")
    assert list(snapshot.files) == ["d/a.js"]
    assert [(s.path, s.kind) for s in snapshot.specials] == [
        ("d/up", SpecialKind.SYMLINK),
        ("x", SpecialKind.SYMLINK),
    ]


def test_symlink_escaping_a_rootless_archive() -> None:
    data = A.tar([A.regular("a.js", "x"), A.symlink("lib/link", "../../x")])
    assert "points outside the archive" in str(error_of(data, "a.tar"))


@pytest.mark.parametrize(
    ("kind", "word"),
    [(tarfile.CHRTYPE, "device"), (tarfile.BLKTYPE, "device"), (tarfile.FIFOTYPE, "fifo")],
)
def test_devices_and_fifos(kind: bytes, word: str, sandbox: Path) -> None:
    data = A.tgz([A.regular("package/index.js", "x"), A.special("package/dev", kind)])
    snapshot = read(data, "a.tgz")
    assert list(snapshot.files) == ["index.js"]
    assert snapshot.specials == (SpecialEntry("dev", SpecialKind(word)),)
    sdist = A.tgz([A.regular("demo-1.0/index.js", "x"), A.special("demo-1.0/dev", kind)])
    assert f"'demo-1.0/dev' is a {word}" in str(error_of(sdist, "demo-1.0.tar.gz"))


def _zip_with_mode(name: str, content: str, mode: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = mode << 16
        archive.writestr(info, content)
    return buffer.getvalue()


def test_zip_symlinks_are_files_as_pip_writes_them() -> None:
    # pip copies every zip member's bytes into a regular file, whatever its mode bits say.
    inside = _zip_with_mode("demo/link.py", "__init__.py", stat.S_IFLNK | 0o777)
    snapshot = read(inside, "demo-1.0-py3-none-any.whl")
    assert {p: f.data for p, f in snapshot.files.items()} == {
        "demo/__init__.py": b"",
        "demo/link.py": b"__init__.py",
    }
    assert snapshot.specials == ()
    # A "link" to outside is a file with that text, and a .pth "link" is a .pth file.
    outside = _zip_with_mode("demo/evil.pth", "import os  # inert", stat.S_IFLNK | 0o777)
    files = read(outside, "demo-1.0-py3-none-any.whl").files
    assert files["demo/evil.pth"].data == b"import os  # inert"
    escaping = _zip_with_mode("demo/link", "../../../etc/passwd", stat.S_IFLNK | 0o777)
    assert read(escaping, "demo-1.0.zip").files["link"].data == b"../../../etc/passwd"


@pytest.mark.parametrize("mode", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_zip_special_modes(mode: int) -> None:
    data = _zip_with_mode("demo/dev", "", mode | 0o644)
    assert isinstance(error_of(data, "demo-1.0-py3-none-any.whl"), UnsafeArchive)


# --- formats, kinds and root stripping --------------------------------------------------------


def test_npm_tarball_strips_package_root() -> None:
    data = A.npm_tarball({"package.json": '{"name": "x"}', "lib/index.js": "x"})
    snapshot = read(data, "x-1.0.0.tgz")
    assert snapshot.kind is ArtifactKind.NPM_TARBALL
    assert snapshot.filename == "x-1.0.0.tgz"
    assert sorted(snapshot.files) == ["lib/index.js", "package.json"]
    assert snapshot.files["lib/index.js"].path == "lib/index.js"


def test_npm_tarball_with_another_root_when_named_tgz() -> None:
    data = A.npm_tarball({"package.json": "{}"}, root="node")
    assert read(data, "x-1.0.0.tgz").kind is ArtifactKind.NPM_TARBALL
    assert list(read(data, "x-1.0.0.tgz").files) == ["package.json"]
    # The same bytes named like an sdist are one; the root is stripped either way.
    assert read(data, "node.tar.gz").kind is ArtifactKind.SDIST
    assert list(read(data, "node.tar.gz").files) == ["package.json"]


def test_package_root_means_npm_whatever_the_name() -> None:
    data = A.npm_tarball({"package.json": "{}"})
    assert read(data, "upload.tar.gz").kind is ArtifactKind.NPM_TARBALL


def test_sdist_strips_name_version_root() -> None:
    data = A.sdist("demo", "1.0", {"PKG-INFO": "Name: demo", "src/demo/__init__.py": ""})
    snapshot = read(data, "demo-1.0.tar.gz")
    assert snapshot.kind is ArtifactKind.SDIST
    assert sorted(snapshot.files) == ["PKG-INFO", "src/demo/__init__.py"]


def test_zip_sdist_strips_root() -> None:
    data = A.zip_archive({"demo-1.0/": "", "demo-1.0/setup.py": "x", "demo-1.0/demo/a.py": ""})
    snapshot = read(data, "demo-1.0.zip")
    assert snapshot.kind is ArtifactKind.SDIST
    assert sorted(snapshot.files) == ["demo/a.py", "setup.py"]


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_zip_compression_methods(method: int) -> None:
    data = A.zip_archive({"demo/a.py": "print('a')\n" * 50}, compression=method)
    files = read(data, "demo-1.0-py3-none-any.whl").files
    assert files["demo/a.py"].data == b"print('a')\n" * 50


def test_wheel_paths_are_untouched() -> None:
    # Even with one top-level directory a wheel keeps it: it is the import package.
    data = A.wheel({"demo/__init__.py": "", "demo/core.py": "x"})
    snapshot = read(data, "demo-1.0-py3-none-any.whl")
    assert snapshot.kind is ArtifactKind.WHEEL
    assert sorted(snapshot.files) == ["demo/__init__.py", "demo/core.py"]


def test_no_common_root_means_nothing_is_stripped() -> None:
    data = A.tgz([A.regular("setup.py", "x"), A.regular("demo/a.py", "y")])
    assert sorted(read(data, "demo.tar.gz").files) == ["demo/a.py", "setup.py"]


def test_plain_and_v7_tar() -> None:
    raw = A.tar([A.regular("demo-1.0/setup.py", "x")], fmt=tarfile.USTAR_FORMAT)
    assert list(read(raw, "demo-1.0.tar").files) == ["setup.py"]
    # Blank the ustar magic (and fix the checksum): a pre-POSIX tar only the name identifies.
    v7 = bytearray(raw)
    v7[257:265] = bytes(8)
    v7[148:156] = b" " * 8
    v7[148:156] = b"%06o\0 " % sum(v7[:512])
    assert list(read(bytes(v7), "demo-1.0.tar").files) == ["setup.py"]
    assert "unknown archive format" in str(error_of(bytes(v7), "demo-1.0.bin"))


def test_file_entries_carry_content_hash_and_binary_sniff() -> None:
    data = A.npm_tarball({"a.js": "console.log(1)\n", "b.node": b"\x7fELF\x00\x01", "e": ""})
    files = read(data, "a.tgz").files
    assert files["a.js"].data == b"console.log(1)\n"
    assert files["a.js"].sha256 == hashlib.sha256(b"console.log(1)\n").hexdigest()
    assert not files["a.js"].is_binary
    assert files["b.node"].is_binary
    assert files["e"].data == b"" and not files["e"].is_binary


def test_directories_are_skipped() -> None:
    data = A.sdist("demo", "1.0", {"a.py": "x"})
    assert list(read(data, "demo-1.0.tar.gz").files) == ["a.py"]


# --- load_artifact ----------------------------------------------------------------------------


def test_load_artifact(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0.tar.gz"
    path.write_bytes(A.sdist("demo", "1.0", {"a.py": "x"}))
    snapshot = load_artifact(path)
    assert snapshot.filename == "demo-1.0.tar.gz" and list(snapshot.files) == ["a.py"]


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_load_artifact_unreadable(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x.tgz"
    if make == "directory":
        path.mkdir()
    with pytest.raises(NotAnArchive, match=r"^cannot read .*x\.tgz: "):
        load_artifact(path)


def test_load_artifact_of_a_refused_archive_is_a_gap_not_an_error(tmp_path: Path) -> None:
    filename, data = A.HOSTILE["zip_traversal"]()
    path = tmp_path / filename
    path.write_bytes(data)
    snapshot = load_artifact(path)
    assert snapshot.files == {} and snapshot.kind is ArtifactKind.WHEEL
    assert [gap.reason for gap in snapshot.gaps] == [f"archive refused: {error_of(data, filename)}"]
    empty = tmp_path / "empty.tgz"
    empty.write_bytes(b"")
    with pytest.raises(NotAnArchive, match="the file is empty"):
        load_artifact(empty)


# --- performance ------------------------------------------------------------------------------


def test_a_4_mb_sdist_of_1700_files_reads_quickly() -> None:
    files = {
        f"demo/pkg{i // 50}/mod{i}.py": hashlib.shake_256(b"%d" % i).hexdigest(2400)
        for i in range(1700)
    }
    data = A.sdist("demo", "1.0", files)
    assert 3 * MiB < len(data) < 6 * MiB
    start = time.perf_counter()
    snapshot = read(data, "demo-1.0.tar.gz")
    elapsed = time.perf_counter() - start
    assert len(snapshot.files) == 1700
    # The target is well under 0.5 s; the bound leaves room for a loaded CI machine.
    assert elapsed < 1.5


# --- names, sparse files and parents (found while building the hostile corpus) ---------------


def _legacy_zip(header_name: bytes, extra: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("demo/__init__.py", "")
        info = zipfile.ZipInfo("demo/PLACEH.py", (2024, 1, 1, 0, 0, 0))
        info.extra = extra
        archive.writestr(info, "x = 1\n")
    return buffer.getvalue().replace(b"demo/PLACEH.py", header_name)


def test_unicode_path_field_names_a_legacy_encoded_member() -> None:
    # Info-ZIP's way of naming a file written in a local code page: the field is the truth.
    header = b"demo/caf\x82ab.py"  # cp437 "caféab.py", as long as the placeholder
    assert len(header) == len(b"demo/PLACEH.py")
    extra = A._unicode_path_extra(header, "demo/caf\u00e9ab.py")
    snapshot = read(_legacy_zip(header, extra), "demo-1.0-py3-none-any.whl")
    assert sorted(snapshot.files) == ["demo/__init__.py", "demo/caf\u00e9ab.py"]


def test_unicode_path_field_with_a_stale_crc_is_ignored_like_unzip_does() -> None:
    extra = A._unicode_path_extra(b"something/else.py", "../../evil.pth")
    data = _legacy_zip(b"demo/PLACEH.py", extra)
    assert "demo/PLACEH.py" in read(data, "demo-1.0-py3-none-any.whl").files


def test_unicode_path_field_cannot_smuggle_traversal_past_a_legacy_name() -> None:
    header = b"demo/caf\x82ab.py"
    extra = A._unicode_path_extra(header, "../../caf\u00e9.pth")
    error = error_of(_legacy_zip(header, extra), "demo-1.0-py3-none-any.whl")
    assert isinstance(error, UnsafeArchive) and "escapes the archive" in str(error)


def test_small_gnu_sparse_file_is_read_as_its_logical_content() -> None:
    sparse_map = b"%011o\0" % 4 + b"%011o\0" % 5  # 5 bytes of data at offset 4

    def sparse(root: str) -> bytes:
        header = A._header(
            f"{root}/sparse.bin",
            5,
            tarfile.GNUTYPE_SPARSE,
            patches={386: sparse_map, 482: b"\0", 483: b"%011o\0" % 12},
        )
        return A.gz(header + A._pad(b"hello") + A._end())

    sdist = read(sparse("demo-1.0"), "demo-1.0.tar.gz")
    assert sdist.files["sparse.bin"].data == b"\0\0\0\0hello\0\0\0"
    # node-tar does not write a SparseFile entry: npm skips it, and so does the view.
    npm = read(sparse("package"), "a.tgz")
    assert "sparse.bin" not in npm.files
    assert [s.kind for s in npm.specials] == [SpecialKind.SKIPPED]


def test_member_under_a_regular_file() -> None:
    data = A.tgz([A.regular("demo-1.0/a", "x"), A.regular("demo-1.0/a/b.js", "y")])
    error = error_of(data, "demo-1.0.tar.gz")
    assert "'demo-1.0/a/b.js' lies under 'demo-1.0/a', which is a file" in str(error)
    # npm fails to make the folder `a` over the file and keeps the file only (checked against
    # the real npm in tests/e2e/test_installed_view_e2e.py); the skip is shown.
    npm = read(A.tgz([A.regular("package/a", "x"), A.regular("package/a/b.js", "y")]), "a.tgz")
    assert sorted(npm.files) == ["a"]
    assert npm.specials == (
        SpecialEntry("a/b.js", SpecialKind.SKIPPED, "`a` is a file, so its folder cannot be made"),
    )


def test_member_under_a_symlink_whatever_the_order() -> None:
    data = A.tgz([A.regular("demo-1.0/lib/x.js", "y"), A.symlink("demo-1.0/lib", ".")])
    assert "which is a symlink, not a directory" in str(error_of(data, "demo-1.0.tar.gz"))
    # npm never writes the link: `lib/` is a real folder and `lib/x.js` is in it.
    npm = A.tgz([A.regular("package/lib/x.js", "y"), A.symlink("package/lib", ".")])
    snapshot = read(npm, "a.tgz")
    assert list(snapshot.files) == ["lib/x.js"]
    assert snapshot.specials == (SpecialEntry("lib", SpecialKind.SYMLINK, "."),)


def test_directory_entries_named_dot_are_fine() -> None:
    data = A.tgz([A.directory("."), A.directory("./demo-1.0/"), A.regular("./demo-1.0/a.py", "x")])
    assert list(read(data, "demo-1.0.tar.gz").files) == ["a.py"]
    # For npm `.` is the first segment, the one stripped: `package/` stays.
    npm = A.tgz([A.directory("."), A.directory("./package/"), A.regular("./package/a.js", "x")])
    assert list(read(npm, "a.tgz").files) == ["package/a.js"]


def test_path_length_limit_boundary() -> None:
    for root, filename in (("package", "a.tgz"), ("demo-1.0", "demo-1.0.tar.gz")):
        at_limit = f"{root}/" + "d" * (extract.MAX_PATH_CHARS - len(root) - 1)
        assert len(read(A.tgz([A.regular(at_limit, "x")]), filename).files) == 1
    sdist = A.tgz([A.regular(at_limit + "d", "x")])
    error = error_of(sdist, "demo-1.0.tar.gz")
    assert "over the 4096-character limit" in str(error) and len(str(error)) < 400
    # npm cannot write such a path either: the entry is skipped, its name cut short.
    over = "package/" + "d" * (extract.MAX_PATH_CHARS - len("package/") + 1)
    snapshot = read(A.tgz([A.regular(over, "x")]), "a.tgz")
    assert snapshot.files == {}
    assert snapshot.specials == (SpecialEntry(over[:200] + "...", SpecialKind.SKIPPED, "file"),)


# --- the installed view: what npm and pip write, not what the archive lists ------------------

_M = A.NPM_MANIFEST.encode()


def _nonzero(data: bytes) -> int:
    return len(data) - data.count(0)


_DUP = SpecialKind.DUPLICATE

#: What npm installs from each `NPM_LAYOUTS` tarball (checked against the real npm in
#: tests/e2e/test_installed_view_e2e.py): files (path -> content) and specials.
NPM_LAYOUT_VIEW: dict[str, tuple[dict[str, bytes], tuple[SpecialEntry, ...]]] = {
    "two_top_folders": ({"package.json": _M, "index.js": b"ok", "lib/x.js": _INERT}, ()),
    "top_level_file": (
        {"package.json": _M, "index.js": b"ok"},
        (SpecialEntry("evil.js", SpecialKind.SKIPPED, "file"),),
    ),
    "second_manifest": (
        {"package.json": A.NPM_MANIFEST_WITH_POSTINSTALL.encode(), "index.js": b"ok"},
        (SpecialEntry("package.json", _DUP, "other/package.json"),),
    ),
    "backslash_names": (
        {"package.json": _M, "index.js": b"ok", "lib\\x.js": _INERT, "lib/x.js": _INERT},
        (SpecialEntry("lib/x.js", SpecialKind.RENAMED, "package/lib\\x.js"),),
    ),
    "dot_slash": ({"package.json": _M, "package/x.js": _INERT, "y.js": b"y"}, ()),
    "duplicates": (
        {"package.json": _M, "index.js": _INERT},
        (SpecialEntry("index.js", _DUP, "package/index.js"),),
    ),
    "gitignore": (
        {"package.json": _M, ".npmignore": b"renamed\n", "sub/.npmignore": b"kept\n"},
        (),
    ),
    "global_pax_header": ({"package.json": _M, "index.js": b"ok"}, ()),
    "hidden_after_end": (
        {"package.json": _M, "index.js": b"ok"},
        (
            SpecialEntry(
                "",
                SpecialKind.HIDDEN_DATA,
                f"{_nonzero(A.tar([A.regular('package/evil.js', _INERT)])):,} bytes "
                "after the end-of-archive marker",
            ),
        ),
    ),
    "win32_roots": (
        {
            "package.json": _M,
            "index.js": _INERT,  # `c:index.js` lands on it
            "abs.js": b"a",
            "unc.js": b"u",
            "srv/share/unc.js": b"u",  # npm on Windows only
        },
        (
            SpecialEntry("index.js", _DUP, "package/c:index.js"),
            SpecialEntry("srv/share/unc.js", SpecialKind.RENAMED, "package/\\\\srv\\share\\unc.js"),
            SpecialEntry("package/x\\..\\y.js", SpecialKind.SKIPPED, "file"),
        ),
    ),
}


def test_every_npm_layout_has_an_expectation() -> None:
    assert set(A.NPM_LAYOUTS) == set(NPM_LAYOUT_VIEW)


@pytest.mark.parametrize("name", sorted(A.NPM_LAYOUTS))
def test_npm_layouts_are_read_as_npm_installs_them(name: str, sandbox: Path) -> None:
    data = A.NPM_LAYOUTS[name]()
    snapshot = read(data, "fixture-1.0.0.tgz")
    files, specials = NPM_LAYOUT_VIEW[name]
    assert snapshot.kind is ArtifactKind.NPM_TARBALL and snapshot.gaps == ()
    assert {path: entry.data for path, entry in snapshot.files.items()} == files
    assert snapshot.specials == specials
    assert_installed_paths_are_safe(snapshot)


def test_a_second_root_s_package_json_is_the_one_that_counts() -> None:
    # `other/package.json` overwrites `package/package.json` on install: its postinstall runs.
    snapshot = read(A.npm_second_manifest(), "fixture-1.0.0.tgz")
    manifest = parse_manifest(snapshot)
    assert manifest.scripts == {"postinstall": "echo inert collector.attacker.invalid"}
    assert manifest.name == "installed-view-fixture"


def test_a_tarball_with_other_roots_only_is_npm_when_named_tgz() -> None:
    data = A.tgz([A.regular("node/package.json", "{}"), A.regular("node/lib/a.js", "a")])
    assert sorted(read(data, "x-1.0.0.tgz").files) == ["lib/a.js", "package.json"]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        # A `.npmignore` already there: the `.gitignore` is dropped, not renamed.
        (
            [A.regular("package/.npmignore", "n"), A.regular("package/.gitignore", "g")],
            {".npmignore": b"n"},
        ),
        # A `.npmignore` after the renamed `.gitignore` overwrites it.
        (
            [A.regular("package/.gitignore", "g"), A.regular("package/.npmignore", "n")],
            {".npmignore": b"n"},
        ),
        ([A.regular("package/a/.gitignore", "g")], {"a/.npmignore": b"g"}),
        ([A.regular("package/.gitignore.bak", "g")], {".gitignore.bak": b"g"}),
    ],
)
def test_gitignore_becomes_npmignore(members: list[A.Member], expected: dict[str, bytes]) -> None:
    snapshot = read(A.tgz(members), "a.tgz")
    assert {path: entry.data for path, entry in snapshot.files.items()} == expected


def test_gitignore_is_kept_in_sdists() -> None:
    data = A.sdist("demo", "1.0", {".gitignore": "g", "a.py": ""})
    assert sorted(read(data, "demo-1.0.tar.gz").files) == [".gitignore", "a.py"]


def test_duplicates_in_a_tar_sdist_keep_the_later_entry(sandbox: Path) -> None:
    filename, data = A.duplicate_entries(root="demo-1.0")
    snapshot = read(data, "demo-1.0.tar.gz")
    assert {path: entry.data for path, entry in snapshot.files.items()} == {"index.js": _INERT}
    assert snapshot.specials == (SpecialEntry("index.js", _DUP, "demo-1.0/index.js"),)


def test_a_global_pax_header_is_accepted_for_sdists_too() -> None:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "g"}
    ) as archive:
        info, data = A.regular("demo-1.0/setup.py", "x")
        archive.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    assert raw[156:157] == tarfile.XGLTYPE  # the first header is the global one
    snapshot = read(A.gz(raw), "demo-1.0.tar.gz")
    assert list(snapshot.files) == ["setup.py"] and snapshot.specials == ()


#: A wheel member -> where pip installs it, relative to site-packages (None: elsewhere).
WHEEL_DATA_MAPPING = {
    "demo/__init__.py": "demo/__init__.py",
    "demo-1.0.data/purelib/pure_mod.py": "pure_mod.py",
    "demo-1.0.data/platlib/plat/ext.py": "plat/ext.py",
    "demo-1.0.data/data/lib/python3.12/site-packages/evil.pth": "evil.pth",
    "demo-1.0.data/data/Lib/site-packages/win.pth": "win.pth",
    "demo-1.0.data/scripts/tool": None,
    "demo-1.0.data/headers/demo.h": None,
    "demo-1.0.data/data/share/doc.txt": None,
    "demo-1.0.data/README": None,  # directly under `.data`: no scheme, no mapping
}


def test_wheel_data_folders_are_mapped_where_pip_installs_them(sandbox: Path) -> None:
    files = {member: f"# {member}\n" for member in WHEEL_DATA_MAPPING}
    snapshot = read(A.wheel(files), "demo-1.0-py3-none-any.whl")
    expected = {
        (target if target is not None else member): f"# {member}\n".encode()
        for member, target in WHEEL_DATA_MAPPING.items()
    }
    assert {path: entry.data for path, entry in snapshot.files.items()} == expected
    assert snapshot.specials == ()
    assert_installed_paths_are_safe(snapshot)


def test_wheel_data_mapped_onto_an_existing_module_is_a_duplicate() -> None:
    # `.data/purelib/demo/__init__.py` lands on `demo/__init__.py`: pip writes it second.
    data = A.wheel({"demo/__init__.py": "benign", "demo-1.0.data/purelib/demo/__init__.py": "x"})
    snapshot = read(data, "demo-1.0-py3-none-any.whl")
    assert snapshot.files["demo/__init__.py"].data == b"x"
    assert snapshot.specials == (
        SpecialEntry("demo/__init__.py", _DUP, "demo-1.0.data/purelib/demo/__init__.py"),
    )


def test_wheel_data_is_not_mapped_in_a_zip_sdist() -> None:
    data = A.zip_archive({"demo-1.0/setup.py": "", "demo-1.0/x.data/purelib/a.py": ""})
    assert sorted(read(data, "demo-1.0.zip").files) == ["setup.py", "x.data/purelib/a.py"]


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("c:index.js", "index.js"),
        ("C:/Windows/x.js", "Windows/x.js"),
        ("a:b:c.js", "c.js"),
        ("\\abs.js", "abs.js"),
        ("\\\\srv\\share\\x.js", "x.js"),
        ("\\\\\\\\srv\\share\\x.js", "x.js"),
        ("\\\\srv", "srv"),
        ("//?/C:/x.js", "x.js"),
        ("/\\srv\\share\\x.js", "srv\\share\\x.js"),
        ("\\c:\\d:foo\\bar.js", "foo\\bar.js"),
        ("lib/c:x.js", "lib/c:x.js"),  # a root only counts at the start
        ("x\\..\\y.js", None),
        ("c:..\\y.js", None),
        ("c:", None),
    ],
)
def test_npm_strips_win32_roots_like_node_tar(name: str, written: str | None) -> None:
    # node-tar's stripAbsolutePath uses path.win32 on every platform (checked against npm 11
    # on Linux in tests/e2e/test_installed_view_e2e.py).
    snapshot = read(A.tgz([A.regular(f"package/{name}", "x")]), "a.tgz")
    posix = [s for s in snapshot.specials if s.kind is not SpecialKind.RENAMED]
    if written is None:
        assert snapshot.files == {}
        assert posix == [SpecialEntry(f"package/{name}", SpecialKind.SKIPPED, "file")]
    else:
        assert written in snapshot.files and posix == []
    assert_installed_paths_are_safe(snapshot)


@pytest.mark.parametrize(
    "name",
    ["\\" * 4000, "c:" * 2000, "\\\\a\\" * 1000, "/c:" * 1300, "\\\\" + "a" * 4000],
)
def test_win32_root_stripping_stays_fast_on_hostile_names(name: str) -> None:
    # 2,000 members named like this must not cost more than parsing them does.
    started = time.perf_counter()
    for _ in range(2000):
        extract._strip_win32_roots(name)
    assert time.perf_counter() - started < 5


def test_large_members_read_straight_from_the_stream_match_tarfile() -> None:
    # Members over the direct-read size, small ones between, and the gzip stream cut into
    # two members: what is read must be byte for byte what tarfile reads.
    big = random.Random(7).randbytes(2 * 1024 * 1024 + 5)
    files = {
        "package/package.json": b'{"name": "x", "version": "1.0.0"}',
        "package/a.js": big,
        "package/b.js": b"module.exports = 2;\n",
        "package/c.js": big[::-1] + b"x" * 1000,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    raw = buffer.getvalue()
    cut = len(raw) // 3
    data = gzip.compress(raw[:cut], mtime=0) + gzip.compress(raw[cut:], mtime=0)
    snapshot = read(data, "x-1.0.0.tgz")
    for name, content in files.items():
        assert snapshot.files[name.removeprefix("package/")].data == content


def _npm_files(*members: A.Member) -> dict[str, bytes]:
    data = A.tgz([A.regular("package/package.json", A.NPM_MANIFEST), *members])
    snapshot = read(data, "x-1.0.0.tgz")
    return {path: entry.data for path, entry in snapshot.files.items()}


def test_npm_view_skips_a_file_under_a_file_and_a_file_over_a_folder() -> None:
    # node-tar cannot make folder `a` over file `a` (EEXIST), nor replace a folder holding
    # files by a file (ENOTEMPTY): npm writes neither, so neither is analysed as installed.
    under = _npm_files(A.regular("package/a", "x"), A.regular("package/a/b.js", "y"))
    assert under.keys() == {"package.json", "a"}
    over = _npm_files(A.regular("package/a/b.js", "y"), A.regular("package/a", "x"))
    assert over.keys() == {"package.json", "a/b.js"}


def test_npm_view_skips_entry_types_pacote_does_not_write() -> None:
    info, content = A.regular("package/z.js", "Z")
    info.type = b"Z"
    assert _npm_files((info, content)).keys() == {"package.json"}


def test_npm_view_renames_gitignore_by_its_unstripped_folder() -> None:
    files = _npm_files(A.regular("package/.npmignore", "n"), A.regular("other/.gitignore", "g"))
    assert files[".npmignore"] == b"g"
    same_root = _npm_files(
        A.regular("package/.npmignore", "n"), A.regular("package/.gitignore", "g")
    )
    assert same_root == {"package.json": A.NPM_MANIFEST.encode(), ".npmignore": b"n"}
