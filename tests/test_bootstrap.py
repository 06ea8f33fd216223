"""The Quick start's bootstrap on the distribution's own python: uv comes only from a wheel whose
sha256 is pinned, and only its one binary is extracted. A local index serves a fake wheel, so
no internet is needed; `.ci/run` exercises the real download from PyPI."""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")
VERSION = "0.13.8"

pytestmark = pytest.mark.skipif(
    not SYSTEM_PYTHON.is_file(), reason="no distribution python at /usr/bin/python3"
)

#: Stands in for uv: prints the command line it was given, one argument a line.
FAKE_UV = b'#!/bin/sh\nprintf "%s\\n" "$@"\n'


def _fake_wheel() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(f"uv-{VERSION}.data/scripts/uv", FAKE_UV)
        wheel.writestr(f"uv-{VERSION}.data/scripts/uvx", b"#!/bin/sh\nexit 0\n")
        # Never to be extracted: only the uv binary is taken, by its exact name.
        wheel.writestr("../../escaped.txt", b"outside")
        wheel.writestr("uv/__init__.py", b"")
    return buffer.getvalue()


def _platform_tag() -> str:
    machine = platform.machine().lower()
    return f"macosx_11_0_{machine}" if sys.platform == "darwin" else f"manylinux_2_17_{machine}"


class _Index:
    """A PEP 503 simple index on 127.0.0.1 with one uv wheel, whose link claims `claimed`."""

    def __init__(self, wheel: bytes, claimed: str) -> None:
        self.wheel = wheel
        self.claimed = claimed
        self.filename = f"uv-{VERSION}-py3-none-{_platform_tag()}.whl"
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.path)
                if self.path == "/simple/uv/":
                    # Relative, as pypiserver and devpi write them.
                    link = f"../../files/{owner.filename}#sha256={owner.claimed}"
                    body = f'<html><body><a href="{link}">{owner.filename}</a></body></html>'
                    return self._send(body.encode())
                if self.path == f"/files/{owner.filename}":
                    return self._send(owner.wheel)
                self.send_error(404)

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the bootstrap and its pins, as they sit in a checkout."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    (root / ".ci").mkdir()
    shutil.copy2(REPO / "scripts" / "bootstrap.py", root / "scripts" / "bootstrap.py")
    shutil.copy2(REPO / ".ci" / "uv-requirements.txt", root / ".ci" / "uv-requirements.txt")
    return root


@pytest.fixture
def serve() -> Iterator[list[_Index]]:
    started: list[_Index] = []
    yield started
    for index in started:
        index.close()


def _bootstrap(
    checkout: Path, index: _Index, tools: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    # The distribution's python with a distribution's PATH: no pyenv, no uv installed anywhere.
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    env.update(UV_INDEX_URL=index.url, WATCHER_TOOLS_DIR=str(tools))
    argv = [str(SYSTEM_PYTHON), str(checkout / "scripts" / "bootstrap.py"), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def _files(tree: Path) -> list[Path]:
    return sorted(p for p in tree.rglob("*") if not p.is_dir())


def test_a_wheel_whose_hash_is_not_pinned_is_refused_and_nothing_is_extracted(
    checkout: Path, serve: list[_Index], tmp_path: Path
) -> None:
    wheel = _fake_wheel()
    pinned = (checkout / ".ci" / "uv-requirements.txt").read_text()
    claimed = pinned.split("--hash=sha256:")[1].split()[0]
    assert hashlib.sha256(wheel).hexdigest() not in pinned
    # The index lies: its link claims a pinned hash for the tampered file.
    index = _Index(wheel, claimed)
    serve.append(index)
    tools = tmp_path / "tools"

    result = _bootstrap(checkout, index, tools, "rules", "list")

    assert result.returncode == 2
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("bootstrap: error:")]
    assert len(errors) == 1, result.stderr
    assert "sha256" in errors[0] and hashlib.sha256(wheel).hexdigest() in errors[0]
    assert "Traceback" not in result.stderr
    assert f"/files/{index.filename}" in index.requests
    assert _files(tools) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_the_pinned_wheel_gives_only_its_uv_binary_which_runs_watcher(
    checkout: Path, serve: list[_Index], tmp_path: Path
) -> None:
    wheel = _fake_wheel()
    digest = hashlib.sha256(wheel).hexdigest()
    (checkout / ".ci" / "uv-requirements.txt").write_text(
        f"uv=={VERSION} \\\n    --hash=sha256:{'0' * 64} \\\n    --hash=sha256:{digest}\n"
    )
    index = _Index(wheel, digest)
    serve.append(index)
    tools = tmp_path / "tools"

    result = _bootstrap(checkout, index, tools, "rules", "list")

    assert result.returncode == 0, result.stderr
    # It became uv, asked to run watcher from the lock in the checkout.
    assert result.stdout.splitlines() == [
        "run",
        "--project",
        str(checkout),
        "--locked",
        "watcher",
        "rules",
        "list",
    ]
    binary = tools / f"uv-{VERSION}" / "uv"
    assert _files(tools) == [binary]
    assert binary.read_bytes() == FAKE_UV
    assert os.access(binary, os.X_OK)
    assert not (tmp_path / "escaped.txt").exists()

    # Installed once: the next run asks the index nothing.
    asked = len(index.requests)
    again = _bootstrap(checkout, index, tools, "--version")
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "--version"
    assert len(index.requests) == asked
    # `--uv ARGS`: uv itself (the README's test command), nothing added.
    tests = _bootstrap(checkout, index, tools, "--uv", "run", "--locked", "pytest")
    assert tests.returncode == 0 and tests.stdout.splitlines() == ["run", "--locked", "pytest"]


def test_readme_commands_are_what_ci_runs() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = readme.split("```bash\n")[1:3]
    main_job, tests = (block.split("\n```", 1)[0].strip() for block in blocks)
    assert main_job == "python3 scripts/bootstrap.py run"
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == tests == "python3 scripts/bootstrap.py --uv run --locked pytest"
