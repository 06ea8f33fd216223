"""Benchmark the parsers and host scanners on issue 9's hostile inputs (SPEC §4.5 budgets).

For each attack it prints the time of the first `facts_for` (a cold parse), of a second one (the
cache, failed parses included), and of the whole rule engine on a release holding the attack
beside a payload, with the gaps recorded. Before issue 9: the member chain raised
RecursionError, 100,000 parentheses held the query for minutes, and a 120,000-character
host-shaped string held `_HOST_IN` for over 120 s. Target: every row well under a second.

    uv run python benchmarks/bench_parse_budgets.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import watcher.parse
from watcher import gaps
from watcher.models import ArtifactKind, Ecosystem, FileEntry, Snapshot
from watcher.parse import budget, facts_for
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules

NEEDLE = "require('child_process');\n"
ATTACKS: dict[str, str] = {
    "member chain 3,000": "a" + "\n.b" * 3000 + "()\n",
    "nested arguments 3,000": "require(" + "(" * 3000 + "'x'" + ")" * 3000 + ")\n",
    "open parens 100,000": "(" * 100_000 + "\n",
    "balanced parens 100,000": "x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n",
    "concatenation 5,000": "eval(" + "+".join(["'a'"] * 5000) + ")\n",
    "URL host 120,000": "'https://" + "a" * 120_000 + "..invalid'\n",
    "URL labels 60,000": "'https://" + "a." * 60_000 + ".invalid'\n",
    "unparsed URL 120,000": "} ) ( 'https://" + "a" * 120_000 + "..invalid' (\n",
}


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _release(path: str, source: str) -> ReleaseContext:
    old = {"package.json": b'{"name": "srv"}', "index.js": b"module.exports = 1;\n"}
    new = {**old, path: (NEEDLE + source).encode()}
    snaps = [
        Snapshot(
            f"srv-{v}", ArtifactKind.NPM_TARBALL, {p: FileEntry.of(p, d) for p, d in f.items()}
        )
        for v, f in (("1.0.0", old), ("1.0.1", new))
    ]
    return ReleaseContext(
        Ecosystem.NPM, "srv", "1.0.0", "1.0.1", (artifact_diff(snaps[0], snaps[1]),)
    )


def main() -> None:
    """Print one row per attack: cold parse, cached parse, whole rule engine, gaps."""
    print(f"{'attack':26} {'parse':>8} {'cached':>8} {'rules':>8}  gaps")
    for index, (name, source) in enumerate(ATTACKS.items()):
        path = f"lib/attack{index}.js"
        entry = FileEntry.of(path, (NEEDLE + source).encode())
        watcher.parse._CACHE.clear()
        with budget.release_budget(), gaps.collecting() as found:
            cold = _timed(partial(facts_for, path, entry))
            warm = _timed(partial(facts_for, path, entry))
        ctx = _release(f"lib/other{index}.js", source)
        watcher.parse._CACHE.clear()  # the rules pay for their own parse
        with budget.release_budget(), gaps.collecting():
            rules = _timed(partial(run_rules, ctx))
        reasons = "; ".join(sorted({g.reason for g in found})) or "-"
        print(f"{name:26} {cold:8.3f} {warm:8.3f} {rules:8.3f}  {reasons}")


if __name__ == "__main__":
    main()
