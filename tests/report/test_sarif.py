"""The SARIF report: valid against the SARIF 2.1.0 schema and usable by GitHub code scanning."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.notify.reports import critical_report
from tests.support import packages
from tests.support.stores import make_report
from watcher.models import Ecosystem, Finding, Report, RuleFailure, Severity, Suppressed
from watcher.pipeline import diff_local, scan_local
from watcher.report import RENDERERS
from watcher.report.sarif import render_sarif, sarif_dict
from watcher.rules import REGISTRY

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json"


@cache
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def assert_valid_sarif(document: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _strutil_report(tmp_path: Path) -> Report:
    old, new = tmp_path / "old.tgz", tmp_path / "new.tgz"
    old.write_bytes(packages.strutil_2_1_3().tarball())
    new.write_bytes(packages.strutil_2_1_4().tarball())
    return diff_local(old, new)


def _metadata_and_odd_findings() -> Report:
    report = critical_report()
    odd = (
        Finding(
            rule="x.retired-rule",
            severity=Severity.LOW,
            message="a rule this watcher no longer has",
            category="",
            path="dir with space/ü#frag?.js",
            line=3,
            evidence="x()",
        ),
        Finding(
            rule="code.network",
            severity=Severity.HIGH,
            message="network call in the new dependency",
            category="network",
            path="index.js",
            line=2,
            evidence="fetch('https://c2.attacker.invalid/')",
            artifact="evil-dep-1.0.0.tgz",
            via="evil-dep@1.0.0",
        ),
    )
    return replace(
        report,
        findings=report.findings + odd,
        rule_failures=(RuleFailure(rule="code.obfuscation", error="ValueError: boom"),),
        suppressed=(
            Suppressed(
                Finding(
                    rule="code.new-host",
                    severity=Severity.LOW,
                    message="host api.github.invalid",
                    category="host",
                    path="a.js",
                    line=1,
                    evidence="'api.github.invalid'",
                ),
                by="allow:network:api.github.invalid",
            ),
        ),
    )


def test_real_malicious_diff_is_valid_sarif(tmp_path: Path) -> None:
    assert_valid_sarif(sarif_dict(_strutil_report(tmp_path)))


@pytest.mark.parametrize(
    "report",
    [_metadata_and_odd_findings(), make_report(old=None), make_report(ecosystem=Ecosystem.PYPI)],
    ids=["metadata-unknown-rule-failure-suppressed", "first-release", "pypi"],
)
def test_synthetic_reports_are_valid_sarif(report: Report) -> None:
    document = json.loads(render_sarif(report))
    assert_valid_sarif(document)


def test_the_schema_check_catches_a_broken_log(tmp_path: Path) -> None:
    document = sarif_dict(_strutil_report(tmp_path))
    document["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(AssertionError, match="level"):
        assert_valid_sarif(document)


def test_driver_lists_every_rule_with_github_metadata() -> None:
    run = sarif_dict(make_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "watcher" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert set(ids) >= {rule.id for rule in REGISTRY}
    assert len(ids) == len(set(ids))
    for descriptor in driver["rules"]:
        rule = REGISTRY.get(descriptor["id"]) if descriptor["id"] in REGISTRY else None
        if rule is None:
            continue
        props = descriptor["properties"]
        assert "security" in props["tags"] and rule.category in props["tags"]
        assert 0.0 <= float(props["security-severity"]) <= 10.0
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["help"]["text"]
        assert descriptor["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    install = driver["rules"][ids.index("npm.install-script")]
    assert install["defaultConfiguration"]["level"] == "error"
    assert float(install["properties"]["security-severity"]) >= 7.0


def test_results_meet_github_code_scanning_expectations(tmp_path: Path) -> None:
    report = _strutil_report(tmp_path)
    run = sarif_dict(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report.findings) > 0
    for result, finding in zip(run["results"], report.findings, strict=True):
        assert result["ruleId"] == finding.rule
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["partialFingerprints"] == {"watcherFinding/v1": finding.fingerprint}
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == finding.path
        assert physical["region"]["startLine"] == finding.line >= 1
        assert physical["region"]["snippet"]["text"] == finding.evidence
        assert result["properties"]["package"] == "@watcher-e2e/strutil"
        assert result["properties"]["newVersion"] == "2.1.4"
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["npm.install-script"] == "error"  # high
    assert levels["code.network"] == "error"  # critical: setup.js runs at install time
    assert levels["code.new-host"] == "note"  # low
    expected = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    for result, finding in zip(run["results"], report.findings, strict=True):
        assert result["level"] == expected[finding.severity.value]
    props = run["properties"]
    assert (props["score"], props["severity"]) == (report.score, report.severity.value)
    assert props["oldVersion"] == "2.1.3" and props["reasons"] == list(report.reasons)


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "note"),
    ],
)
def test_level_follows_the_finding_severity(severity: Severity, level: str) -> None:
    report = make_report()
    report = replace(report, findings=(replace(report.findings[0], severity=severity),))
    assert sarif_dict(report)["runs"][0]["results"][0]["level"] == level


def test_metadata_unknown_rule_dependency_and_suppressed_findings() -> None:
    report = _metadata_and_odd_findings()
    run = sarif_dict(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    by_rule = {r["ruleId"]: r for r in results}
    # Every ruleId resolves, including one the registry does not know.
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    assert "x.retired-rule" in {r["id"] for r in rules}
    # A metadata finding points at the manifest and names the package logically.
    meta = by_rule["meta.publisher-changed"]["locations"][0]
    assert meta["physicalLocation"]["artifactLocation"]["uri"] == "package.json"
    assert "region" not in meta["physicalLocation"]
    assert meta["logicalLocations"][0]["fullyQualifiedName"] == "npm:postmark-mcp@1.0.16"
    # Odd characters in a path are URI-encoded, separators kept.
    odd = by_rule["x.retired-rule"]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert odd["uri"] == "dir%20with%20space/%C3%BC%23frag%3F.js"
    # A dependency's finding says so, with `via` and its artifact.
    dep = next(r for r in results if r["properties"].get("via") == "evil-dep@1.0.0")
    assert dep["properties"]["artifact"] == "evil-dep-1.0.0.tgz"
    assert "evil-dep@1.0.0" in dep["message"]["text"]
    # Suppressed findings are present, marked as suppressed; open ones are not.
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1 and suppressed[0]["ruleId"] == "code.new-host"
    assert suppressed[0]["suppressions"][0]["justification"].startswith("allow:")
    # A failed rule is a tool notification, and the run is not reported as fully successful.
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["associatedRule"]["id"] == (
        "code.obfuscation"
    )


def test_first_release_scan_and_category_per_package(tmp_path: Path) -> None:
    artifact = tmp_path / "new.tgz"
    artifact.write_bytes(packages.strutil_2_1_4().tarball())
    document = sarif_dict(scan_local(artifact))
    assert_valid_sarif(document)
    run = document["runs"][0]
    assert run["properties"]["oldVersion"] is None
    assert run["automationDetails"]["id"] == "watcher/npm/@watcher-e2e/strutil/"


def test_registered_as_a_cli_format() -> None:
    assert RENDERERS["sarif"] is render_sarif
