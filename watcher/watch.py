"""The watch cycle: poll a subscription's registry, analyse new releases, deliver alerts.

Both shells call this module and nothing else: `watcher check` runs `check_once` (one cycle
over every subscription), and the daemon (`watcher.daemon`) runs `poll` for the packages it
claims from the store and `deliver` after them. Nothing here prints, parses arguments or owns
a timer.

Guarantees, and where they come from:

- A release is analysed once per (pin, rule set): `has_analysis` skips known pairs, and the
  store's unique key on analyses makes a concurrent duplicate a no-op
  (`AnalysisRecord.created` is False and no alert rows are written).
- An analysis and its outbox rows are one transaction (`record_analysis_with_alerts`), so an
  alert cannot be lost between "analysed" and "queued".
- Alerts are sent at least once, and in practice exactly once: `deliver` claims an alert with a
  lease, sends it, then marks it sent. If the process dies after Slack accepted the POST but
  before `mark_sent` commits, the alert is sent again when the lease expires. Slack has no
  idempotency key for `chat.postMessage`, so that window (one HTTP round trip plus one commit)
  is the one place a duplicate message can come from; the webhook notifier sends the alert's
  `dedup_key` as `Idempotency-Key`, so receivers that honour it drop the repeat.
- One failing package never stops the others: registry and analysis errors are caught per
  package, recorded in its poll state (tries + 1, exponential backoff in the store) and logged.
  After `RETRY_BUDGET` consecutive failures the failure is logged at ERROR and ONE operational
  alert is queued to the subscription's channels through the same outbox (marked as
  operational, credentials scrubbed); the first successful poll after that queues a recovery
  note. Releases of an unreachable registry go unwatched, which the channel must know.
- Polls are conditional: the validators (ETag / Last-Modified) of the last answer are sent
  back, and a 304 means nothing new, unless releases seen earlier still await analysis.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from packaging.version import Version
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from watcher.artifacts.fetch import Fetcher
from watcher.config import Limits, limits_from_env
from watcher.errors import NotifyError, VersionNotFound, WatcherError
from watcher.httpclient import HttpClient
from watcher.logs import package_context, tag_package, untag_package
from watcher.models import Ecosystem, PackageInfo, Report, Severity
from watcher.notify import ConsoleNotifier, Notifier, notifier_for
from watcher.notify.base import Alert, ConfirmingNotifier, OperationalAlert
from watcher.pipeline import Sources, diff_release
from watcher.policy import apply_policy
from watcher.registries import (
    PUBLIC_NPM_REGISTRY,
    PUBLIC_PYPI,
    TOKEN_ENV,
    NotModified,
    Validators,
    open_registry,
    public_counterpart,
)
from watcher.registries.wire import display_url
from watcher.report.jsonfmt import report_from_dict
from watcher.report.pages import ReportPages
from watcher.rules import REGISTRY
from watcher.store import repo, trees
from watcher.store.db import Store
from watcher.subscriptions import Subscription, normalize_name
from watcher.tree.follow import TreeCycle, follow_trees

__all__ = [
    "MAX_NEW_RELEASES_PER_POLL",
    "RETRY_BUDGET",
    "NotifierCache",
    "Outcome",
    "SourcesFactory",
    "Unreviewed",
    "candidate_versions",
    "check_once",
    "deliver",
    "jittered",
    "poll",
    "registry_sources",
    "rules_version",
    "unreviewed",
    "version_key",
    "watch_trees",
]

logger = logging.getLogger(__name__)

#: Consecutive failed polls of one package before the failure is logged as an ERROR (a blip
#: of a registry is retried quietly with backoff; five in a row is an outage worth a look).
RETRY_BUDGET = 5
#: At most this many new releases are analysed per poll, newest first; older ones follow on
#: later polls. A subscription pinned far behind must not turn one poll into hundreds of
#: downloads and alerts.
MAX_NEW_RELEASES_PER_POLL = 10
#: Poll intervals are stretched or shrunk by up to this fraction, so that packages subscribed
#: together do not hit the registry together forever.
JITTER = 0.1

#: Builds the sources (registry client + verifying fetcher) for one subscription. Called once
#: per poll: registry clients cache documents for their lifetime, and a poll wants fresh ones.
SourcesFactory = Callable[[Subscription], Sources]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one poll did for one release, or why the poll failed.

    A poll that found nothing new returns no outcomes. A failed poll returns one outcome with
    `error` set and `report` None (and `version` None when the registry itself failed).
    """

    ecosystem: Ecosystem
    name: str
    #: The pin the release was compared with.
    pinned: str
    version: str | None
    report: Report | None = None
    #: Whether this run wrote the analysis (False: another run or daemon already had it).
    created: bool = False
    #: Outbox rows written with the analysis (empty below the subscription's `fail_on`).
    alert_ids: tuple[int, ...] = ()
    #: The subscription's threshold, kept so `reached_fail_on` needs nothing else.
    fail_on: Severity = Severity.HIGH
    error: str | None = None

    @property
    def reached_fail_on(self) -> bool:
        """The release is at or above the subscription's `fail_on` (`none`: never)."""
        return self.report is not None and reaches(self.report.severity, self.fail_on)


