"""The project's exceptions: one root, one base per layer.

The CLI turns any `WatcherError` into one line on stderr and exit code 2; anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from watcher.escape import logline


class WatcherError(Exception):
    """Root of every error watcher reports to a user as a clear one-line message.

    Messages quote package names, versions, file names and registry text, so the message is
    escaped as it is made (`\\r`, `\\x1b`, `\\u202e`): an error is one line wherever it is
    shown or logged, even when a caller forgot to escape what it quoted.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (logline(args[0]), *args[1:])
        super().__init__(*args)

    def diagnostics(self) -> str:
        """One line, safe to print: no tokens, no tracebacks, nothing a terminal obeys.

        Messages quote package names, versions and registry text: runs of whitespace
        (line breaks included) become one space, other control and bidi characters are
        written out (`\\x1b`, `\\u202e`).
        """
        return logline(" ".join(str(self).split())) or type(self).__name__


class UsageError(WatcherError):
    """The command line or configuration asks for something impossible."""


class RegistryError(WatcherError):
    """A registry could not answer, or answered nonsense."""


class PackageNotFound(RegistryError):
    """The registry does not know the package name."""


class VersionNotFound(RegistryError):
    """The registry knows the package but not the requested version."""


class RegistryUnavailable(RegistryError):
    """Network failure, timeout, or 429/5xx after the retry budget was spent."""


class MalformedResponse(RegistryError):
    """The registry answered with JSON/HTML that does not have the expected shape."""


class AmbiguousPackage(RegistryError):
    """The name exists on more than one ecosystem's registry; `--ecosystem` must choose."""


class FetchError(WatcherError):
    """An artifact could not be downloaded or trusted."""


class IntegrityMismatch(FetchError):
    """The downloaded bytes do not match the digest the registry published."""


class ArtifactTooLarge(FetchError):
    """The download exceeded the size cap."""


class NoArtifact(FetchError):
    """The release has no artifact watcher can analyse."""


class ArchiveError(WatcherError):
    """An archive is corrupt, truncated, or of an unknown format."""


class UnsafeArchive(ArchiveError):
    """An archive tries something hostile: traversal, absolute paths, bombs, too many members."""


class NotAnArchive(ArchiveError):
    """The bytes are no archive at all (no gzip, zip or tar signature) or cannot be read.

    An input error (exit 2). Every other `ArchiveError` is about an archive an installer may
    well accept, and is reported as a finding of the release instead (SPEC §4.5).
    """


class SubscriptionError(WatcherError):
    """Subscription files are missing, unreadable or invalid.

    `problems` holds every problem of the run, one self-contained line each
    (`file:line: field: message`); the message is the first one and a count of the rest.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems) or ("invalid subscriptions",)
        more = len(self.problems) - 1
        suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
        super().__init__(self.problems[0] + suffix)


class NotifyError(WatcherError):
    """An alert could not be delivered.

    The outbox decides what to do next from two attributes: `permanent` errors (a wrong channel,
    a revoked token, a rejected payload) will fail again unchanged, so retrying only delays the
    operator's fix; transient ones are retried, not before `retry_after` seconds when the
    receiver said how long to wait (None: use the outbox's own backoff). The message never
    holds a token or a secret URL.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after: float | None = retry_after
        self.permanent: bool = permanent


class StoreError(WatcherError):
    """The store (SQLite file or PostgreSQL) could not be opened, migrated, read or written."""
