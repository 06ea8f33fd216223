"""Real local registries for end-to-end tests and benchmarks: Verdaccio (npm) and pypiserver.

Nothing here is a mock: each helper starts the real server as a child process bound to
127.0.0.1 on a free port, waits until it answers, and stops it again (also when the caller
fails). Verdaccio is installed from the committed lock file `tests/e2e/node/package-lock.json`
with `npm ci` the first time it is needed; pypiserver comes from the project's dev dependencies.

Usage::

    with start_verdaccio(tmp_dir) as npm, start_pypiserver(tmp_dir / "pypi") as pypi:
        token = npm.create_user("ci", "secret")
        npm.publish(manifest, tarball, token=token)
        pypi.add_file("pkg-1.0.0.tar.gz", data)
        ...  # talk to npm.url and pypi.simple_url
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = REPO_ROOT / "tests" / "e2e" / "node"
VERDACCIO_BIN = NODE_DIR / "node_modules" / ".bin" / "verdaccio"

STARTUP_TIMEOUT = 60.0
NPM_CI_TIMEOUT = 600.0


class RegistryStartError(RuntimeError):
    """A local registry could not be installed or started; the message says why."""


# --------------------------------------------------------------------------- utilities


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One HTTP request without proxies; returns (status, body) for any status."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log_path: Path, what: str
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RegistryStartError(
                f"{what} exited with code {process.returncode} while starting; "
                f"log {log_path}:\n{_tail(log_path)}"
            )
        try:
            status, _ = http_request("GET", url, timeout=2.0)
        except OSError:
            status = 0
        if status == 200:
            return
        time.sleep(0.1)
    raise RegistryStartError(
        f"{what} did not answer 200 on {url} within {STARTUP_TIMEOUT:.0f} s; "
        f"log {log_path}:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# --------------------------------------------------------------------------- Verdaccio

VERDACCIO_CONFIG = """\
# Written by tests/support/registries.py: a private, offline npm registry for tests.
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 1000
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $all
    unpublish: $all
  '**':
    access: $all
    publish: $all
    unpublish: $all
listen: 127.0.0.1:{port}
web:
  enable: false
log:
  type: stdout
  format: json
  level: warn
publish:
  allow_offline: true
