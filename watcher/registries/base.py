"""The port every registry client implements."""

from __future__ import annotations

from typing import Protocol

from watcher.models import Ecosystem, PackageInfo, Release


class Registry(Protocol):
    """Read-only access to one registry (public or private) of one ecosystem."""

    ecosystem: Ecosystem

    def package(self, name: str) -> PackageInfo:
        """All versions of `name` with their publish times; raises PackageNotFound."""

    def release(self, name: str, version: str) -> Release:
        """One version with its artifacts and metadata; raises VersionNotFound."""
