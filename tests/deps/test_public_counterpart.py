"""Dependency confusion: a privately sourced name is looked up on the public registry.

The private and the public registry are two `MockNpm`s; the real clients and pipeline run.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.deps.mock_registries import NPM_BASE, MockNpm
from tests.deps.test_scan import benign
from watcher.httpclient import make_client
from watcher.models import Ecosystem
from watcher.pipeline import diff_release
from watcher.registries import (
    PUBLIC_CHECK_ENV,
    PUBLIC_NPM_REGISTRY,
    NpmRegistry,
    public_counterpart,
)

RELEASED = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _private() -> MockNpm:
    npm = MockNpm()
    npm.publish(benign("acme-internal-mcp", "1.0.0"), RELEASED - timedelta(days=60))
    npm.publish(benign("acme-internal-mcp", "1.0.1"), RELEASED)
    return npm


def _public_with(version: str | None) -> NpmRegistry:
    public = MockNpm()
    if version is not None:
        public.publish(benign("acme-internal-mcp", version), RELEASED - timedelta(days=1))
    return NpmRegistry(make_client(transport=httpx.MockTransport(public.handle)), NPM_BASE)


def test_a_higher_public_version_of_a_private_name_is_reported() -> None:
    sources = replace(_private().sources(), public=_public_with("99.0.0"))
    report = diff_release(sources, "acme-internal-mcp", "1.0.0", "1.0.1")
    confusion = [f for f in report.findings if f.rule == "meta.dependency-confusion"]
    assert len(confusion) == 1, report.findings
    assert "99.0.0" in (confusion[0].evidence or "") + confusion[0].message


@pytest.mark.parametrize("public", [None, "absent"])
def test_no_public_lookup_or_no_public_package_says_nothing(public: str | None) -> None:
    sources = _private().sources()
    if public == "absent":
        sources = replace(sources, public=_public_with(None))
    report = diff_release(sources, "acme-internal-mcp", "1.0.0", "1.0.1")
    assert "meta.dependency-confusion" not in {f.rule for f in report.findings}


def test_an_unreachable_public_registry_does_not_fail_the_analysis() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = NpmRegistry(make_client(transport=httpx.MockTransport(refuse)), NPM_BASE)
    sources = replace(_private().sources(), public=down)
    report = diff_release(sources, "acme-internal-mcp", "1.0.0", "1.0.1")
    assert "meta.dependency-confusion" not in {f.rule for f in report.findings}


def test_public_counterpart_only_for_private_registries() -> None:
    http = make_client(transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    on = {PUBLIC_CHECK_ENV: "on"}
    assert public_counterpart(Ecosystem.NPM, http, None, on) is None
    assert public_counterpart(Ecosystem.NPM, http, PUBLIC_NPM_REGISTRY, on) is None
    private = public_counterpart(Ecosystem.NPM, http, "https://npm.acme.invalid/", on)
    assert isinstance(private, NpmRegistry)
    off = {PUBLIC_CHECK_ENV: "off"}
    assert public_counterpart(Ecosystem.NPM, http, "https://npm.acme.invalid/", off) is None
