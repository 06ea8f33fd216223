"""Column types shared by the tables.

Kept apart from `tables.py`, which holds table classes only (STYLE §4).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores `timestamptz` and returns aware values in the session's time zone;
    SQLite has no time zone type and returns naive values. Both come back as aware UTC
    datetimes, so comparisons in Python never mix naive and aware values (a TypeError) and
    never silently shift by the server's local offset. Naive values are refused on the way in:
    a naive datetime is a bug in the caller (which clock? which zone?), not something to guess.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise to UTC; reject naive datetimes."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; use UTC")
        utc = value.astimezone(UTC)
        # SQLite keeps the text as given: store it without an offset, always in UTC, so that
        # string comparison (what SQLite does for `<=` on these columns) is time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Attach UTC to SQLite's naive values; convert PostgreSQL's to UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
