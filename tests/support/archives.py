"""Build release archives, benign and hostile, as bytes in memory for tests.

Everything is synthetic and defanged: "payloads" are inert strings, attacker hosts live under
`.invalid`, and nothing is ever written to disk. Builders are deterministic (fixed mtimes),
so the same call always yields the same bytes and digests.

`HOSTILE` maps a name to a builder returning `(filename, bytes)` for every hostile kind that
must be refused, so CLI and end-to-end tests can parametrize over all of them; `HOSTILE_ERRORS`
says which exception class `watcher.artifacts.extract.read_archive` must raise for each.
`NPM_ACCEPTED` holds hostile npm tarballs that npm installs anyway (skipping or rewriting the
hostile entries), which must be read as npm installs them, and refused as sdists.
`HOSTILE_ACCEPTED` holds the odd-but-harmless kinds (non-UTF-8 names, a 50 MiB line, a nested
archive, ...) that must be read safely instead, with what must hold in `HOSTILE_ACCEPTED_EXPECT`.
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
from typing import Literal

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


def traversal(root: str = "package") -> tuple[str, bytes]:
    """A member that climbs out of the extraction directory with `..`."""
    return "traversal.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), regular(f"{root}/../../evil", _INERT)]
    )


def absolute_path(root: str = "package") -> tuple[str, bytes]:
    """A member with an absolute path."""
    return "absolute.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), regular("/etc/evil", _INERT)], fmt=tarfile.USTAR_FORMAT
    )


def symlink_escape(root: str = "package") -> tuple[str, bytes]:
    """A symlink pointing outside the package root."""
    return "symlink-escape.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), symlink(f"{root}/link", "../../etc/passwd")]
    )


def hardlink_escape(root: str = "package") -> tuple[str, bytes]:
    """A hard link whose target lies outside the package root."""
    return "hardlink-escape.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), hardlink(f"{root}/hl", "../../etc/passwd")]
    )


def char_device(root: str = "package") -> tuple[str, bytes]:
    """A character device node."""
    return "device.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), special(f"{root}/null", tarfile.CHRTYPE)]
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


def duplicate_entries(root: str = "package") -> tuple[str, bytes]:
    """The same path twice: the installer keeps the later copy, a naive scanner the first."""
    return "duplicate.tgz", tgz(
        [regular(f"{root}/index.js", "benign"), regular(f"{root}/index.js", _INERT)]
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


def _header(
    name: str,
    size: int = 0,
    kind: bytes = tarfile.REGTYPE,
    fmt: Literal[0, 1, 2] = tarfile.GNU_FORMAT,
    patches: Mapping[int, bytes] | None = None,
) -> bytes:
    """One raw tar header block, with `patches` (offset -> bytes) applied and the checksum fixed."""
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime, info.mode = size, kind, _MTIME, 0o644
    block = bytearray(info.tobuf(fmt)[-tarfile.BLOCKSIZE :])
    for offset, value in (patches or {}).items():
        block[offset : offset + len(value)] = value
    block[148:156] = b" " * 8  # the checksum is computed with its own field as spaces
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def _base256(value: int, width: int) -> bytes:
    """A GNU base-256 numeric field: a 0x80 (positive) or 0xff (negative) marker byte."""
    body = width - 1
    if value < 0:
        return b"\xff" + int(256**body + value).to_bytes(body, "big")
    return b"\x80" + value.to_bytes(body, "big")


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % tarfile.BLOCKSIZE)


def _end() -> bytes:
    return bytes(2 * tarfile.BLOCKSIZE)


def _pax_record(keyword: str, value: bytes) -> bytes:
    """One `"<len> keyword=value\\n"` pax record (the length counts itself)."""
    body = b" " + keyword.encode() + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def _pax(records: Mapping[str, bytes]) -> bytes:
    """A pax extended header ('x') with its records, padded to blocks."""
    payload = b"".join(_pax_record(k, v) for k, v in records.items())
    return _header("PaxHeader/x", len(payload), tarfile.XHDTYPE, tarfile.USTAR_FORMAT) + _pad(
        payload
    )


def _zip_patch_central(data: bytes, index: int, **fields: int) -> bytes:
    """Patch fields of the `index`-th central-directory entry (offsets per APPNOTE 4.3.12)."""
    offsets = {"flags": (8, "<H"), "offset": (42, "<L"), "name_len": (28, "<H")}
    out = bytearray(data)
    at = -1
    for _ in range(index + 1):
        at = out.find(b"PK\x01\x02", at + 1)
    for field, value in fields.items():
        where, fmt = offsets[field]
        struct.pack_into(fmt, out, at + where, value)
    return bytes(out)


def tar_latin1_name() -> tuple[str, bytes]:
    """A member name in latin-1, not UTF-8 (old tar implementations write local encodings)."""
    return "latin1-name.tgz", gz(
        _header("package/index.js", 2)
        + _pad(b"ok")
        + _header("package/cafe.js", len(_INERT), patches={0: b"package/caf\xe9.js"})
        + _pad(_INERT)
        + _end()
    )


def zip_cp437_name() -> tuple[str, bytes]:
    """A zip member named in a legacy code page (no UTF-8 flag): bytes \\x82 and \\xe9."""
    data = zip_archive({"demo/__init__.py": "", "demo/caf#.py": _INERT})
    data = data.replace(b"demo/caf#.py", b"demo/caf\x82.py")
    return "cp437-1.0-py3-none-any.whl", data


def zip_duplicate_entries() -> tuple[str, bytes]:
    """Two zip entries for one path, benign then hostile: pip and unzip keep different ones."""
    data = zip_archive({"dup/__init__.py": "benign", "dup/__init__.pz": _INERT})
    return "dup-1.0-py3-none-any.whl", data.replace(b"dup/__init__.pz", b"dup/__init__.py")


#: Size of the one-line bundle in `huge_line` (a minified bundle gone wild).
HUGE_LINE_BYTES = 50 * MiB


@functools.cache
def _huge_line() -> bytes:
    import random

    # Hex of seeded random bytes: compresses ~2x, far under the ratio limit, unlike zeros.
    noise = random.Random(5).randbytes(HUGE_LINE_BYTES // 2 - 64).hex()
    line = ("var a='" + noise + "';").encode()
    members = [
        regular("package/index.js", "module.exports = 1;\n"),
        regular("package/bundle.js", line),
    ]
    return gzip.compress(tar(members), compresslevel=1, mtime=0)


def huge_line() -> tuple[str, bytes]:
    """A 50 MiB JavaScript file that is a single line: diff and rules must stay bounded."""
    return "huge-line.tgz", _huge_line()


def nested_archive() -> tuple[str, bytes]:
    """A .tgz inside the package: it is one opaque member, never opened recursively."""
    inner = npm_tarball({"index.js": _INERT, "../../escape.js": _INERT})
    return "nested.tgz", tgz(
        [regular("package/index.js", "ok"), regular("package/vendor/inner.tgz", inner)]
    )


def gnu_sparse() -> tuple[str, bytes]:
    """An old-GNU sparse member ('S') storing 5 bytes but declaring a 4 GiB real size."""
    realsize = b"%011o\0" % (4 << 30)
    sparse_map = b"%011o\0" % 0 + b"%011o\0" % 5
    header = _header(
        "package/sparse.bin",
        5,
        tarfile.GNUTYPE_SPARSE,
        patches={386: sparse_map, 482: b"\0", 483: realsize},
    )
    body = _header("package/index.js", 2) + _pad(b"ok") + header + _pad(b"hello") + _end()
    return "gnu-sparse.tgz", gz(body)


def pax_sparse() -> tuple[str, bytes]:
    """A PAX (GNU 1.0) sparse member declaring a 10 GiB real size for a few stored bytes."""
    stored = _pad(b"1\n0\n5\n") + _pad(b"hello")
    records = {
        "GNU.sparse.major": b"1",
        "GNU.sparse.minor": b"0",
        "GNU.sparse.name": b"package/sparse.bin",
        "GNU.sparse.realsize": str(10 << 30).encode(),
    }
    body = (
        _header("package/index.js", 2)
        + _pad(b"ok")
        + _pax(records)
        + _header("package/GNUSparseFile.0/sparse.bin", len(stored), fmt=tarfile.USTAR_FORMAT)
        + stored
        + _end()
    )
    return "pax-sparse.tgz", gz(body)


def pax_path_traversal(root: str = "package") -> tuple[str, bytes]:
    """A harmless ustar name overridden by a pax `path` record of `../x`."""
    body = (
        _header(f"{root}/index.js", 2)
        + _pad(b"ok")
        + _pax({"path": b"../x"})
        + _header(f"{root}/harmless.js", len(_INERT), fmt=tarfile.USTAR_FORMAT)
        + _pad(_INERT)
        + _end()
    )
    return "pax-path.tgz", gz(body)


def zip_backslash_traversal() -> tuple[str, bytes]:
    """A wheel member `..\\..\\evil.pth`: a Windows installer climbs out with it."""
    return "backslash-1.0-py3-none-any.whl", zip_archive(
        {"bs/__init__.py": "", "bs\\..\\..\\..\\evil.pth": "import os"}
    )


def zip_drive_letter() -> tuple[str, bytes]:
    """A zip sdist member with a drive letter (`C:/...`): absolute on Windows."""
    return "drive-1.0.zip", zip_archive(
        {"drive-1.0/setup.py": "", "C:/Users/Public/evil.pth": "import os"}
    )


def _unicode_path_extra(header_name: bytes, unicode_name: str) -> bytes:
    """An Info-ZIP unicode path extra field (0x7075) valid for `header_name` (CRC matches)."""
    payload = struct.pack("<BL", 1, zlib.crc32(header_name)) + unicode_name.encode()
    return struct.pack("<HH", 0x7075, len(payload)) + payload


def zip_unicode_path_mismatch() -> tuple[str, bytes]:
    """A wheel member named `up/ok.py` whose unicode path field says `../../evil.pth`.

    unzip (and Python >= 3.12's zipfile) take the unicode field when its CRC matches the
    header name; older readers take the header name: two readers, two files.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("up/__init__.py", "")
        info = zipfile.ZipInfo("up/ok.py", _ZIP_DATE)
        info.extra = _unicode_path_extra(b"up/ok.py", "../../evil.pth")
        archive.writestr(info, "import os")
    return "unicode-path-1.0-py3-none-any.whl", buffer.getvalue()


def zip64_lying_size() -> tuple[str, bytes]:
    """A zip64 member whose zip64 extra fields declare 16 bytes (CRC to match) for 1 MiB.

    Built by hand: zipfile only writes zip64 central records for members over 4 GiB.
    """
    payload = b"B" * MiB
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = deflate.compress(payload) + deflate.flush()
    name = b"z64/__init__.py"
    crc = zlib.crc32(payload[:16])
    zip64 = struct.pack("<HHQQ", 1, 16, 16, len(deflated))  # uncompressed, compressed
    fields = (45, 0, zipfile.ZIP_DEFLATED, 0, 0x5821, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name))
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, len(zip64)) + name + zip64
    central = (
        struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, *fields, len(zip64), 0, 0, 0, 0o644 << 16, 0)
        + name
        + zip64
    )
    body = local + deflated
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(body), 0)
    return "zip64-1.0-py3-none-any.whl", body + central + end


