"""Resolution of a pinned release's dependency tree against a fake registry."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.registries.conftest import FakeServer, json_response
from watcher.httpclient import HttpClient
from watcher.models import Ecosystem
from watcher.registries.npm import NpmRegistry
from watcher.registries.pypi import PypiRegistry
from watcher.tree.catalog import RegistryCatalog
from watcher.tree.model import Bounds, Tree
from watcher.tree.resolve import resolve_tree

NPM = "https://registry.npmjs.org/"
PYPI = "https://pypi.org/"


def packument(name: str, versions: dict[str, dict[str, Any]], **tags: str) -> dict[str, Any]:
    return {
        "name": name,
        "dist-tags": tags or {"latest": list(versions)[-1]},
        "versions": {
            v: {"name": name, "version": v, "dist": {"tarball": f"{NPM}{name}/-/x-{v}.tgz"}, **m}
            for v, m in versions.items()
        },
        "time": {v: f"2026-01-{i + 1:02d}T00:00:00Z" for i, v in enumerate(versions)},
    }


def serve(server: FakeServer, *docs: dict[str, Any], etag: bool = False) -> None:
    for doc in docs:
        name = doc["name"]
        url = NPM + (name.replace("/", "%2f") if name.startswith("@") else name)

        def respond(request: httpx.Request, doc: dict[str, Any] = doc) -> httpx.Response:
            tag = f'"{doc["name"]}-1"'
            if etag and request.headers.get("if-none-match") == tag:
                return httpx.Response(304, headers={"ETag": tag})
            headers = {"ETag": tag} if etag else {}
            return httpx.Response(200, content=json.dumps(doc).encode(), headers=headers)

        server.add(url, respond)


def versions(tree: Tree) -> dict[str, str]:
    return {f"{e.package}@{e.version}": " → ".join(e.via) for e in tree.entries}


def npm_tree(http: HttpClient, name: str, version: str, **kw: Any) -> Tree:
    return resolve_tree(RegistryCatalog(NpmRegistry(http, NPM)), name, version, **kw)


def test_ranges_resolve_to_newest_match_with_paths(server: FakeServer, http: HttpClient) -> None:
    serve(
        server,
        packument("@vendor/server", {"1.2.3": {"dependencies": {"schema-validator": "^4.1.0"}}}),
        packument(
            "schema-validator",
            {"4.1.0": {}, "4.2.0": {"dependencies": {"fast-str": "~1.0.0"}}, "5.0.0": {}},
            latest="5.0.0",
        ),
        packument("fast-str", {"1.0.7": {}, "1.0.8": {}, "1.1.0": {}}),
    )
    tree = npm_tree(http, "@vendor/server", "1.2.3")
    assert versions(tree) == {
        "schema-validator@4.2.0": "@vendor/server@1.2.3",
        "fast-str@1.0.8": "@vendor/server@1.2.3 → schema-validator@^4.1.0",
    }
    fast = tree.entries[1]
    assert fast.floats
    assert fast.path("1.0.7") == (
        "@vendor/server@1.2.3 → schema-validator@^4.1.0 → fast-str 1.0.7 → 1.0.8"
    )
    assert tree.gaps == ()


def test_dist_tags_aliases_and_exact_versions(server: FakeServer, http: HttpClient) -> None:
    serve(
        server,
        packument(
            "root",
            {"1.0.0": {"dependencies": {"tagged": "next", "aliased": "npm:real@^2", "x": "1.0.0"}}},
        ),
        packument("tagged", {"1.0.0": {}, "2.0.0-rc.1": {}}, latest="1.0.0", next="2.0.0-rc.1"),
        packument("real", {"2.0.0": {}, "2.3.1": {}, "3.0.0": {}}, latest="3.0.0"),
        packument("x", {"1.0.0": {}, "1.0.1": {}}),
    )
    tree = npm_tree(http, "root", "1.0.0")
    by_name = {e.name: e for e in tree.entries}
    assert (by_name["tagged"].package, by_name["tagged"].version) == ("tagged", "2.0.0-rc.1")
    assert (by_name["aliased"].package, by_name["aliased"].version) == ("real", "2.3.1")
    assert by_name["aliased"].spec == "npm:real@^2"
    assert (by_name["x"].version, by_name["x"].floats) == ("1.0.0", False)


def test_optional_deps_keep_platform_and_peers_install(
    server: FakeServer, http: HttpClient
) -> None:
    serve(
        server,
        packument(
            "root",
            {
                "1.0.0": {
                    "dependencies": {"a": "^1.0.0"},
                    "optionalDependencies": {"native-linux": "^1.0.0", "gone": "^1.0.0"},
                    "peerDependencies": {"peer": "^1", "optional-peer": "^1"},
                    "peerDependenciesMeta": {"optional-peer": {"optional": True}},
                }
            },
        ),
        packument("a", {"1.0.0": {}}),
        packument("native-linux", {"1.0.0": {"os": ["linux"], "cpu": ["x64", "arm64"]}}),
        packument("peer", {"1.5.0": {}}),
        packument("optional-peer", {"1.0.0": {}}),
    )
    tree = npm_tree(http, "root", "1.0.0")
    by_name = {e.name: e for e in tree.entries}
    assert set(by_name) == {"a", "native-linux", "peer"}
    assert by_name["native-linux"].kind == "optional"
    assert by_name["native-linux"].condition == "os: linux, cpu: x64,arm64"
    assert by_name["peer"].kind == "peer"
    # A missing optional dependency is skipped by npm as well: not a gap.
    assert tree.gaps == ()


def test_cycles_and_diamonds_resolve_once(server: FakeServer, http: HttpClient) -> None:
    serve(
        server,
        packument("root", {"1.0.0": {"dependencies": {"left": "^1", "right": "^1"}}}),
        packument("left", {"1.0.0": {"dependencies": {"shared": "^1", "root": "^1"}}}),
        packument("right", {"1.0.0": {"dependencies": {"shared": "^1.0.0"}}}),
        packument("shared", {"1.0.0": {"dependencies": {"left": "^1"}}}),
    )
    tree = npm_tree(http, "root", "1.0.0")
    assert sorted(versions(tree)) == ["left@1.0.0", "right@1.0.0", "shared@1.0.0"]
    # Each document is asked for once, however many parents name it.
    assert sorted(server.urls()) == sorted(NPM + n for n in ("root", "left", "right", "shared"))


def test_unresolvable_and_non_registry_are_gaps(server: FakeServer, http: HttpClient) -> None:
    serve(
        server,
        packument(
            "root",
            {
                "1.0.0": {
                    "dependencies": {
                        "missing": "^1",
                        "toonew": "^9",
                        "git": "github:evil/repo",
                        "ok": "^1",
                    }
                }
            },
        ),
        packument("toonew", {"1.0.0": {}}),
        packument("ok", {"1.0.0": {}}),
    )
    tree = npm_tree(http, "root", "1.0.0")
    assert [e.package for e in tree.entries] == ["ok"]
    assert len(tree.gaps) == 3
    assert any("missing@^1" in g and "not found" in g for g in tree.gaps)
    assert any("toonew@^9" in g for g in tree.gaps)
    assert any("git@github:evil/repo" in g and "outside the registry" in g for g in tree.gaps)


def _chain(server: FakeServer, length: int) -> None:
    docs = [
        packument(f"p{i}", {"1.0.0": {"dependencies": {f"p{i + 1}": "^1"}}}) for i in range(length)
    ]
    serve(server, *docs, packument(f"p{length}", {"1.0.0": {}}))


def test_depth_bound_is_a_gap(server: FakeServer, http: HttpClient) -> None:
    _chain(server, 10)
    tree = npm_tree(http, "p0", "1.0.0", bounds=Bounds(max_depth=3))
    assert [e.package for e in tree.entries] == ["p1", "p2", "p3"]
    assert any("deeper than 3 levels" in g for g in tree.gaps)


def test_package_bound_is_a_gap(server: FakeServer, http: HttpClient) -> None:
    deps = {f"d{i}": "^1" for i in range(10)}
    serve(
        server,
        packument("root", {"1.0.0": {"dependencies": deps}}),
        *(packument(f"d{i}", {"1.0.0": {}}) for i in range(10)),
    )
    tree = npm_tree(http, "root", "1.0.0", bounds=Bounds(max_packages=4))
    assert len(tree.entries) == 4
    assert tree.gaps == ("tree cut at 4 packages: deeper dependencies are not watched",)


def test_shrinkwrap_pins_versions_without_asking_the_registry(
    server: FakeServer, http: HttpClient
) -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "root", "version": "1.0.0"},
            "node_modules/a": {"version": "1.0.0"},
            "node_modules/a/node_modules/b": {"version": "2.0.0"},
            "node_modules/al": {"name": "real", "version": "3.1.0"},
            "node_modules/devonly": {"version": "1.0.0", "dev": True},
            "node_modules/fsevents": {"version": "2.3.3", "optional": True, "os": ["darwin"]},
        },
    }
    tree = npm_tree(http, "root", "1.0.0", shrinkwrap=json.dumps(lock).encode())
    assert tree.source == "npm-shrinkwrap.json"
    assert versions(tree) == {
        "a@1.0.0": "root@1.0.0",
        "real@3.1.0": "root@1.0.0",
        "fsevents@2.3.3": "root@1.0.0",
        "b@2.0.0": "root@1.0.0 → a@1.0.0",
    }
    assert not any(e.floats for e in tree.entries)
    assert {e.package: e.condition for e in tree.entries}["fsevents"] == "os: darwin"
    assert server.requests == []


def test_shrinkwrap_v1_nested(http: HttpClient) -> None:
    lock = {
        "dependencies": {"a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0"}}}}
    }
    tree = npm_tree(http, "root", "1.0.0", shrinkwrap=json.dumps(lock).encode())
    assert versions(tree) == {"a@1.0.0": "root@1.0.0", "b@2.0.0": "root@1.0.0 → a@1.0.0"}


def test_conditional_requests_reuse_the_kept_document(server: FakeServer, http: HttpClient) -> None:
    serve(
        server,
        packument("root", {"1.0.0": {"dependencies": {"a": "^1"}}}),
        packument("a", {"1.0.0": {}}),
        etag=True,
    )
    first = RegistryCatalog(NpmRegistry(http, NPM))
    tree = resolve_tree(first, "root", "1.0.0")
    assert first.changed == {"root", "a"}
    again = RegistryCatalog(NpmRegistry(http, NPM), dict(first.known))
    assert resolve_tree(again, "root", "1.0.0") == tree
    assert (again.stats.requests, again.stats.not_modified) == (2, 2)
    assert again.changed == set() and again.moved == set()


# --- PyPI -----------------------------------------------------------------------------------


def pypi_project(server: FakeServer, name: str, releases: dict[str, list[str] | None]) -> None:
    files = {
        v: [
            {
                "filename": f"{name}-{v}.tar.gz",
                "url": f"https://files.example/{name}-{v}.tar.gz",
                "packagetype": "sdist",
                "digests": {"sha256": "0" * 64},
                "upload_time_iso_8601": f"2026-01-{i + 1:02d}T00:00:00Z",
            }
        ]
        for i, v in enumerate(releases)
    }
    latest = list(releases)[-1]
    server.add(
        f"{PYPI}pypi/{name}/json",
        json_response({"info": {"name": name, "version": latest}, "releases": files}),
    )
    for v, requires in releases.items():
        server.add(
            f"{PYPI}pypi/{name}/{v}/json",
            json_response(
                {"info": {"name": name, "version": v, "requires_dist": requires}, "urls": files[v]}
            ),
        )


def test_pypi_markers_for_linux_cpython(server: FakeServer, http: HttpClient) -> None:
    pypi_project(
        server,
        "mcp-server",
        {
            "1.0.0": [
                "httpx>=0.27,<1",
                "pywin32>=300; sys_platform == 'win32'",
                "uvloop>=0.19; sys_platform == 'linux'",
                "rich; extra == 'cli'",
                "Pinned_Pkg==1.0.0",
            ]
        },
    )
    pypi_project(server, "httpx", {"0.27.0": ["anyio"], "0.28.1": ["anyio"], "1.0.0": []})
    pypi_project(server, "anyio", {"4.0.0": [], "4.1.0rc1": []})
    pypi_project(server, "uvloop", {"0.19.0": []})
    pypi_project(server, "pinned-pkg", {"1.0.0": [], "1.0.1": []})
    catalog = RegistryCatalog(PypiRegistry(http, PYPI))
    tree = resolve_tree(catalog, "mcp-server", "1.0.0")
    assert tree.ecosystem is Ecosystem.PYPI
    assert versions(tree) == {
        "httpx@0.28.1": "mcp-server@1.0.0",
        "uvloop@0.19.0": "mcp-server@1.0.0",
        "pinned-pkg@1.0.0": "mcp-server@1.0.0",
        "anyio@4.0.0": "mcp-server@1.0.0 → httpx@<1,>=0.27",
    }
    by = {e.package: e for e in tree.entries}
    assert by["uvloop"].condition == 'sys_platform == "linux"'
    assert not by["pinned-pkg"].floats and by["httpx"].floats
    # A subscription that also runs on Windows gets what Windows installs, conditioned.
    pypi_project(server, "pywin32", {"306": []})
    both = resolve_tree(catalog, "mcp-server", "1.0.0", platforms=("linux", "windows"))
    both_by = {e.package: e for e in both.entries}
    assert both_by["pywin32"].condition == 'sys_platform == "win32"'
    assert "uvloop" in both_by and "rich" not in both_by
    windows = resolve_tree(catalog, "mcp-server", "1.0.0", platforms=("windows",))
    assert {e.package for e in windows.entries} >= {"pywin32", "httpx"}
    assert "uvloop" not in {e.package for e in windows.entries}
    assert tree.gaps == ()


def test_pypi_index_without_requirements_is_a_gap(server: FakeServer, http: HttpClient) -> None:
    pypi_project(server, "quiet", {"1.0.0": None})
    tree = resolve_tree(RegistryCatalog(PypiRegistry(http, PYPI)), "quiet", "1.0.0")
    assert tree.entries == ()
    assert tree.gaps == ("quiet@1.0.0: the index does not list its requirements",)


@pytest.mark.parametrize("spec", ["*", "latest", ""])
def test_latest_specs(server: FakeServer, http: HttpClient, spec: str) -> None:
    serve(
        server,
        packument("root", {"1.0.0": {"dependencies": {"a": spec}}}),
        packument("a", {"1.0.0": {}, "2.0.0": {}, "3.0.0-beta": {}}, latest="2.0.0"),
    )
    assert versions(npm_tree(http, "root", "1.0.0")) == {"a@2.0.0": "root@1.0.0"}
