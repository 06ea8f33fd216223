"""Run every applicable rule over a release pair and collect findings and failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial

from watcher.installed import InstalledView, view_of
from watcher.models import Finding, RuleFailure, Severity
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
    same way), so exceptions are caught per rule and per artifact.
    """
    findings: list[Finding] = []
    failures: list[RuleFailure] = []
    for rule in registry:
        if ctx.ecosystem not in rule.ecosystems:
            continue
        if rule.scope is Scope.RELEASE:
            _collect(rule, partial(rule.fn, ctx), None, findings, failures)
        else:
            for diff in ctx.artifacts:
                produce = partial(rule.fn, ArtifactContext(diff, ctx))
                view = view_of(diff.new, diff.new_manifest)
                _collect(rule, produce, diff.label, findings, failures, view)
    return findings, failures


def _collect(
    rule: Rule,
    produce: Callable[[], Iterable[Hit]],
    artifact: str | None,
    findings: list[Finding],
    failures: list[RuleFailure],
    view: InstalledView | None = None,
) -> None:
    try:
        for produced, hit in enumerate(produce(), start=1):
            severity = (hit.severity or rule.severity).step_down(hit.weaker)
            message = hit.message
            # SPEC §4.4: code the module graph shows is never reached on install or import
            # (tests, docs, examples an sdist ships) never rises above low.
            if view is not None and hit.path is not None and view.never_runs(hit.path):
                if severity > Severity.LOW:
                    message = f"{message} (capped low: nothing installs, imports or runs it)"
                severity = min(severity, Severity.LOW)
            findings.append(
                Finding(
                    rule=rule.id,
                    severity=severity,
                    message=message,
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
    except Exception as e:  # noqa: BLE001
        logger.warning("rule %s failed: %s", rule.id, e, exc_info=True)
        failures.append(RuleFailure(rule.id, f"{type(e).__name__}: {e}"))
