"""`watcher subscriptions import`: a subscription file from client configs and manifests.

Each watchable server (a package runner launch) and each MCP dependency of a project becomes
one `[[package]]`, at the version that really runs: the exact pin of the launch or manifest,
else the version a lock file resolved, else the registry's current `latest`. A version taken
from the registry was not pinned anywhere, so nobody reviewed it: it is written with
`reviewed = false`, which makes `watcher check` scan it at once as a first release and fail
until `watcher approve` records the review. Comments name where each entry came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from watcher.errors import RegistryError
from watcher.models import Ecosystem
from watcher.onboard.audit import ServerLaunch
from watcher.onboard.inputs import Inputs
from watcher.onboard.launchers import NotWatchable
from watcher.onboard.manifests import Dependency, Project
from watcher.subscriptions import Subscription, normalize_name, package_problem

#: `latest(ecosystem, name, registry)`: the registry's current latest version.
LatestLookup = Callable[[Ecosystem, str, "str | None"], str]


@dataclass(slots=True)
class Entry:
    """One subscription to write, and every place that asked for it."""

    ecosystem: Ecosystem
    name: str
    version: str
    reviewed: bool
    #: How the version was found (`pinned in the launch`, `resolved in LOCK`, ...).
    how: str
    registry: str | None = None
    origins: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A server or dependency left out, and why."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What the subscription file will say."""

    entries: tuple[Entry, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True, slots=True)
class _Wanted:
    ecosystem: Ecosystem
    name: str
    exact: str | None
    registry: str | None
    origin: str


def _from_servers(servers: Iterable[ServerLaunch], skipped: list[Skipped]) -> list[_Wanted]:
    wanted = []
    for item in servers:
        origin = f"{item.server.file}: {item.server.key}"
        launch = item.launch
        if isinstance(launch, NotWatchable):
            skipped.append(Skipped(origin, launch.reason))
            continue
        wanted.append(
            _Wanted(
                launch.ecosystem,
                launch.package,
                launch.version,
                launch.registry,
                f"{origin} ({launch.shown})",
            )
        )
    return wanted


def _from_projects(projects: Iterable[Project]) -> list[_Wanted]:
    return [
        _Wanted(
            dep.ecosystem,
            dep.name,
            dep.exact,
            None,
            f"{project.manifest}: dependencies.{dep.name} ({dep.spec or 'any version'})",
        )
        for project in projects
        for dep in project.dependencies
        if dep.is_mcp
    ]


def _locked(projects: Iterable[Project]) -> dict[tuple[Ecosystem, str], tuple[str, str]]:
    """Resolved versions by package, with the lock file that holds them."""
    found: dict[tuple[Ecosystem, str], tuple[str, str]] = {}
    for project in projects:
        for dep in project.dependencies:
            if dep.locked is not None:
                where = project.lockfile or project.manifest
                found.setdefault(_key(dep), (dep.locked, where))
    return found


def _key(item: Dependency | _Wanted) -> tuple[Ecosystem, str]:
    return item.ecosystem, normalize_name(item.ecosystem, item.name)


