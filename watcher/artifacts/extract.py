"""Read release archives into memory as the installer would lay them out, never trusting them.

npm tarballs, sdists (`.tar.gz`, `.tar`, `.zip`) and wheels are parsed entirely in memory: no
member is ever extracted, written to disk or executed. The file tree built here is the one the
installer writes (SPEC §4.1), because what watcher does not see as installed it cannot judge:

- npm, as pacote drives node-tar: the first path segment of every entry is stripped whatever
  it is named (a second top folder lands in the package root too); an entry left with no path
  (a top-level file) or with a `..` is skipped; an absolute path loses its root; links,
  devices and fifos are skipped; `.gitignore` becomes `.npmignore`; a later entry for the
  same path overwrites an earlier one. npm on Windows also splits names on backslashes, and
  that placement is kept too (a union of what any platform installs).
- sdists, as pip unpacks them: one common top folder stripped; pip refuses traversal,
  absolute paths, devices and links leaving the tree, so those refuse the archive here too.
- wheels, as pip installs them: `<name>.data/purelib|platlib/` land in site-packages, and so
  does `.data/data/lib/pythonX.Y/site-packages/`. pip writes every zip member (wheel or zip
  sdist) as a regular file, symlink mode bits or not.

What the installer silently does differently from a naive reader (an overwritten duplicate, a
skipped entry, data hidden after the end-of-archive marker) is recorded as a `SpecialEntry`
for the rules. Limits in `ExtractLimits` (member count, sizes, compression ratio) and corrupt
streams raise `UnsafeArchive`/`ArchiveError`, which the pipeline turns into an incomplete
analysis of the release; bytes that are no archive at all raise `NotAnArchive`.
"""

from __future__ import annotations

import bisect
import io
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Literal

from watcher.errors import ArchiveError, NotAnArchive, UnsafeArchive
from watcher.gaps import Gap
from watcher.models import ArtifactKind, FileEntry, Snapshot, SpecialEntry, SpecialKind

MiB = 1024 * 1024

#: Below this many uncompressed bytes the compression ratio is not judged: tar pads every
#: archive to a 10 KiB record, so a near-empty tarball legitimately "expands" hundreds of
#: times, and nothing under a megabyte can hurt us anyway.
RATIO_FLOOR = 1 * MiB

#: Inflate gzip in slices of this size so a bomb is caught within one slice of a limit.
_INFLATE_CHUNK = 256 * 1024
#: Feed compressed input in slices of this size (zlib copies its unconsumed input each call).
_INPUT_CHUNK = 256 * 1024
#: Tar reads at least this large (a member's content) are inflated straight into their result.
_DIRECT_READ = 1 * MiB
#: Tar headers, pax records and padding allowed per member on top of the content budget.
_TAR_OVERHEAD_PER_MEMBER = 8 * 1024

#: Longest member name accepted, in characters: Linux's PATH_MAX. No installer can create a
#: deeper path, and a 20 KB name would fill every report and alert it appears in.
MAX_PATH_CHARS = 4096
#: How much of a hostile member name an error message quotes.
_SHOWN_NAME = 200

_BLOCK = tarfile.BLOCKSIZE
_ZERO_BLOCK = bytes(_BLOCK)
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds on what one archive may contain; crossing any of them raises `UnsafeArchive`."""

    max_members: int = 20_000
    #: One analysis holds the old and the new release, up to two artifacts each (PyPI's sdist
    #: and wheel), and needs ~2× their unpacked size: 4 × 128 MiB is ~1.2 GB, which is what
    #: deploy/ budgets per worker (typescript, 23 MB unpacked, fits five times over).
    max_total_bytes: int = 128 * MiB
    #: The 50 MiB one-line bundle of the hostile set must still be read (and scanned).
    max_file_bytes: int = 64 * MiB
    #: Total uncompressed bytes / compressed archive size (judged above `RATIO_FLOOR`).
    max_ratio: float = 200.0


DEFAULT_LIMITS = ExtractLimits()

_Format = Literal["gzip", "zip", "tar"]


class _Kind(Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DEVICE = "device"
    FIFO = "fifo"
    #: Not a member: bytes after the end-of-archive marker that no installer reads.
    HIDDEN = "hidden"


@dataclass(slots=True)
class _Member:
    """One archive member as the archive names it, before any installer's view of it."""

    path: str
    kind: _Kind
    data: bytes = b""
    target: str | None = None
    #: Why npm writes nothing for this entry (node-tar refuses its header, or pacote does not
    #: write its type); None when npm writes it.
    npm_skips: str | None = None


def load_artifact(path: Path, limits: ExtractLimits = DEFAULT_LIMITS) -> Snapshot:
    """Read a local artifact file (npm `.tgz`, sdist, wheel) as `installed_view` does.

    A missing or unreadable file, or bytes that are no archive at all, raise `NotAnArchive`.
    """
    try:
        data = path.read_bytes()
    # Missing file, permission denied, a directory: the user named something we cannot read.
    except OSError as e:
        raise NotAnArchive(f"cannot read {path}: {e.strerror or e}") from e
    return installed_view(data, path.name, limits, local=True)


