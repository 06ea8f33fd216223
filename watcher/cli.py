"""Command line: parse, build the pipeline's sources, call it, render, exit.

Exit codes (SPEC §3): 0 ran and nothing reached `--fail-on`; 1 something did; 2 usage or input
error, reported as one line on stderr with no traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from watcher import __version__
from watcher.artifacts.fetch import Fetcher
from watcher.atomicfile import write_atomically
from watcher.config import (
    HttpSettings,
    Limits,
    cache_dir,
    http_settings_from_env,
    limits_from_env,
)
from watcher.errors import AmbiguousPackage, SubscriptionError, UsageError, WatcherError
from watcher.escape import terminal
from watcher.httpclient import HttpClient, make_client
from watcher.logs import LOG_FORMATS, LOG_LEVELS, configure_logging, level_from, package_context
from watcher.models import Ecosystem, Report, Severity
from watcher.pipeline import (
    Sources,
    diff_local,
    diff_release,
    keep_diffs,
    scan_local,
    scan_release,
)
from watcher.pipes import reader_may_leave
from watcher.policy import Policy, apply_policy
from watcher.progress import Step, reporter, reporting
from watcher.registries import open_registry, public_counterpart, resolve_ecosystem
from watcher.report import RENDERERS
from watcher.report.html import diffs_for, render_html
from watcher.rules import REGISTRY
from watcher.subscriptions import (
    DEFAULT_PATH,
    PinSources,
    Subscription,
    SubscriptionSet,
    load_subscriptions,
    normalize_name,
    pin_edit,
    render_json,
    render_table,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from watcher.baseline import UnreviewedBaseline
    from watcher.onboard.inputs import Inputs
    from watcher.report.pages import ReportPages
    from watcher.store.db import Store
    from watcher.store.repo import Pin
    from watcher.watch import Outcome, Unreviewed

logger = logging.getLogger("watcher")

FAIL_ON = [s.value for s in Severity]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"watcher: error: {message} (see `{self.prog} --help`)\n")


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=sorted(RENDERERS), default="text")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="high",
        help="exit 1 when the report's severity is at or above this (none: never)",
    )
    parser.add_argument("--output", type=Path, help="write the report to this file")


def _policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ENTRY",
        help="a reviewed, expected signal: network:HOST, network:*.DOMAIN or rule:RULE-ID "
        "(repeatable); shown, not scored",
    )
    parser.add_argument(
        "--suppress",
        action="append",
        default=[],
        metavar="RULE@FINGERPRINT",
        help="an accepted finding, by the fingerprint shown next to it (repeatable)",
    )


def _with_policy(
    run: Callable[[argparse.Namespace], Report],
) -> Callable[[argparse.Namespace], Report]:
    """`run`, its report passed through the `--allow`/`--suppress` policy."""

    def run_with_policy(args: argparse.Namespace) -> Report:
        # Parsed before `run`: a typo must fail at once, not after the downloads.
        try:
            allowed = Policy.parse(allow=args.allow)
        except ValueError as e:
            raise UsageError(f"--allow: {e}") from e
        try:
            accepted = Policy.parse(suppress=args.suppress)
        except ValueError as e:
            raise UsageError(f"--suppress: {e}") from e
        report = apply_policy(run(args), Policy(allowed.allow, accepted.suppress))
        # One line a CI log can be grepped for, tagged with what the report found the package is.
        with package_context(report.ecosystem, report.package, report.new_version):
            logger.info(
                "analysed against %s: %s, score %d, %d finding(s)",
                report.old_version or "nothing (first release)",
                report.severity.value,
                report.score,
                len(report.findings),
            )
        return report

    return run_with_policy


def _registry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ecosystem", choices=[e.value for e in Ecosystem])
    parser.add_argument(
        "--registry",
        metavar="URL",
        help="registry base URL (private npm registry, PyPI JSON API or simple index); "
        "token from NPM_TOKEN / PYPI_TOKEN",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar."""
    parser = _Parser(prog="watcher", description="Release-diff watcher for MCP server packages.")
    parser.add_argument("--version", action="version", version=f"watcher {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv debug)")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="log lines as text or JSON (default: WATCHER_LOG_FORMAT, else text)",
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        help="log threshold; overrides -v (default: WATCHER_LOG_LEVEL, else from -v)",
    )
    parser.set_defaults(limits=None)  # set by `main` from WATCHER_MAX_* (see watcher.config)
    parser.set_defaults(http=None)  # set by `main` from WATCHER_HTTP_*
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    diff = commands.add_parser("diff", help="analyse a release against an earlier one")
    diff.add_argument("name", nargs="?", help="package name")
    diff.add_argument("old", nargs="?", help="the reviewed (older) version")
    diff.add_argument("new", nargs="?", help="the version to review")
    diff.add_argument("--old", dest="old_path", type=Path, metavar="PATH", help="local artifact")
    diff.add_argument("--new", dest="new_path", type=Path, metavar="PATH", help="local artifact")
    _registry_options(diff)
    _report_options(diff)
    _policy_options(diff)
    diff.set_defaults(run=_with_policy(_run_diff))

    scan = commands.add_parser("scan", help="analyse one release with no previous one")
    scan.add_argument("name", nargs="?", help="package name")
    scan.add_argument("version", nargs="?", help="version to scan")
    scan.add_argument("--artifact", type=Path, metavar="PATH", help="local artifact")
    _registry_options(scan)
    _report_options(scan)
    _policy_options(scan)
    scan.set_defaults(run=_with_policy(_run_scan))

    rules = commands.add_parser("rules", help="the detection rules")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    rules_list = rules_commands.add_parser("list", help="list every registered rule")
    rules_list.add_argument("--format", choices=["text", "markdown"], default="text")
    rules_list.set_defaults(run=_run_rules_list)

    subs = commands.add_parser("subscriptions", help="check and show the subscription files")
    subs_commands = subs.add_subparsers(
        dest="subscriptions_command", required=True, parser_class=_Parser
    )
    subs_validate = subs_commands.add_parser("validate", help="validate every subscription file")
    _subscriptions_option(subs_validate)
    subs_validate.set_defaults(run=_run_subscriptions_validate)
    subs_list = subs_commands.add_parser("list", help="list every subscription, defaults applied")
    _subscriptions_option(subs_list)
    subs_list.add_argument("--format", choices=["text", "json"], default="text")
    subs_list.set_defaults(run=_run_subscriptions_list)
    _onboard_parsers(commands, subs_commands)

    check = commands.add_parser("check", help="one poll cycle over every subscription, then exit")
    _subscriptions_option(check)
    check.set_defaults(run=_run_check)

    run = commands.add_parser("run", help="the daemon: poll on schedule, alert, until SIGTERM")
    _subscriptions_option(run)
    run.set_defaults(run=_run_daemon)

    approve = commands.add_parser("approve", help="review done: move the pin to VERSION")
    approve.add_argument("name", help="package name")
    approve.add_argument("version", help="the reviewed version (one the registry has)")
    _registry_options(approve)
    approve.add_argument("--note", help="why (kept in history)")
    approve.add_argument(
        "--force", action="store_true", help="approve a downgrade or a yanked release too"
    )
    approve.add_argument(
        "--write",
        action="store_true",
        help="also set `pinned` in the subscription file (comments and layout kept)",
    )
    _subscriptions_option(approve)
    approve.set_defaults(run=_run_approve)

    history = commands.add_parser("history", help="what was seen, scored and alerted for NAME")
    history.add_argument("name", help="package name")
    history.add_argument("--ecosystem", choices=[e.value for e in Ecosystem])
    history.add_argument("--format", choices=["text", "json"], default="text")
    history.set_defaults(run=_run_history)
    _add_tree_command(commands)
    return parser


