"""What resolution reads from a registry, and how an answer is kept for the next cycle.

A `PackageDoc` is the part of a registry document resolution needs: the versions, the
dist-tags, and (npm) what each version declares. It is small and JSON-serialisable, so the
store can keep it with the validators it came with: the next cycle asks conditionally and a
304 re-uses the kept copy instead of a download.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from packaging.utils import canonicalize_name

from watcher.errors import MalformedResponse
from watcher.models import Ecosystem, PackageInfo
from watcher.registries import NotModified, Validators
from watcher.registries.npm import NpmRegistry
from watcher.registries.pypi import PypiRegistry
from watcher.registries.wire import NpmPackument, parse_time


@dataclass(frozen=True, slots=True)
class NpmDeclared:
    """What one npm version declares that decides what else an install gets."""

    dependencies: Mapping[str, str] = field(default_factory=dict)
    optional: Mapping[str, str] = field(default_factory=dict)
    peer: Mapping[str, str] = field(default_factory=dict)
    #: Peers marked optional in `peerDependenciesMeta`: npm does not install those.
    optional_peers: frozenset[str] = frozenset()
    os: tuple[str, ...] = ()
    cpu: tuple[str, ...] = ()

    @property
    def condition(self) -> str | None:
        """`os: linux, cpu: x64` when the version installs only on some platforms."""
        parts = [f"{k}: {','.join(v)}" for k, v in (("os", self.os), ("cpu", self.cpu)) if v]
        return ", ".join(parts) or None


@dataclass(frozen=True, slots=True)
class PackageDoc:
    """The versions of one package (publish times when known), its tags, what each declares."""

    name: str
    versions: Mapping[str, datetime | None]
    tags: Mapping[str, str] = field(default_factory=dict)
    #: npm: every version's declarations. Empty for PyPI (see `requires`).
    declared: Mapping[str, NpmDeclared] = field(default_factory=dict)
    #: PyPI: `Requires-Dist` of the versions read so far (immutable per release, so kept).
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def info(self, ecosystem: Ecosystem) -> PackageInfo:
        return PackageInfo(
            ecosystem=ecosystem,
            name=self.name,
            versions=self.versions,
            latest=self.tags.get("latest"),
        )


@dataclass(frozen=True, slots=True)
class CachedDoc:
    """A document as a cycle left it: what resolution read, and the validators to ask with."""

    doc: PackageDoc
    validators: Validators = Validators()


def _strings(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


def _words(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, list):
        return tuple(w for w in raw if isinstance(w, str))
    return ()


def npm_declared(raw: Mapping[str, Any]) -> NpmDeclared:
    """The declarations of one packument version (registry text, read leniently)."""
    meta = raw.get("peerDependenciesMeta")
    optional_peers = frozenset(
        str(k)
        for k, v in (meta.items() if isinstance(meta, Mapping) else ())
        if isinstance(v, Mapping) and v.get("optional") is True
    )
    return NpmDeclared(
        dependencies=_strings(raw.get("dependencies")),
        optional=_strings(raw.get("optionalDependencies")),
        peer=_strings(raw.get("peerDependencies")),
        optional_peers=optional_peers,
        os=_words(raw.get("os")),
        cpu=_words(raw.get("cpu")),
    )


def npm_doc(name: str, packument: NpmPackument) -> PackageDoc:
    """The resolution view of a packument."""
    return PackageDoc(
        name=name,
        versions={v: parse_time(packument.time.get(v)) for v in packument.versions},
        tags={k: v for k, v in packument.dist_tags.items() if isinstance(v, str)},
        declared={v: npm_declared(raw) for v, raw in packument.versions.items()},
    )


# --- JSON form (what the store keeps) -------------------------------------------------------


def doc_to_json(doc: PackageDoc) -> dict[str, Any]:
    declared: dict[str, Any] = {}
    for version, d in doc.declared.items():
        item: dict[str, Any] = {}
        for key, value in (("d", d.dependencies), ("o", d.optional), ("p", d.peer)):
            if value:
                item[key] = dict(value)
        for key, words in (("po", sorted(d.optional_peers)), ("os", d.os), ("cpu", d.cpu)):
            if words:
                item[key] = list(words)
        declared[version] = item
    return {
        "name": doc.name,
        "versions": {v: t.isoformat() if t else None for v, t in doc.versions.items()},
        "tags": dict(doc.tags),
        "declared": declared,
        "requires": {v: list(r) for v, r in doc.requires.items()},
    }


def doc_from_json(data: Mapping[str, Any]) -> PackageDoc:
    return PackageDoc(
        name=str(data["name"]),
        versions={v: parse_time(t) for v, t in data.get("versions", {}).items()},
        tags=dict(data.get("tags", {})),
        declared={
            v: NpmDeclared(
                dependencies=item.get("d", {}),
                optional=item.get("o", {}),
                peer=item.get("p", {}),
                optional_peers=frozenset(item.get("po", ())),
                os=tuple(item.get("os", ())),
                cpu=tuple(item.get("cpu", ())),
            )
            for v, item in data.get("declared", {}).items()
        },
        requires={v: tuple(r) for v, r in data.get("requires", {}).items()},
    )


# --- reading a registry ---------------------------------------------------------------------


@dataclass(slots=True)
class CatalogStats:
    """What one catalog asked the registry: requests, and how many of them answered 304."""

    requests: int = 0
    not_modified: int = 0


class RegistryCatalog:
    """Package documents from one registry, each asked for at most once in the catalog's life.

    Documents of earlier cycles are asked for conditionally: with the validators in `known`
    (documents at hand) or `validators` (documents the store keeps, read through `load` only
    when resolution needs one), and a 304 re-uses the kept copy. What was read fresh, or
    completed (a PyPI release's requirements), is named in `changed`, for the caller to keep;
    packages whose document differs from the kept one are named in `moved` (what they
    resolve to may differ now).
    """

    def __init__(
        self,
        registry: NpmRegistry | PypiRegistry,
        known: MutableMapping[str, CachedDoc] | None = None,
        *,
        validators: Mapping[str, Validators] | None = None,
        load: Callable[[str], CachedDoc | None] | None = None,
        read_requires: Callable[[str, str], tuple[str, ...] | None] | None = None,
    ) -> None:
        self.registry = registry
        self.ecosystem = registry.ecosystem
        self.known: MutableMapping[str, CachedDoc] = known if known is not None else {}
        self.changed: set[str] = set()
        self.moved: set[str] = set()
        self.stats = CatalogStats()
        self._validators = validators or {}
        self._load = load
        #: PyPI: reads a release's requirements from its artifact when the index has no JSON
        #: API (pypiserver, a Simple-only mirror).
        self._read_requires = read_requires
        self._fresh: set[str] = set()

    def key(self, name: str) -> str:
        return canonicalize_name(name) if self.ecosystem is Ecosystem.PYPI else name

    def _kept(self, key: str) -> CachedDoc | None:
        cached = self.known.get(key)
        if cached is None and self._load is not None:
            cached = self._load(key)
            if cached is not None:
                self.known[key] = cached
        return cached

    def poll(self, name: str) -> bool:
        """Ask for the package's document (once per catalog); whether it moved since kept.

        A 304 reads nothing from the store: a warm cycle costs one request per package.
        """
        key = self.key(name)
        if key in self._fresh:
            return key in self.moved
        at_hand = self.known.get(key)
        validators = at_hand.validators if at_hand is not None else self._validators.get(key)
        self.stats.requests += 1
        self._fresh.add(key)
        if isinstance(self.registry, NpmRegistry):
            answer = self.registry.packument(name, validators)
            if isinstance(answer, NotModified):
                return self._not_modified(key, answer)
            packument, fresh = answer
            doc = npm_doc(name, packument)
            old = self._kept(key)
        else:
            listing = self.registry.latest_versions(name, validators)
            if isinstance(listing, NotModified):
                return self._not_modified(key, listing)
            info, fresh = listing.info, listing.validators
            old = self._kept(key)
            kept = old.doc.requires if old is not None else {}
            doc = PackageDoc(
                name=key,
                versions=dict(info.versions),
                tags={"latest": info.latest} if info.latest else {},
                requires={v: r for v, r in kept.items() if v in info.versions},
            )
        moved = old is None or old.doc != doc
        if moved:
            self.moved.add(key)
        self.known[key] = CachedDoc(doc, fresh)
        self.changed.add(key)
        return moved

    def _not_modified(self, key: str, answer: NotModified) -> bool:
        self.stats.not_modified += 1
        cached = self.known.get(key)
        if cached is not None and answer.validators != cached.validators:
            self.known[key] = CachedDoc(cached.doc, answer.validators)
            self.changed.add(key)
        return False

    def document(self, name: str) -> PackageDoc:
        """The package's document, asked for once per catalog (conditionally when kept)."""
        key = self.key(name)
        if key not in self._fresh:
            self.poll(name)
        cached = self._kept(key)
        if cached is None:  # a 304 without a kept document: the store lost it
            raise MalformedResponse(f"registry answered 304 for '{name}' but nothing was kept")
        return cached.doc

    def requires(self, name: str, version: str) -> tuple[str, ...] | None:
        """PyPI: the release's `Requires-Dist` (None when the index does not say)."""
        assert isinstance(self.registry, PypiRegistry)
        key = self.key(name)
        doc = self.document(name)
        if version in doc.requires:
            return doc.requires[version]
        found = self.registry.requires_dist(name, version)
        if found is None and self._read_requires is not None:
            found = self._read_requires(name, version)
        if found is not None:
            cached = self.known[key]
            updated = PackageDoc(
                doc.name, doc.versions, doc.tags, doc.declared, {**doc.requires, version: found}
            )
            self.known[key] = CachedDoc(updated, cached.validators)
            self.changed.add(key)
        return found