def installed_view(
    data: bytes, filename: str, limits: ExtractLimits = DEFAULT_LIMITS, *, local: bool = False
) -> Snapshot:
    """What the installer would put on disk from this artifact, as a `Snapshot`.

    An archive that cannot be analysed (refused as hostile, over a limit, corrupt) is not an
    error here but an empty snapshot whose gap says why (SPEC §4.5): the release is reported,
    never skipped. Only for a `local` file does "no archive at all" stay an input error.
    """
    try:
        return read_archive(data, filename, limits)
    except NotAnArchive:
        if local:
            raise
        kind = _kind_by_name(filename)
        return Snapshot(filename, kind, {}, gaps=(Gap(f"archive not readable: {filename}"),))
    except ArchiveError as e:
        return Snapshot(filename, _kind_by_name(filename), {}, gaps=(Gap(f"archive refused: {e}"),))


def _kind_by_name(filename: str) -> ArtifactKind:
    lowered = filename.lower()
    if lowered.endswith(".whl"):
        return ArtifactKind.WHEEL
    return ArtifactKind.NPM_TARBALL if lowered.endswith(".tgz") else ArtifactKind.SDIST


def read_archive(data: bytes, filename: str, limits: ExtractLimits = DEFAULT_LIMITS) -> Snapshot:
    """Parse an archive held in memory into a `Snapshot`, enforcing every safety rule.

    `filename` is only a hint (the format is sniffed from the bytes) and the name used in
    error messages; it decides between npm tarball and sdist, and marks `.whl` as a wheel.
    """
    fmt = _detect_format(data, filename)
    is_wheel = filename.lower().endswith(".whl")
    if is_wheel and fmt != "zip":
        raise ArchiveError(f"corrupt archive {filename}: a wheel must be a zip file")
    budget = _Budget(filename, limits, len(data))
    try:
        if fmt == "zip":
            members = _read_zip(data, filename, limits, budget)
        else:
            members = _read_tar(data, filename, fmt, limits, budget)
    # The parsers signal corruption with a zoo of exception types (and zipfile/struct raise
    # ValueError/struct.error on malformed fields); all mean "this archive is broken", which
    # the user should see as one line rather than a traceback.
    except tarfile.ReadError as e:
        raise ArchiveError(f"corrupt archive {filename}: {_describe_tar_error(e)}") from e
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        UnicodeDecodeError,
        struct.error,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as e:
        raise ArchiveError(f"corrupt archive {filename}: {_one_line(e)}") from e

    hidden = members.pop() if members and members[-1].kind is _Kind.HIDDEN else None
    if fmt == "zip":
        kind = ArtifactKind.WHEEL if is_wheel else ArtifactKind.SDIST
    else:
        npm = filename.lower().endswith(".tgz") or _first_segments(members) == {"package"}
        kind = ArtifactKind.NPM_TARBALL if npm else ArtifactKind.SDIST
    if kind is ArtifactKind.NPM_TARBALL:
        snapshot = _npm_view(members, filename)
    else:
        snapshot = _pip_view(members, filename, kind)
    if hidden is not None:
        note = SpecialEntry("", SpecialKind.HIDDEN_DATA, hidden.target)
        snapshot = replace(snapshot, specials=(*snapshot.specials, note))
    return snapshot


# --- format detection -------------------------------------------------------------------------


def _detect_format(data: bytes, filename: str) -> _Format:
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[257:262] == b"ustar":
        return "tar"
    # Pre-POSIX (v7) tar has no magic at all; only the name can tell.
    if data and filename.lower().endswith(".tar"):
        return "tar"
    if not data:
        raise NotAnArchive(f"not an archive {filename}: the file is empty")
    raise NotAnArchive(f"unknown archive format {filename}: not gzip, zip or tar")


# --- limits -----------------------------------------------------------------------------------