def reaches(severity: Severity, fail_on: Severity) -> bool:
    """`severity` is at or above `fail_on`; a threshold of `none` is never reached."""
    return fail_on is not Severity.NONE and severity >= fail_on


def rules_version() -> str:
    """A stable hash of the registered rules (ids and severities), stored with analyses.

    A rule added, removed or re-rated changes it, and a release analysed under the old rule set
    is analysed again (and may alert) under the new one.
    """
    lines = sorted(f"{rule.id}={rule.severity.value}" for rule in REGISTRY)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


# --- which versions are new -----------------------------------------------------------------

_SEMVER = re.compile(
    r"v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


@dataclass(frozen=True, slots=True, order=True)
class _NpmKey:
    """Semver precedence: a release sorts after its pre-releases; identifiers compare per spec."""

    core: tuple[int, int, int]
    #: (1,) for a release; (0, ids...) for a pre-release, numeric ids before alphanumeric ones.
    pre: tuple[tuple[int, int | str] | int, ...] = field(default=(1,))

    @property
    def is_prerelease(self) -> bool:
        return self.pre != (1,)


def _npm_key(version: str) -> _NpmKey | None:
    match = _SEMVER.fullmatch(version.strip())
    if match is None:
        return None
    core = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    if match["pre"] is None:
        return _NpmKey(core)
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in match["pre"].split("."))
    return _NpmKey(core, (0, *ids))


def version_key(ecosystem: Ecosystem, version: str) -> tuple[Any, bool] | None:
    """A sortable key for `version` and whether it is a pre-release; None when unparseable.

    PyPI versions follow PEP 440 (`packaging.version`); npm versions follow semver, where
    `1.0.0-beta.2` < `1.0.0-beta.11` < `1.0.0` (PEP 440 would misread some npm tags).
    """
    if ecosystem is Ecosystem.PYPI:
        try:
            parsed = Version(version)
        except ValueError:  # InvalidVersion, or a plain ValueError for 4,300+ digits
            return None
        return parsed, parsed.is_prerelease
    key = _npm_key(version)
    return (key, key.is_prerelease) if key is not None else None


def candidate_versions(
    ecosystem: Ecosystem,
    versions: Mapping[str, datetime | None] | Iterable[str],
    pin: str,
    *,
    latest: str | None = None,
) -> list[str]:
    """The releases to diff against `pin`, oldest first.

    `versions` maps each version to when it appeared (the registry's publish time, else when
    watcher first saw it listed; None when unknown); a plain list carries no times. A release
    is a candidate when

    - it appeared after the pin, whatever its number: an out-of-order publish below the pin
      or a patch on an older line is the dormant-line and dependency-confusion shape;
    - where either time is unknown, it is newer than the pin by version order;
    - it is `latest` (what `npx -y` and a bare `pip install` run), whenever that is not the pin.

    Pre-releases count only when the pin is one or `latest` names them. So a pin with no
    known time (an index without times, a pin the registry does not list) falls back to
    version order, and so does a plain list; a version that does not parse can only be
    chosen by time. In time order when every candidate has a time, else in version order.
    """
    times: Mapping[str, datetime | None] = (
        versions if isinstance(versions, Mapping) else dict.fromkeys(versions)
    )
    pin_key = version_key(ecosystem, pin)
    pin_time = times.get(pin)
    pin_prerelease = pin_key[1] if pin_key is not None else False
    if isinstance(versions, Mapping) and pin_time is None:
        logger.info(
            "%s pin %r has no known publish time; releases after it are found by version order",
            ecosystem,
            pin,
        )
    chosen: list[str] = []
    for version, appeared in times.items():
        if version == pin:
            continue
        key = version_key(ecosystem, version)
        if version == latest:
            chosen.append(version)
        elif key is not None and key[1] and not pin_prerelease:
            continue
        elif pin_time is not None and appeared is not None:
            if appeared > pin_time:
                chosen.append(version)
        elif key is None:
            logger.info("ignoring %s version %r: it does not parse", ecosystem, version)
        elif pin_key is not None and key[0] > pin_key[0]:
            chosen.append(version)
    return _oldest_first(ecosystem, chosen, times)


