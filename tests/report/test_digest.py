"""The reviewer's digest: identical findings collapsed, what runs first, never-reached apart,
changed files listed and cut past a screenful, the approve command; and the text report."""

from __future__ import annotations

from dataclasses import replace

from tests.support.stores import make_report
from watcher.models import ChangedFile, ChangeKind, Ecosystem, Finding, Severity
from watcher.report.digest import (
    SHOWN_FILES,
    Stage,
    approve_command,
    collapse,
    digest,
    file_counts,
    file_list,
    stage_of,
)
from watcher.report.html import render_html
from watcher.report.markdown import render_markdown
from watcher.report.text import render_text
from watcher.scoring import score

HIGH, MEDIUM, LOW = Severity.HIGH, Severity.MEDIUM, Severity.LOW


def finding(
    rule: str = "code.network",
    severity: Severity = MEDIUM,
    *,
    path: str = "index.js",
    evidence: str = "fetch(url)",
    artifact: str | None = None,
    reach: str | None = "import",
    line: int = 1,
) -> Finding:
    return Finding(
        rule,
        severity,
        f"network request in {path}",
        "network",
        path=path,
        line=line,
        evidence=evidence,
        artifact=artifact,
        reach=reach,
    )


def test_the_same_finding_in_three_platform_wheels_is_one_group() -> None:
    wheels = [f"pkg-1.0-cp312-{p}.whl" for p in ("manylinux_x86_64", "macosx_arm64", "win_amd64")]
    found = [finding(path="pkg/_boot.py", artifact=w) for w in wheels]
    [group] = collapse(found)
    assert group.count == 3
    assert group.places() == ("pkg/_boot.py:1 [in 3 artifacts]",)
    assert group.places(several_artifacts=False) == ("pkg/_boot.py:1",)
    moved = [*found, finding(path="pkg/_other.py", artifact=wheels[0])]
    assert collapse(moved)[0].places() == (
        "pkg/_boot.py:1 [in 3 artifacts]",
        f"pkg/_other.py:1 [{wheels[0]}]",
    )


def test_findings_differing_in_rule_evidence_or_severity_stay_apart() -> None:
    found = [
        finding(),
        finding(path="b.js"),  # same evidence elsewhere: same group
        finding(evidence="fetch(other)"),
        finding(rule="code.process-exec"),
        finding(severity=HIGH),
    ]
    assert [g.count for g in collapse(found)] == [2, 1, 1, 1]


def test_install_time_first_then_import_then_the_rest_then_unreached() -> None:
    found = [
        finding("meta.publisher-changed", HIGH, path="", reach=None, evidence="alice → mallory"),
        finding("code.network", LOW, path="tests/t.js", reach="shipped"),
        finding("code.env-access", MEDIUM, path="lib/a.js", reach="import", evidence="env"),
        finding("code.network", LOW, path="lib/b.js", reach="import"),
        finding("code.network", HIGH, path="setup.js", reach="install"),
    ]
    sections = digest(found).sections
    assert [s.stage for s in sections] == [
        Stage.INSTALL,
        Stage.IMPORT,
        Stage.OTHER,
        Stage.UNREACHED,
    ]
    # Most severe first within a stage.
    assert [g.first.path for g in sections[1].groups] == ["lib/a.js", "lib/b.js"]


def test_only_low_findings_in_shipped_files_are_listed_apart() -> None:
    # A data file the module graph never loads may still be read by what runs (an agent's
    # instructions): above low it stays with the rest.
    assert stage_of(finding("mcp.x", LOW, reach="shipped")) is Stage.UNREACHED
    assert stage_of(finding("ai.x", MEDIUM, reach="shipped")) is Stage.OTHER
    assert stage_of(finding(reach=None)) is Stage.OTHER
    hook = finding("npm.install-script", LOW, path="package.json", reach="shipped")
    assert stage_of(replace(hook, category="install-hook")) is Stage.INSTALL
    assert digest([finding(reach="import")]).unreached is None


