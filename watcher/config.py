"""Settings that come from the environment (never from subscription files)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from watcher.artifacts.extract import DEFAULT_LIMITS, ExtractLimits
from watcher.artifacts.fetch import MAX_DOWNLOAD_BYTES
from watcher.errors import UsageError
from watcher.httpclient import RetryPolicy


def data_dir() -> Path:
    """`WATCHER_DATA_DIR`, or the platform's user data directory."""
    configured = os.environ.get("WATCHER_DATA_DIR")
    return Path(configured) if configured else Path(platformdirs.user_data_dir("watcher"))


def cache_dir() -> Path:
    """Where verified artifacts are cached, content-addressed."""
    return data_dir() / "cache" / "artifacts"


# --- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one artifact may weigh: the download cap and the extraction limits."""

    extract: ExtractLimits = DEFAULT_LIMITS
    max_download_bytes: int = MAX_DOWNLOAD_BYTES


_INTEGER = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")


def limits_from_env(env: Mapping[str, str]) -> Limits:
    """The limits, with `WATCHER_MAX_*` variables overriding the defaults.

    Read once where a command starts; a value that is not a positive number is a
    `UsageError` naming the variable, so a typo stops the run instead of silently
    leaving a limit at its default (or disabling it).
    """
    files = _positive_integer(env, "WATCHER_MAX_FILES")
    total = _positive_integer(env, "WATCHER_MAX_ARCHIVE_BYTES")
    per_file = _positive_integer(env, "WATCHER_MAX_FILE_BYTES")
    ratio = _positive_number(env, "WATCHER_MAX_RATIO")
    download = _positive_integer(env, "WATCHER_MAX_DOWNLOAD_BYTES")
    default = DEFAULT_LIMITS
    return Limits(
        extract=ExtractLimits(
            max_members=files if files is not None else default.max_members,
            max_total_bytes=total if total is not None else default.max_total_bytes,
            max_file_bytes=per_file if per_file is not None else default.max_file_bytes,
            max_ratio=ratio if ratio is not None else default.max_ratio,
        ),
        max_download_bytes=download if download is not None else MAX_DOWNLOAD_BYTES,
    )


# --- HTTP ----------------------------------------------------------------------------------------

#: More retries than this only delays the poll's backoff and the operational alert.
MAX_HTTP_RETRIES = 10
#: A longer timeout (times the tries) would outlast the daemon's poll lease (10 min), and
#: another daemon would poll the same package while this one still waits.
MAX_HTTP_TIMEOUT = 120.0
#: The same reasoning for a whole try: longer than the lease is never what an operator wants.
MAX_HTTP_DEADLINE = 600.0


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How patient and how trusting registry and download requests are; None: the HTTP
    client's default (`httpclient.make_client`: 30 s, 3 retries, 60 s per metadata try, 300 s
    per download try, 128 MiB of registry metadata)."""

    timeout: float | None = None
    retries: int | None = None
    metadata_deadline: float | None = None
    download_deadline: float | None = None
    max_metadata_bytes: int | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `httpclient.make_client`: only the settings that were given."""
        options: dict[str, Any] = {}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.retries is not None:
            options["retry"] = RetryPolicy(attempts=self.retries + 1)
        if self.metadata_deadline is not None:
            options["metadata_deadline"] = self.metadata_deadline
        if self.download_deadline is not None:
            options["download_deadline"] = self.download_deadline
        if self.max_metadata_bytes is not None:
            options["max_metadata_bytes"] = self.max_metadata_bytes
        return options


def http_settings_from_env(env: Mapping[str, str]) -> HttpSettings:
    """`WATCHER_HTTP_TIMEOUT` (seconds, up to 120), `WATCHER_HTTP_RETRIES` (0 to 10),
    `WATCHER_HTTP_METADATA_DEADLINE` / `WATCHER_HTTP_DOWNLOAD_DEADLINE` (seconds a whole try
    may take, up to 600) and `WATCHER_MAX_METADATA_BYTES` (one registry document, decoded).

    Read once where a command starts, like the limits: a bad value is a `UsageError` naming
    the variable, so a typo cannot leave the daemon hanging on a registry for the default.
    """
    timeout = _positive_number(env, "WATCHER_HTTP_TIMEOUT")
    if timeout is not None and timeout > MAX_HTTP_TIMEOUT:
        raise UsageError(
            f"WATCHER_HTTP_TIMEOUT must be at most {MAX_HTTP_TIMEOUT:g} seconds (got {timeout:g})"
        )
    raw = _raw(env, "WATCHER_HTTP_RETRIES")
    if raw is not None and (not _INTEGER.fullmatch(raw) or int(raw) > MAX_HTTP_RETRIES):
        raise UsageError(
            f"WATCHER_HTTP_RETRIES must be an integer from 0 to {MAX_HTTP_RETRIES} (got {raw!r})"
        )
    return HttpSettings(
        timeout=timeout,
        retries=int(raw) if raw is not None else None,
        metadata_deadline=_deadline(env, "WATCHER_HTTP_METADATA_DEADLINE"),
        download_deadline=_deadline(env, "WATCHER_HTTP_DOWNLOAD_DEADLINE"),
        max_metadata_bytes=_positive_integer(env, "WATCHER_MAX_METADATA_BYTES"),
    )


def _deadline(env: Mapping[str, str], variable: str) -> float | None:
    seconds = _positive_number(env, variable)
    if seconds is not None and seconds > MAX_HTTP_DEADLINE:
        raise UsageError(
            f"{variable} must be at most {MAX_HTTP_DEADLINE:g} seconds (got {seconds:g})"
        )
    return seconds


def _raw(env: Mapping[str, str], variable: str) -> str | None:
    value = env.get(variable)
    # Set but empty means "not set", as for the other WATCHER_* variables.
    return value.strip() if value is not None and value.strip() else None


def _positive_integer(env: Mapping[str, str], variable: str) -> int | None:
    raw = _raw(env, variable)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw) or int(raw) <= 0:
        raise UsageError(f"{variable} must be a positive integer (got {raw!r})")
    return int(raw)


def _positive_number(env: Mapping[str, str], variable: str) -> float | None:
    raw = _raw(env, variable)
    if raw is None:
        return None
    if not _NUMBER.fullmatch(raw) or float(raw) <= 0:
        raise UsageError(f"{variable} must be a positive number (got {raw!r})")
    return float(raw)
