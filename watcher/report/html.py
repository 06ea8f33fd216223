"""The HTML report: one self-contained page a reviewer can look at instead of read.

The verdict and a findings table first; each finding links to its line in the unified diff
below, where added and removed lines are coloured and the lines carrying findings are marked
with the rule and message beside them. Files without findings are collapsed, long diffs trimmed
(never the lines a finding points at).

Everything shown comes from the package under review, i.e. from the attacker: every string is
HTML-escaped, bidi and other control characters are made visible, the page runs no script and a
Content-Security-Policy forbids scripts and every remote load, so a `<script>` in a diff line is
text and opening the page contacts nobody.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watcher import __version__
from watcher.escape import html_plain, html_text
from watcher.models import ArtifactDiff, ChangeKind, FileChange, FileEntry, Finding, Report
from watcher.report.digest import file_counts, file_list, file_mark
from watcher.report.sarif import extra_fields

if TYPE_CHECKING:
    from watcher.pipeline import KeptDiffs

#: Rows (diff lines) shown per file, and per page: a first-release scan of a big package is
#: every line of every file. Lines a finding points at are always shown.
MAX_FILE_ROWS = 600
MAX_PAGE_ROWS = 20_000
#: Characters of one line shown: minified bundles have megabyte lines.
MAX_LINE_CHARS = 2_000
#: Unchanged lines shown around a change, and around a finding's line.
CONTEXT = 3
FINDING_CONTEXT = 2

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)

_STYLE = """
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  margin: 0 auto; padding: 1.5rem; max-width: 1400px; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
h1 code, h2 code { font-size: .95em; }
code, pre, .code { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.muted { color: var(--muted); }
.verdict { display: flex; gap: 1rem; align-items: center; margin: .6rem 0; }
.badge { display: inline-block; padding: .1rem .5rem; border-radius: 1rem; font-weight: 600;
  font-size: .8rem; text-transform: uppercase; border: 1px solid transparent;
  white-space: nowrap; }
.sev-critical { background: #82071e; color: #fff; } .sev-high { background: #cf222e; color: #fff; }
.sev-medium { background: #bf8700; color: #fff; } .sev-low { background: #0969da; color: #fff; }
.sev-none { background: #e6e8eb; color: var(--fg); }
.score { font-size: 1.6rem; font-weight: 700; }
ul.reasons { margin: .3rem 0 1rem; }
table { border-collapse: collapse; width: 100%; }
table.findings th, table.findings td { border: 1px solid var(--line); padding: .3rem .5rem;
  vertical-align: top; text-align: left; }
table.findings th { background: #f6f8fa; }
table.findings td:nth-child(3), table.findings td:nth-child(5) { overflow-wrap: anywhere; }
table.findings td:nth-child(2) { white-space: nowrap; }
.finding-box code { overflow-wrap: anywhere; }
table.findings tr:target { outline: 3px solid #f0b400; }
details.file { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0; }
details.file > summary { padding: .4rem .6rem; background: #f6f8fa; cursor: pointer; }
details.file > .notes, details.file > .trimmed { padding: .4rem .6rem; }
.kind { font-size: .75rem; font-weight: 600; text-transform: uppercase; margin-right: .4rem; }
.kind-added { color: #1a7f37; } .kind-removed { color: #cf222e; } .kind-modified { color: #9a6700; }
.kind-unchanged { color: var(--muted); }
table.diff td { padding: 0 .4rem; vertical-align: top; }
table.diff td.no { width: 1%; min-width: 3ch; text-align: right; color: var(--muted);
  user-select: none; white-space: nowrap; }
table.diff td.code { white-space: pre-wrap; word-break: break-all; width: 70%; }
table.diff td.marks { width: 29%; font: 12px/1.4 system-ui, sans-serif; }
tr.add td.code { background: #dafbe1; } tr.del td.code { background: #ffebe9; }
tr.gap td { background: #f6f8fa; color: var(--muted); text-align: center; font-style: italic; }
tr.hit td { background: #fff8c5; } tr.hit td.code { box-shadow: inset 4px 0 #d4a72c; }
tr.hit:target td, tr.hit:target td.code { background: #ffe58f; }
tr.hit:target { outline: 3px solid #f0b400; }
.mark { display: block; margin: .1rem 0; }
.ctl { background: #ffd8b5; color: #953800; border-radius: 3px; font-size: .85em; }
.cut { color: var(--muted); font-style: italic; }
.finding-box { border-left: 4px solid #d4a72c; background: #fff8c5; padding: .4rem .6rem;
  margin: .4rem 0; }
.finding-box:target { outline: 3px solid #f0b400; }
"""


def _text(value: object) -> str:
    """Attacker-controlled text as element content: escaped, control and bidi characters
    shown as a marked `⟨U+202E⟩` so a line cannot read differently from what it is."""
    return html_text(value)


def _code(value: str) -> str:
    """Text shown as code (a file name, evidence): like `_text`."""
    return html_text(value)


def _source(value: str) -> str:
    """A line of the diff: like `_text`, keeping the tabs that indent it."""
    return html_text(value, keep_tabs=True)


def _badge(severity: str) -> str:
    return f'<span class="badge sev-{_text(severity)}">{_text(severity)}</span>'


def _location(finding: Finding) -> str:
    place = finding.path or "registry metadata"
    if finding.line is not None:
        place += f":{finding.line}"
    if finding.via:
        place = f"{finding.via}: {place}"
    return place


def _extras(finding: Finding, skip: Iterable[str] = ()) -> str:
    fields = {k: v for k, v in extra_fields(finding).items() if k not in set(skip)}
    if not fields:
        return ""
    parts = ", ".join(f"{_text(k)}: <code>{_code(str(v))}</code>" for k, v in fields.items())
    return f'<div class="muted">{parts}</div>'


# --- diff rows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    #: Position in the file's full diff: a jump between two shown rows means lines were skipped.
    seq: int
    #: " " unchanged, "+" added, "-" removed.
    tag: str
    old_no: int | None
    new_no: int | None
    text: str


def _lines(entry: FileEntry | None) -> list[str]:
    return entry.text.splitlines() if entry is not None else []


def _rows(change: FileChange) -> list[_Row]:
    """Every line of the file's diff (binary files have none)."""
    if change.kind is ChangeKind.ADDED or change.rewritten:
        return [_Row(i, "+", None, i + 1, t) for i, t in enumerate(_lines(change.new))]
    if change.kind is ChangeKind.REMOVED:
        return [_Row(i, "-", i + 1, None, t) for i, t in enumerate(_lines(change.old))]
    return _modified_rows(_lines(change.old), _lines(change.new))


def _modified_rows(a: list[str], b: list[str]) -> list[_Row]:
    # Same alignment as watcher.diff.tree (common head and tail cut, then difflib), so the
    # line numbers shown are the ones the findings carry.
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    rows: list[_Row] = []

    def same(i: int, j: int, count: int) -> None:
        for k in range(count):
            rows.append(_Row(len(rows), " ", i + k + 1, j + k + 1, b[j + k]))

    same(0, 0, head)
    matcher = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail])
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            same(head + i1, head + j1, i2 - i1)
            continue
        for i in range(head + i1, head + i2):
            rows.append(_Row(len(rows), "-", i + 1, None, a[i]))
        for j in range(head + j1, head + j2):
            rows.append(_Row(len(rows), "+", None, j + 1, b[j]))
    same(len(a) - tail, len(b) - tail, tail)
    return rows


def _unchanged_rows(entry: FileEntry) -> list[_Row]:
    return [_Row(i, " ", i + 1, i + 1, t) for i, t in enumerate(_lines(entry))]


def _near(indices: Iterable[int], width: int, size: int) -> set[int]:
    near: set[int] = set()
    for i in indices:
        near.update(range(max(0, i - width), min(size, i + width + 1)))
    return near


def _select(rows: Sequence[_Row], lines: set[int], budget: int) -> tuple[list[_Row], int]:
    """The rows to show: changes with context, findings' lines always; and how many were cut."""
    changed = [i for i, r in enumerate(rows) if r.tag != " "]
    hits = [i for i, r in enumerate(rows) if r.tag != "-" and r.new_no in lines]
    must = _near(hits, FINDING_CONTEXT, len(rows))
    wanted = sorted(_near(changed, CONTEXT, len(rows)) | must)
    if len(wanted) <= budget:
        return [rows[i] for i in wanted], 0
    room = max(0, budget - len(must))
    extra = [i for i in wanted if i not in must][:room]
    chosen = sorted(must | set(extra))
    return [rows[i] for i in chosen], len(wanted) - len(chosen)


def _clip(text: str, evidence: Iterable[str]) -> str:
    """A long line cut to MAX_LINE_CHARS, around the evidence when a finding quotes it."""
    if len(text) <= MAX_LINE_CHARS:
        return _source(text)
    start = 0
    for quote in evidence:
        # The middle of an excerpt is what the rule matched; its ends may be repetitive filler.
        quote = quote.strip("…").strip()
        middle = len(quote) // 2
        at = text.find(quote[max(0, middle - 20) : middle + 20])
        if at >= 0:
            start = max(0, min(at - MAX_LINE_CHARS // 2, len(text) - MAX_LINE_CHARS))
            break
    end = start + MAX_LINE_CHARS
    before = f'<span class="cut">… {start} characters … </span>' if start else ""
    after = f'<span class="cut"> … {len(text) - end} more characters</span>'
    return before + _source(text[start:end]) + after


# --- the page ----------------------------------------------------------------------------------


@dataclass
class _Page:
    report: Report
    #: Finding index -> the element id its link targets.
    targets: dict[int, str] = field(default_factory=dict)
    rows_left: int = MAX_PAGE_ROWS


def _finding_anchor(index: int) -> str:
    return f"finding-{index}"


def _row_anchor(index: int) -> str:
    return f"finding-row-{index}"


def _place_findings(
    report: Report, diffs: Sequence[ArtifactDiff]
) -> dict[tuple[int, str], list[int]]:
    """Finding indices by (artifact index, path) of the file section that will show them."""
    placed: dict[tuple[int, str], list[int]] = {}
    for index, finding in enumerate(report.findings):
        if finding.path is None or finding.via:
            continue  # release metadata, or a file of a dependency: not in this diff
        for a, diff in enumerate(diffs):
            if finding.artifact and finding.artifact != diff.label and len(diffs) > 1:
                continue
            paths = {c.path for c in diff.changes} | set(diff.new.files)
            if finding.path in paths:
                placed.setdefault((a, finding.path), []).append(index)
                break
    return placed


def _file_section(
    page: _Page, file_id: str, change: FileChange, kind: str, indices: Sequence[int]
) -> Iterator[str]:
    report = page.report
    findings = [(i, report.findings[i]) for i in indices]
    entry = change.new or change.old
    binary = entry is not None and entry.is_binary
    if kind == "unchanged":
        rows = _unchanged_rows(change.new) if change.new and not binary else []
    else:
        rows = [] if binary else _rows(change)
    by_line: dict[int, list[tuple[int, Finding]]] = {}
    for i, f in findings:
        if f.line is not None:
            by_line.setdefault(f.line, []).append((i, f))
    budget = min(MAX_FILE_ROWS, page.rows_left)
    shown, cut = _select(rows, set(by_line), budget)
    page.rows_left = max(0, page.rows_left - len(shown))
    added = sum(r.tag == "+" for r in rows)
    removed = sum(r.tag == "-" for r in rows)

    yield f'<details class="file" id="{file_id}"{" open" if findings else ""}>'
    counts = f"+{added} −{removed}" if rows else ("binary" if binary else "empty")
    plural = "s" * (len(findings) != 1)
    flagged = f' · <span class="badge sev-high">{len(findings)} finding{plural}</span>'
    yield (
        f'<summary><span class="kind kind-{kind}">{kind}</span><code>{_code(change.path)}'
        f'</code> <span class="muted">{counts}</span>{flagged if findings else ""}</summary>'
    )
    shown_lines = {r.new_no for r in shown if r.tag != "-"}
    loose = [(i, f) for i, f in findings if f.line is None or f.line not in shown_lines]
    if binary and entry is not None:
        yield (
            f'<div class="notes muted">binary file, {entry.size} bytes, sha256 '
            f"<code>{entry.sha256}</code></div>"
        )
    if change.rewritten:
        yield '<div class="notes muted">too large to diff: the whole new file is shown as added'
        yield "</div>"
    if kind == "unchanged":
        yield '<div class="notes muted">unchanged file, shown for the findings in it</div>'
    for i, f in loose:
        page.targets[i] = _finding_anchor(i)
        yield (
            f'<div class="notes"><div class="finding-box" id="{_finding_anchor(i)}">'
            f'{_badge(f.severity.value)} <a href="#{_row_anchor(i)}"><code>{_text(f.rule)}'
            f"</code></a> {_text(f.message)}"
            + (f"<br><code>{_code(f.evidence)}</code>" if f.evidence else "")
            + "</div></div>"
        )
    if shown:
        yield '<table class="diff">'
        previous = -1
        for row in shown:
            if row.seq != previous + 1:
                yield f'<tr class="gap"><td colspan="4">⋯ {row.seq - previous - 1} lines</td></tr>'
            previous = row.seq
            yield _diff_row(page, file_id, row, by_line.get(row.new_no or 0, []))
        if previous != len(rows) - 1:
            yield f'<tr class="gap"><td colspan="4">⋯ {len(rows) - previous - 1} lines</td></tr>'
        yield "</table>"
    if cut:
        yield (
            f'<div class="trimmed muted">Diff trimmed: {cut} lines not shown (at most '
            f"{MAX_FILE_ROWS} per file and {MAX_PAGE_ROWS} per page; the lines with findings are "
            "always shown). Run <code>watcher diff</code> for the full diff.</div>"
        )
    yield "</details>"


def _diff_row(page: _Page, file_id: str, row: _Row, hits: Sequence[tuple[int, Finding]]) -> str:
    css = {"+": "add", "-": "del", " ": "ctx"}[row.tag]
    hits = hits if row.tag != "-" else []
    attrs = f' class="{css}{" hit" if hits else ""}"'
    if row.tag != "-" and row.new_no is not None:
        attrs += f' id="{file_id}-L{row.new_no}"'
    marks = ""
    for i, f in hits:
        page.targets[i] = f"{file_id}-L{row.new_no}"
        marks += (
            f'<span class="mark">{_badge(f.severity.value)} <a href="#{_row_anchor(i)}">'
            f"<code>{_text(f.rule)}</code></a> {_text(f.message)}</span>"
        )
    code = _clip(row.text, [f.evidence for _, f in hits if f.evidence])
    old_no = row.old_no if row.old_no is not None else ""
    new_no = row.new_no if row.new_no is not None and row.tag != "-" else ""
    return (
        f'<tr{attrs}><td class="no">{old_no}</td><td class="no">{new_no}</td>'
        f'<td class="code">{_text(row.tag)} {code}</td><td class="marks">{marks}</td></tr>'
    )


def _diff_sections(page: _Page, diffs: Sequence[ArtifactDiff]) -> Iterator[str]:
    placed = _place_findings(page.report, diffs)
    for a, diff in enumerate(diffs):
        old = diff.old.filename if diff.old is not None else "(nothing: first release)"
        yield f"<h2>Diff of <code>{_code(diff.new.filename)}</code></h2>"
        yield f'<p class="muted">against <code>{_code(old)}</code></p>'
        changed = {c.path for c in diff.changes}
        sections: list[tuple[FileChange, str]] = [(c, c.kind.value) for c in diff.changes]
        for (pa, path), _ in sorted(placed.items()):
            if pa == a and path not in changed and path in diff.new.files:
                entry = diff.new.files[path]
                sections.append((FileChange(path, ChangeKind.MODIFIED, entry, entry), "unchanged"))
        if not sections:
            yield '<p class="muted">No file changed.</p>'
        # Files with findings first: they are what the reviewer came for.
        sections.sort(key=lambda s: (not placed.get((a, s[0].path)), s[0].path))
        for f, (change, kind) in enumerate(sections):
            yield from _file_section(
                page, f"a{a}-f{f}", change, kind, placed.get((a, change.path), [])
            )


def _header(report: Report) -> Iterator[str]:
    old = report.old_version if report.old_version is not None else "(first release)"
    yield (
        f"<h1><code>{_code(report.package)}</code> {_text(old)} → {_text(report.new_version)} "
        f'<span class="muted">({_text(report.ecosystem.value)})</span></h1>'
    )
    yield (
        f'<div class="verdict">{_badge(report.severity.value)}'
        f'<span class="score">{report.score}<span class="muted">/100</span></span></div>'
    )
    if report.reasons:
        yield '<ul class="reasons">'
        for reason in report.reasons:
            yield f"<li>{_text(reason)}</li>"
        yield "</ul>"
    c, m = report.files, report.metadata
    publisher = {True: "changed", False: "unchanged", None: "unknown"}[m.publisher_changed]
    yield (
        f'<p class="muted">Files: {c.added} added, {c.removed} removed, {c.changed} changed'
        f" · publisher {publisher} · provenance {_text(m.provenance.value)}"
        + (" · version jump" if m.version_jump else "")
        + (
            " · artifacts: " + ", ".join(f"<code>{_code(a)}</code>" for a in report.artifacts)
            if report.artifacts
            else ""
        )
        + "</p>"
    )
    for failure in report.rule_failures:
        yield (
            f'<p class="finding-box">rule <code>{_text(failure.rule)}</code> failed: '
            f"{_text(failure.error)}</p>"
        )
    links = [link for link in report.links if link.startswith(("https://", "http://"))]
    if links:
        yield (
            "<p>"
            + " · ".join(
                f'<a href="{html_plain(link)}" rel="noreferrer noopener">{_text(link)}</a>'
                for link in links
            )
            + "</p>"
        )


def _findings_table(page: _Page) -> Iterator[str]:
    report = page.report
    yield f"<h2>Findings ({len(report.findings)})</h2>"
    if not report.findings:
        yield (
            "<p>No findings beyond those allowed or suppressed.</p>"
            if report.suppressed
            else "<p>No findings: nothing new that runs at install, reaches out, or changed "
            "hands.</p>"
        )
        return
    several = len(report.artifacts) > 1
    yield '<table class="findings" id="findings">'
    yield (
        "<thead><tr><th>Severity</th><th>Rule</th><th>Where</th><th>Finding</th>"
        "<th>Evidence</th></tr></thead><tbody>"
    )
    for i, f in enumerate(report.findings):
        where = _text(_location(f))
        if f.artifact and several:
            where += f' <span class="muted">[{_code(f.artifact)}]</span>'
        evidence = f"<code>{_code(f.evidence)}</code>" if f.evidence else ""
        yield (
            f'<tr id="{_row_anchor(i)}" class="finding"><td>{_badge(f.severity.value)}</td>'
            f"<td><code>{_text(f.rule)}</code></td>"
            f'<td><a class="goto" href="#{page.targets[i]}">{where}</a></td>'
            f"<td>{_text(f.message)}"
            f'<div class="muted">fingerprint <code>{f.fingerprint}</code></div>'
            f"{_extras(f, skip=('via',))}</td><td>{evidence}</td></tr>"
        )
    yield "</tbody></table>"


def _elsewhere(page: _Page) -> Iterator[str]:
    """Findings no file section shows: release metadata, dependencies, files not in the diff."""
    rest = [(i, f) for i, f in enumerate(page.report.findings) if i not in page.targets]
    if not rest:
        return
    yield "<h2>Release metadata and other findings</h2>"
    for i, f in rest:
        page.targets[i] = _finding_anchor(i)
        yield (
            f'<div class="finding-box" id="{_finding_anchor(i)}">{_badge(f.severity.value)} '
            f'<a href="#{_row_anchor(i)}"><code>{_text(f.rule)}</code></a> '
            f'{_text(f.message)} <span class="muted">({_text(_location(f))})</span>'
            + (f"<br><code>{_code(f.evidence)}</code>" if f.evidence else "")
            + "</div>"
        )


def _suppressed(report: Report) -> Iterator[str]:
    if not report.suppressed:
        return
    yield '<details class="file"><summary>'
    yield f"Allowed or suppressed ({len(report.suppressed)}), not scored</summary>"
    yield '<table class="findings"><thead><tr><th>Severity</th><th>Rule</th><th>Where</th>'
    yield "<th>Finding</th><th>By</th></tr></thead><tbody>"
    for item in report.suppressed:
        f = item.finding
        yield (
            f"<tr><td>{_badge(f.severity.value)}</td><td><code>{_text(f.rule)}</code></td>"
            f"<td>{_text(_location(f))}</td><td>{_text(f.message)}"
            + (f"<br><code>{_code(f.evidence)}</code>" if f.evidence else "")
            + f"</td><td><code>{_code(item.by)}</code></td></tr>"
        )
    yield "</tbody></table></details>"


#: Changed files listed on the page; the rest are counted (a page must stay openable).
HTML_FILES = 2000


def _changed_files(report: Report) -> Iterator[str]:
    if not report.changed_files:
        return
    listing = file_list(report.changed_files, HTML_FILES)
    yield '<details class="file"><summary>'
    yield f"Changed files ({len(report.changed_files)})</summary>"
    yield '<table class="findings"><thead><tr><th></th><th>File</th><th>Lines</th>'
    yield "</tr></thead><tbody>"
    for change in listing.shown:
        yield (
            f"<tr><td>{_text(file_mark(change))}</td><td><code>{_code(change.path)}</code></td>"
            f"<td>{_text(file_counts(change))}</td></tr>"
        )
    if listing.more:
        yield f'<tr><td></td><td colspan="2">… and {listing.more} more</td></tr>'
    yield "</tbody></table></details>"


def render_html(report: Report, diffs: Sequence[ArtifactDiff] = ()) -> str:
    """The report as one self-contained HTML page; `diffs` are the artifact diffs behind it.

    Without `diffs` (e.g. a stored report) the page still links every finding, to its
    evidence in a list below the table instead of to its line in the diff.
    """
    page = _Page(report)
    # Diff sections are built first: they decide where each finding's link points.
    body = list(_diff_sections(page, diffs))
    body = list(_elsewhere(page)) + body
    title = f"watcher: {report.package} {report.new_version} — {report.severity.value}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_plain(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head><body>",
        *_header(report),
        *_findings_table(page),
        *_suppressed(report),
        *_changed_files(report),
        *body,
        f'<p class="muted">Generated by watcher {_text(__version__)}. Nothing in this page '
        "runs code or loads anything from the network.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def diffs_for(kept: KeptDiffs, report: Report) -> Sequence[ArtifactDiff]:
    """The diffs `watcher.pipeline.keep_diffs` kept for this report's release pair."""
    key = (report.ecosystem, report.package, report.old_version, report.new_version)
    return kept.get(key, ())
