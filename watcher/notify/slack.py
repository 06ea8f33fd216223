"""Slack alerts: a Block Kit message built purely from a `Report`, posted with `slack_sdk`.

`build_blocks` is pure (golden-tested); `SlackNotifier` is the only part that talks to Slack.

Everything shown comes from the package under review and is therefore attacker-controlled:
file names, messages quoting code, evidence lines, the package name and versions. mrkdwn cannot
escape `*`, `~`, `_` or a backtick, so none of that text goes into mrkdwn: the header is
plain_text, reasons, findings and links are rich_text elements (code-styled, preformatted or
link elements), which Slack shows as written. Control, bidi and invisible characters are made
visible everywhere. mrkdwn carries only our own words (the verdict line, counts), entity-escaped
and `verbatim`. The text-only fallback, used when Slack rejects the blocks, puts package text
in code spans whose backticks are shown as `ˋ`. Sizes are clipped so that Slack never rejects
the alert for breaking a Block Kit limit.
"""

from __future__ import annotations

import http.client
import logging
import math
import random
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest as RetryRequest
from slack_sdk.http_retry.response import HttpResponse as RetryResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from watcher.errors import NotifyError, UsageError
from watcher.escape import mrkdwn as escape_mrkdwn
from watcher.escape import slack_plain
from watcher.httpclient import retry_after as parse_retry_after
from watcher.models import Finding, Report, Severity
from watcher.notify.base import Alert, OperationalAlert, all_links, pin_line
from watcher.report.digest import Group, approve_command, collapse

logger = logging.getLogger(__name__)

#: slack_sdk logs through this logger (a child of "watcher"), so the CLI's logging setup
#: governs it; the SDK redacts the Authorization header in what it logs.
SDK_LOGGER = logging.getLogger("watcher.notify.slack_sdk")

DEFAULT_BASE_URL = "https://slack.com/api/"

#: The `metadata.event_type` of alert messages; the payload carries the alert's dedup key.
METADATA_EVENT_TYPE = "watcher_alert"
#: A search for an earlier delivery starts this long before the attempt: Slack's clock and
#: ours may disagree, and a wider window only costs a few more messages read.
LOOKUP_SKEW_SECONDS = 120.0
LOOKUP_PAGE = 200
#: Pages read before giving up on a search (a busy channel after a long outage).
LOOKUP_MAX_PAGES = 25
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
HEADER_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
CONTEXT_TEXT_LIMIT = 2000
#: chat.postMessage truncates `text` at 40,000 characters; notifications show far less.
FALLBACK_TEXT_LIMIT = 3000

#: How many findings get their own section; the rest are counted in the context line.
MAX_FINDINGS = 8
EVIDENCE_LIMIT = 300
MESSAGE_LIMIT = 500
PATH_LIMIT = 200
LINK_LABEL_LIMIT = 80

SEVERITY_EMOJI = {
    Severity.CRITICAL: "🔴",
    Severity.HIGH: "🟠",
    Severity.MEDIUM: "🟡",
    Severity.LOW: "🔵",
    Severity.NONE: "⚪",
}

#: `ok: false` error codes that Slack documents as temporary; every other code means the
#: request itself is wrong (channel, token, scopes, payload) and will fail again unchanged.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
#: Errors that blame our blocks: the alert is re-sent as plain text rather than lost.
BLOCKS_REJECTED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})

# --------------------------------------------------------------------------- text helpers


def _visible(text: str) -> str:
    """One line with control, bidi and invisible characters shown as `⟨U+XXXX⟩`, LF as `⏎`."""
    return slack_plain(text)


def _clip(text: str, limit: int) -> str:
    """Escape `text` for mrkdwn, cut so that the escaped result is at most `limit` chars.

    Cutting after escaping could split `&amp;` into a dangling `&am`; cutting the raw text with
    the escaped length in mind never does.
    """
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for char in text:
        piece = escape_mrkdwn(char)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def _code(text: str, limit: int) -> str:
    """`text` as an inline mrkdwn code span (only in the text-only fallback message).

    mrkdwn has no escape for a backtick inside a code span, so backticks are shown as `ˋ`
    (U+02CB): the line stays readable and cannot end the span early.
    """
    # An empty span (two backticks) would pair with the next backtick instead.
    return "`" + (_clip(_visible(text).replace("`", "ˋ"), limit) or " ") + "`"


