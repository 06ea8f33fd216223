"""The shared added text: comment-only lines blanked in place, code after a comment kept, and
the whole-text search finding what a search of each line alone finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.diff.lines import AddedLines, LineIndex
from watcher.models import AddedLine
from watcher.rules import code
from watcher.rules.added_text import AddedText, is_comment


def test_comment_only_lines_are_blank_and_code_after_a_closed_comment_is_kept() -> None:
    assert is_comment("  // note")
    assert is_comment("# note")
    assert is_comment(" * @param url where to send")
    assert is_comment("/* a block */")
    assert not is_comment("/*! banner v1.0 */ eval(atob('cGF5bG9hZA=='))")
    assert not is_comment("*/;(function(){require('child_process').exec('id')})()")
    assert not is_comment("const a = 1 // trailing")


def test_whole_file_view_and_joined_lines_agree_with_line_numbers() -> None:
    data = b"const a = 1\n// fetch('https://x.invalid')\n/*! b */ fetch('https://y.invalid')\n"
    view = AddedLines(LineIndex(data))
    text = AddedText(view)
    from_objects = AddedText(tuple(view))
    assert text.joined == from_objects.joined
    assert list(text.starts) == list(from_objects.starts)
    # Offsets hold: the comment became spaces of its own length.
    assert len(text.joined) == len(data) - 1
    assert "x.invalid" not in text.joined
    assert "y.invalid" in text.joined
    assert text.lineno(text.index_of(text.joined.index("y.invalid"))) == 3
    assert text.index_of_lineno(3) == 2
    assert text.added(1).text.startswith("// fetch")


def test_selected_lines_map_back_to_their_file_numbers() -> None:
    lines = (AddedLine(4, "x = 1"), AddedLine(9, "# y"), AddedLine(12, "eval(z)"))
    text = AddedText(lines)
    assert text.index_of_lineno(12) == 2
    assert text.index_of_lineno(5) is None
    assert text.line(1).strip() == ""
    assert text.line(2) == "eval(z)"


_TOKENS = st.sampled_from(
    ["eval(", "x", " + ", "'a'", '"b"', "(", ")", "\t", " ", "//", "*/", "atob(", ";", "exec"]
)
_LINE = st.lists(_TOKENS, max_size=12).map("".join)
_PATTERNS = [
    re.compile(r"eval\s*\(\s*atob\(", re.MULTILINE),
    re.compile(r"'a'\s*\+\s*[^;]*", re.MULTILINE),
    re.compile(r"exec\s*$", re.MULTILINE),
    re.compile(r"^\s*x", re.MULTILINE),
]


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINE, max_size=40), st.sampled_from(_PATTERNS))
def test_searching_the_whole_text_finds_what_each_line_alone_finds(
    lines: list[str], pattern: re.Pattern[str]
) -> None:
    text = AddedText(tuple(AddedLine(i + 1, line) for i, line in enumerate(lines)))
    alone = []
    for index in range(len(text)):
        match = pattern.search(text.line(index))
        if match is not None:
            alone.append((index, match.start(), match.end(), match.group(0)))
    assert list(code._search_through(text, pattern)) == alone
