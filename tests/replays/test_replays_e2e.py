"""End to end: the new-dependency replays (event-stream, axios 2026) on a real Verdaccio.

The releases of each replay's `registry` (old parent, new parent, the dependency's versions)
are published to a throwaway Verdaccio in publish order, and the real CLI diffs the parent
with `--registry`: the new dependency is resolved, fetched, verified and scanned as a first
release. Verdaccio stamps every publish with the current time, so the dependency is
brand-new, as flatmap-stream and plain-crypto-js were. DEFANGED: nothing is installed or run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registries import RegistryStartError, Verdaccio, start_verdaccio
from tests.support.replays import REPLAYS

pytestmark = pytest.mark.e2e

CASES = ("event-stream-flatmap", "axios-2026-plain-crypto-js")


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    try:
        with start_verdaccio(tmp_path_factory.mktemp("verdaccio-replays")) as server:
            token = server.create_user("ci")
            for replay_id in CASES:
                replay = REPLAYS[replay_id]()
                for release, _ in sorted(replay.registry, key=lambda item: item[1]):
                    server.publish(release.manifest, release.tarball(), token=token)
            yield server
    except RegistryStartError as e:
        pytest.fail(f"Verdaccio could not start: {e}")


def _diff(registry: Verdaccio, replay_id: str, tmp_path: Path) -> dict[str, object]:
    replay = REPLAYS[replay_id]()
    old, new = replay.versions
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "diff", replay.package, old, new]
        + ["--registry", registry.url, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "WATCHER_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 1, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_axios_replay_is_critical_through_its_new_dependency(
    registry: Verdaccio, tmp_path: Path
) -> None:
    report = _diff(registry, "axios-2026-plain-crypto-js", tmp_path)
    assert report["severity"] == "critical"
    findings = report["findings"]
    assert isinstance(findings, list)
    via = {f["rule"] for f in findings if f.get("via") == "plain-crypto-js@4.2.1"}
    assert {"npm.install-script", "code.process-exec"} <= via
    assert any(f["rule"] == "manifest.dependency-fresh" for f in findings)


def test_event_stream_replay_is_flagged_through_its_new_dependency(
    registry: Verdaccio, tmp_path: Path
) -> None:
    report = _diff(registry, "event-stream-flatmap", tmp_path)
    assert report["severity"] in ("high", "critical")
    findings = report["findings"]
    assert isinstance(findings, list)
    fresh = [f for f in findings if f["rule"] == "manifest.dependency-fresh"]
    assert fresh and "flatmap-stream@0.1.1" in fresh[0]["evidence"]
    assert any(f.get("via") == "flatmap-stream@0.1.1" for f in findings)