def _subscriptions_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--subscriptions",
        type=Path,
        default=DEFAULT_PATH,
        metavar="PATH",
        help=f"a subscription .toml file or a folder of them (default: {DEFAULT_PATH}/)",
    )


def _limits(args: argparse.Namespace) -> Limits:
    """The limits `main` read from the environment (read here when a test skipped `main`)."""
    limits: Limits | None = args.limits
    return limits if limits is not None else limits_from_env(os.environ)


def _http(args: argparse.Namespace) -> HttpClient:
    """A client with the timeout and retries `main` read from WATCHER_HTTP_* (when set)."""
    settings: HttpSettings | None = args.http
    if settings is None:
        settings = http_settings_from_env(os.environ)
    return make_client(**settings.client_options())


def _sources(args: argparse.Namespace, name: str, versions: Sequence[str]) -> Sources:
    http = _http(args)
    explicit = Ecosystem(args.ecosystem) if args.ecosystem else None
    limits = _limits(args)
    fetcher = Fetcher(http=http, cache_dir=cache_dir(), max_bytes=limits.max_download_bytes)
    try:
        ecosystem = resolve_ecosystem(name, explicit, http, args.registry)
    except AmbiguousPackage:
        # `mcp` is a name on both registries; the versions asked for usually tell them apart.
        registries = [open_registry(eco, http, args.registry) for eco in Ecosystem]
        having = [r for r in registries if set(versions) <= set(r.package(name).versions)]
        if len(having) != 1:
            raise
        public = public_counterpart(having[0].ecosystem, http, args.registry)
        return Sources(having[0], fetcher, limits.extract, public)
    registry = open_registry(ecosystem, http, args.registry)
    public = public_counterpart(ecosystem, http, args.registry)
    return Sources(registry, fetcher, limits.extract, public)


