"""The case list: every malicious replay under every applicable rewrite, and the negatives."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from benchmarks.metamorphic.archive import Pair, Tree, payload_of, read_tree
from benchmarks.metamorphic.families import FAMILIES, Family
from benchmarks.metamorphic.negatives import NEGATIVES
from tests.support.replays import REPLAYS

#: Attacker destinations the rewrites rotate through (no rule may special-case `.invalid`).
HOSTS = (
    "collect.attacker.invalid",
    "cdn-sync.invalid",
    "203.0.113.7",
    "telemetry-edge.invalid",
    "198.51.100.23",
    "updates.pkg-mirror.invalid",
    "api.metrics-hub.invalid",
    "static.fontcache.invalid",
)
_HOST = re.compile(r"(?<![\w.-])([a-z0-9-]+(?:\.[a-z0-9-]+)*\.invalid)\b", re.IGNORECASE)


def vary_hosts(pair: Pair, index: int) -> Pair:
    """Replace each attacker host of the new release (not the old one) by one of `HOSTS`.

    IP literals go only where a URL or host name stands alone (after `//` or as a whole string),
    never into a mail address or under a DNS suffix.
    """
    mapping: dict[str, str] = {}

    def pick(match: re.Match[str]) -> str:
        host = match.group(1)
        before = match.string[max(0, match.start() - 2) : match.start()]
        after = match.string[match.end() : match.end() + 1]
        standalone = before.endswith("//") or (before[-1:] in "'\"" and after in "'\":/")
        key = (host, standalone)
        if host not in mapping:
            n = (index + len(mapping)) % len(HOSTS)
            candidate = HOSTS[n]
            if candidate[0].isdigit() and not standalone:
                candidate = HOSTS[(n + 1) % len(HOSTS)]
            mapping[host] = candidate
        new = mapping[host]
        if new[0].isdigit() and not key[1]:
            return host.replace(
                host.split(".")[-2] + ".invalid", "relay-" + str(index) + ".invalid"
            )
        return new

    files = dict(pair.new.files)
    for path, text in pair.new.files.items():
        if pair.old.files.get(path) != text:
            files[path] = _HOST.sub(pick, text)
    new = pair.new.with_files(files)
    return replace(pair, new=new, payload=payload_of(pair.old, new))


def seeds() -> Iterator[Pair]:
    """Each malicious replay as an editable pair (local artifacts, as `diff_local` reads them)."""
    for replay_id, build in REPLAYS.items():
        replay = build()
        old = read_tree(replay.old.filename, replay.old.data)
        new = read_tree(replay.new.filename, replay.new.data)
        yield Pair(replay_id, old, new, payload_of(old, new), seed=replay_id)


def _negative_seeds() -> Iterator[Pair]:
    for negative in NEGATIVES:
        pair = negative.pair()
        yield replace(pair, seed=pair.id)


def expand(seed: Pair, families: tuple[Family, ...], index: int = 0) -> Iterator[Pair]:
    """The seed (hosts varied) and every rewrite of it that applies."""
    base = vary_hosts(seed, index) if seed.malicious else seed
    yield replace(base, id=f"{seed.id}/baseline", family="baseline", variant="baseline")
    n = index
    for family in families:
        for name, variant in family.variants:
            n += 1
            start = vary_hosts(seed, n) if seed.malicious else seed
            out = variant(start)
            if out is not None:
                yield replace(out, id=f"{seed.id}/{family.name}/{name}", variant=name)


def malicious_cases(only: str = "") -> Iterator[Pair]:
    for i, seed in enumerate(seeds()):
        if only and only not in seed.id:
            continue
        yield from expand(seed, FAMILIES, i)


def negative_cases(only: str = "") -> Iterator[Pair]:
    plain = tuple(f for f in FAMILIES if not f.encoding)
    for seed in _negative_seeds():
        if only and only not in seed.id:
            continue
        yield from expand(seed, plain)


# --------------------------------------------------------------------------- rule fixtures

_FIXTURE_RULES = ("code.", "npm.install-script")


def _fixture_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "repeat" in value:
        return str(value["repeat"]) * int(value["times"])
    return None  # binary content: not a source file the families can respell


def _fixture_tree(raw: dict[str, Any], side: str, version: str, n: int) -> Tree | None:
    files: dict[str, str] = {}
    for path, value in ((raw.get(side) or {}).get("files") or {}).items():
        text = _fixture_text(value)
        if text is None:
            return None
        files[path] = text
    name = f"fixture-case-{n}"
    if raw["ecosystem"] == "npm":
        if "package.json" not in files:
            # A unit-level fixture has no manifest: its first code file is the entry point.
            main = next((p for p in sorted(files) if p.endswith((".js", ".cjs", ".mjs"))), "")
            files["package.json"] = json.dumps({"name": name, "version": version, "main": main})
        return Tree(f"{name}-{version}.tgz", "npm", "package", files)
    module = name.replace("-", "_")
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if raw.get("artifact") == "wheel":
        dist = f"{module}-{version}.dist-info"
        files |= {f"{dist}/METADATA": meta, f"{dist}/WHEEL": "Wheel-Version: 1.0\n",
                  f"{dist}/RECORD": ""}  # fmt: skip
        return Tree(f"{module}-{version}-py3-none-any.whl", "wheel", "", files)
    files.setdefault("PKG-INFO", meta)
    return Tree(f"{module}-{version}.tar.gz", "sdist", f"{module}-{version}", files)


def fixture_seeds() -> Iterator[Pair]:
    """Positive cases of the code.* and npm.install-script rule fixtures that the fixture itself
    says are high or critical, as artifact pairs (unit-level trees: reachability is whatever
    the fixture's files give; npm ones without a manifest get their first file as `main`)."""
    from tests.rules.fixture_cases import load_cases

    for n, case in enumerate(load_cases()):
        raw = case.raw
        if case.polarity != "positive" or not case.rule.startswith(_FIXTURE_RULES):
            continue
        if raw.get("severity") not in ("high", "critical") or raw.get("old") is None:
            continue
        if raw.get("xfail_reason"):
            continue
        old = _fixture_tree(raw, "old", "1.0.0", n)
        new = _fixture_tree(raw, "new", "1.0.1", n)
        if old is None or new is None:
            continue
        payload = payload_of(old, new)
        if payload:
            slug = re.sub(r"[^a-z0-9]+", "-", raw["name"].lower()).strip("-")[:40]
            yield Pair(f"fixture:{case.rule}:{slug}", old, new, payload, seed=case.rule)


def fixture_cases(only: str = "") -> Iterator[Pair]:
    for i, seed in enumerate(fixture_seeds()):
        if only and only not in seed.id:
            continue
        for pair in expand(seed, FAMILIES, i):
            yield replace(pair, family=f"fixture/{pair.family}")


__all__ = ["HOSTS", "Pair", "Tree", "fixture_cases", "malicious_cases", "negative_cases", "seeds"]
