"""Build release archives, benign and hostile, as bytes in memory for tests.

Everything is synthetic and defanged: "payloads" are inert strings, attacker hosts live under
`.invalid`, and nothing is ever written to disk. Builders are deterministic (fixed mtimes),
so the same call always yields the same bytes and digests.

`HOSTILE` maps a name to a builder returning `(filename, bytes)` for every hostile kind, so
CLI and end-to-end tests can parametrize over all of them; `HOSTILE_ERRORS` says which
exception class `watcher.artifacts.extract.read_archive` must raise for each.
"""

from __future__ import annotations

import functools
import gzip
import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping

from watcher.errors import ArchiveError, UnsafeArchive

Files = Mapping[str, bytes | str]
Member = tuple[tarfile.TarInfo, bytes]

MiB = 1024 * 1024
_MTIME = 1_700_000_000
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


# --- building blocks ------------------------------------------------------------------------


def regular(name: str, data: bytes | str = b"", mode: int = 0o644) -> Member:
    """A regular-file tar member."""
    content = _as_bytes(data)
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(content), mode, _MTIME
    return info, content


def directory(name: str) -> Member:
    """A directory tar member."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _MTIME
    return info, b""


def symlink(name: str, target: str) -> Member:
    """A symbolic-link tar member."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, _MTIME
    return info, b""


def hardlink(name: str, target: str) -> Member:
    """A hard-link tar member (`target` is an archive path)."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = tarfile.LNKTYPE, target, _MTIME
    return info, b""


def special(name: str, kind: bytes) -> Member:
    """A device or fifo member (`tarfile.CHRTYPE`, `BLKTYPE` or `FIFOTYPE`)."""
    info = tarfile.TarInfo(name)
    info.type, info.mtime = kind, _MTIME
    info.devmajor, info.devminor = 1, 3
    return info, b""


def tar(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar stream of `members`, in order (duplicates and all)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    """Gzip `data` deterministically (mtime 0)."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def tgz(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A gzip-compressed tar of `members`."""
    return gz(tar(members, fmt))


def npm_tarball(files: Files, root: str = "package") -> bytes:
    """An npm-style tarball: every file under `root/` (npm itself always uses `package/`)."""
    return tgz(regular(f"{root}/{path}", data) for path, data in files.items())


def sdist(name: str, version: str, files: Files) -> bytes:
    """A PyPI source distribution: a tar.gz with a `name-version/` root directory."""
    root = f"{name}-{version}"
    members = [directory(root)]
    members += [regular(f"{root}/{path}", data) for path, data in files.items()]
    return tgz(members)


def zip_archive(files: Files, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of `files` with their paths exactly as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, _ZIP_DATE)
            info.compress_type = compression
            archive.writestr(info, _as_bytes(data))
    return buffer.getvalue()


def wheel(files: Files) -> bytes:
    """A wheel (a zip; paths are install paths, with no root directory)."""
    return zip_archive(files)


def gzip_of_zeros(prefix: bytes, zeros: int) -> bytes:
    """Gzip of `prefix` followed by `zeros` NUL bytes, built without compressing them all.

    After a full flush deflate forgets its history, so one compressed MiB of zeros is a
    self-contained piece that can be repeated; a 100 MiB bomb takes milliseconds to build.
    """
    full_mibs, remainder = divmod(zeros, MiB)
    head = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts = [head.compress(prefix) + head.flush(zlib.Z_FULL_FLUSH)]
    piece = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    one_mib = piece.compress(bytes(MiB)) + piece.flush(zlib.Z_FULL_FLUSH)
    parts += [one_mib] * full_mibs
    tail = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts.append(tail.compress(bytes(remainder)) + tail.flush(zlib.Z_FINISH))

    crc = zlib.crc32(prefix)
    zero_mib = bytes(MiB)
    for _ in range(full_mibs):
        crc = zlib.crc32(zero_mib, crc)
    crc = zlib.crc32(bytes(remainder), crc)
    size = (len(prefix) + zeros) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + b"".join(parts) + struct.pack("<LL", crc, size)


# --- hostile archives -------------------------------------------------------------------------

_INERT = b"// inert test payload, exfil host: collector.attacker.invalid\n"


def traversal() -> tuple[str, bytes]:
    """A member that climbs out of the extraction directory with `..`."""
    return "traversal.tgz", tgz(
        [regular("package/index.js", "ok"), regular("package/../../evil", _INERT)]
    )


def absolute_path() -> tuple[str, bytes]:
    """A member with an absolute path."""
    return "absolute.tgz", tgz(
        [regular("package/index.js", "ok"), regular("/etc/evil", _INERT)], fmt=tarfile.USTAR_FORMAT
    )


def symlink_escape() -> tuple[str, bytes]:
    """A symlink pointing outside the package root."""
    return "symlink-escape.tgz", tgz(
        [regular("package/index.js", "ok"), symlink("package/link", "../../etc/passwd")]
    )


def hardlink_escape() -> tuple[str, bytes]:
    """A hard link whose target lies outside the package root."""
    return "hardlink-escape.tgz", tgz(
        [regular("package/index.js", "ok"), hardlink("package/hl", "../../etc/passwd")]
    )


