"""Load rule fixture files (tests/rules/fixtures/<rule-id>.toml) into runnable cases.

A case is one screen of TOML: inline files for the old and new artifact, optional registry
metadata, optional expectations (path, line, severity) for positives, and facts about new
dependencies (`[[positive.dependencies]]`: name, spec, version, published_at, first_published,
error). See README there.

File contents are a string, `{hex = "..."}`, `{base64 = "..."}`, or `{repeat = "...", times = N}`
(the string repeated N times: bulk content, e.g. for meta.size-jump, without a megabyte of TOML).

Expectations on positives: `path`, `line`, `severity` (one finding must match all given),
`evidence_contains`, and `count` (exactly that many findings of the rule). Any case may carry
`xfail_reason`: a known rule bug, run as a strict xfail until the rule is fixed.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from watcher.models import (
    ArtifactKind,
    DependencyScan,
    Ecosystem,
    FileEntry,
    PackageInfo,
    Provenance,
    Publisher,
    Release,
    Snapshot,
    SpecialEntry,
    SpecialKind,
)
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext
from watcher.rules.manifest_confusion import declared_from

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Case:
    """One positive or negative example for one rule."""

    rule: str
    polarity: str
    name: str
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.polarity}:{self.name}"


def load_cases() -> list[Case]:
    """Every case of every fixture file."""
    cases = []
    for path in sorted(FIXTURES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for polarity in ("positive", "negative"):
            cases.extend(
                Case(path.stem, polarity, raw["name"], raw) for raw in data.get(polarity, [])
            )
    return cases


def _content(value: str | dict[str, Any]) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if "repeat" in value:
        return str(value["repeat"]).encode() * int(value["times"])
    if "base64" in value:
        return base64.b64decode(value["base64"])
    return bytes.fromhex(value["hex"])


def _kind(case: dict[str, Any], ecosystem: Ecosystem) -> ArtifactKind:
    if ecosystem is Ecosystem.NPM:
        return ArtifactKind.NPM_TARBALL
    return ArtifactKind(case.get("artifact", "sdist"))


def _snapshot(side: dict[str, Any], kind: ArtifactKind, version: str) -> Snapshot:
    suffix = {"npm-tarball": ".tgz", "sdist": ".tar.gz", "wheel": "-py3-none-any.whl"}[kind.value]
    files = {p: FileEntry.of(p, _content(v)) for p, v in side.get("files", {}).items()}
    specials = tuple(
        SpecialEntry(s["path"], SpecialKind(s["kind"]), s.get("target"))
        for s in side.get("specials", [])
    )
    return Snapshot(f"fixture-{version}{suffix}", kind, files, specials)


def _release(ecosystem: Ecosystem, version: str, meta: dict[str, Any] | None) -> Release | None:
    if meta is None:
        return None
    publisher = None
    if "publisher" in meta or "trusted_publisher" in meta:
        publisher = Publisher(
            meta.get("publisher"), meta.get("publisher_email"), meta.get("trusted_publisher")
        )
    maintainers = meta.get("maintainers")
    return Release(
        ecosystem=ecosystem,
        name="fixture",
        version=version,
        artifacts=(),
        published_at=meta.get("published_at", datetime(2026, 1, 1, tzinfo=UTC)),
        maintainers=frozenset(maintainers) if maintainers is not None else None,
        publisher=publisher,
        provenance=Provenance(meta.get("provenance", "unknown")),
        repository=meta.get("repository"),
        declared=declared_from(meta["declared"]) if "declared" in meta else None,
    )


def build_context(case: Case) -> ReleaseContext:
    """The ReleaseContext a case describes."""
    raw = case.raw
    ecosystem = Ecosystem(raw["ecosystem"])
    kind = _kind(raw, ecosystem)
    old_side = raw.get("old")
    new_side = raw["new"]
    old_version = old_side.get("version", "1.0.0") if old_side is not None else None
    new_version = new_side.get("version", "1.0.1")
    old = _snapshot(old_side, kind, old_version) if old_side is not None else None
    new = _snapshot(new_side, kind, new_version)
    name = raw.get("package", {}).get("name", "fixture")
    package = _package(ecosystem, name, raw.get("package", {}).get("versions"))
    return ReleaseContext(
        ecosystem=ecosystem,
        name=name,
        old_version=old_version,
        new_version=new_version,
        artifacts=(artifact_diff(old, new),),
        old_release=_release(ecosystem, old_version or "", old_side.get("release"))
        if old_side is not None
        else None,
        new_release=_release(ecosystem, new_version, new_side.get("release")),
        package=package,
        dependencies=tuple(_dependency(d) for d in raw.get("dependencies", [])),
        public_package=_package(ecosystem, name, raw.get("public_package", {}).get("versions")),
    )


def _package(
    ecosystem: Ecosystem, name: str, versions: list[str] | dict[str, datetime] | None
) -> PackageInfo | None:
    """A `[x.package]`/`[x.public_package]` listing: a list of versions, or version -> time."""
    if versions is None:
        return None
    times = dict(versions) if isinstance(versions, dict) else dict.fromkeys(versions)
    return PackageInfo(ecosystem, name, times)


def _dependency(raw: dict[str, Any]) -> DependencyScan:
    """A `[[positive.dependencies]]` entry: what the pipeline learnt about a new dependency.

    Times are TOML datetimes; the new release (when it has a `release` table) was published
    at 2026-01-01T00:00:00Z.
    """
    return DependencyScan(
        name=raw["name"],
        spec=raw.get("spec", ""),
        version=raw.get("version"),
        published_at=raw.get("published_at"),
        first_published=raw.get("first_published"),
        error=raw.get("error"),
    )
