"""Parsers under hostile input fail closed (SPEC §4.5, issue 9): a gap, never an exception.

Each attack is built here, run through `facts_for`/`parse_module`, and must finish (a generous
hang guard: speed itself is the benchmarks' business), raise nothing, and record a gap naming
the file and why. Honest modern Python records none.
"""

from __future__ import annotations

import ast
import time

import pytest

from watcher import gaps
from watcher.models import FileEntry
from watcher.parse import Facts, budget, facts_for, js, parse_source
from watcher.parse import python as python_parser
from watcher.parse.python import parse_module

#: Seconds any one attack may take before the test calls it a hang.
HANG = 20.0


def _entry(path: str, text: str) -> FileEntry:
    return FileEntry.of(path, text.encode())


def _facts_with_gaps(path: str, text: str) -> tuple[Facts | None, list[gaps.Gap], float]:
    start = time.monotonic()
    with gaps.collecting() as found:
        facts = facts_for(path, _entry(path, text))
    return facts, list(found), time.monotonic() - start


def test_deep_member_chain_is_read_in_full_without_a_gap() -> None:
    # 3,000 links, 6 KB: the recursive extractor raised RecursionError on it.
    source = "const cp = require('child_process')\ncp" + "\n.b" * 3000 + "()\ncp.exec('id')\n"
    facts, found, took = _facts_with_gaps("lib/chain.js", source)
    assert took < HANG
    assert found == []
    assert facts is not None
    assert any(c.callee == "child_process.exec" for c in facts.calls)


def test_nesting_past_the_extractor_budget_is_a_gap() -> None:
    source = "require(" + "(" * 3000 + "'child_process'" + ")" * 3000 + ")\n"
    facts, found, took = _facts_with_gaps("lib/nest.js", source)
    assert took < HANG
    assert facts is None  # the text rules judge the file
    assert [(g.path, g.reason) for g in found] == [
        ("lib/nest.js", f"parse of lib/nest.js stopped: nesting deeper than {budget.MAX_DEPTH}")
    ]
    assert found[0].sha256 == _entry("lib/nest.js", source).sha256


def test_long_honest_concatenation_costs_no_budget() -> None:
    source = "eval(" + " + ".join(["'a'"] * 3000) + ")\n"
    facts, found, _ = _facts_with_gaps("lib/concat.js", source)
    assert found == []
    assert facts is not None
    assert facts.calls[0].first_arg == "a" * 3000


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("(" * 100_000, "a syntax error spans more than"),
        ("x = " + "(" * 100_000 + "1" + ")" * 100_000, "nesting deeper than 16384"),
    ],
    ids=["open-parens", "balanced-parens"],
)
def test_parentheses_that_stall_the_query_are_refused(source: str, reason: str) -> None:
    facts, found, took = _facts_with_gaps("lib/parens.js", source)
    assert took < HANG
    assert facts is None
    assert len(found) == 1 and found[0].path == "lib/parens.js" and reason in found[0].reason


def test_a_failed_parse_is_cached_and_its_gap_recorded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = "(" * 50_000 + "/* cache me */"
    calls: list[str] = []
    real = js.parse

    def counting(path: str, text: str, dialect: str | None = None) -> object:
        calls.append(path)
        return real(path, text, dialect)

    monkeypatch.setattr(js, "parse", counting)
    first = _facts_with_gaps("a/x.js", source)
    second = _facts_with_gaps("a/x.js", source)
    assert calls == ["a/x.js"]
    assert first[0] is None and second[0] is None
    assert first[1] == second[1] and len(second[1]) == 1


def test_the_per_file_time_budget_cancels_the_parse() -> None:
    source = "var x = 1;\n" * 20_000 + "/* per-file budget */"
    with budget.release_budget(per_file=0.0), gaps.collecting() as found:
        assert js.parse("big.js", source) is None
    assert len(found) == 1 and "time budget of 0.0 s spent" in found[0].reason
    assert found[0].path == "big.js"


