"""Every fixture case of every rule: positives fire where and as bad as stated; negatives don't."""

from __future__ import annotations

import ast
import json
import tomllib

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


#: Parsers for the manifest files rules read; a typo there would make a negative pass vacuously.
_PARSERS = {"package.json": json.loads, "pyproject.toml": tomllib.loads, "setup.py": ast.parse}
#: Case-level keys; one written below a `[x.new.files]` header silently becomes a file instead.
_CASE_KEYS = {"name", "ecosystem", "artifact", "path", "line", "severity", "count"}
_CASE_KEYS |= {"evidence_contains", "xfail_reason", "malformed"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixture_is_well_formed(case: Case) -> None:
    """Manifests parse (unless `malformed = true`) and no case key hides in a files table."""
    for side in ("old", "new"):
        files = (case.raw.get(side) or {}).get("files", {})
        misplaced = _CASE_KEYS & files.keys()
        assert not misplaced, f"case keys {misplaced} sit under [{side}.files]: move them up"
        if case.raw.get("malformed"):
            continue
        for path, value in files.items():
            parser = _PARSERS.get(path)
            if parser is not None and isinstance(value, str):
                parser(value)