class _Budget:
    """Counts members and content bytes against the limits as an archive is walked."""

    def __init__(self, filename: str, limits: ExtractLimits, compressed_size: int) -> None:
        self.filename = filename
        self.limits = limits
        self.compressed_size = max(compressed_size, 1)
        self.members = 0
        self.total = 0

    def member(self, name: str) -> None:
        """Count one more member, before any of its data is read."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise UnsafeArchive(
                f"unsafe archive {self.filename}: more than {self.limits.max_members} members "
                f"(stopped at {_shown(name)})"
            )

    def content(self, name: str, size: int) -> None:
        """Account for `size` bytes of one regular file, before they are read."""
        if size > self.limits.max_file_bytes:
            raise UnsafeArchive(
                f"unsafe archive {self.filename}: member {name!r} is {size} bytes, over the "
                f"{self.limits.max_file_bytes}-byte limit per file"
            )
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise UnsafeArchive(
                f"unsafe archive {self.filename}: contents exceed the "
                f"{self.limits.max_total_bytes}-byte limit (at member {name!r})"
            )
        _check_ratio(self.filename, self.total, self.compressed_size, self.limits, name)


def _check_ratio(
    filename: str, expanded: int, compressed: int, limits: ExtractLimits, name: str | None = None
) -> None:
    """Raise `UnsafeArchive` if `expanded / compressed` crosses the ratio limit (a bomb)."""
    if expanded > RATIO_FLOOR and expanded > limits.max_ratio * max(compressed, 1):
        where = f" (at member {name!r})" if name is not None else ""
        raise UnsafeArchive(
            f"unsafe archive {filename}: expands more than {limits.max_ratio:g}x its "
            f"{compressed}-byte size{where}; refusing a possible decompression bomb"
        )


# --- member names -----------------------------------------------------------------------------


def _is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or bool(_DRIVE.match(name))


def _has_traversal(name: str) -> bool:
    # Backslash counts as a separator here: an installer on Windows would treat it as one.
    return any(part == ".." for part in _SEPARATORS.split(name))


def _shown(name: str) -> str:
    """`name` quoted for an error message, cut short when it is absurdly long."""
    if len(name) <= _SHOWN_NAME:
        return repr(name)
    return repr(name[:_SHOWN_NAME]) + f"... ({len(name)} characters)"


def _normalise(name: str, filename: str, is_dir: bool = False) -> str:
    """A member name as a clean POSIX path relative to the archive root, or `UnsafeArchive`.

    A non-directory must end in a real file name: an empty name or a trailing `.` or `/`
    would make an extractor replace a directory (or the root itself) with a file.
    """
    if len(name) > MAX_PATH_CHARS:
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {_shown(name)} has a path over the "
            f"{MAX_PATH_CHARS}-character limit"
        )
    if "\x00" in name:
        raise UnsafeArchive(f"unsafe archive {filename}: member {name!r} has a NUL in its name")
    if _is_absolute(name):
        raise UnsafeArchive(f"unsafe archive {filename}: member {name!r} has an absolute path")
    if ".." in name and _has_traversal(name):
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {name!r} escapes the archive with '..'"
        )
    if not is_dir and _SEPARATORS.split(name)[-1] in ("", "."):
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {name!r} is not a directory but has no file name"
        )
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _check_parents(members: list[_Member], filename: str) -> None:
    """Refuse a member that lies under a file or link member (`lib` -> `.`, then `lib/x.js`).

    An extractor writes such a member through the link (or fails on the file), so what lands
    on disk differs from what was scanned. Sorted, every path's descendants directly follow
    it, so one bisection per non-directory finds them without walking every prefix.
    """
    paths = sorted(m.path for m in members)
    for member in members:
        if member.kind is _Kind.DIR or not member.path:
            continue
        prefix = member.path + "/"
        index = bisect.bisect_left(paths, prefix)
        if index < len(paths) and paths[index].startswith(prefix):
            what = "file" if member.kind is _Kind.FILE else member.kind.value
            raise UnsafeArchive(
                f"unsafe archive {filename}: member {paths[index]!r} lies under "
                f"{member.path!r}, which is a {what}, not a directory"
            )


# --- tar --------------------------------------------------------------------------------------


class _TarSource:
    """A forward-only, read-only byte stream over a tar archive, inflating gzip lazily.

    tarfile's own gzip support either inflates without bounds or (in random-access mode)
    re-inflates from the start on every backward seek. Here only the inflated bytes from the
    member being read on are kept (`release` drops what lies before it), every slice is checked
    against the size and ratio limits, so a bomb stops within one slice, and a member's bytes
    are inflated straight into the object that holds them: a 64 MiB member costs 64 MiB, not
    the whole stream plus a copy.
    """

    def __init__(self, data: bytes, filename: str, limits: ExtractLimits, gzipped: bool) -> None:
        self._filename = filename
        self._limits = limits
        self._compressed_size = len(data)
        self._cap = (
            limits.max_total_bytes + (limits.max_members + 1) * _TAR_OVERHEAD_PER_MEMBER + MiB
        )
        self._pos = 0
        #: Stream offset of `_buf[0]`; everything before it was released.
        self._base = 0
        #: Bytes inflated so far (released ones included): what the limits judge.
        self._inflated = 0
        self._buf: bytes | bytearray
        self._input = memoryview(data)
        self._in_pos = 0
        self._inflater: zlib._Decompress | None = None
        if gzipped:
            self._buf = bytearray()
            # 16 + MAX_WBITS: a gzip wrapper, with its CRC and length checked at the end.
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        else:
            self._buf = data
            self._inflated = len(data)

    # The file-object surface tarfile uses.
    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (all remaining when negative) from the current position."""
        start = self._pos - self._base
        if start < 0:
            raise ArchiveError(f"corrupt archive {self._filename}: tar stream seeks backwards")
        if size >= _DIRECT_READ and self._inflater is not None:
            return self._read_direct(size)
        end = None if size < 0 else self._pos + size
        self._fill(end)
        # Slice through a view: one copy instead of two (the view is released at once, so
        # the buffer can keep growing).
        with memoryview(self._buf) as view:
            chunk = bytes(view[start : None if end is None else end - self._base])
        self._pos += len(chunk)
        return chunk

    def _read_direct(self, size: int) -> bytes:
        """`size` bytes from the position, inflated into the result rather than the buffer.

        `BytesIO.getvalue` hands over its own buffer when nothing else holds it, so the member
        is never held twice.
        """
        self._fill(self._pos)
        out = io.BytesIO()
        start = self._pos - self._base
        with memoryview(self._buf) as view:
            out.write(view[start : start + size])
        self.release(self._pos + min(size, len(self._buf) - start))
        while out.tell() < size and self._inflater is not None:
            piece = self._inflate(min(_INFLATE_CHUNK, size - out.tell()))
            if piece is None:
                break
            out.write(piece)
        data = out.getvalue()
        del out
        self._pos += len(data)
        self._base = self._pos
        return data

    def release(self, upto: int) -> None:
        """Forget the stream before offset `upto`: nothing before it is read again."""
        drop = upto - self._base
        if drop <= 0 or not isinstance(self._buf, bytearray):
            return
        # What lies between (a member's padding) must still pass through the inflater.
        self._fill(upto)
        del self._buf[:drop]
        self._base = upto

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position; seeking never inflates, reading does."""
        if whence == io.SEEK_SET:
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos += offset
        else:
            self._fill(None)
            self._pos = self._base + len(self._buf) + offset
        return self._pos

    def tell(self) -> int:
        """The current position in the (inflated) tar stream."""
        return self._pos

    def tail(self, start: int) -> bytes:
        """Everything from `start` to the end of the stream, inflating (within limits) as needed."""
        self._fill(None)
        return bytes(self._buf[max(0, start - self._base) :])

    def _fill(self, upto: int | None) -> None:
        while upto is None or self._base + len(self._buf) < upto:
            piece = self._inflate(_INFLATE_CHUNK)
            if piece is None:
                return
            assert isinstance(self._buf, bytearray)
            self._buf += piece

    def _inflate(self, most: int) -> bytes | None:
        """Up to `most` more inflated bytes (limits checked), or None at the end of the stream."""
        inflater = self._inflater
        while inflater is not None:
            if inflater.eof:
                inflater = self._inflater = self._next_member(inflater)
                continue
            chunk: bytes | memoryview = inflater.unconsumed_tail
            if not chunk:
                chunk = self._input[self._in_pos : self._in_pos + _INPUT_CHUNK]
                self._in_pos += len(chunk)
                if not chunk:
                    raise ArchiveError(f"corrupt archive {self._filename}: truncated gzip stream")
            try:
                out = inflater.decompress(chunk, most)
            # zlib names the damage ("invalid block type", "incorrect data check"); keep it.
            except zlib.error as e:
                raise ArchiveError(
                    f"corrupt archive {self._filename}: invalid gzip data ({e})"
                ) from e
            if out:
                self._inflated += len(out)
                self._check_limits()
                return out
        return None

    def _next_member(self, finished: zlib._Decompress) -> zlib._Decompress | None:
        """After one gzip member ends: start the next one, or stop at the end of the input."""
        rest = finished.unused_data + bytes(self._input[self._in_pos :])
        # Zero padding after the last member is common (and ignored by gzip itself).
        if not rest.strip(b"\x00"):
            return None
        if rest[:2] != b"\x1f\x8b":
            raise ArchiveError(
                f"corrupt archive {self._filename}: trailing garbage after the gzip stream"
            )
        # A concatenation of gzip members is one valid gzip file.
        self._input = memoryview(rest)
        self._in_pos = 0
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _check_limits(self) -> None:
        size = self._inflated
        if size > self._cap:
            raise UnsafeArchive(
                f"unsafe archive {self._filename}: inflates past {self._cap} bytes; "
                "refusing a possible decompression bomb"
            )
        _check_ratio(self._filename, size, self._compressed_size, self._limits)


def _read_tar(
    data: bytes, filename: str, fmt: _Format, limits: ExtractLimits, budget: _Budget
) -> list[_Member]:
    source = _TarSource(data, filename, limits, gzipped=fmt == "gzip")
    # errors="replace": a member name that is not UTF-8 still yields a (lossy) name instead of
    # crashing; two names colliding after replacement are caught as duplicates.
    archive = tarfile.TarFile(
        fileobj=source,  # type: ignore[arg-type]  # duck-typed read/seek/tell is all it uses
        mode="r",
        encoding="utf-8",
        errors="replace",
    )
    members: list[_Member] = []
    while (info := archive.next()) is not None:
        budget.member(info.name)
        path = info.name
        skipped_by_npm = _beyond_javascript_numbers(info)
        if info.isdir():
            members.append(_Member(path, _Kind.DIR))
        elif info.issym():
            members.append(_Member(path, _Kind.SYMLINK, target=info.linkname))
        elif info.islnk():
            members.append(_Member(path, _Kind.HARDLINK, target=info.linkname))
        elif info.ischr() or info.isblk():
            members.append(_Member(path, _Kind.DEVICE))
        elif info.isfifo():
            members.append(_Member(path, _Kind.FIFO))
        else:
            # Regular, contiguous and sparse files, and unknown types, which tarfile (like
            # most extractors) treats as regular files: their bytes get scanned. A sparse
            # file's size is its logical size, holes included, so the limits judge that.
            if info.size < 0:
                # tarfile accepts a negative pax or base-256 size and would step backwards.
                raise ArchiveError(
                    f"corrupt archive {filename}: member {info.name!r} has a negative size"
                )
            budget.content(info.name, info.size)
            content = _tar_content(archive, source, info)
            if len(content) != info.size:
                raise ArchiveError(f"corrupt archive {filename}: truncated tar stream")
            if skipped_by_npm:
                npm_skips: str | None = "header number node-tar rejects"
            elif info.type not in _NPM_FILE_TYPES:
                npm_skips = f"entry type {info.type!r} npm does not write"
            else:
                npm_skips = None
            members.append(_Member(path, _Kind.FILE, data=content, npm_skips=npm_skips))
        # tarfile re-reads the byte before the next header to check the stream goes on.
        source.release(archive.offset - 1)
    hidden = _check_tar_end(source, archive.offset, filename)
    if hidden:
        members.append(
            _Member("", _Kind.HIDDEN, target=f"{hidden:,} bytes after the end-of-archive marker")
        )
    return members


def _tar_content(archive: tarfile.TarFile, source: _TarSource, info: tarfile.TarInfo) -> bytes:
    """A regular member's bytes, read in one call (tarfile's file object would join chunks)."""
    if not info.size:
        return b""
    if info.issparse():
        handle = archive.extractfile(info)
        return handle.read() if handle is not None else b""
    source.seek(info.offset_data)
    return source.read(info.size)


#: The tar types node-tar (as pacote runs it) writes as files: File, OldFile, ContiguousFile.
#: Anything else tarfile reads as a file (sparse, unknown letters) npm skips.
_NPM_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


#: JavaScript's largest exact integer (Number.MAX_SAFE_INTEGER).
_MAX_SAFE_INTEGER = 2**53 - 1


def _beyond_javascript_numbers(info: tarfile.TarInfo) -> bool:
    """Whether node-tar rejects this header (TAR_ENTRY_INVALID) and npm skips the entry.

    Only base-256 header fields can hold such numbers; a pax record overrides the header's
    field and is parsed differently, so a field the pax header sets does not count.
    """
    fields = {"mode": info.mode, "uid": info.uid, "gid": info.gid, "mtime": info.mtime}
    fields |= {"devmajor": info.devmajor, "devminor": info.devminor}
    return any(
        isinstance(value, int) and value > _MAX_SAFE_INTEGER and name not in info.pax_headers
        for name, value in fields.items()
    )


def _check_tar_end(source: _TarSource, offset: int, filename: str) -> int:
    """Insist on a real end-of-archive marker; the count of non-zero bytes hidden after it.

    tarfile silently treats a stream that stops at a member boundary, or a damaged header
    in the middle, as the end of the archive. Both would hide members from us that another
    reader might see, so they are errors. Data after the marker is different: pip's tarfile
    and npm's node-tar both stop at the marker and install what came before (17 of 400 real
    malicious sdists look like that), so it is analysed like they install it, and the hidden
    bytes, which readers that skip zero blocks (`tar -i`) would go on to extract, are noted.
    """
    rest = source.tail(offset)
    block = rest[:_BLOCK]
    if len(block) < _BLOCK:
        raise ArchiveError(f"corrupt archive {filename}: truncated tar stream")
    if block != _ZERO_BLOCK:
        raise ArchiveError(f"corrupt archive {filename}: invalid tar header at offset {offset}")
    return len(rest) - rest.count(0)


def _describe_tar_error(error: tarfile.ReadError) -> str:
    text = _one_line(error)
    if "unexpected end of data" in text or "truncated header" in text:
        return "truncated tar stream"
    if text == "empty file":
        return "empty tar stream"
    return f"not a valid tar stream ({text})"


# --- zip --------------------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def _zip_declared_count(data: bytes) -> int | None:
    """The member count the end-of-central-directory record declares, read without zipfile.

    zipfile builds an object per central-directory entry on open; reading the count first
    lets a zip claiming millions of members be refused before that work is done.
    """
    index = data.rfind(b"PK\x05\x06", max(0, len(data) - _EOCD.size - 0xFFFF))
    if index < 0 or index + _EOCD.size > len(data):
        return None
    count: int = _EOCD.unpack_from(data, index)[4]
    if count != 0xFFFF:
        return count
    locator = index - _ZIP64_LOCATOR.size
    record = locator - _ZIP64_EOCD.size
    if record >= 0 and data[record : record + 4] == b"PK\x06\x06":
        count = _ZIP64_EOCD.unpack_from(data, record)[7]
    return count


def _read_zip(data: bytes, filename: str, limits: ExtractLimits, budget: _Budget) -> list[_Member]:
    declared = _zip_declared_count(data)
    if declared is not None and declared > limits.max_members:
        raise UnsafeArchive(
            f"unsafe archive {filename}: declares {declared} members, over the "
            f"{limits.max_members}-member limit"
        )
    archive = zipfile.ZipFile(io.BytesIO(data))
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise UnsafeArchive(
            f"unsafe archive {filename}: holds {len(infos)} members, over the "
            f"{limits.max_members}-member limit"
        )
    # Judge the declared sizes before inflating anything; they are re-checked while reading,
    # since a zip can declare one size and inflate to another.
    declared_budget = _Budget(filename, limits, len(data))
    for info in infos:
        if not info.is_dir():
            declared_budget.content(info.orig_filename, info.file_size)

    members: list[_Member] = []
    for info in infos:
        raw = info.orig_filename
        budget.member(raw)
        mode = info.external_attr >> 16
        is_dir = info.is_dir() or stat.S_ISDIR(mode)
        path = _zip_name(info, filename)
        if is_dir:
            members.append(_Member(path, _Kind.DIR))
            continue
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
            members.append(_Member(path, _Kind.DEVICE))
            continue
        if stat.S_ISFIFO(mode):
            members.append(_Member(path, _Kind.FIFO))
            continue
        budget.content(raw, info.file_size)
        content = _zip_member_bytes(archive, data, info, filename)
        # pip (wheels and zip sdists alike) writes every zip member as a regular file: one with
        # symlink mode bits lands as a file holding the "target" text (`unzip` would link it).
        members.append(_Member(path, _Kind.FILE, data=content))
    return members


def _zip_name(info: zipfile.ZipInfo, filename: str) -> str:
    """The name an extractor gives a zip member, taking an Info-ZIP unicode path field into account.

    unzip and Python >= 3.12 use the field (0x7075) instead of the header name when its CRC
    matches the header name's bytes; older zipfile ignores it. That is a legitimate way to
    name a file written in a legacy code page, but if the header name is ASCII or flagged
    UTF-8 a different unicode name can only be there to show two readers two files. Both
    names are checked, whichever one is used.
    """
    raw = info.orig_filename
    utf8 = bool(info.flag_bits & 0x800)
    header_bytes = raw.encode("utf-8" if utf8 else "cp437")
    unicode_name = _unicode_path_field(info.extra, header_bytes)
    if unicode_name is None or unicode_name == raw:
        return raw
    if utf8 or raw.isascii():
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {raw!r} is named {_shown(unicode_name)} in its "
            "unicode path field"
        )
    _normalise(raw, filename, is_dir=True)
    return unicode_name


def _unicode_path_field(extra: bytes, header_bytes: bytes) -> str | None:
    """The name in a valid Info-ZIP unicode path extra field for `header_bytes`, if there is one."""
    position = 0
    while position + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4 : position + 4 + size]
        position += 4 + size
        if tag != 0x7075 or len(body) < 5:
            continue
        version, crc = struct.unpack_from("<BL", body)
        if version == 1 and crc == zlib.crc32(header_bytes):
            return body[5:].decode("utf-8", errors="replace")
    return None


def _zip_member_bytes(
    archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo, filename: str
) -> bytes:
    """Inflate one zip member, never producing more than it declared.

    zipfile quietly truncates a member to its declared size, so a zip whose declared size
    lies (with a matching CRC) would show us a stub while `unzip` writes the whole payload.
    Stored and deflated members (all real wheels and sdists) are therefore inflated here
    with the output capped at declared size + 1 byte: one byte more is proof of a lie.
    """
    raw = info.orig_filename
    if info.flag_bits & 0x1:
        raise ArchiveError(f"corrupt archive {filename}: member {raw!r} is encrypted")
    declared = info.file_size
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # Rare methods (bzip2, lzma): zipfile inflates them, stopping at the declared size.
        with archive.open(info) as handle:
            content = handle.read(declared + 1)
    else:
        content = _stored_or_deflated(data, info, filename)
    if len(content) != declared:
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {raw!r} declares {declared} bytes but holds "
            f"{'more' if len(content) > declared else len(content)}"
        )
    if zlib.crc32(content) != info.CRC:
        raise ArchiveError(f"corrupt archive {filename}: CRC mismatch for member {raw!r}")
    return content


def _stored_or_deflated(data: bytes, info: zipfile.ZipInfo, filename: str) -> bytes:
    """A stored or deflated member's bytes, read via its local header (at most size + 1)."""
    raw = info.orig_filename
    offset = info.header_offset
    if offset + _LOCAL_HEADER.size > len(data):
        raise ArchiveError(f"corrupt archive {filename}: member {raw!r} lies outside the file")
    header = _LOCAL_HEADER.unpack_from(data, offset)
    if header[0] != b"PK\x03\x04":
        raise ArchiveError(f"corrupt archive {filename}: bad local header for {raw!r}")
    name_len, extra_len = header[9], header[10]
    name_start = offset + _LOCAL_HEADER.size
    local_name = data[name_start : name_start + name_len]
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    # Unzippers that stream local headers would write the file under this other name.
    if local_name.decode(encoding, errors="replace") != raw:
        raise UnsafeArchive(
            f"unsafe archive {filename}: member {raw!r} has a different name in its local header"
        )
    start = name_start + name_len + extra_len
    compressed = memoryview(data)[start : start + info.compress_size]
    if len(compressed) < info.compress_size:
        raise ArchiveError(f"corrupt archive {filename}: member {raw!r} is truncated")

    if info.compress_type == zipfile.ZIP_STORED:
        return bytes(compressed[: info.file_size + 1])
    return _inflate_raw(compressed, info.file_size, filename, raw)


