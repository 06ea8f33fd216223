"""Which dependencies a release adds, and which version of each an install would pick.

Pure functions over manifests and `PackageInfo`: no I/O. npm ranges follow npm's own choice
(the `latest` dist-tag when it satisfies the range, else the highest satisfying version);
PyPI specifiers follow pip (the highest final release that matches, prereleases only when
nothing else does).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cmp_to_key

import nodesemver  # type: ignore[import-untyped]  # no stubs; its calls are wrapped here
from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from watcher.models import ArtifactDiff, Ecosystem, PackageInfo

#: npm specs that fetch code from outside the registry, where no integrity hash or
#: registry-side malware scan applies: git, URLs, tarballs, GitHub shorthand, local paths.
NPM_NON_REGISTRY = re.compile(
    r"^(git(\+[a-z]+)?:|https?:|file:|link:|github:|gitlab:|bitbucket:|gist:"
    r"|[\w.-]+/[\w.-]+(#.*)?$)",
    re.IGNORECASE,
)

#: npm's alias form, `npm:real-name@range` (the installed package is `real-name`).
_NPM_ALIAS = re.compile(r"^npm:(?P<name>@?[^@\s]+)(?:@(?P<range>.*))?$")

#: npm specs that mean "the `latest` dist-tag" (npm-pick-manifest short-cuts `*` to it).
_NPM_LATEST = frozenset({"", "*", "latest", "x"})


class Unresolvable(ValueError):
    """No published version satisfies the spec, or the spec cannot be read."""


@dataclass(frozen=True, slots=True)
class AddedDependency:
    """A dependency declared by the new release and not by the old one.

    `package` and `range` are what the registry is asked for (an npm alias names another
    package); `spec` is the spec exactly as declared.
    """

    name: str
    spec: str
    package: str
    range: str


@dataclass(frozen=True, slots=True)
class ChangedDependency:
    """A dependency both releases declare, with another spec in the new one.

    `old` is the registry target of the old spec, None when the old spec bypassed the
    registry or was not installed by default (an extra): then nothing registry-resolved can
    be diffed against, and the new target is scanned as new.
    """

    new: AddedDependency
    old: AddedDependency | None

    @property
    def repointed(self) -> bool:
        """Whether the dependency now installs another package (an `npm:` alias)."""
        return self.old is not None and self.old.package != self.new.package


def npm_package(name: str, spec: str) -> str:
    """The package an npm dependency `name: spec` installs (an `npm:` alias names another)."""
    alias = _NPM_ALIAS.match(spec.strip())
    return alias["name"] if alias is not None else name


def is_non_registry(ecosystem: Ecosystem, spec: str) -> bool:
    """Whether `spec` installs from git, a URL, a tarball or a path instead of the registry."""
    if ecosystem is Ecosystem.NPM:
        return bool(NPM_NON_REGISTRY.match(spec.strip())) and not spec.startswith("npm:")
    return spec.startswith("@ ")


def added_dependencies(
    ecosystem: Ecosystem, diffs: Sequence[ArtifactDiff], bundled: Collection[str] = ()
) -> tuple[AddedDependency, ...]:
    """Registry dependencies the new release installs that the old one did not, in order.

    Specs that bypass the registry are left to the `manifest.dependency-url` rule (never
    fetched: that would mean downloading arbitrary URLs). PyPI requirements behind an
    `extra` marker are not installed by default and are skipped; other markers (python
    version, platform) still install somewhere, so those dependencies count. Names in
    `bundled` ship inside the tarball (npm installs that copy, not the registry's): they are
    analysed as bundled packages instead.
    """
    seen: set[str] = set(bundled)
    result: list[AddedDependency] = []
    for before, declared in _declared(diffs):
        for name, spec in declared.items():
            if name in before or name in seen:
                continue
            seen.add(name)
            added = _registry_target(ecosystem, name, spec)
            if added is not None:
                result.append(added)
    return tuple(result)


def _declared(diffs: Sequence[ArtifactDiff]) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """(old, new) installed requirements of each artifact that has an old side.

    A build requirement counts like a dependency: pip installs and runs it to build the
    sdist (PEP 517), before any of the package's own code.
    """
    for diff in diffs:
        if diff.old_manifest is not None:
            old, new = diff.old_manifest, diff.new_manifest
            yield (
                {**old.dependencies, **old.build_requires},
                {**new.build_requires, **new.dependencies},
            )


def changed_dependencies(
    ecosystem: Ecosystem, diffs: Sequence[ArtifactDiff], bundled: Collection[str] = ()
) -> tuple[ChangedDependency, ...]:
    """Registry dependencies both releases declare whose spec changed, in order.

    A changed range, a re-pin, or an `npm:` alias (new, or re-pointed to another package):
    what installs may differ, so it is resolved and analysed like a new dependency. A new
    spec that bypasses the registry is left to `manifest.dependency-url`.
    """
    seen: set[str] = set(bundled)
    result: list[ChangedDependency] = []
    for before, declared in _declared(diffs):
        for name, spec in declared.items():
            was = before.get(name)
            if was is None or name in seen or _same_spec(ecosystem, was, spec):
                continue
            seen.add(name)
            new = _registry_target(ecosystem, name, spec)
            if new is not None:
                result.append(ChangedDependency(new, _registry_target(ecosystem, name, was)))
    return tuple(result)


def _same_spec(ecosystem: Ecosystem, old: str, new: str) -> bool:
    if ecosystem is Ecosystem.NPM:
        return old.strip() == new.strip()
    # `>=1.0, <2` and `<2,>=1.0` are one specifier; the marker is compared as written.
    return _pep508_key(old) == _pep508_key(new)


def _pep508_key(spec: str) -> tuple[str, str]:
    specifier, _, marker = spec.partition(";")
    try:
        key = str(SpecifierSet(specifier.strip()))
    except InvalidSpecifier:  # not a gap: compared as written; resolution reports it
        key = specifier.strip()
    return key, " ".join(marker.split())


def as_of(package: PackageInfo, when: datetime | None) -> PackageInfo:
    """`package` as the registry listed it at `when`: versions published later left out.

    A version with no known publish time is kept (unknown is not "later"). The `latest`
    dist-tag is kept only when it already existed; otherwise which version it pointed to
    then is unknown, and the highest matching version stands in (npm's fallback).
    """
    if when is None:
        return package
    versions = {v: t for v, t in package.versions.items() if t is None or t <= when}
    latest = package.latest if package.latest in versions else None
    return dataclasses.replace(package, versions=versions, latest=latest)


def _registry_target(ecosystem: Ecosystem, name: str, spec: str) -> AddedDependency | None:
    if is_non_registry(ecosystem, spec):
        return None
    if ecosystem is Ecosystem.NPM:
        alias = _NPM_ALIAS.match(spec.strip())
        if alias is not None:
            return AddedDependency(name, spec, alias["name"], (alias["range"] or "").strip())
        return AddedDependency(name, spec, name, spec.strip())
    specifier, _, marker = spec.partition(";")
    if marker.strip() and _needs_extra(marker):
        return None
    return AddedDependency(name, spec, canonicalize_name(name), specifier.strip())


def _needs_extra(marker: str) -> bool:
    try:
        parsed = Marker(marker.strip())
    # An unreadable marker: pip would refuse it too, so nothing would be installed.
    except InvalidMarker:  # not a gap: assumed to need an extra, as pip refuses it
        return True
    # Evaluated with no extra requested (and this interpreter's environment): `extra == "x"`
    # is then false; combined with `or`, a marker that also applies without the extra stays.
    return not parsed.evaluate({"extra": ""}) and "extra" in str(parsed)


def candidates(ecosystem: Ecosystem, spec: str, package: PackageInfo) -> list[str]:
    """Versions an install of `spec` could pick, best first; raises Unresolvable if none."""
    if ecosystem is Ecosystem.NPM:
        found = _npm_candidates(spec.strip(), package)
    else:
        found = _pypi_candidates(spec.strip(), package.versions)
    if not found:
        raise Unresolvable(f"no published version of {package.name} satisfies `{spec or '*'}`")
    return found


def resolve_version(ecosystem: Ecosystem, spec: str, package: PackageInfo) -> str:
    """The version an install of `spec` would pick; raises Unresolvable."""
    return candidates(ecosystem, spec, package)[0]


def _npm_candidates(spec: str, package: PackageInfo) -> list[str]:
    latest = package.latest
    if spec in _NPM_LATEST:
        if latest is not None and latest in package.versions:
            return [latest]
        spec = "*"
    elif nodesemver.valid_range(spec, loose=True) is None:
        # Any other non-range word is a dist-tag; only `latest` is known here.
        raise Unresolvable(f"`{spec}` is a dist-tag or spec watcher cannot resolve")
    valid = [v for v in package.versions if _npm_valid(v)]
    if latest in valid and nodesemver.satisfies(latest, spec, loose=True):
        return [latest, *_npm_sorted(v for v in valid if v != latest and _npm_ok(v, spec))]
    return _npm_sorted(v for v in valid if _npm_ok(v, spec))


def _npm_valid(version: str) -> bool:
    try:
        return nodesemver.valid(version, loose=True) is not None
    except ValueError:  # not a gap: not a version npm would pick
        return False


def _npm_ok(version: str, spec: str) -> bool:
    try:
        return bool(nodesemver.satisfies(version, spec, loose=True))
    except ValueError:  # not a gap: a range npm cannot match either
        return False


def _npm_sorted(versions: Iterable[str]) -> list[str]:
    order = cmp_to_key(lambda a, b: nodesemver.compare(a, b, True))
    return sorted(versions, key=order, reverse=True)


def _pypi_candidates(spec: str, versions: Iterable[str]) -> list[str]:
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier as e:
        raise Unresolvable(f"`{spec}` is not a valid version specifier") from e
    parsed: list[tuple[Version, str]] = []
    for version in versions:
        try:
            parsed.append((Version(version), version))
        except ValueError:  # not a gap: not a version pip would pick (or 4,300+ digits)
            continue
    parsed.sort(reverse=True)
    finals = [raw for v, raw in parsed if specifier.contains(v, prereleases=False)]
    if finals:
        return finals
    # pip's rule: prereleases only when no final release matches.
    return [raw for v, raw in parsed if specifier.contains(v, prereleases=True)]