def _run_diff(args: argparse.Namespace) -> Report:
    local = args.old_path is not None or args.new_path is not None
    positional = [args.name, args.old, args.new]
    if local:
        if args.old_path is None or args.new_path is None or any(positional):
            raise UsageError("local diff takes both --old PATH and --new PATH and no NAME")
        with package_context(None, args.new_path.name):
            return diff_local(
                args.old_path, args.new_path, _limits(args).extract, _local_sources(args)
            )
    if not all(positional):
        raise UsageError("diff takes NAME OLD NEW, or --old PATH --new PATH")
    with package_context(args.ecosystem or _scoped(args.name), args.name, args.new):
        report = diff_release(
            _sources(args, args.name, [args.old, args.new]), args.name, args.old, args.new
        )
    return replace(report, dependency_paths=_installed_through(report))


def _installed_through(report: Report) -> tuple[str, ...]:
    """The paths by which watched subscriptions install `report`'s old release (their stored
    dependency trees), so a diff of a dependency names whom it affects. Only an existing store
    is read (a diff never creates one), and a store that cannot answer leaves it unnamed."""
    from watcher.config import data_dir

    if (
        not os.environ.get("WATCHER_DB_URL", "").strip()
        and not (data_dir() / "watcher.db").exists()
    ):
        return ()
    if report.old_version is None:
        return ()
    from watcher.store import trees
    from watcher.store.db import open_store

    try:
        with open_store(run_migrations=False) as store:
            session = store.session()
            try:
                return trees.paths_to(
                    session,
                    report.ecosystem,
                    report.package,
                    report.old_version,
                    report.new_version,
                )
            finally:
                session.close()
    # not a gap: which subscriptions are affected is context, not analysis of the release
    except WatcherError as e:
        logger.info("dependency trees not read: %s", e.diagnostics())
        return ()


def _local_sources(args: argparse.Namespace) -> Sources | None:
    """Where a local diff resolves new dependencies: only when `--registry` or `--ecosystem`
    asks for it, so an offline diff of two files never reaches for the network."""
    if args.registry is None and args.ecosystem is None:
        return None
    if args.ecosystem is not None:
        ecosystem = Ecosystem(args.ecosystem)
    else:
        npm = args.new_path.name.lower().endswith(".tgz")
        ecosystem = Ecosystem.NPM if npm else Ecosystem.PYPI
    http = _http(args)
    limits = _limits(args)
    fetcher = Fetcher(http=http, cache_dir=cache_dir(), max_bytes=limits.max_download_bytes)
    registry = open_registry(ecosystem, http, args.registry)
    return Sources(registry, fetcher, limits.extract, None)


def _scoped(name: str) -> str | None:
    """`npm` for `@scope/x`, the one case where the ecosystem is known before asking."""
    return Ecosystem.NPM.value if name.startswith("@") else None


def _run_scan(args: argparse.Namespace) -> Report:
    if args.artifact is not None:
        if args.name or args.version:
            raise UsageError("scan takes NAME VERSION or --artifact PATH, not both")
        with package_context(None, args.artifact.name):
            return scan_local(args.artifact, _limits(args).extract)
    if not (args.name and args.version):
        raise UsageError("scan takes NAME VERSION, or --artifact PATH")
    with package_context(args.ecosystem or _scoped(args.name), args.name, args.version):
        return scan_release(_sources(args, args.name, [args.version]), args.name, args.version)


def _run_rules_list(args: argparse.Namespace) -> None:
    if args.format == "markdown":
        print("| id | severity | ecosystems | summary |")
        print("|---|---|---|---|")
        for rule in REGISTRY:
            ecosystems = ", ".join(sorted(e.value for e in rule.ecosystems))
            print(f"| `{rule.id}` | {rule.severity.value} | {ecosystems} | {rule.summary} |")
        return
    width = max(len(rule.id) for rule in REGISTRY)
    for rule in REGISTRY:
        ecosystems = ",".join(sorted(e.value for e in rule.ecosystems))
        print(f"{rule.id:<{width}}  {rule.severity.value:<8}  {ecosystems:<8}  {rule.summary}")


def _run_subscriptions_validate(args: argparse.Namespace) -> None:
    print(f"{load_subscriptions(args.subscriptions).summary()}: OK")


def _run_subscriptions_list(args: argparse.Namespace) -> None:
    subscriptions = load_subscriptions(args.subscriptions)
    render = render_json if args.format == "json" else render_table
    sys.stdout.write(render(subscriptions, _effective_pins(subscriptions)))


# --- onboarding: `subscriptions import` and `audit` (issue 12) ------------------------------


