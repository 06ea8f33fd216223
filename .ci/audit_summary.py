"""Summarise a pip-audit JSON report: vulnerabilities found, and what could not be audited.

pip-audit asks a vulnerability service (PyPI's JSON API by default). A mirror that serves only
the latest version's JSON, or a network without the service, leaves dependencies unaudited:
that is printed loudly, so a green run is never mistaken for a clean audit.
"""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    deps = report.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = len(deps) - len(skipped)
    print(f"supply-chain: pip-audit checked {audited} of {len(deps)} locked dependencies")
    for dep in vulnerable:
        ids = ", ".join(v["id"] for v in dep["vulns"])
        print(f"  VULNERABLE {dep['name']} {dep.get('version', '?')}: {ids}")
    if skipped:
        print(
            f"  WARNING: {len(skipped)} not audited (the vulnerability service did not answer "
            "for them), e.g. " + skipped[0]["skip_reason"]
        )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
