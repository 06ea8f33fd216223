"""Logging: text or JSON lines on stderr, each tagged with the package at hand, secrets redacted.

`configure_logging` installs one handler on the `watcher` logger (the root logger is left to
embedders). Every record passes `RedactionFilter` on that handler, the last line of defence
behind the modules that already keep credentials out of their messages: whatever slipped
through (a token echoed in an error body, a webhook URL inside an exception, basic auth in a
registry URL) is printed as `[redacted]`.

The package a line is about (`npm:@scope/x@1.2.3`) comes from a context variable that the
watch cycle and `watcher diff`/`scan` set with `package_context`, so log calls deep in the
pipeline need not pass it along. Context variables are per thread (and per task), so the
daemon's worker threads each carry their own.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Literal, TextIO, get_args
from urllib.parse import urlsplit

from watcher.escape import json_line, logline

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "REDACTED",
    "SECRET_ENV",
    "JsonFormatter",
    "LogFormat",
    "RedactionFilter",
    "TextFormatter",
    "configure_logging",
    "current_package",
    "package_context",
    "redact",
    "tag_package",
    "untag_package",
]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

REDACTED = "[redacted]"

#: Environment variables whose values are credentials wherever they appear.
SECRET_ENV = ("SLACK_BOT_TOKEN", "NPM_TOKEN", "PYPI_TOKEN", "WATCHER_WEBHOOK_URL")
#: Variables that hold URLs whose userinfo may be a password (the store's URL, a registry).
_URL_ENV = ("WATCHER_DB_URL",)
#: A value shorter than this is not treated as a secret: replacing every "x" helps nobody.
_MIN_SECRET = 6

_PACKAGE: ContextVar[str | None] = ContextVar("watcher_package", default=None)

# Slack tokens (bot, user, app-level, refresh, config): recognisable whoever configured them.
_SLACK_TOKEN = re.compile(r"\bxox[abeprs]-[A-Za-z0-9-]{6,}|\bxapp-[A-Za-z0-9-]{6,}")
# `Authorization: Bearer x`, `"authorization": "Basic x"`, `Proxy-Authorization=...`.
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(?:bearer|basic|token|digest)\s+)?[^\s'\",;}]+"
)
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}")
# `scheme://user:password@host`: the whole userinfo goes.
_USERINFO = re.compile(r"(?<=://)[^/\s@'\"<>]+@")


@contextmanager
def package_context(
    ecosystem: object | None, name: str, version: str | None = None
) -> Iterator[str]:
    """Tag every log line in this block with `ecosystem:name@version`; yields the tag.

    `ecosystem` may be an `Ecosystem`, its value, or None when not known yet (`watcher diff`
    before the registries were asked).
    """
    token = tag_package(ecosystem, name, version)
    try:
        yield _PACKAGE.get() or name
    finally:
        _PACKAGE.reset(token)


def tag_package(
    ecosystem: object | None, name: str, version: str | None = None
) -> Token[str | None]:
    """`package_context` for code that cannot wrap a block: pass the token to `untag_package`."""
    eco = getattr(ecosystem, "value", ecosystem)
    label = f"{eco}:{name}" if eco else name
    return _PACKAGE.set(f"{label}@{version}" if version else label)


def untag_package(token: Token[str | None]) -> None:
    """Restore the tag that was current before `tag_package` returned `token`."""
    _PACKAGE.reset(token)


def current_package() -> str | None:
    """The tag set by the innermost `package_context`, if any."""
    return _PACKAGE.get()


def _configured_secrets(env: Mapping[str, str]) -> list[str]:
    """The literal strings to hide: secret values, and the secret parts of secret URLs."""
    found: list[str] = []
    for variable in SECRET_ENV:
        value = (env.get(variable) or "").strip()
        if len(value) < _MIN_SECRET:
            continue
        found.append(value)
        if "://" in value:
            found.extend(_url_secrets(value))
    for variable in _URL_ENV:
        value = (env.get(variable) or "").strip()
        if "://" in value:
            found.extend(_url_secrets(value, path=False))
    return found


def _url_secrets(url: str, *, path: bool = True) -> list[str]:
    """A URL's password, and (for webhook-style URLs) its path and query: the secret parts."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    secrets = [password] if password and len(password) >= _MIN_SECRET else []
    if path and len(parts.path) > 1:
        secrets.append(parts.path)
        # Loggers that print the request target decode or quote it differently; the last
        # segment on its own is usually the secret (Slack `.../B000/XXXX`).
        last = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if len(last) >= _MIN_SECRET:
            secrets.append(last)
    if parts.query and len(parts.query) >= _MIN_SECRET:
        secrets.append(parts.query)
    return secrets


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with configured secrets and anything credential-shaped replaced by `[redacted]`."""
    if not text:
        return text
    # Longest first, so that a whole URL goes before its path is looked for.
    for secret in sorted(_configured_secrets(os.environ if env is None else env), key=len)[::-1]:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _SLACK_TOKEN.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _USERINFO.sub(f"{REDACTED}@", text)


class RedactionFilter(logging.Filter):
    """Rewrites a record's message and exception text through `redact`; never drops one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__()
        #: None: read `os.environ` for every record (a token set after start-up is covered).
        self._env = env

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem to report, not ours
            return True
        record.msg, record.args = redact(message, self._env), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._env)
            # Formatters print `exc_text` when set; dropping `exc_info` keeps one from
            # formatting the raw exception again.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._env)
        return True