def _inflate_raw(compressed: memoryview, declared: int, filename: str, raw: str) -> bytes:
    """Inflate a raw deflate stream, stopping one byte past `declared`."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    # A BytesIO hands over its buffer on `getvalue`: the member is never held twice.
    out = io.BytesIO()
    position = 0
    while not inflater.eof and out.tell() <= declared:
        chunk: bytes | memoryview = inflater.unconsumed_tail
        if not chunk:
            chunk = compressed[position : position + _INPUT_CHUNK]
            position += len(chunk)
            if not chunk:
                raise ArchiveError(f"corrupt archive {filename}: member {raw!r} is truncated")
        try:
            out.write(inflater.decompress(chunk, declared + 1 - out.tell()))
        # Same reasoning as for gzip: zlib's message says what is broken.
        except zlib.error as e:
            raise ArchiveError(
                f"corrupt archive {filename}: invalid deflate data in {raw!r} ({e})"
            ) from e
    return out.getvalue()


# --- assembly ---------------------------------------------------------------------------------


def _first_segments(members: list[_Member]) -> set[str]:
    return {m.path.split("/", 1)[0] for m in members if m.kind is not _Kind.DIR}


#: node-tar's default `maxDepth`: entries with more path segments are not extracted.
_NPM_MAX_DEPTH = 1024


def _npm_path(raw: str) -> str | None:
    """Where node-tar, as pacote runs it (`strip: 1`), writes entry `raw`; None if it skips it.

    The first segment goes whatever it is (`package`, `other`, `.`, or the empty root of an
    absolute path); a `..` left after that, or nothing left at all, and the entry is skipped.
    """
    if len(raw) > MAX_PATH_CHARS or "\x00" in raw:
        return None
    parts = raw.split("/")[1:]
    if len(parts) > _NPM_MAX_DEPTH:
        return None
    # node-tar then strips win32 roots on every platform (`c:x` -> `x`, `\\x` -> `x`), and
    # refuses `..` between backslashes too.
    path = _strip_win32_roots("/".join(parts))
    if ".." in _SEPARATORS.split(path):
        return None
    kept = [part for part in path.split("/") if part not in ("", ".")]
    return "/".join(kept) or None


#: Roots as node's `path.win32.parse` finds them: drives (`c:`, `c:/`; a run of them at once),
#: a run of 3+ separators (taken one at a time by node: all but the last two go), a UNC share
#: (`\\\\host\\share\\`) or one separator. Linear: each alternative fails fast or consumes.
_WIN32_ROOT = re.compile(
    r"(?:[A-Za-z]:[/\\]?)+"
    r"|(?P<run>[/\\]{3,})"
    r"|[/\\]{2}[^/\\]+[/\\]+[^/\\]+[/\\]?"
    r"|[/\\]"
)


def _strip_win32_roots(path: str) -> str:
    """node-tar's `stripAbsolutePath`: roots come off until none is left (`/` one at a time)."""
    start = 0  # an index, not slices: a 4,000-backslash name must not cost 4,000 copies
    while (match := _WIN32_ROOT.match(path, start)) is not None:
        if match.lastgroup == "run":
            start = match.end() - 2
        elif path.startswith("/", start) and not path.startswith("//?/", start):
            start += 1
        else:
            start = match.end()
    return path[start:]


