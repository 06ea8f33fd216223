"""Detection benchmark: recall on incident replays, false positives on real releases, vs GuardDog.

(a) benign: consecutive releases of real packages (the MCP servers of
    subscriptions/mcp-servers.toml, hard negatives with install scripts, native code or bundles,
    and releases that add a popular old dependency), downloaded through watcher's own registry
    clients into `.bench-cache/corpus/` and analysed with the full pipeline (`diff_release`,
    dependency scan included);
(b) malicious: the defanged replays of tests/support/replays.py, analysed as local artifact
    pairs (`diff_local`), and those that need registry metadata also through an in-memory
    registry (`registry_report`).

Flagged means severity high or critical. Per case it times the in-process pipeline and the
`watcher diff --old --new` process on the same local files GuardDog gets. GuardDog scans the
new artifact alone (it has no notion of a diff), from its own hash-pinned venv
(`.bench-cache/guarddog-venv`, built from benchmarks/guarddog-requirements.txt); flagged there
means its risk label `high_risk`.

(c) benign first releases: the new release of every pair in (a) scanned alone as a first
    release is judged (`scan_local`, what `watcher scan --artifact` runs); every new dependency
    and every unreviewed baseline is judged this way, so its false positives feed diff alerts.

Targets (issue 3 item 5): 100 % recall on (b), false-positive rate ≤ 2 % on (a), faster than
GuardDog per case; issue 10: ≤ 5 % of (c) flagged. Needs the registries (public, or the mirror
this machine reaches):

    uv run python benchmarks/bench_detection.py [--no-guarddog] [--refresh] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nodesemver  # type: ignore[import-untyped]
from packaging.version import InvalidVersion, Version

from tests.support.replays import HARD_NEGATIVES, REPLAYS, Replay, registry_report
from watcher.artifacts.fetch import Fetcher
from watcher.errors import WatcherError
from watcher.httpclient import make_client
from watcher.models import ArtifactKind, ArtifactRef, Ecosystem, Finding, Report, Severity
from watcher.pipeline import Sources, diff_local, diff_release, scan_local, select_artifacts
from watcher.registries import open_registry

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench-cache"
CORPUS = CACHE / "corpus"
GUARDDOG_VENV = CACHE / "guarddog-venv"
GUARDDOG_REQUIREMENTS = ROOT / "benchmarks" / "guarddog-requirements.txt"
GUARDDOG_TIMEOUT = 600
FIRST_RELEASE_TARGET = 0.05
#: High/critical findings listed per flagged first release (the rest are counted).
FIRST_RELEASE_SHOWN = 6
WATCHER_CLI_TIMEOUT = 300

NPM, PYPI = Ecosystem.NPM, Ecosystem.PYPI

#: Packages whose two newest final releases form a benign pair.
LATEST_PAIRS: tuple[tuple[Ecosystem, str], ...] = (
    # MCP servers (subscriptions/mcp-servers.toml)
    (NPM, "@modelcontextprotocol/server-filesystem"),
    (NPM, "@modelcontextprotocol/server-memory"),
    (NPM, "@modelcontextprotocol/server-sequential-thinking"),
    (NPM, "@modelcontextprotocol/server-everything"),
    (NPM, "@modelcontextprotocol/server-github"),
    (NPM, "@modelcontextprotocol/server-puppeteer"),
    (NPM, "@modelcontextprotocol/server-brave-search"),
    (NPM, "@modelcontextprotocol/server-slack"),
    (NPM, "@modelcontextprotocol/server-postgres"),
    (NPM, "@modelcontextprotocol/sdk"),
    (NPM, "@playwright/mcp"),
    (NPM, "@upstash/context7-mcp"),
    (NPM, "firecrawl-mcp"),
    (NPM, "@notionhq/notion-mcp-server"),
    (NPM, "@supabase/mcp-server-supabase"),
    (NPM, "@browsermcp/mcp"),
    (NPM, "mcp-remote"),
    (NPM, "@executeautomation/playwright-mcp-server"),
    (NPM, "@wonderwhy-er/desktop-commander"),
    (NPM, "@21st-dev/magic"),
    (NPM, "figma-developer-mcp"),
    (NPM, "tavily-mcp"),
    (NPM, "exa-mcp-server"),
    (PYPI, "mcp"),
    (PYPI, "fastmcp"),
    (PYPI, "mcp-server-fetch"),
    (PYPI, "mcp-server-git"),
    (PYPI, "mcp-server-time"),
    (PYPI, "mcp-server-sqlite"),
    (PYPI, "awslabs.aws-documentation-mcp-server"),
    (PYPI, "awslabs.aws-api-mcp-server"),
    (PYPI, "mcp-atlassian"),
    (PYPI, "serena-agent"),
    # Hard negatives: install scripts, native builds, browser downloads, bundles.
    (NPM, "esbuild"),
    (NPM, "sharp"),
    (NPM, "puppeteer"),
    (NPM, "better-sqlite3"),
    (NPM, "husky"),
    (NPM, "playwright"),
    (NPM, "playwright-core"),
    (NPM, "@swc/core"),
    (NPM, "core-js"),
    (NPM, "electron"),
    (NPM, "bcrypt"),
    (NPM, "protobufjs"),
    (NPM, "@vscode/ripgrep"),
    (PYPI, "pyyaml"),
    (PYPI, "psycopg2"),
    (PYPI, "cryptography"),
    (PYPI, "pydantic-core"),
)

#: Fixed benign pairs: real releases that add popular, long-established dependencies (which
#: the dependency scan then analyses as first releases).
FIXED_PAIRS: tuple[tuple[Ecosystem, str, str, str], ...] = (
    # adds sharp (install script), md-to-pdf (puppeteer), exceljs, ...
    (NPM, "@wonderwhy-er/desktop-commander", "0.2.23", "0.2.24"),
    # adds @vscode/ripgrep, whose postinstall downloads the ripgrep binary
    (NPM, "@wonderwhy-er/desktop-commander", "0.1.17", "0.1.20"),
    # adds cross-spawn (process execution is its purpose)
    (NPM, "@modelcontextprotocol/sdk", "1.7.0", "1.8.0"),
    # adds cors, express, express-rate-limit, pkce-challenge
    (NPM, "@modelcontextprotocol/sdk", "1.5.0", "1.6.0"),
)


@dataclass
class Case:
    """One row of the benchmark: a release pair, what each tool said, and how long it took."""

    kind: str  # "benign" or "replay"
    label: str
    ecosystem: Ecosystem
    old_file: Path | None = None
    new_file: Path | None = None
    report: Report | None = None
    pipeline_s: float | None = None
    cli_s: float | None = None
    error: str | None = None
    replay: Replay | None = None
    registry: bool = False
    guarddog_label: str | None = None
    guarddog_s: float | None = None
    guarddog_top: list[str] = field(default_factory=list)
    release: str = ""  # "name new-version" of a benign pair

    @property
    def flagged(self) -> bool:
        return self.report is not None and self.report.severity >= Severity.HIGH

    @property
    def guarddog_flagged(self) -> bool:
        return self.guarddog_label == "high_risk"


@dataclass
class FirstRelease:
    """A benign pair's new release scanned alone, as a first release (or a new dependency)."""

    label: str
    report: Report | None = None
    seconds: float | None = None
    error: str | None = None

    @property
    def flagged(self) -> bool:
        return self.report is not None and self.report.severity >= Severity.HIGH