def _onboard_parsers(
    commands: argparse._SubParsersAction[_Parser],
    subs_commands: argparse._SubParsersAction[_Parser],
) -> None:
    """`watcher subscriptions import` and `watcher audit`: from MCP client configs."""
    paths_help = (
        "MCP client configs (claude_desktop_config.json, .mcp.json, mcp.json, ...) and project "
        "manifests (package.json, requirements*.txt, pyproject.toml, lock files)"
    )
    discover_help = "also read the default locations of every client for this user and OS"
    imp = subs_commands.add_parser(
        "import", help="a subscription file from MCP client configs and manifests"
    )
    imp.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)
    imp.add_argument("--discover", action="store_true", help=discover_help)
    imp.add_argument("--output", type=Path, metavar="FILE", help="write the subscriptions here")
    imp.add_argument("--dry-run", action="store_true", help="print, write nothing")
    imp.add_argument(
        "--npm-registry", metavar="URL", help="npm registry for packages whose launch names none"
    )
    imp.add_argument(
        "--pypi-registry", metavar="URL", help="PyPI index for packages whose launch names none"
    )
    _subscriptions_option(imp)
    imp.set_defaults(run=_run_subscriptions_import)

    audit = commands.add_parser(
        "audit", help="what makes each configured MCP server unsafe to run as configured"
    )
    audit.add_argument("paths", nargs="*", type=Path, metavar="PATH", help=paths_help)
    audit.add_argument("--discover", action="store_true", help=discover_help)
    audit.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    audit.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="high",
        help="exit 1 when a finding is at or above this (none: never)",
    )
    audit.add_argument("--output", type=Path, help="write the report to this file")
    audit.add_argument(
        "--npm-registry",
        metavar="URL",
        help="npm registry asked whether pinned launches ship npm-shrinkwrap.json",
    )
    audit.add_argument(
        "--offline", action="store_true", help="ask no registry (shrinkwraps stay unknown)"
    )
    _subscriptions_option(audit)
    audit.set_defaults(run=_run_audit)


def _onboard_inputs(args: argparse.Namespace) -> Inputs:
    from watcher.onboard.inputs import read_inputs

    return read_inputs(args.paths, discover=args.discover, home=Path.home(), cwd=Path.cwd())


def _watch_list(path: Path) -> SubscriptionSet | None:
    """The subscriptions at `path`; None when the default folder has none (yet): the first
    import is what fills it."""
    if path == DEFAULT_PATH and (
        not path.exists() or (path.is_dir() and not any(path.glob("*.toml")))
    ):
        return None
    return load_subscriptions(path)


def _run_audit(args: argparse.Namespace) -> int:
    from watcher.onboard.audit import audit
    from watcher.onboard.render import RENDERERS as AUDIT_RENDERERS

    inputs = _onboard_inputs(args)
    shrinkwraps = None if args.offline else _shrinkwraps(args, inputs)
    report = audit(inputs, _watch_list(args.subscriptions) or (), shrinkwraps)
    text = AUDIT_RENDERERS[args.format](report)
    if args.output is not None:
        write_report(args.output, text)
    else:
        sys.stdout.write(text)
    threshold = Severity(args.fail_on)
    if threshold is Severity.NONE:
        return 0
    return 1 if report.findings and report.severity >= threshold else 0


def _shrinkwraps(args: argparse.Namespace, inputs: Inputs) -> dict[tuple[str, str], bool | None]:
    """Whether each exactly pinned npm launch ships npm-shrinkwrap.json, as its registry says.

    A registry that cannot answer leaves it unknown (the audit says so); it never fails the
    audit, which is about the files given.
    """
    from watcher.errors import RegistryError
    from watcher.onboard.audit import pinned_npm_launches

    http = _http(args)
    found: dict[tuple[str, str], bool | None] = {}
    for launch in pinned_npm_launches(inputs):
        assert launch.version is not None
        key = (launch.package, launch.version)
        if key in found:
            continue
        registry = launch.registry or args.npm_registry
        try:
            release = open_registry(Ecosystem.NPM, http, registry).release(*key)
        except RegistryError as e:
            logger.info("shrinkwrap of %s@%s unknown: %s", *key, e.diagnostics())
            found[key] = None
            continue
        found[key] = release.has_shrinkwrap
    return found


def _run_subscriptions_import(args: argparse.Namespace) -> int:
    import tempfile

    from watcher.errors import RegistryError
    from watcher.onboard.audit import audit
    from watcher.onboard.importer import plan_import, render_toml
    from watcher.onboard.render import warning_lines

    if args.output is not None and not args.dry_run:
        directory = args.output.parent if str(args.output.parent) else Path(".")
        if args.output.exists():
            raise UsageError(f"--output {args.output} already exists; nothing written")
        if not directory.is_dir():
            raise UsageError(f"cannot write {args.output}: directory {directory} does not exist")
    inputs = _onboard_inputs(args)
    existing = _watch_list(args.subscriptions)
    report = audit(inputs, existing or ())
    http = _http(args)

    def latest(ecosystem: Ecosystem, name: str, registry: str | None) -> str:
        version = open_registry(ecosystem, http, registry).package(name).latest
        if version is None:
            raise RegistryError(f"{ecosystem.value} package '{name}' has no latest version")
        return version

    registries = {Ecosystem.NPM: args.npm_registry, Ecosystem.PYPI: args.pypi_registry}
    plan = plan_import(
        inputs, report.servers, latest, registries=registries, existing=existing or ()
    )
    text = render_toml(plan, inputs.files)
    with tempfile.TemporaryDirectory() as scratch:
        # What is written must load as `watcher run` will load it.
        trial = Path(scratch) / "import.toml"
        trial.write_text(text, encoding="utf-8")
        try:
            load_subscriptions(trial)
        except SubscriptionError as e:
            raise UsageError(f"the imported subscriptions do not validate: {e.problems[0]}") from e
    # What this import fixes (servers nobody watches) is not worth a warning.
    warnings = list(warning_lines(f for f in report.findings if f.rule != "watch.unwatched"))
    if warnings:
        print(f"watcher: warning: {len(warnings)} finding(s) in these files:", file=sys.stderr)
        for line in warnings:
            print(f"  {line}", file=sys.stderr)
    unreviewed = sum(1 for e in plan.entries if not e.reviewed)
    summary = (
        f"{len(plan.entries)} subscription(s), {unreviewed} not reviewed "
        f"(reviewed = false), {len(plan.skipped)} left out"
    )
    if args.output is None or args.dry_run:
        sys.stdout.write(text)
        print(f"watcher: {summary}; nothing written", file=sys.stderr)
        return 0
    write_atomically(args.output, text.encode("utf-8"))
    print(f"wrote {args.output}: {summary}")
    return 0