def case_collision() -> tuple[str, bytes]:
    """`A.js` and `a.js`: one file on macOS/Windows, two here; both must be scanned."""
    return "case.tgz", tgz(
        [
            regular("package/index.js", "ok"),
            regular("package/A.js", "module.exports = 'benign';\n"),
            regular("package/a.js", _INERT),
        ]
    )


def dot_name(root: str = "package") -> tuple[str, bytes]:
    """A regular file named `package/.`: it would replace its own directory."""
    return "dot.tgz", tgz([regular(f"{root}/index.js", "ok"), regular(f"{root}/.", _INERT)])


def empty_name(root: str = "package") -> tuple[str, bytes]:
    """A regular file whose name is empty."""
    body = (
        _header(f"{root}/index.js", 2)
        + _pad(b"ok")
        + _header("", len(_INERT))
        + _pad(_INERT)
        + _end()
    )
    return "empty-name.tgz", gz(body)


def symlink_loop() -> tuple[str, bytes]:
    """Symlinks pointing at each other (and one at itself): no resolution may loop."""
    return "loop.tgz", tgz(
        [
            regular("package/index.js", "ok"),
            symlink("package/a", "b"),
            symlink("package/b", "a"),
            symlink("package/self", "self"),
        ]
    )


def fifo(root: str = "package") -> tuple[str, bytes]:
    """A named pipe: extracting one blocks readers forever."""
    return "fifo.tgz", tgz(
        [regular(f"{root}/index.js", "ok"), special(f"{root}/pipe", tarfile.FIFOTYPE)]
    )


