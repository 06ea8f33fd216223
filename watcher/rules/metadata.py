"""Registry-metadata rules: who published, with what provenance, under which version and repo.

Every rule here treats a missing field as unknown: mirrors strip `maintainers`, `_npmUser`
and attestations, and "we were not told" must never read as "it changed".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from watcher.models import Provenance, Release, Severity
from watcher.rules.registry import Hit, ReleaseContext, release_rule

#: A jump to a major this high is the dependency-confusion shape (an attacker outbidding an
#: internal package's version: Birsan 2021).
CONFUSION_MAJOR = 90
#: Majors from this year on may be calendar versions (YYYY.MM.DD), up to next year.
CALVER_MIN_YEAR = 1990
SIZE_JUMP_FACTOR = 3.0
#: Growth smaller than this is ordinary (a changelog, a new module), whatever the factor.
SIZE_JUMP_MIN_BYTES = 512 * 1024

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def major_of(version: str) -> int | None:
    """Leading numeric component of an npm or PyPI version, or None if there is none."""
    match = _VERSION.match(version)
    return int(match.group(1)) if match else None


def version_key(version: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) for ordering versions of either ecosystem, ignoring suffixes."""
    match = _VERSION.match(version)
    if not match:
        return None
    return tuple(int(g or 0) for g in match.groups())  # type: ignore[return-value]


def _both(ctx: ReleaseContext) -> tuple[Release, Release] | None:
    if ctx.old_release is None or ctx.new_release is None:
        return None
    return ctx.old_release, ctx.new_release


@release_rule(
    id="meta.publisher-changed",
    summary="A different account published this release, or trusted publishing was abandoned",
    severity=Severity.MEDIUM,
    category="publisher",
)
def publisher_changed(ctx: ReleaseContext) -> Iterator[Hit]:
    """The account-takeover signature: a new hand on the publish button."""
    pair = _both(ctx)
    if pair is None or pair[0].publisher is None or pair[1].publisher is None:
        return
    old, new = pair[0].publisher, pair[1].publisher
    if old.trusted_publisher and not new.trusted_publisher:
        yield Hit(
            f"published by `{new.name or 'unknown'}` with a token; {ctx.old_version} came from "
            f"trusted publishing ({old.trusted_publisher} OIDC)",
            evidence=f"_npmUser: {new.name} <{new.email or ''}>",
            severity=Severity.HIGH,
        )
    # Trusted publishing on the new side (kept, or adopted after token uploads) names a CI
    # identity ("GitHub Actions"), not a person: a new name there is no new hand.
    elif not new.trusted_publisher and old.name != new.name:
        yield Hit(
            f"published by `{new.name}`; {ctx.old_version} was published by `{old.name}`",
            evidence=f"publisher: {old.name} → {new.name}",
        )


@release_rule(
    id="meta.maintainers-changed",
    summary="Accounts were added to the package's maintainers",
    severity=Severity.MEDIUM,
    category="publisher",
)
def maintainers_changed(ctx: ReleaseContext) -> Iterator[Hit]:
    """New maintainers can publish; removed ones are a weaker hint of a hand-over."""
    pair = _both(ctx)
    if pair is None or pair[0].maintainers is None or pair[1].maintainers is None:
        return
    added = sorted(pair[1].maintainers - pair[0].maintainers)
    removed = sorted(pair[0].maintainers - pair[1].maintainers)
    if added:
        yield Hit(
            f"maintainers added: {', '.join(added)}"
            + (f"; removed: {', '.join(removed)}" if removed else ""),
            evidence="maintainers: " + ", ".join(sorted(pair[1].maintainers)),
        )
    elif removed:
        yield Hit(
            f"maintainers removed: {', '.join(removed)}",
            severity=Severity.LOW,
            evidence="maintainers: " + ", ".join(sorted(pair[1].maintainers)),
        )


@release_rule(
    id="meta.provenance-dropped",
    summary="The previous release had build provenance and this one has none",
    severity=Severity.HIGH,
    category="provenance",
)
def provenance_dropped(ctx: ReleaseContext) -> Iterator[Hit]:
    """A release built outside the usual CI (stolen token) loses its provenance attestation."""
    pair = _both(ctx)
    if (
        pair
        and pair[0].provenance is Provenance.PRESENT
        and (pair[1].provenance is Provenance.ABSENT)
    ):
        yield Hit(
            f"{ctx.new_version} has no provenance attestation; {ctx.old_version} had one",
            evidence="dist.attestations: absent",
        )


def _calver_limit(ctx: ReleaseContext) -> int:
    """The highest major that can be a year: the release's year (or this one), plus one."""
    published = ctx.new_release.published_at if ctx.new_release else None
    return (published or datetime.now(UTC)).year + 1


def is_calver(major: int, limit: int) -> bool:
    """A major that is a plausible year (certifi 2024.2.2, dask 2021.1.0): a scheme, not a jump.

    Bounded above, so 9000.0.0 (the dependency-confusion favourite) is still no year.
    """
    return CALVER_MIN_YEAR <= major <= limit


