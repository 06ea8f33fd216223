"""Python files over `MAX_PARSE_BYTES` that are mostly one string literal are parsed anyway.

A packed dropper is a few statements around a megabyte of encoded payload; judged by text
alone, `import base64 as b; exec(b.b64decode(…))` hides behind its alias. Parse cost follows
syntax, so such a file is parsed, while a large file of dense code still is not.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support import archives as A
from watcher.models import FileEntry, Severity
from watcher.parse import MAX_PARSE_BYTES, facts_for, parses
from watcher.pipeline import scan_local

#: A defanged stage: it only prints.
STAGE = base64.b64encode(b"print('stage two')\n" * 24_000).decode()
PACKED = f"import base64 as b;exec(b.b64decode('{STAGE}'))\n"
#: Honest twin: the same size of data, decoded and used as data.
DATA_MODULE = (
    f"import base64 as b\nFONT = b.b64decode('{STAGE}')\n\ndef glyphs():\n    return FONT\n"
)
DENSE = "".join(f"def f{i}(a, b=1):\n    return a.get('k{i}', b)\n" for i in range(12_000))


def test_a_large_module_that_is_mostly_a_literal_is_parsed() -> None:
    entry = FileEntry.of("pkg/__init__.py", PACKED.encode())
    assert entry.size > MAX_PARSE_BYTES and parses("pkg/__init__.py", entry)
    facts = facts_for("pkg/__init__.py", entry)
    assert facts is not None
    assert [(c.callee, c.arg_callees) for c in facts.calls if c.callee == "exec"] == [
        ("exec", ("base64.b64decode",))
    ]


def test_a_large_module_of_dense_code_is_still_left_to_the_text_rules() -> None:
    entry = FileEntry.of("pkg/tables.py", DENSE.encode())
    assert entry.size > MAX_PARSE_BYTES
    assert not parses("pkg/tables.py", entry) and facts_for("pkg/tables.py", entry) is None


def test_a_large_literal_is_parsed_only_as_python() -> None:
    entry = FileEntry.of("dist/app.js", f"var s = '{STAGE}';\n".encode())
    assert not parses("dist/app.js", entry)


def _scan(tmp_path: Path, module: str) -> list[tuple[str, Severity]]:
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return [(f.rule, f.severity) for f in scan_local(artifact).findings]


def test_a_packed_dropper_behind_a_module_alias_is_high(tmp_path: Path) -> None:
    assert ("code.dynamic-code", Severity.HIGH) in _scan(tmp_path, PACKED)


def test_a_large_embedded_asset_decoded_as_data_is_not_high(tmp_path: Path) -> None:
    found = _scan(tmp_path, DATA_MODULE)
    assert all(severity < Severity.HIGH for _, severity in found)
