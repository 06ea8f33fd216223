"""Real-malware recall benchmark (issue 10): how many real malicious PyPI releases watcher flags.

The corpus (`pypi-malware/` of the shared corpus, 400 releases exactly as published, listed in
its `manifest.json`) is live malware: it is read only through watcher's in-memory archive
reading, never extracted, installed, imported or executed, and nothing of it is committed here.
The path is an argument; without the corpus the benchmark prints one line and exits 0.

Each artifact is scanned as a first release (`watcher.pipeline.scan_local`). Two recalls:
(a) all findings: the report's severity is high or critical (what a subscriber is alerted on);
(b) behaviour only: the findings re-scored without the ones that say nothing about what the
    code does: name rules (a typosquat or a name also claimed on the public registry) and
    `analysis.incomplete` (a refused or unparsed part). A release caught only for its name or
    for being unreadable is not caught by its behaviour.

    uv run python benchmarks/bench_corpus.py [--corpus PATH] [--show-misses] [--jobs N]
                                              [--only SUBSTRING] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `watcher` importable from the checkout
    sys.path.insert(0, str(ROOT))

from watcher.models import Finding, Report, Severity  # noqa: E402
from watcher.pipeline import scan_local  # noqa: E402
from watcher.scoring import escalate, score, settle  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
SUBSET = "pypi-malware"
TARGET_ALL, TARGET_BEHAVIOUR = 97.0, 90.0
FLAGGED = (Severity.HIGH, Severity.CRITICAL)
#: Rules that judge the package's name, not its code (watcher/rules/names.py), and the rule
#: that says part of the release could not be read: neither is evidence of behaviour.
NOT_BEHAVIOUR = frozenset({"meta.typosquat", "meta.dependency-confusion", "analysis.incomplete"})
TOP_FINDINGS = 4


@dataclass(frozen=True)
class Outcome:
    file: str
    severity: str
    behaviour_severity: str
    top: tuple[str, ...]
    seconds: float
    error: str = ""

    @property
    def flagged(self) -> bool:
        return Severity(self.severity) in FLAGGED

    @property
    def behaviour_flagged(self) -> bool:
        return Severity(self.behaviour_severity) in FLAGGED


def behaviour_severity(findings: Sequence[Finding]) -> Severity:
    """The severity the report would have without its name and incomplete findings.

    Re-scored, not just the worst remaining finding: a combination (install hook with network
    access, download and execute) of behaviour findings is behaviour too. `settle` first, so
    a process start raised by a fetch is raised again only if the fetch is still there.
    """
    kept = [f for f in settle(findings) if f.rule not in NOT_BEHAVIOUR]
    return score(escalate(kept)).severity


def _describe(f: Finding) -> str:
    where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "-")
    return f"{f.severity.value:<8} {f.rule:<26} {where}  {f.message[:110]}"


def top_findings(report: Report) -> tuple[str, ...]:
    ranked = sorted(report.findings, key=lambda f: f.severity, reverse=True)
    return tuple(_describe(f) for f in ranked[:TOP_FINDINGS])


def run_case(corpus: Path, file: str) -> Outcome:
    start = time.perf_counter()
    try:
        report = scan_local(corpus / SUBSET / file)
    except Exception as exc:  # noqa: BLE001 - one sample must not stop the benchmark
        # A crash is a miss on both counts, shown with its cause.
        none = Severity.NONE.value
        return Outcome(file, none, none, (), time.perf_counter() - start, repr(exc)[:200])
    return Outcome(
        file=file,
        severity=report.severity.value,
        behaviour_severity=behaviour_severity(report.findings).value,
        top=top_findings(report),
        seconds=time.perf_counter() - start,
    )


def _run_one(job: tuple[Path, str]) -> Outcome:
    return run_case(*job)


def cases(corpus: Path, only: str) -> list[str]:
    manifest = json.loads((corpus / SUBSET / "manifest.json").read_text(encoding="utf-8"))
    files = [str(c["file"]) for c in manifest["cases"]]
    return [f for f in files if only in f]


def _pct(n: int, total: int) -> float:
    return 100.0 * n / total if total else 0.0


def summary(outcomes: Sequence[Outcome]) -> list[str]:
    total = len(outcomes)
    hit = sum(o.flagged for o in outcomes)
    beh = sum(o.behaviour_flagged for o in outcomes)
    lines = [
        f"real malware ({SUBSET}): {total} releases, flagged = severity high or critical",
        f"  (a) all findings    {hit:>4}/{total}  {_pct(hit, total):5.1f} %"
        f"   target >= {TARGET_ALL:.0f} %",
        f"  (b) behaviour only  {beh:>4}/{total}  {_pct(beh, total):5.1f} %"
        f"   target >= {TARGET_BEHAVIOUR:.0f} %",
    ]
    order = [s.value for s in sorted(Severity, reverse=True)]
    for title, attr in (("all findings", "severity"), ("behaviour only", "behaviour_severity")):
        counts = Counter(getattr(o, attr) for o in outcomes)
        histogram = "  ".join(f"{s} {counts.get(s, 0)}" for s in order)
        lines.append(f"  severities, {title}: {histogram}")
    errors = sum(bool(o.error) for o in outcomes)
    if errors:
        lines.append(f"  {errors} scans raised (counted as misses)")
    return lines


def misses(outcomes: Sequence[Outcome]) -> list[str]:
    lines: list[str] = []
    for title, attr in (("all findings", "flagged"), ("behaviour only", "behaviour_flagged")):
        missed = [o for o in outcomes if not getattr(o, attr)]
        lines.append(f"\nmisses, {title} ({len(missed)}):")
        for o in missed:
            lines.append(f"  {o.file}  [{o.severity}; behaviour {o.behaviour_severity}]")
            lines.extend(f"      {t}" for t in o.top)
            if o.error:
                lines.append(f"      error: {o.error}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--jobs", type=int, default=1, help="scan in N processes")
    parser.add_argument("--only", default="", help="only files whose path contains this")
    parser.add_argument("--json", type=Path, help="write per-release outcomes here")
    args = parser.parse_args(argv)

    if not (args.corpus / SUBSET / "manifest.json").is_file():
        print(f"skipped: no real-malware corpus at {args.corpus / SUBSET} (pass --corpus PATH)")
        return 0
    files = cases(args.corpus, args.only)
    start = time.perf_counter()
    jobs = [(args.corpus, f) for f in files]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(_run_one, jobs, chunksize=4))
    else:
        outcomes = [_run_one(j) for j in jobs]
    elapsed = time.perf_counter() - start
    print("\n".join(summary(outcomes)))
    slowest = max(outcomes, key=lambda o: o.seconds, default=None)
    slow = f", slowest {slowest.seconds:.1f} s ({slowest.file})" if slowest else ""
    print(f"\n{len(outcomes)} releases in {elapsed:.1f} s (in-process, {args.jobs} job(s)){slow}")
    if args.show_misses:
        print("\n".join(misses(outcomes)))
    if args.json:
        rows = [asdict(o) for o in outcomes]
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
