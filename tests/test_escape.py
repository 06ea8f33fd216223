"""The escaping layer itself, log lines and error lines."""

from __future__ import annotations

import io
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from watcher.errors import RegistryError
from watcher.escape import html_plain, html_text, is_hidden, logline, md_code, md_text, terminal
from watcher.logs import configure_logging

#: Any text, lone surrogates (undecodable bytes of a file name) included.
ANY = st.text(st.characters(codec=None, exclude_categories=()))


def test_terminal_writes_out_every_sequence_a_terminal_obeys() -> None:
    text = "a\x1b[2J\x1b]0;t\x07\x9b1m\r\n\t\x00\u202e\u2066\u200f\u061c\u2028\udcff b"
    assert terminal(text) == (
        "a\\x1b[2J\\x1b]0;t\\x07\\x9b1m\\r\\n\\t\\x00\\u202e\\u2066\\u200f\\u061c\\u2028\\udcff b"
    )
    assert terminal("ünïcode ✅ 🔴") == "ünïcode ✅ 🔴"
    # Characters that render as nothing: a string cannot look emptier than it is.
    assert terminal("s = '\U000e0100\U000e01ef\u3164'") == "s = '\\U000e0100\\U000e01ef\\u3164'"


@FUZZ
@given(ANY)
def test_every_escape_leaves_no_hidden_character(text: str) -> None:
    for escaped in (terminal(text), logline(text), md_text(text), md_code(text), html_plain(text)):
        assert not any(is_hidden(c) for c in escaped)
        escaped.encode("utf-8")  # writable: no lone surrogate survives
    assert not any(is_hidden(c) for c in html_text(text))


@FUZZ
@given(ANY)
def test_a_markdown_code_span_holds_all_of_its_text(text: str) -> None:
    span = md_code(text, in_table=False)
    if not span:
        return
    fence = len(span) - len(span.lstrip("`"))
    inner = span[fence:-fence]
    # No run of backticks inside is as long as the fence, so nothing closes the span early.
    assert "`" * fence not in inner
    assert span.endswith("`" * fence)


def test_markdown_code_span_fence_and_padding() -> None:
    assert md_code("a``b") == "```a``b```"
    assert md_code("`x") == "`` `x ``"
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("a|b", in_table=False) == "`a|b`"
    assert md_code("a\r\nb") == "`a⟨U+000D⟩⏎b`"
    assert md_code("") == ""


def test_markdown_text_is_literal() -> None:
    assert md_text("**x** | <!-- @acme/sec $x$ ~s~ [l](u)") == (
        "\\*\\*x\\*\\* \\| \\<\\!-- @&#8203;acme/sec \\$x\\$ \\~s\\~ \\[l\\](u)"
    )


def test_html_text_marks_hidden_characters() -> None:
    assert html_text("a\u202e<b>\t") == (
        'a<span class="ctl">⟨U+202E⟩</span>&lt;b&gt;<span class="ctl">⟨U+0009⟩</span>'
    )
    assert html_text("\tx", keep_tabs=True) == "\tx"
    assert html_plain('"\u202e"') == "&quot;⟨U+202E⟩&quot;"


def test_error_lines_are_one_line_with_controls_written_out() -> None:
    error = RegistryError("npm package 'a\r\nFAKE\x1b[2J\u202e' not found")
    # Escaped when made: one line even where only str(error) is shown or logged.
    assert str(error) == "npm package 'a\\r\\nFAKE\\x1b[2J\\u202e' not found"
    assert error.diagnostics() == str(error)


def test_a_log_record_stays_one_line_whatever_it_quotes() -> None:
    stream = io.StringIO()
    configure_logging("text", logging.INFO, stream=stream, logger_name="watcher.test_escape")
    log = logging.getLogger("watcher.test_escape")
    log.warning("registry key %s is odd", "1.0\r\nWARNING forged line\x1b[2J")
    try:
        raise ValueError("bad\rvalue\x1b")
    except ValueError:
        log.exception("failed on %s", "x\ny")
    lines = stream.getvalue().splitlines()
    assert lines[0] == (
        "WARNING watcher.test_escape: registry key 1.0\\r\\nWARNING forged line\\x1b[2J is odd"
    )
    assert lines[1] == "ERROR watcher.test_escape: failed on x\\ny"
    assert lines[-1] == "ValueError: bad\\rvalue\\x1b"
    assert not any(is_hidden(c) for c in stream.getvalue() if c != "\n")


def test_a_json_log_record_escapes_what_json_leaves_raw() -> None:
    stream = io.StringIO()
    configure_logging("json", logging.INFO, stream=stream, logger_name="watcher.test_escape_j")
    logging.getLogger("watcher.test_escape_j").warning("name %s", "a\x9b2J\u202e\r")
    [line] = stream.getvalue().splitlines()
    assert "\\u009b2J\\u202e\\r" in line
    assert json.loads(line)["message"] == "name a\x9b2J\u202e\r"
