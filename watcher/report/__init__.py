"""Renderers of a `Report`, by format name."""

from __future__ import annotations

from collections.abc import Callable

from watcher.models import Report
from watcher.report.html import render_html
from watcher.report.jsonfmt import render_json
from watcher.report.markdown import render_markdown
from watcher.report.sarif import render_sarif
from watcher.report.text import render_text

RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
    "sarif": render_sarif,
    "html": render_html,
}

__all__ = [
    "RENDERERS",
    "render_html",
    "render_json",
    "render_markdown",
    "render_sarif",
    "render_text",
]
