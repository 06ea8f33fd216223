"""`watcher audit`: what makes each configured MCP server unsafe to run as configured.

Findings are values with a rule id and a severity, like a release report's, so the CLI gates
on them with `--fail-on` and renders them as text, JSON or SARIF. What is checked:

- `launch.unpinned` (high): the launch names no exact version (`npx -y pkg`, `pkg@latest`, a
  range): every launch may run a release nobody reviewed;
- `launch.floating-dependencies` (medium): an exact pin whose own dependency ranges are still
  resolved afresh at install (npm unless the package ships `npm-shrinkwrap.json`, as its
  registry says; "unknown" when it does not say or `--offline`; uvx and pipx always);
- `secret.env`, `secret.args`, `secret.headers` (high for a token-shaped value, medium for a
  literal under a secret-named key): a secret kept in the configuration file, shown masked;
- `lockfile.missing`, `lockfile.no-integrity` (medium): an MCP dependency of a project that
  floats with no lock file, or is locked without an integrity hash;
- `watch.unwatched` (low): a watchable server no subscription watches;
- `watch.not-watchable` (low): a server watcher cannot follow, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from watcher.models import Ecosystem, Severity
from watcher.onboard.clients import Server
from watcher.onboard.inputs import Inputs
from watcher.onboard.launchers import Launch, NotWatchable, launch_of
from watcher.onboard.manifests import Project
from watcher.onboard.secrets import Secret, find_in_args, find_in_pairs
from watcher.subscriptions import Subscription, normalize_name

#: Every audit rule id with its one-line summary (SARIF rule descriptors, docs).
RULES: dict[str, str] = {
    "launch.unpinned": "The launch names no exact version: a start may run an unreviewed release",
    "launch.floating-dependencies": "An exact pin whose own dependencies still float at install",
    "secret.env": "A secret kept in the server's env block",
    "secret.args": "A secret on the server's command line",
    "secret.headers": "A secret kept in a remote server's headers",
    "lockfile.missing": "An MCP dependency with a version range and no lock file",
    "lockfile.no-integrity": "An MCP dependency locked without an integrity hash",
    "watch.unwatched": "A watchable server that no subscription watches",
    "watch.not-watchable": "A server watcher cannot follow (remote, local, container)",
}


#: The severity each rule reports at most (SARIF's rule-level `security-severity`).
RULE_SEVERITY: dict[str, Severity] = {
    "launch.unpinned": Severity.HIGH,
    "launch.floating-dependencies": Severity.MEDIUM,
    "secret.env": Severity.HIGH,
    "secret.args": Severity.HIGH,
    "secret.headers": Severity.HIGH,
    "lockfile.missing": Severity.MEDIUM,
    "lockfile.no-integrity": Severity.MEDIUM,
    "watch.unwatched": Severity.LOW,
    "watch.not-watchable": Severity.LOW,
}


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One thing that makes a server or project unsafe as configured."""

    rule: str
    severity: Severity
    message: str
    file: str
    #: Where in the file (`mcpServers.github`, `dependencies.@scope/pkg`); None: the file.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class ServerLaunch:
    """A configured server and what it launches (or why it cannot be watched)."""

    server: Server
    launch: Launch | NotWatchable


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every server and MCP dependency read, and the findings, most severe first."""

    files: tuple[str, ...]
    servers: tuple[ServerLaunch, ...]
    projects: tuple[Project, ...]
    findings: tuple[AuditFinding, ...]

    @property
    def severity(self) -> Severity:
        """The highest severity of any finding (none when there are none)."""
        return max((f.severity for f in self.findings), default=Severity.NONE)


def launches(inputs: Inputs) -> list[ServerLaunch]:
    """Every enabled server of every configuration with its launch."""
    return [
        ServerLaunch(server, launch_of(server))
        for config in inputs.configs
        for server in config.servers
        if not server.disabled
    ]


#: (package, exact version) -> whether that npm release ships npm-shrinkwrap.json (None: the
#: registry did not say, or was not asked).
Shrinkwraps = Mapping[tuple[str, str], bool | None]


def _launch_findings(item: ServerLaunch, shrinkwraps: Shrinkwraps) -> Iterator[AuditFinding]:
    server, launch = item.server, item.launch
    if isinstance(launch, NotWatchable):
        yield AuditFinding(
            "watch.not-watchable",
            Severity.LOW,
            f"{server.name}: {launch.reason}",
            server.file,
            server.key,
        )
        return
    if not launch.pinned:
        if launch.spec is None:
            why = "names no version: it runs whatever is `latest` at every launch"
        elif launch.spec == "latest":
            why = "asks for `latest`: it runs whatever is newest at every launch"
        else:
            why = f"asks for {launch.spec!r}, a range: a launch may run a newer, unreviewed release"
        yield AuditFinding(
            "launch.unpinned",
            Severity.HIGH,
            f"{server.name}: `{launch.shown}` {why}; pin an exact version",
            server.file,
            server.key,
        )
        return
    if launch.ecosystem is Ecosystem.NPM:
        assert launch.version is not None  # pinned
        locked = shrinkwraps.get((launch.package, launch.version))
        if locked:
            return  # npm-shrinkwrap.json: every install gets the same dependency tree
        known = (
            "it ships no npm-shrinkwrap.json"
            if locked is False
            else "unless it ships npm-shrinkwrap.json (the registry did not say)"
        )
        message = (
            f"{server.name}: `{launch.shown}` is pinned, but its own dependency ranges resolve "
            f"afresh at every install: {known}"
        )
    else:
        message = (
            f"{server.name}: `{launch.shown}` is pinned, but {launch.runner} resolves its own "
            "dependencies afresh at every install (no lock for tools)"
        )
    yield AuditFinding(
        "launch.floating-dependencies", Severity.MEDIUM, message, server.file, server.key
    )


def _secret_findings(server: Server) -> Iterator[AuditFinding]:
    groups: list[tuple[str, list[Secret]]] = [
        ("secret.env", find_in_pairs(server.env, "env")),
        ("secret.args", find_in_args(server.args)),
        ("secret.headers", find_in_pairs(server.headers, "headers")),
    ]
    for rule, secrets in groups:
        for secret in secrets:
            severity = Severity.MEDIUM if secret.kind == "secret-named key" else Severity.HIGH
            hint = (
                "visible to every process of the user; pass it through the environment"
                if rule == "secret.args"
                else "kept in plain text in this file; use an input or env placeholder"
            )
            yield AuditFinding(
                rule,
                severity,
                f"{server.name}: {secret.where} = {secret.masked} ({secret.kind}), {hint}",
                server.file,
                server.key,
            )


def _project_findings(project: Project) -> Iterator[AuditFinding]:
    for dep in project.dependencies:
        if not dep.is_mcp:
            continue
        key = f"dependencies.{dep.name}"
        if dep.exact is None and dep.locked is None:
            yield AuditFinding(
                "lockfile.missing",
                Severity.MEDIUM,
                f"{dep.name} {dep.spec or '(any version)'} has no lock file entry: every install "
                "resolves it afresh and takes the next release, compromised or not",
                project.manifest,
                key,
            )
        elif dep.integrity is False:
            lock = project.lockfile or project.manifest
            yield AuditFinding(
                "lockfile.no-integrity",
                Severity.MEDIUM,
                f"{dep.name} {dep.locked or dep.exact} is locked in {lock} without an integrity "
                "hash: a tampered download installs unnoticed",
                project.manifest,
                key,
            )


def pinned_npm_launches(inputs: Inputs) -> list[Launch]:
    """The exactly pinned npm launches: whether each ships npm-shrinkwrap.json is worth asking."""
    return [
        item.launch
        for item in launches(inputs)
        if isinstance(item.launch, Launch)
        and item.launch.ecosystem is Ecosystem.NPM
        and item.launch.version is not None
    ]


def _watched(subscriptions: Iterable[Subscription]) -> set[tuple[Ecosystem, str]]:
    return {s.key for s in subscriptions}


def audit(
    inputs: Inputs,
    subscriptions: Iterable[Subscription] = (),
    shrinkwraps: Shrinkwraps | None = None,
) -> AuditReport:
    """Audit every server and project of `inputs` against the watch list `subscriptions`.

    `shrinkwraps`: what the registry says about the exactly pinned npm launches (see
    `pinned_npm_launches`); without it their dependency lock is reported as unknown.
    """
    servers = launches(inputs)
    watched = _watched(subscriptions)
    findings: list[AuditFinding] = []
    for item in servers:
        findings.extend(_launch_findings(item, shrinkwraps or {}))
        findings.extend(_secret_findings(item.server))
        launch = item.launch
        if isinstance(launch, Launch):
            key = (launch.ecosystem, normalize_name(launch.ecosystem, launch.package))
            if key not in watched:
                findings.append(
                    AuditFinding(
                        "watch.unwatched",
                        Severity.LOW,
                        f"{item.server.name}: {launch.ecosystem.value} package {launch.package} "
                        "is not watched by any subscription (watcher subscriptions import)",
                        item.server.file,
                        item.server.key,
                    )
                )
    for project in inputs.projects:
        findings.extend(_project_findings(project))
    ordered = sorted(findings, key=lambda f: -f.severity.rank)  # stable: file order kept
    return AuditReport(inputs.files, tuple(servers), inputs.projects, tuple(ordered))