#: Directories above the one file of `deep_nesting`.
DEEP_NESTING = 10_000


def deep_nesting(root: str = "package") -> tuple[str, bytes]:
    """One file 10,000 directories deep (a 20 KB path, far past any OS's PATH_MAX)."""
    deep = f"{root}/" + "d/" * DEEP_NESTING + "index.js"
    return "deep.tgz", tgz([regular(f"{root}/index.js", "ok"), regular(deep, _INERT)])


def odd_header_numbers() -> tuple[str, bytes]:
    """A negative mtime and a 2**55 uid/gid (base-256), then pax numbers out of any range."""
    first = b"module.exports = 1;\n"
    base256 = {
        136: _base256(-(10**12), 12),
        108: _base256(2**55, 8),
        116: _base256(2**55, 8),
    }
    odd = {"mtime": b"-1e400", "uid": b"9" * 40, "gid": b"-5", "atime": b"nan"}
    body = (
        _header("package/index.js", len(first), patches=base256)
        + _pad(first)
        + _pax(odd)
        + _header("package/old.js", 1, fmt=tarfile.USTAR_FORMAT)
        + _pad(b"x")
        + _end()
    )
    return "odd-numbers.tgz", gz(body)


def pax_negative_size() -> tuple[str, bytes]:
    """A pax `size` record of -1024 on a member: a reader must not step backwards."""
    body = (
        _header("package/index.js", 2)
        + _pad(b"ok")
        + _pax({"size": b"-1024"})
        + _header("package/neg.js", 0, fmt=tarfile.USTAR_FORMAT)
        + _end()
    )
    return "negative-size.tgz", gz(body)