def _plain(text: str, limit: int) -> str:
    """Text for plain_text or rich_text (never parsed: no escaping), cut to `limit` chars."""
    text = _visible(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _middle(text: str, limit: int) -> str:
    """Like `_plain`, cut in the middle: of a `file:line`, the file name and line matter most."""
    text = _visible(text)
    if len(text) > limit:
        head = limit // 3
        text = text[:head] + "…" + text[len(text) - (limit - head - 1) :]
    return text


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: no auto-linking of URLs or channel names; only our own text is mrkdwn.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _run(text: str, *, bold: bool = False, code: bool = False) -> dict[str, Any]:
    """A rich_text `text` element: shown as written, whatever `*`, `~`, `<` or backtick it holds."""
    element: dict[str, Any] = {"type": "text", "text": text}
    style = {name: True for name, on in (("bold", bold), ("code", code)) if on}
    if style:
        element["style"] = style
    return element


def _rich(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text", "elements": list(elements)}


def _section(*runs: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(runs)}


# --------------------------------------------------------------------------- blocks


def _versions(report: Report) -> str:
    if report.old_version is None:
        return f"{report.new_version} (first release)"
    return f"{report.old_version} → {report.new_version}"


def _header(report: Report) -> str:
    emoji = SEVERITY_EMOJI[report.severity]
    tail = f" {_visible(_versions(report))} ({report.ecosystem.value})"
    head = f"{emoji} {report.severity.value.upper()} · "
    # The versions are what a reader needs most; a very long name is cut, never the versions.
    room = max(HEADER_LIMIT - len(head) - len(tail), 10)
    return _plain(head + _plain(report.package, room) + tail, HEADER_LIMIT)


def _title(report: Report) -> str:
    versions = (
        f"{_code(report.new_version, 60)} (first release)"
        if report.old_version is None
        else f"{_code(report.old_version, 60)} → {_code(report.new_version, 60)}"
    )
    return (
        f"{SEVERITY_EMOJI[report.severity]} *{report.severity.value.upper()}* · "
        f"{_code(report.package, 100)} {versions} ({report.ecosystem.value})"
    )


#: Dependency paths shown in one alert (one per affected subscription; the rest counted).
_MAX_PATHS = 5


def _summary(report: Report) -> str:
    """The verdict line: mrkdwn, with nothing from the package in it."""
    count = len(report.findings)
    return (
        f"*{report.severity.value.upper()}* · score *{report.score}*/100 · "
        f"{count} finding{'' if count == 1 else 's'}"
    )


def _reasons(report: Report) -> list[str]:
    """The reasons, each one line, within a section's worth of text."""
    lines: list[str] = []
    room = SECTION_TEXT_LIMIT - 40  # 40: the "…and N more" line
    for shown, reason in enumerate(report.reasons):
        line = _plain(reason, 500)
        if len(line) + 3 > room:
            lines.append(f"…and {len(report.reasons) - shown} more")
            break
        lines.append(line)
        room -= len(line) + 3
    return lines


def _paths(report: Report) -> list[str]:
    """How a dependency release is installed: one path per affected subscription."""
    lines = [_plain(path, 500) for path in report.dependency_paths[:_MAX_PATHS]]
    if len(report.dependency_paths) > _MAX_PATHS:
        lines.append(f"…and {len(report.dependency_paths) - _MAX_PATHS} more")
    return lines


def _paths_block(paths: Sequence[str]) -> dict[str, Any]:
    return _rich(
        _section(_run("Installed through", bold=True)),
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [_section(_run(line)) for line in paths],
        },
    )


def _reasons_block(reasons: Sequence[str]) -> dict[str, Any]:
    return _rich(
        _section(_run("Why", bold=True)),
        {
            "type": "rich_text_list",
            "style": "bullet",
            "elements": [_section(_run(line)) for line in reasons],
        },
    )


def _place(finding: Finding) -> str:
    place = finding.path or "(metadata)"
    return place if finding.line is None else f"{place}:{finding.line}"


def _finding(
    finding: Finding, several_artifacts: bool, group: Group | None = None
) -> dict[str, Any]:
    """One finding (standing for `group`) as rich_text: package text only in literal elements."""
    head = [
        _run(f"{SEVERITY_EMOJI[finding.severity]} "),
        _run(finding.severity.value.upper(), bold=True),
        _run(" "),
        _run(_middle(_place(finding), PATH_LIMIT), code=True),
    ]
    if finding.artifact and several_artifacts:
        head += [_run(" in "), _run(_plain(finding.artifact, 120), code=True)]
    head += [
        _run(" · "),
        _run(_plain(finding.rule, 100), code=True),
        _run("\n" + _plain(finding.message, MESSAGE_LIMIT)),
    ]
    if group is not None:
        head += _also_runs(group, several_artifacts)
    elements = [_section(*head)]
    if finding.evidence and finding.evidence.strip():
        evidence = _plain(finding.evidence.strip(), EVIDENCE_LIMIT)
        elements.append({"type": "rich_text_preformatted", "elements": [_run(evidence)]})
    return _rich(*elements)


def _finding_text(finding: Finding, several_artifacts: bool, group: Group | None = None) -> str:
    """One finding as mrkdwn for the text-only message: package text only in code spans."""
    where = _code(_middle(_place(finding), PATH_LIMIT), PATH_LIMIT * 5)
    if finding.artifact and several_artifacts:
        where += f" in {_code(finding.artifact, 120)}"
    lines = [
        f"{SEVERITY_EMOJI[finding.severity]} *{finding.severity.value.upper()}* "
        f"{where} · {_code(finding.rule, 100)}",
        _code(finding.message, MESSAGE_LIMIT),
    ]
    if group is not None and group.count > 1:
        lines.append(
            "".join(
                _code(r["text"], 200) if r.get("style") else r["text"]
                for r in _also_runs(group, several_artifacts)
            ).strip()
        )
    if finding.evidence and finding.evidence.strip():
        lines.append(_code(finding.evidence.strip(), EVIDENCE_LIMIT))
    return "\n".join(lines)[:SECTION_TEXT_LIMIT]


def top_findings(report: Report, limit: int = MAX_FINDINGS) -> list[Finding]:
    """The `limit` most severe findings; equal severities keep the report's order."""
    return sorted(report.findings, key=lambda f: -f.severity.rank)[:limit]


def top_groups(report: Report, limit: int = MAX_FINDINGS) -> list[Group]:
    """The `limit` most severe groups of identical findings (the same rule and evidence in
    several files or platform wheels): one section each, not one per copy."""
    return collapse(sorted(report.findings, key=lambda f: -f.severity.rank))[:limit]


#: Places named for a collapsed finding, each cut to this many characters.
_ALSO_PLACES, _ALSO_PATH_LIMIT = 3, 80


def _also_runs(group: Group, several_artifacts: bool) -> list[dict[str, Any]]:
    """`×3 · also at b.py:2, c.py:2` for a finding that stands for several (places literal)."""
    if group.count == 1:
        return []
    places = group.places(several_artifacts)
    if len(places) == 1:  # one file in several artifacts (platform wheels)
        return [_run(f"\n×{group.count} · "), _run(_middle(places[0], _ALSO_PATH_LIMIT), code=True)]
    others = places[1:]
    runs = [_run(f"\n×{group.count}" + (" · also at " if others else ""))]
    for i, place in enumerate(others[:_ALSO_PLACES]):
        if i:
            runs.append(_run(", "))
        runs.append(_run(_middle(place, _ALSO_PATH_LIMIT), code=True))
    more = len(others) - _ALSO_PLACES
    if more > 0:
        runs.append(_run(f", …and {more} more"))
    return runs


def _context(report: Report, shown: int) -> list[str]:
    files = report.files
    parts = [f"Files: {files.added} added · {files.removed} removed · {files.changed} changed"]
    rest = sorted(report.findings, key=lambda f: -f.severity.rank)[shown:]
    if rest:
        by_severity: dict[Severity, int] = {}
        for finding in rest:
            by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
        counts = ", ".join(f"{n} {s.value}" for s, n in by_severity.items())
        parts.append(f"+{len(rest)} more finding{'' if len(rest) == 1 else 's'} ({counts})")
    if report.rule_failures:
        names = ", ".join(failure.rule for failure in report.rule_failures)
        # Incomplete analysis is itself news: a rule that crashed may have missed something.
        parts.append(f"⚠️ {len(report.rule_failures)} rule(s) failed: {_clip(names, 500)}")
    return parts


_URL_UNSAFE = str.maketrans({c: f"%{ord(c):02X}" for c in '|<> "`'})


def _web_links(links: Sequence[str]) -> list[tuple[str, str]]:
    """(url, label) of the http(s) links, within a section's worth of text."""
    out: list[tuple[str, str]] = []
    used = len("Links ")
    for link in links:
        # `|` and `>` would end mrkdwn link markup (and are not valid in a URL anyway);
        # percent-encoding them keeps the URL working.
        url = _visible(link.strip()).translate(_URL_UNSAFE)
        parts = urlsplit(url)
        # Only web pages: a javascript:/slack: URL in a link would be a trap, not a reference.
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        label = _plain((parts.netloc + parts.path).rstrip("/"), LINK_LABEL_LIMIT)
        if used + len(url) + len(label) + 3 > SECTION_TEXT_LIMIT:
            break
        out.append((url, label))
        used += len(url) + len(label) + 3
    return out


def _links_block(links: Sequence[tuple[str, str]]) -> dict[str, Any]:
    runs = [_run("Links ", bold=True)]
    for i, (url, label) in enumerate(links):
        if i:
            runs.append(_run(" · "))
        runs.append({"type": "link", "url": url, "text": label})
    return _rich(_section(*runs))


def _links_text(links: Sequence[tuple[str, str]]) -> str:
    # Bare URLs: mrkdwn would format a `*label*`; inside `<…>` a URL is never formatted.
    return "*Links* " + " · ".join(f"<{escape_mrkdwn(url)}>" for url, _ in links)


def _fallback(report: Report) -> str:
    count = len(report.findings)
    text = (
        f"{SEVERITY_EMOJI[report.severity]} {report.severity.value.upper()}: "
        f"{report.package} {_versions(report)} ({report.ecosystem.value}), "
        f"score {report.score}/100, {count} finding{'' if count == 1 else 's'}"
    )
    top = top_findings(report, 1)
    if top:
        text += f"; top: {top[0].rule} at {_place(top[0])}"
    return _clip(_visible(text), FALLBACK_TEXT_LIMIT)


@dataclass(frozen=True, slots=True)
class _Message:
    fallback: str
    header: str
    #: The header for the text-only message: mrkdwn, the package text in code spans.
    title: str
    summary: str
    reasons: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]
    findings_text: tuple[str, ...]
    context: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    #: For a dependency release: the paths it is installed through.
    paths: tuple[str, ...] = ()
    #: The last block: the full report's link (when published) and the approve command.
    next_step: dict[str, Any] | None = None
    next_step_text: str = ""

    def blocks(self) -> list[dict[str, Any]]:
        """Block Kit blocks: package text only in plain_text and rich_text, never mrkdwn."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.header, "emoji": True}},
            {"type": "section", "text": _mrkdwn(self.summary)},
        ]
        if self.paths:
            blocks.append(_paths_block(self.paths))
        if self.reasons:
            blocks.append(_reasons_block(self.reasons))
        if self.findings:
            blocks.append({"type": "divider"})
            blocks.extend(self.findings)
        if self.links:
            blocks.append(_links_block(self.links))
        blocks.append(
            {
                "type": "context",
                "elements": [_mrkdwn(part[:CONTEXT_TEXT_LIMIT]) for part in self.context[:10]],
            }
        )
        if self.next_step is not None:
            # Kept whatever is cut: the next step is what a reviewer acts on.
            return [*blocks[: MAX_BLOCKS - 1], self.next_step]
        return blocks[:MAX_BLOCKS]

    def text_only(self) -> str:
        """The whole message as one mrkdwn text, for when Slack rejects the blocks.

        Package text sits only inside code spans, where mrkdwn formats nothing.
        """
        reasons = "\n".join(f"• {_code(line, 500)}" for line in self.reasons)
        parts = [self.title, self.summary]
        if self.paths:
            parts.append(
                "*Installed through*\n" + "\n".join(f"• {_code(p, 500)}" for p in self.paths)
            )
        if reasons:
            parts.append("*Why*\n" + reasons)
        parts.extend(self.findings_text)
        if self.links:
            parts.append(_links_text(self.links))
        parts.append(" · ".join(self.context))
        # Whole parts only: cutting inside one could split an entity or open a code span.
        kept: list[str] = []
        # The next step is kept whatever is cut: it is what a reviewer acts on.
        used = len(self.next_step_text) + 2 if self.next_step_text else 0
        for part in parts:
            if used + len(part) + 2 > FALLBACK_TEXT_LIMIT:
                kept.append("…")
                break
            kept.append(part)
            used += len(part) + 2
        if self.next_step_text:
            kept.append(self.next_step_text)
        return "\n\n".join(kept)


def _next_step(report: Report, report_url: str | None) -> tuple[dict[str, Any], str]:
    """The closing block: a link to the full report, when one was published, and the exact
    `watcher approve` command; and the same as mrkdwn for the text-only fallback.

    Package text goes in `rich_text` elements, which Slack shows as written: a name or
    version cannot open markup there.
    """
    command = _visible(approve_command(report.ecosystem, report.package, report.new_version))
    elements: list[dict[str, Any]] = []
    text: list[str] = []
    published = _web_links([report_url]) if report_url else []
    if published:
        url, label = published[0]
        elements.append(
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Full report: "},
                    {"type": "link", "url": url, "text": label},
                ],
            }
        )
        text.append(f"Full report: <{escape_mrkdwn(url)}>")
    elements.append(
        {
            "type": "rich_text_section",
            "elements": [{"type": "text", "text": "Reviewed it and it is fine? Approve it:"}],
        }
    )
    elements.append(
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": command}]}
    )
    text.append("Reviewed it and it is fine? Approve it: " + _code(command, 400))
    return {"type": "rich_text", "elements": elements}, "\n".join(text)


def _message(report: Report, links: Sequence[str], report_url: str | None = None) -> _Message:
    shown = top_groups(report)
    several = len(report.artifacts) > 1
    next_step, next_step_text = _next_step(report, report_url)
    return _Message(
        fallback=_fallback(report),
        header=_header(report),
        title=_title(report),
        summary=_summary(report),
        reasons=tuple(_reasons(report)),
        paths=tuple(_paths(report)),
        findings=tuple(_finding(g.first, several, g) for g in shown),
        findings_text=tuple(_finding_text(g.first, several, g) for g in shown),
        context=tuple(_context(report, sum(g.count for g in shown))),
        links=tuple(_web_links(links)),
        next_step=next_step,
        next_step_text=next_step_text,
    )


def build_blocks(
    report: Report, links: Sequence[str], report_url: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The notification text and the Block Kit blocks for one report.

    Pure: the same report always gives the same message (the golden test relies on it).
    Header (severity, package, versions, ecosystem), score and reasons, the most severe
    findings with `file:line`, rule, message and evidence, links, and a context line with file
    counts and how many findings were left out.
    """
    message = _message(report, links, report_url)
    return message.fallback, message.blocks()