def _effective_pins(subscriptions: SubscriptionSet) -> PinSources:
    """Each package's pin as `check` will use it (the store's approvals weighed against the
    files); the files alone when there is no store yet, which is not created to look."""
    from sqlalchemy.engine import make_url

    from watcher.store import repo
    from watcher.store.db import database_url, open_store

    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        return {}
    with open_store() as store:
        session = store.session()
        try:
            pins = repo.effective_pins(session, subscriptions)
        finally:
            session.close()
    return {s.key: (p.version, p.source) for s, p in zip(subscriptions, pins, strict=True)}


def _warn_slack_fallback(subscriptions: Sequence[Subscription]) -> None:
    """Say once, at start, that `slack:` alerts will go to the console (not fatal: the shipped
    subscriptions must run without Slack), visibly at the default log level."""
    from watcher.notify import slack_fallback_warning

    message = slack_fallback_warning((t for s in subscriptions for t in s.notify), os.environ)
    if message is None:
        return
    if logger.isEnabledFor(logging.WARNING):
        logger.warning(message)
    else:
        # `check` logs errors only by default; this must still be seen.
        print(f"watcher: warning: {message}", file=sys.stderr)


# The store, the daemon and the notifiers (SQLAlchemy, alembic, APScheduler, slack-sdk) are
# imported by the commands that use them: `watcher diff` in CI should not pay seconds for them.


def _run_check(args: argparse.Namespace) -> int:
    from watcher.baseline import scan_baselines
    from watcher.daemon import owner_id
    from watcher.store.db import open_store
    from watcher.watch import NotifierCache, check_once, deliver, registry_sources, unreviewed

    subscriptions = list(load_subscriptions(args.subscriptions))
    _warn_slack_fallback(subscriptions)
    sources = registry_sources(_http(args), cache_dir())
    notifiers = NotifierCache(os.environ)
    with open_store() as store, reporter().steps(len(subscriptions)) as step:
        outcomes = check_once(
            store,
            subscriptions,
            sources,
            notifiers,
            datetime.now(UTC),
            owner_id(),
            progress=_checking(step),
            pages=_report_pages(),
        )
        # After check_once, which synced the pins: `reviewed = false` pins are scanned as
        # first releases, and their alerts delivered now, not on the next run.
        baselines = scan_baselines(store, subscriptions, sources, datetime.now(UTC))
        if baselines:
            deliver(store, notifiers, owner_id(), datetime.now(UTC), pages=_report_pages())
        pending = unreviewed(store, subscriptions)
        pins = _current_pins(store, subscriptions)
    return check_summary(outcomes, pending, pins, baselines)


def _current_pins(store: Store, subscriptions: Sequence[Subscription]) -> PinSources:
    from watcher.store import repo

    session = store.session()
    try:
        pins = repo.current_pins(session, [(s.ecosystem, s.name) for s in subscriptions])
    finally:
        session.close()
    return {key: (pin.version, pin.source) for key, pin in pins.items()}


def _report_pages() -> ReportPages | None:
    """Where alerted reports are published (`WATCHER_REPORT_DIR`, `WATCHER_REPORT_URL`)."""
    from watcher.report.pages import ReportPages

    return ReportPages.from_env(os.environ)


def _checking(step: Step) -> Callable[[int, int, Subscription], None]:
    """`check_once`'s progress callback: the subscription about to be polled is the step."""
    return lambda done, _total, sub: step(done, f"checking {sub.ecosystem.value}/{sub.name}")