def plan_import(
    inputs: Inputs,
    servers: Iterable[ServerLaunch],
    latest: LatestLookup,
    *,
    registries: dict[Ecosystem, str | None],
    existing: Iterable[Subscription] = (),
) -> ImportPlan:
    """The entries to write for `inputs`; `latest` is asked only for unpinned, unlocked ones.

    `registries` is the registry per ecosystem when the launch names none; packages already
    subscribed in `existing` are left out (a second subscription would be an error).
    """
    skipped: list[Skipped] = []
    wanted = _from_servers(servers, skipped) + _from_projects(inputs.projects)
    locked = _locked(inputs.projects)
    subscribed = {s.key: s.source for s in existing}
    entries: dict[tuple[Ecosystem, str], Entry] = {}
    for want in wanted:
        key = _key(want)
        if key in subscribed:
            skipped.append(Skipped(want.origin, f"already subscribed at {subscribed[key]}"))
            continue
        entry = entries.get(key)
        if entry is not None:
            entry.origins.append(want.origin)
            if want.exact is not None and not entry.reviewed:
                # An exact pin elsewhere beats a version looked up on the registry.
                entry.version, entry.reviewed, entry.how = want.exact, True, "pinned exactly"
            elif want.exact is not None and want.exact != entry.version:
                # Two clients run different releases: one is watched, both are named.
                entry.how += f"; another launch pins {want.exact}"
            continue
        registry = want.registry or registries.get(want.ecosystem)
        # Checked before the registry is asked: a name or URL the loader refuses is left out
        # (with the loader's reason) rather than spoiling the whole file.
        problem = _problem(want.ecosystem, want.name, want.exact or _ANY_VERSION, registry)
        if problem is not None:
            skipped.append(Skipped(want.origin, f"cannot be subscribed: {problem}"))
            continue
        if want.exact is not None:
            version, reviewed, how = want.exact, True, "pinned exactly"
        elif key in locked:
            version, where = locked[key]
            reviewed, how = True, f"resolved in {where}"
        else:
            try:
                version = latest(want.ecosystem, want.name, registry)
            except RegistryError as e:
                skipped.append(Skipped(want.origin, f"registry: {e.diagnostics()}"))
                continue
            reviewed, how = False, "not pinned anywhere: the registry's latest, not reviewed"
        problem = _problem(want.ecosystem, want.name, version, registry)
        if problem is not None:
            skipped.append(Skipped(want.origin, f"cannot be subscribed: {problem}"))
            continue
        entries[key] = Entry(
            want.ecosystem, want.name, version, reviewed, how, registry, [want.origin]
        )
    return ImportPlan(tuple(entries.values()), tuple(skipped))


#: A version every ecosystem accepts, to check a name and registry before the version is known.
_ANY_VERSION = "1.0.0"


def _problem(ecosystem: Ecosystem, name: str, version: str, registry: str | None) -> str | None:
    table: dict[str, object] = {"ecosystem": ecosystem.value, "name": name, "pinned": version}
    if registry:
        table["registry"] = registry
    return package_problem(table)


def _comment(text: str) -> str:
    """`text` safe inside a TOML comment: one line, no control characters."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _string(text: str) -> str:
    """A TOML basic string (names, versions and URLs were validated; this keeps it so)."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif not c.isprintable():
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def render_toml(plan: ImportPlan, files: Iterable[str], warnings: Iterable[str] = ()) -> str:
    """The subscription file: a header naming the files read, one commented entry each, and
    what was left out and why."""
    lines = ["# Written by `watcher subscriptions import` from:"]
    lines += [f"#   {_comment(f)}" for f in files]
    lines += [
        "# Entries with `reviewed = false` were not pinned anywhere: `watcher check` scans them",
        "# at once and fails until `watcher approve NAME VERSION` records a review.",
    ]
    warned = list(warnings)
    if warned:
        lines.append("#")
        lines.append("# What `watcher audit` says about these files:")
        lines += [f"#   {_comment(w)}" for w in warned]
    for entry in plan.entries:
        lines.append("")
        lines.append("[[package]]")
        lines += [f"# from {_comment(o)}" for o in entry.origins]
        lines.append(f"# version: {_comment(entry.how)}")
        lines.append(f"ecosystem = {_string(entry.ecosystem.value)}")
        lines.append(f"name = {_string(entry.name)}")
        lines.append(f"pinned = {_string(entry.version)}")
        if not entry.reviewed:
            lines.append("reviewed = false")
        if entry.registry:
            lines.append(f"registry = {_string(entry.registry)}")
    if plan.skipped:
        lines.append("")
        lines.append("# Not watchable, or left out:")
        lines += [f"#   {_comment(s.where)}: {_comment(s.reason)}" for s in plan.skipped]
    return "\n".join(lines) + "\n"
