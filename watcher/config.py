"""Settings that come from the environment (never from subscription files)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """`WATCHER_DATA_DIR`, or the platform's user data directory."""
    configured = os.environ.get("WATCHER_DATA_DIR")
    return Path(configured) if configured else Path(platformdirs.user_data_dir("watcher"))


def cache_dir() -> Path:
    """Where verified artifacts are cached, content-addressed."""
    return data_dir() / "cache" / "artifacts"