# --------------------------------------------------------------------------- corpus


def _final_versions(ecosystem: Ecosystem, versions: Sequence[str]) -> list[str]:
    if ecosystem is NPM:
        valid = []
        for v in versions:
            try:
                parsed = nodesemver.parse(v, loose=True)
            except ValueError:
                continue
            if parsed is not None and not parsed.prerelease:
                valid.append(v)
        return sorted(valid, key=_npm_key)
    finals = []
    for v in versions:
        try:
            parsed_py = Version(v)
        except InvalidVersion:
            continue
        if not parsed_py.is_prerelease and not parsed_py.is_devrelease:
            finals.append((parsed_py, v))
    return [v for _, v in sorted(finals)]


def _npm_key(version: str) -> tuple[int, int, int]:
    parsed = nodesemver.parse(version, loose=True)
    return (parsed.major, parsed.minor, parsed.patch)


def _pick_file(refs: Sequence[ArtifactRef]) -> ArtifactRef:
    """What GuardDog and the watcher CLI get: npm's tarball, else the sdist, else a wheel."""
    for kind in (ArtifactKind.NPM_TARBALL, ArtifactKind.SDIST, ArtifactKind.WHEEL):
        chosen = [r for r in refs if r.kind is kind and r.filename.endswith((".tgz", ".tar.gz"))]
        chosen = chosen or [r for r in refs if r.kind is kind]
        if chosen:
            return chosen[0]
    return refs[0]


