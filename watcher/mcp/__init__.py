"""MCP-specific analysis: the tools a server exposes to a model, read statically from its files.

Nothing here runs or imports the package's code: JavaScript/TypeScript is tokenized, Python is
parsed with `ast`, JSON manifests are loaded as data.
"""

from __future__ import annotations

from watcher.mcp.tools import Tool, extract_tools, iter_tools, tools_in_file

__all__ = ["Tool", "extract_tools", "iter_tools", "tools_in_file"]
