"""Console alerts: the text report behind a one-line banner, for development and for daemons
that run without Slack (the default when `SLACK_BOT_TOKEN` is unset)."""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.errors import NotifyError
from watcher.httpclient import escape_controls
from watcher.notify.base import Alert, OperationalAlert, all_links
from watcher.report.digest import approve_command
from watcher.report.text import render_text


def banner(alert: Alert) -> str:
    """One line that says an alert starts here, for whom and what about."""
    report = alert.report
    return (
        f"=== watcher alert for {alert.channel}: {report.severity.value.upper()} "
        f"{report.package} {report.new_version} (key {alert.dedup_key}) ==="
    )


def operational_banner(alert: OperationalAlert) -> str:
    """The banner of an operational alert: marked as such, never with a release severity."""
    return (
        f"=== watcher OPERATIONAL alert for {alert.channel}: {alert.event} "
        f"{alert.ecosystem}/{alert.package} (key {alert.dedup_key}) ==="
    )


def _next_step(alert: Alert) -> list[str]:
    """The full report's link, when published, and the command that accepts the release."""
    report = alert.report
    command = approve_command(report.ecosystem, report.package, report.new_version)
    lines = [f"full report: {escape_controls(alert.report_url)}"] if alert.report_url else []
    return [*lines, f"reviewed and fine? {escape_controls(command)}"]


class ConsoleNotifier:
    """Writes alerts to a text stream (standard output unless told otherwise)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # Resolved at send time when None, so a redirected sys.stdout is honoured.
        self._stream = stream

    def __repr__(self) -> str:
        return "ConsoleNotifier()"

    def send(self, alert: Alert | OperationalAlert) -> None:
        """Write the banner, the text report and the alert's extra links."""
        stream = self._stream or sys.stdout
        if isinstance(alert, OperationalAlert):
            lines = [operational_banner(alert), alert.summary]
        else:
            lines = [banner(alert), render_text(alert.report).rstrip("\n")]
            # render_text already prints the report's own links.
            lines.extend(
                f"link: {link}" for link in all_links(alert) if link not in alert.report.links
            )
            lines.extend(_next_step(alert))
        try:
            stream.write("\n".join(lines) + "\n\n")
            stream.flush()
        except (OSError, ValueError) as e:  # closed pipe or stream
            raise NotifyError(f"cannot write the alert to the console: {e}") from None
