"""ConsoleNotifier: the verdict and the evidence, behind a banner."""

from __future__ import annotations

import io

import pytest

from tests.notify.reports import LINKS, critical_report
from watcher.notify import Alert, ConsoleNotifier


def test_console_shows_banner_verdict_and_evidence() -> None:
    stream = io.StringIO()
    alert = Alert(
        report=critical_report(),
        channel="slack:#sec",
        links=(*LINKS, "https://example.invalid/review/1"),
        dedup_key="k-7",
    )
    ConsoleNotifier(stream).send(alert)
    out = stream.getvalue()
    first = out.splitlines()[0]
    assert first.startswith("=== watcher alert for slack:#sec: CRITICAL postmark-mcp 1.0.16")
    assert "k-7" in first
    assert "VERDICT: CRITICAL   score 97/100" in out
    assert "> Bcc: 'phan@giftshop.invalid'," in out
    assert "link: https://example.invalid/review/1" in out
    # The report's own links are printed once, not twice.
    assert out.count(LINKS[1]) == 1


def test_console_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleNotifier().send(
        Alert(report=critical_report(), channel="console", links=(), dedup_key="k")
    )
    assert "VERDICT: CRITICAL" in capsys.readouterr().out
