"""The JSONC stripper: comments and trailing commas go, strings stay byte for byte."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from watcher.onboard import OnboardError
from watcher.onboard.jsonc import load_jsonc, strip_jsonc


def test_comments_and_trailing_commas_outside_strings() -> None:
    text = (
        "{\n"
        "  // the servers\n"
        '  "url": "https://a.invalid//x", /* inline\n block */ "s": "a /* not */ b // no",\n'
        '  "q": "say \\"hi\\" // still a string",\n'
        '  "list": [1, 2, /* c */ ],\n'
        "}\n"
    )
    stripped = strip_jsonc(text)
    assert json.loads(stripped) == {
        "url": "https://a.invalid//x",
        "s": "a /* not */ b // no",
        "q": 'say "hi" // still a string',
        "list": [1, 2],
    }
    # Line breaks are kept, so json's error positions still match the user's file.
    assert stripped.count("\n") == text.count("\n")


def test_a_comma_inside_a_string_before_a_brace_is_kept() -> None:
    assert json.loads(strip_jsonc('{"a": ",}", "b": [","]}')) == {"a": ",}", "b": [","]}


def test_deep_nesting_is_refused_before_json_recurses() -> None:
    with pytest.raises(ValueError, match="nested deeper"):
        strip_jsonc("[" * 100_000 + "]" * 100_000)


def test_linear_on_hostile_input() -> None:
    # Long runs that would make a backtracking regex explode: a comment-ish string, commas.
    text = '{"a": "' + "/*" * 200_000 + '", "b": [' + "1," * 200_000 + "1]}"
    start = time.perf_counter()
    assert len(json.loads(strip_jsonc(text))["b"]) == 200_001
    assert time.perf_counter() - start < 5


def test_unterminated_comment_and_bad_json_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "mcp.json"
    bad.write_text('{"servers": {} /* open')
    with pytest.raises(OnboardError, match=f"{bad}: invalid JSON: unterminated"):
        load_jsonc(bad)
    bad.write_text('{"servers": {"x": }}')
    with pytest.raises(OnboardError, match=f"{bad}: invalid JSON: .*line 1"):
        load_jsonc(bad)


def test_size_cap_and_folders(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 2000 + '"}')
    with pytest.raises(OnboardError, match="larger than 1000 bytes"):
        load_jsonc(big, max_bytes=1000)
    with pytest.raises(OnboardError, match="is a folder"):
        load_jsonc(tmp_path)
