"""Benchmark one `watcher check` poll cycle over 1,000 subscriptions on a local npm registry.

A small npm registry runs in this process (a threaded `http.server` speaking the packument
protocol: `GET /<name>` with a strong ETag and 304 on a matching `If-None-Match`, and
`GET /<name>/-/<file>.tgz`). 1,000 packages are pinned at 1.0.0 in one subscription file, and
the real `watcher check` CLI runs as a child process with its own data directory (SQLite
store, artifact cache):

1. `cold`: the first cycle; every packument is read in full (200) and its ETag stored;
2. `warm`: after `--changed` packages (default 10) published a clean 1.0.1, the second
   cycle: most packuments answer 304, the changed ones are read, downloaded and analysed.

For each cycle it prints the wall time, the child's peak RSS (`os.wait4` rusage) and what the
registry answered. Target (issue 4): the warm cycle under 30 s on 2 cores and under 200 MB.

    uv run python benchmarks/bench_poll.py [--packages 1000] [--changed 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import resource
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

#: A fixed mtime keeps tarballs (and so their digests) byte-identical between runs.
MTIME = 499162500

INDEX_100 = (
    "'use strict';\n\nfunction add(a, b) {\n  return a + b;\n}\n\nmodule.exports = { add };\n"
)
INDEX_101 = (
    "'use strict';\n\nfunction add(a, b) {\n  return Number(a) + Number(b);\n}\n\n"
    "module.exports = { add };\n"
)


def tarball(name: str, version: str, index: str) -> bytes:
    """An npm tarball (`package/…`) of a tiny, honest package."""
    manifest = {"name": name, "version": version, "main": "index.js", "license": "MIT"}
    files = {
        "package/package.json": json.dumps(manifest, indent=2) + "\n",
        "package/index.js": index,
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


@dataclass
class Package:
    name: str
    #: version -> tarball bytes
    tarballs: dict[str, bytes] = field(default_factory=dict)
    body: bytes = b""
    etag: str = ""

    def publish(self, version: str, index: str, base_url: str) -> None:
        self.tarballs[version] = tarball(self.name, version, index)
        versions = {}
        times = {}
        for i, (v, data) in enumerate(self.tarballs.items()):
            versions[v] = {
                "name": self.name,
                "version": v,
                "dist": {
                    "tarball": f"{base_url}/{self.name}/-/{self.name}-{v}.tgz",
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                    "shasum": hashlib.sha1(data).hexdigest(),
                },
            }
            times[v] = f"2026-11-{1 + i:02d}T00:00:00.000Z"
        doc = {
            "name": self.name,
            "dist-tags": {"latest": version},
            "versions": versions,
            "time": times,
        }
        self.body = json.dumps(doc).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


class Registry:
    """The served packages and a count of (kind, status) answers."""

    def __init__(self) -> None:
        self.packages: dict[str, Package] = {}
        self.answers: Counter[tuple[str, int]] = Counter()
        self.lock = threading.Lock()

    def count(self, kind: str, status: int) -> None:
        with self.lock:
            self.answers[(kind, status)] += 1


def handler(registry: Registry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; with Nagle's algorithm on, the second
            # waits for the client's delayed ACK (40 ms on Linux), which would add 40 s to
            # 1,000 packuments and measure this server instead of watcher.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(
            self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0]).lstrip("/")
            if "/-/" in path:
                name, _, filename = path.partition("/-/")
                package = registry.packages.get(name)
                version = filename.removeprefix(f"{name}-").removesuffix(".tgz")
                if package is None or version not in package.tarballs:
                    registry.count("tarball", 404)
                    return self._send(404)
                registry.count("tarball", 200)
                return self._send(200, package.tarballs[version])
            package = registry.packages.get(path)
            if package is None:
                registry.count("packument", 404)
                return self._send(404, b'{"error":"not found"}')
            if self.headers.get("If-None-Match") == package.etag:
                registry.count("packument", 304)
                return self._send(304, headers={"ETag": package.etag})
            registry.count("packument", 200)
            return self._send(
                200, package.body, {"Content-Type": "application/json", "ETag": package.etag}
            )

    return Handler


@dataclass(frozen=True)
class Run:
    seconds: float
    #: User + system CPU time of the child: what the cycle costs on an idle machine.
    cpu_seconds: float
    max_rss_mb: float
    returncode: int
    stderr: str


def run_check(subscriptions: Path, data_dir: Path, profile: Path | None = None) -> Run:
    """`watcher check` as a child process; its wall time and its own peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHER_", "SLACK_"))}
    env.update(WATCHER_DATA_DIR=str(data_dir), NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    # An installed watcher runs from bytecode; with PYTHONDONTWRITEBYTECODE set (as in some
    # dev shells) every start would compile ~550 modules again (8 s on a busy 2-core box).
    # The cache goes beside the store, never into the source tree; the cold run fills it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(data_dir / "pycache")
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [
                sys.executable,
                *(["-m", "cProfile", "-o", str(profile)] if profile else []),
                "-m",
                "watcher",
                "check",
                "--subscriptions",
                str(subscriptions),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=data_dir,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, usage.ru_maxrss / scale, child.returncode, stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the warm cycle here")
    args = parser.parse_args()

    registry = Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(registry))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"

    names = [f"bench-mcp-{i:04d}" for i in range(args.packages)]
    for name in names:
        package = Package(name)
        package.publish("1.0.0", INDEX_100, base_url)
        registry.packages[name] = package

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-poll-"))
    workdir.mkdir(parents=True, exist_ok=True)
    subscriptions = workdir / "subscriptions.toml"
    lines = ['[defaults]\ninterval = "15m"\nnotify = ["console"]\nfail_on = "high"\n']
    lines.extend(
        f'[[package]]\necosystem = "npm"\nname = "{name}"\npinned = "1.0.0"\n'
        f'registry = "{base_url}/"\n'
        for name in names
    )
    subscriptions.write_text("\n".join(lines))
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)

    # Wall time means little on a shared machine; the load average says how shared it was.
    print(
        f"{args.packages} subscriptions on {base_url}; {os.cpu_count()} CPU(s), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results: list[tuple[str, Run]] = []
    for label in ("cold", "warm"):
        if label == "warm":
            for name in names[: args.changed]:
                registry.packages[name].publish("1.0.1", INDEX_101, base_url)
        registry.answers.clear()
        run = run_check(subscriptions, data_dir, args.profile if label == "warm" else None)
        answers = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(registry.answers.items()))
        print(
            f"{label:>5}: {run.seconds:6.2f} s (CPU {run.cpu_seconds:6.2f} s)  "
            f"peak RSS {run.max_rss_mb:6.1f} MB  "
            f"exit {run.returncode}  ({answers})"
        )
        if run.returncode not in (0, 1):
            print(run.stderr[-3000:], file=sys.stderr)
        results.append((label, run))
    server.shutdown()

    warm = results[-1][1]
    ok = warm.seconds < 30 and warm.max_rss_mb < 200 and warm.returncode == 0
    print(f"target (warm < 30 s, < 200 MB): {'met' if ok else 'NOT met'}")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(benchmark process itself, registry included: peak RSS {self_rss:.1f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
