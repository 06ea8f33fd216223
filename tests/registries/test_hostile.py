"""Hostile registry documents: pathological pages, absurd nesting, registry text in messages.

Whatever a registry or mirror sends, the clients answer or raise one of the project's
one-line errors; they never take minutes, never raise anything else, and never let a CR or
LF taken from a registry split a message or a log line.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fuzz import assert_one_line
from watcher.errors import (
    MalformedResponse,
    PackageNotFound,
    RegistryUnavailable,
    VersionNotFound,
)
from watcher.escape import logline
from watcher.httpclient import HttpClient, RetryPolicy, make_client, retry_after
from watcher.registries import NpmRegistry, PypiRegistry
from watcher.registries.pypi import _scan_simple_html

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "registry"
SIMPLE = "https://index.invalid/simple/"
#: Generous: a linear parse of 300 KB takes milliseconds; html.parser took 112 s on the first.
PARSE_GUARD = 10.0


def _client(body: bytes | str, content_type: str = "application/json") -> HttpClient:
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data, headers={"content-type": content_type})

    return HttpClient(httpx.Client(transport=httpx.MockTransport(answer)), RetryPolicy(1))


def _packument() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ASSETS / "npm/demo-mcp-server.full.json").read_text())
    return loaded


# --- PEP 503 pages in linear time -------------------------------------------------------------

PATHOLOGICAL = {
    "<a": "<a" * 150_000,
    "unclosed quotes": '<a href="' * 33_000,
    "single quotes never closed": "<a x='" * 50_000,
    "end tags": "</a" * 100_000,
    "comments never closed": "<!--" * 75_000,
    "attributes without end": "<a x=1 " * 43_000,
    "script never closed": "<script>" * 37_000,
    "entities": "&#x110000;&amp" * 21_000,
    # int() refuses more than 4300 digits: html.unescape raised ValueError on these.
    "huge character references": ('<a href="&#' + "9" * 5000 + ';">&#' + "0" * 5000 + "65</a>")
    * 26,
}


@pytest.mark.parametrize("page", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_simple_pages_parse_quickly(page: str) -> None:
    assert len(page) >= 250_000
    registry = PypiRegistry(_client(page, "text/html"), SIMPLE)
    started = time.monotonic()
    info = registry.package("demo-tool")
    assert time.monotonic() - started < PARSE_GUARD
    assert info.versions == {}


def test_a_big_honest_page_parses_quickly() -> None:
    anchors = "".join(
        f'<a href="../../p/demo_tool-1.{i}.tar.gz#sha256={"a" * 64}" '
        f'data-requires-python="&gt;=3.9">demo_tool-1.{i}.tar.gz</a><br/>\n'
        for i in range(5_000)
    )
    registry = PypiRegistry(_client(f"<html><body>{anchors}</body></html>", "text/html"), SIMPLE)
    started = time.monotonic()
    info = registry.package("demo-tool")
    assert time.monotonic() - started < PARSE_GUARD
    assert len(info.versions) == 5_000
    (sdist,) = registry.release("demo-tool", "1.4999").artifacts
    assert sdist.url == "https://index.invalid/p/demo_tool-1.4999.tar.gz"
    assert sdist.digests == {"sha256": "a" * 64}


def test_the_scanner_reads_pages_as_html_parser_did() -> None:
    page = """<!DOCTYPE html><!-- <a href="commented.tar.gz">no</a> -->
    <BASE HREF='https://files.invalid/root/'><base href="ignored/">
    <script>var s = '<a href="scripted.tar.gz">no</a>';</script>
    <A HREF="x/demo_tool-1.0.tar.gz?a=1&amp;b=2#sha256=ab" data-requires-python="&gt;=3.8"
       DATA-YANKED>demo_<b>tool</b>-1.0.tar.gz</A>
    <a href=unquoted/demo_tool-1.1.tar.gz data-yanked="bad release" href='last/wins.tar.gz'>
      demo_tool-1.1.tar.gz</a>
    <a href="open.tar.gz">left open"""
    parsed = _scan_simple_html(page)
    assert parsed.base_href == "https://files.invalid/root/"
    first, second, third = parsed.anchors
    assert first.attrs == {
        "href": "x/demo_tool-1.0.tar.gz?a=1&b=2#sha256=ab",
        "data-requires-python": ">=3.8",
        "data-yanked": None,
    }
    assert "".join(first.text) == "demo_tool-1.0.tar.gz"
    assert second.attrs == {"href": "last/wins.tar.gz", "data-yanked": "bad release"}
    assert "".join(second.text).strip() == "demo_tool-1.1.tar.gz"
    assert third.attrs == {"href": "open.tar.gz"} and "".join(third.text) == "left open"


def test_character_references_decode_as_html_unescape_does() -> None:
    page = '<a href="a&#47;b&#x2F;c&#00047;d&#' + "9" * 9 + ';">&#65&#0;&#128;&amp;</a>'
    (anchor,) = _scan_simple_html(page).anchors
    assert anchor.attrs["href"] == "a/b/c/d\ufffd"
    assert html.unescape("".join(anchor.text)) == "A\ufffd\u20ac&"


def test_relative_hrefs_resolve_against_the_base_and_yanked_is_kept() -> None:
    page = (
        '<base href="https://files.invalid/root/">'
        '<a href="../p/demo_tool-1.0.tar.gz#sha256=' + "b" * 64 + '" data-yanked>'
        "demo_tool-1.0.tar.gz</a>"
    )
    registry = PypiRegistry(_client(page, "text/html"), SIMPLE)
    release = registry.release("demo-tool", "1.0")
    assert release.yanked
    (sdist,) = release.artifacts
    assert sdist.url == "https://files.invalid/p/demo_tool-1.0.tar.gz"
    assert sdist.digests == {"sha256": "b" * 64}


# --- absurd JSON is the registry error, one line ------------------------------------------------

DEEP = "[" * 3000 + "]" * 3000


def _npm(body: str) -> None:
    registry = NpmRegistry(_client(body))
    registry.package("demo-mcp-server")
    for version in registry.package("demo-mcp-server").versions:
        registry.release("demo-mcp-server", version)


def _pypi_json(body: str) -> None:
    PypiRegistry(_client(body), "https://pypi.invalid/").package("mcp")


def _pep691(body: str) -> None:
    PypiRegistry(_client(body, "application/vnd.pypi.simple.v1+json"), SIMPLE).package("x")


def _in_packument(raw: str) -> str:
    """The recorded packument with one version's `repository` replaced by raw JSON text."""
    text = json.dumps(_packument())
    entry = '"9.9.9": {"dist": {"tarball": "https://cdn.invalid/x.tgz"}, "repository": '
    return text.replace('"versions": {', '"versions": {' + entry + raw + "},", 1)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (_npm, DEEP),
        (_npm, _in_packument(DEEP)),
        (_npm, '{"versions": ' + '{"a": ' * 3000 + "1" + "}" * 3001),
        (_pypi_json, '{"info": ' + DEEP + "}"),
        (_pypi_json, '{"info": {}, "releases": {"1": ' + DEEP + "}}"),
        (_pep691, '{"files": ' + DEEP + "}"),
        (_npm, '{"versions": {"1.0.0": {"dist": {"tarball": "t", "unpackedSize": 9' + "9" * 5000),
        (_npm, '{"versions": {"1.0.0": {"dist": {"tarball": "t", "unpackedSize": 1e999}}}}'),
        (
            _pypi_json,
            '{"info": {}, "releases": {"1": [{"filename": "a", "url": "u", "size": "'
            + "9" * 5000
            + '"}]}}',
        ),
        (_npm, '{"versions": {"1.0.0": {"dist": {"tarball": "http://h/\\udc00.tgz"}}}}'),
        (_pep691, '{"files": [{"filename": "x-1.0.tar.gz", "url": "\\ud800"}]}'),
    ],
    ids=[
        "npm deep",
        "npm deep field",
        "npm deep objects",
        "pypi deep info",
        "pypi deep release",
        "pep691 deep",
        "huge int",
        "infinite float",
        "huge int string",
        "lone surrogate url",
        "pep691 lone surrogate url",
    ],
)
def test_hostile_json_is_a_one_line_malformed_response(call: Any, body: str) -> None:
    with pytest.raises(MalformedResponse) as caught:
        call(body)
    assert_one_line(caught.value)
    assert "Traceback" not in str(caught.value)