max_body_size: 50mb
"""


def ensure_verdaccio_installed(node_dir: Path = NODE_DIR) -> Path:
    """Install Verdaccio from the committed lock file if needed; returns its executable."""
    binary = node_dir / "node_modules" / ".bin" / "verdaccio"
    if binary.exists():
        return binary
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise RegistryStartError(
            f"the end-to-end tests need Node.js and npm to run Verdaccio, but {', '.join(missing)} "
            "is not on PATH: install Node.js 20 (e.g. `apt-get install -y nodejs npm`)"
        )
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=node_dir,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT,
        env=_child_env(),
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        raise RegistryStartError(
            f"`npm ci` in {node_dir} failed with code {result.returncode}:\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return binary


def _sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


@dataclass
class Verdaccio:
    """A running Verdaccio; `url` has no trailing slash."""

    url: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def create_user(self, name: str = "ci", password: str = "watcher-e2e-password") -> str:
        """Create (or log in) a user through the CouchDB user endpoint; returns its token."""
        if name in self.tokens:
            return self.tokens[name]
        body = json.dumps(
            {
                "_id": f"org.couchdb.user:{name}",
                "name": name,
                "password": password,
                "type": "user",
                "roles": [],
            }
        ).encode()
        status, answer = http_request(
            "PUT",
            f"{self.url}/-/user/org.couchdb.user:{urllib.parse.quote(name)}",
            body,
            {"Content-Type": "application/json"},
        )
        if status not in (200, 201):
            raise RegistryStartError(f"Verdaccio refused user {name!r}: {status} {answer[:300]!r}")
        token = json.loads(answer)["token"]
        if not isinstance(token, str) or not token:
            raise RegistryStartError(f"Verdaccio returned no token for {name!r}: {answer[:300]!r}")
        self.tokens[name] = token
        return token

    def tarball_url(self, name: str, version: str) -> str:
        """Where Verdaccio serves the tarball of `name@version`."""
        basename = name.rsplit("/", 1)[-1]
        return f"{self.url}/{name}/-/{basename}-{version}.tgz"

    def publish(
        self,
        manifest: Mapping[str, Any],
        tarball: bytes,
        *,
        token: str | None = None,
        extra: Mapping[str, Any] | None = None,
        dist: Mapping[str, Any] | None = None,
        tag: str = "latest",
    ) -> None:
        """Publish one version with a raw `PUT /<name>`, the way `npm publish` does.

        `manifest` is the version's package.json as a mapping. `extra` adds registry-only
        fields to the version document (`maintainers`, `_npmUser`, ...), which Verdaccio keeps.
        `dist` overrides computed `dist` fields (e.g. a wrong `integrity`, to test verification).
        """
        name = str(manifest["name"])
        version = str(manifest["version"])
        token = token or self.create_user()
        attachment = f"{name}-{version}.tgz"
        version_doc: dict[str, Any] = dict(manifest)
        version_doc.update(extra or {})
        version_doc["_id"] = f"{name}@{version}"
        version_doc["dist"] = {
            "integrity": _sri_sha512(tarball),
            "shasum": hashlib.sha1(tarball).hexdigest(),
            "tarball": self.tarball_url(name, version),
            **dict(dist or {}),
        }
        document = {
            "_id": name,
            "name": name,
            "description": manifest.get("description", ""),
            "dist-tags": {tag: version},
            "versions": {version: version_doc},
            "readme": "",
            "access": None,
            "_attachments": {
                attachment: {
                    "content_type": "application/octet-stream",
                    "data": base64.b64encode(tarball).decode("ascii"),
                    "length": len(tarball),
                }
            },
        }
        status, answer = http_request(
            "PUT",
            f"{self.url}/{urllib.parse.quote(name, safe='@')}",
            json.dumps(document).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
        if status not in (200, 201):
            raise RegistryStartError(
                f"Verdaccio refused {name}@{version}: {status} {answer[:500]!r}"
            )

    def packument(self, name: str) -> dict[str, Any]:
        """The full packument of `name` as Verdaccio serves it."""
        status, answer = http_request("GET", f"{self.url}/{urllib.parse.quote(name, safe='@')}")
        if status != 200:
            raise RegistryStartError(f"GET {name} answered {status}: {answer[:300]!r}")
        document: dict[str, Any] = json.loads(answer)
        return document

    def stop(self) -> None:
        _stop(self.process)


@contextmanager
def start_verdaccio(workdir: Path, port: int | None = None) -> Iterator[Verdaccio]:
    """Run Verdaccio with its storage under `workdir` until the block ends."""
    binary = ensure_verdaccio_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = workdir / "config.yaml"
    config.write_text(
        VERDACCIO_CONFIG.format(
            storage=json.dumps(str(workdir / "storage")),
            htpasswd=json.dumps(str(workdir / "htpasswd")),
            port=port,
        )
    )
    log_path = workdir / "verdaccio.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "--config", str(config)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
        )
    server = Verdaccio(
        url=f"http://127.0.0.1:{port}", workdir=workdir, process=process, log_path=log_path
    )
    try:
        _wait_until_ready(process, f"{server.url}/-/ping", log_path, "Verdaccio")
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- pypiserver


def pypiserver_binary() -> Path:
    """The `pypi-server` executable installed in the same environment as this Python."""
    candidates = [Path(sys.executable).parent / "pypi-server"]
    found = shutil.which("pypi-server")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise RegistryStartError(
        "pypi-server is not installed next to this Python: run the tests with `uv run pytest` "
        "(pypiserver is a dev dependency in pyproject.toml)"
    )


@dataclass
class PypiServer:
    """A running pypiserver; `url` has no trailing slash, `simple_url` has one."""

    url: str
    packages_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def simple_url(self) -> str:
        return f"{self.url}/simple/"

    def add_file(self, filename: str, data: bytes) -> Path:
        """Publish a distribution file by dropping it into the served directory."""
        if "/" in filename or "\\" in filename or filename.startswith("."):
            raise ValueError(f"not a plain file name: {filename!r}")
        path = self.packages_dir / filename
        path.write_bytes(data)
        return path

    def add_files(self, files: Sequence[tuple[str, bytes]]) -> None:
        for filename, data in files:
            self.add_file(filename, data)

    def stop(self) -> None:
        _stop(self.process)


@contextmanager
def start_pypiserver(packages_dir: Path, port: int | None = None) -> Iterator[PypiServer]:
    """Run pypiserver over `packages_dir` (created if missing) until the block ends."""
    binary = pypiserver_binary()
    packages_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = packages_dir.parent / f"pypiserver-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "run",
                "-i",
                "127.0.0.1",
                "-p",
                str(port),
                "-a",
                ".",
                "-P",
                ".",
                "--hash-algo",
                "sha256",
                "--disable-fallback",
                str(packages_dir),
            ],
            cwd=packages_dir.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
        )
    server = PypiServer(
        url=f"http://127.0.0.1:{port}",
        packages_dir=packages_dir,
        process=process,
        log_path=log_path,
    )
    try:
        _wait_until_ready(process, f"{server.url}/simple/", log_path, "pypiserver")
        yield server
    finally:
        server.stop()