def zip_central_dir_outside() -> tuple[str, bytes]:
    """A zip whose central directory sends a member to an offset past the end of the file."""
    data = zip_archive({"out/__init__.py": "", "out/x.py": "x"})
    return "outside-1.0-py3-none-any.whl", _zip_patch_central(data, 1, offset=0x7FFFFFF0)


def zip_overlapping_entries() -> tuple[str, bytes]:
    """Two central-directory entries for one local header (the overlapping zip bomb trick)."""
    data = zip_archive({"ov/__init__.py": "", "ov/a.py": _INERT, "ov/b.py": "b"})
    first_local = data.find(b"PK\x03\x04", data.find(b"ov/__init__.py") + 1)
    return "overlap-1.0-py3-none-any.whl", _zip_patch_central(data, 2, offset=first_local)


def write_through_symlink(root: str = "package") -> tuple[str, bytes]:
    """A symlink `lib` -> `.` and then `lib/index.js`: on disk it overwrites index.js."""
    return "write-through.tgz", tgz(
        [
            regular(f"{root}/index.js", "module.exports = 'benign';\n"),
            symlink(f"{root}/lib", "."),
            regular(f"{root}/lib/index.js", _INERT),
        ]
    )


#: Archives refused whatever they are named (an npm tarball, an sdist or a wheel): over a
#: limit, corrupt, or a zip trick that shows two readers two files. Hostile *names* in a zip
#: (wheel or sdist) are refused too, as pip refuses them.
HOSTILE: dict[str, Callable[[], tuple[str, bytes]]] = {
    "too_many_files": too_many_files,
    "ratio_bomb": ratio_bomb,
    "gzip_bomb": gzip_bomb,
    "corrupt_gzip": corrupt_gzip,
    "truncated_tar": truncated_tar,
    "zip_lying_size": zip_lying_size,
    "zip_traversal": zip_traversal,
    "nul_in_name": nul_in_name,
    "gnu_sparse": gnu_sparse,
    "pax_sparse": pax_sparse,
    "zip_backslash_traversal": zip_backslash_traversal,
    "zip_drive_letter": zip_drive_letter,
    "zip_unicode_path_mismatch": zip_unicode_path_mismatch,
    "zip64_lying_size": zip64_lying_size,
    "pax_negative_size": pax_negative_size,
    "zip_central_dir_outside": zip_central_dir_outside,
    "zip_overlapping_entries": zip_overlapping_entries,
}

