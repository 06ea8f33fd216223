"""The extractor over random bytes and over valid archives with bytes flipped, cut or inserted."""

from __future__ import annotations

import gzip
import io
import tarfile
import zlib
from collections.abc import Iterable

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ, assert_one_line
from tests.support import archives as A
from watcher.artifacts.extract import ExtractLimits, installed_view, read_archive
from watcher.errors import ArchiveError, NotAnArchive

#: Small limits: the fuzzer must explore parsing, not spend its time inflating megabytes.
LIMITS = ExtractLimits(
    max_members=200, max_total_bytes=4 << 20, max_file_bytes=1 << 20, max_ratio=200.0
)
FILENAMES = (
    "pkg-1.0.0.tgz",
    "pkg-1.0.tar.gz",
    "pkg-1.0.tar",
    "pkg-1.0.zip",
    "pkg-1.0-py3-none-any.whl",
)


def _seeds() -> list[tuple[str, bytes]]:
    files = {"index.js": "module.exports = 1;\n", "lib/a.js": "x", "package.json": '{"name":"p"}'}
    seeds = [
        ("pkg-1.0.0.tgz", A.npm_tarball(files)),
        (
            "pkg-1.0.tar.gz",
            A.sdist("pkg", "1.0", {"PKG-INFO": "Name: pkg\n", "pkg/__init__.py": ""}),
        ),
        ("pkg-1.0-py3-none-any.whl", A.wheel({"pkg/__init__.py": "", "pkg/x.py": "y = 2\n"})),
        ("pkg-1.0.tar", A.tar([A.regular("pkg-1.0/a.py", "a"), A.symlink("pkg-1.0/l", "a.py")])),
        (
            "pkg-1.0.tar",
            A.tar(
                [
                    A.directory("package"),
                    A.hardlink("package/h", "package/a"),
                    A.regular("package/a"),
                ],
                fmt=tarfile.GNU_FORMAT,
            ),
        ),
    ]
    odd = (A.gnu_sparse, A.pax_sparse, A.odd_header_numbers, A.zip64_lying_size, A.fifo)
    seeds.extend(builder() for builder in odd)
    seeds.extend(("pkg-1.0.0.tgz", build()) for build in A.NPM_LAYOUTS.values())
    seeds.append(("pkg-1.0.0.tgz", A.write_through_symlink()[1]))
    seeds.append(("pkg-1.0.tar.gz", A.symlink_escape(root="pkg-1.0")[1]))
    return seeds


SEEDS = _seeds()


def _check(data: bytes, filename: str) -> None:
    """read_archive raises only ArchiveError; installed_view only NotAnArchive (else a gap)."""
    try:
        snapshot = read_archive(data, filename, LIMITS)
    except ArchiveError as e:
        assert_one_line(e)
        refused: ArchiveError | None = e
    else:
        refused = None
        _check_installed_paths(snapshot.files)
        assert sum(f.size for f in snapshot.files.values()) <= LIMITS.max_total_bytes
    try:
        view = installed_view(data, filename, LIMITS)
    except NotAnArchive as e:
        assert isinstance(refused, NotAnArchive), f"installed_view: {e}, read_archive: {refused}"
        assert_one_line(e)
        return
    if refused is None:
        assert view == snapshot
        return
    # A refused archive (or, from a registry, bytes that are no archive) is a gap, not an error.
    assert view.files == {} and len(view.gaps) == 1
    if isinstance(refused, NotAnArchive):
        assert view.gaps[0].reason == f"archive not readable: {filename}"
    else:
        assert view.gaps[0].reason == f"archive refused: {refused}"


def _check_installed_paths(paths: Iterable[str]) -> None:
    for path in paths:
        assert path and not path.startswith("/"), path
        assert ".." not in path.split("/"), path


@st.composite
def _mutated(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "insert", "truncate", "overwrite", "delete"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if action == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif action == "truncate":
            del out[at:]
        elif action == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            out[at : at + len(chunk)] = chunk
        elif action == "delete":
            del out[at : at + draw(st.integers(1, 600))]
    return bytes(out)


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(FILENAMES))
@example(b"", "pkg.tgz")
@example(b"\x1f\x8b", "pkg.tgz")
@example(b"PK\x05\x06" + bytes(18), "pkg-1.0-py3-none-any.whl")
@example(bytes(1024), "pkg.tar")
def test_random_bytes(data: bytes, filename: str) -> None:
    _check(data, filename)


@FUZZ
@given(st.sampled_from(SEEDS).flatmap(lambda seed: st.tuples(st.just(seed[0]), _mutated(seed[1]))))
def test_mutated_archives(case: tuple[str, bytes]) -> None:
    filename, data = case
    _check(data, filename)


def _inner_tar(seed: bytes) -> bytes:
    return zlib.decompress(seed, 16 + zlib.MAX_WBITS) if seed[:2] == b"\x1f\x8b" else seed


TAR_SEEDS = [
    (name, _inner_tar(data)) for name, data in SEEDS if not name.endswith((".zip", ".whl"))
]


@FUZZ
@given(
    st.sampled_from(TAR_SEEDS).flatmap(lambda seed: st.tuples(st.just(seed[0]), _mutated(seed[1]))),
    st.booleans(),
)
def test_mutated_tar_streams_under_valid_gzip(case: tuple[str, bytes], gzipped: bool) -> None:
    # Mutating gzip bytes mostly trips the CRC; re-wrapping a damaged tar reaches tarfile itself.
    filename, raw = case
    data = gzip.compress(raw, mtime=0) if gzipped else raw
    _check(data, filename if gzipped else "pkg-1.0.tar")


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.text(st.characters(codec="utf-8"), min_size=0, max_size=40),
            st.sampled_from([b"0", b"2", b"5", b"1", b"S", b"x", b"L", b"K", b"7", b"Z"]),
            st.binary(max_size=64),
        ),
        max_size=6,
    )
)
def test_random_tar_members(members: list[tuple[str, bytes, bytes]]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname = kind, len(data), name[::-1]
            archive.addfile(info, io.BytesIO(data))
    _check(gzip.compress(buffer.getvalue(), mtime=0), "pkg-1.0.0.tgz")
