"""In-memory stand-ins for a registry and a notifier, for tests of the watch cycle.

`FakeNpm` serves the synthetic npm releases of `tests/support/packages.py` through the real
`Fetcher` (over an `httpx.MockTransport`), so digests are really verified and archives really
extracted; only the network is missing. `RecordingNotifier` records alerts and fails on demand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.packages import NpmRelease
from watcher.artifacts.fetch import Fetcher
from watcher.errors import (
    NotifyError,
    PackageNotFound,
    RegistryUnavailable,
    VersionNotFound,
)
from watcher.httpclient import make_client
from watcher.models import ArtifactKind, ArtifactRef, Ecosystem, PackageInfo, Release
from watcher.notify.base import Alert, Notifier
from watcher.pipeline import Sources
from watcher.registries import NotModified, Validators, VersionList
from watcher.subscriptions import Subscription
from watcher.watch import SourcesFactory

PUBLISHED = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class FakeNpm:
    """A registry of `NpmRelease`s; `down` makes every call fail as an outage would."""

    releases: dict[str, dict[str, NpmRelease]] = field(default_factory=dict)
    yanked: set[tuple[str, str]] = field(default_factory=set)
    down: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    ecosystem: Ecosystem = Ecosystem.NPM
    #: Send an ETag with version lists and answer a matching `If-None-Match` with 304.
    etags: bool = False
    #: Version lists answered 304 so far.
    not_modified: int = 0

    def publish(self, *releases: NpmRelease) -> None:
        for release in releases:
            self.releases.setdefault(release.name, {})[release.version] = release

    def _versions(self, name: str) -> dict[str, NpmRelease]:
        if name in self.down:
            raise RegistryUnavailable(f"https://registry.invalid/{name} is unavailable (HTTP 503)")
        if name not in self.releases:
            raise PackageNotFound(f"npm package '{name}' not found")
        return self.releases[name]

    def package(self, name: str) -> PackageInfo:
        """The versions of `name`; each call is recorded in `calls` (one per poll)."""
        self.calls.append(name)
        versions = self._versions(name)
        return PackageInfo(
            Ecosystem.NPM,
            name,
            {v: PUBLISHED + timedelta(hours=i) for i, v in enumerate(versions)},
        )

    def etag(self, name: str) -> str:
        """The current ETag of `name`'s version list (changes with every publish)."""
        listing = ",".join(self._versions(name))
        return f'"{hashlib.sha256(listing.encode()).hexdigest()[:12]}"'

    def latest_versions(
        self, name: str, validators: Validators | None = None
    ) -> NotModified | VersionList:
        """`package`, conditional on the ETag when `etags` is on."""
        if not self.etags:
            return VersionList(self.package(name), Validators())
        etag = self.etag(name)
        if validators is not None and validators.etag == etag:
            self.calls.append(name)
            self.not_modified += 1
            return NotModified(validators)
        return VersionList(self.package(name), Validators(etag=etag))

    def release(self, name: str, version: str) -> Release:
        release = self._versions(name).get(version)
        if release is None:
            raise VersionNotFound(f"npm package '{name}' has no version '{version}'")
        data = release.tarball()
        ref = ArtifactRef(
            url=url_of(release),
            filename=release.filename,
            kind=ArtifactKind.NPM_TARBALL,
            digests={"sha512": hashlib.sha512(data).hexdigest()},
            size=len(data),
        )
        return Release(Ecosystem.NPM, name, version, (ref,), yanked=(name, version) in self.yanked)

    def transport(self) -> httpx.MockTransport:
        """Serves every published tarball at `url_of(release)`."""

        def handle(request: httpx.Request) -> httpx.Response:
            for versions in self.releases.values():
                for release in versions.values():
                    if str(request.url) == url_of(release):
                        return httpx.Response(200, content=release.tarball())
            return httpx.Response(404)

        return httpx.MockTransport(handle)

    def sources_factory(self) -> SourcesFactory:
        http = make_client(transport=self.transport())

        def build(_subscription: Subscription) -> Sources:
            return Sources(registry=self, fetcher=Fetcher(http=http, cache_dir=None))

        return build


def url_of(release: NpmRelease) -> str:
    return f"https://registry.invalid/{release.name}/-/{release.filename}"


@dataclass
class RecordingNotifier:
    """Records every alert it is asked to send; `failures` are raised first, one per send."""

    sent: list[Alert] = field(default_factory=list)
    failures: list[NotifyError] = field(default_factory=list)
    attempts: int = 0

    def send(self, alert: Alert) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(alert)


def notifiers(notifier: RecordingNotifier) -> Callable[[str], Notifier]:
    """Every channel delivered by `notifier`."""
    return lambda _channel: notifier


def versions(alerts: Iterable[Alert]) -> list[tuple[str, str | None, str]]:
    return [(a.report.package, a.report.old_version, a.report.new_version) for a in alerts]
