"""The fake registry of tests/registries, for resolution tests."""

from tests.registries.conftest import http, server, sleeps

__all__ = ["http", "server", "sleeps"]
