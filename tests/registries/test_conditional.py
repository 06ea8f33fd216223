"""Conditional polling: `latest_versions` sends the stored validators and understands 304."""

from __future__ import annotations

import httpx
import pytest

from tests.registries.conftest import FakeServer, asset, json_asset
from watcher.errors import MalformedResponse, PackageNotFound
from watcher.httpclient import HttpClient
from watcher.registries import NotModified, NpmRegistry, PypiRegistry, Validators, VersionList

DEMO = "demo-mcp-server"
DEMO_URL = "https://registry.npmjs.org/demo-mcp-server"
MCP_JSON = "https://pypi.org/pypi/mcp/json"
ETAG = 'W/"abc-123"'
MODIFIED = "Sat, 21 Nov 2026 12:00:00 GMT"


def _validated(path: str, etag: str | None = ETAG, modified: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if etag:
        headers["ETag"] = etag
    if modified:
        headers["Last-Modified"] = modified
    return httpx.Response(200, content=asset(path), headers=headers)


def _conditional(path: str) -> object:
    """A server that answers 304 when the request's If-None-Match is the current ETag."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == ETAG:
            return httpx.Response(304, headers={"ETag": ETAG})
        return _validated(path)

    return respond


def test_first_poll_is_unconditional_and_returns_validators(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, _validated("npm/demo-mcp-server.full.json", modified=MODIFIED))
    result = NpmRegistry(http).latest_versions(DEMO)

    assert isinstance(result, VersionList)
    assert result.validators == Validators(etag=ETAG, last_modified=MODIFIED)
    assert result.info.latest is not None and result.info.latest in result.info.versions
    sent = server.requests[0].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_304_is_not_modified_and_sends_both_validators(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, _conditional("npm/demo-mcp-server.full.json"))
    result = NpmRegistry(http).latest_versions(DEMO, Validators(ETAG, MODIFIED))

    assert result == NotModified(Validators(ETAG, MODIFIED))
    sent = server.requests[0].headers
    assert (sent["if-none-match"], sent["if-modified-since"]) == (ETAG, MODIFIED)


def test_304_with_fresher_validators_keeps_the_fresh_ones(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, httpx.Response(304, headers={"ETag": '"v2"'}))
    result = NpmRegistry(http).latest_versions(DEMO, Validators('"v1"', MODIFIED))
    assert result == NotModified(Validators('"v2"', MODIFIED))


def test_changed_document_is_read_and_cached_for_release(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, _validated("npm/demo-mcp-server.full.json", etag='"new"'))
    registry = NpmRegistry(http)
    result = registry.latest_versions(DEMO, Validators(etag='"old"'))

    assert isinstance(result, VersionList) and result.validators.etag == '"new"'
    registry.release(DEMO, next(iter(result.info.versions)))
    assert len(server.requests) == 1


def test_registry_without_validators_gives_empty_ones(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, json_asset("npm/demo-mcp-server.full.json"))
    result = NpmRegistry(http).latest_versions(DEMO, Validators())

    assert isinstance(result, VersionList)
    assert not result.validators and result.validators == Validators()
    assert "if-none-match" not in server.requests[0].headers


def test_304_to_an_unconditional_request_is_malformed(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(DEMO_URL, httpx.Response(304))
    with pytest.raises(MalformedResponse, match="304"):
        NpmRegistry(http).latest_versions(DEMO)


def test_unknown_package_is_still_not_found(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(PackageNotFound):
        NpmRegistry(http).latest_versions(DEMO, Validators(ETAG))


def test_pypi_json_api_conditional(server: FakeServer, http: HttpClient) -> None:
    server.add(MCP_JSON, _conditional("pypi/mcp.json"))
    registry = PypiRegistry(http)

    first = registry.latest_versions("MCP")
    assert isinstance(first, VersionList) and first.validators.etag == ETAG
    assert first.info.name == "mcp"
    again = registry.latest_versions("mcp", first.validators)
    assert again == NotModified(Validators(ETAG))
    assert server.requests[1].headers["if-none-match"] == ETAG


def test_pypi_simple_page_conditional_by_last_modified(
    server: FakeServer, http: HttpClient
) -> None:
    simple = "https://pypi.internal.example/simple/demo-tool/"

    def respond(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-modified-since") == MODIFIED:
            return httpx.Response(304)
        return httpx.Response(
            200,
            content=asset("pypi/demo-tool.simple.html"),
            headers={"content-type": "text/html", "Last-Modified": MODIFIED},
        )

    server.add(simple, respond)
    registry = PypiRegistry(http, "https://pypi.internal.example/")

    first = registry.latest_versions("demo_tool")
    assert isinstance(first, VersionList)
    assert first.validators == Validators(last_modified=MODIFIED)
    assert first.info.versions
    assert registry.latest_versions("demo-tool", first.validators) == NotModified(
        Validators(last_modified=MODIFIED)
    )
    # The JSON API (404 here) is asked first each time, the Simple page second.
    assert server.urls() == [
        "https://pypi.internal.example/pypi/demo-tool/json",
        simple,
        "https://pypi.internal.example/pypi/demo-tool/json",
        simple,
    ]


def test_validators_from_headers_ignore_case_and_blanks() -> None:
    got = Validators.from_headers(httpx.Headers({"etag": ' "x" ', "Last-Modified": " "}))
    assert got == Validators(etag='"x"') and bool(got)
    assert Validators().request_headers() == {}
