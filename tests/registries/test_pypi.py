"""PypiRegistry: warehouse JSON API (recorded), PEP 691 JSON and PEP 503 HTML simple pages."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import httpx
import pytest

from tests.registries.conftest import FakeServer, asset, json_asset, json_response
from watcher.errors import MalformedResponse, PackageNotFound, VersionNotFound
from watcher.httpclient import HttpClient
from watcher.models import ArtifactKind, Ecosystem, Provenance
from watcher.registries import PypiRegistry, open_registry
from watcher.registries.pypi import SIMPLE_ACCEPT

MCP_URL = "https://pypi.org/pypi/mcp/json"
PRIVATE = "https://pypi.internal.example/"
DEMO_JSON_URL = "https://pypi.internal.example/pypi/demo-tool/json"
DEMO_SIMPLE_URL = "https://pypi.internal.example/simple/demo-tool/"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def simple_html() -> httpx.Response:
    return httpx.Response(
        200,
        content=asset("pypi/demo-tool.simple.html"),
        headers={"content-type": "text/html; charset=utf-8"},
    )


def simple_json() -> httpx.Response:
    return httpx.Response(
        200,
        content=asset("pypi/demo-tool.simple.json"),
        headers={"content-type": "application/vnd.pypi.simple.v1+json"},
    )


# --- warehouse JSON API (recorded from this machine's mirror) ------------------------------


@pytest.fixture
def mcp(server: FakeServer, http: HttpClient) -> PypiRegistry:
    server.add(MCP_URL, json_asset("pypi/mcp.json"))
    return PypiRegistry(http)


def test_json_api_latest_release(mcp: PypiRegistry, server: FakeServer) -> None:
    release = mcp.release("mcp", "2.3.0")

    assert release.ecosystem is Ecosystem.PYPI
    assert (release.name, release.version) == ("mcp", "2.3.0")
    wheel, sdist = release.artifacts
    # The mirror serves relative URLs; they resolve against the response URL.
    assert wheel.url == (
        "https://pypi.org/packages/packages/20/d7/"
        "4a2878f128df729db3ca04e71bfce26405cc2e0c9ebe19c592feeb4c61b9/mcp-2.3.0-py3-none-any.whl"
    )
    assert (wheel.kind, wheel.pure_python, wheel.filename) == (
        ArtifactKind.WHEEL,
        True,
        "mcp-2.3.0-py3-none-any.whl",
    )
    assert wheel.digests == {
        "sha256": "dd0c44c089d16453e8ae31a3877a0054d7a2314caaa81f5e0541b9b1734b2377"
    }
    assert sdist.kind is ArtifactKind.SDIST and sdist.filename == "mcp-2.3.0.tar.gz"
    assert sdist.url.startswith("https://pypi.org/packages/packages/9d/8d/")
    assert wheel.size is not None and wheel.size > 0
    # Project-level owners and maintainers.
    assert release.maintainers == frozenset({"dsp", "jspahrsummers", "maxisbey", "Kludex"})
    assert release.repository == "https://github.com/modelcontextprotocol/python-sdk"
    assert release.published_at == datetime(2026, 10, 2, 22, 6, 52, 119073, tzinfo=UTC)
    assert release.page_url == "https://pypi.org/project/mcp/2.3.0/"
    assert release.provenance is Provenance.UNKNOWN
    assert release.publisher is None
    assert not release.yanked
    # The latest version's repository is in the project document: no second request.
    assert server.urls() == [MCP_URL]


def test_json_api_package_info_and_single_request(mcp: PypiRegistry, server: FakeServer) -> None:
    info = mcp.package("MCP")
    mcp.release("mcp", "2.3.0")
    mcp.release("Mcp", "2.3.0")
    assert server.urls() == [MCP_URL]
    mcp.clear_cache()
    mcp.package("mcp")
    assert server.urls() == [MCP_URL, MCP_URL]
    assert info.name == "mcp"
    assert info.latest == "2.3.0"
    assert list(info.versions) == ["1.9.4", "1.10.0", "2.3.0"]
    assert info.versions["1.9.4"] == datetime(2025, 6, 12, 8, 20, 28, 551239, tzinfo=UTC)


def test_older_release_repository_from_its_own_document(
    mcp: PypiRegistry, server: FakeServer
) -> None:
    server.add("https://pypi.org/pypi/mcp/1.9.4/json", json_asset("pypi/mcp-1.9.4.json"))
    release = mcp.release("mcp", "1.9.4")
    assert release.repository == "https://github.com/modelcontextprotocol/python-sdk"
    assert server.urls() == [MCP_URL, "https://pypi.org/pypi/mcp/1.9.4/json"]


def test_older_release_repository_unknown_when_mirror_lacks_version_document(
    mcp: PypiRegistry,
) -> None:
    # This machine's mirror answers 404 for /pypi/<name>/<version>/json.
    release = mcp.release("mcp", "1.9.4")
    assert release.repository is None
    assert len(release.artifacts) == 2


def test_pep440_equal_version_is_found(mcp: PypiRegistry) -> None:
    assert mcp.release("mcp", "2.3").version == "2.3.0"


def test_unknown_version(mcp: PypiRegistry) -> None:
    with pytest.raises(VersionNotFound) as e:
        mcp.release("mcp", "9.0.0")
    message = e.value.diagnostics()
    assert "'mcp'" in message and "'9.0.0'" in message
    assert "latest known: 2.3.0, 1.10.0, 1.9.4" in message


def test_yanked_and_non_analysable_files(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("pypi/mcp.json"))
    files = doc["releases"]["1.10.0"]
    for f in files:
        f["yanked"] = True
    egg = dict(files[0], filename="mcp-1.10.0-py3.11.egg", packagetype="bdist_egg")
    egg["upload_time_iso_8601"] = "2025-06-01T00:00:00Z"
    egg["yanked"] = False
    files.append(egg)
    server.add(MCP_URL, json_response(doc))
    release = PypiRegistry(http).release("mcp", "1.10.0")
    assert release.yanked is False  # the egg is not yanked
    assert [a.filename for a in release.artifacts] == [
        "mcp-1.10.0-py3-none-any.whl",
        "mcp-1.10.0.tar.gz",
    ]
    # The egg still counts for when the release first appeared.
    assert release.published_at == datetime(2025, 6, 1, tzinfo=UTC)
    egg["yanked"] = True
    server.add(MCP_URL, json_response(doc))
    assert PypiRegistry(http).release("mcp", "1.10.0").yanked is True


def test_missing_ownership_is_unknown(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("pypi/mcp.json"))
    del doc["ownership"]
    server.add(MCP_URL, json_response(doc))
    assert PypiRegistry(http).release("mcp", "2.3.0").maintainers is None


def test_json_api_malformed(server: FakeServer, http: HttpClient) -> None:
    server.add(MCP_URL, httpx.Response(200, text="{truncated"))
    with pytest.raises(MalformedResponse, match="not JSON"):
        PypiRegistry(http).package("mcp")


def test_json_api_wrong_shape(server: FakeServer, http: HttpClient) -> None:
    server.add(MCP_URL, json_response({"info": {"name": "mcp"}, "releases": ["2.3.0"]}))
    with pytest.raises(MalformedResponse, match="releases"):
        PypiRegistry(http).package("mcp")


def test_not_found_anywhere(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(PackageNotFound) as e:
        PypiRegistry(http).package("No_Such.Project")
    assert str(e.value) == "PyPI project 'No_Such.Project' not found on https://pypi.org/"
    # Names are normalised (PEP 503) in URLs; the Simple API is the fallback.
    assert server.urls() == [
        "https://pypi.org/pypi/no-such-project/json",
        "https://pypi.org/simple/no-such-project/",
    ]


def test_invalid_name_makes_no_request(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(PackageNotFound, match="not a valid PyPI project name"):
        PypiRegistry(http).package("-bad-")
    assert server.requests == []


def test_retries_503_then_429_with_retry_after(
    server: FakeServer, http: HttpClient, sleeps: list[float]
) -> None:
    server.add(
        MCP_URL,
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "3"}),
        json_asset("pypi/mcp.json"),
    )
    assert PypiRegistry(http).package("mcp").latest == "2.3.0"
    assert sleeps == [0.0, 3.0]


# --- Simple API: PEP 503 HTML (pypiserver-style) ------------------------------------------


def test_json_404_falls_back_to_simple_html(server: FakeServer, http: HttpClient) -> None:
    server.add(DEMO_SIMPLE_URL, simple_html())
    registry = PypiRegistry(http, PRIVATE)
    info = registry.package("Demo_Tool")

    assert server.urls() == [DEMO_JSON_URL, DEMO_SIMPLE_URL]
    assert server.requests[1].headers["accept"] == SIMPLE_ACCEPT
    # No upload times in the page: PEP 440 order. The egg-only and unparseable links are gone.
    assert list(info.versions) == ["1.0", "1.1", "1.2", "1.10", "2.0rc1"]
    assert all(t is None for t in info.versions.values())
    # 2.0rc1 is a pre-release and 1.2 is yanked: what pip would pick is 1.10.
    assert info.latest == "1.10"
    assert info.name == "demo-tool"


def test_simple_html_release(server: FakeServer, http: HttpClient) -> None:
    server.add(DEMO_SIMPLE_URL, simple_html())
    registry = PypiRegistry(http, PRIVATE)

    release = registry.release("demo-tool", "1.0")
    sdist, wheel = release.artifacts
    assert sdist.url == "https://pypi.internal.example/packages/demo_tool-1.0.tar.gz"
    assert sdist.digests == {"sha256": _sha256("demo_tool-1.0.tar.gz")}
    assert wheel.kind is ArtifactKind.WHEEL and wheel.pure_python
    assert release.maintainers is None and release.publisher is None
    assert release.provenance is Provenance.UNKNOWN
    assert release.repository is None and release.page_url is None
    assert not release.yanked

    assert registry.release("demo-tool", "1.2").yanked
    assert registry.release("demo-tool", "1.1").provenance is Provenance.PRESENT
    # md5 is not an integrity check: the file is listed without digests.
    (zipped,) = registry.release("demo-tool", "1.10").artifacts
    assert (zipped.filename, zipped.kind, zipped.digests) == (
        "Demo.Tool-1.10.zip",
        ArtifactKind.SDIST,
        {},
    )
    with pytest.raises(VersionNotFound):
        registry.release("demo-tool", "0.9")  # egg only
    assert server.urls().count(DEMO_SIMPLE_URL) == 1


def test_simple_base_url_skips_the_json_api(server: FakeServer, http: HttpClient) -> None:
    server.add(DEMO_SIMPLE_URL, simple_html())
    PypiRegistry(http, "https://pypi.internal.example/simple").package("demo-tool")
    assert server.urls() == [DEMO_SIMPLE_URL]


def test_redirect_to_another_host_is_not_found(server: FakeServer, http: HttpClient) -> None:
    # pypiserver redirects unknown names to pypi.org: that is not "present on this index".
    server.add(
        DEMO_SIMPLE_URL,
        httpx.Response(303, headers={"Location": "https://pypi.org/simple/demo-tool/"}),
    )
    server.add("https://pypi.org/simple/demo-tool/", simple_html())
    with pytest.raises(PackageNotFound):
        PypiRegistry(http, PRIVATE).package("demo-tool")


def test_token_goes_to_private_index_only(
    server: FakeServer, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYPI_TOKEN", "pypi-secret-token")
    server.add(DEMO_SIMPLE_URL, simple_json())
    registry = open_registry(Ecosystem.PYPI, http, PRIVATE)
    artifact = registry.release("demo-tool", "1.1").artifacts[0]
    assert artifact.url.startswith("https://files.example.net/")
    http.get(artifact.url)
    assert all(
        r.headers.get("authorization") == "Bearer pypi-secret-token"
        for r in server.requests
        if r.url.host == "pypi.internal.example"
    )
    assert server.requests[-1].url.host == "files.example.net"
    assert "authorization" not in server.requests[-1].headers


# --- Simple API: PEP 691 JSON ---------------------------------------------------------------


@pytest.fixture
def demo691(server: FakeServer, http: HttpClient) -> PypiRegistry:
    server.add(DEMO_SIMPLE_URL, simple_json())
    return PypiRegistry(http, PRIVATE)


def test_pep691_package(demo691: PypiRegistry) -> None:
    info = demo691.package("demo-tool")
    # 0.9 only appears in PEP 700 `versions` (its egg is skipped): no time, so PEP 440 order.
    assert list(info.versions) == ["0.9", "1.0", "1.1", "1.2"]
    assert info.versions["0.9"] is None
    assert info.versions["1.1"] == datetime(2025, 2, 10, 10, tzinfo=UTC)
    assert info.latest == "1.1"  # 1.2 is yanked


def test_pep691_release_fields(demo691: PypiRegistry) -> None:
    release = demo691.release("demo-tool", "1.1")
    sdist, wheel = release.artifacts
    assert sdist.digests == {"sha256": _sha256("demo_tool-1.1.tar.gz")}  # md5 dropped
    assert sdist.size == 2100
    assert (wheel.kind, wheel.pure_python) == (ArtifactKind.WHEEL, False)
    assert release.provenance is Provenance.PRESENT
    assert release.published_at == datetime(2025, 2, 10, 10, tzinfo=UTC)


def test_pep740_null_provenance_is_absent_and_missing_is_unknown(
    demo691: PypiRegistry,
) -> None:
    release = demo691.release("demo-tool", "1.0")
    assert release.provenance is Provenance.ABSENT
    assert release.artifacts[0].url == (
        "https://pypi.internal.example/packages/demo_tool-1.0.tar.gz"
    )
    yanked = demo691.release("demo-tool", "1.2")
    assert yanked.yanked and yanked.provenance is Provenance.UNKNOWN


def test_pep691_files_of_other_projects_are_ignored(demo691: PypiRegistry) -> None:
    assert "3.0" not in demo691.package("demo-tool").versions


def test_pep691_wrong_shape(server: FakeServer, http: HttpClient) -> None:
    server.add(
        DEMO_SIMPLE_URL,
        httpx.Response(
            200,
            content=b'{"files": [{"filename": "demo_tool-1.0.tar.gz"}]}',
            headers={"content-type": "application/vnd.pypi.simple.v1+json"},
        ),
    )
    with pytest.raises(MalformedResponse, match=r"files\.0\.url"):
        PypiRegistry(http, PRIVATE).package("demo-tool")


# --- URLs that do not parse -------------------------------------------------------------------

BAD_URL = "http://[::1"


def test_file_url_that_does_not_parse_is_malformed(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("pypi/mcp.json"))
    doc["releases"]["2.3.0"][0]["url"] = BAD_URL
    server.add(MCP_URL, json_response(doc))
    with pytest.raises(MalformedResponse, match="file URL in the response does not parse") as e:
        PypiRegistry(http).package("mcp")
    assert "\n" not in str(e.value) and "'mcp'" in str(e.value)


@pytest.mark.parametrize(
    "page",
    [
        f'<a href="{BAD_URL}/demo_tool-1.0.tar.gz">demo_tool-1.0.tar.gz</a>',
        f'<base href="{BAD_URL}"><a href="demo_tool-1.0.tar.gz">demo_tool-1.0.tar.gz</a>',
    ],
)
def test_simple_href_that_does_not_parse_is_malformed(
    server: FakeServer, http: HttpClient, page: str
) -> None:
    server.add(
        DEMO_SIMPLE_URL, httpx.Response(200, text=page, headers={"content-type": "text/html"})
    )
    with pytest.raises(MalformedResponse, match="simple index .* does not parse"):
        PypiRegistry(http, PRIVATE + "simple/").package("demo-tool")


def test_pep691_file_url_that_does_not_parse_is_malformed(
    server: FakeServer, http: HttpClient
) -> None:
    page = json.loads(asset("pypi/demo-tool.simple.json"))
    page["files"][0]["url"] = BAD_URL
    server.add(
        DEMO_SIMPLE_URL,
        httpx.Response(
            200,
            content=json.dumps(page).encode(),
            headers={"content-type": "application/vnd.pypi.simple.v1+json"},
        ),
    )
    with pytest.raises(MalformedResponse, match="does not parse"):
        PypiRegistry(http, PRIVATE).package("demo-tool")


def test_project_url_that_does_not_parse_is_no_repository(
    server: FakeServer, http: HttpClient
) -> None:
    doc = json.loads(asset("pypi/mcp.json"))
    doc["info"]["project_urls"] = {"Source": BAD_URL, "Homepage": "https://exa mple.invalid/"}
    doc["info"]["home_page"] = BAD_URL
    server.add(MCP_URL, json_response(doc))
    assert PypiRegistry(http).release("mcp", doc["info"]["version"]).repository is None
