"""Smoke test of the metamorphic benchmark: a few cases end to end, and its table."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.bench_metamorphic import run_case, table
from benchmarks.metamorphic import jsedit, pyedit
from benchmarks.metamorphic.archive import Pair
from benchmarks.metamorphic.cases import HOSTS, expand, seeds
from benchmarks.metamorphic.families import FAMILIES
from benchmarks.metamorphic.negatives import NEGATIVES


def _pick(seed_id: str, family: str) -> list[Pair]:
    seed = next(s for s in seeds() if s.id == seed_id)
    chosen = tuple(f for f in FAMILIES if f.name == family)
    return list(expand(seed, chosen, index=1))


def test_tiny_subset_end_to_end(tmp_path: Path) -> None:
    dns = _pick("dns-exfiltration", "module-loader")  # baseline + Python loader rewrites
    mal = [dns[0], dns[1]]
    neg = [NEGATIVES[0].pair()]
    assert len(NEGATIVES) >= 40
    for case in mal:
        assert case.payload, case.id
        text = "\n".join(case.new.files[p] for p in case.payload)
        assert ".invalid" in text or any(h in text for h in HOSTS)
    assert "__import__(" in "".join(mal[1].new.files.values())

    outcomes = [run_case(c, tmp_path / f"m{i}", cli=False) for i, c in enumerate(mal)]
    negatives = [run_case(c, tmp_path / f"n{i}", cli=False) for i, c in enumerate(neg)]
    assert all(o.error == "" for o in (*outcomes, *negatives)), outcomes
    out = table(outcomes, negatives)
    for needle in ("family", "baseline", "module-loader", "overall", "Hard negatives", ">= 95 %"):
        assert needle in out, out


def test_every_family_has_a_variant_and_rewrites_parse() -> None:
    """Each family yields at least one rewrite of eslint-scope; `_finish` checks they parse."""
    seed = next(s for s in seeds() if s.id == "eslint-scope-npmrc")
    families = {p.family for p in expand(seed, FAMILIES)}
    assert families >= {f.name for f in FAMILIES}, families


_SAMPLES = [
    "https://collect.attacker.invalid/x?a=1&b=\u00e9",
    "phan@cdn-sync.invalid",
    "line\nbreak 'q' \"d\" `t` ${x}",
]


def test_constant_encoders_keep_the_value() -> None:
    """Folded/encoded constants evaluate to the original text (only the expressions run)."""
    for name, encode in pyedit.ENCODERS.items():
        for value in _SAMPLES:
            assert eval(encode(value)) == value, name  # our own generated expression
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    exprs = [e for enc in jsedit.ENCODERS.values() for v in _SAMPLES if (e := enc(v)) is not None]
    wanted = [v for enc in jsedit.ENCODERS.values() for v in _SAMPLES if enc(v) is not None]
    prog = "console.log(JSON.stringify([" + ",".join(exprs) + "]))"
    out = subprocess.run([node, "-e", prog], capture_output=True, text=True, check=True, timeout=20)
    assert json.loads(out.stdout) == wanted
