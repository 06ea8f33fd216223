"""No regular expression that runs on package text backtracks super-linearly (SPEC §4.5).

Every compiled pattern held at module level by the rules, parsers, MCP extractors, differ and
manifest reader is searched over hostile lines 20,000 characters long, built from the pieces
such patterns are made of (labels, dots, quotes, `${`, `bcc:`...). Linear patterns take
milliseconds; the unbounded host pattern of issue 9 took 10 s on one of these lines. The guard
is generous (a hang guard, not a benchmark).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import time
from types import ModuleType

import pytest

import watcher.diff
import watcher.mcp
import watcher.parse
import watcher.rules

LENGTH = 20_000
#: Seconds one pattern may spend on all the hostile lines together.
HANG = 5.0
UNITS = [
    "a", "a.", "a-", "1.", "1", " ", "\t", "http://", "http://a.", "'", '"', "`", "\\x41", "\\",
    "a@", "@a.", "aA1", "_0x", "/", "[", "=", "a=", "host: '", "//", "/a", ":", "a:", "x:", ".",
    "{", "$", "${", "%", "A", "0", "a/", "-", "_", "cc:", "bcc: a@", "require(", "import ",
    "#", "a,", "a b", "'a'", "+", "a+", "send ", "<", "..", "a..", "+'.a",
]  # fmt: skip
#: Patterns only ever applied with `.match` at one position, where they are linear.
MATCH_ONLY = {
    "watcher.rules.wallet._BARE_VALUE",
    "watcher.rules.mail._TOKEN",
    "watcher.mcp.directives._NAMED_AS_TOOL",
}


def _modules() -> list[ModuleType]:
    packages = (watcher.rules, watcher.parse, watcher.mcp, watcher.diff)
    names = [f"{p.__name__}.{i.name}" for p in packages for i in pkgutil.iter_modules(p.__path__)]
    return [importlib.import_module(n) for n in [*names, "watcher.artifacts.manifest"]]


def _patterns() -> dict[str, re.Pattern[str] | re.Pattern[bytes]]:
    found: dict[str, re.Pattern[str] | re.Pattern[bytes]] = {}

    def collect(value: object, where: str, depth: int = 0) -> None:
        if depth > 4:
            return
        if isinstance(value, re.Pattern):
            if where not in MATCH_ONLY:  # bytes patterns run on file bytes: audited too
                found.setdefault(f"{where}:{value.pattern[:40]!r}", value)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                collect(item, where, depth + 1)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item, where, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                collect(getattr(value, field.name, None), where, depth + 1)

    for module in _modules():
        for name, value in vars(module).items():
            collect(value, f"{module.__name__}.{name}")
    return found


PATTERNS = _patterns()


def test_the_audit_sees_the_patterns_it_is_about() -> None:
    names = " ".join(PATTERNS)
    for expected in ("code._HOST_IN", "code._URL_HOST", "code._DOTTED", "dns_exfil.BUILT_HOST"):
        assert expected in names
    assert "tools._FILE_NAME" in names and "tools._PY_NEEDLES" in names  # bytes patterns
    assert len(PATTERNS) > 50


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_is_linear_on_hostile_lines(name: str) -> None:
    pattern = PATTERNS[name]
    start = time.monotonic()
    for unit in UNITS:
        text = unit * (LENGTH // len(unit))
        line: str | bytes = text.encode() if isinstance(pattern.pattern, bytes) else text
        pattern.search(line)  # type: ignore[arg-type]
        for _ in pattern.finditer(line):  # type: ignore[arg-type]
            pass
    assert time.monotonic() - start < HANG, name


def test_match_only_pattern_is_linear_where_it_is_used() -> None:
    from watcher.rules.wallet import _BARE_VALUE

    start = time.monotonic()
    for unit in UNITS:
        line = unit * (LENGTH // len(unit))
        for position in range(0, len(line), 997):
            _BARE_VALUE.match(line, position)
    assert time.monotonic() - start < HANG


def test_mail_tokenizer_is_bounded_where_it_is_used() -> None:
    # `_TOKEN` is matched token by token from one position, within a window of the source.
    from watcher.rules.mail import _tokens

    start = time.monotonic()
    for unit in UNITS:
        line = unit * (LENGTH // len(unit))
        for position in range(0, len(line), 997):
            _tokens(line, position)
    assert time.monotonic() - start < HANG
