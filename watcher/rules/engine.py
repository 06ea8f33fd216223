"""Run every applicable rule over a release pair and collect findings and failures."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial

from watcher import gaps
from watcher.gaps import Gap
from watcher.installed import InstalledView, Reach, view_of
from watcher.models import ArtifactDiff, Finding, RuleFailure, Severity
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
        _collect(rule, produce, diff.label, findings, failures, _view(diff))


#: Capabilities that make new install-time code critical (SPEC §4.4).
INSTALL_TIME_CRITICAL = frozenset({"network", "exec", "dynamic-code", "exfil"})


def _view(diff: ArtifactDiff) -> InstalledView | None:
    """The reachability model of `diff`'s new artifact; None (nothing capped) if it failed."""
    try:
        return view_of(diff.new, diff.new_manifest)
    # Deliberately broad, as for rules: without the model nothing is capped as unreachable.
    except Exception as e:  # noqa: BLE001
        logger.warning("reachability of %s failed: %s", diff.label, e, exc_info=True)
        gaps.record(f"reachability model failed: {type(e).__name__}: {e}")
        return None


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
            # (tests, docs, examples an sdist ships) never rises above low. What watcher could
            # not analyse is judged by where it is, not capped: it may be what runs.
            if (
                view is not None
                and hit.path is not None
                and rule.id != INCOMPLETE
                and view.never_runs(hit.path)
            ):
                if severity > Severity.LOW:
                    message = f"{message} (capped low: nothing installs, imports or runs it)"
                severity = min(severity, Severity.LOW)
            elif (
                view is not None
                and hit.path is not None
                and not hit.weaker
                and rule.category in INSTALL_TIME_CRITICAL
                and severity >= Severity.LOW
                and view.reach(hit.path) is Reach.INSTALL
            ):
                # SPEC §4.4: new code that runs on `npm install`/`pip install` and reaches the
                # network, starts processes or runs code is critical, whoever wrote it: it
                # runs before anyone has reviewed or even imported the package.
                if severity < Severity.CRITICAL:
                    message = f"{message} (runs at install time)"
                severity = Severity.CRITICAL
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
                    reach=(
                        view.reach(hit.path).name.lower()
                        if view is not None and hit.path is not None
                        else None
                    ),
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