def build_operational_blocks(alert: OperationalAlert) -> tuple[str, list[dict[str, Any]]]:
    """The text and blocks of an operational alert: marked as such, with no release verdict."""
    icon = ":white_check_mark:" if alert.event == "recovered" else ":warning:"
    header = _plain(f"OPERATIONAL: {alert.event} {alert.ecosystem}/{alert.package}", HEADER_LIMIT)
    text = _clip(_visible(f"{icon} OPERATIONAL: {alert.summary}"), FALLBACK_TEXT_LIMIT)
    note = "watcher operational alert (not a finding about a release)"
    key = escape_mrkdwn(alert.dedup_key[:16])
    return text, [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        # The summary quotes registry errors: rich_text, which Slack shows as written.
        _rich(_section(_run(_plain(alert.summary, 2900)))),
        {"type": "context", "elements": [_mrkdwn(f"{note} · key `{key}`")]},
    ]


# --------------------------------------------------------------------------- sending


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """Retry-After from slack_sdk's header maps (values are strings or lists of strings)."""
    for key, value in headers.items():
        if key.lower() == "retry-after":
            first = value[0] if isinstance(value, list) and value else value
            return parse_retry_after(httpx.Headers({"retry-after": str(first)}))
    return None


class _ProportionalJitter(Jitter):
    """Up to +25 % of the interval: the SDK's default adds up to a whole second to every wait."""

    def recalculate(self, duration: float) -> float:
        return duration * (1.0 + random.random() / 4)


