"""Run every applicable rule over a release pair and collect findings and failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial

from watcher import gaps
from watcher.gaps import Gap
from watcher.models import Finding, RuleFailure
from watcher.rules.incomplete import RULE_ID as INCOMPLETE
from watcher.rules.registry import (
    REGISTRY,
    ArtifactContext,
    Hit,
    ReleaseContext,
    Rule,
    RuleRegistry,
    Scope,
)

logger = logging.getLogger(__name__)


def run_rules(
    ctx: ReleaseContext, registry: RuleRegistry = REGISTRY
) -> tuple[list[Finding], list[RuleFailure]]:
    """Findings of all rules for `ctx`; a rule that raises becomes a `RuleFailure`.

    One broken rule must not hide what the others found (guarddog reports per-rule errors the
    same way), so exceptions are caught per rule and per artifact. What the rules could not
    analyse (gaps their parsers recorded, and the failures themselves) is then judged by
    `analysis.incomplete`, which therefore runs last.
    """
    findings: list[Finding] = []
    failures: list[RuleFailure] = []
    with gaps.collecting() as recorded:
        for rule in registry:
            if rule.id != INCOMPLETE:
                _run(rule, ctx, findings, failures)
    # Whoever collects around this call (a test, a caller) sees them too.
    for gap in recorded:
        gaps.record(gap.reason, gap.path, gap.sha256, gap.artifact)
    failed = tuple(Gap(f"rule {f.rule} failed: {f.error}") for f in failures)
    if INCOMPLETE in registry:
        final = replace(ctx, gaps=(*ctx.gaps, *recorded, *failed))
        _run(registry.get(INCOMPLETE), final, findings, failures)
    return findings, failures


def _run(
    rule: Rule, ctx: ReleaseContext, findings: list[Finding], failures: list[RuleFailure]
) -> None:
    if ctx.ecosystem not in rule.ecosystems:
        return
    if rule.scope is Scope.RELEASE:
        _collect(rule, partial(rule.fn, ctx), None, findings, failures)
        return
    for diff in ctx.artifacts:
        produce = partial(rule.fn, ArtifactContext(diff, ctx))
        _collect(rule, produce, diff.label, findings, failures)


def _collect(
    rule: Rule,
    produce: Callable[[], Iterable[Hit]],
    artifact: str | None,
    findings: list[Finding],
    failures: list[RuleFailure],
) -> None:
    try:
        for produced, hit in enumerate(produce(), start=1):
            findings.append(
                Finding(
                    rule=rule.id,
                    severity=(hit.severity or rule.severity).step_down(hit.weaker),
                    message=hit.message,
                    category=rule.category,
                    path=hit.path,
                    line=hit.line,
                    evidence=hit.evidence,
                    artifact=artifact,
                    subject=hit.subject,
                )
            )
            if produced >= rule.max_hits:
                break
    # Deliberately broad: rules parse hostile input, and any bug in one must not cost the
    # others' findings. The failure is reported in the verdict, not swallowed.
    # RecursionError and MemoryError are Exceptions too: hostile nesting must not escape.
    # not a gap: run_rules turns every failure into one, after the other rules ran
    except Exception as e:  # noqa: BLE001
        logger.warning("rule %s failed: %s", rule.id, e, exc_info=True)
        failures.append(RuleFailure(rule.id, f"{type(e).__name__}: {e}"))
