"""Property-based fuzzing of everything that parses untrusted input.

The property is the same everywhere: a normal result, or one of the project's own
`WatcherError`s with a one-line message; never another exception, never a hang.

Two profiles: `fuzz-fast` (the default, 100 examples a test, the whole directory in well under
a minute) and `fuzz` for long runs: `HYPOTHESIS_PROFILE=fuzz uv run pytest tests/fuzz`.
Tests use `FUZZ` rather than loading a profile globally, so other hypothesis tests keep theirs.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz-fast",
    max_examples=100,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Settings for every fuzz test: the `HYPOTHESIS_PROFILE` profile when it is one of ours.
FUZZ = settings.get_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "fuzz-fast")
    if os.environ.get("HYPOTHESIS_PROFILE") in ("fuzz", "fuzz-fast")
    else "fuzz-fast"
)


def assert_one_line(error: BaseException) -> None:
    """The project's errors reach users as one line: no newline, never empty."""
    message = str(error)
    assert message.strip(), f"{type(error).__name__} with an empty message"
    assert "\n" not in message and "\r" not in message, f"multi-line message: {message!r}"
