"""Dependency rules: new dependencies, specs that bypass the registry, and what the pipeline
learnt by resolving and scanning each new dependency (`ReleaseContext.dependencies`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

from packaging.utils import canonicalize_name

from watcher.artifacts.manifest import NPM_DEPENDENCY_FIELDS
from watcher.deps.resolve import is_non_registry, npm_package
from watcher.models import ArtifactKind, DependencyChange, DependencyScan, Ecosystem, Severity
from watcher.rules.registry import ArtifactContext, Hit, ReleaseContext, artifact_rule, release_rule
from watcher.rules.text import excerpt, json_key_line

#: A TOML table header (`[project]`), and the `dependencies = [` key that opens the array.
TOML_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")
PYPROJECT_DEPENDENCIES = re.compile(r"^\s*dependencies\s*=\s*\[")


def _name_pattern(name: str) -> str:
    """Regex for a PyPI name in any spelling PEP 503 treats as equal (`Foo_Bar` == `foo-bar`).

    The name is normalised and its parts escaped one by one: escaping first and then replacing
    `-` would also rewrite the `\\-` that `re.escape` produced. Not followed by another name
    character, so `requests` does not match `requests-extras`. Use case-insensitively.
    """
    parts = canonicalize_name(name).split("-")
    return "[-_.]+".join(re.escape(p) for p in parts) + r"(?![-\w.])"


def _pyproject_dependency_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """The lines of `[project] dependencies = [...]`, with 1-based numbers."""
    table = None
    depth = 0
    for number, text in enumerate(lines, start=1):
        header = TOML_TABLE.match(text)
        if depth == 0 and header:
            table = header.group(1).strip()
            continue
        if depth == 0 and not (table == "project" and PYPROJECT_DEPENDENCIES.match(text)):
            continue
        yield number, text
        # Brackets inside strings (`foo[extra]`) balance out; a quoted lone bracket is rare.
        depth += text.count("[") - text.count("]")
        if depth <= 0:
            depth = 0


def _pypi_candidates(ctx: ArtifactContext, name: str) -> Iterator[tuple[str, int, str]]:
    """Lines that may declare `name`, most specific first.

    Requirement lines (`Requires-Dist:`, the pyproject `dependencies` array) come before any
    line that merely mentions the name (`Name: requests-extras` for a new `requests`).
    """
    files = ctx.diff.new.files
    metadata = [p for p in files if p.endswith(".dist-info/METADATA")]
    pattern = _name_pattern(name)
    requires = re.compile(rf"(?i)^Requires-Dist:\s*{pattern}")
    for path in ("PKG-INFO", *metadata):
        if path in files:
            for number, text in enumerate(files[path].text.splitlines(), start=1):
                if requires.match(text):
                    yield path, number, text
    if "pyproject.toml" in files:
        quoted = re.compile(rf"""(?i)["']\s*{pattern}""")
        lines = files["pyproject.toml"].text.splitlines()
        for number, text in _pyproject_dependency_lines(lines):
            if quoted.search(text):
                yield "pyproject.toml", number, text
    anywhere = re.compile(rf"(?i)(?<![-\w.]){pattern}")
    for path in ("PKG-INFO", "pyproject.toml"):
        if path in files:
            for number, text in enumerate(files[path].text.splitlines(), start=1):
                if anywhere.search(text):
                    yield path, number, text


def _locate(ctx: ArtifactContext, name: str) -> tuple[str | None, int | None, str | None]:
    """Where a dependency is declared in the new artifact, for the reviewer."""
    if ctx.diff.kind is ArtifactKind.NPM_TARBALL:
        entry = ctx.diff.new.files.get("package.json")
        if entry is None:
            return None, None, None
        # Only the installed sections: a devDependency of the same name is another entry.
        # Last section first, as the manifest's merge lets the last one win.
        line = next(
            (
                n
                for section in reversed(NPM_DEPENDENCY_FIELDS)
                if (n := json_key_line(entry.text, name, after=section)) is not None
            ),
            None,
        )
        evidence = excerpt(entry.text.splitlines()[line - 1]) if line else None
        return "package.json", line, evidence
    found = next(_pypi_candidates(ctx, name), None)
    if found is not None:
        path, number, text = found
        return path, number, excerpt(text)
    metadata = next((p for p in ctx.diff.new.files if p.endswith(".dist-info/METADATA")), None)
    return metadata, None, None


@artifact_rule(
    id="manifest.dependency-added",
    summary="A dependency was added (its code now runs too: the event-stream pattern)",
    severity=Severity.LOW,
    category="dependency",
)
def dependency_added(ctx: ArtifactContext) -> Iterator[Hit]:
    """Each new direct dependency; on a first release every dependency is simply there."""
    if ctx.is_first_release:
        return
    old = ctx.diff.old_manifest.dependencies if ctx.diff.old_manifest else {}
    for name, spec in ctx.diff.new_manifest.dependencies.items():
        if name in old:
            if _repointed(ctx, name, old[name], spec):
                path, line, evidence = _locate(ctx, name)
                yield Hit(
                    f"dependency `{name}` now installs another package: `{spec}` "
                    f"(was `{old[name]}`)",
                    path=path,
                    line=line,
                    evidence=evidence,
                )
            continue
        path, line, evidence = _locate(ctx, name)
        yield Hit(
            f"new dependency `{name}` {spec}".rstrip(), path=path, line=line, evidence=evidence
        )


