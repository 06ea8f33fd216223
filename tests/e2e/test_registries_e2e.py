"""The e2e registries themselves: they start, accept the fixture packages, answer correctly.

These tests do not involve watcher; they pin down what the CLI tests rely on, so that a
failure there is known to be watcher's and not the harness's.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import zipfile
from urllib.parse import quote, urljoin

import pytest

from tests.support import packages
from tests.support.registries import PypiServer, Verdaccio, http_request

pytestmark = pytest.mark.e2e


def _tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        return tar.getnames()


def test_verdaccio_serves_published_versions_with_registry_fields(npm_registry: Verdaccio) -> None:
    document = npm_registry.packument(packages.STRUTIL)
    assert sorted(document["versions"]) == ["2.1.3", "2.1.4", "2.1.5"]
    assert document["dist-tags"]["latest"] == "2.1.5"
    malicious = document["versions"]["2.1.4"]
    assert malicious["scripts"] == {"postinstall": "node lib/setup.js"}
    # raw PUT keeps the fields `npm publish` drops: publisher-change rules can be tested
    assert malicious["_npmUser"] == packages.STRUTIL_INTRUDER
    assert malicious["maintainers"] == [packages.STRUTIL_MAINTAINER]
    assert document["versions"]["2.1.3"]["_npmUser"] == packages.STRUTIL_MAINTAINER
    assert "scripts" not in document["versions"]["2.1.5"]


@pytest.mark.parametrize(
    "release",
    [packages.strutil_2_1_3(), packages.strutil_2_1_4(), packages.clean_1_0_1()],
    ids=lambda release: f"{release.name}@{release.version}",
)
def test_verdaccio_tarballs_match_their_digests(
    npm_registry: Verdaccio, release: packages.NpmRelease
) -> None:
    dist = npm_registry.packument(release.name)["versions"][release.version]["dist"]
    assert dist["tarball"].startswith(npm_registry.url + "/")
    status, body = http_request("GET", dist["tarball"])
    assert status == 200
    assert body == release.tarball()
    assert dist["integrity"] == packages.sri_sha512(body)
    assert dist["shasum"] == hashlib.sha1(body).hexdigest()
    names = _tar_names(body)
    assert "package/package.json" in names
    assert all(name.startswith("package/") for name in names)


def test_verdaccio_keeps_a_mismatched_integrity(npm_registry: Verdaccio) -> None:
    """The integrity test relies on Verdaccio storing the `dist.integrity` it was sent."""
    dist = npm_registry.packument(packages.TAMPERED)["versions"]["1.0.1"]["dist"]
    status, body = http_request("GET", dist["tarball"])
    assert status == 200
    assert body == packages.tampered_1_0_1().tarball()
    assert dist["integrity"] == packages.sri_sha512(packages.tampered_1_0_1_claimed().tarball())
    assert dist["integrity"] != packages.sri_sha512(body)


def test_verdaccio_abbreviated_packument_flags_install_scripts(npm_registry: Verdaccio) -> None:
    status, body = http_request(
        "GET",
        f"{npm_registry.url}/{quote(packages.STRUTIL, safe='@')}",
        headers={"Accept": "application/vnd.npm.install-v1+json"},
    )
    assert status == 200
    versions = json.loads(body)["versions"]
    assert versions["2.1.4"].get("hasInstallScript") is True
    assert not versions["2.1.3"].get("hasInstallScript")


def test_verdaccio_unknown_package_is_404(npm_registry: Verdaccio) -> None:
    status, _ = http_request("GET", f"{npm_registry.url}/@watcher-e2e%2fno-such-package")
    assert status == 404
    status, _ = http_request("GET", f"{npm_registry.url}/watcher-e2e-no-such-package")
    assert status == 404


def test_pypiserver_simple_index_lists_files_with_correct_sha256(
    pypi_registry: PypiServer,
) -> None:
    page_url = f"{pypi_registry.simple_url}{packages.PYPI_NAME}/"
    status, body = http_request("GET", page_url)
    assert status == 200
    hrefs = re.findall(r'href="([^"]+)"', body.decode())
    expected = {
        filename: data
        for release in packages.pypi_releases()
        for filename, data in release.distributions()
    }
    seen = {}
    for href in hrefs:
        url, _, fragment = urljoin(page_url, href).partition("#sha256=")
        status, data = http_request("GET", url)
        assert status == 200
        assert hashlib.sha256(data).hexdigest() == fragment
        seen[url.rsplit("/", 1)[-1]] = data
    assert seen == expected


def test_pypi_fixture_wheel_is_well_formed_and_only_1_0_1_has_the_pth() -> None:
    for release in packages.pypi_releases():
        with zipfile.ZipFile(io.BytesIO(release.wheel())) as wheel:
            names = set(wheel.namelist())
            dist_info = f"{packages.PYPI_MODULE}-{release.version}.dist-info"
            assert {f"{dist_info}/METADATA", f"{dist_info}/WHEEL", f"{dist_info}/RECORD"} <= names
            record = wheel.read(f"{dist_info}/RECORD").decode()
            assert {line.split(",")[0] for line in record.splitlines()} == names
            assert (packages.PTH_NAME in names) == (release.version == "1.0.1")
        sdist_names = _tar_names(release.sdist())
        assert not any(name.endswith(".pth") for name in sdist_names)
        assert f"{packages.PYPI_MODULE}-{release.version}/PKG-INFO" in sdist_names
    assert "c2.attacker.invalid" in packages.PTH_DECODED


def test_pypiserver_unknown_package_is_404_not_a_redirect_to_pypi(
    pypi_registry: PypiServer,
) -> None:
    status, _ = http_request("GET", f"{pypi_registry.simple_url}watcher-e2e-no-such-package/")
    assert status == 404