def _npm_view(members: list[_Member], filename: str) -> Snapshot:
    """The package folder `npm install` writes from this tarball (see the module docstring)."""
    files: dict[str, FileEntry] = {}
    specials: list[SpecialEntry] = []
    npmignores: set[str] = set()
    #: Every folder the files written so far sit in.
    folders: set[str] = set()
    for member in members:
        if member.kind is _Kind.DIR:
            continue
        posix = _npm_path(member.path)
        # npm on Windows splits on backslashes too: `package\x.js` installs as `x.js` there.
        windows = _npm_path(member.path.replace("\\", "/")) if "\\" in member.path else None
        places = [p for p in dict.fromkeys((posix, windows)) if p is not None]
        if not places or member.npm_skips:
            why = member.npm_skips or member.kind.value
            specials.append(SpecialEntry(_shown_path(member.path), SpecialKind.SKIPPED, why))
            continue
        if member.kind is not _Kind.FILE:
            # pacote extracts regular files only: links, devices and fifos are never written.
            kind = SpecialKind(member.kind.value)
            specials.extend(SpecialEntry(place, kind, member.target) for place in places)
            continue
        rename = _npm_ignore_rename(member.path, npmignores)
        if rename is False:
            continue
        for place in places:
            path = _renamed(place) if rename else place
            blocked = _npm_blocked(path, files, folders)
            if blocked is not None:
                specials.append(SpecialEntry(path, SpecialKind.SKIPPED, blocked))
                continue
            folders.update(_parents(path))
            if path in files:
                specials.append(SpecialEntry(path, SpecialKind.DUPLICATE, member.path))
            elif place is windows:
                specials.append(SpecialEntry(path, SpecialKind.RENAMED, member.path))
            files[path] = FileEntry.of(path, member.data)
    return Snapshot(
        filename=filename, kind=ArtifactKind.NPM_TARBALL, files=files, specials=tuple(specials)
    )


