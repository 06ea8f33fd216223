"""An npm registry and a PyPI JSON API served by `httpx.MockTransport` for the deps tests.

The real `NpmRegistry`/`PypiRegistry` clients and the real `Fetcher` talk to them, so
packuments are really parsed and downloads really verified; only the network is missing.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from tests.support.packages import NpmRelease
from watcher.artifacts.fetch import Fetcher
from watcher.httpclient import make_client
from watcher.pipeline import Sources
from watcher.registries import NpmRegistry, PypiRegistry

NPM_BASE = "https://npm.registry.invalid/"
PYPI_BASE = "https://pypi.registry.invalid/"


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class MockNpm:
    """Packages by name: versions with their release and publish time, dist-tags, created."""

    packages: dict[str, dict[str, tuple[NpmRelease, datetime]]] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    #: Tarballs served with other bytes than the packument's integrity describes.
    tampered: set[tuple[str, str]] = field(default_factory=set)

    def publish(self, release: NpmRelease, when: datetime, *, tag: bool = True) -> None:
        self.packages.setdefault(release.name, {})[release.version] = (release, when)
        self.created.setdefault(release.name, when)
        if tag:
            self.latest[release.name] = release.version

    def packument(self, name: str) -> dict[str, object]:
        versions = self.packages[name]
        time: dict[str, str] = {"created": _iso(self.created[name])}
        docs: dict[str, object] = {}
        for version, (release, when) in versions.items():
            data = release.tarball()
            time[version] = _iso(when)
            docs[version] = {
                **release.manifest,
                "dist": {
                    "tarball": f"{NPM_BASE}{name}/-/{release.filename}",
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                },
            }
        tags = {"latest": self.latest[name]} if name in self.latest else {}
        return {"name": name, "dist-tags": tags, "versions": docs, "time": time}

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.lstrip("/")
        self.requests.append(path)
        if "/-/" in path:
            name, filename = path.split("/-/", 1)
            for version, (release, _) in self.packages.get(name, {}).items():
                if release.filename == filename:
                    body = release.tarball()
                    if (name, version) in self.tampered:
                        body = body + b"\0"
                    return httpx.Response(200, content=body)
            return httpx.Response(404)
        name = path.replace("%2f", "/").replace("%2F", "/")
        if name not in self.packages:
            return httpx.Response(404, json={"error": "not found"})
        return httpx.Response(200, json=self.packument(name))

    def sources(self, max_bytes: int = 256 * 1024 * 1024) -> Sources:
        http = make_client(transport=httpx.MockTransport(self.handle))
        return Sources(
            registry=NpmRegistry(http, NPM_BASE),
            fetcher=Fetcher(http=http, cache_dir=None, max_bytes=max_bytes),
        )


def sdist(
    name: str, version: str, files: Mapping[str, str], requires: tuple[str, ...] = ()
) -> bytes:
    """A minimal sdist: PKG-INFO (with Requires-Dist lines) plus `files`, under `name-version/`."""
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    pkg_info += "".join(f"Requires-Dist: {r}\n" for r in requires)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, text in {"PKG-INFO": pkg_info, **files}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name.replace('-', '_')}-{version}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class MockPypi:
    """Projects by name: version -> (sdist bytes, upload time, yanked)."""

    projects: dict[str, dict[str, tuple[bytes, datetime, bool]]] = field(default_factory=dict)

    def upload(
        self, name: str, version: str, data: bytes, when: datetime, *, yanked: bool = False
    ) -> None:
        self.projects.setdefault(name, {})[version] = (data, when, yanked)

    def _filename(self, name: str, version: str) -> str:
        return f"{name.replace('-', '_')}-{version}.tar.gz"

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[0] == "files":
            for name, versions in self.projects.items():
                for version, (data, _, _) in versions.items():
                    if parts[-1] == self._filename(name, version):
                        return httpx.Response(200, content=data)
            return httpx.Response(404)
        if parts[0] != "pypi" or len(parts) != 3 or parts[1] not in self.projects:
            return httpx.Response(404)
        name = parts[1]
        releases = {
            version: [
                {
                    "filename": self._filename(name, version),
                    "url": f"/files/{self._filename(name, version)}",
                    "digests": {"sha256": hashlib.sha256(data).hexdigest()},
                    "size": len(data),
                    "upload_time_iso_8601": _iso(when),
                    "yanked": yanked,
                }
            ]
            for version, (data, when, yanked) in self.projects[name].items()
        }
        body = {"info": {"name": name, "version": list(releases)[-1]}, "releases": releases}
        return httpx.Response(200, content=json.dumps(body).encode())

    def sources(self) -> Sources:
        http = make_client(transport=httpx.MockTransport(self.handle))
        return Sources(
            registry=PypiRegistry(http, PYPI_BASE), fetcher=Fetcher(http=http, cache_dir=None)
        )
