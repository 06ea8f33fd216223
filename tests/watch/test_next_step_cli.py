"""`watcher check` with `WATCHER_REPORT_DIR`/`WATCHER_REPORT_URL`: the alert links the HTML
report it wrote and ends with the exact approve command, which works as printed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

import watcher.watch
from tests.support import packages
from tests.watch.fakes import FakeNpm
from watcher.cli import main

SUBSCRIPTIONS = f"""\
[defaults]
interval = "1m"
notify = ["console"]

[[package]]
ecosystem = "npm"
name = "{packages.STRUTIL}"
pinned = "2.1.3"
"""


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeNpm:
    fake = FakeNpm()
    fake.publish(packages.strutil_2_1_3())
    monkeypatch.setattr(
        watcher.watch, "registry_sources", lambda _http, _cache: fake.sources_factory()
    )
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WATCHER_DB_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("WATCHER_USER", "alice")
    return fake


@pytest.fixture
def subs(tmp_path: Path) -> str:
    path = tmp_path / "subs.toml"
    path.write_text(SUBSCRIPTIONS)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_alert_links_its_report_and_its_approve_command_works(
    registry: FakeNpm,
    subs: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_REPORT_DIR", str(tmp_path / "pages"))
    monkeypatch.setenv("WATCHER_REPORT_URL", "https://reports.example.invalid/watcher")
    registry.publish(packages.strutil_2_1_4())
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert code == 1
    [page] = (tmp_path / "pages").iterdir()
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert f"full report: https://reports.example.invalid/watcher/{page.name}" in out
    # The alert's last line; `check`'s own summary follows the alert after a blank line.
    alert = out.split("\n\nnpm/")[0].splitlines()
    assert alert[-1] == f"reviewed and fine? watcher approve {packages.STRUTIL} 2.1.4"
    command = shlex.split(alert[-1].removeprefix("reviewed and fine? "))
    assert command[0] == "watcher"
    approved, said, _ = run(capsys, *command[1:])
    assert approved == 0 and "-> 2.1.4" in said
    assert run(capsys, "check", "--subscriptions", subs)[0] == 0


def test_a_report_url_without_a_directory_is_one_error_line(
    registry: FakeNpm,
    subs: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_REPORT_URL", "https://reports.example.invalid")
    code, out, err = run(capsys, "check", "--subscriptions", subs)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "watcher: error: WATCHER_REPORT_URL is set but WATCHER_REPORT_DIR is not: set the "
        "directory the web server at that URL serves"
    ]
