"""The port every registry client implements, and the values of a conditional poll."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from watcher.models import Ecosystem, PackageInfo, Release


@dataclass(frozen=True, slots=True)
class Validators:
    """What a registry said identifies its answer: `ETag` and `Last-Modified`, as sent.

    Kept verbatim (weak `W/"…"` tags included): they are only ever sent back to the server
    that issued them, which is the one to interpret them. Registries that send neither
    (some mirrors do) give empty validators, and the next poll is an ordinary GET.
    """

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def request_headers(self) -> dict[str, str]:
        """`If-None-Match` / `If-Modified-Since` for a conditional GET (empty when unknown)."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Validators:
        """The validators of a response (header names case-insensitive, as httpx gives them)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        etag = (lowered.get("etag") or "").strip() or None
        modified = (lowered.get("last-modified") or "").strip() or None
        return cls(etag=etag, last_modified=modified)


@dataclass(frozen=True, slots=True)
class NotModified:
    """The registry answered 304: nothing changed since the validators were issued."""

    validators: Validators


@dataclass(frozen=True, slots=True)
class VersionList:
    """The registry sent the package's current version list, and validators for next time."""

    info: PackageInfo
    validators: Validators


class Registry(Protocol):
    """Read-only access to one registry (public or private) of one ecosystem."""

    ecosystem: Ecosystem

    def package(self, name: str) -> PackageInfo:
        """All versions of `name` with their publish times; raises PackageNotFound."""

    def latest_versions(
        self, name: str, validators: Validators | None = None
    ) -> NotModified | VersionList:
        """`package(name)` as a conditional request, for polling.

        With validators from an earlier answer the request carries `If-None-Match` /
        `If-Modified-Since`, and a 304 comes back as `NotModified` without reading or parsing
        a document. Otherwise the version list, with the validators the registry sent (empty
        when it sent none). A later `release()` on the same client reuses the document.
        """

    def release(self, name: str, version: str) -> Release:
        """One version with its artifacts and metadata; raises VersionNotFound."""
