"""The terminal report: the verdict first, then findings by severity with their evidence.

Written for a reviewer who has thirty seconds: what is it, how bad, and the exact lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.escape import terminal
from watcher.models import Finding, Report
from watcher.report.digest import (
    Section,
    file_counts,
    file_list,
    file_mark,
    report_digest,
    shown_places,
)


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
    # Prefixed: a package named "VERDICT: NONE" must not start a line that reads as a verdict.
    yield f"watcher: {terminal(report.package)} {versions}  ({report.ecosystem.value})"
    for path in report.dependency_paths:
        yield f"dependency of: {terminal(path)}"
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
    yield from _digest_lines(report, several)
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
    yield from _changed_file_lines(report)
    for failure in report.rule_failures:
        yield f"rule {terminal(failure.rule)} failed: {terminal(failure.error)}"
    for link in report.links:
        yield f"link: {terminal(link)}"


#: Groups of never-reached findings shown before "… and N more" (all are in the JSON).
SHOWN_UNREACHED = 20


def _section_lines(section: Section, several: bool, brief: bool = False) -> Iterator[str]:
    groups = section.groups[:SHOWN_UNREACHED] if brief else section.groups
    for group in groups:
        finding = group.first
        count = f"  ×{group.count}" if group.count > 1 else ""
        # The fingerprint is what `suppress = ["RULE@FINGERPRINT"]` takes to accept it.
        yield (
            f"  {finding.severity.value.upper()}  {finding.rule}  "
            f"{_where(finding, several)}  fp:{finding.fingerprint}{count}"
        )
        if not brief:
            yield f"    {terminal(finding.message)}"
        if finding.evidence:
            yield f"    > {terminal(finding.evidence)}"
        if group.count > 1:
            places, more = shown_places(group.places(several))
            tail = f", … and {more} more" if more else ""
            yield f"    in: {terminal(', '.join(places))}{tail}"
    left = sum(g.count for g in section.groups[len(groups) :])
    if left:
        yield f"  … and {left} more (every finding is in --format json)"


def _digest_lines(report: Report, several: bool) -> Iterator[str]:
    """Findings by when their code runs (install, import, the rest), identical ones collapsed;
    those in files nothing loads come last, apart."""
    digest = report_digest(report)
    if digest.unreached is not None and not digest.reached:
        yield ""
        yield "Nothing that runs on install or import has findings."
    for section in digest.reached:
        yield ""
        yield f"{section.stage.title.upper()} ({section.count})"
        yield from _section_lines(section, several)
    apart = digest.unreached
    if apart is not None:
        yield ""
        yield f"{apart.stage.title.upper()} ({apart.count}), at most low"
        yield from _section_lines(apart, several, brief=True)


def _changed_file_lines(report: Report) -> Iterator[str]:
    if not report.changed_files:
        return
    listing = file_list(report.changed_files)
    yield ""
    yield f"CHANGED FILES ({len(report.changed_files)})"
    for change in listing.shown:
        yield f"  {file_mark(change)} {terminal(change.path)}  {file_counts(change)}"
    if listing.more:
        yield f"  … and {listing.more} more"


def render_text(report: Report) -> str:
    """The report as plain text."""
    return "\n".join(_lines(report)) + "\n"
