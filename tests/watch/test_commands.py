"""`watcher check`, `approve` and `history` in process, on a SQLite store and a fake registry."""

from __future__ import annotations

import json
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


def test_check_gates_until_approved(
    registry: FakeNpm, subs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "check", "--subscriptions", subs) == (0, "", "")

    registry.publish(packages.strutil_2_1_4())
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert code == 1
    # The console alert, then the one line per new release.
    assert "=== watcher alert for console: CRITICAL" in out
    assert out.splitlines()[-1].startswith(f"npm/{packages.STRUTIL} 2.1.3 -> 2.1.4: critical")

    # Still unreviewed on the next run: still a failure, but no second alert.
    code, out, _ = run(capsys, "check", "--subscriptions", subs)
    assert code == 1
    assert "watcher alert" not in out
    assert "analysed earlier, not approved" in out

    code, out, _ = run(capsys, "approve", packages.STRUTIL, "2.1.4", "--note", "false positive")
    assert (code, out) == (0, f"npm/{packages.STRUTIL}: 2.1.3 -> 2.1.4 (approved by alice)\n")
    assert run(capsys, "check", "--subscriptions", subs) == (0, "", "")

    code, out, _ = run(capsys, "history", packages.STRUTIL)
    assert code == 0
    assert "analysed vs 2.1.3: critical" in out and "console sent" in out
    assert "approved by alice" in out and "false positive" in out

    code, out, _ = run(capsys, "history", packages.STRUTIL, "--format", "json")
    versions = {v["version"]: v for v in json.loads(out)["versions"]}
    assert versions["2.1.4"]["pinned"] is True
    assert versions["2.1.4"]["analyses"][0]["alerts"][0]["status"] == "sent"


def test_check_fails_closed_when_a_registry_fails(
    registry: FakeNpm, subs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.down.add(packages.STRUTIL)
    code, out, err = run(capsys, "check", "--subscriptions", subs)
    assert (code, out) == (2, "")
    assert f"watcher: error: {packages.STRUTIL}: " in err and "unavailable" in err


def test_bad_config_and_unknown_package_exit_2(
    registry: FakeNpm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[package]]\necosystem = "npm"\nname = "x"\npinned = "1.0.0"\nfail_on = "hgh"\n'
    )
    code, _, err = run(capsys, "check", "--subscriptions", str(bad))
    assert code == 2 and "fail_on" in err
    code, _, err = run(capsys, "history", "never-seen")
    assert code == 2 and "--ecosystem" in err
    code, _, err = run(capsys, "history", "never-seen", "--ecosystem", "npm")
    assert code == 2 and "knows nothing" in err