def char_device() -> tuple[str, bytes]:
    """A character device node."""
    return "device.tgz", tgz(
        [regular("package/index.js", "ok"), special("package/null", tarfile.CHRTYPE)]
    )


@functools.cache
def _too_many_files() -> bytes:
    # Headers are stamped from one template: TarFile.addfile for 20,001 members takes ~1 s.
    template = bytearray(tarfile.TarInfo("").tobuf(tarfile.USTAR_FORMAT))
    template[148:156] = b" " * 8  # the checksum is computed with its own field as spaces
    base = sum(template)
    blocks = []
    for index in range(20_001):
        name = f"package/f{index}.js".encode()
        header = bytearray(template)
        header[: len(name)] = name
        header[148:156] = b"%06o\0 " % (base + sum(name))
        blocks.append(bytes(header))
    blocks.append(bytes(2 * tarfile.BLOCKSIZE))
    return gz(b"".join(blocks))


def too_many_files() -> tuple[str, bytes]:
    """20,001 empty members: one over the default member limit, and only ~150 KB."""
    return "too-many.tgz", _too_many_files()


@functools.cache
def _ratio_bomb() -> bytes:
    size = 60 * MiB  # under the default per-file limit, so only the ratio can catch it
    info = tarfile.TarInfo("package/zeros.bin")
    info.size, info.mtime = size, _MTIME
    header = info.tobuf(tarfile.USTAR_FORMAT)
    trailer = 2 * tarfile.BLOCKSIZE
    stream = len(header) + size + trailer
    padding = -stream % tarfile.RECORDSIZE
    return gzip_of_zeros(header, size + trailer + padding)


def ratio_bomb() -> tuple[str, bytes]:
    """A ~60 KB tarball declaring a 60 MiB member of zeros (ratio ~1000)."""
    return "bomb.tgz", _ratio_bomb()


@functools.cache
def _gzip_bomb() -> bytes:
    return gzip_of_zeros(b"", 128 * MiB)


def gzip_bomb() -> tuple[str, bytes]:
    """128 MiB of zeros gzip'd (~130 KB): no tar header declares the size, only inflating tells."""
    return "gzip-bomb.tgz", _gzip_bomb()


def corrupt_gzip() -> tuple[str, bytes]:
    """A gzip header followed by bytes that are not deflate data."""
    return "corrupt.tgz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + b"\xff" * 64


def truncated_tar() -> tuple[str, bytes]:
    """A tar cut off in the middle of a member's data (then validly gzip'd)."""
    raw = tar([regular("package/index.js", "x" * 4096), regular("package/b.js", "y" * 4096)])
    return "truncated.tgz", gz(raw[:2048])


def duplicate_entries() -> tuple[str, bytes]:
    """The same path twice: an installer and a scanner may read different copies."""
    return "duplicate.tgz", tgz(
        [regular("package/index.js", "benign"), regular("package/index.js", _INERT)]
    )


def zip_lying_size() -> tuple[str, bytes]:
    """A wheel whose member declares 16 bytes (with a matching CRC) but inflates to 1 MiB.

    zipfile would quietly return the 16-byte stub; `unzip` would write the whole payload.
    """
    payload = b"A" * MiB
    data = bytearray(zip_archive({"lying/__init__.py": payload}))
    stub_crc = zlib.crc32(payload[:16])
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<L", data, local + 14, stub_crc)
    struct.pack_into("<L", data, local + 22, 16)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 16, stub_crc)
    struct.pack_into("<L", data, central + 24, 16)
    return "lying-1.0-py3-none-any.whl", bytes(data)


def zip_traversal() -> tuple[str, bytes]:
    """A wheel member with `..` in its path."""
    return "traversal-1.0-py3-none-any.whl", zip_archive(
        {"traversal/__init__.py": "", "../../evil.pth": "import os"}
    )


def nul_in_name() -> tuple[str, bytes]:
    """A member name with a NUL byte (zipfile would silently cut the name there)."""
    # zipfile cuts names at NUL when writing too, so write a placeholder and patch it in.
    data = zip_archive({"nul/ok.py#.pth": "import os"}).replace(b"ok.py#.pth", b"ok.py\x00.pth")
    return "nul-1.0-py3-none-any.whl", data


HOSTILE: dict[str, Callable[[], tuple[str, bytes]]] = {
    "traversal": traversal,
    "absolute_path": absolute_path,
    "symlink_escape": symlink_escape,
    "hardlink_escape": hardlink_escape,
    "char_device": char_device,
    "too_many_files": too_many_files,
    "ratio_bomb": ratio_bomb,
    "gzip_bomb": gzip_bomb,
    "corrupt_gzip": corrupt_gzip,
    "truncated_tar": truncated_tar,
    "duplicate_entries": duplicate_entries,
    "zip_lying_size": zip_lying_size,
    "zip_traversal": zip_traversal,
    "nul_in_name": nul_in_name,
}

#: The exact exception class `read_archive` raises for each entry of `HOSTILE`.
HOSTILE_ERRORS: dict[str, type[ArchiveError]] = {
    **dict.fromkeys(HOSTILE, UnsafeArchive),
    "corrupt_gzip": ArchiveError,
    "truncated_tar": ArchiveError,
}