def check_summary(
    outcomes: Sequence[Outcome],
    pending: Sequence[Unreviewed],
    pins: PinSources | None = None,
    baselines: Sequence[UnreviewedBaseline] = (),
) -> int:
    """Print `watcher check`'s lines; its exit code.

    Each line ends with where its pin comes from (`[pin: file]`), as `subscriptions list`
    shows it; `pins` are the effective pins by `Subscription.key`.

    1 when a release newer than a pin reached its subscription's `fail_on` (analysed now or
    on an earlier run and not approved since), or when a `reviewed = false` pin awaits its
    review (`baselines`, whatever its scan found); else 2 when a poll failed (the check could not
    look at everything, so it must not pass); else 0.
    """
    new = set()
    for outcome in outcomes:
        if outcome.report is not None:
            report = outcome.report
            new.add((outcome.ecosystem, outcome.name, outcome.version))
            # Names and versions come from subscriptions and registries: shown escaped.
            print(
                f"{outcome.ecosystem.value}/{terminal(outcome.name)} {terminal(outcome.pinned)} "
                f"-> {terminal(outcome.version)}: {report.severity.value} (score {report.score})"
                + _pin_note(pins, outcome.ecosystem, outcome.name, outcome.pinned)
            )
        elif outcome.error is not None:
            what = f"{outcome.name}@{outcome.version}" if outcome.version else outcome.name
            print(
                f"watcher: error: {terminal(what)}: {terminal(str(outcome.error))}", file=sys.stderr
            )
    for item in pending:
        if (item.ecosystem, item.name, item.version) not in new:
            print(
                f"{item.ecosystem.value}/{terminal(item.name)} {terminal(item.pinned)} -> "
                f"{terminal(item.version)}: {item.severity.value} (score {item.score}, "
                f"analysed earlier, not approved) [pin: {terminal(item.pin_source)}]"
            )
    for base in baselines:
        label = f"{base.ecosystem.value}/{base.name} {base.version}"
        if base.severity is None:
            print(f"watcher: error: {base.name}@{base.version}: {base.error}", file=sys.stderr)
            verdict = "scan failed"
        else:
            verdict = f"first-release scan: {base.severity.value} (score {base.score})"
        print(
            f"{label}: not reviewed ({verdict}); after review: "
            f"watcher approve {base.name} {base.version}"
        )
    if pending or baselines:
        return 1
    return 2 if any(o.error for o in outcomes) else 0


def _pin_note(pins: PinSources | None, ecosystem: Ecosystem, name: str, pinned: str) -> str:
    version, source = (pins or {}).get((ecosystem, normalize_name(ecosystem, name)), ("", ""))
    return f" [pin: {terminal(source)}]" if version == pinned and source else ""


def _run_daemon(args: argparse.Namespace) -> int:
    from watcher.daemon import Daemon, serve, settings_from_env
    from watcher.store.db import open_store
    from watcher.watch import NotifierCache, registry_sources

    subscriptions = list(load_subscriptions(args.subscriptions))
    _warn_slack_fallback(subscriptions)
    tick, workers = settings_from_env(os.environ)
    with open_store() as store:
        daemon = Daemon(
            store,
            subscriptions,
            registry_sources(_http(args), cache_dir()),
            NotifierCache(os.environ),
            workers=workers,
            pages=_report_pages(),
        )
        serve(
            daemon,
            tick,
            threading.Event(),
            handle_signals=True,
            # SIGHUP: the same path, read again; a bad edit is logged, the old list kept.
            reload=lambda: list(load_subscriptions(args.subscriptions)),
        )
    return 0


def _store_ecosystem(store: Store, name: str, explicit: str | None) -> Ecosystem:
    """The ecosystem of a package the store knows: explicit, `@scope/` syntax, else its pin."""
    if explicit:
        return Ecosystem(explicit)
    if name.startswith("@"):
        return Ecosystem.NPM
    from watcher.store import repo

    session = store.session()
    try:
        known = [e for e in Ecosystem if repo.pinned(session, e, name) is not None]
    finally:
        session.close()
    if len(known) == 1:
        return known[0]
    where = "both npm and PyPI" if known else "neither npm nor PyPI"
    raise UsageError(f"'{name}' is pinned on {where} in the store; pass --ecosystem npm|pypi")