def test_a_spent_release_budget_refuses_further_parses_and_is_not_cached() -> None:
    source = "require('fs') /* release budget */\n"
    with budget.release_budget(per_release=0.0), gaps.collecting() as found:
        assert facts_for("late.js", _entry("late.js", source)) is None
    assert len(found) == 1 and "refused" in found[0].reason and found[0].path == "late.js"
    # A later analysis has time of its own: the refusal was not cached.
    with budget.release_budget(), gaps.collecting() as found:
        assert facts_for("late.js", _entry("late.js", source)) is not None
    assert found == []


def test_parse_time_is_charged_to_the_open_release() -> None:
    with budget.release_budget() as spent:
        parse_source("a.js", "require('x')\n" * 2000 + "/* charge */")
    assert spent.spent > 0
    assert budget.current().per_release is None  # nobody opened one: per-file only


# -- Python ------------------------------------------------------------------------------------


def test_setup_py_deeper_than_python_311_accepts_is_a_gap() -> None:
    source = "import os\nx = a" + ".b" * 5000 + "\n"
    with gaps.collecting() as found:
        assert parse_module("setup.py", source) is None
    assert [g.reason for g in found] == [
        "parse of setup.py stopped: nesting deeper than Python 3.11 accepts"
    ]


def test_nesting_ast_accepts_but_the_walkers_cannot_afford_is_a_gap() -> None:
    source = "x = a" + ".b" * 1500 + "\n"
    ast.parse(source)  # CPython 3.11 reads it...
    with gaps.collecting() as found:
        assert parse_module("pkg/deep.py", source) is None
    assert [g.reason for g in found] == [
        f"parse of pkg/deep.py stopped: nesting deeper than {budget.MAX_DEPTH}"
    ]


def test_long_elif_chain_is_walked_without_recursion() -> None:
    source = "import os\nif a: pass\n" + "elif a: pass\n" * 1500 + "os.system('id')\n"
    with gaps.collecting() as found:
        facts = python_parser.parse("pkg/chain.py", source)
    assert found == []
    assert facts is not None and [c.callee for c in facts.calls] == ["os.system"]


MODERN = {
    "pep695": "type Pair[T] = tuple[T, T]\n\ndef first[T](p: Pair[T]) -> T:\n    return p[0]\n",
    "pep701": 'names = ["a"]\nprint(f"{", ".join(f"{n!r}" for n in names)}")\n',
    "match": (
        "def f(x):\n    match x:\n        case {'k': v}:\n            return v\n"
        "        case _:\n            return None\n"
    ),
    "generic-class": "class Box[T]:\n    def get(self) -> T: ...\n",
}


@pytest.mark.parametrize("source", MODERN.values(), ids=MODERN.keys())
def test_honest_modern_python_records_no_gap(source: str) -> None:
    with gaps.collecting() as found:
        parse_module("pkg/modern.py", source)
        facts_for("pkg/modern.py", _entry("pkg/modern.py", source))
    assert found == []


def test_text_neither_parser_reads_is_a_gap() -> None:
    with gaps.collecting() as found:
        assert parse_module("pkg/broken.py", "def f(:\n    return )(\n") is None
    assert len(found) == 1
    assert found[0].reason.startswith("parse of pkg/broken.py failed: not valid Python (line 1")


def test_a_data_file_read_as_python_on_suspicion_is_no_gap_when_nothing_reads_it() -> None:
    # A module that loads files dynamically makes the files it names suspects; a
    # pyproject.toml that neither parser reads as Python cannot run as Python either.
    toml = "[project]\nname = 'x'\nversion = '1.0'\n[tool.x]\na-b = 1\n"
    with gaps.collecting() as found:
        assert parse_module("pyproject.toml", toml) is None
    assert found == []
    # Named as Python (or an extensionless script), the same text is a file watcher could not
    # read: a gap, as before.
    for name in ("pkg/mod.py", "bin/tool"):
        with gaps.collecting() as found:
            assert parse_module(name, toml) is None
        assert [g.reason for g in found][0].startswith(f"parse of {name} failed")