#: The exact exception class `read_archive` raises for each entry of `HOSTILE`.
HOSTILE_ERRORS: dict[str, type[ArchiveError]] = {
    **dict.fromkeys(HOSTILE, UnsafeArchive),
    "corrupt_gzip": ArchiveError,
    "truncated_tar": ArchiveError,
    "pax_negative_size": ArchiveError,
    "zip_central_dir_outside": ArchiveError,
}

#: Hostile npm tarballs npm installs all the same, as pacote drives node-tar: `..` entries
#: are skipped, absolute paths lose their root, links, devices and fifos are never written,
#: a later duplicate overwrites. watcher reads them as npm installs them (SPEC 4.1), and each
#: builder takes a `root`: called with `root="demo-1.0"` it gives the same archive as an
#: sdist, which pip (and so watcher) refuses where it is hostile. What the installed view
#: holds for each is asserted in `tests/artifacts/test_extract.py`; the real npm is asked
#: in `tests/e2e/test_installed_view_e2e.py`.
NPM_ACCEPTED: dict[str, Callable[..., tuple[str, bytes]]] = {
    "traversal": traversal,
    "absolute_path": absolute_path,
    "symlink_escape": symlink_escape,
    "hardlink_escape": hardlink_escape,
    "char_device": char_device,
    "duplicate_entries": duplicate_entries,
    "pax_path_traversal": pax_path_traversal,
    "dot_name": dot_name,
    "empty_name": empty_name,
    "fifo": fifo,
    "deep_nesting": deep_nesting,
    "write_through_symlink": write_through_symlink,
}

#: Odd archives whose right handling is to read them, safely: name -> builder. What must hold
#: for each (`tests/artifacts/test_extract.py` checks it) is in `HOSTILE_ACCEPTED_EXPECT`.
HOSTILE_ACCEPTED: dict[str, Callable[[], tuple[str, bytes]]] = {
    "tar_latin1_name": tar_latin1_name,
    "zip_cp437_name": zip_cp437_name,
    "huge_line": huge_line,
    "nested_archive": nested_archive,
    "case_collision": case_collision,
    "symlink_loop": symlink_loop,
    "odd_header_numbers": odd_header_numbers,
    "zip_duplicate_entries": zip_duplicate_entries,
}

#: For each accepted kind, what the snapshot must show, in words (the checks live in the tests).
HOSTILE_ACCEPTED_EXPECT: dict[str, str] = {
    "tar_latin1_name": "the latin-1 byte becomes U+FFFD; the file is read and scanned",
    "zip_cp437_name": "a name without the UTF-8 flag is decoded as cp437, as zipfile and unzip do",
    "huge_line": "read whole; diff and rules see it in bounded windows, evidence stays short",
    "nested_archive": "the inner .tgz is one opaque binary member, never opened",
    "case_collision": "A.js and a.js are two files, both scanned",
    "symlink_loop": "links are recorded, never resolved, so a loop costs nothing",
    "odd_header_numbers": "mtime, uid and gid are ignored: the files are read",
    "zip_duplicate_entries": "the later entry is what pip installs; the duplicate is recorded",
}


# --- what the installer writes: npm tarballs and wheels with surprising layouts ---------------

#: A package.json npm accepts (a name and a version); the e2e test installs these for real.
NPM_MANIFEST = '{"name": "installed-view-fixture", "version": "1.0.0"}\n'
#: The same package with an (inert, never run) install script, for a second root to smuggle in.
NPM_MANIFEST_WITH_POSTINSTALL = (
    '{"name": "installed-view-fixture", "version": "1.0.0",'
    ' "scripts": {"postinstall": "echo inert collector.attacker.invalid"}}\n'
)


def _manifest() -> Member:
    return regular("package/package.json", NPM_MANIFEST)


