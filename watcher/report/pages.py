"""Full reports published as HTML pages beside the alerts that point to them.

An alert (Slack above all) shows the verdict and the top findings; a reviewer who needs every
finding opens the page. `WATCHER_REPORT_DIR` is where the daemon writes one HTML file per
alerted analysis, `WATCHER_REPORT_URL` the address a web server serves that directory at; the
alert then links to `WATCHER_REPORT_URL/<file>`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from watcher.atomicfile import write_atomically
from watcher.errors import UsageError
from watcher.models import Report
from watcher.report.html import render_html

logger = logging.getLogger(__name__)

#: Characters kept in a page's file name; the rest become `_` (names and versions come from
#: registries: no `/`, `..` or control character may reach the file system).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: Longest name part kept; the key's hash keeps truncated names apart.
_PART = 60


@dataclass(frozen=True, slots=True)
class ReportPages:
    """Where report pages are written, and the URL they are served at (None: no links)."""

    directory: Path
    base_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReportPages | None:
        """From `WATCHER_REPORT_DIR` and `WATCHER_REPORT_URL`; None when no directory is set.

        Raises UsageError when the URL comes without a directory, is not http(s), or the
        directory cannot be created: a setting that cannot work is refused at start, not
        found out at the first alert.
        """
        directory = env.get("WATCHER_REPORT_DIR", "").strip()
        url = env.get("WATCHER_REPORT_URL", "").strip() or None
        if not directory:
            if url:
                raise UsageError(
                    "WATCHER_REPORT_URL is set but WATCHER_REPORT_DIR is not: set the directory "
                    "the web server at that URL serves"
                )
            return None
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise UsageError(f"WATCHER_REPORT_URL must be an http(s) URL, got {url!r}")
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"WATCHER_REPORT_DIR {directory!r} cannot be created: {e}") from e
        return cls(path, url.rstrip("/") if url else None)

    def publish(self, report: Report, key: str) -> str | None:
        """Write `report`'s page (the same `key` rewrites the same file); its URL, if served.

        A page that cannot be written is logged and skipped: the alert matters more than its
        link, so it is sent without one.
        """
        name = page_name(report, key)
        try:
            write_atomically(self.directory / name, render_html(report).encode("utf-8"))
        except OSError as e:
            logger.warning("report page %s not written: %s", name, e)
            return None
        return f"{self.base_url}/{quote(name)}" if self.base_url else None


def page_name(report: Report, key: str) -> str:
    """`npm-name-1.0.0-1.0.1-<hash>.html`: readable, safe as a file name, unique per `key`."""
    parts = (
        report.ecosystem.value,
        report.package.lstrip("@"),
        report.old_version or "first",
        report.new_version,
    )
    readable = "-".join(_UNSAFE.sub("_", p)[:_PART] for p in parts)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{readable}-{digest}.html"
