"""The incident replays as regression tests: each must reach its severity with the rules and the
evidence line a reviewer needs; the hard negatives' real shapes must stay below `high`.

The replays (tests/support/replays.py) are defanged: hosts under `.invalid`, inert payloads,
nothing installed or run. Each pair is written to disk and analysed by the real pipeline
(`diff_local`, as `watcher diff --old --new` does); the registry-backed ones are also diffed
through the real npm client against an in-memory registry, so that the dependency scan and
the publish history take part.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.replays import (
    HARD_NEGATIVES,
    REPLAYS,
    Replay,
    npm,
    npm_artifact,
    registry_report,
)
from watcher.models import Report, Severity
from watcher.pipeline import diff_local

REPLAY_IDS = sorted(REPLAYS)
REGISTRY_IDS = sorted(k for k, build in REPLAYS.items() if build().registry)


def _write(replay: Replay, root: Path) -> tuple[Path, Path]:
    (root / "old").mkdir()
    (root / "new").mkdir()
    old, new = root / "old" / replay.old.filename, root / "new" / replay.new.filename
    old.write_bytes(replay.old.data)
    new.write_bytes(replay.new.data)
    return old, new


def _local(replay: Replay, root: Path) -> Report:
    return diff_local(*_write(replay, root))


def _explain(report: Report) -> str:
    return "\n".join(
        f"{f.rule} {f.severity.value} {f.path}:{f.line} {f.evidence}" for f in report.findings
    )


@pytest.mark.parametrize("replay_id", REPLAY_IDS)
def test_replay_reaches_its_severity_with_its_rules(replay_id: str, tmp_path: Path) -> None:
    replay = REPLAYS[replay_id]()
    report = _local(replay, tmp_path)
    fired = {f.rule for f in report.findings}
    assert replay.rules <= fired, f"silent: {replay.rules - fired}\n{_explain(report)}"
    assert report.severity >= replay.severity, _explain(report)
    assert report.severity >= Severity.HIGH


@pytest.mark.parametrize("replay_id", REPLAY_IDS)
def test_replay_shows_the_evidence_line(replay_id: str, tmp_path: Path) -> None:
    replay = REPLAYS[replay_id]()
    report = _local(replay, tmp_path)
    shown = [f for f in report.findings if replay.evidence in (f.evidence or "")]
    assert shown, f"no finding shows {replay.evidence!r}\n{_explain(report)}"
    # The line points at the file a reviewer opens (package.json, the payload, the .pth ...).
    assert any(f.path for f in shown) or any(f.rule.startswith("meta.") for f in shown)


@pytest.mark.parametrize("replay_id", REGISTRY_IDS)
def test_registry_backed_replay_through_the_real_client(replay_id: str) -> None:
    replay = REPLAYS[replay_id]()
    report = registry_report(replay)
    fired = {f.rule for f in report.findings}
    assert replay.registry_rules <= fired, _explain(report)
    assert report.severity >= replay.severity, _explain(report)


def test_new_dependency_with_an_install_hook_is_critical_via_the_dependency() -> None:
    """axios 2026: the parent is clean; the dependency's postinstall dropper is the verdict."""
    report = registry_report(REPLAYS["axios-2026-plain-crypto-js"]())
    assert report.severity is Severity.CRITICAL
    via = [f for f in report.findings if f.via == "plain-crypto-js@4.2.1"]
    assert {"npm.install-script", "code.process-exec"} <= {f.rule for f in via}


def test_dormant_package_is_named_as_such_by_the_registry() -> None:
    report = registry_report(REPLAYS["coa-rc-dormant-preinstall"]())
    (dormant,) = [f for f in report.findings if f.rule == "meta.out-of-order-publish"]
    assert "silence" in dormant.message and "2018-12-19" in (dormant.evidence or "")
    assert any("long-dormant" in r for r in report.reasons)


@pytest.mark.parametrize("negative_id", sorted(HARD_NEGATIVES))
def test_hard_negative_stays_below_high(negative_id: str, tmp_path: Path) -> None:
    report = _local(HARD_NEGATIVES[negative_id](), tmp_path)
    assert report.severity < Severity.HIGH, _explain(report)
    assert not [f for f in report.findings if f.category == "install-hook"], _explain(report)


def test_puppeteer_download_hook_added_is_reported(tmp_path: Path) -> None:
    """The same browser download is a network install hook when it first appears: critical.

    A release that adds a postinstall which downloads something is exactly what the issue
    counts as flagged; only a hook both releases have (the benign pair) stays quiet.
    """
    negative = HARD_NEGATIVES["puppeteer-browser-download"]()
    before = npm("puppeteer", "24.9.0", {"index.js": "export {};\n"}, type="module")
    first = dataclasses.replace(negative, old=npm_artifact(before))
    report = _local(first, tmp_path)
    assert report.severity is Severity.CRITICAL, _explain(report)
    assert '"postinstall": "node install.mjs"' in {f.evidence for f in report.findings}


@pytest.mark.parametrize("replay_id", ["postmark-mcp-bcc", "litellm-pth", "nx-telemetry-ai-cli"])
def test_cli_text_report_prints_the_evidence_line(replay_id: str, tmp_path: Path) -> None:
    replay = REPLAYS[replay_id]()
    old, new = _write(replay, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "diff", "--old", str(old), "--new", str(new)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(tmp_path),
    )
    assert done.returncode == 1, done.stderr  # at or above the default --fail-on high
    assert replay.evidence in done.stdout
    assert replay.severity.value.upper() in done.stdout.upper()
    assert "Traceback" not in done.stderr


def test_cli_json_report_names_the_rules(tmp_path: Path) -> None:
    replay = REPLAYS["ua-parser-js-preinstall"]()
    old, new = _write(replay, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "diff", "--old", str(old), "--new", str(new)]
        + ["--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(tmp_path),
    )
    report = json.loads(done.stdout)
    assert report["severity"] == "critical"
    assert replay.rules <= {f["rule"] for f in report["findings"]}


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "WATCHER_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
