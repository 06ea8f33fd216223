"""`from requests import post` then `post(url)`: the call line names no module (issue 10).

The prefilter looked for `requests.` on the added lines and for `import requests` in the file;
a request made through a name imported from the client was never shown to the parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.pipeline import scan_local

CALLS = """from requests import post, get

def report(data):
    return post(get("https://config.example.invalid/u").text.strip(), json={"d": data})
"""
#: Honest twin: names imported from the client, no request made.
NO_CALLS = """from requests import exceptions, codes

def failed(error):
    return isinstance(error, exceptions.RequestException) or error == codes.not_found
"""


def _network(tmp_path: Path, module: str) -> list[tuple[str, int | None]]:
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return [(f.message, f.line) for f in scan_local(artifact).findings if f.rule == "code.network"]


@pytest.mark.parametrize("client", ["requests", "httpx"])
def test_a_request_through_a_name_imported_from_the_client_is_seen(
    tmp_path: Path, client: str
) -> None:
    found = _network(tmp_path, CALLS.replace("requests", client))
    assert [line for message, line in found if "makes a network request" in message] == [4]


def test_names_imported_from_the_client_without_a_request_are_no_request(tmp_path: Path) -> None:
    found = _network(tmp_path, NO_CALLS)
    assert not any("makes a network request" in message for message, _ in found)