def _oldest_first(
    ecosystem: Ecosystem, versions: list[str], times: Mapping[str, datetime | None]
) -> list[str]:
    known = {v: t for v in versions if (t := times.get(v)) is not None}
    if len(known) == len(versions):
        # sorted() is stable: equal times keep the registry's order.
        return sorted(versions, key=known.__getitem__)

    def by_version(version: str) -> tuple[int, Any]:
        key = version_key(ecosystem, version)
        return (1, key[0]) if key is not None else (0, versions.index(version))

    return sorted(versions, key=by_version)


def jittered(seconds: float, spread: float = JITTER) -> float:
    """`seconds` stretched or shrunk at random by up to `spread` (never below one second)."""
    return max(1.0, seconds * random.uniform(1 - spread, 1 + spread))


# --- one poll -------------------------------------------------------------------------------


def _label(sub: Subscription, version: str) -> str:
    return f"{sub.ecosystem.value}/{sub.name}@{version}"


def poll(
    store: Store,
    subscription: Subscription,
    sources_factory: SourcesFactory,
    now: datetime,
    owner: str,
    *,
    rules: str | None = None,
) -> list[Outcome]:
    """Poll one subscription: analyse each new release against the pin and queue alerts.

    The version list is asked for conditionally, with the validators the registry sent last
    time (poll state): a 304 ends the poll at once, without a document to parse. Every error
    of the registry, a fetch or an analysis is caught here and recorded in the package's poll
    state (tries + 1, backoff in the store), so the caller can go on with the next package. A
    release that fails does not hold back the others of the same poll; it is tried again on
    the next poll. `owner` names this poller in logs. Store errors are not caught: without
    the store nothing can be recorded or retried, so they end the cycle.
    """
    rules = rules or rules_version()
    sub = subscription
    tag = tag_package(sub.ecosystem, sub.name)
    session = store.session()
    try:
        context = repo.poll_context(session, sub.ecosystem, sub.name, sub.pinned, rules)
        pin, before = context.pin, context.state
        outcomes: list[Outcome] = []
        failure: WatcherError | None = None
        keep = Validators()
        try:
            try:
                sources = sources_factory(sub)
                answer = sources.registry.latest_versions(
                    sub.name, _validators(session, sub, context)
                )
            except Exception as e:  # noqa: BLE001  (see _as_failure)
                raise _as_failure(e) from e
        except WatcherError as e:
            failure = e
            outcomes.append(_failed(sub, pin, None, e))
        else:
            if isinstance(answer, NotModified):
                keep = answer.validators
            else:
                info = answer.info
                if not _listed(sub.ecosystem, pin, info.versions):
                    # A pin the registry does not have (a mistyped approval made before
                    # approve checked, a typo in the file) compares with nothing: said at
                    # every poll, never a silent pass.
                    failure = VersionNotFound(
                        f"{_label(sub, pin)}: the pin is not a version the registry lists; "
                        "nothing can be compared with it (approve or pin a version it has)"
                    )
                    outcomes.append(_failed(sub, pin, None, failure))
                todo, capped = _todo(session, sub, info, pin, rules, now)
                # Releases past the per-poll cap are not recorded as seen yet; without
                # validators the next poll reads the whole list again and gets to them.
                if not capped:
                    keep = answer.validators
                for version in todo:
                    try:
                        try:
                            with package_context(sub.ecosystem, sub.name, version):
                                outcome = _analyse(
                                    session, sources, sub, info, pin, version, rules, now
                                )
                        except Exception as e:  # noqa: BLE001  (see _as_failure)
                            raise _as_failure(e) from e
                    except WatcherError as e:
                        failure = failure or e
                        outcomes.append(_failed(sub, pin, version, e))
                        continue
                    if outcome is not None:
                        outcomes.append(outcome)
        if failure is not None:
            state = repo.save_poll_result(
                session,
                sub.ecosystem,
                sub.name,
                now=now,
                interval_seconds=sub.interval_seconds,
                error=failure.diagnostics(),
            )
            _log_failure(sub, pin, state, failure, owner)
            if state.tries == RETRY_BUDGET:
                _operational(session, sub, "unreachable", state.tries, failure, now)
            return outcomes
        repo.save_poll_result(
            session,
            sub.ecosystem,
            sub.name,
            now=now,
            interval_seconds=jittered(sub.interval_seconds),
            etag=keep.etag,
            last_modified=keep.last_modified,
        )
        if before is not None and before.tries >= RETRY_BUDGET:
            _operational(session, sub, "recovered", before.tries, None, now)
        if not outcomes:
            logger.info(
                "polled %s: %s",
                _label(sub, pin),
                "no new release (not modified)"
                if isinstance(answer, NotModified)
                else "no new release",
            )
        return outcomes
    finally:
        session.close()
        untag_package(tag)