def resolve_pairs(http_sources: Callable[[Ecosystem], Sources], refresh: bool) -> list[list[str]]:
    """The benign pairs as [ecosystem, name, old, new], resolved once and kept in the cache."""
    saved = CORPUS / "pairs.json"
    if saved.exists() and not refresh:
        loaded: list[list[str]] = json.loads(saved.read_text())
        return loaded
    pairs: list[list[str]] = []
    for ecosystem, name in LATEST_PAIRS:
        try:
            info = http_sources(ecosystem).registry.package(name)
        except WatcherError as e:
            print(f"  skip {name}: {e}", file=sys.stderr)
            continue
        finals = _final_versions(ecosystem, list(info.versions))
        if len(finals) >= 2:
            pairs.append([ecosystem.value, name, finals[-2], finals[-1]])
    pairs += [[e.value, n, o, v] for e, n, o, v in FIXED_PAIRS]
    CORPUS.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(pairs, indent=1))
    return pairs


def _safe(name: str) -> str:
    return name.replace("/", "__").replace("@", "")


def run_benign(pair: list[str], sources: Sources) -> Case:
    ecosystem, name, old, new = Ecosystem(pair[0]), pair[1], pair[2], pair[3]
    case = Case("benign", f"{name} {old}→{new}", ecosystem, release=f"{name} {new}")
    try:
        files = []
        for version in (old, new):
            ref = _pick_file(select_artifacts(sources.registry.release(name, version)))
            target = CORPUS / "files" / _safe(name) / ref.filename
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(sources.fetcher.fetch(ref))
            files.append(target)
        case.old_file, case.new_file = files
        diff_release(sources, name, old, new)  # warms every artifact and registry answer
        start = time.perf_counter()
        case.report = diff_release(sources, name, old, new)
        case.pipeline_s = time.perf_counter() - start
    except WatcherError as e:
        case.error = e.diagnostics()
    return case


def write_replay(replay: Replay) -> tuple[Path, Path]:
    folder = CORPUS / "replays" / replay.id
    (folder / "old").mkdir(parents=True, exist_ok=True)
    (folder / "new").mkdir(parents=True, exist_ok=True)
    old, new = folder / "old" / replay.old.filename, folder / "new" / replay.new.filename
    old.write_bytes(replay.old.data)
    new.write_bytes(replay.new.data)
    return old, new


def run_replay(replay: Replay, kind: str) -> Case:
    case = Case(kind, replay.id, replay.ecosystem, replay=replay)
    case.old_file, case.new_file = write_replay(replay)
    start = time.perf_counter()
    case.report = diff_local(case.old_file, case.new_file)
    case.pipeline_s = time.perf_counter() - start
    return case


def run_replay_registry(replay: Replay) -> Case:
    """The same incident through a registry: dependency scan and publish history take part.

    GuardDog gets the new release's own tarball, as `npm install` would fetch it (without
    the dependency vendored: a registry serves that separately).
    """
    case = Case("replay", f"{replay.id} (registry)", replay.ecosystem, replay=replay)
    case.registry = True
    new_release = replay.registry[1][0]
    folder = CORPUS / "replays" / f"{replay.id}-registry"
    folder.mkdir(parents=True, exist_ok=True)
    case.old_file = CORPUS / "replays" / replay.id / "old" / replay.old.filename
    case.new_file = folder / new_release.filename
    case.new_file.write_bytes(new_release.tarball())
    start = time.perf_counter()
    case.report = registry_report(replay)
    case.pipeline_s = time.perf_counter() - start
    return case


