"""Name-based rules: typosquats of popular MCP servers, and internal names claimed publicly.

Typosquat: a name one edit (Damerau–Levenshtein) away from a popular MCP package, or the same
words with the scope or separators swapped (`@modelcontextprotocol/server-filesytem`,
`mcp-server_github`, `modelcontextprotocol-server-github`). Checked for the package itself and
for dependencies a release adds (a one-letter slip in a manifest installs the impostor).

Dependency confusion (Birsan, 2021): a package served by a private registry whose name also
exists on the public one. A resolver that sees both (pip's `--extra-index-url`, a misscoped
`.npmrc`) takes the highest version wherever it lives.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from watcher.models import Ecosystem, Severity
from watcher.rules.registry import Hit, ReleaseContext, release_rule
from watcher.rules.release_history import version_lower

#: The watch list's names (subscriptions/mcp-servers.toml) and the SDKs they are built on.
POPULAR: dict[Ecosystem, frozenset[str]] = {
    Ecosystem.NPM: frozenset(
        {
            "@modelcontextprotocol/sdk",
            "@modelcontextprotocol/inspector",
            "@modelcontextprotocol/server-filesystem",
            "@modelcontextprotocol/server-memory",
            "@modelcontextprotocol/server-sequential-thinking",
            "@modelcontextprotocol/server-everything",
            "@modelcontextprotocol/server-github",
            "@modelcontextprotocol/server-puppeteer",
            "@modelcontextprotocol/server-brave-search",
            "@modelcontextprotocol/server-slack",
            "@modelcontextprotocol/server-postgres",
            "@playwright/mcp",
            "@upstash/context7-mcp",
            "firecrawl-mcp",
            "@notionhq/notion-mcp-server",
            "@supabase/mcp-server-supabase",
            "@browsermcp/mcp",
            "mcp-remote",
            "@executeautomation/playwright-mcp-server",
            "@wonderwhy-er/desktop-commander",
            "@21st-dev/magic",
            "figma-developer-mcp",
            "tavily-mcp",
            "exa-mcp-server",
        }
    ),
    Ecosystem.PYPI: frozenset(
        {
            "mcp",
            "fastmcp",
            "mcp-server-fetch",
            "mcp-server-git",
            "mcp-server-time",
            "mcp-server-sqlite",
            "awslabs.aws-documentation-mcp-server",
            "awslabs.aws-api-mcp-server",
            "mcp-atlassian",
            "serena-agent",
        }
    ),
}
#: Shorter names are one edit from too much (`mcp` → `mcpx`, `acp`, `mc`): no edit check.
MIN_EDIT_LENGTH = 6
#: A scope swap only counts when the unscoped part is distinctive (`@x/mcp` is everywhere).
MIN_SCOPE_SWAP_LENGTH = 8


def within_one_edit(a: str, b: str) -> bool:
    """Whether two different strings are one insertion, deletion, substitution or adjacent
    transposition apart (Damerau–Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    prefix = 0
    while prefix < len(a) and a[prefix] == b[prefix]:
        prefix += 1
    if len(a) < len(b):  # one insertion into `a`
        return a[prefix:] == b[prefix + 1 :]
    if a[prefix + 1 :] == b[prefix + 1 :]:  # one substitution
        return True
    return (  # one adjacent transposition
        prefix + 1 < len(a)
        and a[prefix] == b[prefix + 1]
        and a[prefix + 1] == b[prefix]
        and a[prefix + 2 :] == b[prefix + 2 :]
    )


def _pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(name: str) -> tuple[str | None, str]:
    if name.startswith("@") and "/" in name:
        scope, _, rest = name[1:].partition("/")
        return scope, rest
    return None, name


def lookalike(name: str, ecosystem: Ecosystem) -> tuple[str, str] | None:
    """(popular name, how they differ) when `name` imitates one, else None."""
    popular = POPULAR[ecosystem]
    if ecosystem is Ecosystem.PYPI:
        # PyPI treats `-`, `_` and `.` alike (PEP 503): those spellings are the same project.
        normal = _pep503(name)
        if normal in {_pep503(p) for p in popular}:
            return None
        for target in sorted(popular):
            if len(target) >= MIN_EDIT_LENGTH and within_one_edit(normal, _pep503(target)):
                return target, "one edit away"
        return None
    lowered = name.lower()
    if lowered in popular:
        return None
    scope, rest = _split(lowered)
    for target in sorted(popular):
        t_scope, t_rest = _split(target)
        if len(target) >= MIN_EDIT_LENGTH and within_one_edit(lowered, target):
            return target, "one edit away"
        if re.sub(r"[-_.]", "", lowered) == re.sub(r"[-_.]", "", target):
            return target, "the same words with different separators"
        bare = re.sub(r"[-_.]", "", rest)
        if t_scope is not None and len(t_rest) >= MIN_SCOPE_SWAP_LENGTH and scope is None:
            respelled = {re.sub(r"[-_.]", "", p + t_rest) for p in (t_scope, "mcp")}
            if bare in respelled:
                return target, "the scoped name re-spelled without its scope"
        if t_scope is not None and len(t_rest) >= MIN_SCOPE_SWAP_LENGTH and rest == t_rest:
            return target, "the same name under another scope" if scope else "the scope dropped"
        if t_scope is not None and scope is not None and rest == t_rest:
            if within_one_edit(scope, t_scope):
                return target, "a scope one edit away"
    return None


def _added_dependencies(ctx: ReleaseContext) -> Iterable[str]:
    seen: set[str] = set()
    for diff in ctx.artifacts:
        before = diff.old_manifest.dependencies if diff.old_manifest else {}
        for dependency in diff.new_manifest.dependencies:
            if dependency not in before and dependency not in seen:
                seen.add(dependency)
                yield dependency


@release_rule(
    id="meta.typosquat",
    summary="The package or a new dependency is named one edit away from a popular MCP package",
    severity=Severity.HIGH,
    category="name",
)
def typosquat(ctx: ReleaseContext) -> Iterator[Hit]:
    """Names imitating a popular MCP server (edit distance 1, scope or separator confusion)."""
    own = lookalike(ctx.name, ctx.ecosystem)
    if own is not None:
        target, how = own
        reviewed = ctx.old_version is not None
        yield Hit(
            f"`{ctx.name}` looks like the popular `{target}` ({how})"
            + (": the name was already this when the old release was reviewed" if reviewed else ""),
            evidence=f"name: {ctx.name} ~ {target}",
            weaker=reviewed,
        )
    for dependency in _added_dependencies(ctx):
        found = lookalike(dependency, ctx.ecosystem)
        if found is not None:
            target, how = found
            yield Hit(
                f"new dependency `{dependency}` looks like the popular `{target}` ({how})",
                path="package.json" if ctx.ecosystem is Ecosystem.NPM else None,
                evidence=f"dependency: {dependency} ~ {target}",
            )


def _highest(versions: Iterable[str]) -> str:
    def compare(a: str, b: str) -> int:
        return -1 if version_lower(a, b) else (1 if version_lower(b, a) else 0)

    return max(versions, key=functools.cmp_to_key(compare))


@release_rule(
    id="meta.dependency-confusion",
    summary="A package from a private registry also exists on the public one (dependency "
    "confusion)",
    severity=Severity.HIGH,
    category="confusion",
)
def dependency_confusion(ctx: ReleaseContext) -> Iterator[Hit]:
    """The public registry lists this private package's name with versions of its own."""
    public = ctx.public_package
    if public is None or not public.versions:
        return
    private = set(ctx.package.versions) if ctx.package is not None else set()
    private |= {v for v in (ctx.old_version, ctx.new_version) if v}
    public_only = [v for v in public.versions if v not in private]
    # The same versions on both sides: a private mirror of the public package, not a rival.
    if not public_only:
        return
    top_private, top_public = _highest(private), _highest(public_only)
    registry = "npm" if ctx.ecosystem is Ecosystem.NPM else "PyPI"
    evidence = f"public {registry}: {ctx.name} {top_public}; private registry: {top_private}"
    if version_lower(top_private, top_public):
        yield Hit(
            f"`{ctx.name}` also exists on public {registry}, at {top_public}: higher than the "
            f"private registry's {top_private}, so a resolver that sees both installs the "
            "public one",
            evidence=evidence,
        )
    else:
        yield Hit(
            f"`{ctx.name}` also exists on public {registry} ({len(public_only)} version(s) the "
            f"private registry does not have, up to {top_public}); anyone can outbid it",
            evidence=evidence,
            severity=Severity.MEDIUM,
        )
