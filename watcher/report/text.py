"""The terminal report: the verdict first, then findings by severity with their evidence.

Written for a reviewer who has thirty seconds: what is it, how bad, and the exact lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.escape import terminal
from watcher.models import Finding, Report


def _where(finding: Finding, several_artifacts: bool) -> str:
    place = finding.path or "(metadata)"
    if finding.via:
        place = f"{finding.via}: {place}"
    if finding.line is not None:
        place += f":{finding.line}"
    if finding.artifact and several_artifacts:
        place += f"  [{finding.artifact}]"
    return terminal(place)


def _lines(report: Report) -> Iterator[str]:
    new = terminal(report.new_version)
    versions = (
        f"{terminal(report.old_version)} → {new}"
        if report.old_version is not None
        else f"{new} (first release, scanned alone)"
    )
    yield f"{terminal(report.package)} {versions}  ({report.ecosystem.value})"
    yield f"VERDICT: {report.severity.value.upper()}   score {report.score}/100"
    for reason in report.reasons:
        yield f"  why: {terminal(reason)}"
    counts = report.files
    yield (
        f"files: {counts.added} added, {counts.removed} removed, {counts.changed} changed"
        + (
            f"   artifacts: {', '.join(map(terminal, report.artifacts))}"
            if report.artifacts
            else ""
        )
    )
    several = len(report.artifacts) > 1
    if not report.findings:
        yield ""
        yield (
            "No findings beyond those allowed or suppressed below."
            if report.suppressed
            else "No findings: nothing new that runs at install, reaches out, or changed hands."
        )
    for severity in sorted({f.severity for f in report.findings}, reverse=True):
        group = [f for f in report.findings if f.severity is severity]
        yield ""
        yield f"{severity.value.upper()} ({len(group)})"
        for finding in group:
            # The fingerprint is what `suppress = ["RULE@FINGERPRINT"]` takes to accept it.
            yield (
                f"  {terminal(finding.rule)}  {_where(finding, several)}"
                f"  fp:{terminal(finding.fingerprint)}"
            )
            yield f"    {terminal(finding.message)}"
            if finding.evidence:
                yield f"    > {terminal(finding.evidence)}"
    if report.suppressed:
        yield ""
        yield f"ALLOWED OR SUPPRESSED ({len(report.suppressed)}), not scored"
        for item in report.suppressed:
            finding = item.finding
            yield (
                f"  {terminal(finding.rule)}  {_where(finding, several)}"
                f"  fp:{terminal(finding.fingerprint)}"
                f"  ({finding.severity.value}, {terminal(item.by)})"
            )
            yield f"    {terminal(finding.message)}"
    for failure in report.rule_failures:
        yield f"rule {terminal(failure.rule)} failed: {terminal(failure.error)}"
    for link in report.links:
        yield f"link: {terminal(link)}"


def render_text(report: Report) -> str:
    """The report as plain text."""
    return "\n".join(_lines(report)) + "\n"