def _repointed(ctx: ArtifactContext, name: str, old: str, new: str) -> bool:
    """An npm dependency kept by name but aliased to another package (`npm:other@^1`).

    `require(name)` now loads another package's code: as new as a new dependency.
    """
    if ctx.ecosystem is not Ecosystem.NPM or any(
        is_non_registry(ctx.ecosystem, spec) for spec in (old, new)
    ):
        return False
    return npm_package(name, old) != npm_package(name, new)


@artifact_rule(
    id="manifest.dependency-url",
    summary="A dependency is fetched from git, a URL or a tarball instead of the registry",
    severity=Severity.HIGH,
    category="dependency",
)
def dependency_url(ctx: ArtifactContext) -> Iterator[Hit]:
    """Dependency specs that skip the registry (and its integrity hashes)."""
    old = ctx.diff.old_manifest.dependencies if ctx.diff.old_manifest else {}
    for name, spec in ctx.diff.new_manifest.dependencies.items():
        if not is_non_registry(ctx.ecosystem, spec) or old.get(name) == spec:
            continue
        path, line, evidence = _locate(ctx, name)
        yield Hit(
            f"dependency `{name}` now comes from `{spec}`, outside the registry",
            path=path,
            line=line,
            evidence=evidence,
        )


#: A dependency (or its resolved version) published this close to the release is "fresh":
#: flatmap-stream was days old when event-stream took it in, plain-crypto-js hours old for axios.
FRESH_WINDOW = timedelta(days=30)


def _age(delta: timedelta) -> str:
    if delta < timedelta(days=1):
        return "less than a day"
    days = delta.days
    return f"{days} day{'s' if days != 1 else ''}"


@release_rule(
    id="manifest.dependency-fresh",
    summary="A new dependency (or the version it resolves to) was published only days before",
    severity=Severity.MEDIUM,
    category="dependency",
)
def dependency_fresh(ctx: ReleaseContext) -> Iterator[Hit]:
    """New dependencies first published within `FRESH_WINDOW` of the release that adds them."""
    released = ctx.new_release.published_at if ctx.new_release is not None else None
    if released is None:
        return
    for dep in ctx.dependencies:
        if dep.version is None or dep.change is DependencyChange.BUNDLED:
            continue
        if dep.change is DependencyChange.CHANGED:
            yield from _changed_fresh(dep, released)
            continue
        created = dep.first_published
        if created is not None and released - created <= FRESH_WINDOW:
            sibling = is_sibling(ctx.name, dep.name)
            yield Hit(
                f"new dependency `{dep.name}` is a brand-new package: first published "
                f"{_when(released - created)} this release"
                + (" (a sibling package of the same project, e.g. a platform binary)" * sibling),
                evidence=f"{dep.label} first published {created.isoformat()}",
                severity=Severity.LOW if sibling else Severity.HIGH,
            )
        elif dep.published_at is not None and released - dep.published_at <= FRESH_WINDOW:
            yield Hit(
                f"new dependency `{dep.name}` resolves to {dep.version}, published "
                f"{_when(released - dep.published_at)} this release",
                evidence=f"{dep.label} published {dep.published_at.isoformat()}",
            )


def _changed_fresh(dep: DependencyScan, released: datetime) -> Iterator[Hit]:
    """A re-pinned dependency now resolving to a days-old release: LOW, for the reviewer.

    Bumping a dependency to its newest release is what honest releases do every time; what
    changed in it is judged by its diff, carried `via` the dependency.
    """
    if dep.published_at is None or dep.old_version == dep.version:
        return
    # Either side of the release: a version published long after it is what today's
    # registry resolves the range to, not something the release's author chose.
    if abs(released - dep.published_at) <= FRESH_WINDOW:
        yield Hit(
            f"dependency `{dep.name}` now resolves to {dep.version}"
            + (f" (was {dep.old_version})" if dep.old_version else "")
            + f", published {_when(released - dep.published_at)} this release",
            evidence=f"{dep.label} published {dep.published_at.isoformat()}",
            severity=Severity.LOW,
        )


def is_sibling(parent: str, dependency: str) -> bool:
    """Whether a dependency is named as part of the parent's own project.

    esbuild publishes `@esbuild/linux-x64`, `@vscode/ripgrep` `@vscode/ripgrep-linux-x64`,
    `@swc/core` `@swc/core-linux-x64-gnu`: new platform packages appear with a release. A
    scope is owned by its organisation, so a package named after the parent in its scope (or
    in the scope named after it) comes from the same hands. An unscoped `parent-x` could be
    anyone's; another package of the scope is another project, whose newness is news.
    Its code is still scanned; only its newness is no news.
    """
    parent, dependency = parent.lower(), dependency.lower()
    if parent.startswith("@"):
        scope, _, base = parent.partition("/")
        return dependency.startswith(f"{scope}/{base}-")
    return dependency.startswith(f"@{parent}/")


def _when(delta: timedelta) -> str:
    if delta < timedelta(0):
        return f"{_age(-delta)} after"
    return f"{_age(delta)} before"


@release_rule(
    id="manifest.dependency-unscanned",
    summary="A new dependency could not be resolved or fetched, so its code was not scanned",
    severity=Severity.LOW,
    category="dependency",
)
def dependency_unscanned(ctx: ReleaseContext) -> Iterator[Hit]:
    """New registry dependencies the pipeline could not scan, and why."""
    for dep in ctx.dependencies:
        if dep.error is not None:
            yield Hit(
                f"{_KIND[dep.change]} dependency `{dep.name}` was not scanned: {dep.error}",
                evidence=dep.label,
            )


_KIND = {
    DependencyChange.ADDED: "new",
    DependencyChange.CHANGED: "changed",
    DependencyChange.REPOINTED: "re-pointed",
    DependencyChange.BUNDLED: "bundled",
}
