"""Benchmark `watcher scan` on hostile inputs: wall time and peak memory of the real CLI.

Every case is generated here, in a temporary directory, within the documented limits (issue 9):
one 64 MiB file, 22 M short lines, seven 64 MiB files, deep member chains, nested
parentheses and JSON, 120,000-character strings, malformed package.json files, odd tar
layouts and a wheel importing a sourceless `.pyc`. Each case runs as its own process
(`python -m watcher scan --artifact PATH --format json`), so a crash, a hang or a memory blow-up
is one row of the table, never the end of the benchmark. Per row: wall seconds, the child's
peak RSS (VmHWM), its exit code, the report's severity and the first finding's rule.

Targets (issue 9): every case under 10 s; peak RSS at most 100 MB + 1.5 × the unpacked size,
under 300 MB for each case but the seven 64 MiB files.

Then it runs `benchmarks/bench_diff.py` (real release pairs from the registries) so its
figures sit beside these; when the registries cannot be reached that part is skipped with a
line saying so. Run it by hand:

    uv run python benchmarks/bench_hostile.py            # full sizes (~3 GB of RAM while it runs)
    uv run python benchmarks/bench_hostile.py --quick    # small sizes, no bench_diff, CI time
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]
_MTIME = 1_700_000_000

#: Targets from issue 9.
TARGET_SECONDS = 10.0
TARGET_BASE_MB = 100.0
TARGET_FACTOR = 1.5
TARGET_CAP_MB = 300.0


@dataclass(frozen=True)
class Sizes:
    """How big the generated cases are: the real sizes, or small ones for a smoke test."""

    big_file: int
    short_lines: int
    many_big_files: int
    many_big_size: int
    chain_depth: int
    parens: int
    long_string: int
    json_depth: int
    timeout: float


FULL = Sizes(
    big_file=64 * MiB,
    short_lines=22_000_000,
    many_big_files=7,
    many_big_size=64 * MiB,
    chain_depth=3_000,
    parens=100_000,
    long_string=120_000,
    json_depth=3_000,
    timeout=180.0,
)
QUICK = Sizes(
    big_file=2 * MiB,
    short_lines=300_000,
    many_big_files=2,
    many_big_size=2 * MiB,
    chain_depth=3_000,
    parens=100_000,
    long_string=120_000,
    json_depth=3_000,
    timeout=60.0,
)


# --- archive builders (self-contained: the benchmark must not depend on tests/) ---------------


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime, info.mode = size, kind, _MTIME, 0o644
    return info


def _tar(files: Iterable[tuple[str, bytes]], pax_headers: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, pax_headers=pax_headers
    ) as archive:
        for name, data in files:
            archive.addfile(_info(name, len(data)), io.BytesIO(data))
    return buffer.getvalue()


def _gz(data: bytes, level: int = 6) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def _npm(files: dict[str, bytes], level: int = 6) -> bytes:
    return _gz(_tar((f"package/{path}", data) for path, data in files.items()), level)


def _package_json(name: str = "hostile-bench") -> bytes:
    return json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}).encode()


def _text_of_lines(total: int, seed: int) -> bytes:
    """`total` bytes of JavaScript-looking lines, compressible but far from a bomb (~20×)."""
    rng = random.Random(seed)
    alphabet = bytes(range(ord("a"), ord("a") + 16))
    noise = rng.randbytes(total // 8).translate(bytes(alphabet[b % 16] for b in range(256)))
    out = bytearray()
    step = 4
    for start in range(0, len(noise), step):
        out += b"var v = '" + noise[start : start + step] + b"' + 'padding padding padding';\n"
        if len(out) >= total:
            break
    return bytes(out[:total])


def _short_lines(count: int, seed: int) -> bytes:
    """`count` lines of two characters each (`x;`), random letters so it is no bomb."""
    rng = random.Random(seed)
    table = bytes(ord("a") + b % 26 for b in range(256))
    letters = rng.randbytes(count).translate(table)
    out = bytearray(3 * count)
    out[0::3] = letters
    out[1::3] = b";" * count
    out[2::3] = b"\n" * count
    return bytes(out)


def _wheel(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


# --- the cases ---------------------------------------------------------------------------------

Builder = Callable[[Sizes], tuple[str, bytes]]


def one_big_file(s: Sizes) -> tuple[str, bytes]:
    data = _text_of_lines(s.big_file, 1)
    return "one-big-file.tgz", _npm({"package.json": _package_json(), "index.js": data}, 6)


def short_lines(s: Sizes) -> tuple[str, bytes]:
    data = _short_lines(s.short_lines, 2)
    return "short-lines.tgz", _npm({"package.json": _package_json(), "index.js": data}, 1)


def many_big_files(s: Sizes) -> tuple[str, bytes]:
    files = {"package.json": _package_json()}
    for i in range(s.many_big_files):
        files[f"lib/part{i}.js"] = _text_of_lines(s.many_big_size, 10 + i)
    return "many-big-files.tgz", _npm(files, 1)


def _js_case(name: str, source: bytes) -> tuple[str, bytes]:
    return f"{name}.tgz", _npm({"package.json": _package_json(), "index.js": source})


def member_chain(s: Sizes) -> tuple[str, bytes]:
    return _js_case("member-chain", b"a\n" + b".b\n" * s.chain_depth + b"()\n")


def nested_parens(s: Sizes) -> tuple[str, bytes]:
    return _js_case("nested-parens", b"(" * s.parens + b")" * s.parens + b"\n")


def long_host(s: Sizes) -> tuple[str, bytes]:
    label = "a" * 62 + "."
    host = (label * (s.long_string // len(label) + 1))[: s.long_string - 8] + "invalid"
    return _js_case("long-host", f'const h = "{host}";\nfetch(h);\n'.encode())


def long_url(s: Sizes) -> tuple[str, bytes]:
    path = ("p" * 62 + "/") * (s.long_string // 63 + 1)
    url = ("https://x.invalid/" + path)[: s.long_string]
    return _js_case("long-url", f'fetch("{url}");\n'.encode())


def deep_package_json(s: Sizes) -> tuple[str, bytes]:
    body = '{"a":' * s.json_depth + "1" + "}" * s.json_depth
    text = '{"name": "hostile-bench", "version": "1.0.0", "x": ' + body + "}"
    return "deep-package-json.tgz", _npm({"package.json": text.encode(), "index.js": b"1;\n"})


def invalid_package_json(_: Sizes) -> tuple[str, bytes]:
    data = b'{"name": "hostile-bench", "version": "1.0.0", "scripts": {"postinstall": '
    return "invalid-package-json.tgz", _npm({"package.json": data, "index.js": b"1;\n"})


def two_top_folders(_: Sizes) -> tuple[str, bytes]:
    files = [
        ("package/package.json", _package_json()),
        ("package/index.js", b"module.exports = 1;\n"),
        ("other/index.js", b"require('child_process').exec('id');\n"),
    ]
    return "two-top-folders.tgz", _gz(_tar(files))


def extra_top_file(_: Sizes) -> tuple[str, bytes]:
    files = [
        ("package/package.json", _package_json()),
        ("package/index.js", b"module.exports = 1;\n"),
        ("install.js", b"require('child_process').exec('id');\n"),
    ]
    return "extra-top-file.tgz", _gz(_tar(files))


def global_pax_header(_: Sizes) -> tuple[str, bytes]:
    files = [("package/package.json", _package_json()), ("package/index.js", b"1;\n")]
    tar = _tar(files, pax_headers={"path": "package/evil.js", "comment": "global"})
    return "global-pax-header.tgz", _gz(tar)


def data_after_end(_: Sizes) -> tuple[str, bytes]:
    tar = _tar([("package/package.json", _package_json()), ("package/index.js", b"1;\n")])
    hidden = _tar([("package/hidden.js", b"require('child_process').exec('id');\n")])
    return "data-after-end.tgz", _gz(tar + hidden)


def sourceless_pyc(_: Sizes) -> tuple[str, bytes]:
    name = "speedy"
    pyc = b"\xa7\r\r\n" + bytes(12) + b"\xe3" + bytes(64)  # a 3.11 magic and a stub code object
    files = {
        f"{name}/__init__.py": b"from . import _speedups\n",
        f"{name}/_speedups.pyc": pyc,
        f"{name}-1.0.0.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n"
        ).encode(),
        f"{name}-1.0.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
        f"{name}-1.0.0.dist-info/RECORD": b"",
    }
    return f"{name}-1.0.0-py3-none-any.whl", _wheel(files)


#: The seven 64 MiB files exceed today's default archive limit (128 MiB): the plain row shows
#: the refusal, the "limit raised" row what the analysis costs at the former 512 MiB limit.
RAISED = {"WATCHER_MAX_ARCHIVE_BYTES": str(512 * MiB)}

CASES: tuple[tuple[str, Builder], ...] = (
    ("one 64 MiB file", one_big_file),
    ("22 M short lines", short_lines),
    ("seven 64 MiB files", many_big_files),
    ("seven 64 MiB, limit raised", many_big_files),
    ("3,000-deep member chain", member_chain),
    ("100,000 nested parentheses", nested_parens),
    ("120,000-char host string", long_host),
    ("120,000-char URL string", long_url),
    ("package.json 3,000 deep", deep_package_json),
    ("invalid package.json", invalid_package_json),
    ("two top folders", two_top_folders),
    ("extra top-level file", extra_top_file),
    ("global pax header", global_pax_header),
    ("data after end marker", data_after_end),
    ("wheel: sourceless .pyc", sourceless_pyc),
)


# --- running one case ------------------------------------------------------------------------

#: Runs the CLI and writes its own peak RSS (VmHWM) to a file, whatever way `main` ends.
#: `ru_maxrss` from wait4 would be the maximum over every child so far, and on Linux also
#: counts what the parent held at fork.
CHILD = (
    "import os, sys\n"
    "try:\n"
    "    from watcher.cli import main\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    status = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    open(os.environ['BENCH_HWM_FILE'], 'w').write(status[0] if status else '')\n"
    "raise SystemExit(code)\n"
)


@dataclass(frozen=True)
class Row:
    case: str
    archive_kb: float
    unpacked_mb: float
    seconds: float
    #: User + system CPU seconds of the child: the wall time on a busy machine overstates.
    cpu: float
    rss_mb: float
    code: str
    severity: str
    first_rule: str

    @property
    def target_mb(self) -> float:
        return TARGET_BASE_MB + TARGET_FACTOR * self.unpacked_mb

    @property
    def meets(self) -> bool:
        """Within both targets; the time judged as CPU time, which load does not inflate."""
        return self.cpu < TARGET_SECONDS and self.rss_mb <= self.target_mb


def _hwm_kib(text: str) -> int:
    parts = text.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0


def _poll_hwm(pid: int, best: list[int], stop: threading.Event) -> None:
    """The child's VmHWM every 50 ms: the fallback when it dies before writing its own."""
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(0.05):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM"):
                    best[0] = max(best[0], _hwm_kib(line))
        # The process ended between two polls.
        except OSError:
            return


