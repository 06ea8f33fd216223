"""The HTML report in a real headless Chromium: links land on the evidence, nothing runs or loads.

`watcher diff --format html` on a malicious fixture pair whose payload also carries HTML (a
`<script>` and a remote `<img>` inside flagged lines), opened by `tests/e2e/node/
inspect_report.js` (playwright-core driving the system Chromium with JavaScript enabled, every
request recorded and aborted). Skipped only when /usr/bin/chromium is absent; `.ci/run`
installs the Debian `chromium` package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cli import RunWatcher
from tests.support import packages
from tests.support.registries import NODE_DIR

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = NODE_DIR / "inspect_report.js"
PLAYWRIGHT = NODE_DIR / "node_modules" / "playwright-core" / "package.json"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs the Debian `chromium` package (/usr/bin/chromium)"
)

# DEFANGED: the hosts are under .invalid, and the browser aborts every request anyway.
INJECTED = (
    "</td></tr></table><script>document.title='pwned';window.__pwned=1</script>"
    '<img src="https://beacon.attacker.invalid/x.gif">'
)


def _hostile_release() -> packages.NpmRelease:
    """strutil 2.1.4 whose flagged lines also try to break out of the report's HTML."""
    release = packages.strutil_2_1_4()
    setup = packages.STRUTIL_SETUP_JS.replace(
        "const data = JSON.stringify(process.env);",
        f"const data = JSON.stringify(process.env); // {INJECTED}",
    )
    files = {
        **release.files,
        "lib/setup.js": setup,
        # An honest change too, so the page has a file without findings (collapsed).
        "README.md": release.files["README.md"] + "\nSee CHANGELOG.md for changes.\n",
    }
    return replace(release, files=files)


def _ensure_playwright() -> None:
    if PLAYWRIGHT.exists():
        return
    if shutil.which("npm") is None:
        pytest.fail("the browser test needs npm to install playwright-core", pytrace=False)
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not PLAYWRIGHT.exists():
        pytest.fail(f"`npm ci` in {NODE_DIR} failed:\n{result.stderr[-3000:]}", pytrace=False)


def _inspect(page: Path) -> dict[str, Any]:
    _ensure_playwright()
    result = subprocess.run(
        ["node", str(SCRIPT), str(CHROMIUM), str(page)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    value: dict[str, Any] = json.loads(result.stdout)
    return value


@pytest.fixture(scope="module")
def rendered(
    tmp_path_factory: pytest.TempPathFactory, run_watcher_memo: RunWatcher
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(what the browser saw, the JSON report of the same diff, the page's HTML source)."""
    work = tmp_path_factory.mktemp("html-report")
    old, new = work / "old.tgz", work / "new.tgz"
    old.write_bytes(packages.strutil_2_1_3().tarball())
    new.write_bytes(_hostile_release().tarball())
    page = work / "page.html"
    args = ("diff", "--old", str(old), "--new", str(new))
    html_run = run_watcher_memo(*args, "--format", "html", "--output", str(page))
    assert html_run.returncode == 1, html_run.describe()  # critical: exit code unchanged
    assert html_run.stdout == "", html_run.describe()
    json_run = run_watcher_memo(*args, "--format", "json")
    assert json_run.returncode == 1, json_run.describe()
    return _inspect(page), json_run.json(), page.read_text(encoding="utf-8")


def test_one_row_per_finding_each_linked_to_its_highlighted_line(
    rendered: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    dom, report, _ = rendered
    findings = report["findings"]
    assert len(findings) >= 3
    assert [row["rule"] for row in dom["findings"]] == [f["rule"] for f in findings]
    for row, finding, followed in zip(dom["findings"], findings, dom["followed"], strict=True):
        target = row["target"]
        assert target is not None, f"{finding['rule']}: link {row['href']} has no target"
        assert target["tag"] == "tr" and "hit" in target["classes"], target
        assert finding["evidence"].strip("…") in target["codeText"]
        assert finding["rule"] in target["marks"] and finding["message"] in target["marks"]
        assert target["insideOpenDetails"]
        # Clicking the link makes that very line the page's :target.
        assert followed == row["href"].removeprefix("#")
    lines = {(f["path"], f["line"]) for f in findings}
    assert ("lib/setup.js", packages.line_of(packages.STRUTIL_SETUP_JS, "process.env")) in lines


def test_injected_markup_is_inert_text_and_nothing_is_fetched(
    rendered: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    dom, report, source = rendered
    assert dom["pwned"] is False
    assert dom["title"].startswith("watcher: @watcher-e2e/strutil 2.1.4")
    assert dom["scripts"] == 0 and dom["images"] == 0
    assert dom["requests"] == [], dom["requests"]
    assert "default-src 'none'" in dom["csp"]
    # The payload is on the page, as the text a reviewer must see.
    env_row = next(r for r in dom["findings"] if r["rule"] == "code.env-access")
    assert INJECTED in env_row["target"]["codeText"]
    assert "<script>" not in source.lower()


def test_files_without_findings_are_collapsed(
    rendered: tuple[dict[str, Any], dict[str, Any], str],
) -> None:
    dom, _, _ = rendered
    assert any("README.md" in summary for summary in dom["collapsedFiles"])
    assert not any("lib/setup.js" in summary for summary in dom["collapsedFiles"])