class _RateLimitHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 inline when Slack asks for a short pause, and gives up on long ones.

    The SDK's own handler sleeps whatever Retry-After says (an hour would block the sender for
    an hour) and crashes on an HTTP-date value; a long wait is the outbox's job, so it gets a
    `NotifyError` carrying `retry_after` instead.
    """

    def __init__(self, max_retry_count: int, max_wait: float, sleep: Callable[[float], None]):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    def _wait(self, response: RetryResponse) -> float:
        wait = _retry_after(response.headers)
        return 1.0 if wait is None else wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code == 429
            and self._wait(response) <= self.max_wait
        )

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None  # _can_retry only accepts responses
        state.next_attempt_requested = True
        self.sleep(self._wait(response))
        state.increment_current_attempt()


class _ServerErrorHandler(ServerErrorRetryHandler):
    """The SDK's handler retries 500 and 503 only; gateways in front of Slack send 502/504."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


class _RefusedConnectionHandler(ConnectionErrorRetryHandler):
    """Retries only connections that never carried the request (refused, no DNS answer).

    A reset or a closed connection may come after Slack posted the message; re-posting then is
    `SlackNotifier`'s decision, after it looked for the message.
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: RetryRequest,
        response: RetryResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        reason = error.reason if isinstance(error, URLError) else error
        return response is None and isinstance(reason, ConnectionRefusedError | socket.gaierror)


def slack_channel(channel: str) -> str:
    """The Slack channel of a notify target: `slack:#x` → `#x` (IDs like `C0123` work too)."""
    return channel.removeprefix("slack:").strip()


def _is_channel_id(channel: str) -> bool:
    return bool(_CHANNEL_ID.fullmatch(channel))


def alert_metadata(alert: Alert) -> dict[str, Any]:
    """The message metadata that lets a later sender find this alert in the channel.

    `dedup_key` is the outbox's stable identity of the alert; the rest is for people and
    tools reading the channel. Slack wants flat string/number values here.
    """
    report = alert.report
    return {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {
            "dedup_key": alert.dedup_key,
            "ecosystem": report.ecosystem.value,
            "package": report.package[:PATH_LIMIT],
            "old_version": report.old_version or "",
            "new_version": report.new_version,
            "severity": report.severity.value,
            "score": report.score,
        },
    }


class SlackOutcomeUnknown(NotifyError):
    """The request may or may not have posted the message (timeout, lost answer, 5xx).

    Transient: the outbox keeps the attempt marked as in flight, so that the next sender looks
    for the message before posting it again.
    """

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class SlackNotifier:
    """Posts alerts with `chat.postMessage`, exactly once, retrying what is safe to retry.

    Rate limits and refused connections never post anything, so they are retried inline (a
    429 is waited out only up to `max_retry_wait` seconds; longer goes back to the outbox with
    its Retry-After). A 5xx or a dropped connection may come after Slack posted the message:
    before each of the `retries` re-posts the channel is searched for the alert's metadata
    (`conversations.history`), and a message found counts as delivered. A timeout goes back to
    the outbox at once (a slow Slack should not hold the sender), which searches before the
    next post. The search needs `channels:history` and `channels:read` (`groups:*` for
    private channels) besides `chat:write`; without them an unsure alert is posted again
    with a warning, since a duplicate beats a lost alert.

    The token lives only inside the SDK clients: it is not in `repr`, logs or error messages.
    """

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token.strip():
            raise UsageError("SLACK_BOT_TOKEN is empty")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        intervals = BackoffRetryIntervalCalculator(
            backoff_factor=backoff, jitter=_ProportionalJitter()
        )
        # The SDK takes whole seconds (urllib accepts floats, but the SDK is typed int).
        seconds = max(1, math.ceil(timeout))
        self._client = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=seconds,
            logger=SDK_LOGGER,
            retry_handlers=[
                _RefusedConnectionHandler(max_retry_count=retries, interval_calculator=intervals),
                _RateLimitHandler(retries, max_retry_wait, sleep),
            ],
        )
        # Reads change nothing, so every transient failure is retried inline.
        self._reader = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=seconds,
            logger=SDK_LOGGER,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=retries, interval_calculator=intervals),
                _RateLimitHandler(retries, max_retry_wait, sleep),
                _ServerErrorHandler(max_retry_count=retries, interval_calculator=intervals),
            ],
        )
        #: `#name` → channel id, learned from answers (conversations.list, chat.postMessage).
        self._channel_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SlackNotifier(base_url={self.base_url!r})"

    def send(self, alert: Alert | OperationalAlert) -> None:
        """Post `alert` to its channel, or raise `NotifyError`."""
        if isinstance(alert, OperationalAlert):
            self._send_operational(alert)
            return
        self.send_once(alert, unsure_since=None)

    def _send_operational(self, alert: OperationalAlert) -> None:
        # No search before a re-post: a repeated "registry unreachable" note is harmless.
        channel = slack_channel(alert.channel)
        if not channel:
            raise NotifyError(f"no Slack channel in {alert.channel!r}", permanent=True)
        text, blocks = build_operational_blocks(alert)
        metadata = {
            "event_type": "watcher_operational",
            "event_payload": {"dedup_key": alert.dedup_key, "event": alert.event},
        }
        outcome = self._post(channel, text, blocks, metadata)
        if isinstance(outcome, NotifyError):
            raise outcome

    def send_once(self, alert: Alert, *, unsure_since: datetime | None) -> str:
        """Post `alert` unless the channel has it since `unsure_since`; the message's `ts`."""
        channel = slack_channel(alert.channel)
        if not channel:
            raise NotifyError(f"no Slack channel in {alert.channel!r}", permanent=True)
        if unsure_since is not None:
            found = self.find(alert, unsure_since)
            if found is not None:
                logger.info(
                    "alert %s was already in Slack %s (ts %s): not posting it again",
                    alert.dedup_key,
                    channel,
                    found,
                )
                return found
        since = unsure_since or datetime.now(UTC)
        message = _message(alert.report, all_links(alert), alert.report_url)
        pinned = pin_line(alert)
        if pinned is not None:
            message = replace(message, context=(escape_mrkdwn(pinned), *message.context))
        metadata = alert_metadata(alert)
        outcome = self._post(channel, message.fallback, message.blocks(), metadata)
        for _ in range(self.retries):
            if not isinstance(outcome, SlackOutcomeUnknown) or outcome.timed_out:
                break
            # Slack may have posted it: look before posting again.
            self._sleep(self.backoff)
            found = self.find(alert, since)
            if found is not None:
                outcome = found
                break
            outcome = self._post(channel, message.fallback, message.blocks(), metadata)
        if isinstance(outcome, SlackDeliveryError) and outcome.code in BLOCKS_REJECTED:
            # Our blocks are at fault, not the alert: deliver it as text rather than lose it.
            logger.error(
                "Slack rejected the blocks of alert %s (%s); sending it as text",
                alert.dedup_key,
                outcome,
            )
            outcome = self._post(channel, message.text_only(), None, metadata)
        if isinstance(outcome, NotifyError):
            # Raised here, outside any `except`, so that it carries no __context__: the SDK's
            # exception holds the request headers, token included.
            raise outcome
        logger.info("alert %s delivered to Slack %s", alert.dedup_key, channel)
        return outcome

    def find(self, alert: Alert, since: datetime) -> str | None:
        """The `ts` of `alert`'s message in its channel at or after `since`, if there is one.

        Matches the metadata's dedup key, so only this alert counts, whoever wrote the text.
        Raises a transient `NotifyError` when Slack cannot answer now; when it never can (no
        scope, channel not visible), logs why and says None: the alert is then sent again.
        """
        channel = slack_channel(alert.channel)
        channel_id = self._resolve(channel)
        if isinstance(channel_id, NotifyError):
            raise channel_id
        if channel_id is None:
            return None
        oldest = f"{max(0.0, since.timestamp() - LOOKUP_SKEW_SECONDS):.6f}"
        cursor: str | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            page = self._read(
                "conversations.history",
                self._reader.conversations_history,
                channel=channel_id,
                oldest=oldest,
                inclusive=True,
                include_all_metadata=True,
                limit=LOOKUP_PAGE,
                cursor=cursor,
            )
            if isinstance(page, NotifyError):
                if page.permanent:
                    self._unsure(alert, page)
                    return None
                raise page
            for item in page.get("messages") or []:
                if _is_alert_message(item, alert.dedup_key):
                    return str(item.get("ts") or "") or None
            cursor = _next_cursor(page)
            if cursor is None:
                return None
        self._unsure(alert, f"more than {LOOKUP_MAX_PAGES * LOOKUP_PAGE} messages")
        return None

    def _unsure(self, alert: Alert, why: object) -> None:
        logger.warning(
            "cannot check Slack for an earlier delivery of alert %s (%s); sending it again "
            "may post it twice",
            alert.dedup_key,
            why,
        )

    def _resolve(self, channel: str) -> str | NotifyError | None:
        """The id of `channel` (history needs one); None when this token cannot see it."""
        if _is_channel_id(channel):
            return channel
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        cursor: str | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            page = self._read(
                "conversations.list",
                self._reader.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=LOOKUP_PAGE,
                cursor=cursor,
            )
            if isinstance(page, NotifyError):
                if page.permanent:
                    logger.warning("cannot list Slack channels to find %s: %s", channel, page)
                    return None
                return page
            for item in page.get("channels") or []:
                if isinstance(item, dict) and item.get("name") and item.get("id"):
                    self._channel_ids[str(item["name"])] = str(item["id"])
            if name in self._channel_ids:
                return self._channel_ids[name]
            cursor = _next_cursor(page)
            if cursor is None:
                break
        logger.warning("Slack channel %s is not visible to this token", channel)
        return None

    def _read(
        self, method: str, call: Callable[..., SlackResponse], **arguments: Any
    ) -> Mapping[str, Any] | NotifyError:
        """One read (with the SDK's retries); its data, or the mapped error."""
        try:
            data = call(**arguments).data
        except SlackApiError as e:
            return _api_error(e, method)
        except SlackRequestError as e:
            return NotifyError(f"Slack request refused by the client: {e}", permanent=True)
        except TimeoutError:
            return NotifyError(f"Slack API at {self._host} timed out")
        except URLError as e:
            return NotifyError(f"Slack API at {self._host} unreachable: {_reason(e.reason)}")
        except (OSError, http.client.HTTPException) as e:
            return NotifyError(f"Slack API at {self._host} unreachable: {_reason(e)}")
        return data if isinstance(data, dict) else {}

    def _post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        metadata: dict[str, Any],
    ) -> str | NotifyError:
        """One chat.postMessage (with the safe retries); the message's `ts`, or the error."""
        try:
            response = self._client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as e:
            error = _api_error(e, "chat.postMessage")
            if error.status >= 500:
                return SlackOutcomeUnknown(str(error))
            return error
        except SlackRequestError as e:
            return NotifyError(f"Slack request refused by the client: {e}", permanent=True)
        except TimeoutError:
            return SlackOutcomeUnknown(f"Slack API at {self._host} timed out", timed_out=True)
        except URLError as e:
            if isinstance(e.reason, TimeoutError):
                return SlackOutcomeUnknown(f"Slack API at {self._host} timed out", timed_out=True)
            if isinstance(e.reason, ConnectionRefusedError | socket.gaierror):
                return NotifyError(f"Slack API at {self._host} unreachable: {_reason(e.reason)}")
            return SlackOutcomeUnknown(
                f"Slack API at {self._host} dropped the request: {_reason(e.reason)}"
            )
        except (OSError, http.client.HTTPException) as e:
            return SlackOutcomeUnknown(
                f"Slack API at {self._host} dropped the request: {_reason(e)}"
            )
        data = response.data if isinstance(response.data, dict) else {}
        posted_in = str(data.get("channel") or "")
        if posted_in and not _is_channel_id(channel):
            self._channel_ids.setdefault(channel.lstrip("#"), posted_in)
        return str(data.get("ts") or "")

    @property
    def _host(self) -> str:
        return urlsplit(self.base_url).netloc


