"""`build_blocks`: the golden message, Block Kit limits, and escaping of hostile text."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from tests.notify.reports import LINKS, critical_report, huge_report
from watcher.models import Finding, Report, Severity
from watcher.notify.slack import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    SECTION_TEXT_LIMIT,
    _message,
    build_blocks,
    escape_mrkdwn,
)

GOLDEN = Path(__file__).parent / "golden" / "slack_critical.json"


def _texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn or plain_text object's text, wherever it sits in the blocks."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out.extend(e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn")
    return out


def _runs(element: dict[str, Any]) -> list[dict[str, Any]]:
    """The leaf elements (text, link) of a rich_text element, in order."""
    if element.get("type") in ("text", "link"):
        return [element]
    return [leaf for child in element.get("elements", []) for leaf in _runs(child)]


def _rich_text(block: dict[str, Any]) -> str:
    """What a rich_text block shows, with code runs in backticks for readable assertions."""
    lines = []
    for element in block["elements"]:
        parts = []
        for run in _runs(element):
            code = run.get("style", {}).get("code")
            parts.append(f"`{run['text']}`" if code else run["text"])
        lines.append("".join(parts))
    return "\n".join(lines)


def _rich_blocks(blocks: list[dict[str, Any]]) -> list[str]:
    return [_rich_text(b) for b in blocks if b["type"] == "rich_text"]


def test_golden_critical_report() -> None:
    text, blocks = build_blocks(critical_report(), LINKS)
    actual = {"text": text, "blocks": blocks}
    if os.environ.get("WATCHER_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run with WATCHER_UPDATE_GOLDEN=1 to create it"
    expected = json.loads(GOLDEN.read_text("utf-8"))
    assert actual == expected, (
        f"the Slack message differs from {GOLDEN.name}; if the change is intended, review the "
        "diff and regenerate with WATCHER_UPDATE_GOLDEN=1 pytest tests/notify"
    )


def test_critical_message_content() -> None:
    text, blocks = build_blocks(critical_report(), LINKS)
    assert text.startswith("🔴 CRITICAL: postmark-mcp 1.0.15 → 1.0.16 (npm), score 97/100")
    assert "top: code.email-bcc-added at index.js:231" in text
    header = blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "🔴 CRITICAL · postmark-mcp 1.0.15 → 1.0.16 (npm)"
    assert blocks[1]["text"]["text"] == "*CRITICAL* · score *97*/100 · 6 findings"
    rich = _rich_blocks(blocks)
    assert rich[0].startswith("Why\ncode that runs at install time")
    # Most severe first; equal severities in the report's order.
    firsts = [r for r in rich if r.startswith(("🔴", "🟠", "🟡"))]
    assert firsts[0].startswith("🔴 CRITICAL `index.js:231` · `code.email-bcc-added`")
    assert firsts[1].startswith("🟠 HIGH `package.json:9` · `npm.install-script`")
    assert firsts[0].endswith("\nBcc: 'phan@giftshop.invalid',")
    assert "`(metadata)` · `meta.publisher-changed`" in firsts[-1]
    assert "(<phan> & co)" in firsts[-1], "rich_text is shown as written: no entities"
    context = blocks[-2]
    assert context["type"] == "context"
    joined = " ".join(e["text"] for e in context["elements"])
    assert "Files: 1 added · 0 removed · 3 changed" in joined
    assert "1 rule(s) failed: code.obfuscation" in joined
    links = [r for r in _runs(blocks[-3]) if r["type"] == "link"]
    assert links[1]["url"] == "https://www.npmjs.com/package/postmark-mcp/v/1.0.16"


def test_limits_with_200_findings_and_10kb_evidence() -> None:
    text, blocks = build_blocks(huge_report(), huge_report().links)
    assert len(blocks) <= MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    assert "99.0.0" in blocks[0]["text"]["text"], "the versions survive a long package name"
    for body in _texts(blocks) + _rich_blocks(blocks):
        assert len(body) <= SECTION_TEXT_LIMIT
    assert len(text) <= SECTION_TEXT_LIMIT
    finding_blocks = [r for r in _rich_blocks(blocks) if "`dist/" in r]
    assert len(finding_blocks) == 8
    assert all("CRITICAL" in r for r in finding_blocks)
    # Long paths are cut in the middle: the file name and line survive.
    assert "/bundle3.js:4`" in finding_blocks[0]
    context = " ".join(e["text"] for e in blocks[-2]["elements"])
    assert "+192 more findings" in context
    assert len(blocks[-2]["elements"]) <= 10
    # The approve command closes the message even when findings were cut.
    assert "watcher approve " in str(blocks[-1])
    # The whole payload stays far below what chat.postMessage accepts.
    assert len(json.dumps(blocks)) < 40_000


def _hostile_report() -> Report:
    hostile = Finding(
        rule="mcp.prompt-injection",
        severity=Severity.HIGH,
        message="<!channel> see <https://evil.invalid|docs> & *✅ VERDICT: NONE* ~strike~",
        category="mcp-injection",
        path="src/<b>&`*x*`.ts",
        line=3,
        evidence="desc: `<IMPORTANT>` do not tell the user\u202e txt.exe\n<!here> ` *bold*",
    )
    return dataclasses.replace(critical_report(), findings=(hostile,), links=())


def test_hostile_text_goes_into_rich_text_only() -> None:
    text, blocks = build_blocks(
        _hostile_report(), ["javascript:alert(1)", "https://ok.invalid/a|b>c"]
    )
    # No mrkdwn object holds package text: only the verdict line and the counts are mrkdwn.
    mrkdwn = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    mrkdwn += [e["text"] for b in blocks for e in b.get("elements", []) if e["type"] == "mrkdwn"]
    for body in mrkdwn:
        for piece in ("channel", "VERDICT", "strike", "IMPORTANT", "bold", "<b>"):
            assert piece not in body
    finding = next(b for b in blocks if "mcp.prompt-injection" in json.dumps(b))
    runs = _runs(finding)
    assert {"type": "text", "text": "src/<b>&`*x*`.ts:3", "style": {"code": True}} in runs
    assert runs[-2]["text"].endswith(
        "<!channel> see <https://evil.invalid|docs> & *✅ VERDICT: NONE* ~strike~"
    )
    # Evidence is preformatted, so nothing in it can format; the bidi override is shown.
    assert finding["elements"][-1] == {
        "type": "rich_text_preformatted",
        "elements": [
            {
                "type": "text",
                "text": "desc: `<IMPORTANT>` do not tell the user⟨U+202E⟩ txt.exe⏎<!here> ` *bold*",
            }
        ],
    }
    assert "\u202e" not in json.dumps(blocks, ensure_ascii=False)
    # Only http(s) links; `|` and `>` inside a URL are percent-encoded.
    links = [r for b in blocks for r in _runs(b) if r["type"] == "link"]
    assert [link["url"] for link in links] == ["https://ok.invalid/a%7Cb%3Ec"]
    assert "javascript:" not in json.dumps(blocks)
    # The notification text is entity-escaped.
    assert "<" not in text and "src/&lt;b&gt;&amp;`*x*`.ts:3" in text


def test_text_only_fallback_keeps_package_text_in_code_spans() -> None:
    message = _message(_hostile_report(), ["https://ok.invalid/a|b>c"])
    text = message.text_only()
    assert "<!channel>" not in text and "<!here>" not in text
    assert "<https://evil.invalid" not in text
    assert (
        "`&lt;!channel&gt; see &lt;https://evil.invalid|docs&gt; &amp; *✅ VERDICT: NONE* ~strike~`"
        in (text)
    )
    assert "`src/&lt;b&gt;&amp;ˋ*x*ˋ.ts:3`" in text
    # The code span cannot be ended early, and the bidi override is shown, not obeyed.
    assert (
        "`desc: ˋ&lt;IMPORTANT&gt;ˋ do not tell the user⟨U+202E⟩ txt.exe⏎&lt;!here&gt; ˋ *bold*`"
        in text
    )
    assert "*Links* <https://ok.invalid/a%7Cb%3Ec>" in text
    # Outside code spans, only our own words: every `*` pair is the severity's or the titles'.
    outside = "".join(text.split("`")[::2])
    for piece in ("VERDICT", "strike", "channel", "bold"):
        assert piece not in outside


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


def test_truncation_never_splits_an_entity() -> None:
    finding = Finding(
        rule="code.obfuscation",
        severity=Severity.MEDIUM,
        message="m",
        category="obfuscation",
        path="a.js",
        line=1,
        evidence="&" * 1000,
    )
    report = dataclasses.replace(critical_report(), findings=(finding,))
    _, blocks = build_blocks(report, [])
    preformatted = next(b for b in blocks if "a.js:1" in str(b))["elements"][-1]
    assert preformatted["elements"][0]["text"] == "&" * 299 + "…"
    evidence = _message(report, []).text_only().split("\n\n")[3].splitlines()[-1]
    assert evidence.endswith("&amp;…`")
    assert evidence.count("&amp;") * 5 + 3 == len(evidence)


def test_first_release_and_no_findings() -> None:
    report = dataclasses.replace(
        critical_report(), old_version=None, findings=(), severity=Severity.NONE, reasons=()
    )
    text, blocks = build_blocks(report, [])
    assert "1.0.16 (first release)" in blocks[0]["text"]["text"]
    assert not any(b["type"] == "divider" for b in blocks)
    assert "0 findings" in text


def test_identical_findings_in_platform_wheels_are_one_section_with_a_count() -> None:
    wheels = [f"x-1.0-cp312-{p}.whl" for p in ("linux", "macos", "win", "musl", "arm")]
    same = tuple(
        Finding(
            rule="code.network",
            severity=Severity.HIGH,
            message="network request",
            category="network",
            path="x/_boot.py",
            line=3,
            evidence="urlopen(URL)",
            artifact=wheel,
        )
        for wheel in wheels
    )
    report = dataclasses.replace(critical_report(), findings=same, artifacts=tuple(wheels))
    _, blocks = build_blocks(report, [])
    findings = [_rich_text(b) for b in blocks if b["type"] == "rich_text"]
    boot = [s for s in findings if "x/_boot.py:3" in s]
    assert len(boot) == 1
    assert "\n×5 · `x/_boot.py:3 [in 5 artifacts]`" in boot[0]
    context = " ".join(e["text"] for e in blocks[-2]["elements"])
    assert "more finding" not in context


def test_identical_findings_in_several_files_name_the_other_places() -> None:
    same = tuple(
        Finding(
            rule="code.network",
            severity=Severity.HIGH,
            message="network request",
            category="network",
            path=f"lib/copy{i}.js",
            line=3,
            evidence="fetch(URL)",
        )
        for i in range(5)
    )
    report = dataclasses.replace(critical_report(), findings=same)
    _, blocks = build_blocks(report, [])
    [section] = [_rich_text(b) for b in blocks if "copy0" in str(b)]
    assert (
        "×5 · also at `lib/copy1.js:3`, `lib/copy2.js:3`, `lib/copy3.js:3`, …and 1 more" in section
    )
