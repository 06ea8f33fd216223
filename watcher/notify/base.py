"""What every alert sender shares: the alert value and the `Notifier` protocol.

Notifiers are pure senders: one `send` is one delivery attempt (plus whatever quick retries the
transport does inline). Durability, deduplication and backoff belong to the alert outbox that
drives them, which is why errors say whether retrying can help rather than retrying forever.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from watcher.models import Report


@dataclass(frozen=True, slots=True)
class Alert:
    """One report to deliver to one channel.

    `channel` is the subscription's notify target as written (`slack:#x`, `webhook`, `console`).
    `links` are pages a reviewer opens next (registry pages of the two releases).
    `dedup_key` identifies the alert across retries and restarts: receivers that support it
    (the webhook's Idempotency-Key) use it to drop a second delivery.
    `pin_source` says where the pin the release was compared with (`report.old_version`)
    came from: `file`, or `approved by WHO on DATE` (None: not a subscription's alert).
    """

    report: Report
    channel: str
    links: tuple[str, ...]
    dedup_key: str
    pin_source: str | None = None
    #: Where the full HTML report of this alert is published (`WATCHER_REPORT_URL`), if it is.
    report_url: str | None = None


def pin_line(alert: Alert) -> str | None:
    """`Pinned: 1.2.3 (approved by alice on 2026-12-01)`: the baseline and where it came from."""
    if alert.pin_source is None or alert.report.old_version is None:
        return None
    return f"Pinned: {alert.report.old_version} ({alert.pin_source})"


@dataclass(frozen=True, slots=True)
class OperationalAlert:
    """A problem of watcher itself, not a verdict on a release: notifiers label it so.

    Queued once when a package's polls have failed `watch.RETRY_BUDGET` times in a row
    (`event` "unreachable"), and once when polling works again ("recovered"). `summary` is
    one line, credentials already scrubbed; `registry` is the URL without userinfo.
    """

    channel: str
    dedup_key: str
    event: str
    ecosystem: str
    package: str
    registry: str
    failures: int
    error: str | None
    at: str
    summary: str


@runtime_checkable
class Notifier(Protocol):
    """Something that can deliver an `Alert`."""

    def send(self, alert: Alert | OperationalAlert) -> None:
        """Deliver `alert` once, or raise `watcher.errors.NotifyError`.

        `NotifyError.permanent` is True when the same call cannot succeed later (unknown
        channel, bad credentials, a payload the receiver rejects); otherwise the error is
        transient and `retry_after` says how long the receiver asked us to wait, if it did.
        """


@runtime_checkable
class ConfirmingNotifier(Notifier, Protocol):
    """A notifier whose receiver can be asked whether an alert already arrived (Slack).

    The outbox records that an attempt is in flight before it sends; when a process dies
    mid-send, the alert's next sender passes that time as `unsure_since`, and the notifier
    looks for the alert at the receiver before posting it again: exactly once, not at least.
    """

    def send_once(self, alert: Alert, *, unsure_since: datetime | None) -> str | None:
        """Deliver `alert` unless it arrived at or after `unsure_since`; the receiver's id.

        The id (Slack's message `ts`) is None when the receiver gives none. Raises
        `NotifyError` like `send`, also when the receiver cannot be asked (then nothing is
        posted: a transient error is retried later, with the same `unsure_since`).
        """


def all_links(alert: Alert) -> tuple[str, ...]:
    """The report's own links followed by the alert's, without duplicates, in order."""
    return _unique((*alert.report.links, *alert.links))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))