def test_json_nested_but_readable_is_fine() -> None:
    # Deep, but within what json and pydantic read: the version is still usable.
    body = _in_packument("[" * 500 + "]" * 500)
    registry = NpmRegistry(_client(body))
    assert registry.release("demo-mcp-server", "9.9.9").repository is None


# --- registry text in messages ----------------------------------------------------------------


def test_a_cr_in_a_registry_key_does_not_split_the_message() -> None:
    body = '{"versions": {"1.0.0\\r\\nFORGED LINE": {"dist": {"tarball": 5}}}}'
    registry = NpmRegistry(_client(body))
    (version,) = registry.package("demo").versions
    with pytest.raises(MalformedResponse) as caught:
        registry.release("demo", version)
    assert_one_line(caught.value)
    assert "1.0.0\\r\\nFORGED LINE" in str(caught.value)


def test_a_control_character_in_a_validation_location_is_escaped() -> None:
    document = {"info": {}, "releases": {"1.0\r\x1b[31m": [{"filename": 1}]}}
    with pytest.raises(MalformedResponse) as caught:
        _pypi_json(json.dumps(document))
    assert_one_line(caught.value)
    assert "\x1b" not in str(caught.value) and "1.0\\r\\x1b[31m" in str(caught.value)


def test_versions_listed_in_a_not_found_hint_are_escaped() -> None:
    document = _packument()
    document["versions"]["6.6.6\n666"] = document["versions"]["1.0.0"]
    registry = NpmRegistry(_client(json.dumps(document)))
    with pytest.raises(VersionNotFound) as caught:
        registry.release("demo-mcp-server", "7.0.0\r")
    assert_one_line(caught.value)
    assert "6.6.6\\n666" in str(caught.value) and "'7.0.0\\r'" in str(caught.value)


