"""Console alerts: the text report behind a one-line banner, for development and for daemons
that run without Slack (the default when `SLACK_BOT_TOKEN` is unset: each alert then names the
`slack:` target it stands in for)."""

from __future__ import annotations

import sys
from typing import TextIO

from watcher.errors import NotifyError
from watcher.escape import terminal
from watcher.notify.base import Alert, OperationalAlert, all_links, pin_line
from watcher.report.digest import approve_command
from watcher.report.text import render_text

#: What `history` records for an alert a `ConsoleNotifier` delivered in Slack's place.
SLACK_FALLBACK = "console, Slack not configured"


def _for(channel: str, stands_in: bool) -> str:
    if stands_in:
        return f"{channel} (on the console: SLACK_BOT_TOKEN is not set)"
    return channel


def banner(alert: Alert, *, stands_in: bool = False) -> str:
    """One line that says an alert starts here, for whom and what about."""
    report = alert.report
    return (
        f"=== watcher alert for {terminal(_for(alert.channel, stands_in))}: "
        f"{report.severity.value.upper()} {terminal(report.package)} "
        f"{terminal(report.new_version)} (key {alert.dedup_key}) ==="
    )


def operational_banner(alert: OperationalAlert, *, stands_in: bool = False) -> str:
    """The banner of an operational alert: marked as such, never with a release severity."""
    return (
        f"=== watcher OPERATIONAL alert for {terminal(_for(alert.channel, stands_in))}: "
        f"{alert.event} {alert.ecosystem}/{terminal(alert.package)} (key {alert.dedup_key}) ==="
    )


def _next_step(alert: Alert) -> list[str]:
    """The full report's link, when published, and the command that accepts the release."""
    report = alert.report
    command = approve_command(report.ecosystem, report.package, report.new_version)
    lines = [f"full report: {terminal(alert.report_url)}"] if alert.report_url else []
    return [*lines, f"reviewed and fine? {terminal(command)}"]


class ConsoleNotifier:
    """Writes alerts to a text stream (standard output unless told otherwise).

    `slack_fallback`: it delivers `slack:` alerts because no Slack token is set; each banner
    says so, and `delivered_via` tells the outbox what to record instead of Slack.
    """

    def __init__(self, stream: TextIO | None = None, *, slack_fallback: bool = False) -> None:
        # Resolved at send time when None, so a redirected sys.stdout is honoured.
        self._stream = stream
        self.slack_fallback = slack_fallback

    def __repr__(self) -> str:
        return (
            "ConsoleNotifier(slack_fallback=True)" if self.slack_fallback else "ConsoleNotifier()"
        )

    @property
    def delivered_via(self) -> str | None:
        """The channel to record when it is not the alert's own (None: it is)."""
        return SLACK_FALLBACK if self.slack_fallback else None

    def send(self, alert: Alert | OperationalAlert) -> None:
        """Write the banner, the text report and the alert's extra links."""
        stream = self._stream or sys.stdout
        stands_in = self.slack_fallback
        if isinstance(alert, OperationalAlert):
            lines = [operational_banner(alert, stands_in=stands_in), terminal(alert.summary)]
        else:
            lines = [banner(alert, stands_in=stands_in)]
            pinned = pin_line(alert)
            if pinned is not None:
                lines.append(pinned)
            lines.append(render_text(alert.report).rstrip("\n"))
            # render_text already prints the report's own links.
            lines.extend(
                f"link: {terminal(link)}"
                for link in all_links(alert)
                if link not in alert.report.links
            )
            lines.extend(_next_step(alert))
        try:
            stream.write("\n".join(lines) + "\n\n")
            stream.flush()
        except (OSError, ValueError) as e:  # closed pipe or stream
            raise NotifyError(f"cannot write the alert to the console: {e}") from None
