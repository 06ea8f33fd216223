"""NpmRegistry against recorded (mirror) and synthetic (public-registry-shaped) packuments."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import httpx
import pytest

from tests.registries.conftest import FakeServer, asset, json_asset, json_response
from watcher.errors import (
    MalformedResponse,
    PackageNotFound,
    RegistryError,
    RegistryUnavailable,
    UsageError,
    VersionNotFound,
)
from watcher.httpclient import HttpClient
from watcher.models import ArtifactKind, Ecosystem, Provenance, Publisher
from watcher.registries import NpmRegistry, open_registry
from watcher.registries.wire import sri_to_hex

FS = "@modelcontextprotocol/server-filesystem"
FS_URL = "https://registry.npmjs.org/@modelcontextprotocol%2fserver-filesystem"
DEMO = "demo-mcp-server"
DEMO_URL = "https://registry.npmjs.org/demo-mcp-server"
PRIVATE = "https://npm.internal.example/"
ACME = "@acme/internal-tool"
ACME_URL = "https://npm.internal.example/@acme%2finternal-tool"


def _sha512_hex(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


# --- URLs --------------------------------------------------------------------------------------


def test_scoped_name_is_one_encoded_path_segment(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    NpmRegistry(http).package(FS)
    assert server.requests[0].url.raw_path == b"/@modelcontextprotocol%2fserver-filesystem"


@pytest.mark.parametrize(
    "base",
    ["https://repo.example/api/npm/npm-remote", "https://repo.example/api/npm/npm-remote/"],
)
def test_base_url_path_is_kept_with_or_without_slash(
    server: FakeServer, http: HttpClient, base: str
) -> None:
    server.add(
        "https://repo.example/api/npm/npm-remote/@acme%2finternal-tool",
        json_asset("npm/acme-internal-tool.private.json"),
    )
    assert NpmRegistry(http, base).package(ACME).latest == "1.0.1"


@pytest.mark.parametrize("name", ["a/b", "@scope", "@scope/", "with space", ""])
def test_invalid_names_are_not_found_without_a_request(
    server: FakeServer, http: HttpClient, name: str
) -> None:
    with pytest.raises(PackageNotFound):
        NpmRegistry(http).package(name)
    assert server.requests == []


# --- a stripped mirror packument (recorded) ------------------------------------------------


def test_mirror_packument_release(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    release = NpmRegistry(http).release(FS, "2026.1.14")

    assert release.ecosystem is Ecosystem.NPM
    assert (release.name, release.version) == (FS, "2026.1.14")
    (artifact,) = release.artifacts
    assert artifact.kind is ArtifactKind.NPM_TARBALL
    assert artifact.url == (
        "https://registry.npmjs.org/@modelcontextprotocol/server-filesystem/-/"
        "server-filesystem-2026.1.14.tgz"
    )
    assert artifact.filename == "server-filesystem-2026.1.14.tgz"
    sri = "bGAfu3fWRVeF10NxvPhFBDlRen6ExSx6YkKJzoVgQMNrbdVVV4okfGGQ3KBRu9ygXYfw5/N9ermHAJXA0uys+g=="
    assert artifact.digests == {"sha512": base64.b64decode(sri).hex()}
    assert release.published_at == datetime(2026, 1, 18, 1, 20, 41, 360000, tzinfo=UTC)
    assert release.repository == "https://github.com/modelcontextprotocol/servers"
    assert release.page_url == f"https://www.npmjs.com/package/{FS}/v/2026.1.14"


def test_mirror_strips_fields_so_they_are_unknown(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    release = NpmRegistry(http).release(FS, "2026.8.31")
    assert release.maintainers is None
    assert release.publisher is None
    # No attestations, but no _npmUser anywhere either: stripped, so not "absent".
    assert release.provenance is Provenance.UNKNOWN


def test_version_without_repository_is_none(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    assert NpmRegistry(http).release(FS, "2025.8.21").repository is None


def test_package_info_and_single_request(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    registry = NpmRegistry(http)
    info = registry.package(FS)
    registry.release(FS, "2025.8.21")
    registry.release(FS, "2026.8.31")

    assert server.urls() == [FS_URL]
    registry.clear_cache()
    registry.package(FS)
    assert server.urls() == [FS_URL, FS_URL]
    assert info.name == FS
    assert info.latest == "2026.8.31"
    assert list(info.versions) == ["2025.8.21", "2025.11.25", "2026.1.14", "2026.8.31"]
    assert info.versions["2025.11.25"] == datetime(2025, 12, 4, 21, 56, 54, 366000, tzinfo=UTC)


# --- a complete packument, as the public registry sends it -------------------------------


@pytest.fixture
def demo(server: FakeServer, http: HttpClient) -> NpmRegistry:
    server.add(DEMO_URL, json_asset("npm/demo-mcp-server.full.json"))
    return NpmRegistry(http)


def test_attestations_mean_provenance_present(demo: NpmRegistry) -> None:
    release = demo.release(DEMO, "1.0.0")
    assert release.provenance is Provenance.PRESENT
    assert release.publisher == Publisher(name="alice", email="alice@example.com")
    assert release.maintainers == frozenset({"alice", "bob"})
    assert release.unpacked_size == 18234
    assert release.artifacts[0].digests == {"sha512": _sha512_hex(b"demo-mcp-server-1.0.0")}


def test_trusted_publisher(demo: NpmRegistry) -> None:
    publisher = demo.release(DEMO, "1.1.0").publisher
    assert publisher == Publisher(
        name="GitHub Actions",
        email="npm-oidc-no-reply@github.com",
        trusted_publisher="github",
    )


def test_several_sri_algorithms_all_decoded(demo: NpmRegistry) -> None:
    digests = demo.release(DEMO, "1.1.0").artifacts[0].digests
    assert digests == {
        "sha512": _sha512_hex(b"demo-mcp-server-1.1.0"),
        "sha1": hashlib.sha1(b"demo-mcp-server-1.1.0").hexdigest(),
    }


def test_missing_attestations_in_complete_packument_are_absent(demo: NpmRegistry) -> None:
    release = demo.release(DEMO, "1.1.1")
    assert release.provenance is Provenance.ABSENT
    assert release.publisher is not None and release.publisher.name == "mallory"
    assert release.publisher.trusted_publisher is None
    assert release.maintainers == frozenset({"alice", "bob", "mallory"})
    # git+ssh with different capitals is the same repository as 1.0.0's git+https.
    assert release.repository == demo.release(DEMO, "1.0.0").repository
    assert release.repository == "https://github.com/acme-example/demo-mcp-server"


def test_shasum_fallback_and_legacy_fields(demo: NpmRegistry) -> None:
    release = demo.release(DEMO, "0.9.0")
    assert release.artifacts[0].digests == {
        "sha1": hashlib.sha1(b"demo-mcp-server-0.9.0").hexdigest()
    }
    assert release.maintainers == frozenset({"alice"})  # "alice <alice@example.com>"
    assert release.publisher is None
    assert release.repository == "https://github.com/acme-example/demo-mcp-server"
    assert release.unpacked_size is None


def test_versions_ordered_by_publish_time(demo: NpmRegistry) -> None:
    info = demo.package(DEMO)
    # 0.9.0 is listed last in the packument but was published first.
    assert list(info.versions) == ["0.9.0", "1.0.0", "1.1.0", "1.1.1"]
    assert info.latest == "1.1.1"


def test_versions_in_packument_order_when_a_time_is_missing(
    server: FakeServer, http: HttpClient
) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    del doc["time"]["1.0.0"]
    server.add(DEMO_URL, json_response(doc))
    info = NpmRegistry(http).package(DEMO)
    assert list(info.versions) == ["1.0.0", "1.1.0", "1.1.1", "0.9.0"]
    assert info.versions["1.0.0"] is None


# --- a private registry -----------------------------------------------------------------------


def test_relative_tarball_resolved_against_response_url(
    server: FakeServer, http: HttpClient
) -> None:
    server.add(ACME_URL, json_asset("npm/acme-internal-tool.private.json"))
    release = NpmRegistry(http, PRIVATE).release(ACME, "1.0.0")
    assert release.artifacts[0].url == (
        "https://npm.internal.example/@acme/internal-tool/-/internal-tool-1.0.0.tgz"
    )
    assert release.artifacts[0].filename == "internal-tool-1.0.0.tgz"
    assert release.page_url is None  # not the public registry


def test_token_goes_to_registry_host_only(
    server: FakeServer, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPM_TOKEN", "npm-secret-token")
    server.add(ACME_URL, json_asset("npm/acme-internal-tool.private.json"))
    server.add("https://cdn.example.net/acme/internal-tool-1.0.1.tgz", httpx.Response(200))

    registry = open_registry(Ecosystem.NPM, http, PRIVATE)
    artifact = registry.release(ACME, "1.0.1").artifacts[0]
    http.get(artifact.url)

    packument_request, tarball_request = server.requests
    assert packument_request.headers["authorization"] == "Bearer npm-secret-token"
    assert tarball_request.url.host == "cdn.example.net"
    assert "authorization" not in tarball_request.headers


def test_public_registry_never_gets_the_token(
    server: FakeServer, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NPM_TOKEN", "npm-secret-token")
    server.add(DEMO_URL, json_asset("npm/demo-mcp-server.full.json"))
    open_registry(Ecosystem.NPM, http).package(DEMO)
    assert "authorization" not in server.requests[0].headers


# --- errors -----------------------------------------------------------------------------------


def test_unknown_package(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(PackageNotFound) as e:
        NpmRegistry(http).package("no-such-package")
    assert str(e.value) == (
        "npm package 'no-such-package' not found on https://registry.npmjs.org/"
    )


def test_not_found_message_hides_userinfo(server: FakeServer, http: HttpClient) -> None:
    registry = NpmRegistry(http, "https://ci:s3cret-pass@npm.internal.example/")
    with pytest.raises(PackageNotFound) as e:
        registry.package(ACME)
    assert "s3cret" not in e.value.diagnostics()
    assert "npm.internal.example" in e.value.diagnostics()
    # ...while the credentials themselves were sent, as basic auth.
    assert server.requests[0].headers["authorization"].startswith("Basic ")


def test_unpublished_package_is_not_found(server: FakeServer, http: HttpClient) -> None:
    stub = {
        "_id": "gone",
        "name": "gone",
        "time": {"created": "2020-01-01T00:00:00Z", "unpublished": {"time": "2021-01-01"}},
    }
    server.add("https://registry.npmjs.org/gone", json_response(stub))
    with pytest.raises(PackageNotFound, match="unpublished"):
        NpmRegistry(http).package("gone")


def test_unknown_version_names_package_and_latest(demo: NpmRegistry) -> None:
    with pytest.raises(VersionNotFound) as e:
        demo.release(DEMO, "9.9.9")
    message = e.value.diagnostics()
    assert "'demo-mcp-server'" in message and "'9.9.9'" in message
    assert "latest known: 1.1.1, 1.1.0, 1.0.0, 0.9.0" in message


def test_non_json_body_is_malformed(server: FakeServer, http: HttpClient) -> None:
    server.add(
        DEMO_URL,
        httpx.Response(200, text="<html>proxy error</html>", headers={"content-type": "text/html"}),
    )
    with pytest.raises(MalformedResponse, match="not JSON"):
        NpmRegistry(http).package(DEMO)


def test_wrong_shape_is_malformed(server: FakeServer, http: HttpClient) -> None:
    server.add(DEMO_URL, json_response({"name": DEMO, "versions": ["1.0.0"]}))
    with pytest.raises(MalformedResponse, match="versions"):
        NpmRegistry(http).package(DEMO)


def test_one_broken_version_does_not_spoil_the_others(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    del doc["versions"]["1.0.0"]["dist"]["tarball"]
    server.add(DEMO_URL, json_response(doc))
    registry = NpmRegistry(http)
    with pytest.raises(MalformedResponse, match=r"dist\.tarball"):
        registry.release(DEMO, "1.0.0")
    assert registry.release(DEMO, "1.1.0").version == "1.1.0"


def test_bad_integrity_value_is_malformed(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    doc["versions"]["1.0.0"]["dist"]["integrity"] = "sha512-AAAA"
    server.add(DEMO_URL, json_response(doc))
    with pytest.raises(MalformedResponse, match="wrong length"):
        NpmRegistry(http).release(DEMO, "1.0.0")


def test_access_denied(server: FakeServer, http: HttpClient) -> None:
    server.add(ACME_URL, httpx.Response(401))
    with pytest.raises(RegistryError, match="access denied") as e:
        NpmRegistry(http, PRIVATE).package(ACME)
    assert not isinstance(e.value, PackageNotFound | RegistryUnavailable)


# --- retries (HttpClient policy, seen through the registry) -----------------------------


def test_503_then_200_is_retried(server: FakeServer, http: HttpClient, sleeps: list[float]) -> None:
    server.add(DEMO_URL, httpx.Response(503), json_asset("npm/demo-mcp-server.full.json"))
    assert NpmRegistry(http).package(DEMO).latest == "1.1.1"
    assert server.urls() == [DEMO_URL, DEMO_URL]
    assert sleeps == [0.0]


def test_429_retry_after_is_honoured(
    server: FakeServer, http: HttpClient, sleeps: list[float]
) -> None:
    server.add(
        DEMO_URL,
        httpx.Response(429, headers={"Retry-After": "7"}),
        json_asset("npm/demo-mcp-server.full.json"),
    )
    NpmRegistry(http).package(DEMO)
    assert sleeps == [7.0]


def test_persistent_503_is_unavailable(server: FakeServer, http: HttpClient) -> None:
    server.add(DEMO_URL, httpx.Response(503))
    with pytest.raises(RegistryUnavailable):
        NpmRegistry(http).package(DEMO)
    assert len(server.requests) == 3


# --- SRI ----------------------------------------------------------------------------------------


def test_sri_to_hex() -> None:
    data = b"payload"
    sri = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    sha256 = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert sri_to_hex(f"{sri}?opt {sha256} md5-AAAA", "t") == {
        "sha512": hashlib.sha512(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert sri_to_hex("", "t") == {}
    with pytest.raises(MalformedResponse, match="not base64"):
        sri_to_hex("sha512-not*base64", "t")


# --- URLs that do not parse -------------------------------------------------------------------

#: httpx raises InvalidURL for this (an unclosed IPv6 literal); urllib raises ValueError.
BAD_URL = "http://[::1"


def test_tarball_url_that_does_not_parse_is_malformed(server: FakeServer, http: HttpClient) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    doc["versions"]["1.0.0"]["dist"]["tarball"] = BAD_URL
    server.add(DEMO_URL, json_response(doc))
    registry = NpmRegistry(http)
    with pytest.raises(MalformedResponse, match="file URL in the response does not parse") as e:
        registry.release(DEMO, "1.0.0")
    assert "\n" not in str(e.value) and DEMO in str(e.value)
    # The other versions stay readable.
    assert registry.release(DEMO, "1.1.0").version == "1.1.0"


def test_repository_url_that_does_not_parse_is_unknown(
    server: FakeServer, http: HttpClient
) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    doc["versions"]["1.0.0"]["repository"] = {"type": "git", "url": BAD_URL + "/x.git"}
    server.add(DEMO_URL, json_response(doc))
    assert NpmRegistry(http).release(DEMO, "1.0.0").repository is None


@pytest.mark.parametrize(
    "url", [BAD_URL, "http://user:secret@host.invalid:99999/", "ftp://npm.invalid/"]
)
def test_registry_url_that_does_not_parse_is_a_usage_error(http: HttpClient, url: str) -> None:
    with pytest.raises(UsageError, match="registry URL") as e:
        open_registry(Ecosystem.NPM, http, url)
    assert "secret" not in str(e.value)


def test_the_registry_copy_of_the_manifest_is_kept(server: FakeServer, http: HttpClient) -> None:
    """What npm installs from: the packument's dependencies and scripts (manifest confusion)."""
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    declared = NpmRegistry(http).release(FS, "2026.8.31").declared
    assert declared is not None
    assert declared.dependencies is not None and declared.dependencies["glob"] == "^13.0.6"
    assert declared.scripts is not None and declared.scripts["prepare"] == "npm run build"
    # The mirror sends no hasInstallScript: unknown, not "no install script".
    assert declared.has_install_script is None


@pytest.mark.parametrize(("sent", "expected"), [(True, True), (False, False), ("yes", None)])
def test_has_shrinkwrap_is_read_from_the_packument(
    server: FakeServer, http: HttpClient, sent: object, expected: bool | None
) -> None:
    doc = json.loads(asset("npm/demo-mcp-server.full.json"))
    doc["versions"]["1.0.0"]["_hasShrinkwrap"] = sent
    server.add(DEMO_URL, json_response(doc))
    assert NpmRegistry(http).release(DEMO, "1.0.0").has_shrinkwrap is expected


def test_has_shrinkwrap_absent_is_unknown(server: FakeServer, http: HttpClient) -> None:
    server.add(FS_URL, json_asset("npm/server-filesystem.mirror.json"))
    assert NpmRegistry(http).release(FS, "2026.8.31").has_shrinkwrap is None
