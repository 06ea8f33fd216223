"""The JSON report: exactly the SPEC §3 contract (schema 1); keys are only ever added.

`report_dict` writes it; `report_from_dict` reads it back (the store keeps reports in this
form, and the alert outbox rebuilds the `Report` a notifier needs from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watcher.escape import json_document
from watcher.models import (
    ChangedFile,
    ChangeKind,
    Ecosystem,
    FileCounts,
    Finding,
    MetadataSummary,
    Provenance,
    Report,
    RuleFailure,
    Severity,
    Suppressed,
)

SCHEMA = 1


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "schema": SCHEMA,
        "ecosystem": report.ecosystem.value,
        "package": report.package,
        "old_version": report.old_version,
        "new_version": report.new_version,
        "score": report.score,
        "severity": report.severity.value,
        "findings": [_finding_dict(f) for f in report.findings],
        "files": {
            "added": report.files.added,
            "removed": report.files.removed,
            "changed": report.files.changed,
        },
        "metadata": {
            "publisher_changed": report.metadata.publisher_changed,
            "provenance": report.metadata.provenance.value,
            "version_jump": report.metadata.version_jump,
        },
        "artifacts": list(report.artifacts),
        "reasons": list(report.reasons),
        "rule_errors": [{"rule": e.rule, "error": e.error} for e in report.rule_failures],
        "links": list(report.links),
        # Allowed or accepted findings (watcher.policy): the finding's keys plus `suppressed_by`.
        "suppressed": [
            {**_finding_dict(s.finding), "suppressed_by": s.by} for s in report.suppressed
        ],
        # The files behind `files`, each once: `added`/`removed` count lines.
        "changed_files": [
            {
                "path": c.path,
                "change": c.kind.value,
                "added": c.added,
                "removed": c.removed,
                "binary": c.binary,
                "rewritten": c.rewritten,
            }
            for c in report.changed_files
        ],
        # Only for a dependency release (`watcher.tree`): how each subscription installs it.
        **({"dependency_paths": list(report.dependency_paths)} if report.dependency_paths else {}),
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
        "evidence": finding.evidence,
        "artifact": finding.artifact,
        "category": finding.category,
        "fingerprint": finding.fingerprint,
        "via": finding.via,
        "subject": finding.subject,
        # When the finding's file runs ("install", "import", "shipped"), where known.
        "reach": finding.reach,
    }


def render_json(report: Report) -> str:
    """One JSON object, newline-terminated."""
    return json_document(report_dict(report)) + "\n"


def report_from_dict(data: Mapping[str, Any]) -> Report:
    """The `Report` that `report_dict` wrote (schema 1); the inverse, up to the fingerprint.

    Keys added after schema 1 was first stored may be missing from old rows, so everything
    beyond the SPEC §3 core has a default. Raises ValueError on another schema or a malformed
    document: a stored report is our own output, so that is corruption, not user input.
    """
    if data.get("schema") != SCHEMA:
        raise ValueError(f"unsupported report schema {data.get('schema')!r} (expected {SCHEMA})")
    try:
        files = data.get("files") or {}
        metadata = data.get("metadata") or {}
        return Report(
            ecosystem=Ecosystem(data["ecosystem"]),
            package=str(data["package"]),
            old_version=_optional_str(data.get("old_version")),
            new_version=str(data["new_version"]),
            score=int(data["score"]),
            severity=Severity(data["severity"]),
            findings=tuple(_finding(f) for f in data.get("findings") or ()),
            files=FileCounts(
                added=int(files.get("added", 0)),
                removed=int(files.get("removed", 0)),
                changed=int(files.get("changed", 0)),
            ),
            metadata=MetadataSummary(
                publisher_changed=metadata.get("publisher_changed"),
                provenance=Provenance(metadata.get("provenance", Provenance.UNKNOWN.value)),
                version_jump=bool(metadata.get("version_jump", False)),
            ),
            artifacts=tuple(str(a) for a in data.get("artifacts") or ()),
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
            rule_failures=tuple(
                RuleFailure(rule=str(e["rule"]), error=str(e["error"]))
                for e in data.get("rule_errors") or ()
            ),
            links=tuple(str(link) for link in data.get("links") or ()),
            suppressed=tuple(
                Suppressed(_finding(s), str(s.get("suppressed_by") or ""))
                for s in data.get("suppressed") or ()
            ),
            changed_files=tuple(
                ChangedFile(
                    path=str(c["path"]),
                    kind=ChangeKind(c["change"]),
                    added=int(c.get("added", 0)),
                    removed=int(c.get("removed", 0)),
                    binary=bool(c.get("binary", False)),
                    rewritten=bool(c.get("rewritten", False)),
                )
                for c in data.get("changed_files") or ()
            ),
            dependency_paths=tuple(str(p) for p in data.get("dependency_paths") or ()),
        )
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"malformed report document: {type(e).__name__}: {e}") from e


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _finding(data: Mapping[str, Any]) -> Finding:
    # `fingerprint` is derived from rule, path and evidence, so it is recomputed, not read.
    return Finding(
        rule=str(data["rule"]),
        severity=Severity(data["severity"]),
        message=str(data["message"]),
        category=str(data.get("category") or ""),
        path=_optional_str(data.get("path")),
        line=_optional_int(data.get("line")),
        evidence=_optional_str(data.get("evidence")),
        artifact=_optional_str(data.get("artifact")),
        via=_optional_str(data.get("via")),
        subject=_optional_str(data.get("subject")),
        reach=_optional_str(data.get("reach")),
    )