def test_never_reached_findings_never_raise_the_verdict_above_low() -> None:
    # What the engine leaves in never-run code: at most low, in every category, however many.
    categories = ("network", "exec", "env", "secrets", "install-hook", "obfuscation", "exfil")
    found = [
        replace(finding("r", LOW, path=f"tests/{c}.py", reach="shipped"), category=c)
        for c in categories
        for _ in range(5)
    ]
    verdict = score(found)
    assert verdict.severity is LOW and verdict.reasons == ()


def test_changed_files_new_code_first_and_cut_past_a_screenful() -> None:
    files = [ChangedFile(f"lib/m{i:02}.js", ChangeKind.MODIFIED, i, 1) for i in range(30)]
    files.append(ChangedFile("lib/new.js", ChangeKind.ADDED, 12, 0))
    files.append(ChangedFile("old.js", ChangeKind.REMOVED, 0, 40))
    listing = file_list(files)
    assert len(listing.shown) + 1 == SHOWN_FILES  # the "… and N more" line is the 25th
    assert listing.shown[0].path == "lib/new.js"
    assert listing.more == len(files) - len(listing.shown)
    short = file_list(files[:5])
    assert short.more == 0 and len(short.shown) == 5
    assert file_counts(ChangedFile("a", ChangeKind.MODIFIED, 3, 2)) == "+3 −2"
    assert file_counts(ChangedFile("a.so", ChangeKind.ADDED, binary=True)) == "binary"
    assert "rewritten" in file_counts(ChangedFile("a", ChangeKind.MODIFIED, 9, rewritten=True))


def test_approve_command() -> None:
    assert approve_command(Ecosystem.NPM, "@a/b", "1.0.0") == "watcher approve @a/b 1.0.0"
    assert approve_command(Ecosystem.NPM, "mcp", "2.0.0") == (
        "watcher approve mcp 2.0.0 --ecosystem npm"
    )
    assert approve_command(Ecosystem.PYPI, "x", "1 $(id)") == (
        "watcher approve x '1 $(id)' --ecosystem pypi"
    )


def test_text_report_shows_the_digest_and_the_changed_files() -> None:
    wheels = [f"pkg-1.0-{p}.whl" for p in ("linux", "mac", "win", "musl")]
    found = (
        *(finding(path="pkg/_boot.py", artifact=w, reach="import") for w in wheels),
        finding("code.network", LOW, path="tests/t.py", reach="shipped", evidence="\x1b[2J"),
    )
    files = tuple(ChangedFile(f"f{i:02}.py", ChangeKind.ADDED, i, 0) for i in range(40))
    report = replace(make_report(), findings=found, artifacts=tuple(wheels), changed_files=files)
    text = render_text(report)
    assert "RUNS AT IMPORT OR LOAD TIME (4)" in text
    assert text.count("code.network  pkg/_boot.py") == 1 and "×4" in text
    assert "    in: pkg/_boot.py:1 [in 4 artifacts]\n" in text
    apart = text.index("NOT LOADED BY ANYTHING THE INSTALLER OR THE PACKAGE RUNS (1)")
    assert apart > text.index("RUNS AT IMPORT")
    assert "\x1b" not in text and "\\x1b[2J" in text
    assert "CHANGED FILES (40)" in text and "  A f00.py  +0 −0" in text
    assert "  … and 16 more" in text and "f39.py" not in text


def test_markdown_and_html_list_the_changed_files_escaped() -> None:
    hostile = "lib/\u202eevil|x.js"
    files = (
        ChangedFile(hostile, ChangeKind.ADDED, 3, 0),
        ChangedFile("a.js", ChangeKind.MODIFIED, 1, 1),
    )
    report = replace(make_report(), changed_files=files)
    markdown = render_markdown(report)
    assert "Changed files (2)" in markdown and "| M | a.js | +1 −1 |" in markdown
    assert "evil\\|x.js" in markdown
    html = render_html(report)
    assert "Changed files (2)" in html and "\u202e" not in html and "⟨U+202E⟩" in html
