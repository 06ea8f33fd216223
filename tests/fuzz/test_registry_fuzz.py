"""Registry clients and wire models over random and mutated registry documents.

Recorded packuments and PyPI documents have a few of their values replaced by arbitrary JSON
(or are replaced wholesale), then served through `httpx.MockTransport`; the clients must
answer normally or raise a `WatcherError` with one line, whatever the shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import FUZZ, assert_one_line
from watcher.errors import WatcherError
from watcher.httpclient import HttpClient, RetryPolicy
from watcher.registries import NpmRegistry, PypiRegistry, wire

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "registry"

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "1.0.0", "2025-01-01T00:00:00Z", "sha512-AAAA", "../x", "http://h/"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


def _load(name: str) -> Any:
    return json.loads((ASSETS / name).read_text())


NPM_DOCS = [_load("npm/demo-mcp-server.full.json"), _load("npm/server-filesystem.mirror.json")]
PYPI_DOCS = [_load("pypi/mcp.json"), _load("pypi/mcp-1.9.4.json")]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    document = draw(st.sampled_from(documents))
    paths = _paths(document)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        document = _replace(document, path, draw(JSON))
        paths = _paths(document)
    return document


def _client(body: bytes, content_type: str = "application/json") -> HttpClient:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    transport = httpx.MockTransport(serve)
    return HttpClient(httpx.Client(transport=transport), retry=RetryPolicy(attempts=1))


def _exercise(registry: NpmRegistry | PypiRegistry, name: str) -> None:
    try:
        info = registry.package(name)
        assert all(isinstance(v, str) for v in info.versions)
        for version in list(info.versions)[-3:]:
            try:
                release = registry.release(name, version)
            except WatcherError as e:
                assert_one_line(e)
                continue
            for artifact in release.artifacts:
                assert isinstance(artifact.url, str) and isinstance(artifact.filename, str)
                assert all(isinstance(v, str) for v in artifact.digests.values())
    except WatcherError as e:
        assert_one_line(e)


@FUZZ
@given(mutated(NPM_DOCS) | JSON)
def test_npm_packuments(document: Any) -> None:
    _exercise(NpmRegistry(_client(json.dumps(document).encode())), "demo-mcp-server")


@FUZZ
@given(mutated(PYPI_DOCS) | JSON)
def test_pypi_json_api(document: Any) -> None:
    _exercise(PypiRegistry(_client(json.dumps(document).encode())), "mcp")


SIMPLE_JSON = {
    "name": "demo-tool",
    "files": [
        {"filename": "demo_tool-1.0.0.tar.gz", "url": "f/demo_tool-1.0.0.tar.gz", "hashes": {}},
        {"filename": "demo_tool-1.0.0-py3-none-any.whl", "url": "../w.whl", "yanked": "bad"},
    ],
    "versions": ["1.0.0"],
}


@FUZZ
@given(mutated([SIMPLE_JSON]) | JSON)
def test_pypi_simple_json(document: Any) -> None:
    client = _client(json.dumps(document).encode(), "application/vnd.pypi.simple.v1+json")
    _exercise(PypiRegistry(client, "https://index.invalid/simple/"), "demo-tool")


HTML_PIECES = st.sampled_from(
    [
        '<a href="demo_tool-1.0.0.tar.gz#sha256=' + "a" * 64 + '">demo_tool-1.0.0.tar.gz</a>',
        '<a href="../demo_tool-2.0-py3-none-any.whl" data-yanked>x</a>',
        "<a href=",
        "&#x110000;",
        "<a>",
        '<a href="&#' + "9" * 5000 + '">&#' + "0" * 4400 + "1",
    ]
)


@FUZZ
@given(st.lists(HTML_PIECES | st.text(max_size=40), max_size=8).map("".join))
def test_pypi_simple_html(page: str) -> None:
    client = _client(page.encode("utf-8", "surrogatepass"), "text/html")
    _exercise(PypiRegistry(client, "https://index.invalid/simple/"), "demo-tool")


@FUZZ
@given(st.text(max_size=200))
@example("sha512-" + "A" * 86 + "== sha1-!!")
@example("sha256-\u00e9")
def test_sri_and_timestamps_and_repository_urls(text: str) -> None:
    try:
        digests = wire.sri_to_hex(text, "fuzz")
        assert all(isinstance(v, str) for v in digests.values())
    except WatcherError as e:
        assert_one_line(e)
    wire.parse_time(text)
    normalized = wire.normalize_repository_url(text)
    assert normalized is None or normalized.startswith("https://")


@FUZZ
@given(JSON)
def test_wire_models(document: Any) -> None:
    models: list[type[wire.WireModel]] = [
        wire.NpmPackument,
        wire.NpmVersion,
        wire.PypiProject,
        wire.PypiVersionDoc,
        wire.SimpleProject,
    ]
    for model in models:
        try:
            wire.validate(model, document, "fuzz")
        except WatcherError as e:
            assert_one_line(e)


# --- a malformed URL in a registry document is a MalformedResponse, not httpx.InvalidURL ----
# Found by the fuzzer. `httpx.URL.join` raises InvalidURL (not a WatcherError) for references
# such as "http://[::1"; npm.py (`dist.tarball`) and pypi.py (file `url`, PEP 503 `href` and
# `<base href>`) join registry-supplied references through `wire.join_url`, which turns it
# into a one-line MalformedResponse.

BAD_URL = "http://[::1"


def test_npm_tarball_url_that_does_not_parse() -> None:
    document = _load("npm/demo-mcp-server.full.json")
    for version in document["versions"].values():
        version["dist"]["tarball"] = BAD_URL
    registry = NpmRegistry(_client(json.dumps(document).encode()))
    with pytest.raises(WatcherError):
        registry.release("demo-mcp-server", "1.0.0")


def test_pypi_file_url_that_does_not_parse() -> None:
    document = _load("pypi/mcp.json")
    for files in document["releases"].values():
        for entry in files:
            entry["url"] = BAD_URL
    with pytest.raises(WatcherError):
        PypiRegistry(_client(json.dumps(document).encode())).package("mcp")


@pytest.mark.parametrize(
    "page",
    [
        f'<a href="{BAD_URL}">demo_tool-1.0.tar.gz</a>',
        f'<base href="{BAD_URL}"><a href="demo_tool-1.0.tar.gz">demo_tool-1.0.tar.gz</a>',
    ],
)
def test_pypi_simple_href_that_does_not_parse(page: str) -> None:
    registry = PypiRegistry(_client(page.encode(), "text/html"), "https://index.invalid/simple/")
    with pytest.raises(WatcherError):
        registry.package("demo-tool")


# --- hostile JSON bodies: absurd nesting, huge numbers, controls and surrogates --------------
# The registry clients parse what any registry or mirror sends. Whatever the body, the only
# exceptions allowed out are WatcherErrors with one line (RecursionError from deep nesting,
# ValueError from huge integers and UnicodeError from lone surrogates used to escape).

_OPENERS = st.sampled_from(["[", '{"a": ', '{"versions": ', '{"dist": ', '{"info": ', '{"files": '])
_HOSTILE_LEAVES = st.sampled_from(
    [
        "1" * 5000,
        "-" + "9" * 4301,
        "1e999999",
        "-1e-999999",
        "NaN",
        "Infinity",
        '"\\ud800"',
        '"\\udc00\\r\\n\\u0000\\u001b[2J\\u2028"',
        '"' + "a" * 10_000 + '"',
        "null",
        '{"tarball": "http://[::1", "integrity": "sha512-\\r\\n"}',
    ]
)


@st.composite
def deeply_nested(draw: st.DrawFn) -> str:
    depth = draw(st.integers(0, 4000))
    opener = draw(_OPENERS)
    closer = "]" if opener == "[" else "}"
    leaf = draw(_HOSTILE_LEAVES | JSON.map(json.dumps))
    # Sometimes unbalanced: truncated bodies must be as harmless as whole ones.
    closers = depth if draw(st.booleans()) else draw(st.integers(0, depth))
    return opener * depth + leaf + closer * closers


@st.composite
def hostile_in_document(draw: st.DrawFn, documents: list[Any]) -> str:
    """A real document with one value replaced by hostile raw JSON text."""
    document = draw(st.sampled_from(documents))
    path = draw(st.sampled_from(_paths(document)))
    marker = "\u0000HOSTILE\u0000"
    text = json.dumps(_replace(document, path, marker))
    return text.replace(json.dumps(marker), draw(deeply_nested()), 1)


_KEYS = st.text(
    st.characters(codec=None, categories=None, exclude_categories=()), min_size=1, max_size=12
) | st.sampled_from(["9" * 5000, "1." * 3000 + "0", "1.0\r\nX", "\udc00", "1.0.0"])


def _serve(body: str, content_type: str = "application/json") -> HttpClient:
    return _client(body.encode("utf-8", "surrogatepass"), content_type)


@FUZZ
@given(
    deeply_nested()
    | hostile_in_document(NPM_DOCS)
    | st.dictionaries(_KEYS, JSON, max_size=4).map(lambda d: json.dumps({"versions": d}))
)
@example("[" * 3000 + "]" * 3000)
@example('{"versions": {"1\\r\\n2": {"dist": {"tarball": "x\\ud800"}}}}')
def test_npm_hostile_bodies(body: str) -> None:
    _exercise(NpmRegistry(_serve(body)), "demo-mcp-server")


_PYPI_FILE = st.fixed_dictionaries(
    {"filename": st.sampled_from(["mcp-1.0.tar.gz", "x"]) | _KEYS, "url": _KEYS},
    optional={"size": _HOSTILE_LEAVES, "yanked": JSON},
)


@FUZZ
@given(
    deeply_nested()
    | hostile_in_document(PYPI_DOCS)
    | st.dictionaries(_KEYS, st.lists(_PYPI_FILE, max_size=2), max_size=4).map(
        lambda releases: json.dumps(
            {"info": {"version": next(iter(releases), None)}, "releases": releases}
        )
    )
)
@example('{"info": ' + "[" * 3000 + "]" * 3000 + "}")
def test_pypi_json_hostile_bodies(body: str) -> None:
    _exercise(PypiRegistry(_serve(body)), "mcp")


@FUZZ
@given(deeply_nested() | hostile_in_document([SIMPLE_JSON]))
@example('{"files": [{"filename": "demo_tool-1.0.tar.gz", "url": "\\udc00"}]}')
def test_pep691_hostile_bodies(body: str) -> None:
    client = _serve(body, "application/vnd.pypi.simple.v1+json")
    _exercise(PypiRegistry(client, "https://index.invalid/simple/"), "demo-tool")
