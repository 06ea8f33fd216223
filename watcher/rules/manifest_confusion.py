"""npm manifest confusion: the registry's copy of a manifest is not the tarball's package.json.

npm (>= 7) installs the dependencies the packument lists and decides from its
`hasInstallScript` whether to run scripts, while the scripts themselves, and everything a
reviewer or a scanner reads in the tarball, come from the tarball's package.json. A release
whose two manifests disagree shows reviewers one package and installs another (Darcy Clarke's
2023 write-up; the npm CLI treats it as the publisher's doing, not a bug).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from watcher.models import ArtifactKind, Declared, Ecosystem, Manifest, Severity
from watcher.rules.registry import Hit, ReleaseContext, release_rule

INSTALL_HOOKS = ("preinstall", "install", "postinstall")


@release_rule(
    id="npm.manifest-confusion",
    summary="The registry's metadata and the tarball's package.json disagree on dependencies "
    "or install scripts (npm installs the registry's dependencies)",
    severity=Severity.HIGH,
    category="manifest",
    ecosystems=frozenset({Ecosystem.NPM}),
)
def manifest_confusion(ctx: ReleaseContext) -> Iterator[Hit]:
    """Disagreements the new release has and the pinned one did not."""
    new = _tarball_manifest(ctx, old=False)
    if ctx.new_release is None or ctx.new_release.declared is None or new is None:
        return
    before: set[tuple[str, str]] = set()
    old = _tarball_manifest(ctx, old=True)
    if ctx.old_release is not None and ctx.old_release.declared is not None and old is not None:
        before = {key for key, _ in _disagreements(ctx.old_release.declared, old)}
    for key, hit in _disagreements(ctx.new_release.declared, new):
        if key not in before:
            yield hit


def _tarball_manifest(ctx: ReleaseContext, *, old: bool) -> Manifest | None:
    for diff in ctx.artifacts:
        if diff.kind is ArtifactKind.NPM_TARBALL:
            return diff.old_manifest if old else diff.new_manifest
    return None


def _disagreements(declared: Declared, tarball: Manifest) -> Iterator[tuple[tuple[str, str], Hit]]:
    if declared.dependencies is not None:
        for name in sorted(declared.dependencies.keys() | tarball.dependencies.keys()):
            registry, local = declared.dependencies.get(name), tarball.dependencies.get(name)
            if registry != local:
                yield (
                    ("dependency", name),
                    Hit(
                        f"the registry lists dependency `{name}` as {_shown(registry)} but the "
                        f"tarball's package.json has {_shown(local)}: npm installs the registry's",
                        path="package.json",
                        evidence=f"registry: {name}@{registry or '-'}; tarball: {name}@{local or '-'}",
                        subject=name,
                    ),
                )
    hooks = {h: tarball.scripts[h] for h in INSTALL_HOOKS if h in tarball.scripts}
    if declared.scripts is not None:
        for hook in INSTALL_HOOKS:
            registry, local = declared.scripts.get(hook), hooks.get(hook)
            if registry != local:
                yield (
                    ("script", hook),
                    Hit(
                        f"the registry shows `{hook}` as {_shown(registry)} but the tarball's "
                        f"package.json has {_shown(local)}",
                        path="package.json",
                        evidence=f"registry: {registry or '-'}; tarball: {local or '-'}",
                    ),
                )
    if declared.has_install_script is False and hooks:
        yield (
            ("hasInstallScript", "false"),
            Hit(
                "the registry says the release has no install script, but its package.json has "
                f"`{', '.join(hooks)}`: tools that trust the registry miss it, and npm 6 runs it",
                path="package.json",
                evidence="; ".join(f"{k}: {v}" for k, v in hooks.items()),
            ),
        )
    elif declared.has_install_script and not hooks and not tarball.has_binding_gyp:
        yield (
            ("hasInstallScript", "true"),
            Hit(
                "the registry says the release has an install script, but its package.json has "
                "none and no binding.gyp",
                path="package.json",
                evidence="hasInstallScript: true",
                severity=Severity.LOW,
            ),
        )


def _shown(spec: str | None) -> str:
    return f"`{spec}`" if spec is not None else "absent"


def declared_from(raw: Mapping[str, object]) -> Declared:
    """A `Declared` from a plain mapping (fixtures and recorded packuments)."""
    scripts, dependencies = raw.get("scripts"), raw.get("dependencies")
    flag = raw.get("has_install_script")
    return Declared(
        scripts=dict(scripts) if isinstance(scripts, Mapping) else None,
        dependencies=dict(dependencies) if isinstance(dependencies, Mapping) else None,
        has_install_script=flag if isinstance(flag, bool) else None,
    )
