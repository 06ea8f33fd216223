"""benchmarks/bench_hostile.py --quick runs every hostile case through the CLI and prints its table.

The figures themselves are the benchmark's business (memory is measured there, not here); this
only checks that the script builds every case, survives whatever each run does, and exits 0.
It spawns one `watcher scan` per case, hence the e2e mark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_hostile.py"


def test_quick_run_prints_a_row_per_case() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("case "))
    for column in ("wall s", "rss MB", "exit", "severity", "first finding"):
        assert column in lines[header]
    rows = lines[header + 2 : header + 2 + 15]
    assert [row.split("  ")[0].strip() for row in rows][0] == "one 64 MiB file"
    assert len(rows) == 15 and all(len(row.split()) >= 8 for row in rows)
    assert lines[header + 2 + 15].startswith("targets:")