def run_first_releases(cases: Sequence[Case]) -> list[FirstRelease]:
    """Each distinct new release of the analysed benign pairs, scanned alone.

    A pair whose files were never downloaded (registry unreachable, nothing cached) is skipped,
    as the pair itself is; the same release reached by two pairs is scanned once.
    """
    seen: set[Path] = set()
    scanned: list[FirstRelease] = []
    for case in cases:
        new = case.new_file
        if case.kind != "benign" or new is None or new in seen or not new.exists():
            continue
        seen.add(new)
        first = FirstRelease(case.release)
        start = time.perf_counter()
        try:
            first.report = scan_local(new)
        except WatcherError as e:
            first.error = e.diagnostics()
        first.seconds = time.perf_counter() - start
        scanned.append(first)
    return scanned


# --------------------------------------------------------------------------- CLIs


def child_env() -> dict[str, str]:
    """Both tools run as installed programs do: from bytecode, written once and reused.

    With PYTHONDONTWRITEBYTECODE set (as in some shells here) every process would compile all
    its modules again, which measures the environment rather than either tool.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    return env


def time_watcher_cli(case: Case) -> None:
    """Wall time of `watcher diff --old --new` on the case's local files (process start too)."""
    if case.old_file is None or case.new_file is None:
        return
    argv = [sys.executable, "-m", "watcher", "diff", "--old", str(case.old_file)]
    argv += ["--new", str(case.new_file), "--format", "json", "--fail-on", "none"]
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=WATCHER_CLI_TIMEOUT,
        check=False,
        env=child_env(),
    )
    if done.returncode == 0:
        case.cli_s = time.perf_counter() - start


def guarddog_bin() -> Path | None:
    """GuardDog from its own venv, built from the hash-pinned requirements on first use."""
    binary = GUARDDOG_VENV / "bin" / "guarddog"
    if binary.exists():
        return binary
    uv = shutil.which("uv")
    if uv is None:
        print("GuardDog: `uv` not found, cannot build its venv", file=sys.stderr)
        return None
    try:
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(GUARDDOG_VENV)], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(GUARDDOG_VENV / "bin" / "python")]
            + ["--require-hashes", "-r", str(GUARDDOG_REQUIREMENTS)],
            check=True,
        )
    except subprocess.CalledProcessError as e:
        print(f"GuardDog could not be installed here: {e}", file=sys.stderr)
        return None
    return binary if binary.exists() else None


def run_guarddog(binary: Path, case: Case) -> None:
    if case.new_file is None:
        return
    ecosystem = "npm" if case.ecosystem is NPM else "pypi"
    argv = [str(binary), ecosystem, "scan", str(case.new_file), "--output-format", "json"]
    # Its kernel sandbox (Landlock) is unavailable in this container; scans are static anyway.
    argv.append("--no-sandbox")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=GUARDDOG_TIMEOUT,
            check=False,
            env=child_env(),
        )
    except subprocess.TimeoutExpired:
        case.guarddog_label = "timeout"
        return
    case.guarddog_s = time.perf_counter() - start
    try:
        result = json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        case.guarddog_label = f"error: {last[:60]}"
        return
    case.guarddog_label = str((result.get("risk_score") or {}).get("label", "unknown"))
    case.guarddog_top = [
        f"{r.get('threat_rule')} {r.get('threat_location')}: {r.get('threat_match')!r}"
        for r in result.get("risks") or []
        if r.get("severity") in ("high", "critical")
    ][:3]


# --------------------------------------------------------------------------- report


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} % ({part}/{whole})" if whole else "n/a"