def _is_alert_message(item: object, dedup_key: str) -> bool:
    if not isinstance(item, dict):
        return False
    metadata = item.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("dedup_key") == dedup_key


def _next_cursor(page: Mapping[str, Any]) -> str | None:
    meta = page.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return str(cursor) if cursor else None


def _reason(error: object) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class SlackDeliveryError(NotifyError):
    """Slack answered with an error; `code` is its error string (`channel_not_found`...)."""

    def __init__(
        self,
        message: str,
        code: str,
        *,
        retry_after: float | None,
        permanent: bool,
        status: int = 200,
    ) -> None:
        super().__init__(message, retry_after=retry_after, permanent=permanent)
        self.code = code
        self.status = status


def _api_error(e: SlackApiError, method: str) -> SlackDeliveryError:
    """Map an SDK error (after its retries) to transient or permanent."""
    response = e.response
    status = int(getattr(response, "status_code", 0) or 0)
    data = getattr(response, "data", None)
    code = str(data.get("error", "unknown_error")) if isinstance(data, dict) else "unknown_error"
    code = code[:120]
    wait = _retry_after(getattr(response, "headers", None) or {})
    transient = status == 429 or status >= 500 or code in TRANSIENT_ERRORS
    return SlackDeliveryError(
        f"Slack {method} failed: {code} (HTTP {status})",
        code,
        retry_after=wait if transient else None,
        permanent=not transient,
        status=status,
    )