def test_a_percent_encoded_line_break_in_a_tarball_name_is_escaped() -> None:
    document = _packument()
    document["versions"]["1.0.0"]["dist"]["tarball"] = "https://cdn.invalid/a%0d%0ab.tgz"
    release = NpmRegistry(_client(json.dumps(document))).release("demo-mcp-server", "1.0.0")
    assert release.artifacts[0].filename == "a\\r\\nb.tgz"


def test_a_name_that_cannot_be_encoded_is_not_found() -> None:
    with pytest.raises(PackageNotFound) as caught:
        NpmRegistry(_client("{}")).package("bad\udc00name")
    assert_one_line(caught.value)


def test_logline_escapes_controls() -> None:
    assert logline("plain text, ünïcode") == "plain text, ünïcode"
    assert logline("a\rb\nc\x00d\x1be\u2028f\x85") == "a\\rb\\nc\\x00d\\x1be\\u2028f\\x85"


# --- hostile headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662", "9" * 5000, "soon", " 3 "])
def test_any_retry_after_value_is_a_wait_or_nothing(value: str) -> None:
    # As a server sends it: bytes, which httpx decodes (as UTF-8 when they are).
    wait = retry_after(httpx.Headers({"Retry-After": value.encode()}))
    assert wait is None or wait >= 0


def test_a_503_with_a_non_ascii_retry_after_is_retried_then_unavailable() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "\u00b2".encode()})

    http = make_client(transport=httpx.MockTransport(answer), retry=RetryPolicy(2, backoff=0))
    http.sleep = lambda seconds: None
    with pytest.raises(RegistryUnavailable, match="HTTP 503") as caught:
        http.get("https://registry.invalid/x")
    http.close()
    assert_one_line(caught.value)


def test_a_redirect_loop_is_unavailable_without_retrying() -> None:
    requests: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request.url)
        return httpx.Response(302, headers={"Location": "/again"})

    http = make_client(transport=httpx.MockTransport(answer), retry=RetryPolicy(3, backoff=0))
    with pytest.raises(RegistryUnavailable, match="TooManyRedirects") as caught:
        http.get("https://registry.invalid/x")
    http.close()
    assert_one_line(caught.value)
    assert len(requests) == 21  # the first request and httpx's 20 redirects, once


def test_a_version_of_too_many_digits_is_an_unparseable_version_not_a_crash() -> None:
    huge = "9" * 5000
    document = {"info": {"version": "1.0"}, "releases": {huge: [], "1.0": []}}
    registry = PypiRegistry(_client(json.dumps(document)), "https://pypi.invalid/")
    info = registry.package("mcp")
    assert set(info.versions) == {huge, "1.0"}
    with pytest.raises(VersionNotFound) as caught:
        registry.release("mcp", "8" * 5000)
    assert_one_line(caught.value)
