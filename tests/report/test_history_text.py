"""`watcher history` as text: versions, approvers and notes come from registries and people,
and are shown escaped, one line each."""

from __future__ import annotations

from datetime import UTC, datetime

from watcher.models import Ecosystem
from watcher.report.history import render_history_text
from watcher.store.repo import Approval, HistoryEntry


def test_registry_and_approval_text_cannot_write_control_sequences() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    approval = Approval(
        Ecosystem.NPM,
        "x",
        "1.0.0\x1b[2J",
        "1.0.1",
        "eve\x1b]0;owned\x07",
        at,
        "ok\r\nVERDICT: NONE",
    )
    entry = HistoryEntry(
        version="1.0.1\u202e\x1b[32m",
        first_seen_at=at,
        published_at=None,
        pinned=True,
        analyses=(),
        approvals=(approval,),
        pin_source="file",
    )
    text = render_history_text([entry])
    assert not any(c in text for c in "\x1b\x07\r\u202e")
    assert len(text.splitlines()) == 2
    assert not any(line.startswith("VERDICT") for line in text.splitlines())
