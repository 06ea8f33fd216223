"""Every fixture case of every rule: positives fire (where and how bad, if stated), negatives don't."""

from __future__ import annotations

import pytest

from tests.rules.fixture_cases import Case, build_context, load_cases
from watcher.models import Severity
from watcher.rules import run_rules

CASES = load_cases()


def _param(case: Case) -> object:
    """A case as a test parameter; `xfail_reason` marks a known rule bug (strict: a fix shows)."""
    reason = case.raw.get("xfail_reason")
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_fixture_case(case: Case) -> None:
    findings, failures = run_rules(build_context(case))
    assert not failures, failures
    mine = [f for f in findings if f.rule == case.rule]
    if case.polarity == "negative":
        assert not mine, f"{case.rule} fired on a negative case: {mine}"
        return
    assert mine, f"{case.rule} did not fire; all findings: {findings}"
    expected = {k: case.raw[k] for k in ("path", "line", "severity") if k in case.raw}
    if "severity" in expected:
        expected["severity"] = Severity(expected["severity"])
    if expected:
        assert any(
            all(getattr(f, key) == value for key, value in expected.items()) for f in mine
        ), f"no finding matches {expected}: {mine}"
    if "count" in case.raw:
        assert len(mine) == case.raw["count"], f"expected {case.raw['count']} findings: {mine}"
    if "evidence_contains" in case.raw:
        assert any(case.raw["evidence_contains"] in (f.evidence or "") for f in mine), mine
