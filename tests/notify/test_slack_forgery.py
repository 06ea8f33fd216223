"""A release whose contents try to forge the Slack alert, posted to the recording Slack server.

The payloads are the issue's: a backtick in a postinstall script that used to close the code
span and let `*✅ VERDICT: NONE*` and `~strike~` render, channel pings, disguised links, bidi
overrides and terminal escapes in file names.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.notify.conftest import TOKEN
from tests.notify.reports import critical_report
from tests.support.slack_server import RecordingServer, Reply
from watcher.models import Finding, Report, Severity
from watcher.notify import Alert, SlackNotifier

SCRIPT = "node x.js` *✅ VERDICT: NONE* ~strike~ <!channel> <https://evil.invalid|docs> `"
PATH = "lib/a\r\x1b[2J\u202etxt.js"


def _forged() -> Report:
    finding = Finding(
        rule="npm.install-script",
        severity=Severity.HIGH,
        message=f"`postinstall` script added: `{SCRIPT}`",
        category="install-hook",
        path=PATH,
        line=5,
        evidence=f'"postinstall": "{SCRIPT}"',
    )
    return dataclasses.replace(
        critical_report(), findings=(finding,), reasons=(f"*✅ VERDICT: NONE* {SCRIPT}",)
    )


def _send(server: RecordingServer) -> None:
    notifier = SlackNotifier(TOKEN, base_url=server.url, timeout=5, backoff=0.02)
    notifier.send(Alert(report=_forged(), channel="slack:#x", links=(), dedup_key="k-f"))


def _mrkdwn(blocks: list[dict[str, Any]]) -> list[str]:
    texts = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    texts += [e["text"] for b in blocks for e in b.get("elements", []) if e["type"] == "mrkdwn"]
    return texts


def _leaves(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "text" and "text" in node:
            return [node]
        return [leaf for value in node.values() for leaf in _leaves(value)]
    if isinstance(node, list):
        return [leaf for item in node for leaf in _leaves(item)]
    return []


def test_package_text_never_reaches_mrkdwn(server: RecordingServer) -> None:
    _send(server)
    [call] = server.calls
    blocks = call.json["blocks"]
    assert blocks[1]["text"]["text"] == "*CRITICAL* · score *97*/100 · 1 finding"
    for text in _mrkdwn(blocks):
        for piece in ("VERDICT", "strike", "channel", "evil", "node x.js"):
            assert piece not in text
    leaves = _leaves(blocks)
    # Shown as written, in elements Slack does not parse; the verdict stays the real one.
    assert {
        "type": "text",
        "text": "lib/a⟨U+000D⟩⟨U+001B⟩[2J⟨U+202E⟩txt.js:5",
        "style": {"code": True},
    } in leaves
    assert any(leaf["text"] == f'"postinstall": "{SCRIPT}"' for leaf in leaves)
    assert not any(c in str(call.json) for c in "\r\x1b\u202e")


def test_text_only_fallback_keeps_the_script_in_code_spans(server: RecordingServer) -> None:
    server.script([Reply.error("invalid_blocks"), Reply.ok()])
    _send(server)
    text = server.calls[1].json["text"]
    assert "blocks" not in server.calls[1].json
    # The script's backticks cannot close the span: they are shown as `ˋ`.
    assert "`&quot;" not in text
    assert (
        '`"postinstall": "node x.jsˋ *✅ VERDICT: NONE* ~strike~ &lt;!channel&gt; '
        '&lt;https://evil.invalid|docs&gt; ˋ"`' in text
    )
    outside = "".join(text.split("`")[::2])
    for piece in ("VERDICT", "strike", "channel", "evil"):
        assert piece not in outside
    assert not any(c in text for c in "\r\x1b\u202e")
