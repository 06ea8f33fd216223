"""Package purpose from local metadata, and how the code rules use it."""

from __future__ import annotations

import json

from watcher.models import ArtifactKind, Ecosystem, FileEntry, Severity, Snapshot
from watcher.parse.purpose import describe, purpose_of
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules


def _npm(package: dict[str, object], files: dict[str, str] | None = None) -> Snapshot:
    entries = {"package.json": FileEntry.of("package.json", json.dumps(package).encode())}
    entries |= {p: FileEntry.of(p, t.encode()) for p, t in (files or {}).items()}
    return Snapshot("x.tgz", ArtifactKind.NPM_TARBALL, entries)


def _pypi(path: str, metadata: str) -> Snapshot:
    return Snapshot("x.tar.gz", ArtifactKind.SDIST, {path: FileEntry.of(path, metadata.encode())})


def test_network_purpose_from_dependencies_keywords_description_and_name() -> None:
    assert describe(_npm({"dependencies": {"undici": "6"}}), None).fits("network") == (
        "a network client (depends on undici)"
    )
    assert describe(_npm({"keywords": ["HTTP", "retry"]}), None).fits("network") == (
        "a network client (keyword 'http')"
    )
    described = describe(_npm({"description": "A GraphQL API wrapper"}), None)
    assert described.fits("network") == "a network client (described as 'graphql')"
    assert describe(_npm({"name": "fetch-retry"}), None).fits("network") is not None


def test_string_utility_has_no_purpose() -> None:
    purpose = describe(_npm({"name": "left-pad", "description": "String padding"}), None)
    assert purpose.fits("network") is None and purpose.fits("exec") is None


def test_exec_purpose_from_shell_words_but_not_command_line() -> None:
    assert describe(_npm({"keywords": ["mcp", "terminal"]}), None).fits("exec") is not None
    assert describe(_npm({"dependencies": {"execa": "9"}}), None).fits("exec") is not None
    cli = describe(_npm({"description": "A command-line tool for colours"}), None)
    assert cli.fits("exec") is None


def test_pypi_metadata_from_pkg_info_and_wheel_metadata() -> None:
    pkg_info = "Metadata-Version: 2.1\nName: x\nSummary: tiny\nRequires-Dist: httpx>=0.27\n"
    assert describe(_pypi("PKG-INFO", pkg_info), None).fits("network") == (
        "a network client (depends on httpx)"
    )
    metadata = "Metadata-Version: 2.1\nName: shellmcp\nKeywords: mcp,shell\nSummary: x\n"
    wheel = _pypi("shellmcp-1.0.dist-info/METADATA", metadata)
    assert describe(wheel, None).fits("exec") == "a shell/command runner (keyword 'shell')"


def test_purpose_comes_from_the_old_release() -> None:
    old = _npm({"name": "pad"})
    new = _npm({"name": "pad", "dependencies": {"axios": "1"}})
    assert purpose_of(artifact_diff(old, new)).fits("network") is None
    assert purpose_of(artifact_diff(None, new)).fits("network") is not None


def _findings(old: Snapshot, new: Snapshot, rule: str) -> list[tuple[Severity, str]]:
    ctx = ReleaseContext(Ecosystem.NPM, "x", "1.0.0", "1.0.1", (artifact_diff(old, new),))
    findings, failures = run_rules(ctx)
    assert not failures
    return [(f.severity, f.message) for f in findings if f.rule == rule]


def test_message_says_why_a_finding_is_weaker() -> None:
    package = {"name": "acme-client", "dependencies": {"axios": "1"}}
    old = _npm(package, {"lib/a.js": "module.exports = 1;\n"})
    new = _npm(package, {"lib/a.js": "module.exports = 1;\nfetch(u);\n"})
    assert _findings(old, new, "code.network") == [
        (
            Severity.LOW,
            "network: makes a network request (expected for a network client (depends on axios))",
        )
    ]


def test_purpose_never_weakens_dynamic_code_or_obfuscation() -> None:
    package = {"name": "shell-http", "keywords": ["shell", "http"], "dependencies": {"axios": "1"}}
    old = _npm(package, {"lib/a.js": "module.exports = 1;\n"})
    new = _npm(
        package, {"lib/a.js": "module.exports = 1;\neval(Buffer.from(b, 'base64').toString());\n"}
    )
    assert _findings(old, new, "code.dynamic-code") == [
        (Severity.HIGH, "dynamic code: decodes and runs hidden code")
    ]
