"""exec/eval called under another name (issue 10, real malware): the sink hidden by rebinding.

`paint = exec` in a colour library, or `e = eval("ev" "al")` at the top of an obfuscated module,
leaves no `exec(` or `eval(` at the call: a text search and a reader both miss it. Synthetic
and defanged; each positive has an honest twin that keeps its medium.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.models import Severity
from watcher.parse import parse_source
from watcher.pipeline import scan_local

REBOUND = """import threading
paint = exec

def banner(text):
    key = "0123"
    hidden = "@UBZ\\x1f\\x11"
    out = ""
    for i, c in enumerate(hidden):
        out += chr(ord(c) ^ ord(key[i % len(key)]))
    paint(out)
    return text
"""
FETCHED = """_e = eval("\\x65\\x76\\x61\\x6c")
_c = _e("\\x63\\x6f\\x6d\\x70\\x69\\x6c\\x65")
_e(_c("print('stage two')", "", "exec"))
"""
#: A py2/3 shim keeps the sink's name; the template engine's exec is ordinary dynamic code.
SHIM = """import builtins
exec_ = getattr(builtins, "exec")

def render(template_source, namespace):
    exec_(compile(template_source, "<template>", "exec"), namespace)
    return namespace
"""


@pytest.mark.parametrize(
    ("source", "line"), [(REBOUND, 10), (FETCHED, 3)], ids=["rebound", "fetched-by-eval"]
)
def test_a_sink_called_under_another_name_is_concealed(source: str, line: int) -> None:
    facts = parse_source("pkg/mod.py", source)
    assert facts is not None
    concealed = [c for c in facts.calls if c.concealed and c.callee in ("exec", "eval")]
    assert line in [c.span.line for c in concealed]


def test_a_shim_that_keeps_the_sinks_name_is_not_concealed() -> None:
    facts = parse_source("pkg/mod.py", SHIM)
    assert facts is not None
    assert [c.callee for c in facts.calls if c.concealed] == []
    assert "exec" in [c.callee for c in facts.calls]  # still seen as dynamic code


def _scan(tmp_path: Path, module: str) -> list[tuple[str, Severity, int | None]]:
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nSummary: colours\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return [(f.rule, f.severity, f.line) for f in scan_local(artifact).findings]


def test_a_rebound_exec_at_import_is_high(tmp_path: Path) -> None:
    found = _scan(tmp_path, REBOUND)
    assert ("code.obfuscation", Severity.HIGH, 10) in found


def test_an_eval_fetched_by_its_name_is_high(tmp_path: Path) -> None:
    found = _scan(tmp_path, FETCHED)
    assert ("code.obfuscation", Severity.HIGH, 3) in found


def test_a_template_engine_with_an_exec_shim_stays_medium(tmp_path: Path) -> None:
    found = _scan(tmp_path, SHIM)
    assert found and max(severity for _, severity, _ in found) == Severity.MEDIUM
