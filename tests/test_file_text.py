"""A file larger than what watcher reads as text is read that far, and the rest is a gap."""

from __future__ import annotations

import pytest

from watcher import gaps, models
from watcher.models import FileEntry


def test_text_past_the_limit_is_cut_and_recorded_as_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "MAX_TEXT_BYTES", 64)
    entry = FileEntry.of("lib/big.js", b"a" * 64 + b"require('child_process')")
    with gaps.collecting() as found:
        text = entry.text
    assert text == "a" * 64
    assert [g.path for g in found] == ["lib/big.js"]
    assert "only the first" in found[0].reason


def test_text_within_the_limit_is_whole_and_no_gap() -> None:
    entry = FileEntry.of("index.js", "é\n".encode() * 10)
    with gaps.collecting() as found:
        assert entry.text == "é\n" * 10
    assert found == []
