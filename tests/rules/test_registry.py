"""Meta-tests: every rule has positive and negative fixtures; no fixture without a rule."""

from __future__ import annotations

import pytest

from tests.rules.fixture_cases import FIXTURES, load_cases
from watcher.models import Severity
from watcher.rules import REGISTRY
from watcher.rules.registry import Rule, RuleRegistry, Scope

CASES = load_cases()


@pytest.mark.parametrize("rule_id", [r.id for r in REGISTRY])
def test_every_rule_has_positive_and_negative_cases(rule_id: str) -> None:
    polarities = {c.polarity for c in CASES if c.rule == rule_id}
    assert polarities == {"positive", "negative"}, (
        f"{rule_id} needs {FIXTURES / (rule_id + '.toml')} with [[positive]] and [[negative]]"
    )


def test_every_fixture_names_a_registered_rule() -> None:
    orphans = sorted({p.stem for p in FIXTURES.glob("*.toml")} - {r.id for r in REGISTRY})
    assert not orphans, f"fixtures for unknown rules: {orphans}"


def test_duplicate_rule_id_is_refused() -> None:
    registry = RuleRegistry()
    rule = Rule("x.y", "s", Severity.LOW, "c", frozenset(), Scope.ARTIFACT, lambda ctx: ())
    registry.add(rule)
    with pytest.raises(ValueError, match="duplicate"):
        registry.add(rule)


def test_rules_have_user_facing_metadata() -> None:
    for rule in REGISTRY:
        assert rule.summary and rule.category and rule.ecosystems, rule.id
        assert rule.id.count(".") == 1 and rule.id == rule.id.lower(), rule.id


def test_readme_rules_table_is_current() -> None:
    import io
    from contextlib import redirect_stdout
    from pathlib import Path

    from watcher.cli import main

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        main(["rules", "list", "--format", "markdown"])
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert buffer.getvalue().strip() in readme, (
        "README rules table is stale: paste `watcher rules list --format markdown` into it"
    )
