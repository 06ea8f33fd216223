"""The store tests' helpers; the fixtures themselves come from `tests/conftest.py`."""

from tests.support.stores import (
    BACKENDS,
    CHANNELS,
    T0,
    count,
    make_report,
    make_subscription,
)

__all__ = ["BACKENDS", "CHANNELS", "T0", "count", "make_report", "make_subscription"]