def _median(values: Sequence[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.2f} s" if known else "n/a"


def _evidence(finding: Finding) -> str:
    where = f"{finding.via + ': ' if finding.via else ''}{finding.path or ''}"
    where += f":{finding.line}" if finding.line else ""
    return f"{finding.rule} [{finding.severity.value}] {where} — {(finding.evidence or '')[:110]}"


def _missing(case: Case) -> set[str]:
    assert case.replay is not None and case.report is not None
    wanted = case.replay.registry_rules if case.registry else case.replay.rules
    return set(wanted) - {f.rule for f in case.report.findings}


def print_table(cases: Sequence[Case], guarddog: bool) -> None:
    head = f"{'kind':<7} {'case':<66} {'watcher':>9} {'pipe s':>7} {'cli s':>6}"
    print(head + (f" {'guarddog':>16} {'gd s':>6}" if guarddog else ""))
    for c in cases:
        severity = c.report.severity.value if c.report else f"ERROR {c.error}"
        row = f"{c.kind:<7} {c.label[:66]:<66} {severity:>9} "
        row += f"{c.pipeline_s or 0:>7.3f} {c.cli_s or 0:>6.2f}"
        if guarddog:
            row += f" {c.guarddog_label or '-':>16} {c.guarddog_s or 0:>6.2f}"
        print(row)


def summarise(cases: Sequence[Case], guarddog: bool) -> dict[str, object]:
    benign = [c for c in cases if c.kind == "benign" and c.report is not None]
    negatives = [c for c in cases if c.kind == "negative"]
    replays = [c for c in cases if c.kind == "replay"]
    caught = [c for c in replays if c.flagged]
    fps = [c for c in benign if c.flagged]
    print()
    print(f"{'':<34} {'watcher':>24} {'GuardDog':>24}")
    gd_caught = [c for c in replays if c.guarddog_flagged]
    gd_fps = [c for c in benign if c.guarddog_flagged]
    gd_note = "" if guarddog else "(not run)"
    print(
        f"{'recall on replays (b)':<34} {_pct(len(caught), len(replays)):>24} "
        f"{_pct(len(gd_caught), len(replays)) if guarddog else gd_note:>24}"
    )
    print(
        f"{'false-positive rate (a)':<34} {_pct(len(fps), len(benign)):>24} "
        f"{_pct(len(gd_fps), len(benign)) if guarddog else gd_note:>24}"
    )
    print(
        f"{'median s/case, process (CLI)':<34} {_median([c.cli_s for c in cases]):>24} "
        f"{_median([c.guarddog_s for c in cases]) if guarddog else gd_note:>24}"
    )
    print(
        f"{'median s/case, in-process pipeline':<34} {_median([c.pipeline_s for c in cases]):>24}"
    )
    loud = [c.label for c in negatives if c.flagged]
    print(f"synthetic hard negatives flagged: {len(loud)}/{len(negatives)} {loud or ''}")
    errors = [c for c in cases if c.error]
    print(f"benign pairs analysed: {len(benign)}; could not be analysed: {len(errors)}")
    for c in errors:
        print(f"  ERROR {c.label}: {c.error}")
    print("\nwatcher false positives (benign, flagged high/critical):")
    for c in fps:
        assert c.report is not None
        print(f"  {c.label}: {c.report.severity.value}; {'; '.join(c.report.reasons)}")
        for f in c.report.findings:
            if f.severity >= Severity.HIGH:
                print(f"    {_evidence(f)}")
    print("\nwatcher misses (replay below high, or a required rule silent):")
    for c in replays:
        assert c.report is not None and c.replay is not None
        missing = _missing(c)
        low = c.report.severity < c.replay.severity
        if not c.flagged or missing or low:
            print(
                f"  {c.label}: {c.report.severity.value} (expected ≥ {c.replay.severity.value}); "
                f"required rules silent: {sorted(missing) or 'none'}"
            )
            for f in c.report.findings[:6]:
                print(f"    {_evidence(f)}")
    if guarddog:
        print("\nGuardDog false positives (benign labelled high_risk):")
        for c in gd_fps:
            print(f"  {c.label}: " + " | ".join(c.guarddog_top or ["(no high risks listed)"]))
        print("GuardDog misses (replays not labelled high_risk):")
        for c in replays:
            if not c.guarddog_flagged:
                print(f"  {c.label}: {c.guarddog_label}")
    return {
        "recall": len(caught) / len(replays) if replays else None,
        "fp_rate": len(fps) / len(benign) if benign else None,
        "guarddog_recall": len(gd_caught) / len(replays) if guarddog and replays else None,
        "guarddog_fp_rate": len(gd_fps) / len(benign) if guarddog and benign else None,
    }


def summarise_first_releases(firsts: Sequence[FirstRelease]) -> float | None:
    """The benign-first-release section: rate against its target, then each flagged release."""
    analysed = [f for f in firsts if f.report is not None]
    flagged = [f for f in analysed if f.flagged]
    print("\nbenign first releases (each pair's new release scanned alone, `scan --artifact`):")
    print(
        f"  flagged high/critical: {_pct(len(flagged), len(analysed))}"
        f"  (target ≤ {FIRST_RELEASE_TARGET:.0%}); median {_median([f.seconds for f in firsts])}"
    )
    for f in firsts:
        if f.error:
            print(f"  ERROR {f.label}: {f.error}")
    for f in flagged:
        assert f.report is not None
        print(f"  {f.label}: {f.report.severity.value}; {'; '.join(f.report.reasons)}")
        loud = [x for x in f.report.findings if x.severity >= Severity.HIGH]
        for finding in loud[:FIRST_RELEASE_SHOWN]:
            print(f"    {_evidence(finding)}")
        if len(loud) > FIRST_RELEASE_SHOWN:
            print(f"    … and {len(loud) - FIRST_RELEASE_SHOWN} more high/critical")
    return len(flagged) / len(analysed) if analysed else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-guarddog", action="store_true", help="run watcher's side only")
    parser.add_argument("--refresh", action="store_true", help="re-pick the newest pairs")
    parser.add_argument("--only", help="run only cases whose label contains this")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the watcher CLI")
    args = parser.parse_args()

    http = make_client()
    fetcher = Fetcher(http=http, cache_dir=CORPUS / "artifacts")
    registries = {e: Sources(open_registry(e, http), fetcher) for e in Ecosystem}

    cases: list[Case] = []
    for pair in resolve_pairs(registries.__getitem__, args.refresh):
        if args.only and args.only not in f"{pair[1]} {pair[2]}→{pair[3]}":
            continue
        print(f"benign {pair[1]} {pair[2]}→{pair[3]}", file=sys.stderr, flush=True)
        cases.append(run_benign(pair, registries[Ecosystem(pair[0])]))
    for build in HARD_NEGATIVES.values():
        replay = build()
        if not args.only or args.only in replay.id:
            cases.append(run_replay(replay, "negative"))
    for build in REPLAYS.values():
        replay = build()
        if args.only and args.only not in replay.id:
            continue
        cases.append(run_replay(replay, "replay"))
        if replay.registry:
            cases.append(run_replay_registry(replay))

    if not args.no_cli:
        for case in cases:
            time_watcher_cli(case)
    binary = None if args.no_guarddog else guarddog_bin()
    if not args.no_guarddog and binary is None:
        print("GuardDog: NOT INSTALLED on this machine; only watcher's side was run.")
    if binary is not None:
        for case in cases:
            print(f"guarddog {case.label}", file=sys.stderr, flush=True)
            run_guarddog(binary, case)

    firsts = run_first_releases(cases)
    print_table(cases, binary is not None)
    figures = summarise(cases, binary is not None)
    figures["first_release_fp_rate"] = summarise_first_releases(firsts)
    results = {
        "figures": figures,
        "cases": [
            {
                "kind": c.kind,
                "case": c.label,
                "severity": c.report.severity.value if c.report else None,
                "reasons": list(c.report.reasons) if c.report else [],
                "high": [_evidence(f) for f in c.report.findings if f.severity >= Severity.HIGH]
                if c.report
                else [],
                "pipeline_s": c.pipeline_s,
                "cli_s": c.cli_s,
                "guarddog": c.guarddog_label,
                "guarddog_s": c.guarddog_s,
                "guarddog_top": c.guarddog_top,
                "error": c.error,
            }
            for c in cases
        ],
        "first_releases": [
            {
                "release": f.label,
                "severity": f.report.severity.value if f.report else None,
                "high": [_evidence(x) for x in f.report.findings if x.severity >= Severity.HIGH]
                if f.report
                else [],
                "seconds": f.seconds,
                "error": f.error,
            }
            for f in firsts
        ],
    }
    (CORPUS / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
