#!/usr/bin/env python3
"""Run watcher with nothing installed but a python3 (`python3 scripts/bootstrap.py ARGS...`).

A stock Debian or Ubuntu python refuses `pip install` outside a venv (PEP 668) and may lack
`ensurepip`, so this needs neither: with the standard library only, it downloads the uv wheel
pinned by sha256 in `.ci/uv-requirements.txt` from the package index (`UV_DEFAULT_INDEX`,
`UV_INDEX_URL`, `PIP_INDEX_URL`, else PyPI), checks the hash before opening it, copies its
one `uv` binary into `.tools/uv-VERSION/` (`WATCHER_TOOLS_DIR` overrides `.tools`), and then
runs `uv run --locked watcher ARGS...`, which builds the project's venv from `uv.lock`.
Nothing outside the checkout (and uv's own cache) is written; a system-wide uv is left alone.

`python3 scripts/bootstrap.py --uv-path` only installs uv and prints where (for CI);
`python3 scripts/bootstrap.py --uv ARGS...` runs that uv with ARGS in the checkout (the
README's test command: `--uv run --locked pytest`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / ".ci" / "uv-requirements.txt"
DEFAULT_INDEX = "https://pypi.org/simple/"
#: The uv binary is about 40 MB; anything far larger is not the file we pinned.
MAX_WHEEL_BYTES = 200 * 1024 * 1024
TIMEOUT = 60.0


class BootstrapError(Exception):
    """Why uv could not be installed: one line for the user."""


def pinned_uv(requirements: Path) -> tuple[str, frozenset[str]]:
    """The uv version and its allowed sha256 digests from a `--require-hashes` file."""
    try:
        text = requirements.read_text(encoding="utf-8")
    except OSError as e:
        raise BootstrapError(f"cannot read {requirements}: {e.strerror}") from e
    words = text.replace("\\\n", " ").split()
    version = next((w.removeprefix("uv==") for w in words if w.startswith("uv==")), "")
    hashes = frozenset(w.removeprefix("--hash=sha256:") for w in words if w.startswith("--hash="))
    if not version or not hashes:
        raise BootstrapError(f"{requirements} pins no uv version with sha256 hashes")
    return version, hashes


class _Links(HTMLParser):
    """The `<a href>` targets of a PEP 503 simple index page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def fits_this_machine(filename: str) -> bool:
    """Whether a `uv-*-py3-none-PLATFORM.whl` runs here (glibc/musl Linux or macOS)."""
    machine = platform.machine().lower()
    tags = filename.removesuffix(".whl").rsplit("-", 1)[-1].split(".")
    system = platform.system()
    if system == "Linux":
        return any(t.startswith(("manylinux", "musllinux")) and t.endswith(machine) for t in tags)
    if system == "Darwin":
        return any(t.startswith("macosx") and t.endswith((machine, "universal2")) for t in tags)
    return False


def choose_wheel(index: str, version: str, hashes: frozenset[str]) -> tuple[str, str]:
    """`(filename, url)` of the pinned uv wheel for this machine, from the simple index."""
    page = urllib.parse.urljoin(index.rstrip("/") + "/", "uv/")
    try:
        with urllib.request.urlopen(page, timeout=TIMEOUT) as response:
            html = response.read(16 * 1024 * 1024).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        raise BootstrapError(f"cannot read the package index {page}: {_reason(e)}") from e
    links = _Links()
    links.feed(html)
    fitting: list[tuple[bool, str, str]] = []
    for href in links.hrefs:
        url, _, fragment = urllib.parse.urljoin(page, href).partition("#")
        filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        if filename.startswith(f"uv-{version}-") and fits_this_machine(filename):
            # The index's own hash is only a preference; the download is checked against ours.
            fitting.append((fragment.removeprefix("sha256=") not in hashes, filename, url))
    if not fitting:
        raise BootstrapError(
            f"{page} has no uv {version} wheel for {platform.system()} {platform.machine()}; "
            "install uv yourself (https://docs.astral.sh/uv/) and run `uv run --locked watcher`"
        )
    _, filename, url = min(fitting)
    return filename, url


def download_verified(url: str, hashes: frozenset[str], into: Path) -> Path:
    """Download `url` into a file under `into`; removed again unless its sha256 is pinned."""
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(prefix=".uv-", suffix=".whl", dir=into)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            size = 0
            while chunk := response.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_WHEEL_BYTES:
                    raise BootstrapError(f"{url}: more than {MAX_WHEEL_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() not in hashes:
            raise BootstrapError(
                f"{url}: sha256 {digest.hexdigest()} is not one pinned in "
                f"{REQUIREMENTS.relative_to(ROOT)}; refusing to use it"
            )
    except (urllib.error.URLError, OSError) as e:
        path.unlink(missing_ok=True)
        raise BootstrapError(f"cannot download {url}: {_reason(e)}") from e
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def extract_uv(wheel: Path, version: str, target: Path) -> Path:
    """Copy the wheel's one `uv` executable to `target/uv` (nothing else is extracted)."""
    member = f"uv-{version}.data/scripts/uv"
    binary = target / "uv"
    with zipfile.ZipFile(wheel) as archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise BootstrapError(f"{wheel.name} holds no {member}") from None
        if info.is_dir() or info.file_size > MAX_WHEEL_BYTES:
            raise BootstrapError(f"{wheel.name}: {member} is not a plausible uv binary")
        fd, name = tempfile.mkstemp(prefix=".uv-", dir=target)
        try:
            with archive.open(info) as source, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(name, 0o755)
            # Atomic: a second bootstrap running at the same time sees no half-written binary.
            os.replace(name, binary)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
    return binary


def ensure_uv() -> Path:
    """The project-local uv binary, installed from the pinned wheel on first use."""
    version, hashes = pinned_uv(REQUIREMENTS)
    tools = Path(os.environ.get("WATCHER_TOOLS_DIR") or ROOT / ".tools")
    target = tools / f"uv-{version}"
    binary = target / "uv"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    configured = (os.environ.get(v) for v in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"))
    index = next((url for url in configured if url), DEFAULT_INDEX)
    filename, url = choose_wheel(index, version, hashes)
    target.mkdir(parents=True, exist_ok=True)
    print(f"bootstrap: installing uv {version} into {target} ({filename})", file=sys.stderr)
    wheel = download_verified(url, hashes, target)
    try:
        return extract_uv(wheel, version, target)
    finally:
        wheel.unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
    return str(reason)


def main(argv: list[str]) -> int:
    """Install uv if needed, then become `uv run --locked watcher ARGV` (or `uv ARGV[1:]` after
    `--uv`, or print uv's path)."""
    try:
        uv = ensure_uv()
    except BootstrapError as e:
        print(f"bootstrap: error: {e}", file=sys.stderr)
        return 2
    if argv == ["--uv-path"]:
        print(uv)
        return 0
    if argv[:1] == ["--uv"]:
        # uv itself with the given arguments, in the checkout: the README's test command.
        os.chdir(ROOT)
        command = [str(uv), *argv[1:]]
    else:
        command = [str(uv), "run", "--project", str(ROOT), "--locked", "watcher", *argv]
    sys.stdout.flush()
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
