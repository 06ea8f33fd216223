"""The rule families. Importing this package registers every rule in `REGISTRY`.

Adding a rule means adding a decorated function to one of these modules (or a new module
imported below) and a fixture file under tests/rules/fixtures/ named after its id.
"""

from __future__ import annotations

from watcher.rules import (  # noqa: F401  (imported for their registrations)
    ai_cli,
    archive_shape,
    bundles,
    code,
    dependencies,
    dns_exfil,
    incomplete,
    mail,
    manifest_confusion,
    mcp_tools,
    metadata,
    names,
    npm_install,
    opaque,
    python_install,
    release_history,
    secret_flow,
    wallet,
)
from watcher.rules.engine import run_rules
from watcher.rules.registry import REGISTRY, ReleaseContext, Rule

__all__ = ["REGISTRY", "ReleaseContext", "Rule", "run_rules"]