def _as_failure(error: Exception) -> WatcherError:
    """Any error of one package's poll as a `WatcherError`, so the cycle goes on (issue: a
    RecursionError from a hostile packument once ended `check` and stalled `run`).

    The analysis itself already reports what it could not read as a finding (SPEC §4.5);
    what reaches here is a registry or a bug, and is retried with backoff like an outage.
    Store errors still end the cycle: without the store nothing can be recorded or retried.
    """
    if isinstance(error, SQLAlchemyError):
        raise error
    if isinstance(error, WatcherError):
        return error
    logger.error("unexpected %s while polling", type(error).__name__, exc_info=error)
    return WatcherError(f"unexpected {type(error).__name__}: {error}")


def _validators(
    session: Session, sub: Subscription, context: repo.PollContext
) -> Validators | None:
    """The stored validators, unless a 304 would hide work left over from earlier polls.

    Releases seen before but not analysed against this pin under these rules (the pin moved,
    the rules changed, an analysis failed) need the full document, so the request goes out
    unconditionally; so does a package whose registry never sent validators. Which of them
    are candidates is decided by the times the store kept, as `_todo` decides with fresh ones;
    while the store has no time for the pin (never analysed itself), every one of them counts,
    since a release below the pin may have been published after it.
    """
    state = context.state
    if state is None or not (state.etag or state.last_modified):
        return None
    pending = set(context.unanalysed) - {context.pin}
    if pending:
        seen = repo.seen_releases(session, sub.ecosystem, sub.name)
        horizon = _horizon(seen)
        times = {
            v: _appeared(row, horizon, is_pin=v == context.pin)
            for v, row in seen.items()
            if v in pending or v == context.pin
        }
        if times.get(context.pin) is None or candidate_versions(sub.ecosystem, times, context.pin):
            return None
    return Validators(etag=state.etag, last_modified=state.last_modified)


def _listed(ecosystem: Ecosystem, pin: str, versions: Iterable[str]) -> bool:
    """Whether the registry lists `pin` (by version equality: PyPI's `1.0` is `1.0.0`)."""
    if pin in versions:
        return True
    key = version_key(ecosystem, pin)
    return key is not None and any(version_key(ecosystem, v) == key for v in versions)


def _failed(sub: Subscription, pin: str, version: str | None, error: WatcherError) -> Outcome:
    if version is not None:
        logger.warning("analysis of %s failed: %s", _label(sub, version), error.diagnostics())
    return Outcome(
        sub.ecosystem, sub.name, pin, version, fail_on=sub.fail_on, error=error.diagnostics()
    )


def _todo(
    session: Session, sub: Subscription, info: PackageInfo, pin: str, rules: str, now: datetime
) -> tuple[list[str], bool]:
    """Releases to analyse against `pin` (`candidate_versions`) not analysed yet, at most
    `MAX_NEW_RELEASES_PER_POLL` of them, the newest and `latest` first; and whether some were
    left for later polls."""
    times = _appearance(session, sub, info, pin, now)
    fresh = [
        v
        for v in candidate_versions(sub.ecosystem, times, pin, latest=info.latest)
        if not repo.has_analysis(session, sub.ecosystem, sub.name, pin, v, rules)
    ]
    if len(fresh) <= MAX_NEW_RELEASES_PER_POLL:
        return fresh, False
    logger.warning(
        "%s: %d new releases; analysing the newest %d now, the rest on later polls",
        _label(sub, pin),
        len(fresh),
        MAX_NEW_RELEASES_PER_POLL,
    )
    if info.latest not in fresh:
        return fresh[-MAX_NEW_RELEASES_PER_POLL:], True
    # What `npx -y` runs is never the one left for later.
    rest = [v for v in fresh if v != info.latest]
    keep = MAX_NEW_RELEASES_PER_POLL - 1
    return [*rest[len(rest) - keep :], info.latest], True


def _appearance(
    session: Session, sub: Subscription, info: PackageInfo, pin: str, now: datetime
) -> dict[str, datetime | None]:
    """When each listed version appeared: its publish time, else when a poll first saw it.

    Versions the registry gives no time for (a PEP 503 index gives none) are recorded when
    first listed. Those already listed on the package's first such poll appeared at some
    unknown time before it (None: not "after the pin" by time, so a new subscription does not
    alert on its whole history); later ones appeared between two polls. A pin without a time
    counts from that first poll, before which it was published; a pin with a time is recorded
    with it, so that `_validators` can tell what came after it without the registry's list.
    The store is read only for a registry that left some version without a time, and written
    only when such a version is new.
    """
    untimed = [v for v, t in info.versions.items() if t is None]
    if not untimed:
        return dict(info.versions)
    seen = repo.seen_releases(session, sub.ecosystem, sub.name)
    record: dict[str, datetime | None] = {v: None for v in untimed if v not in seen}
    pin_row = seen.get(pin)
    if pin in info.versions and (pin_row is None or pin_row.published_at is None):
        record[pin] = info.versions[pin]
    if record:
        seen = repo.record_releases_seen(session, sub.ecosystem, sub.name, record, now=now)
    horizon = _horizon(seen)
    times: dict[str, datetime | None] = {}
    for version, published in info.versions.items():
        row = seen.get(version)
        if published is not None or row is None:
            times[version] = published
        else:
            times[version] = _appeared(row, horizon, is_pin=version == pin)
    return times


