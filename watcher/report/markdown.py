"""The Markdown report, for pull-request comments and tickets."""

from __future__ import annotations

from collections.abc import Iterator

from watcher.escape import md_code, md_link, md_text
from watcher.models import Report
from watcher.report.digest import file_counts, file_list, file_mark


def _cell(text: str | None) -> str:
    return md_text(text or "")


def _code(text: str | None) -> str:
    return md_code(text or "")


def _lines(report: Report) -> Iterator[str]:
    old = report.old_version if report.old_version is not None else "(first release)"
    yield (
        f"## watcher: {md_code(report.package, in_table=False)} {md_text(old)} → "
        f"{md_text(report.new_version)} ({report.ecosystem.value})"
    )
    yield ""
    for path in report.dependency_paths:
        yield f"Dependency of: {_code(path)}  "
    yield f"**Verdict: {report.severity.value.upper()}** — score {report.score}/100"
    for reason in report.reasons:
        yield f"- {md_text(reason)}"
    yield ""
    c = report.files
    yield f"Files: {c.added} added, {c.removed} removed, {c.changed} changed."
    yield ""
    if not report.findings:
        yield (
            "No findings beyond those allowed or suppressed."
            if report.suppressed
            else "No findings."
        )
    else:
        yield "| Severity | Rule | Location | Finding | Evidence | Fingerprint |"
        yield "|---|---|---|---|---|---|"
    for f in report.findings:
        where = f.path or "metadata"
        if f.via:
            where = f"{f.via}: {where}"
        if f.line is not None:
            where += f":{f.line}"
        if f.artifact and len(report.artifacts) > 1:
            where += f" ({f.artifact})"
        yield (
            f"| {f.severity.value} | {_code(f.rule)} | {_cell(where)} | {_cell(f.message)} "
            f"| {_code(f.evidence)} | {_code(f.fingerprint)} |"
        )
    if report.suppressed:
        yield ""
        summary = f"Allowed or suppressed ({len(report.suppressed)}), not scored"
        yield f"<details><summary>{summary}</summary>"
        yield ""
        yield "| Severity | Rule | Location | Finding | Fingerprint | By |"
        yield "|---|---|---|---|---|---|"
        for item in report.suppressed:
            f = item.finding
            where = (f.path or "metadata") + (f":{f.line}" if f.line is not None else "")
            yield (
                f"| {f.severity.value} | {_code(f.rule)} | {_cell(where)} | {_cell(f.message)} "
                f"| {_code(f.fingerprint)} | {_code(item.by)} |"
            )
        yield ""
        yield "</details>"
    yield from _changed_files(report)
    for link in report.links:
        yield f"\n{md_link(link)}"


def _changed_files(report: Report) -> Iterator[str]:
    if not report.changed_files:
        return
    listing = file_list(report.changed_files)
    yield ""
    yield f"<details><summary>Changed files ({len(report.changed_files)})</summary>"
    yield ""
    yield "| | File | Lines |"
    yield "|---|---|---|"
    for change in listing.shown:
        yield f"| {file_mark(change)} | {_cell(change.path)} | {file_counts(change)} |"
    if listing.more:
        yield f"| | … and {listing.more} more | |"
    yield ""
    yield "</details>"


def render_markdown(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    return "\n".join(_lines(report)) + "\n"
