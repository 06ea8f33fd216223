"""Benchmark the dependency-tree cycle (issue 13): 1,000 subscriptions sharing 20,000 packages.

A local npm registry runs in this process (`bench_poll`'s threaded server: packuments with a
strong ETag, 304 on a matching `If-None-Match`, tarballs). The graph is layered: `--packages`
dependencies in 5 layers, each depending on `--fanout` packages of the next layer with a `^`
range; each of `--subscriptions` MCP servers depends on 6 packages of the first layer, so a
tree holds ~100-250 packages and the trees share most of them. The real `watcher check` runs as
a child process with its own data directory (SQLite store):

1. `cold`: the first cycle resolves every tree (each package's packument read once, however
   many trees hold it) and stores it;
2. `warm`: after `--changed` packages of the last layer published a clean patch, the second
   cycle: each unique package is asked for once, conditionally (most answer 304); the trees
   holding a changed one are resolved again and each patch is diffed once.

For each cycle it prints the wall time, the child's peak RSS and what the registry answered.
Target: the warm cycle under 60 s on 2 cores and under 300 MB, with requests growing with
unique packages, not subscriptions × tree size.

    uv run python benchmarks/bench_tree.py [--packages 20000] [--subscriptions 1000]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_poll import INDEX_100, INDEX_101, Registry, Run, handler, run_check, tarball  # noqa: E402

LAYERS = 5
ROOT_DEPS = 6


@dataclass
class Package:
    """One served package: its versions' dependencies, tarballs built when first needed."""

    name: str
    deps: dict[str, str] = field(default_factory=dict)
    versions: list[str] = field(default_factory=lambda: ["1.0.0"])
    tarballs: dict[str, bytes] = field(default_factory=dict)
    body: bytes = b""
    etag: str = ""

    def render(self, base_url: str) -> None:
        entries = {}
        for v in self.versions:
            index = INDEX_100 if v == "1.0.0" else INDEX_101
            data = self.tarballs.setdefault(v, tarball(self.name, v, index))
            entries[v] = {
                "name": self.name,
                "version": v,
                "dependencies": self.deps,
                "dist": {
                    "tarball": f"{base_url}/{self.name}/-/{self.name}-{v}.tgz",
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                },
            }
        doc = {
            "name": self.name,
            "dist-tags": {"latest": self.versions[-1]},
            "versions": entries,
            "time": {v: f"2026-11-{1 + i:02d}T00:00:00.000Z" for i, v in enumerate(self.versions)},
        }
        self.body = json.dumps(doc).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def graph(packages: int, subscriptions: int, fanout: int, seed: int) -> dict[str, Package]:
    rng = random.Random(seed)
    per_layer = packages // LAYERS
    layers = [[f"dep-{layer}-{i:05d}" for i in range(per_layer)] for layer in range(LAYERS)]
    served: dict[str, Package] = {}
    for layer, names in enumerate(layers):
        below = layers[layer + 1] if layer + 1 < LAYERS else []
        for name in names:
            picks = rng.sample(below, fanout) if below else []
            served[name] = Package(name, dict.fromkeys(picks, "^1.0.0"))
    for i in range(subscriptions):
        name = f"bench-srv-{i:04d}"
        served[name] = Package(name, dict.fromkeys(rng.sample(layers[0], ROOT_DEPS), "^1.0.0"))
    return served


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=20000)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--fanout", type=int, default=2)
    parser.add_argument("--changed", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()

    registry = Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(registry))  # type: ignore[arg-type]
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"

    served = graph(args.packages, args.subscriptions, args.fanout, args.seed)
    for package in served.values():
        package.render(base_url)
    registry.packages = served  # type: ignore[assignment]  # same duck type as bench_poll's

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-tree-"))
    workdir.mkdir(parents=True, exist_ok=True)
    subs = workdir / "subscriptions.toml"
    lines = ['[defaults]\ninterval = "15m"\nnotify = ["console"]\nfail_on = "high"\n']
    lines.extend(
        f'[[package]]\necosystem = "npm"\nname = "bench-srv-{i:04d}"\npinned = "1.0.0"\n'
        f'registry = "{base_url}/"\n'
        for i in range(args.subscriptions)
    )
    subs.write_text("\n".join(lines))
    data_dir = workdir / "data"
    data_dir.mkdir(exist_ok=True)

    print(
        f"{args.subscriptions} subscriptions over {args.packages} dependencies "
        f"(fan-out {args.fanout}) on {base_url}; {os.cpu_count()} CPU(s), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results: list[tuple[str, Run]] = []
    leaves = sorted(n for n in served if n.startswith(f"dep-{LAYERS - 1}-"))
    for label in ("cold", "warm"):
        if label == "warm":
            for name in leaves[: args.changed]:
                served[name].versions.append("1.0.1")
                served[name].render(base_url)
        registry.answers.clear()
        run = run_check(subs, data_dir)
        answers = ", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(registry.answers.items()))
        requests = sum(registry.answers.values())
        print(
            f"{label:>5}: {run.seconds:6.2f} s (CPU {run.cpu_seconds:6.2f} s)  "
            f"peak RSS {run.max_rss_mb:6.1f} MB  exit {run.returncode}  "
            f"{requests} requests ({answers})"
        )
        if run.returncode not in (0, 1):
            print(run.stderr[-3000:], file=sys.stderr)
        results.append((label, run))
    server.shutdown()
    entries = trees_size(data_dir)
    if entries is not None:
        print(f"trees hold {entries[0]} entries over {entries[1]} unique packages")

    warm = results[-1][1]
    ok = warm.seconds < 60 and warm.max_rss_mb < 300 and warm.returncode == 0
    print(f"target (warm < 60 s, < 300 MB): {'met' if ok else 'NOT met'}")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f})")
    return 0 if ok else 1


def trees_size(data_dir: Path) -> tuple[int, int] | None:
    """(entries, unique packages) across every stored tree, read from the SQLite store."""
    import sqlite3

    found = list(data_dir.rglob("*.db"))
    if not found:
        return None
    with sqlite3.connect(found[0]) as db:
        total, unique = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT package) FROM tree_entries"
        ).fetchone()
    return int(total), int(unique)


if __name__ == "__main__":
    raise SystemExit(main())