@release_rule(
    id="meta.version-jump",
    summary="The version jumped several majors (e.g. 1.2.3 → 99.0.0, dependency confusion)",
    severity=Severity.MEDIUM,
    category="version",
)
def version_jump(ctx: ReleaseContext) -> Iterator[Hit]:
    """Huge version jumps: how a public package outranks a private one of the same name."""
    new_major = major_of(ctx.new_version)
    if new_major is None:
        return
    limit = _calver_limit(ctx)
    if ctx.old_version is None:
        if new_major < CONFUSION_MAJOR or is_calver(new_major, limit):
            return
        if ctx.package is None:
            # A local file: the registry's history is unknown, not empty.
            yield Hit(
                f"first seen at {ctx.new_version} (no registry history to compare with)",
                evidence=f"version: {ctx.new_version}",
            )
            return
        others = [major_of(v) for v in ctx.package.versions]
        near = [m for m in others if m is not None and abs(m - new_major) < 10]
        if len(near) <= 1:
            yield Hit(
                f"first seen at {ctx.new_version}: a major this high with no history is "
                "the dependency-confusion shape",
                severity=Severity.HIGH,
                evidence=f"version: {ctx.new_version}",
            )
        return
    old_major = major_of(ctx.old_version)
    if old_major is None:
        return
    delta = new_major - old_major
    evidence = f"version: {ctx.old_version} → {ctx.new_version}"
    if is_calver(new_major, limit):
        # Year to year is the scheme working; a move to years (dask 2.30 → 2020.12.0) is a
        # scheme change worth a look, not the confusion shape.
        if not is_calver(old_major, limit):
            yield Hit(
                f"version moved to calendar versioning, {ctx.old_version} → {ctx.new_version}",
                evidence=evidence,
            )
    elif new_major >= CONFUSION_MAJOR and delta >= 10:
        yield Hit(
            f"version jumped from {ctx.old_version} to {ctx.new_version}",
            severity=Severity.HIGH,
            evidence=evidence,
        )
    elif delta >= 2 and old_major >= 1:
        yield Hit(
            f"version jumped {delta} majors, {ctx.old_version} → {ctx.new_version}",
            evidence=evidence,
        )


#: npm's repository shorthand prefixes and the hosts they stand for.
SHORTHAND_HOSTS = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org"}
#: `owner/repo` (optionally `#ref`) with no host: npm reads it as a GitHub repository.
NPM_BARE_SHORTHAND = re.compile(r"^[\w.-]+/[\w.-]+(#.*)?$")


def _normalise_repo(url: str | None) -> str | None:
    """One spelling per repository: host/owner/repo, lower-case, without scheme or `.git`."""
    if not url:
        return None
    url = url.strip().lower()
    # npm shorthands: bare `owner/repo` (GitHub), and `github:`/`gitlab:`/`bitbucket:` prefixes.
    # Checked before the scheme is stripped, so `https://host/owner` is not taken for one.
    if NPM_BARE_SHORTHAND.match(url):
        url = f"github.com/{url}"
    url = re.sub(r"^(github|gitlab|bitbucket):", lambda m: SHORTHAND_HOSTS[m.group(1)] + "/", url)
    url = re.sub(r"^(git\+)?(https?|ssh|git)://(git@)?", "", url)
    url = re.sub(r"^git@([^:]+):", r"\1/", url)
    return re.sub(r"(\.git)?/?(#.*)?$", "", url) or None


def _repository(ctx: ReleaseContext, new: bool) -> str | None:
    release = ctx.new_release if new else ctx.old_release
    if release is not None and release.repository:
        return release.repository
    for diff in ctx.artifacts:
        manifest = diff.new_manifest if new else diff.old_manifest
        if manifest is not None and manifest.repository:
            return manifest.repository
    return None


@release_rule(
    id="meta.repository-changed",
    summary="The declared source repository changed",
    severity=Severity.MEDIUM,
    category="publisher",
)
def repository_changed(ctx: ReleaseContext) -> Iterator[Hit]:
    """A package that now points elsewhere may have been handed over or hijacked."""
    if ctx.old_version is None:
        return
    old, new = _repository(ctx, new=False), _repository(ctx, new=True)
    before, after = _normalise_repo(old), _normalise_repo(new)
    if old and new and before != after:
        # Same host and owner: a rename or a move into the org's monorepo (pydantic-core into
        # pydantic/pydantic). A hijacker points at an account of their own.
        same_owner = (before or "").split("/")[:2] == (after or "").split("/")[:2]
        yield Hit(
            f"repository changed from {old} to {new}"
            + (" (same owner: a rename or a move)" if same_owner else ""),
            evidence=f"repository: {new}",
            severity=Severity.LOW if same_owner else None,
        )


@release_rule(
    id="meta.size-jump",
    summary="The unpacked size grew several times over",
    severity=Severity.LOW,
    category="size",
)
def size_jump(ctx: ReleaseContext) -> Iterator[Hit]:
    """A sudden bulk (a bundled binary, an obfuscated blob) is worth a look."""
    for diff in ctx.artifacts:
        if diff.old is None:
            continue
        before = sum(e.size for e in diff.old.files.values())
        after = sum(e.size for e in diff.new.files.values())
        if after - before >= SIZE_JUMP_MIN_BYTES and after >= before * SIZE_JUMP_FACTOR:
            yield Hit(
                f"{diff.label}: unpacked size grew from {before:,} to {after:,} bytes",
                evidence=f"{before:,} B → {after:,} B",
            )