def _npm_ignore_rename(raw: str, npmignores: set[str]) -> bool | None:
    """pacote's rename of `.gitignore` to `.npmignore`: True to rename, False to drop the
    entry (an `.npmignore` came first), None for any other entry.

    pacote decides by the entry's path *before* the first segment is stripped, so
    `other/.gitignore` is renamed (and overwrites `.npmignore`) even after a
    `package/.npmignore`.
    """
    directory, _, base = raw.rpartition("/")
    if base == ".npmignore":
        npmignores.add(raw)
    elif base == ".gitignore":
        return (f"{directory}/.npmignore" if directory else ".npmignore") not in npmignores
    return None


def _renamed(path: str) -> str:
    directory, _, _ = path.rpartition("/")
    return f"{directory}/.npmignore" if directory else ".npmignore"


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _npm_blocked(path: str, files: dict[str, FileEntry], folders: set[str]) -> str | None:
    """Why node-tar cannot write a file at `path`, or None: a file where a folder must be
    (EEXIST: `a`, then `a/b.js`), or a folder with files where the file must be (`a/b.js`,
    then `a`: a non-empty folder is not replaced)."""
    for parent in _parents(path):
        if parent in files:
            return f"`{parent}` is a file, so its folder cannot be made"
    if path in folders:
        return f"`{path}` is a folder with files, which a file cannot replace"
    return None


