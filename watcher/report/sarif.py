"""The SARIF 2.1.0 report, for GitHub code scanning and other SARIF consumers.

One run per report. `tool.driver.rules` lists every registered rule (plus any rule id a finding
names that the registry does not know, e.g. from a stored report of an older rule set), so that
every result's `ruleId` resolves. Locations are paths inside the package, not inside the
repository that uploads the log: GitHub shows such alerts without a source snippet, which is why
each result carries the evidence line as `region.snippet`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from watcher import __version__
from watcher.escape import json_document, sarif_message
from watcher.models import Ecosystem, Finding, Report, Severity

if TYPE_CHECKING:
    from watcher.rules import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: SARIF result levels by finding severity (GitHub: error / warning / note).
LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.NONE: "note",
}

#: GitHub reads `security-severity` (0.0-10.0) to rank security alerts: > 9.0 is critical,
#: 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low. One value per rule, at its default severity.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.NONE: "0.0",
}

#: Where a release-metadata finding (no file) points: the file that names the package.
MANIFEST_PATH: dict[Ecosystem, str] = {Ecosystem.NPM: "package.json", Ecosystem.PYPI: "PKG-INFO"}

#: Finding fields written explicitly; any other field (added later) goes into `properties`.
_KNOWN_FINDING_FIELDS = frozenset(
    {"rule", "severity", "message", "category", "path", "line", "evidence", "artifact"}
)


def _information_uri() -> str | None:
    """The project's home page from the installed package metadata, when it declares one."""
    try:
        metadata = importlib.metadata.metadata("watcher")
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in metadata.get_all("Project-URL") or ():
        label, _, url = str(entry).partition(",")
        if label.strip().lower() in {"homepage", "repository", "source"} and url.strip():
            return url.strip()
    home = str(metadata["Home-page"] or "").strip()
    return home or None


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    ecosystems = ", ".join(sorted(e.value for e in rule.ecosystems))
    help_text = (
        f"{rule.summary}. Default severity: {rule.severity.value}; category: {rule.category}; "
        f"ecosystems: {ecosystems}. Confirm the finding from its evidence line in the new "
        "release. If the signal is reviewed and expected, allow it in the subscription "
        "(`allow`), or accept this one finding by its fingerprint (`suppress`)."
    )
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "tags": ["security", "supply-chain", rule.category],
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "medium",
            "category": rule.category,
            "ecosystems": sorted(e.value for e in rule.ecosystems),
        },
    }


def _unknown_rule_descriptor(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.rule,
        "name": finding.rule,
        "shortDescription": {"text": f"{finding.rule} (not in this watcher's rule set)"},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
        "properties": {
            "tags": ["security", "supply-chain", *([finding.category] if finding.category else [])],
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "category": finding.category,
        },
    }


def rule_descriptors(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """Every registered rule, then any rule a finding names that is not registered."""
    # Imported here: loading the rule set (tree-sitter grammars) is not free, and the renderers
    # package is also imported by the store and the notifiers, which need no rules.
    from watcher.rules import REGISTRY

    descriptors = [_rule_descriptor(rule) for rule in REGISTRY]
    known = {d["id"] for d in descriptors}
    for finding in findings:
        if finding.rule not in known:
            known.add(finding.rule)
            descriptors.append(_unknown_rule_descriptor(finding))
    return descriptors


def _jsonable(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def extra_fields(finding: Finding) -> dict[str, object]:
    """Finding fields beyond the core ones (e.g. `via`, `subject`), when set."""
    return {
        f.name: _jsonable(getattr(finding, f.name))
        for f in dataclasses.fields(finding)
        if f.name not in _KNOWN_FINDING_FIELDS and getattr(finding, f.name) not in (None, "", ())
    }


def _uri(path: str) -> str:
    # A relative URI reference: path separators kept, everything else that URIs reserve encoded.
    return quote(path.replace("\\", "/").lstrip("/"), safe="/-._~")


def _location(finding: Finding, report: Report) -> dict[str, Any]:
    if finding.path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.path)}}
        if finding.line is not None and finding.line >= 1:
            region: dict[str, Any] = {"startLine": finding.line}
            if finding.evidence:
                region["snippet"] = {"text": finding.evidence}
            physical["region"] = region
        return {"physicalLocation": physical}
    # Release metadata (publisher, provenance, version): no file says it, so point at the
    # manifest that names the package and say what is meant with a logical location.
    return {
        "physicalLocation": {"artifactLocation": {"uri": MANIFEST_PATH[report.ecosystem]}},
        "logicalLocations": [
            {
                "name": report.package,
                "fullyQualifiedName": f"{report.ecosystem.value}:{report.package}"
                f"@{report.new_version}",
                "kind": "module",
            }
        ],
        "message": {"text": "registry metadata of the release"},
    }


def _result(
    finding: Finding, report: Report, rule_index: dict[str, int], suppressed_by: str | None
) -> dict[str, Any]:
    text = finding.message
    if finding.via:
        text = f"{text} (in new dependency {finding.via})"
    properties: dict[str, object] = {
        "severity": finding.severity.value,
        "category": finding.category,
        "package": report.package,
        "ecosystem": report.ecosystem.value,
        "oldVersion": report.old_version,
        "newVersion": report.new_version,
        "reportScore": report.score,
        "reportSeverity": report.severity.value,
        "fingerprint": finding.fingerprint,
    }
    if finding.artifact:
        properties["artifact"] = finding.artifact
    if finding.evidence:
        properties["evidence"] = finding.evidence
    properties.update(extra_fields(finding))
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": sarif_message(text)},
        "locations": [_location(finding, report)],
        "partialFingerprints": {"watcherFinding/v1": finding.fingerprint},
        "properties": properties,
    }
    if suppressed_by is not None:
        # A reviewer allowed or accepted it: SARIF consumers (GitHub included) show it as
        # dismissed rather than as an open alert.
        result["suppressions"] = [{"kind": "external", "justification": suppressed_by}]
    return result


def sarif_dict(report: Report) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (one run)."""
    suppressed = [(s.finding, s.by) for s in report.suppressed]
    all_findings = [*report.findings, *(f for f, _ in suppressed)]
    rules = rule_descriptors(all_findings)
    rule_index = {d["id"]: i for i, d in enumerate(rules)}
    driver: dict[str, Any] = {
        "name": "watcher",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": rules,
    }
    information_uri = _information_uri()
    if information_uri:
        driver["informationUri"] = information_uri
    results = [_result(f, report, rule_index, None) for f in report.findings]
    results += [_result(f, report, rule_index, by) for f, by in suppressed]
    notifications = [
        {
            "level": "error",
            "message": {"text": f"rule {failure.rule} failed: {failure.error}"},
            "associatedRule": {"id": failure.rule},
        }
        for failure in report.rule_failures
    ]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        # One category per package: uploads for different packages must not replace each other.
        "automationDetails": {"id": f"watcher/{report.ecosystem.value}/{report.package}/"},
        "invocations": [
            {
                "executionSuccessful": not report.rule_failures,
                "toolExecutionNotifications": notifications,
            }
        ],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {
            "ecosystem": report.ecosystem.value,
            "package": report.package,
            "oldVersion": report.old_version,
            "newVersion": report.new_version,
            "score": report.score,
            "severity": report.severity.value,
            "reasons": list(report.reasons),
            "artifacts": list(report.artifacts),
            "files": {
                "added": report.files.added,
                "removed": report.files.removed,
                "changed": report.files.changed,
            },
            "links": list(report.links),
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: Report) -> str:
    """The report as one SARIF 2.1.0 JSON document, newline-terminated."""
    return json_document(sarif_dict(report)) + "\n"