def _horizon(seen: Mapping[str, repo.SeenRelease]) -> datetime | None:
    """The first poll that saw time-less versions: what it listed appeared before it."""
    return min((r.first_seen_at for r in seen.values() if r.published_at is None), default=None)


def _appeared(row: repo.SeenRelease, horizon: datetime | None, *, is_pin: bool) -> datetime | None:
    """When the release `row` records appeared, as far as can be told (see `_appearance`)."""
    if row.published_at is not None:
        return row.published_at
    if is_pin or (horizon is not None and row.first_seen_at > horizon):
        return row.first_seen_at
    return None


def _analyse(
    session: Session,
    sources: Sources,
    sub: Subscription,
    info: PackageInfo,
    pin: str,
    version: str,
    rules: str,
    now: datetime,
) -> Outcome | None:
    """Analyse one new release and store it with its alerts; None when it is yanked."""
    repo.record_release_seen(
        session, sub.ecosystem, sub.name, version, published_at=info.versions.get(version), now=now
    )
    try:
        release = sources.registry.release(sub.name, version)
    except VersionNotFound:
        # Listed a moment ago, gone now (unpublished): nothing left to install, nothing to say.
        logger.info("%s disappeared from the registry; skipping", _label(sub, version))
        return None
    if release.yanked:
        # Installers skip a yanked release unless it is pinned exactly: not a new risk.
        logger.info("%s is yanked; skipping", _label(sub, version))
        return None
    # Before storing and alerting: an allowed signal must never alert, and the stored report
    # still lists it (as suppressed) for whoever reviews the release.
    report = apply_policy(diff_release(sources, sub.name, pin, version), sub.policy)
    channels = list(sub.notify) if reaches(report.severity, sub.fail_on) else []
    record = repo.record_analysis_with_alerts(session, report, channels, rules, now=now)
    logger.info(
        "polled %s: %s %s score %d%s",
        _label(sub, pin),
        _label(sub, version),
        report.severity.value,
        report.score,
        f", {len(record.alert_ids)} alert(s) queued" if record.created and channels else "",
    )
    return Outcome(
        ecosystem=sub.ecosystem,
        name=sub.name,
        pinned=pin,
        version=version,
        report=report,
        created=record.created,
        alert_ids=record.alert_ids if record.created else (),
        fail_on=sub.fail_on,
    )


def _log_failure(
    sub: Subscription, pin: str, state: repo.PollState, error: WatcherError, owner: str
) -> None:
    message = "poll of %s failed (%d in a row, next try %s, %s): %s"
    args = (_label(sub, pin), state.tries, state.next_poll_at.isoformat(), owner)
    if state.tries == RETRY_BUDGET:
        logger.error(message + " -- retry budget spent, operational alert queued", *args, error)
    elif state.tries > RETRY_BUDGET:
        logger.info(message, *args, error.diagnostics())
    else:
        logger.warning(message, *args, error.diagnostics())


# Credentials that could ride along in an error text: URL userinfo, query strings (signed
# URLs, `?token=`), and authorization header values.
_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")
_QUERY = re.compile(r"(?<=[^\s?#])\?[^\s#]*")
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic|token)(\s+|=)\S+")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credentials removed, for anything that leaves the process (alerts)."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _USERINFO.sub("", text)
    text = _QUERY.sub("", text)
    return _AUTH_VALUE.sub(lambda m: f"{m[1]}{m[2]}***", text)


def _registry_url(sub: Subscription) -> str:
    if sub.registry:
        return display_url(sub.registry)
    return PUBLIC_NPM_REGISTRY if sub.ecosystem is Ecosystem.NPM else PUBLIC_PYPI


