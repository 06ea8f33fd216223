"""Metamorphic detection benchmark (SPEC §4.6, issue 10): do the replays survive respelling?

Every malicious replay of tests/support/replays.py is rewritten by the fixed families of
benchmarks/metamorphic/families.py (member-access spellings, module loaders under other names,
folded/encoded constants, payload moved into a minified bundle or an oddly named file, gated
behind a delay / CI / a counter, split across two modules, wholly encoded); the hard negatives
of benchmarks/metamorphic/negatives.py are rewritten by the non-encoding families. Each case is
built as a pair of local artifacts in a temp dir and analysed by watcher (in-process
`diff_local`, or the CLI `watcher diff --old --new --format json` with `--cli`).

How a case counts, so the figures cannot flatter:
- a malicious case is caught only when a HIGH or CRITICAL finding names a payload file (one the
  rewrite added or changed, not a manifest and not a stub that only loads the payload) and,
  where the finding has a line, a payload line ± 3; `analysis.incomplete` and findings on the
  package as a whole (no path) do not count;
- a negative is a false positive when the report has any HIGH or CRITICAL finding or severity.

    uv run python benchmarks/bench_metamorphic.py [--cli] [--show-misses] [--only SUBSTRING]
                                                  [--limit N] [--json FILE] [--fixtures]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.metamorphic.archive import Pair, pack  # noqa: E402
from benchmarks.metamorphic.cases import (  # noqa: E402
    fixture_cases,
    malicious_cases,
    negative_cases,
)
from watcher.pipeline import diff_local  # noqa: E402

FLAGGED = {"high", "critical"}
LINE_SLACK = 3
NOT_EVIDENCE = {"analysis.incomplete"}
TARGET_OVERALL, TARGET_FAMILY, TARGET_FP = 95.0, 85.0, 5.0


@dataclass(frozen=True)
class Hit:
    rule: str
    severity: str
    path: str | None
    line: int | None


@dataclass(frozen=True)
class Outcome:
    case: Pair
    severity: str
    flagged: list[Hit]
    caught: bool
    seconds: float
    error: str = ""


def write(pair: Pair, folder: Path) -> tuple[Path, Path]:
    old_dir, new_dir = folder / "old", folder / "new"
    old_dir.mkdir(parents=True, exist_ok=True)
    new_dir.mkdir(parents=True, exist_ok=True)
    old, new = old_dir / pair.old.filename, new_dir / pair.new.filename
    old.write_bytes(pack(pair.old))
    new.write_bytes(pack(pair.new))
    return old, new


def analyse(old: Path, new: Path, cli: bool) -> tuple[str, list[Hit]]:
    """(report severity, every finding) from watcher, in-process or through the CLI."""
    if cli:
        cmd = [sys.executable, "-m", "watcher", "diff", "--old", str(old), "--new", str(new)]
        proc = subprocess.run(
            [*cmd, "--format", "json", "--fail-on", "none"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"watcher exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        data = json.loads(proc.stdout)
        hits = [
            Hit(f["rule"], f["severity"], f.get("path"), f.get("line")) for f in data["findings"]
        ]
        return str(data["severity"]), hits
    report = diff_local(old, new)
    hits = [Hit(f.rule, f.severity.value, f.path, f.line) for f in report.findings]
    return report.severity.value, hits


def names_payload(hit: Hit, payload: dict[str, set[int]]) -> bool:
    if hit.severity not in FLAGGED or hit.rule in NOT_EVIDENCE or hit.path is None:
        return False
    rows = payload.get(hit.path)
    if rows is None:
        return False
    return hit.line is None or any(abs(hit.line - r) <= LINE_SLACK for r in rows)


def run_case(pair: Pair, folder: Path, cli: bool) -> Outcome:
    start = time.perf_counter()
    try:
        old, new = write(pair, folder)
        severity, hits = analyse(old, new, cli)
    except Exception as e:  # a crash is a miss (malicious) or a flag (negative), never a pass
        return Outcome(pair, "error", [], False, time.perf_counter() - start, repr(e)[:300])
    flagged = [h for h in hits if h.severity in FLAGGED]
    caught = any(names_payload(h, pair.payload) for h in flagged)
    return Outcome(pair, severity, flagged, caught, time.perf_counter() - start)


def is_false_positive(o: Outcome) -> bool:
    """Flagged: the report's severity (what alerts and sets the exit code) is high or above."""
    return o.error != "" or o.severity in FLAGGED


def _pct(a: int, b: int) -> float:
    return 100.0 * a / b if b else 0.0


def table(mal: Sequence[Outcome], neg: Sequence[Outcome]) -> str:
    """The benchmark's report: per family, overall, hard negatives, targets beside."""
    replays = [o for o in mal if not o.case.family.startswith("fixture/")]
    fixtures = [o for o in mal if o.case.family.startswith("fixture/")]
    lines = _recall(replays, "Metamorphic recall on the replays")
    if fixtures:
        lines += _recall(fixtures, "Metamorphic recall on rule-fixture positives (--fixtures)")
    lines += _negatives(neg)
    return "\n".join(lines)


