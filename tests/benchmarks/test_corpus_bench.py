"""The real-malware benchmark's counting, on synthetic releases (the corpus is never needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_corpus import behaviour_severity, main
from tests.support import archives as A
from watcher.models import Finding, Severity


def _f(rule: str, category: str, severity: Severity, path: str | None = "pkg/a.py") -> Finding:
    return Finding(rule, severity, "m", category, path=path, artifact="pkg-1.0.tar.gz")


def test_name_and_incomplete_findings_are_not_behaviour() -> None:
    name_only = [
        _f("meta.typosquat", "name", Severity.HIGH, None),
        _f("code.network", "network", Severity.MEDIUM),
    ]
    assert behaviour_severity(name_only) is Severity.MEDIUM
    unreadable = [_f("analysis.incomplete", "incomplete", Severity.HIGH)]
    assert behaviour_severity(unreadable) is Severity.NONE


def test_behaviour_is_rescored_not_just_filtered() -> None:
    # A fetch and a process start in one file are download-and-execute: high by combination.
    dropper = [
        _f("code.network", "network", Severity.MEDIUM),
        _f("code.process-exec", "exec", Severity.MEDIUM),
        _f("meta.typosquat", "name", Severity.HIGH, None),
    ]
    assert behaviour_severity(dropper) is Severity.HIGH


def test_it_skips_with_one_line_without_a_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--corpus", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("skipped: no real-malware corpus")


def test_it_counts_both_recalls_over_a_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subset = tmp_path / "pypi-malware"
    meta = {"PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"}
    dropper = (
        "import subprocess, tempfile\nt = tempfile.NamedTemporaryFile(delete=False)\n"
        "t.write(b'print(1)')\nt.close()\nsubprocess.Popen(['python', t.name])\n"
    )
    releases = {"bad": {"pkg/__init__.py": dropper}, "plain": {"pkg/__init__.py": "X = 1\n"}}
    cases = []
    for name, files in releases.items():
        (subset / name).mkdir(parents=True)
        (subset / name / "pkg-1.0.tar.gz").write_bytes(A.sdist("pkg", "1.0", {**meta, **files}))
        cases.append({"package": name, "file": f"{name}/pkg-1.0.tar.gz"})
    (subset / "manifest.json").write_text(json.dumps({"cases": cases}), encoding="utf-8")
    assert main(["--corpus", str(tmp_path), "--show-misses"]) == 0
    out = capsys.readouterr().out
    assert "(a) all findings       1/2   50.0 %" in out
    assert "(b) behaviour only     1/2   50.0 %" in out
    assert "plain/pkg-1.0.tar.gz  [none; behaviour none]" in out
