"""Unreviewed baselines: pins nobody reviewed (`reviewed = false`) are scanned, not trusted.

`watcher subscriptions import` writes the registry's current latest as the pin of a server
that was not pinned anywhere. That version is only a starting point: diffing later releases
against it would silently trust whatever it contains. So each such pin is scanned on its own,
as a first release (every file is new), once per rule set; the analysis is stored like any
other (alerts at the subscription's `fail_on` go to its channels), and `watcher check` fails
on it until `watcher approve NAME VERSION` records that someone reviewed it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from watcher.errors import WatcherError
from watcher.logs import package_context
from watcher.models import Ecosystem, Severity
from watcher.pipeline import scan_release
from watcher.policy import apply_policy
from watcher.store import repo
from watcher.store.db import Store
from watcher.subscriptions import Subscription
from watcher.watch import SourcesFactory, reaches, rules_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UnreviewedBaseline:
    """A `reviewed = false` pin no approval covers, and its first-release scan."""

    ecosystem: Ecosystem
    name: str
    version: str
    #: The scan's verdict; None when the scan failed (`error`).
    severity: Severity | None
    score: int | None
    error: str | None = None


def _stored(session: Session, sub: Subscription, version: str, rules: str) -> repo.AnalysisSummary:
    for entry in repo.history(session, sub.ecosystem, sub.name):
        if entry.version == version:
            for analysis in entry.analyses:
                if analysis.old_version is None and analysis.rules_version == rules:
                    return analysis
    raise WatcherError(f"the stored scan of {sub.name}@{version} is missing")


def scan_baselines(
    store: Store,
    subscriptions: Iterable[Subscription],
    sources_factory: SourcesFactory,
    now: datetime,
    *,
    rules: str | None = None,
) -> list[UnreviewedBaseline]:
    """Every `reviewed = false` pin still awaiting review, each scanned once per rule set.

    A pin not scanned under the current rules is scanned now (alerts queued for its channels
    at or above `fail_on`); one scanned before is returned with its stored verdict.

    A pin counts as reviewed once an approval is the package's effective pin (`watcher
    approve` of it, or of a later release). A failed scan is returned with its error, and is
    tried again next time.
    """
    rules = rules or rules_version()
    subs = [s for s in subscriptions if not s.reviewed]
    if not subs:
        return []
    found: list[UnreviewedBaseline] = []
    session = store.session()
    try:
        pins = repo.effective_pins(session, subs)
        for sub, pin in zip(subs, pins, strict=True):
            if pin.approved_by is not None or pin.version != sub.pinned:
                continue
            version = sub.pinned
            try:
                if repo.has_analysis(session, sub.ecosystem, sub.name, None, version, rules):
                    stored = _stored(session, sub, version, rules)
                    found.append(
                        UnreviewedBaseline(
                            sub.ecosystem, sub.name, version, stored.severity, stored.score
                        )
                    )
                    continue
                with package_context(sub.ecosystem, sub.name, version):
                    report = apply_policy(
                        scan_release(sources_factory(sub), sub.name, version), sub.policy
                    )
                channels = list(sub.notify) if reaches(report.severity, sub.fail_on) else []
                repo.record_analysis_with_alerts(session, report, channels, rules, now=now)
                logger.info(
                    "scanned unreviewed pin %s/%s@%s: %s score %d",
                    sub.ecosystem.value,
                    sub.name,
                    version,
                    report.severity.value,
                    report.score,
                )
                found.append(
                    UnreviewedBaseline(
                        sub.ecosystem, sub.name, version, report.severity, report.score
                    )
                )
            except WatcherError as e:
                logger.warning(
                    "scan of unreviewed pin %s/%s@%s failed: %s",
                    sub.ecosystem.value,
                    sub.name,
                    version,
                    e.diagnostics(),
                )
                found.append(
                    UnreviewedBaseline(
                        sub.ecosystem, sub.name, version, None, None, e.diagnostics()
                    )
                )
    finally:
        session.close()
    return found