def _recall(mal: Sequence[Outcome], title: str) -> list[str]:
    lines = ["", f"{title} (caught = HIGH/CRITICAL finding on the payload file/line)"]
    lines.append(f"{'family':<22}{'cases':>7}{'caught':>8}{'recall':>9}   target")
    by_family: dict[str, list[Outcome]] = defaultdict(list)
    for o in mal:
        by_family[o.case.family].append(o)
    order = sorted(by_family, key=lambda f: (not f.endswith("baseline"), f))
    for family in order:
        group = by_family.get(family, [])
        if not group:
            continue
        got = sum(o.caught for o in group)
        pct = _pct(got, len(group))
        target = (
            "(unrewritten, hosts varied)"
            if family.endswith("baseline")
            else f">= {TARGET_FAMILY:.0f} %"
        )
        ok = "" if family.endswith("baseline") else ("  ok" if pct >= TARGET_FAMILY else "  BELOW")
        lines.append(f"{family:<22}{len(group):>7}{got:>8}{pct:>8.1f}%   {target}{ok}")
    rewrites = [o for o in mal if not o.case.family.endswith("baseline")]
    got = sum(o.caught for o in rewrites)
    pct = _pct(got, len(rewrites))
    ok = "ok" if pct >= TARGET_OVERALL else "BELOW"
    lines.append(
        f"{'overall':<22}{len(rewrites):>7}{got:>8}{pct:>8.1f}%   >= {TARGET_OVERALL:.0f} %  {ok}"
    )
    lines.append("")
    lines.append("Per seed (rewrites caught / rewrites)")
    by_seed: dict[str, list[Outcome]] = defaultdict(list)
    for o in rewrites:
        by_seed[o.case.seed].append(o)
    for seed, group in sorted(by_seed.items()):
        lines.append(f"  {seed:<34}{sum(o.caught for o in group):>4} / {len(group)}")
    return lines


def _negatives(neg: Sequence[Outcome]) -> list[str]:
    lines = [""]
    plain = [o for o in neg if o.case.family == "baseline"]
    fps = [o for o in neg if is_false_positive(o)]
    fp_plain = [o for o in plain if is_false_positive(o)]
    fp_pct, plain_pct = _pct(len(fps), len(neg)), _pct(len(fp_plain), len(plain))
    ok = "ok" if fp_pct <= TARGET_FP else "ABOVE"
    with_high = [o for o in neg if o.flagged]
    medium = [o for o in neg if o.severity in FLAGGED | {"medium", "error"}]
    lines.append("Hard negatives (false positive = report severity HIGH/CRITICAL)")
    lines.append(f"  as written      {len(fp_plain):>4} / {len(plain):<4} {plain_pct:6.1f}%")
    lines.append(
        f"  with rewrites   {len(fps):>4} / {len(neg):<4} {fp_pct:6.1f}%"
        f"   <= {TARGET_FP:.0f} %  {ok}"
    )
    lines.append(
        f"  (any HIGH+ finding, even in a report scored lower: {len(with_high)} / {len(neg)};"
        f" report at medium or above: {len(medium)} / {len(neg)})"
    )
    return lines


def misses(mal: Iterable[Outcome], neg: Iterable[Outcome]) -> str:
    out = ["", "Misses (malicious cases not caught):"]
    for o in mal:
        if not o.caught:
            found = ", ".join(f"{h.rule}@{h.path}:{h.line}" for h in o.flagged) or "no HIGH+"
            where = ", ".join(sorted(o.case.payload))
            out.append(f"  {o.case.id}  [payload: {where}]  severity={o.severity}  {found}")
            if o.error:
                out.append(f"      error: {o.error}")
    out.append("")
    out.append("False positives (negatives flagged):")
    for o in neg:
        if is_false_positive(o):
            found = ", ".join(f"{h.rule}@{h.path}:{h.line}" for h in o.flagged)
            out.append(f"  {o.case.id}  severity={o.severity}  {found} {o.error}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", action="store_true", help="run `watcher diff` as a process")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--only", default="", help="only seeds whose id contains this")
    parser.add_argument("--limit", type=int, default=0, help="at most N cases of each kind")
    parser.add_argument("--json", type=Path, help="write per-case outcomes here")
    parser.add_argument(
        "--fixtures",
        action="store_true",
        help="also rewrite the high/critical positives of the code.* and npm.install-script "
        "rule fixtures (reported apart: they are unit-level trees, not whole releases)",
    )
    args = parser.parse_args(argv)

    mal_cases = list(malicious_cases(args.only))
    if args.fixtures:
        mal_cases += list(fixture_cases(args.only))
    neg_cases = list(negative_cases(args.only))
    if args.limit:
        mal_cases, neg_cases = mal_cases[: args.limit], neg_cases[: args.limit]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="watcher-metamorphic-") as tmp:
        root = Path(tmp)
        mal = [run_case(c, root / f"m{i}", args.cli) for i, c in enumerate(mal_cases)]
        neg = [run_case(c, root / f"n{i}", args.cli) for i, c in enumerate(neg_cases)]
    elapsed = time.perf_counter() - start
    print(table(mal, neg))
    print(
        f"\n{len(mal) + len(neg)} cases in {elapsed:.1f} s ({'CLI' if args.cli else 'in-process'})"
    )
    if args.show_misses:
        print(misses(mal, neg))
    if args.json:
        rows = [
            {"id": o.case.id, "family": o.case.family, "variant": o.case.variant,
             "malicious": o.case.malicious, "caught": o.caught, "severity": o.severity,
             "flagged": [h.__dict__ for h in o.flagged], "error": o.error,
             "payload": {p: sorted(r) for p, r in o.case.payload.items()}}
            for o in (*mal, *neg)
        ]  # fmt: skip
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
