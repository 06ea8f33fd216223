"""Resolution: which version an install of a dependency spec would pick (npm and pip rules)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.deps.mock_registries import MockNpm
from tests.support.packages import NpmRelease
from watcher.artifacts.manifest import parse_manifest
from watcher.deps.resolve import (
    Unresolvable,
    added_dependencies,
    candidates,
    is_non_registry,
    resolve_version,
)
from watcher.models import ArtifactKind, Ecosystem, FileEntry, PackageInfo, Snapshot
from watcher.pipeline import artifact_diff

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def npm_package(*versions: str, latest: str | None = None) -> PackageInfo:
    return PackageInfo(
        Ecosystem.NPM,
        "dep",
        {v: T0 + timedelta(days=i) for i, v in enumerate(versions)},
        latest=latest,
    )


def pypi_package(*versions: str) -> PackageInfo:
    return PackageInfo(Ecosystem.PYPI, "dep", dict.fromkeys(versions))


# --------------------------------------------------------------------------- npm


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("^1.0.0", "1.4.0"),
        ("~1.2.0", "1.2.9"),
        ("1.2.3", "1.2.3"),
        (">=1.2.0 <1.3.0", "1.2.9"),
        ("1.x", "1.4.0"),
        ("^2.0.0", "2.1.0"),
    ],
)
def test_npm_ranges_pick_the_highest_satisfying_version(spec: str, expected: str) -> None:
    package = npm_package("1.2.3", "1.2.9", "1.4.0", "2.0.0", "2.1.0", latest="2.1.0")
    assert resolve_version(Ecosystem.NPM, spec, package) == expected


def test_npm_latest_tag_wins_when_it_satisfies_the_range() -> None:
    """npm installs `latest` even when a higher version in range exists (a tag moved back)."""
    package = npm_package("1.0.0", "1.1.0", "1.2.0", latest="1.1.0")
    assert resolve_version(Ecosystem.NPM, "^1.0.0", package) == "1.1.0"
    assert candidates(Ecosystem.NPM, "^1.0.0", package) == ["1.1.0", "1.2.0", "1.0.0"]


def test_npm_star_and_empty_and_latest_mean_the_latest_tag_even_a_prerelease() -> None:
    package = npm_package("1.0.0", "2.0.0-rc.1", latest="2.0.0-rc.1")
    for spec in ("*", "", "latest"):
        assert resolve_version(Ecosystem.NPM, spec, package) == "2.0.0-rc.1"


def test_npm_ranges_skip_prereleases_unless_the_range_names_one() -> None:
    package = npm_package("1.0.0", "1.1.0-beta.1", "1.1.0-beta.2", latest="1.0.0")
    assert resolve_version(Ecosystem.NPM, ">=1.0.0", package) == "1.0.0"
    assert resolve_version(Ecosystem.NPM, "^1.1.0-beta.1", package) == "1.1.0-beta.2"


def test_npm_unknown_dist_tag_and_unsatisfiable_range_are_unresolvable() -> None:
    package = npm_package("1.0.0", latest="1.0.0")
    with pytest.raises(Unresolvable, match="dist-tag"):
        resolve_version(Ecosystem.NPM, "next", package)
    with pytest.raises(Unresolvable, match="satisfies"):
        resolve_version(Ecosystem.NPM, "^3.0.0", package)


def test_npm_invalid_versions_in_the_packument_are_ignored() -> None:
    package = npm_package("1.0.0", "not-a-version", "1.0.1", latest="1.0.1")
    assert resolve_version(Ecosystem.NPM, "^1", package) == "1.0.1"


def test_npm_resolution_through_the_registry_client() -> None:
    """The real client reads versions, `dist-tags.latest` and `time.created` from the packument."""
    npm = MockNpm()
    for i, version in enumerate(("0.9.0", "1.0.0", "1.1.0")):
        npm.publish(NpmRelease({"name": "dep", "version": version}), T0 + timedelta(days=i))
    npm.latest["dep"] = "1.0.0"
    package = npm.sources().registry.package("dep")
    assert package.created == T0
    assert package.versions["1.1.0"] == T0 + timedelta(days=2)
    assert resolve_version(Ecosystem.NPM, "^1.0.0", package) == "1.0.0"
    assert resolve_version(Ecosystem.NPM, ">1.0.0", package) == "1.1.0"


# --------------------------------------------------------------------------- PyPI


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", "2.0"),
        (">=1.0", "2.0"),
        ("<2", "1.5"),
        ("~=1.0", "1.5"),
        ("==1.0.*", "1.0.1"),
        (">2.0", "2.1rc1"),  # only a prerelease matches: pip takes it
    ],
)
def test_pypi_specifiers(spec: str, expected: str) -> None:
    package = pypi_package("1.0", "1.0.1", "1.5", "2.0", "2.1rc1", "junk version")
    assert resolve_version(Ecosystem.PYPI, spec, package) == expected


def test_pypi_unsatisfiable_and_invalid_specifiers_are_unresolvable() -> None:
    package = pypi_package("1.0")
    with pytest.raises(Unresolvable):
        resolve_version(Ecosystem.PYPI, ">=5", package)
    with pytest.raises(Unresolvable, match="not a valid"):
        resolve_version(Ecosystem.PYPI, "=>1", package)


# --------------------------------------------------------------------------- added


def _npm_snapshot(version: str, sections: dict[str, dict[str, str]]) -> Snapshot:
    text = json.dumps({"name": "parent", "version": version, **sections})
    return Snapshot(
        f"parent-{version}.tgz",
        ArtifactKind.NPM_TARBALL,
        {"package.json": FileEntry.of("package.json", text.encode())},
    )


def test_added_npm_dependencies_skip_dev_non_registry_and_existing() -> None:
    old = _npm_snapshot("1.0.0", {"dependencies": {"kept": "^1.0.0"}})
    new = _npm_snapshot(
        "1.0.1",
        {
            "dependencies": {"kept": "^1.1.0", "fresh": "^0.1.0", "alias": "npm:real-pkg@^2"},
            "optionalDependencies": {"opt": "1.0.0"},
            "devDependencies": {"vitest": "^1.0.0"},
        },
    )
    newer = _npm_snapshot(
        "1.0.2",
        {"dependencies": {"gitdep": "github:someone/thing", "url": "https://x.invalid/a.tgz"}},
    )
    added = added_dependencies(Ecosystem.NPM, (artifact_diff(old, new),))
    assert [(a.name, a.package, a.range) for a in added] == [
        ("fresh", "fresh", "^0.1.0"),
        ("alias", "real-pkg", "^2"),
        ("opt", "opt", "1.0.0"),
    ]
    assert added_dependencies(Ecosystem.NPM, (artifact_diff(old, newer),)) == ()
    assert added_dependencies(Ecosystem.NPM, (artifact_diff(None, new),)) == ()


def test_added_pypi_dependencies_skip_extras_but_keep_platform_markers() -> None:
    def sdist(requires: list[str]) -> Snapshot:
        text = "Metadata-Version: 2.1\nName: parent\nVersion: 1\n" + "".join(
            f"Requires-Dist: {r}\n" for r in requires
        )
        return Snapshot(
            "parent-1.tar.gz",
            ArtifactKind.SDIST,
            {"PKG-INFO": FileEntry.of("PKG-INFO", text.encode())},
        )

    old = sdist(["requests>=2"])
    new = sdist(
        [
            "requests>=2",
            "Colour_Helpers>=1.0",
            'pytest; extra == "test"',
            'win-only>=1; sys_platform == "win32"',
            "direct @ https://x.invalid/direct-1.0.tar.gz",
        ]
    )
    assert parse_manifest(new).dependencies  # the manifest parsed
    added = added_dependencies(Ecosystem.PYPI, (artifact_diff(old, new),))
    assert [(a.package, a.range) for a in added] == [
        ("colour-helpers", ">=1.0"),
        ("win-only", ">=1"),
    ]


def test_non_registry_specs() -> None:
    assert is_non_registry(Ecosystem.NPM, "git+https://github.com/a/b.git")
    assert is_non_registry(Ecosystem.NPM, "someone/thing#main")
    assert not is_non_registry(Ecosystem.NPM, "npm:real@^1")
    assert not is_non_registry(Ecosystem.NPM, "^1.0.0")
    assert is_non_registry(Ecosystem.PYPI, "@ https://x.invalid/a.tar.gz")
