"""resolve_ecosystem, open_registry and repository-URL normalisation."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.registries.conftest import FakeServer, json_asset
from watcher.errors import AmbiguousPackage, PackageNotFound, RegistryUnavailable
from watcher.httpclient import HttpClient
from watcher.models import Ecosystem
from watcher.registries import (
    NpmRegistry,
    PypiRegistry,
    normalize_repository_url,
    open_registry,
    resolve_ecosystem,
)

NPM_DEMO = "https://registry.npmjs.org/demo-mcp-server"
PYPI_DEMO = "https://pypi.org/pypi/demo-mcp-server/json"
PYPI_JSON = {"info": {"name": "demo-mcp-server", "version": "1.0"}, "releases": {"1.0": []}}


def _pypi_json() -> httpx.Response:
    return httpx.Response(200, content=json.dumps(PYPI_JSON).encode())


def test_open_registry_types(http: HttpClient) -> None:
    npm = open_registry(Ecosystem.NPM, http)
    pypi = open_registry(Ecosystem.PYPI, http, "https://pypi.internal.example/simple/")
    assert isinstance(npm, NpmRegistry) and npm.base_url == "https://registry.npmjs.org/"
    assert isinstance(pypi, PypiRegistry) and pypi.json_base is None
    assert npm.ecosystem is Ecosystem.NPM and pypi.ecosystem is Ecosystem.PYPI


def test_open_registry_without_token_env_adds_none(
    http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NPM_TOKEN", raising=False)
    open_registry(Ecosystem.NPM, http, "https://npm.internal.example/")
    assert http.tokens == {}
    monkeypatch.setenv("NPM_TOKEN", "t0k")
    open_registry(Ecosystem.NPM, http, "https://npm.internal.example:8443/npm/")
    assert http.tokens == {"npm.internal.example:8443": "t0k"}


@pytest.mark.parametrize(
    ("name", "explicit", "expected"),
    [
        ("requests", Ecosystem.NPM, Ecosystem.NPM),
        ("@scope/x", Ecosystem.PYPI, Ecosystem.PYPI),
        ("@scope/x", None, Ecosystem.NPM),
        ("_private-npm-name", None, Ecosystem.NPM),
        ("ends-with-dot.", None, Ecosystem.NPM),
    ],
)
def test_resolved_without_asking(
    server: FakeServer,
    http: HttpClient,
    name: str,
    explicit: Ecosystem | None,
    expected: Ecosystem,
) -> None:
    assert resolve_ecosystem(name, explicit, http, None) is expected
    assert server.requests == []


def test_only_npm_has_it(server: FakeServer, http: HttpClient) -> None:
    server.add(NPM_DEMO, json_asset("npm/demo-mcp-server.full.json"))
    assert resolve_ecosystem("demo-mcp-server", None, http, None) is Ecosystem.NPM


def test_only_pypi_has_it(server: FakeServer, http: HttpClient) -> None:
    server.add(PYPI_DEMO, _pypi_json())
    assert resolve_ecosystem("demo-mcp-server", None, http, None) is Ecosystem.PYPI


def test_both_have_it(server: FakeServer, http: HttpClient) -> None:
    server.add(NPM_DEMO, json_asset("npm/demo-mcp-server.full.json"))
    server.add(PYPI_DEMO, _pypi_json())
    with pytest.raises(AmbiguousPackage) as e:
        resolve_ecosystem("demo-mcp-server", None, http, None)
    assert str(e.value) == ("'demo-mcp-server' exists on npm and PyPI; pass --ecosystem npm|pypi")


def test_neither_has_it(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(PackageNotFound, match="'demo-mcp-server' not found on npm or PyPI"):
        resolve_ecosystem("demo-mcp-server", None, http, None)


def test_outage_is_not_an_answer(server: FakeServer, http: HttpClient) -> None:
    server.add(PYPI_DEMO, _pypi_json())
    server.add(NPM_DEMO, httpx.Response(503))
    with pytest.raises(RegistryUnavailable):
        resolve_ecosystem("demo-mcp-server", None, http, None)


def test_private_url_asked_in_both_roles(server: FakeServer, http: HttpClient) -> None:
    base = "https://pypi.internal.example/"
    # As an npm registry, a Python index answers its HTML page for /<name>: not npm.
    server.add(
        f"{base}demo-tool",
        httpx.Response(200, text="<html></html>", headers={"content-type": "text/html"}),
    )
    server.add(
        f"{base}simple/demo-tool/",
        httpx.Response(
            200,
            text='<a href="/packages/demo_tool-1.0.tar.gz#sha256=00">demo_tool-1.0.tar.gz</a>',
            headers={"content-type": "text/html"},
        ),
    )
    assert resolve_ecosystem("demo-tool", None, http, base) is Ecosystem.PYPI
    assert all(r.url.host == "pypi.internal.example" for r in server.requests)


def test_private_url_access_denied_in_both_roles_is_reported(
    server: FakeServer, http: HttpClient
) -> None:
    base = "https://npm.internal.example/"
    server.add(f"{base}demo-tool", httpx.Response(403))
    server.add(f"{base}pypi/demo-tool/json", httpx.Response(403))
    with pytest.raises(Exception, match="access denied") as e:
        resolve_ecosystem("demo-tool", None, http, base)
    assert not isinstance(e.value, PackageNotFound)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("git+https://github.com/Owner/Repo.git", "https://github.com/owner/repo"),
        ("git://github.com/owner/repo.git", "https://github.com/owner/repo"),
        ("git+ssh://git@github.com/owner/repo.git", "https://github.com/owner/repo"),
        ("git@github.com:owner/repo.git", "https://github.com/owner/repo"),
        ("github:owner/repo", "https://github.com/owner/repo"),
        ("owner/repo", "https://github.com/owner/repo"),
        ("gitlab:group/repo", "https://gitlab.com/group/repo"),
        ("https://github.com/owner/repo/tree/main/packages/x", "https://github.com/owner/repo"),
        ("https://github.com/owner/repo#readme", "https://github.com/owner/repo"),
        ("https://user:tok@git.example.org/Team/Repo.git/", "https://git.example.org/Team/Repo"),
        ("https://gitlab.com/g/sub/repo/-/tree/main", "https://gitlab.com/g/sub/repo"),
        ("", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_normalize_repository_url(raw: str | None, expected: str | None) -> None:
    assert normalize_repository_url(raw) == expected