def _operational(
    session: Session,
    sub: Subscription,
    event: str,
    failures: int,
    error: WatcherError | None,
    now: datetime,
) -> None:
    """Queue the one operational alert of a failure streak (or of its end) to `sub.notify`.

    Registry trouble past the retry budget means releases go unwatched, which the people who
    watch them must know; it is marked as operational so nobody reads it as a verdict on a
    release. Once per streak: it is queued when `tries` reaches the budget exactly, and the
    outbox's key (event + time) makes a repeat of the same call a no-op.
    """
    secrets = [os.environ.get(v, "") for v in TOKEN_ENV.values()]
    registry = scrub(_registry_url(sub), secrets)
    package = f"{sub.ecosystem.value}/{sub.name}"
    detail = scrub(error.diagnostics(), secrets) if error is not None else None
    if event == "unreachable":
        summary = (
            f"watcher cannot poll registry {registry} for package {package} "
            f"({failures} failures in a row, as of {now.isoformat(timespec='seconds')}): "
            f"{detail}"
        )
    else:
        summary = (
            f"watcher can poll registry {registry} for package {package} again "
            f"(after {failures} failures in a row)"
        )
    payload = {
        "schema": 1,
        "kind": "operational",
        "severity": "operational",
        "event": event,
        "registry": registry,
        "failures": failures,
        "error": detail,
        "at": now.isoformat(),
        "summary": summary,
    }
    ids = repo.record_operational_alert(
        session,
        sub.ecosystem,
        sub.name,
        list(sub.notify),
        payload,
        f"{event}:{now.isoformat()}",
        now=now,
    )
    logger.info("operational alert (%s) for %s queued: %d", event, package, len(ids))


# --- alert delivery -------------------------------------------------------------------------


class NotifierCache:
    """One notifier per notify target, built on first use from the environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._built: dict[str, Notifier] = {}

    def __call__(self, channel: str) -> Notifier:
        """The notifier for `channel`; `UsageError` for a target the environment cannot serve."""
        if channel not in self._built:
            self._built[channel] = notifier_for(channel, self._env)
        return self._built[channel]


def _alert(
    pending: repo.PendingAlert, pages: ReportPages | None = None
) -> Alert | OperationalAlert:
    if pending.kind is repo.AlertKind.OPERATIONAL:
        return _operational_alert(pending)
    rules = str(pending.payload.get("rules_version", ""))
    report = report_from_dict(pending.report)
    key = repo.alert_dedup_key(
        pending.ecosystem.value,
        pending.name,
        pending.old_version,
        pending.new_version,
        rules,
        pending.channel,
    )
    # Written at each attempt (same key, same file): a retry after a lost page still links.
    url = pages.publish(report, key) if pages is not None else None
    return Alert(
        report=report,
        channel=pending.channel,
        links=(),
        dedup_key=key,
        pin_source=pending.pin_source,
        report_url=url,
    )


def _operational_alert(pending: repo.PendingAlert) -> OperationalAlert:
    """The notifier's view of a queued operational alert (`_operational` wrote the payload)."""
    p = pending.payload
    error = p.get("error")
    return OperationalAlert(
        channel=pending.channel,
        dedup_key=repo.operational_dedup_key(
            pending.ecosystem.value,
            pending.name,
            f"{p.get('event')}:{p.get('at')}",
            pending.channel,
        ),
        event=str(p.get("event", "")),
        ecosystem=pending.ecosystem.value,
        package=pending.name,
        registry=str(p.get("registry", "")),
        failures=int(p.get("failures", 0)),
        error=str(error) if error is not None else None,
        at=str(p.get("at", "")),
        summary=str(p.get("summary", "")),
    )


def deliver(
    store: Store,
    notifiers: Callable[[str], Notifier],
    owner: str,
    now: datetime,
    *,
    limit: int = 20,
    pages: ReportPages | None = None,
) -> int:
    """Send the alerts that are due; returns how many were delivered.

    `pages`: where each alert's full report is written as HTML, and linked from the alert.

    Each claimed alert is marked as in flight, sent, then marked sent; an alert claimed again
    while marked in flight (its sender died or timed out) is first looked for at receivers
    that can say (`ConfirmingNotifier`: Slack), so it is not sent twice. A `NotifyError`
    keeps the mark and schedules a retry (after the receiver's Retry-After when it gave one)
    or, when permanent, fails it for good. A notifier that cannot be built (e.g. `webhook`
    without `WATCHER_WEBHOOK_URL`) fails the alert permanently: the configuration must change
    before a retry can work.
    """
    session = store.session()
    sent = 0
    tag = None
    try:
        for pending in repo.claim_due_alerts(session, owner, now, limit=limit):
            if tag is not None:
                untag_package(tag)
            tag = tag_package(pending.ecosystem, pending.name, pending.new_version)
            label = f"{pending.ecosystem.value}/{pending.name}@{pending.new_version}"
            if pending.kind is repo.AlertKind.OPERATIONAL:
                label = f"{pending.ecosystem.value}/{pending.name} (operational)"
            try:
                alert = _alert(pending, pages)
                notifier = notifiers(pending.channel)
                # Committed before the send: a sender that dies mid-send leaves this mark, and
                # the next one asks the receiver before sending again (exactly once).
                if repo.begin_attempt(session, pending.id, owner, now=now) is None:
                    logger.warning("alert for %s: lease lost before sending; skipped", label)
                    continue
                remote_ref: str | None = None
                if isinstance(notifier, ConfirmingNotifier) and isinstance(alert, Alert):
                    remote_ref = notifier.send_once(alert, unsure_since=pending.attempt_started_at)
                else:
                    notifier.send(alert)
            except NotifyError as e:
                retry_at = (
                    now + timedelta(seconds=e.retry_after) if e.retry_after is not None else None
                )
                status = repo.mark_failed(
                    session,
                    pending.id,
                    e.diagnostics(),
                    retry_at,
                    now=now,
                    permanent=e.permanent,
                )
                log = logger.error if status is repo.AlertStatus.FAILED else logger.warning
                log("alert for %s to %s not delivered (%s): %s", label, pending.channel, status, e)
                continue
            except (WatcherError, ValueError) as e:
                # A bad notify target or an unreadable stored report: retrying cannot help.
                repo.mark_failed(session, pending.id, str(e), now=now, permanent=True)
                logger.error("alert for %s to %s failed for good: %s", label, pending.channel, e)
                continue
            # A `slack:` alert written to the console must not read as sent to Slack.
            via = notifier.delivered_via if isinstance(notifier, ConsoleNotifier) else None
            repo.mark_sent(session, pending.id, now=now, remote_ref=remote_ref, delivered_via=via)
            logger.info(
                "alert for %s delivered to %s%s",
                label,
                pending.channel,
                f" ({via})" if via else "",
            )
            sent += 1
    finally:
        if tag is not None:
            untag_package(tag)
        session.close()
    return sent