def _run_approve(args: argparse.Namespace) -> int:
    """Approve a release the registry has; refuse a downgrade or a yanked one without --force.

    Nothing is recorded when a check fails, and with --write the file's new text is prepared
    (and checked) before the approval is recorded, then written whole.
    """
    from watcher.store import repo
    from watcher.store.db import open_store
    from watcher.watch import registry_sources

    who = os.environ.get("WATCHER_USER", "").strip() or getpass.getuser()
    sub = _approved_subscription(args)
    edit = pin_edit(sub, args.version) if args.write and sub is not None else None
    with open_store() as store:
        ecosystem = sub.ecosystem if sub else _store_ecosystem(store, args.name, args.ecosystem)
        target = sub or _command_line_subscription(ecosystem, args.name)
        if args.registry:
            target = replace(target, registry=args.registry)
        registry = registry_sources(_http(args), cache_dir())(target).registry
        label = f"{ecosystem.value}/{args.name}"
        info = registry.package(args.name)
        if args.version not in info.versions:
            raise UsageError(
                f"{label} has no version '{args.version}' on its registry; nothing approved, "
                "the pin is unchanged"
            )
        yanked = registry.release(args.name, args.version).yanked
        session = store.session()
        try:
            before = _pin_now(session, sub, ecosystem, args.name)
            refusal = _refusal(ecosystem, args.version, before, yanked)
            if refusal is not None and not args.force:
                raise UsageError(f"{label}: {refusal}; pass --force to approve it anyway")
            # The pin is the later *published* of the file's and the approval's: record the
            # registry's publish times of the versions in play.
            for version in {args.version, sub.pinned if sub else args.version}:
                published = info.versions.get(version)
                if published is not None:
                    repo.record_release_seen(
                        session, ecosystem, args.name, version, published_at=published
                    )
            # What --force overrode stays on record with the approval.
            note = "; ".join(filter(None, [args.note, refusal and f"forced: {refusal}"]))
            written = replace(sub, pinned=args.version) if sub and edit else sub
            repo.approve(
                session,
                ecosystem,
                args.name,
                args.version,
                who,
                note or None,
                file_version=written.pinned if written else None,
            )
            after = _pin_now(session, written, ecosystem, args.name)
        finally:
            session.close()
    if edit is not None:
        write_atomically(edit.path, edit.data)
    was = before.version if before is not None else "(no pin)"
    print(f"{label}: {was} -> {args.version} (approved by {who})")
    if edit is not None:
        print(f'{edit.path}:{edit.line}: pinned = "{args.version}"')
    if after is not None and after.version != args.version:
        # A forced downgrade below the file's pin: the file's release is the later one.
        print(
            f"{label}: the pin stays {after.version} ({after.source}): it was published later; "
            "pass --write to set the file's pin too"
        )
    return 0


def _approved_subscription(args: argparse.Namespace) -> Subscription | None:
    """The subscription of the package being approved, when a subscription file has it.

    Without the default folder, approve works from the store alone; `--write` and an explicit
    `--subscriptions` need the file.
    """
    path: Path = args.subscriptions
    if not path.exists() and path == DEFAULT_PATH and not args.write:
        return None
    found = [
        s
        for s in load_subscriptions(path)
        if normalize_name(s.ecosystem, s.name) == normalize_name(s.ecosystem, args.name)
        and (args.ecosystem is None or s.ecosystem.value == args.ecosystem)
    ]
    if len(found) > 1:
        raise UsageError(f"'{args.name}' is subscribed on both npm and PyPI; pass --ecosystem")
    if not found and args.write:
        raise UsageError(f"--write: '{args.name}' is not subscribed in {path}")
    return found[0] if found else None


def _command_line_subscription(ecosystem: Ecosystem, name: str) -> Subscription:
    """A stand-in subscription for a package no file lists: where its registry is."""
    from watcher.subscriptions import DEFAULT_FAIL_ON, DEFAULT_INTERVAL_SECONDS

    return Subscription(
        ecosystem=ecosystem,
        name=name,
        pinned="",
        interval_seconds=DEFAULT_INTERVAL_SECONDS,
        notify=(),
        fail_on=DEFAULT_FAIL_ON,
        registry=None,
        allow=(),
        source="command line",
    )


def _pin_now(
    session: Session, sub: Subscription | None, ecosystem: Ecosystem, name: str
) -> Pin | None:
    """The effective pin: the file's weighed against the store's approvals, else the store's."""
    from watcher.store import repo

    if sub is not None:
        return repo.effective_pins(session, [sub])[0]
    return repo.current_pin(session, ecosystem, name)


def _refusal(ecosystem: Ecosystem, version: str, before: Pin | None, yanked: bool) -> str | None:
    """Why approving `version` needs --force, if it does."""
    from watcher.watch import version_key

    if yanked:
        return f"{version} is yanked"
    if before is None:
        return None
    new, current = version_key(ecosystem, version), version_key(ecosystem, before.version)
    if new is not None and current is not None and new[0] < current[0]:
        return f"{version} is older than the current pin {before.version} ({before.source})"
    return None


def _run_history(args: argparse.Namespace) -> int:
    from watcher.report.history import render_history_json, render_history_text
    from watcher.store import repo, trees
    from watcher.store.db import open_store

    with open_store() as store:
        ecosystem = _store_ecosystem(store, args.name, args.ecosystem)
        session = store.session()
        try:
            entries = repo.history(session, ecosystem, args.name)
            dependencies = trees.dependency_history(session, ecosystem, args.name)
        finally:
            session.close()
    if not entries and not dependencies:
        raise UsageError(f"the store knows nothing about {ecosystem.value} package '{args.name}'")
    render = render_history_json if args.format == "json" else render_history_text
    sys.stdout.write(render(entries, dependencies))
    return 0


def _add_tree_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    tree = commands.add_parser(
        "tree", help="the dependency tree NAME's pinned release resolves to, and what floats"
    )
    tree.add_argument("name", help="package name of a subscription")
    tree.add_argument("--ecosystem", choices=[e.value for e in Ecosystem])
    tree.add_argument("--format", choices=["text", "json"], default="text")
    tree.set_defaults(run=_run_tree)