def _shown_path(raw: str) -> str:
    return raw if len(raw) <= _SHOWN_NAME else raw[:_SHOWN_NAME] + "..."


def _single_root(members: list[_Member]) -> str | None:
    """The one top-level directory every member sits under, if there is one (pip's rule)."""
    roots: set[str] = set()
    for member in members:
        head, sep, _ = member.path.partition("/")
        if not sep and member.kind is not _Kind.DIR:
            return None  # a file at the top level: there is no common root
        if head:
            roots.add(head)
    return roots.pop() if len(roots) == 1 else None


def _strip(path: str, root: str | None) -> str:
    if root is None:
        return path
    return path[len(root) + 1 :] if path.startswith(root + "/") else ""


def _resolves_inside(parts: list[str], target: str, root: str | None, symlinks: set[str]) -> bool:
    """Whether `target`, walked from directory `parts`, stays under `root` (or the archive).

    Resolution is lexical, with one addition: a `..` right after a component that is itself
    a symlink in the archive is treated as escaping, since the filesystem would apply it to
    the link's target rather than to the lexical parent.
    """
    if not target or "\x00" in target or _is_absolute(target):
        return False
    parts = list(parts)
    for part in _SEPARATORS.split(target):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts or "/".join(parts) in symlinks:
                return False
            parts.pop()
        else:
            parts.append(part)
    return root is None or (bool(parts) and parts[0] == root)


