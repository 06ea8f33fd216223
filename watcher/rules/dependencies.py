"""Dependency rules: new dependencies, and specs that bypass the registry."""

from __future__ import annotations

import re
from collections.abc import Iterator

from watcher.models import ArtifactKind, Ecosystem, Severity
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, json_key_line

#: npm specs that fetch code from outside the registry, where no integrity hash or
#: registry-side malware scan applies: git, URLs, tarballs, GitHub shorthand, local paths.
NPM_NON_REGISTRY = re.compile(
    r"^(git(\+[a-z]+)?:|https?:|file:|link:|github:|gitlab:|bitbucket:|gist:"
    r"|[\w.-]+/[\w.-]+(#.*)?$)",
    re.IGNORECASE,
)


def _is_non_registry(ecosystem: Ecosystem, spec: str) -> bool:
    if ecosystem is Ecosystem.NPM:
        return bool(NPM_NON_REGISTRY.match(spec.strip())) and not spec.startswith("npm:")
    return spec.startswith("@ ")


def _locate(ctx: ArtifactContext, name: str) -> tuple[str | None, int | None, str | None]:
    """Where a dependency is declared in the new artifact, for the reviewer."""
    if ctx.diff.kind is ArtifactKind.NPM_TARBALL:
        entry = ctx.diff.new.files.get("package.json")
        if entry is None:
            return None, None, None
        line = json_key_line(entry.text, name)
        evidence = excerpt(entry.text.splitlines()[line - 1]) if line else None
        return "package.json", line, evidence
    for path in ("PKG-INFO", "pyproject.toml"):
        entry = ctx.diff.new.files.get(path)
        if entry is None:
            continue
        for number, text in enumerate(entry.text.splitlines(), start=1):
            if re.search(rf"(?i)\b{re.escape(name).replace('-', '[-_.]')}\b", text):
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
            continue
        path, line, evidence = _locate(ctx, name)
        yield Hit(
            f"new dependency `{name}` {spec}".rstrip(), path=path, line=line, evidence=evidence
        )


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
        if not _is_non_registry(ctx.ecosystem, spec) or old.get(name) == spec:
            continue
        path, line, evidence = _locate(ctx, name)
        yield Hit(
            f"dependency `{name}` now comes from `{spec}`, outside the registry",
            path=path,
            line=line,
            evidence=evidence,
        )
