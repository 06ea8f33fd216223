"""Property tests: nothing in a package changes what a report says about it.

Every attacker-controlled field of a report (package name, versions, file names, messages,
evidence, tool descriptions quoted in them, artifacts, reasons, links, registry text in rule
failures) is drawn from text full of controls, CR/LF, backtick runs, pipes, HTML, mentions and
bidi characters. For every renderer: (a) no hidden character from the input reaches the output
raw (the renderer's own newlines aside), (b) the verdict line is the one the verdict gives, and
(c) the structure holds: the Markdown findings table keeps one row per finding, Slack mrkdwn
holds no package text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ
from watcher.escape import is_hidden
from watcher.models import (
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    RuleFailure,
    Severity,
    Suppressed,
)
from watcher.notify.console import ConsoleNotifier
from watcher.notify.slack import _message, build_blocks
from watcher.report import render_html, render_json, render_markdown, render_sarif, render_text
from watcher.report.jsonfmt import report_dict
from watcher.report.sarif import sarif_dict

#: Pieces attackers use to forge output: terminal sequences, line breaks, Markdown and mrkdwn
#: syntax, HTML, mentions, bidi overrides and isolates.
PIECES = [
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x07",
    "\x1b[2J",
    "\x1b[32mVERDICT: NONE\x1b[0m",
    "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.invalid\x1b\\",
    "\x9b31m",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\u200b",
    "\ufeff",
    "`",
    "``",
    "```",
    "|",
    "\\",
    "\\|",
    "<!--",
    "-->",
    "<script>",
    "&amp;",
    "&#8203;",
    "@acme/security",
    "> **Reviewed by @acme/security: false positive, safe to merge.**",
    "*✅ VERDICT: NONE*",
    "~strike~",
    "<!channel>",
    "<https://evil.invalid|docs>",
    "[link](https://evil.invalid)",
    "![img](https://evil.invalid/x.png)",
    "$\\color{green}{NONE}$",
    "VERDICT: NONE",
    "**Verdict: NONE**",
    "# heading",
    "- item",
]
TEXT = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=8).map("".join)
SEVERITIES = st.sampled_from(list(Severity))


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    return Finding(
        rule=draw(st.sampled_from(["npm.install-script", "mcp.description-changed", "code.x"])),
        severity=draw(SEVERITIES),
        message=draw(TEXT),
        category="install-hook",
        path=draw(st.none() | TEXT),
        line=draw(st.none() | st.integers(1, 9999)),
        evidence=draw(st.none() | TEXT),
        artifact=draw(st.none() | TEXT),
        via=draw(st.none() | TEXT),
    )


@st.composite
def reports(draw: st.DrawFn) -> Report:
    severity = draw(SEVERITIES)
    return Report(
        ecosystem=draw(st.sampled_from(list(Ecosystem))),
        package=draw(TEXT),
        old_version=draw(st.none() | TEXT),
        new_version=draw(TEXT),
        score=draw(st.integers(0, 100)),
        severity=severity,
        findings=tuple(draw(st.lists(findings(), max_size=5))),
        files=FileCounts(added=1, removed=2, changed=3),
        metadata=MetadataSummary(
            publisher_changed=None, provenance=Provenance.ABSENT, version_jump=False
        ),
        artifacts=tuple(draw(st.lists(TEXT, max_size=2))),
        reasons=tuple(draw(st.lists(TEXT, max_size=3))),
        rule_failures=tuple(
            RuleFailure(rule="code.obfuscation", error=e) for e in draw(st.lists(TEXT, max_size=1))
        ),
        links=tuple(draw(st.lists(TEXT | TEXT.map("https://x.invalid/".__add__), max_size=2))),
        suppressed=tuple(
            Suppressed(f, by) for f, by in draw(st.lists(st.tuples(findings(), TEXT), max_size=2))
        ),
    )


def _raw_hidden(output: str, allowed: str = "\n") -> set[str]:
    return {c for c in output if is_hidden(c) and c not in allowed}


@FUZZ
@given(reports())
def test_text_report(report: Report) -> None:
    lines = render_text(report).splitlines()
    assert not _raw_hidden(render_text(report))
    verdict = f"VERDICT: {report.severity.value.upper()}   score {report.score}/100"
    assert lines[1] == verdict
    # Package text is indented or behind our own words: no other line can pose as a verdict.
    assert [line for line in lines[1:] if line.startswith("VERDICT")] == [verdict]


@FUZZ
@given(reports())
def test_console_alert(report: Report) -> None:
    from io import StringIO

    from watcher.notify.base import Alert

    out = StringIO()
    alert = Alert(channel="console", report=report, dedup_key="k", links=report.artifacts)
    ConsoleNotifier(out).send(alert)
    assert not _raw_hidden(out.getvalue())
    verdict = f"VERDICT: {report.severity.value.upper()}   score {report.score}/100"
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("VERDICT")] == [verdict]


def _cells(row: str) -> int:
    """GFM cell delimiters in a row: a `|` not directly after a backslash (cmark-gfm's rule)."""
    return sum(1 for i, c in enumerate(row) if c == "|" and (i == 0 or row[i - 1] != "\\"))


@FUZZ
@given(reports())
def test_markdown_report(report: Report) -> None:
    output = render_markdown(report)
    assert not _raw_hidden(output)
    lines = output.split("\n")
    verdict = f"**Verdict: {report.severity.value.upper()}** — score {report.score}/100"
    assert lines[2] == verdict
    assert [line for line in lines if line.startswith("**Verdict")] == [verdict]
    if report.findings:
        start = lines.index("|---|---|---|---|---|---|") + 1
        rows = lines[start : start + len(report.findings)]
        assert all(row.startswith("| ") and _cells(row) == 7 for row in rows)
        # The table ends right after the last finding: nothing became an extra row or block.
        assert lines[start + len(report.findings)] == ""
    # Outside code spans and link destinations: no HTML but our `<details>` wrapper, no live
    # mention, no emphasis or strikethrough.
    text = _outside_code(output.replace(verdict, ""))
    # Link lines are ours: `[label](target)`, the target percent-encoded, checked here.
    links = [line for line in text.split("\n") if line.startswith("[")]
    for line in links:
        label, _, target = line[1:].rpartition("](")
        assert target.endswith(")") and not set(target[:-1]) & set(" ()<>[]`|\\")
        text = text.replace(line, label)
    for tag in ("<details><summary>", "</summary>", "</details>"):
        text = text.replace(tag, "")
    for char in "<*~[!$":
        assert char not in text.replace("\\" + char, ""), char
    # GitHub mentions only where `@` does not follow a letter, digit or `_` (`pkg@1.0` is none).
    assert re.search(r"(?<![A-Za-z0-9_])@acme", text) is None


def _outside_code(line: str) -> str:
    """`line` without its code spans (a run of n backticks up to the next run of exactly n)."""
    out = []
    i = 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append(line[i : i + 2])
            i += 2
            continue
        if line[i] != "`":
            out.append(line[i])
            i += 1
            continue
        n = len(line[i:]) - len(line[i:].lstrip("`"))
        j = i + n
        while j < len(line):
            if line[j] == "`":
                m = len(line[j:]) - len(line[j:].lstrip("`"))
                if m == n:
                    break
                j += m
            else:
                j += 1
        if j >= len(line):  # no closing run: the backticks are literal
            out.append(line[i : i + n])
            i += n
        else:
            i = j + n
    return "".join(out)


def _mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict) and text.get("type") == "mrkdwn":
            out.append(text["text"])
        out.extend(e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn")
    return out


def _tame(report: Report) -> Report:
    """The same verdict and counts with every piece of package text replaced by a token.

    Distinct texts get distinct tokens, so findings that are identical (and collapse into
    one group) stay identical and no others become so.
    """
    tokens: dict[tuple[str, str], str] = {}

    def token(kind: str, text: str | None) -> str | None:
        if not text:  # None and "" both read as absent (`via=""` groups with `via=None`)
            return text
        return tokens.setdefault((kind, text), f"x{len(tokens)}")

    tame = [
        Finding(
            rule=f.rule,
            severity=f.severity,
            # What findings are compared by (evidence, else message) keeps its equalities.
            message=token("text", f.message.strip()) or "x",
            category=f.category,
            path=token("path", f.path),
            line=f.line,
            evidence=token("text", f.evidence.strip()) if (f.evidence or "").strip() else None,
            artifact=token("artifact", f.artifact),
            via=token("via", f.via),
            reach=f.reach,
        )
        for f in report.findings
    ]
    return Report(
        ecosystem=report.ecosystem,
        package="x",
        old_version=None if report.old_version is None else "x",
        new_version="x",
        score=report.score,
        severity=report.severity,
        findings=tuple(tame),
        files=report.files,
        metadata=report.metadata,
        reasons=("x",) * len(report.reasons),
        rule_failures=report.rule_failures,
    )


@FUZZ
@given(reports())
def test_slack_blocks(report: Report) -> None:
    text, blocks = build_blocks(report, report.links)
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert not _raw_hidden(text)
    # `\n` inside a rich_text run is our own line break between a finding's head and message.
    assert not _raw_hidden("".join(json.loads(dumped).__repr__()), allowed="\n")
    for block in blocks:
        for leaf in json.dumps(block, ensure_ascii=False):
            assert not is_hidden(leaf) or leaf == "\n"
    # mrkdwn carries only our own words: the same as for a report with no package text at all.
    _, tame = build_blocks(_tame(report), ())
    assert _mrkdwn_texts(blocks) == _mrkdwn_texts(tame)
    verdict = f"*{report.severity.value.upper()}* · score *{report.score}*/100 · "
    assert blocks[1]["text"]["text"].startswith(verdict)
    assert "<!" not in text and "<http" not in text


#: Found by the fuzzer: an empty `via` groups with absent ones, so its tamed twin must too.
_EMPTY_VIA = Report(
    ecosystem=Ecosystem.NPM,
    package="",
    old_version=None,
    new_version="",
    score=0,
    severity=Severity.NONE,
    findings=tuple(
        Finding("npm.install-script", Severity.NONE, "", "install-hook", via=via)
        for via in (None, None, None, "")
    ),
    files=FileCounts(added=1, removed=2, changed=3),
    metadata=MetadataSummary(None, Provenance.ABSENT, False),
)


@FUZZ
@given(reports())
@example(_EMPTY_VIA)
def test_slack_text_only_fallback(report: Report) -> None:
    text = _message(report, report.links).text_only()
    assert not _raw_hidden(text)
    # Outside code spans only our own words: link markup aside, the tame report's skeleton.
    tame = _message(_tame(report), ()).text_only()

    def skeleton(message: str) -> str:
        outside = "".join(message.split("`")[::2])
        outside = "".join(part.split(">", 1)[-1] for part in outside.split("<"))
        return "\n".join(x for x in outside.split("\n") if not x.startswith("*Links* "))

    assert "VERDICT" not in skeleton(text) and "strike" not in skeleton(text)
    assert skeleton(text).count("*") == skeleton(tame).count("*") or len(text) >= 2900
    assert "<!" not in text


@FUZZ
@given(reports())
def test_html_report(report: Report) -> None:
    output = render_html(report)
    assert not _raw_hidden(output)
    assert output.count('class="verdict"') == 1
    badge = f'<span class="badge sev-{report.severity.value}">{report.severity.value}</span>'
    assert f'<div class="verdict">{badge}<span class="score">{report.score}<' in output
    assert "<script" not in output.lower()


@FUZZ
@given(reports())
def test_sarif_messages(report: Report) -> None:
    log = json.loads(render_sarif(report))
    for result in log["runs"][0]["results"]:
        text = result["message"]["text"]
        assert not _raw_hidden(text, allowed="")
        # No `[text](n)` link can form: every bracket is escaped.
        assert all(text[i - 1] == "\\" for i, c in enumerate(text) if c in "[]")
        assert result["properties"]["reportSeverity"] == report.severity.value


@FUZZ
@given(reports())
def test_json_and_sarif_are_exact_and_terminal_safe(report: Report) -> None:
    for render, as_dict in ((render_json, report_dict), (render_sarif, sarif_dict)):
        output = render(report)
        assert not _raw_hidden(output)
        # The data is exact: the escapes decode to the very strings of the report.
        assert json.loads(output) == json.loads(json.dumps(as_dict(report)))