#: Where pip puts a wheel's `.data` subfolders that land among the importable modules.
_SITE_PACKAGES_DATA = ("purelib", "platlib")


def _wheel_install_path(path: str) -> str:
    """Where pip installs a wheel member: `.data/purelib|platlib/x` and the `data` scheme's
    `lib/pythonX.Y/site-packages/x` land in site-packages, next to the package itself.

    `scripts`, `headers` and other `data` files keep their archive path: they go to other
    folders, and nothing at interpreter start reads them.
    """
    parts = path.split("/")
    if len(parts) < 3 or not parts[0].endswith(".data"):
        return path
    scheme, rest = parts[1], parts[2:]
    if scheme in _SITE_PACKAGES_DATA:
        return "/".join(rest)
    if scheme == "data":
        lowered = [p.lower() for p in rest]
        for index, part in enumerate(lowered):
            if part == "site-packages" and index + 1 < len(rest):
                return "/".join(rest[index + 1 :])
    return path


def _pip_view(members: list[_Member], filename: str, kind: ArtifactKind) -> Snapshot:
    """The tree pip unpacks (sdist) or installs (wheel); hostile names refuse the archive.

    pip refuses members that leave the target folder and, with tarfile's data filter,
    devices and links pointing outside: the install fails, so such an archive cannot be
    analysed as installed and is refused here (an incomplete analysis, never a clean one).
    """
    checked: list[_Member] = []
    for member in members:
        if member.kind in (_Kind.DEVICE, _Kind.FIFO):
            raise UnsafeArchive(
                f"unsafe archive {filename}: member {member.path!r} is a {member.kind.value}"
            )
        path = _normalise(member.path, filename, member.kind is _Kind.DIR)
        checked.append(_Member(path, member.kind, member.data, member.target))
    _check_parents(checked, filename)
    root = None if kind is ArtifactKind.WHEEL else _single_root(checked)
    symlinks = {m.path for m in checked if m.kind is _Kind.SYMLINK}
    files: dict[str, FileEntry] = {}
    specials: list[SpecialEntry] = []
    seen: set[str] = set()
    where = f"the {root}/ root" if root is not None else "the archive"
    for member in checked:
        if member.kind is _Kind.DIR:
            continue
        path = _strip(member.path, root)
        if kind is ArtifactKind.WHEEL:
            path = _wheel_install_path(path)
        if path in seen:
            # pip writes members in order: the later one is what gets installed.
            specials.append(SpecialEntry(path, SpecialKind.DUPLICATE, member.path))
            files.pop(path, None)
        seen.add(path)
        target = member.target or ""
        if member.kind is _Kind.FILE:
            files[path] = FileEntry.of(path, member.data)
        elif member.kind is _Kind.SYMLINK:
            directory = member.path.split("/")[:-1]
            if not _resolves_inside(directory, target, root, symlinks):
                raise UnsafeArchive(
                    f"unsafe archive {filename}: symlink {member.path!r} -> {target!r} "
                    f"points outside {where}"
                )
            specials.append(SpecialEntry(path, SpecialKind.SYMLINK, target))
        else:
            # Hard link targets are archive paths, resolved from the archive's top.
            if _has_traversal(target) or not _resolves_inside([], target, root, symlinks):
                raise UnsafeArchive(
                    f"unsafe archive {filename}: hardlink {member.path!r} -> {target!r} "
                    f"points outside {where}"
                )
            linked = _strip(_normalise(target, filename), root)
            specials.append(SpecialEntry(path, SpecialKind.HARDLINK, linked))
    return Snapshot(filename=filename, kind=kind, files=files, specials=tuple(specials))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
