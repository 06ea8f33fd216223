"""The rule engine: one failing rule is reported and does not cost the others' findings."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.models import ArtifactKind, Ecosystem, FileEntry, Severity, Snapshot
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules
from watcher.rules.registry import ArtifactContext, Hit, Rule, RuleRegistry, Scope


def _context() -> ReleaseContext:
    files = {"package.json": FileEntry.of("package.json", b'{"name":"x"}')}
    new = Snapshot("x-1.0.1.tgz", ArtifactKind.NPM_TARBALL, files)
    return ReleaseContext(Ecosystem.NPM, "x", "1.0.0", "1.0.1", (artifact_diff(None, new),))


def test_failing_rule_is_isolated_and_reported() -> None:
    def broken(ctx: ArtifactContext) -> Iterator[Hit]:
        raise RuntimeError("boom")

    def fine(ctx: ArtifactContext) -> Iterator[Hit]:
        yield Hit("seen", path="package.json")

    registry = RuleRegistry()
    everywhere = frozenset(Ecosystem)
    registry.add(Rule("t.broken", "b", Severity.LOW, "c", everywhere, Scope.ARTIFACT, broken))
    registry.add(Rule("t.fine", "f", Severity.HIGH, "c", everywhere, Scope.ARTIFACT, fine))
    findings, failures = run_rules(_context(), registry)
    assert [f.rule for f in findings] == ["t.fine"]
    assert findings[0].severity is Severity.HIGH and findings[0].artifact == "x-1.0.1.tgz"
    assert [(f.rule, f.error) for f in failures] == [("t.broken", "RuntimeError: boom")]


def test_max_hits_caps_one_noisy_rule() -> None:
    def noisy(ctx: ArtifactContext) -> Iterator[Hit]:
        for i in range(100):
            yield Hit(f"hit {i}")

    registry = RuleRegistry()
    registry.add(
        Rule("t.noisy", "n", Severity.LOW, "c", frozenset(Ecosystem), Scope.ARTIFACT, noisy, 3)
    )
    findings, _ = run_rules(_context(), registry)
    assert len(findings) == 3


def test_rules_for_other_ecosystems_do_not_run() -> None:
    def pypi_only(ctx: ArtifactContext) -> Iterator[Hit]:
        yield Hit("should not run on npm")

    registry = RuleRegistry()
    registry.add(
        Rule("t.py", "p", Severity.LOW, "c", frozenset({Ecosystem.PYPI}), Scope.ARTIFACT, pypi_only)
    )
    assert run_rules(_context(), registry) == ([], [])
