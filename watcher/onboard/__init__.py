"""Onboarding: from where MCP servers are really configured to a watch list and an audit.

Teams keep their MCP servers in client configurations (Claude Desktop, Claude Code, Cursor,
VS Code, Windsurf, Cline) and project manifests, not in subscription files. This package reads
those files as untrusted input (`clients`, `manifests`), works out which package and version
each server launches (`launchers`), says what makes each unsafe to run as configured
(`audit`), and turns the watchable ones into subscriptions (`importer`).
"""

from __future__ import annotations

from watcher.errors import WatcherError


class OnboardError(WatcherError):
    """A configuration or manifest file that cannot be read or does not have a usable shape.

    The message names the file and, where there is one, the key: `FILE: KEY: problem`.
    """


__all__ = ["OnboardError"]
