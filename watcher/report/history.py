"""`watcher history`: what the store knows about a package, as text or JSON.

One entry per version (oldest first): when it was seen and published, each analysis (against
which pin, score, severity, rule-set version) with its alerts' delivery state (and the channel
actually used when it was not the alert's own, e.g. "console, Slack not configured", status
`fallback` in JSON), and
approvals. The pinned version says where the pin comes from, as `subscriptions list` does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from watcher.escape import terminal
from watcher.store.repo import AlertSummary, AnalysisSummary, Approval, HistoryEntry
from watcher.store.trees import DependencyHistoryEntry


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _alert(alert: AlertSummary) -> dict[str, Any]:
    return {
        "channel": alert.channel,
        # Delivered, but not to `channel`: never reported as "sent" there.
        "status": "fallback" if alert.delivered_via else alert.status.value,
        "delivered_via": alert.delivered_via,
        "attempts": alert.attempts,
        "last_error": alert.last_error,
        "created_at": _time(alert.created_at),
        "sent_at": _time(alert.sent_at),
    }


def _analysis(analysis: AnalysisSummary) -> dict[str, Any]:
    return {
        "old_version": analysis.old_version,
        "new_version": analysis.new_version,
        "score": analysis.score,
        "severity": analysis.severity.value,
        "rules_version": analysis.rules_version,
        "created_at": _time(analysis.created_at),
        "alerts": [_alert(a) for a in analysis.alerts],
    }


def _approval(approval: Approval) -> dict[str, Any]:
    return {
        "from_version": approval.from_version,
        "to_version": approval.to_version,
        "by": approval.who,
        "at": _time(approval.at),
        "note": approval.note,
    }


def history_dicts(entries: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """The entries as JSON-ready data."""
    return [
        {
            "version": e.version,
            "pinned": e.pinned,
            "pin_source": e.pin_source,
            "first_seen_at": _time(e.first_seen_at),
            "published_at": _time(e.published_at),
            "analyses": [_analysis(a) for a in e.analyses],
            "approvals": [_approval(a) for a in e.approvals],
        }
        for e in entries
    ]


def render_history_json(
    entries: Sequence[HistoryEntry], dependencies: Sequence[DependencyHistoryEntry] = ()
) -> str:
    """One JSON object: `{"schema": 1, "versions": [...]}`, newline-terminated; with
    `"dependencies"` (releases analysed in the subscription's tree) when there are any."""
    document: dict[str, Any] = {"schema": 1, "versions": history_dicts(entries)}
    if dependencies:
        document["dependencies"] = [
            {"package": d.package, "path": d.path, **_analysis(d.analysis)} for d in dependencies
        ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _alert_text(alert: AlertSummary) -> str:
    if alert.delivered_via:
        # Never "sent" for a channel that did not get it.
        return f"{terminal(alert.channel)}: {terminal(alert.delivered_via)}"
    failed = (
        f" after {alert.attempts} failed tries: {terminal(alert.last_error)}"
        if alert.last_error
        else ""
    )
    return f"{terminal(alert.channel)} {alert.status.value}{failed}"


def render_history_text(
    entries: Sequence[HistoryEntry], dependencies: Sequence[DependencyHistoryEntry] = ()
) -> str:
    """A few lines per version, for a person at a terminal, then the dependency releases
    analysed in the subscription's tree, each with its path (registry text shown escaped)."""
    lines: list[str] = []
    for entry in entries:
        head = terminal(entry.version)
        if entry.pinned:
            head += (
                f"  (pinned: {terminal(entry.pin_source)})" if entry.pin_source else "  (pinned)"
            )
        seen = _time(entry.first_seen_at)
        lines.append(head + (f"  seen {seen}" if seen else ""))
        for analysis in entry.analyses:
            against = terminal(analysis.old_version or "(first release)")
            alerts = ", ".join(_alert_text(a) for a in analysis.alerts)
            lines.append(
                f"  analysed vs {against}: {analysis.severity.value} (score {analysis.score})"
                + (f"; alerts: {alerts}" if alerts else "; no alert")
            )
        for approval in entry.approvals:
            note = f": {terminal(approval.note)}" if approval.note else ""
            lines.append(
                f"  approved by {terminal(approval.who)} at {_time(approval.at)} "
                f"(from {terminal(approval.from_version or 'no pin')}){note}"
            )
    if dependencies:
        lines.append("dependency releases in its tree:")
    for dep in dependencies:
        a = dep.analysis
        alerts = ", ".join(_alert_text(x) for x in a.alerts)
        lines.append(
            f"  {terminal(dep.package)} {terminal(a.old_version or '(new to the tree)')} → "
            f"{terminal(a.new_version)}: {a.severity.value} (score {a.score})"
            + (f"; alerts: {alerts}" if alerts else "; no alert")
        )
        lines.append(f"    {terminal(dep.path)}")
    return "\n".join(lines) + "\n"