def unpacked_bytes(path: Path) -> int:
    """Sum of the member sizes (what extraction holds), best effort; 0 when unreadable."""
    try:
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as archive:
                return sum(i.file_size for i in archive.infolist())
        with tarfile.open(path) as archive:
            return sum(m.size for m in archive.getmembers() if m.isfile())
    # A deliberately broken archive: the size is unknown, the row still runs.
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError):
        return 0


def run_case(case: str, path: Path, timeout: float) -> Row:
    """Run `watcher scan --artifact path --format json` in a fresh process and measure it."""
    hwm_file = path.with_suffix(path.suffix + ".hwm")
    env = {**os.environ, "BENCH_HWM_FILE": str(hwm_file), "WATCHER_DATA_DIR": str(path.parent)}
    if "limit raised" in case:
        env.update(RAISED)
    argv = [sys.executable, "-c", CHILD, "scan", "--artifact", str(path), "--format", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=path.parent
    )
    polled, stop = [0], threading.Event()
    poller = threading.Thread(target=_poll_hwm, args=(child.pid, polled, stop), daemon=True)
    poller.start()
    try:
        out, err = child.communicate(timeout=timeout)
        code = str(child.returncode)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        code = f"timeout {timeout:g}s"
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    poller.join()
    written = _hwm_kib(hwm_file.read_text()) if hwm_file.exists() else 0
    severity, first = "-", "-"
    try:
        report = json.loads(out)
        severity = report.get("severity", "-")
        findings = report.get("findings") or []
        first = findings[0].get("rule", "-") if findings else "-"
    # No report: a crash or a refusal; stderr's last line says which.
    except (json.JSONDecodeError, AttributeError):
        lines = err.decode(errors="replace").strip().splitlines()
        first = ("stderr: " + lines[-1][:60]) if lines else "-"
    return Row(
        case=case,
        archive_kb=path.stat().st_size / 1024,
        unpacked_mb=unpacked_bytes(path) / 1e6,
        seconds=elapsed,
        cpu=cpu,
        rss_mb=max(written, polled[0]) / 1024,
        code=code,
        severity=severity,
        first_rule=first,
    )


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'case':<28} {'archive KB':>10} {'unpacked MB':>11} {'wall s':>7} {'cpu s':>6} "
        f"{'rss MB':>7} "
        f"{'target MB':>9} {'ok':>3} {'exit':>6} {'severity':>8}  first finding"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.case:<28} {r.archive_kb:>10.1f} {r.unpacked_mb:>11.1f} {r.seconds:>7.2f} "
            f"{r.cpu:>6.2f} {r.rss_mb:>7.0f} {r.target_mb:>9.0f} {'yes' if r.meets else 'NO':>3} "
            f"{r.code:>6} {r.severity:>8}  {r.first_rule}"
        )
    print(
        f"targets: cpu < {TARGET_SECONDS:g} s; rss <= {TARGET_BASE_MB:g} MB + "
        f"{TARGET_FACTOR:g} × unpacked (and < {TARGET_CAP_MB:g} MB except seven 64 MiB files)"
    )