class TextFormatter(logging.Formatter):
    """`[time ]LEVEL logger: [package] message`, for people reading a terminal or journal.

    Messages quote package names, versions and registry text: their control characters are
    written out (`\\r`, `\\x1b`), so a record is one line and cannot forge another or drive
    the terminal. A traceback keeps its own line breaks, nothing else.
    """

    def formatException(self, ei: logging._SysExcInfoType) -> str:  # noqa: N802 (logging's name)
        return _lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        return _lines(super().formatStack(stack_info))

    def __init__(self, *, timestamps: bool) -> None:
        prefix = "%(asctime)s " if timestamps else ""
        super().__init__(f"{prefix}%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        package = getattr(record, "package", None) or current_package()
        line = super().formatMessage(record)
        if package:
            head, sep, tail = line.partition(": ")
            line = f"{head}{sep}[{package}] {tail}" if sep else f"[{package}] {line}"
        return logline(line)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_text:
            # Set by RedactionFilter from the raw exception: its lines are escaped here.
            record.exc_text = _lines(record.exc_text)
        return super().format(record)


def _lines(text: str) -> str:
    """Multi-line text (a traceback) with each line escaped and its line breaks kept."""
    return "\n".join(logline(line) for line in text.split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, package (when known), exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        package = getattr(record, "package", None) or current_package()
        if package:
            entry["package"] = package
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json_line(entry)


class _Handler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` owns (and replaces on the next call)."""


def level_from(name: str) -> int:
    """The logging level for `debug`..`critical` (any case); ValueError otherwise."""
    key = name.strip().lower()
    if key not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)} (got {name!r})")
    return int(logging.getLevelName(key.upper()))


def configure_logging(
    format: LogFormat = "text",  # noqa: A002 (the CLI option's name)
    level: int | str = logging.WARNING,
    *,
    stream: TextIO | None = None,
    timestamps: bool = False,
    logger_name: str = "watcher",
) -> logging.Handler:
    """Log `logger_name` (and its children) to stderr in `format` at `level`; the handler.

    Calling it again replaces the handler it installed before, so tests and repeated `main()`
    calls do not stack handlers. JSON lines always carry a timestamp; text lines only when
    `timestamps` (a daemon's journal adds its own otherwise).
    """
    if format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)} (got {format!r})")
    numeric = level_from(level) if isinstance(level, str) else level
    logger = logging.getLogger(logger_name)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    handler = _Handler(stream)
    handler.addFilter(RedactionFilter())
    handler.setFormatter(
        JsonFormatter() if format == "json" else TextFormatter(timestamps=timestamps)
    )
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(numeric)
    return handler