# --- one whole cycle ------------------------------------------------------------------------


def registry_sources(
    http: HttpClient, cache: Path | None, limits: Limits | None = None
) -> SourcesFactory:
    """The production `SourcesFactory`: each subscription's registry (public or its own URL).

    One `HttpClient` (connection pool, tokens) serves every poll; a new registry client per
    poll means fresh registry documents every time. `limits` caps downloads and extraction
    (when None: read from the `WATCHER_MAX_*` environment variables).
    """
    limits = limits if limits is not None else limits_from_env(os.environ)

    def build(sub: Subscription) -> Sources:
        registry = open_registry(sub.ecosystem, http, sub.registry)
        fetcher = Fetcher(http=http, cache_dir=cache, max_bytes=limits.max_download_bytes)
        public = public_counterpart(sub.ecosystem, http, sub.registry)
        return Sources(registry, fetcher, limits.extract, public)

    return build


@dataclass(frozen=True, slots=True)
class Unreviewed:
    """A stored analysis of a release newer than the pin that reached `fail_on`."""

    ecosystem: Ecosystem
    name: str
    pinned: str
    version: str
    severity: Severity
    score: int
    #: Where the pin came from: `file` or `approved by WHO on DATE` (`repo.Pin.source`); for a
    #: dependency release its subscriptions' tree still installs, `dependency: PATH; PATH`.
    pin_source: str = "file"


def unreviewed(store: Store, subscriptions: Iterable[Subscription]) -> list[Unreviewed]:
    """Releases after each pin whose analysis (current rules) reached `fail_on`.

    This is what `watcher check` gates on: a malicious release stays a failure on every run,
    not only the run that first analysed it, until `watcher approve` moves the pin past it.
    In subscription order, each package's versions in `watcher history` order. The store is
    asked once for every package (`repo.pinned_analyses`), not once per package: `check`
    runs this over the whole watch list after every cycle.
    """
    subs = list(subscriptions)
    severities = {s for s in Severity if any(reaches(s, sub.fail_on) for sub in subs)}
    session = store.session()
    try:
        rows = repo.pinned_analyses(
            session, [(s.ecosystem, s.name, s.pinned) for s in subs], rules_version(), severities
        )
        pins = repo.current_pins(session, [(s.ecosystem, s.name) for s in subs]) if rows else {}
    finally:
        session.close()
    by_package: dict[tuple[Ecosystem, str], list[repo.PinnedAnalysis]] = {}
    for row in rows:
        by_package.setdefault((row.ecosystem, row.name), []).append(row)
    found: list[Unreviewed] = []
    for sub in subs:
        analyses = by_package.get((sub.ecosystem, normalize_name(sub.ecosystem, sub.name)), [])
        if not analyses:
            continue
        pin = analyses[0].pin
        current = pins.get((sub.ecosystem, normalize_name(sub.ecosystem, sub.name)))
        source = current.source if current is not None and current.version == pin else "file"
        # Every analysis against the pin is of a release the poller chose as published after
        # it, whatever its version number (a lower, out-of-order release included).
        newer = {a.new_version for a in analyses} - {pin}
        found.extend(
            Unreviewed(sub.ecosystem, sub.name, pin, a.new_version, a.severity, a.score, source)
            for a in sorted(analyses, key=lambda a: a.order)
            if a.new_version in newer and reaches(a.severity, sub.fail_on)
        )
    return found + _installed_dependencies(store, subs)


