"""The JSON report: exactly the SPEC §3 contract (schema 1); keys are only ever added."""

from __future__ import annotations

import json
from typing import Any

from watcher.models import Report

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
        "findings": [
            {
                "rule": f.rule,
                "severity": f.severity.value,
                "path": f.path,
                "line": f.line,
                "message": f.message,
                "evidence": f.evidence,
                "artifact": f.artifact,
                "category": f.category,
                "fingerprint": f.fingerprint,
            }
            for f in report.findings
        ],
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
    }


def render_json(report: Report) -> str:
    """One JSON object, newline-terminated."""
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False) + "\n"
