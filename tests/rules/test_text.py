"""Evidence excerpts: a reviewer sees the match, and a huge line never becomes huge evidence."""

from __future__ import annotations

from watcher.rules.text import EVIDENCE_WIDTH, excerpt


def test_a_short_line_is_evidence_as_it_is() -> None:
    assert excerpt("  fetch('https://x.invalid')  ") == "fetch('https://x.invalid')"


def test_a_long_line_is_cut_to_a_window_around_the_match() -> None:
    line = "a" * 5000 + "eval(payload)" + "b" * 5000
    start = line.index("eval")
    shown = excerpt(line, start, start + len("eval(payload)"))
    assert "eval(payload)" in shown
    assert shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= EVIDENCE_WIDTH + 2


def test_a_match_longer_than_the_window_is_cut_too() -> None:
    blob = "0123456789abcdef" * 1_000_000  # a 16 MB hex blob on one line
    line = f"var x = '{blob}';"
    shown = excerpt(line, 9, 9 + len(blob))
    assert shown.startswith("…0123456789abcdef")
    assert len(shown) <= EVIDENCE_WIDTH + 2