# --- bench_diff beside -----------------------------------------------------------------------


def registries_reachable() -> str | None:
    """None when both public registries answer, else why not."""
    for url in ("https://registry.npmjs.org/typescript", "https://pypi.org/pypi/mcp/json"):
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (fixed https URLs)
                pass
        # Offline, a proxy refusing, DNS missing: bench_diff cannot run here.
        except OSError as e:
            return f"{url}: {e}"
    return None


def run_bench_diff(repeat: int) -> None:
    print()
    print("== bench_diff.py (real release pairs, warm cache) ==")
    problem = registries_reachable()
    if problem is not None:
        print(f"skipped: the registries are unreachable ({problem})")
        return
    script = ROOT / "benchmarks" / "bench_diff.py"
    done = subprocess.run(
        [sys.executable, str(script), "--repeat", str(repeat)], check=False, cwd=ROOT
    )
    if done.returncode != 0:
        print(f"bench_diff.py exited {done.returncode}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; skips bench_diff")
    parser.add_argument("--only", action="append", default=[], help="run cases containing this")
    parser.add_argument("--no-diff", action="store_true", help="skip bench_diff.py")
    parser.add_argument("--repeat", type=int, default=1, help="bench_diff.py --repeat")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="watcher-hostile-") as tmp:
        built_by: dict[Builder, Path] = {}
        for case, build in CASES:
            if args.only and not any(o.lower() in case.lower() for o in args.only):
                continue
            path = built_by.get(build)
            if path is None:
                started = time.perf_counter()
                filename, data = build(sizes)
                path = Path(tmp) / filename
                path.write_bytes(data)
                del data
                built = time.perf_counter() - started
                size_kb = path.stat().st_size / 1024
                print(f"built {case!r}: {size_kb:.0f} KB in {built:.1f}s", flush=True)
                built_by[build] = path
            rows.append(run_case(case, path, sizes.timeout))
    print()
    print_table(rows)
    if not (args.quick or args.no_diff):
        run_bench_diff(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
