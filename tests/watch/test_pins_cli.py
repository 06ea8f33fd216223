"""Issue 11: pins that mean what they say, and a Slack fallback that says so. Through the CLI.

A fake npm registry (`FakeNpm`: real fetcher, archives over `httpx.MockTransport`) and a SQLite
store in a temporary data directory; `watcher` runs in process via `main`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import watcher.watch
from tests.support import packages
from tests.watch.fakes import FakeNpm
from watcher.cli import main

NAME = packages.STRUTIL
TODAY = datetime.now(UTC).date().isoformat()
APPROVED = f"approved by alice on {TODAY}"


@pytest.fixture(autouse=True)
def _today() -> None:
    """The date as each test starts: collected before midnight, run after, it moves."""
    global TODAY, APPROVED
    TODAY = datetime.now(UTC).date().isoformat()
    APPROVED = f"approved by alice on {TODAY}"


SUBSCRIPTIONS = f"""\
# Servers the platform team runs; reviewed pins only.
[defaults]
interval = "1m"   # poll often: these run with credentials
notify = ["console"]

[[package]]
ecosystem = "npm"
name = "{NAME}"
pinned = "2.1.3"    # reviewed 2026-11-01 (ticket SEC-12)
fail_on = "high"

# The other one.
[[package]]
ecosystem = "npm"
name = "{packages.CLEAN}"
pinned = '1.0.0'
"""


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeNpm:
    fake = FakeNpm()
    fake.publish(packages.strutil_2_1_3(), packages.clean_1_0_0())
    monkeypatch.setattr(
        watcher.watch, "registry_sources", lambda _http, _cache: fake.sources_factory()
    )
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WATCHER_DB_URL", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("WATCHER_LOG_LEVEL", raising=False)
    monkeypatch.setenv("WATCHER_USER", "alice")
    return fake


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    path = tmp_path / "subs.toml"
    path.write_text(SUBSCRIPTIONS)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys: pytest.CaptureFixture[str], subs: Path) -> dict[str, dict[str, object]]:
    code, out, err = run(
        capsys, "subscriptions", "list", "--subscriptions", subs, "--format", "json"
    )
    assert (code, err) == (0, "")
    return {s["name"]: s for s in json.loads(out)["subscriptions"]}


def test_approve_of_a_version_the_registry_lacks_exits_2_and_keeps_the_pin(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "check", "--subscriptions", subs)[0] == 0
    code, out, err = run(capsys, "approve", NAME, "9.9.9", "--subscriptions", subs)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"watcher: error: npm/{NAME} has no version '9.9.9' on its registry; nothing approved, "
        "the pin is unchanged"
    ]
    assert listed(capsys, subs)[NAME]["pinned"] == "2.1.3"
    # Watching goes on: a release after the pin is still analysed and alerted.
    registry.publish(packages.strutil_2_1_4())
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert code == 1 and f"npm/{NAME} 2.1.3 -> 2.1.4: critical" in out
    code, out, _ = run(capsys, "history", NAME, "--format", "json")
    assert all(not v["approvals"] for v in json.loads(out)["versions"])


def test_a_downgrade_needs_force(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.strutil_2_1_5())
    assert run(capsys, "approve", NAME, "2.1.5", "--subscriptions", subs)[0] == 0
    code, out, err = run(capsys, "approve", NAME, "2.1.4", "--subscriptions", subs)
    assert (code, out) == (2, "")
    assert err == (
        f"watcher: error: npm/{NAME}: 2.1.4 is older than the current pin 2.1.5 ({APPROVED}); "
        "pass --force to approve it anyway\n"
    )
    assert listed(capsys, subs)[NAME]["pinned"] == "2.1.5"

    code, out, err = run(
        capsys,
        "approve",
        NAME,
        "2.1.4",
        "--force",
        "--note",
        "2.1.5 broke",
        "--subscriptions",
        subs,
    )
    assert (code, out, err) == (0, f"npm/{NAME}: 2.1.5 -> 2.1.4 (approved by alice)\n", "")
    assert listed(capsys, subs)[NAME]["pinned"] == "2.1.4"
    code, out, _ = run(capsys, "history", NAME)
    assert f"approved by alice at {TODAY}" in out
    assert f"2.1.5 broke; forced: 2.1.4 is older than the current pin 2.1.5 ({APPROVED})" in out


def test_a_yanked_release_needs_force(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4())
    registry.yanked.add((NAME, "2.1.4"))
    code, out, err = run(capsys, "approve", NAME, "2.1.4", "--subscriptions", subs)
    assert (code, out) == (2, "")
    assert err == (
        f"watcher: error: npm/{NAME}: 2.1.4 is yanked; pass --force to approve it anyway\n"
    )
    assert listed(capsys, subs)[NAME]["pinned"] == "2.1.3"
    assert run(capsys, "approve", NAME, "2.1.4", "--force", "--subscriptions", subs)[0] == 0
    assert listed(capsys, subs)[NAME]["pinned"] == "2.1.4"


@pytest.mark.parametrize("pinned", ["latest", "^1.0", ">=2", "1.x", "", "next"])
def test_a_pin_must_be_a_concrete_version(
    registry: FakeNpm, tmp_path: Path, capsys: pytest.CaptureFixture[str], pinned: str
) -> None:
    path = tmp_path / "subs.toml"
    path.write_text(SUBSCRIPTIONS.replace('pinned = "2.1.3"', f'pinned = "{pinned}"'))
    for command in ("subscriptions validate", "check", "run"):
        code, out, err = run(capsys, *command.split(), "--subscriptions", path)
        assert (code, out) == (2, ""), command
        [line] = err.splitlines()
        assert line.startswith(f"watcher: error: {path}:9: package[1].pinned: must ")
        assert "concrete npm version" in line or "must not be empty" in line
    assert registry.calls == []  # refused before anything was polled


def test_subscriptions_list_check_history_and_alerts_show_one_pin(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4())
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert code == 1
    # The alert names the pin and where it came from.
    assert "Pinned: 2.1.3 (file)" in out
    last = out.splitlines()[-1]
    assert last.startswith(f"npm/{NAME} 2.1.3 -> 2.1.4: critical (score ")
    assert last.endswith(") [pin: file]")

    code, out, _ = run(capsys, "approve", NAME, "2.1.4", "--subscriptions", subs)
    assert (code, out) == (0, f"npm/{NAME}: 2.1.3 -> 2.1.4 (approved by alice)\n")
    entry = listed(capsys, subs)[NAME]
    assert (entry["pinned"], entry["pin_from"], entry["file_pinned"]) == (
        "2.1.4",
        APPROVED,
        "2.1.3",
    )
    code, out, _ = run(capsys, "subscriptions", "list", "--subscriptions", subs)
    assert f"{NAME}  2.1.4   {APPROVED}" in out

    registry.publish(packages.strutil_2_1_5())
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert f"Pinned: 2.1.4 ({APPROVED})" not in out  # 2.1.5 is honest: no alert
    assert f"npm/{NAME} 2.1.4 -> 2.1.5: none (score 0) [pin: {APPROVED}]" in out.splitlines()

    code, out, _ = run(capsys, "history", NAME)
    assert f"2.1.4  (pinned: {APPROVED})" in out
    code, out, _ = run(capsys, "history", NAME, "--format", "json")
    versions = {v["version"]: v for v in json.loads(out)["versions"]}
    assert versions["2.1.4"]["pin_source"] == APPROVED


def test_approve_write_changes_only_the_pin_line(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4(), packages.clean_1_0_1())
    code, out, err = run(capsys, "approve", NAME, "2.1.4", "--write", "--subscriptions", subs)
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == f'{subs}:9: pinned = "2.1.4"'
    expected = SUBSCRIPTIONS.replace(
        'pinned = "2.1.3"    # reviewed', 'pinned = "2.1.4"    # reviewed'
    )
    assert subs.read_text() == expected
    assert not list(subs.parent.glob(".subs.toml.*"))  # no temp file left
    # A literal string keeps its quotes.
    run(capsys, "approve", packages.CLEAN, "1.0.1", "--write", "--subscriptions", subs)
    assert subs.read_text() == expected.replace("pinned = '1.0.0'", "pinned = '1.0.1'")
    entry = listed(capsys, subs)[NAME]
    assert (entry["pinned"], entry["file_pinned"]) == ("2.1.4", "2.1.4")
    assert run(capsys, "check", "--subscriptions", subs)[0] == 0


def test_approve_write_refuses_an_inline_table_and_records_nothing(
    registry: FakeNpm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4())
    path = tmp_path / "inline.toml"
    text = f'package = [{{ ecosystem = "npm", name = "{NAME}", pinned = "2.1.3" }}]\n'
    path.write_text(text)
    code, out, err = run(capsys, "approve", NAME, "2.1.4", "--write", "--subscriptions", path)
    assert (code, out) == (2, "")
    assert "edit it" in err and len(err.splitlines()) == 1
    assert path.read_text() == text
    assert listed(capsys, path)[NAME]["pinned"] == "2.1.3"


def test_slack_without_token_warns_once_and_history_says_console(
    registry: FakeNpm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "subs.toml"
    path.write_text(
        SUBSCRIPTIONS.replace('notify = ["console"]', 'notify = ["slack:#sec", "slack:#ops"]')
    )
    registry.publish(packages.strutil_2_1_4())
    code, out, err = run(capsys, "check", "--subscriptions", path)
    assert code == 1
    assert err.splitlines() == [
        "watcher: warning: SLACK_BOT_TOKEN is not set: alerts for slack:#ops, slack:#sec go "
        "to the console instead of Slack"
    ]
    # Each console alert names the Slack target it stands in for.
    banners = [line for line in out.splitlines() if line.startswith("=== watcher alert")]
    assert [b.split(":")[0] + ":" + b.split(":")[1].split(" ")[0] for b in banners] == [
        "=== watcher alert for slack:#sec",
        "=== watcher alert for slack:#ops",
    ]
    assert all("(on the console: SLACK_BOT_TOKEN is not set)" in b for b in banners)

    code, out, _ = run(capsys, "history", NAME)
    assert "slack:#sec: console, Slack not configured" in out
    assert "slack:#ops: console, Slack not configured" in out
    assert "sent" not in out
    code, out, _ = run(capsys, "history", NAME, "--format", "json")
    versions = {v["version"]: v for v in json.loads(out)["versions"]}
    alerts = versions["2.1.4"]["analyses"][0]["alerts"]
    assert {a["delivered_via"] for a in alerts} == {"console, Slack not configured"}
    assert {a["status"] for a in alerts} == {"fallback"}


def test_no_warning_without_slack_targets(
    registry: FakeNpm, subs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "check", "--subscriptions", subs) == (0, "", "")


def test_a_forced_approval_older_than_the_files_pin_says_the_file_still_wins(
    registry: FakeNpm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.publish(packages.strutil_2_1_4())  # published after 2.1.3
    path = tmp_path / "subs.toml"
    path.write_text(SUBSCRIPTIONS.replace('pinned = "2.1.3"', 'pinned = "2.1.4"'))
    code, _, err = run(capsys, "approve", NAME, "2.1.3", "--subscriptions", path)
    assert code == 2 and "older than the current pin 2.1.4 (file)" in err
    code, out, _ = run(capsys, "approve", NAME, "2.1.3", "--force", "--subscriptions", path)
    assert (code, out.splitlines()) == (
        0,
        [
            f"npm/{NAME}: 2.1.4 -> 2.1.3 (approved by alice)",
            f"npm/{NAME}: the pin stays 2.1.4 (file): it was published later; pass --write to "
            "set the file's pin too",
        ],
    )
    assert listed(capsys, path)[NAME]["pinned"] == "2.1.4"
    code, out, _ = run(
        capsys, "approve", NAME, "2.1.3", "--force", "--write", "--subscriptions", path
    )
    assert code == 0 and "the pin stays" not in out
    entry = listed(capsys, path)[NAME]
    assert (entry["pinned"], entry["pin_from"], entry["file_pinned"]) == (
        "2.1.3",
        APPROVED,
        "2.1.3",
    )


def test_a_pin_the_registry_does_not_list_fails_check_at_every_poll(
    capsys: pytest.CaptureFixture[str], registry: FakeNpm, subs: Path
) -> None:
    # A pin that slipped in before approve checked (a typo in the file, an old store) must
    # not make `check` silently pass: nothing can be compared with it.
    subs.write_text(SUBSCRIPTIONS.replace('pinned = "2.1.3"', 'pinned = "2.1.30"'))
    for _ in range(2):
        code, _out, err = run(capsys, "check", "--subscriptions", subs)
        assert code == 2
        assert "2.1.30: the pin is not a version the registry lists" in err
