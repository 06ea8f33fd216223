"""Every alert ends with what to do next: the exact `watcher approve` command and, when
`WATCHER_REPORT_DIR`/`WATCHER_REPORT_URL` are set, a link to the full report the outbox wrote.

Through the outbox (`watch.deliver`), a real store and the recording Slack Web API server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.notify.conftest import TOKEN
from tests.support.slack_server import RecordingServer
from tests.support.stores import make_report
from watcher.errors import UsageError
from watcher.models import Ecosystem
from watcher.notify import Notifier, SlackNotifier
from watcher.report.pages import ReportPages
from watcher.store import repo
from watcher.store.db import Store
from watcher.watch import deliver

CHANNEL = "slack:#sec"
T0 = datetime.now(UTC)


def _queue(store: Store, **kwargs: Any) -> None:
    with store.session() as s:
        repo.record_analysis_with_alerts(s, make_report(**kwargs), [CHANNEL], "r1", now=T0)


def _notifiers(server: RecordingServer) -> dict[str, Notifier]:
    return {CHANNEL: SlackNotifier(TOKEN, base_url=server.url, backoff=0.01, timeout=2)}


def _blocks(server: RecordingServer) -> list[dict[str, Any]]:
    [message] = server.messages
    blocks = message.blocks
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def _texts(value: object) -> list[str]:
    """Every `text` string in a block tree, in order."""
    if isinstance(value, dict):
        own = [value["text"]] if isinstance(value.get("text"), str) else []
        return own + [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def test_a_slack_alert_ends_with_the_approve_command(store: Store, server: RecordingServer) -> None:
    _queue(store, package="demo-mcp-server", new="1.0.1")
    assert deliver(store, _notifiers(server).__getitem__, "d", T0) == 1
    last = _blocks(server)[-1]
    assert last["type"] == "rich_text"
    assert _texts(last)[-1] == "watcher approve demo-mcp-server 1.0.1 --ecosystem npm"
    assert "http" not in json.dumps(last), "no report link without WATCHER_REPORT_URL"


def test_with_a_report_dir_and_url_the_alert_links_the_page_it_wrote(
    store: Store, server: RecordingServer, tmp_path: Path
) -> None:
    _queue(store, package="@acme/mcp", new="2.0.0")
    pages = ReportPages.from_env(
        {
            "WATCHER_REPORT_DIR": str(tmp_path / "reports"),
            "WATCHER_REPORT_URL": "https://r.example/w/",
        }
    )
    assert deliver(store, _notifiers(server).__getitem__, "d", T0, pages=pages) == 1
    [page] = (tmp_path / "reports").iterdir()
    assert page.name.startswith("npm-acme_mcp-1.0.0-2.0.0-") and page.suffix == ".html"
    html = page.read_text("utf-8")
    assert "@acme/mcp" in html and "npm.install-script.added" in html
    last = _blocks(server)[-1]
    links = [e for s in last["elements"] for e in s["elements"] if e.get("type") == "link"]
    assert [link["url"] for link in links] == [f"https://r.example/w/{page.name}"]
    # A scoped name says its ecosystem: the command needs no --ecosystem.
    assert _texts(last)[-1] == "watcher approve @acme/mcp 2.0.0"


def test_a_pypi_command_names_the_ecosystem_and_is_shell_quoted(
    store: Store, server: RecordingServer
) -> None:
    _queue(store, package="odd-pkg", new="1.0;rm -rf ~", ecosystem=Ecosystem.PYPI)
    assert deliver(store, _notifiers(server).__getitem__, "d", T0) == 1
    command = _texts(_blocks(server)[-1])[-1]
    assert command == "watcher approve odd-pkg '1.0;rm -rf ~' --ecosystem pypi"


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"WATCHER_REPORT_URL": "https://r.example"}, "WATCHER_REPORT_DIR is not"),
        ({"WATCHER_REPORT_DIR": "x", "WATCHER_REPORT_URL": "javascript:x"}, "http(s) URL"),
    ],
)
def test_report_settings_that_cannot_work_are_refused(
    env: dict[str, str], error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=error.replace("(", r"\(").replace(")", r"\)")):
        ReportPages.from_env(env)
    assert ReportPages.from_env({}) is None
