"""A reviewer's 30 seconds on a release with one wheel per platform, through the real CLI and a
real pypiserver: the same finding in the sdist and every wheel is one line with ×N."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cli import RunWatcher
from tests.support.registries import PypiServer, RegistryStartError, start_pypiserver

pytestmark = pytest.mark.e2e

NAME = "platmcp"
PLATFORMS = ("manylinux_2_17_x86_64", "macosx_11_0_arm64", "win_amd64")
BOOT = "import urllib.request\nurllib.request.urlopen('https://telemetry.example.com/ping')\n"


def _metadata(version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n"


def _sources(version: str) -> dict[str, str]:
    if version == "1.0.0":
        return {f"{NAME}/__init__.py": "VERSION = '1.0.0'\n"}
    return {
        f"{NAME}/__init__.py": "from . import _boot\nVERSION = '1.0.1'\n",
        f"{NAME}/_boot.py": BOOT,
    }


def _sdist(version: str) -> bytes:
    root = f"{NAME}-{version}"
    files = {
        "PKG-INFO": _metadata(version),
        f"{NAME}.egg-info/top_level.txt": f"{NAME}\n",
        **_sources(version),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wheel(version: str, platform: str) -> bytes:
    dist_info = f"{NAME}-{version}.dist-info"
    tag = f"cp312-cp312-{platform}"
    files = {
        **_sources(version),
        f"{dist_info}/METADATA": _metadata(version),
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},{len(text.encode())}"
        for path, text in files.items()
    ]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PypiServer]:
    packages_dir = tmp_path / "packages"
    packages_dir.mkdir()
    for version in ("1.0.0", "1.0.1"):
        (packages_dir / f"{NAME}-{version}.tar.gz").write_bytes(_sdist(version))
        for platform in PLATFORMS:
            filename = f"{NAME}-{version}-cp312-cp312-{platform}.whl"
            (packages_dir / filename).write_bytes(_wheel(version, platform))
    try:
        with start_pypiserver(packages_dir) as server:
            yield server
    except RegistryStartError as error:
        pytest.fail(f"cannot run the PyPI end-to-end registry: {error}", pytrace=False)


def test_the_same_finding_in_every_platform_wheel_is_one_line(
    run_watcher: RunWatcher, index: PypiServer
) -> None:
    argv = ("diff", NAME, "1.0.0", "1.0.1", "--ecosystem", "pypi", "--registry", index.simple_url)
    report = run_watcher(*argv, "--format", "json", "--fail-on", "none")
    assert report.returncode == 0, report.describe()
    data = report.json()
    assert len(data["artifacts"]) == 4
    network = [f for f in data["findings"] if f["rule"] == "code.network"]
    assert len(network) == 4 and {f["reach"] for f in network} == {"import"}
    text = run_watcher(*argv, "--fail-on", "none")
    lines = [line for line in text.stdout.splitlines() if "  code.network  " in line]
    assert len(lines) == 1 and lines[0].endswith("×4"), text.stdout
    assert f"    in: {NAME}/_boot.py:2 [in 4 artifacts]" in text.stdout
    assert f"  A {NAME}/_boot.py  +2 −0" in text.stdout