def _installed_dependencies(store: Store, subs: Sequence[Subscription]) -> list[Unreviewed]:
    """Dependency releases that reached a subscription's `fail_on` and that its tree still
    installs: a failure of `check` until the tree moves past them (a newer release of the
    dependency is resolved) or the subscription's pin moves. Each once per package and
    version, its source the paths (`dependency: server@1.0.0 → a@^1 → b 2.0.0 → 2.0.1`)."""
    subs = [s for s in subs if s.fail_on is not Severity.NONE]
    if not subs:
        return []
    by_key = {(s.ecosystem, normalize_name(s.ecosystem, s.name)): s for s in subs}
    rules = rules_version()
    session = store.session()
    try:
        rows = [
            (eco, row)
            for eco in {s.ecosystem for s in subs}
            for row in trees.installed_dependency_releases(
                session, eco, [s.name for s in subs if s.ecosystem is eco], rules
            )
        ]
    finally:
        session.close()
    found: dict[tuple[Ecosystem, str, str], tuple[trees.InstalledDependencyRelease, list[str]]] = {}
    for eco, row in rows:
        sub = by_key.get((eco, row.name))
        if sub is None or not reaches(row.severity, sub.fail_on):
            continue
        key = (eco, row.package, row.new_version)
        found.setdefault(key, (row, []))[1].append(row.path)
    return [
        Unreviewed(
            eco,
            row.package,
            row.old_version or "(new)",
            row.new_version,
            row.severity,
            row.score,
            "dependency: " + "; ".join(paths),
        )
        for (eco, _, _), (row, paths) in found.items()
    ]


def check_once(
    store: Store,
    subscriptions: Sequence[Subscription],
    sources_factory: SourcesFactory,
    notifiers: Callable[[str], Notifier],
    now: datetime,
    owner: str,
    *,
    progress: Callable[[int, int, Subscription], None] | None = None,
    pages: ReportPages | None = None,
) -> list[Outcome]:
    """Sync pins, poll every subscription now (whatever its schedule), deliver; the outcomes.

    `progress(done, total, subscription)` is called before each poll (the CLI draws a line).
    """
    session = store.session()
    try:
        repo.sync_pins(session, subscriptions, now=now)
    finally:
        session.close()
    rules = rules_version()
    outcomes: list[Outcome] = []
    for index, sub in enumerate(subscriptions):
        if progress is not None:
            progress(index, len(subscriptions), sub)
        outcomes.extend(poll(store, sub, sources_factory, now, owner, rules=rules))
    watch_trees(store, subscriptions, sources_factory, now, owner, rules=rules)
    deliver(store, notifiers, owner, now, pages=pages)
    return outcomes


def watch_trees(
    store: Store,
    subscriptions: Sequence[Subscription],
    sources_factory: SourcesFactory,
    now: datetime,
    owner: str,
    *,
    rules: str | None = None,
    due_only: bool = False,
) -> TreeCycle:
    """One cycle over the subscriptions' dependency trees (`watcher.tree.follow`): the
    packages they resolve through are polled once each, and a release a range now resolves
    to is analysed and queued to the subscriptions whose tree it is in, with the path.

    A failure of one registry is logged and leaves its trees for the next cycle; store errors
    end the cycle, as in `poll`. `due_only` (the daemon): only registries whose trees are due;
    `check` follows them all, unless another process is following them right now.
    """
    try:
        cycle = follow_trees(
            store,
            subscriptions,
            sources_factory,
            now,
            rules=rules or rules_version(),
            alerts_for=lambda report, sub: reaches(report.severity, sub.fail_on),
            owner=owner,
            due_only=due_only,
            next_in=jittered,
        )
    except SQLAlchemyError:
        raise
    except WatcherError as e:
        logger.error("dependency trees not followed this cycle: %s", e.diagnostics())
        return TreeCycle()
    logger.info(
        "dependency trees: %d package(s) polled (%d requests, %d not modified), "
        "%d tree(s) resolved, %d dependency release(s) analysed",
        cycle.packages,
        cycle.stats.requests,
        cycle.stats.not_modified,
        cycle.resolved,
        len(cycle.releases),
    )
    return cycle


def subscription_index(
    subscriptions: Iterable[Subscription],
) -> dict[tuple[Ecosystem, str], Subscription]:
    """Subscriptions by the store's key (ecosystem, normalised name), to match claimed polls."""
    return {(s.ecosystem, normalize_name(s.ecosystem, s.name)): s for s in subscriptions}