def npm_two_top_folders() -> bytes:
    """Entries under `package/` and under `other/`: npm strips both first segments."""
    return tgz([_manifest(), regular("package/index.js", "ok"), regular("other/lib/x.js", _INERT)])


def npm_top_level_file() -> bytes:
    """A top-level file next to `package/`: nothing is left after stripping, npm skips it."""
    return tgz([_manifest(), regular("package/index.js", "ok"), regular("evil.js", _INERT)])


def npm_second_manifest() -> bytes:
    """`other/package.json` after `package/package.json`: it lands on top, scripts and all."""
    return tgz(
        [
            _manifest(),
            regular("package/index.js", "ok"),
            regular("other/package.json", NPM_MANIFEST_WITH_POSTINSTALL),
        ]
    )


def npm_backslash_names() -> bytes:
    """`lib\\evil.js`: one odd file name on POSIX, `lib/evil.js` for npm on Windows."""
    return tgz(
        [_manifest(), regular("package/index.js", "ok"), regular("package/lib\\x.js", _INERT)]
    )


def npm_dot_slash() -> bytes:
    """`./package/x.js` keeps `package/` (the `.` is the stripped segment); `package/./y.js` not."""
    return tgz([_manifest(), regular("./package/x.js", _INERT), regular("package/./y.js", "y")])


def npm_duplicates() -> bytes:
    """`index.js` twice, benign then inert payload: npm writes both, the second one stays."""
    return tgz(
        [_manifest(), regular("package/index.js", "benign"), regular("package/index.js", _INERT)]
    )


def npm_gitignore() -> bytes:
    """pacote renames `.gitignore` to `.npmignore`, unless a `.npmignore` came first."""
    return tgz(
        [
            _manifest(),
            regular("package/.gitignore", "renamed\n"),
            regular("package/sub/.npmignore", "kept\n"),
            regular("package/sub/.gitignore", "dropped\n"),
        ]
    )


def npm_global_pax_header() -> bytes:
    """A pax global header ('g') before the members: a comment, no path; read normally."""
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "global"}
    ) as archive:
        for info, data in (_manifest(), regular("package/index.js", "ok")):
            archive.addfile(info, io.BytesIO(data))
    return gz(buffer.getvalue())


def npm_hidden_after_end() -> bytes:
    """A second tar after the first one's end-of-archive marker: npm and pip stop at the marker."""
    hidden = tar([regular("package/evil.js", _INERT)])
    return gz(tar([_manifest(), regular("package/index.js", "ok")]) + hidden)


def with_npm_manifest(data: bytes) -> bytes:
    """A gzip'd tar (`NPM_ACCEPTED` builders) with `package/package.json` put in front."""
    raw = zlib.decompress(data, 16 + zlib.MAX_WBITS)
    info, content = _manifest()
    return gz(info.tobuf(tarfile.PAX_FORMAT) + _pad(content) + raw)


def npm_win32_roots() -> bytes:
    """Names with a win32 root after `package/`: node-tar strips it on every platform.

    `c:index.js` overwrites `index.js`, `\\abs.js` is `abs.js`, a UNC `\\\\srv\\share\\` goes, and
    a `..` between backslashes is skipped.
    """
    return tgz(
        [
            _manifest(),
            regular("package/index.js", "module.exports = 'benign';\n"),
            regular("package/c:index.js", _INERT),
            regular("package/\\abs.js", "a"),
            regular("package/\\\\srv\\share\\unc.js", "u"),
            regular("package/x\\..\\y.js", "y"),
        ]
    )


#: npm tarballs whose installed tree differs from their member list; every one carries
#: `NPM_MANIFEST`, so the real npm can install it (`tests/e2e/test_installed_view_e2e.py`).
NPM_LAYOUTS: dict[str, Callable[[], bytes]] = {
    "two_top_folders": npm_two_top_folders,
    "top_level_file": npm_top_level_file,
    "second_manifest": npm_second_manifest,
    "backslash_names": npm_backslash_names,
    "dot_slash": npm_dot_slash,
    "duplicates": npm_duplicates,
    "gitignore": npm_gitignore,
    "global_pax_header": npm_global_pax_header,
    "hidden_after_end": npm_hidden_after_end,
    "win32_roots": npm_win32_roots,
}
