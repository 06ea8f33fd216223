"""Download release artifacts and verify them against the registry's digest before any use.

Nothing downloaded is trusted until its hash matches the strongest digest the registry
published; an artifact with no digest is refused outright. Verified bytes are kept in a
content-addressed cache (`<cache>/<algo>/<hex[:2]>/<hex>`), whose paths are derived only
from validated hex digests, never from a registry- or archive-controlled name, and whose
entries are re-verified on every read.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import httpx

from watcher.atomicfile import write_atomically
from watcher.errors import ArtifactTooLarge, FetchError, IntegrityMismatch
from watcher.httpclient import HttpClient
from watcher.models import ArtifactRef
from watcher.progress import reporter

logger = logging.getLogger(__name__)

#: Accepted digest algorithms, strongest first, with their hex digest length.
DIGEST_STRENGTH: tuple[tuple[str, int], ...] = (("sha512", 128), ("sha256", 64), ("sha1", 40))

_HEX = re.compile(r"[0-9a-f]+")
#: How much of a digest to show in messages: enough to compare by eye.
_SHOWN = 12
#: Default cap on one download (`WATCHER_MAX_DOWNLOAD_BYTES` overrides it).
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024


def choose_digest(ref: ArtifactRef) -> tuple[str, str]:
    """The strongest `(algorithm, lowercase hex)` digest of `ref`, or `FetchError`.

    The hex is validated strictly: it names a cache file, so a malformed value from the
    registry must never reach the filesystem.
    """
    digests = {algo.lower(): value for algo, value in ref.digests.items()}
    for algo, length in DIGEST_STRENGTH:
        value = digests.get(algo)
        if value is None:
            continue
        hexdigest = value.strip().lower()
        if len(hexdigest) != length or not _HEX.fullmatch(hexdigest):
            raise FetchError(
                f"refusing to use {ref.filename}: the registry published a malformed {algo} digest"
            )
        return algo, hexdigest
    others = f" (only {', '.join(sorted(digests))})" if digests else ""
    raise FetchError(f"refusing to use {ref.filename}: the registry published no digest{others}")


@dataclass
class Fetcher:
    """Downloads artifacts through `HttpClient`, verifying and caching them.

    `cache_dir=None` disables the cache. `max_bytes` caps a single download.
    """

    http: HttpClient
    cache_dir: Path | None
    max_bytes: int = MAX_DOWNLOAD_BYTES

    def fetch(self, ref: ArtifactRef) -> bytes:
        """The verified bytes of `ref`, from the cache when possible.

        Raises `FetchError` (no/malformed digest, HTTP error), `ArtifactTooLarge`,
        `IntegrityMismatch`; `RegistryUnavailable` when the host stays unreachable.
        """
        algo, expected = choose_digest(ref)
        cached_path = self._cache_path(algo, expected)
        if cached_path is not None:
            cached = self._read_cache(cached_path, algo, expected)
            if cached is not None:
                return cached
        if ref.size is not None and ref.size > self.max_bytes:
            raise ArtifactTooLarge(
                f"refusing to download {ref.filename}: the registry lists {ref.size} bytes, "
                f"over the {self.max_bytes}-byte limit"
            )
        data = self._download(ref, algo, expected)
        if cached_path is not None:
            self._write_cache(cached_path, data)
        return data

    def _cache_path(self, algo: str, hexdigest: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return self.cache_dir / algo / hexdigest[:2] / hexdigest

    def _read_cache(self, path: Path, algo: str, expected: str) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        # An unreadable cache entry is only a cache miss: the download path still works.
        except OSError as e:
            logger.warning("ignoring unreadable cache entry %s: %s", path, e)
            return None
        if hashlib.new(algo, data).hexdigest() == expected:
            return data
        # Bit rot, a partial copy, tampering: drop it and fetch a fresh, verified copy.
        logger.warning("cache entry %s is corrupt; downloading again", path)
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            logger.warning("cannot remove corrupt cache entry %s: %s", path, e)
        return None

    def _download(self, ref: ArtifactRef, algo: str, expected: str) -> bytes:
        hasher = hashlib.new(algo)
        body = bytearray()
        with self.http.stream(ref.url) as response:
            if response.status_code != 200:
                raise FetchError(
                    f"cannot download {ref.filename}: HTTP {response.status_code} "
                    f"from {response.url.host or ref.url}"
                )
            declared = response.headers.get("content-length", "").strip()
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise ArtifactTooLarge(
                    f"refusing to download {ref.filename}: {declared} bytes, over the "
                    f"{self.max_bytes}-byte limit"
                )
            # The body's size as iter_bytes counts it: an encoded body's Content-Length is not.
            plain = declared.isdigit() and not response.headers.get("content-encoding")
            total = ref.size if ref.size is not None else int(declared) if plain else None
            try:
                with reporter().download(ref.filename, total) as advance:
                    for chunk in response.iter_bytes():
                        # Content-Length can be absent or wrong (or the body content-encoded):
                        # the running count is what actually bounds memory.
                        if len(body) + len(chunk) > self.max_bytes:
                            raise ArtifactTooLarge(
                                f"refusing to download {ref.filename}: "
                                f"more than {self.max_bytes} bytes"
                            )
                        hasher.update(chunk)
                        body += chunk
                        advance(len(chunk))
            # The connection dropped or timed out mid-body; retries only cover the request.
            except httpx.HTTPError as e:
                raise FetchError(
                    f"download of {ref.filename} failed: {type(e).__name__}: {e}"
                ) from e
        actual = hasher.hexdigest()
        if actual != expected:
            raise IntegrityMismatch(
                f"integrity check failed for {ref.filename}: expected {algo} "
                f"{expected[:_SHOWN]}…, got {actual[:_SHOWN]}…"
            )
        return bytes(body)

    def _write_cache(self, path: Path, data: bytes) -> None:
        """Store verified bytes atomically: readers see the old state or the whole file."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, data)
        # The bytes are verified and in memory; a full disk or a read-only cache must not
        # stop the analysis, only cost a download next time.
        except OSError as e:
            logger.warning("cannot cache %s: %s", path, e)
