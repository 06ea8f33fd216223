"""Console alerts: the text report behind a one-line banner, for development and for daemons
that run without Slack (the default when `SLACK_BOT_TOKEN` is unset)."""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.errors import NotifyError
from watcher.escape import terminal
from watcher.notify.base import Alert, OperationalAlert, all_links
from watcher.report.text import render_text


def banner(alert: Alert) -> str:
    """One line that says an alert starts here, for whom and what about."""
    report = alert.report
    return (
        f"=== watcher alert for {terminal(alert.channel)}: {report.severity.value.upper()} "
        f"{terminal(report.package)} {terminal(report.new_version)} (key {alert.dedup_key}) ==="
    )


def operational_banner(alert: OperationalAlert) -> str:
    """The banner of an operational alert: marked as such, never with a release severity."""
    return (
        f"=== watcher OPERATIONAL alert for {terminal(alert.channel)}: {alert.event} "
        f"{alert.ecosystem}/{terminal(alert.package)} (key {alert.dedup_key}) ==="
    )


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
            lines = [operational_banner(alert), terminal(alert.summary)]
        else:
            lines = [banner(alert), render_text(alert.report).rstrip("\n")]
            # render_text already prints the report's own links.
            lines.extend(
                f"link: {terminal(link)}"
                for link in all_links(alert)
                if link not in alert.report.links
            )
        try:
            stream.write("\n".join(lines) + "\n\n")
            stream.flush()
        except (OSError, ValueError) as e:  # closed pipe or stream
            raise NotifyError(f"cannot write the alert to the console: {e}") from None
