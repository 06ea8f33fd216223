"""npm registry client: packuments → `PackageInfo` and `Release`.

Works against the public registry, mirrors and private registries (Verdaccio, Artifactory,
GitHub Packages), which all serve the CouchDB-style packument at `GET <base>/<name>`. The full
packument is requested, not the abbreviated install form, because only the full one carries
publish times, maintainers, `_npmUser` and repository.

Mirrors strip `maintainers`, `_npmUser`, `dist.attestations` and `dist.signatures`. A missing
field is therefore reported as unknown (None / `Provenance.UNKNOWN`), never as "removed".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from watcher.errors import PackageNotFound, VersionNotFound
from watcher.httpclient import HttpClient
from watcher.models import (
    ArtifactKind,
    ArtifactRef,
    Declared,
    Ecosystem,
    PackageInfo,
    Provenance,
    Publisher,
    Release,
)
from watcher.registries import wire
from watcher.registries.base import NotModified, Validators, VersionList

PUBLIC_NPM_REGISTRY = "https://registry.npmjs.org/"
_PUBLIC_HOST = "registry.npmjs.org"

#: How many of the most recent versions an unknown-version error lists.
_HINT_VERSIONS = 5

# npm names: optional "@scope/" then a name; both parts URL-safe lowercase in new packages,
# but legacy names may contain capitals, so only the structure is checked here.
_NPM_NAME = re.compile(r"^(?:@(?P<scope>[^/@\s]+)/)?(?P<name>[^/@\s][^/\s]*)$")


@dataclass(frozen=True, slots=True)
class _Packument:
    """A parsed packument and the URL it was served from (for resolving relative URLs)."""

    doc: wire.NpmPackument
    url: httpx.URL


class NpmRegistry:
    """Read-only client for one npm registry (public, mirror or private).

    Packuments are cached per name for the life of the instance, so `package()` followed by
    any number of `release()` calls costs one request.
    """

    ecosystem = Ecosystem.NPM

    def __init__(self, http: HttpClient, base_url: str = PUBLIC_NPM_REGISTRY) -> None:
        self.http = http
        self.base_url = wire.with_trailing_slash(base_url)
        self._display = wire.display_url(self.base_url)
        self._public = httpx.URL(self.base_url).host == _PUBLIC_HOST
        self._cache: dict[str, _Packument] = {}

    def clear_cache(self) -> None:
        """Forget every packument read so far (the daemon polls with one instance per cycle)."""
        self._cache.clear()

    def package_url(self, name: str) -> str:
        """The packument URL for `name` (`@scope/x` → `<base>@scope%2fx`)."""
        match = _NPM_NAME.match(name)
        if match is None:
            raise PackageNotFound(f"'{wire.shown(name)}' is not a valid npm package name")
        try:
            encoded = quote(match["name"], safe="")
            if match["scope"] is not None:
                # The registry wants the scope's slash encoded: "@scope%2fname" is one segment.
                encoded = f"@{quote(match['scope'], safe='')}%2f{encoded}"
        # Names also come from other packages' dependencies (registry text): a lone surrogate
        # cannot be UTF-8 encoded, and no registry can hold such a name.
        except UnicodeError as e:
            raise PackageNotFound(f"'{wire.shown(name)}' is not a valid npm package name") from e
        return self.base_url + encoded

    def _packument(self, name: str) -> _Packument:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        what = f"npm registry {self._display} for '{wire.shown(name)}'"
        response = wire.get(self.http, self.package_url(name), what)
        if response is None:
            raise PackageNotFound(f"npm package '{wire.shown(name)}' not found on {self._display}")
        return self._parse(name, response, what)

    def _parse(self, name: str, response: httpx.Response, what: str) -> _Packument:
        doc = wire.validate(wire.NpmPackument, wire.response_json(response, what), what)
        if not doc.versions:
            # A fully unpublished package keeps a stub packument with `time.unpublished`.
            detail = " (unpublished)" if "unpublished" in doc.time else ""
            raise PackageNotFound(
                f"npm package '{wire.shown(name)}' has no versions on {self._display}{detail}"
            )
        packument = _Packument(doc=doc, url=response.url)
        self._cache[name] = packument
        return packument

    def package(self, name: str) -> PackageInfo:
        """All versions of `name` with publish times, oldest first when times are known."""
        doc = self._packument(name).doc
        return PackageInfo(
            ecosystem=Ecosystem.NPM,
            name=name,
            versions=_ordered_versions(doc),
            latest=doc.dist_tags.get("latest"),
            created=wire.parse_time(doc.time.get("created")),
        )

    def latest_versions(
        self, name: str, validators: Validators | None = None
    ) -> NotModified | VersionList:
        """`package(name)` as a conditional GET of the packument (see `Registry`)."""
        what = f"npm registry {self._display} for '{wire.shown(name)}'"
        answer = wire.get_conditional(self.http, self.package_url(name), what, validators)
        if answer is None:
            raise PackageNotFound(f"npm package '{wire.shown(name)}' not found on {self._display}")
        if isinstance(answer, NotModified):
            return answer
        self._parse(name, answer, what)
        return VersionList(self.package(name), Validators.from_headers(answer.headers))

    def packument(
        self, name: str, validators: Validators | None = None
    ) -> NotModified | tuple[wire.NpmPackument, Validators]:
        """The packument of `name` as a conditional GET: the document and its validators.

        For readers of what every version declares (the dependency tree), which
        `PackageInfo` does not carry.
        """
        what = f"npm registry {self._display} for '{wire.shown(name)}'"
        answer = wire.get_conditional(self.http, self.package_url(name), what, validators)
        if answer is None:
            raise PackageNotFound(f"npm package '{wire.shown(name)}' not found on {self._display}")
        if isinstance(answer, NotModified):
            return answer
        return self._parse(name, answer, what).doc, Validators.from_headers(answer.headers)

    def release(self, name: str, version: str) -> Release:
        """One version of `name` with its tarball and registry metadata."""
        packument = self._packument(name)
        doc = packument.doc
        raw = doc.versions.get(version)
        if raw is None:
            known = list(_ordered_versions(doc))[-_HINT_VERSIONS:]
            raise VersionNotFound(
                f"npm package '{wire.shown(name)}' has no version '{wire.shown(version)}'"
                f" on {self._display}"
                f" (latest known: {', '.join(wire.shown(v) for v in reversed(known))})"
            )
        what = f"npm registry {self._display} for '{wire.shown(name)}@{wire.shown(version)}'"
        entry = wire.validate(wire.NpmVersion, raw, what)
        dist = entry.dist

        tarball_url = wire.join_url(packument.url, dist.tarball, what)
        digests = wire.sri_to_hex(dist.integrity, what) if dist.integrity else {}
        if not digests and dist.shasum:
            # Packages published before npm 5 (2017) only have the sha1 shasum.
            digests = {"sha1": dist.shasum.strip().lower()}
        artifact = ArtifactRef(
            url=str(tarball_url),
            # The path is percent-decoded, so `%0d%0a` would be a line break in every message
            # naming the file: registry text, escaped like any other.
            filename=wire.shown(tarball_url.path.rsplit("/", 1)[-1], limit=1024),
            kind=ArtifactKind.NPM_TARBALL,
            digests=digests,
            size=None,
        )
        return Release(
            ecosystem=Ecosystem.NPM,
            name=name,
            version=version,
            artifacts=(artifact,),
            published_at=wire.parse_time(doc.time.get(version)),
            maintainers=_maintainers(entry.maintainers),
            publisher=_publisher(entry.npm_user),
            provenance=_provenance(entry, doc.versions),
            repository=_repository(entry.repository),
            unpacked_size=dist.unpacked_size,
            declared=_declared(entry),
            has_shrinkwrap=entry.has_shrinkwrap if isinstance(entry.has_shrinkwrap, bool) else None,
            page_url=(
                f"https://www.npmjs.com/package/{name}/v/{version}" if self._public else None
            ),
        )


def _ordered_versions(doc: wire.NpmPackument) -> dict[str, datetime | None]:
    """version → publish time, sorted by time when every version has one, else as served."""
    times = {v: wire.parse_time(doc.time.get(v)) for v in doc.versions}
    known: dict[str, datetime] = {v: t for v, t in times.items() if t is not None}
    if len(known) < len(times):
        return times
    # sorted() is stable, so equal timestamps keep the packument's order.
    return {v: times[v] for v in sorted(known, key=known.__getitem__)}


def _maintainers(raw: Any) -> frozenset[str] | None:
    """Names from `maintainers` ([{name, email}] or legacy "name <email>" strings)."""
    if not isinstance(raw, list):
        return None
    names: set[str] = set()
    for person in raw:
        if isinstance(person, Mapping):
            name = person.get("name")
        elif isinstance(person, str):
            name = person.split("<", 1)[0]
        else:
            continue
        if isinstance(name, str) and name.strip():
            names.add(name.strip())
    return frozenset(names)


def _publisher(user: wire.NpmUser | None) -> Publisher | None:
    """`_npmUser` as a Publisher; None when the registry (or mirror) did not send it."""
    if user is None:
        return None
    trusted = user.trusted_publisher.id if user.trusted_publisher is not None else None
    return Publisher(name=user.name, email=user.email, trusted_publisher=trusted)


def _provenance(entry: wire.NpmVersion, versions: Mapping[str, Mapping[str, Any]]) -> Provenance:
    """PRESENT with attestations; ABSENT only when the packument is provably not stripped.

    The public registry sends `_npmUser` for every version published since 2012; mirrors strip
    it together with attestations. So a packument in which some version has `_npmUser` is
    complete, and a missing `dist.attestations` there really means "no provenance".
    """
    attestations = entry.dist.attestations
    if attestations is not None and attestations.provenance is not None:
        return Provenance.PRESENT
    if any("_npmUser" in v for v in versions.values()):
        return Provenance.ABSENT
    return Provenance.UNKNOWN


def _repository(raw: Any) -> str | None:
    """`repository` as a string or {type, url, directory}, normalised for comparison."""
    if isinstance(raw, Mapping):
        raw = raw.get("url")
    return wire.normalize_repository_url(raw) if isinstance(raw, str) else None


def _declared(entry: wire.NpmVersion) -> Declared:
    """The packument's copy of the manifest fields npm acts on (see `Declared`).

    Dependencies are in both the full and the abbreviated packument, so an absent field
    means none; `scripts` only in the full one, so absent means unknown.
    """
    dependencies: dict[str, str] = {}
    for field in (entry.dependencies, entry.optional_dependencies, entry.peer_dependencies):
        if isinstance(field, Mapping):
            dependencies.update({str(k): v for k, v in field.items() if isinstance(v, str)})
    scripts = entry.scripts
    flag = entry.has_install_script
    return Declared(
        scripts={str(k): v for k, v in scripts.items() if isinstance(v, str)}
        if isinstance(scripts, Mapping)
        else None,
        dependencies=dependencies,
        has_install_script=flag if isinstance(flag, bool) else None,
    )