def _run_tree(args: argparse.Namespace) -> int:
    """Print the stored tree (`watcher check` or `run` resolves it); exit 2 when there is none."""
    from watcher.report.tree import render_tree_json, render_tree_text
    from watcher.store import trees
    from watcher.store.db import open_store

    with open_store() as store:
        ecosystem = _store_ecosystem(store, args.name, args.ecosystem)
        session = store.session()
        try:
            stored = trees.load_tree(session, ecosystem, args.name)
        finally:
            session.close()
    if stored is None:
        raise UsageError(
            f"no dependency tree for {ecosystem.value} package '{args.name}' in the store "
            "(`watcher check` resolves the trees of the subscriptions)"
        )
    render = render_tree_json if args.format == "json" else render_tree_text
    sys.stdout.write(render(stored))
    return 0


def write_report(path: Path, text: str) -> None:
    """Write the whole report or nothing (SPEC: nothing half written)."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: directory {directory} does not exist")
    write_atomically(path, text.encode("utf-8"))


def exit_code(report: Report, fail_on: str) -> int:
    """1 when the report reaches the threshold; `none` never fails."""
    threshold = Severity(fail_on)
    if threshold is Severity.NONE:
        return 0
    return 1 if report.severity >= threshold else 0


def _configure_logging(args: argparse.Namespace) -> None:
    """Log to stderr on the `watcher` logger only, leaving the root logger to embedders.

    Options win over WATCHER_LOG_FORMAT / WATCHER_LOG_LEVEL, which win over `-v`.
    """
    fmt = args.log_format or os.environ.get("WATCHER_LOG_FORMAT", "").strip().lower() or "text"
    if fmt not in LOG_FORMATS:
        raise UsageError(
            f"WATCHER_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} (got {fmt!r})"
        )
    level_name = args.log_level or os.environ.get("WATCHER_LOG_LEVEL", "").strip()
    try:
        level = (
            level_from(level_name)
            if level_name
            else [logging.ERROR, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
        )
    except ValueError as e:
        raise UsageError(f"WATCHER_LOG_LEVEL: {e}") from e
    configure_logging("json" if fmt == "json" else "text", level, timestamps=bool(args.verbose))


def _ignore_hangup() -> None:
    """Ignore SIGHUP until the daemon installs its reload handler (`daemon.serve`).

    Its default action ends the process, and start-up (imports, the store's migrations) takes
    a while: a `systemctl reload` or `kill -HUP` just after start must not stop the service.
    Such an early reload is dropped: the files are read during start-up, so only an edit made
    between that read and the handler (a fraction of a second) needs another SIGHUP.
    """
    hangup = getattr(signal, "SIGHUP", None)  # not on Windows
    if hangup is not None:
        signal.signal(hangup, signal.SIG_IGN)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `watcher` command; returns the exit code."""
    # `watcher diff ... | head -1` keeps the verdict's exit code and says nothing about the pipe.
    with reader_may_leave():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        _ignore_hangup()
    if args.command == "run" and not args.verbose:
        # A daemon's log is its output: one line per poll and per alert by default.
        args.verbose = 1
    run: Callable[[argparse.Namespace], Report | int | None] = args.run
    try:
        _configure_logging(args)
        # Parsed once, here, so a bad WATCHER_MAX_* value is one clear line and exit 2.
        args.limits = limits_from_env(os.environ)
        args.http = http_settings_from_env(os.environ)
        with ExitStack() as stack:
            # Bars only for a person watching: pipes, tests and the daemon's log see none.
            if args.command != "run" and sys.stderr.isatty():
                from watcher.terminal_progress import TerminalProgress

                stack.enter_context(reporting(TerminalProgress(sys.stderr)))
            # Only the HTML page shows the diff itself; other formats need not keep it alive.
            html = getattr(args, "format", None) == "html"
            kept = stack.enter_context(keep_diffs()) if html else {}
            report = run(args)
        if report is None:
            return 0
        if isinstance(report, int):
            return report
        if html:
            text = render_html(report, diffs_for(kept, report))
        else:
            text = RENDERERS[args.format](report)
        if args.output is not None:
            write_report(args.output, text)
        else:
            sys.stdout.write(text)
    except SubscriptionError as e:
        # Every problem of every file, one self-contained line each: fix them all in one go.
        for problem in e.problems:
            print(f"watcher: error: {problem}", file=sys.stderr)
        return 2
    except WatcherError as e:
        print(f"watcher: error: {e.diagnostics()}", file=sys.stderr)
        return 2
    except OSError as e:
        # Disk full, unwritable --output and the like: the user's environment, not a bug.
        print(
            f"watcher: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:
        print("watcher: interrupted", file=sys.stderr)
        return 130
    return exit_code(report, args.fail_on)


def run() -> None:
    """Console-script entry point: exit with `main()`'s code."""
    raise SystemExit(main())
