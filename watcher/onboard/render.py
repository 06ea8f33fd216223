"""`watcher audit` reports: text for people, JSON for scripts, SARIF for code scanning.

Every string from a configuration file is untrusted: terminal controls are escaped in text
(the helper the release reports use), and no renderer ever sees a secret (the audit keeps only
masked values).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from watcher import __version__
from watcher.escape import json_document, sarif_message, terminal
from watcher.onboard.audit import RULE_SEVERITY, RULES, AuditFinding, AuditReport
from watcher.onboard.launchers import Launch
from watcher.report.sarif import LEVELS, SARIF_SCHEMA, SARIF_VERSION, SECURITY_SEVERITY


def _where(finding: AuditFinding) -> str:
    return f"{finding.file}: {finding.key}" if finding.key else finding.file


def warning_lines(findings: Iterable[AuditFinding]) -> Iterator[str]:
    """Findings, one line each (the report's and `import`'s warning block)."""
    for f in findings:
        yield terminal(f"{f.severity.value.upper():<8} {f.rule:<28} {f.message}  [{_where(f)}]")


def render_text(report: AuditReport) -> str:
    """Files read, each server with what it runs, then the findings."""
    lines = [f"audited {len(report.files)} file(s), {len(report.servers)} server(s)"]
    for item in report.servers:
        launch = item.launch
        what = launch.shown if isinstance(launch, Launch) else f"not watchable: {launch.reason}"
        lines.append(terminal(f"  {item.server.name} ({item.server.client}): {what}"))
    for project in report.projects:
        mcp = [d for d in project.dependencies if d.is_mcp]
        lock = project.lockfile or "no lock file"
        lines.append(terminal(f"  {project.manifest}: {len(mcp)} MCP dependencies, {lock}"))
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in counts.items()) or "nothing found"
    lines.append(f"VERDICT: {report.severity.value.upper()} ({summary})")
    lines.extend(warning_lines(report.findings))
    return "\n".join(lines) + "\n"


def _finding_dict(f: AuditFinding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "message": f.message,
        "file": f.file,
        "key": f.key,
    }


def report_dict(report: AuditReport) -> dict[str, Any]:
    """The audit as JSON-ready data (schema 1)."""
    servers = []
    for item in report.servers:
        s, launch = item.server, item.launch
        entry: dict[str, Any] = {
            "name": s.name,
            "client": s.client,
            "file": s.file,
            "key": s.key,
            "watchable": isinstance(launch, Launch),
        }
        if isinstance(launch, Launch):
            entry.update(
                ecosystem=launch.ecosystem.value,
                package=launch.package,
                spec=launch.spec,
                version=launch.version,
                runner=launch.runner,
                pinned=launch.pinned,
            )
        else:
            entry["reason"] = launch.reason
        servers.append(entry)
    return {
        "schema": 1,
        "severity": report.severity.value,
        "files": list(report.files),
        "servers": servers,
        "findings": [_finding_dict(f) for f in report.findings],
    }


def render_json(report: AuditReport) -> str:
    """One JSON object and a newline."""
    return json_document(report_dict(report)) + "\n"


def _uri(file: str) -> str:
    path = Path(file)
    return path.resolve().as_uri() if path.is_absolute() or path.exists() else file


def sarif_dict(report: AuditReport) -> dict[str, Any]:
    """The audit as a SARIF 2.1.0 log, levels and security-severity as `diff`'s."""
    ids = list(RULES)
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": summary},
            "defaultConfiguration": {"level": LEVELS[RULE_SEVERITY[rule]]},
            "properties": {
                "tags": ["security", "supply-chain", "mcp-config"],
                # GitHub ranks alerts by the rule's value (see watcher.report.sarif).
                "security-severity": SECURITY_SEVERITY[RULE_SEVERITY[rule]],
            },
        }
        for rule, summary in RULES.items()
    ]
    results = []
    for f in report.findings:
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(f.file)}}}
        if f.key:
            location["logicalLocations"] = [{"name": f.key, "kind": "member"}]
        results.append(
            {
                "ruleId": f.rule,
                "ruleIndex": ids.index(f.rule),
                "level": LEVELS[f.severity],
                "message": {"text": sarif_message(f.message)},
                "locations": [location],
                "properties": {
                    "severity": f.severity.value,
                    "security-severity": SECURITY_SEVERITY[f.severity],
                },
            }
        )
    driver = {"name": "watcher", "version": __version__, "rules": rules}
    run = {
        "tool": {"driver": driver},
        "automationDetails": {"id": "watcher/audit/"},
        "results": results,
        "properties": {"severity": report.severity.value, "files": list(report.files)},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(report: AuditReport) -> str:
    """One SARIF 2.1.0 JSON document, newline-terminated."""
    return json_document(sarif_dict(report)) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "sarif": render_sarif}
