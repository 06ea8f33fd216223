"""The terminal report: the verdict first, then findings by severity with their evidence.

Written for a reviewer who has thirty seconds: what is it, how bad, and the exact lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.models import Finding, Report


def _where(finding: Finding, several_artifacts: bool) -> str:
    place = finding.path or "(metadata)"
    if finding.via:
        place = f"{finding.via}: {place}"
    if finding.line is not None:
        place += f":{finding.line}"
    if finding.artifact and several_artifacts:
        place += f"  [{finding.artifact}]"
    return place


def _lines(report: Report) -> Iterator[str]:
    versions = (
        f"{report.old_version} → {report.new_version}"
        if report.old_version is not None
        else f"{report.new_version} (first release, scanned alone)"
    )
    yield f"{report.package} {versions}  ({report.ecosystem.value})"
    yield f"VERDICT: {report.severity.value.upper()}   score {report.score}/100"
    for reason in report.reasons:
        yield f"  why: {reason}"
    counts = report.files
    yield (
        f"files: {counts.added} added, {counts.removed} removed, {counts.changed} changed"
        + (f"   artifacts: {', '.join(report.artifacts)}" if report.artifacts else "")
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
            yield f"  {finding.rule}  {_where(finding, several)}  fp:{finding.fingerprint}"
            yield f"    {finding.message}"
            if finding.evidence:
                yield f"    > {finding.evidence}"
    if report.suppressed:
        yield ""
        yield f"ALLOWED OR SUPPRESSED ({len(report.suppressed)}), not scored"
        for item in report.suppressed:
            finding = item.finding
            yield (
                f"  {finding.rule}  {_where(finding, several)}  fp:{finding.fingerprint}"
                f"  ({finding.severity.value}, {item.by})"
            )
            yield f"    {finding.message}"
    for failure in report.rule_failures:
        yield f"rule {failure.rule} failed: {failure.error}"
    for link in report.links:
        yield f"link: {link}"


def render_text(report: Report) -> str:
    """The report as plain text."""
    return "\n".join(_lines(report)) + "\n"
