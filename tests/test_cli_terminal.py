"""The real CLI on a terminal and on pipes: progress only when stderr is a terminal, and a
reader that stops reading (`| head -1`) is neither an error nor a changed exit code."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import pty
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support import archives
from tests.support.packages import STRUTIL, NpmRelease, strutil_2_1_3, strutil_2_1_4
from tests.test_cli import BAD, CLEAN
from watcher.rules import REGISTRY

REPO = Path(__file__).resolve().parents[1]
WATCHER = [sys.executable, "-m", "watcher"]

#: How long the slow registry takes to send one tarball: long enough for several frames.
SEND_SECONDS = 0.6
SEND_CHUNKS = 12


class _SlowRegistry:
    """An npm registry on 127.0.0.1 for `@watcher-e2e/strutil` whose tarballs trickle in."""

    def __init__(self, releases: list[NpmRelease]) -> None:
        self.releases = {r.version: r for r in releases}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _SlowRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def packument(self) -> dict[str, Any]:
        versions = {
            v: {
                **r.manifest,
                **r.registry_fields,
                "dist": {
                    "tarball": f"{self.url}/tarballs/{r.filename}",
                    "integrity": "sha512-"
                    + base64.b64encode(hashlib.sha512(r.tarball()).digest()).decode(),
                },
            }
            for v, r in self.releases.items()
        }
        times = {v: f"2026-01-0{i + 1}T00:00:00.000Z" for i, v in enumerate(self.releases)}
        latest = list(self.releases)[-1]
        tags = {"latest": latest}
        return {"name": STRUTIL, "dist-tags": tags, "versions": versions, "time": times}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = unquote(self.path)
                if path == f"/{STRUTIL}":
                    return self._send(json.dumps(owner.packument()).encode(), slow=False)
                for release in owner.releases.values():
                    if path == f"/tarballs/{release.filename}":
                        return self._send(release.tarball(), slow=True)
                self.send_error(404)

            def _send(self, body: bytes, *, slow: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not slow:
                    self.wfile.write(body)
                    return
                step = -(-len(body) // SEND_CHUNKS)
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    time.sleep(SEND_SECONDS / SEND_CHUNKS)

        return Handler


@pytest.fixture
def registry() -> Iterator[_SlowRegistry]:
    with _SlowRegistry([strutil_2_1_3(), strutil_2_1_4()]) as server:
        yield server


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update(WATCHER_DATA_DIR=str(data), TERM="xterm-256color", COLUMNS="120")
    env.pop("NO_COLOR", None)
    return env


def _run_on_terminal(
    argv: list[str], env: dict[str, str], *, stdout_too: bool = False
) -> tuple[int, bytes, bytes]:
    """Run with stderr (and stdout when `stdout_too`, else a pipe) on a pseudo-terminal:
    exit code, stdout, terminal bytes."""
    master, slave = pty.openpty()
    stdout = slave if stdout_too else subprocess.PIPE
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=stdout, stderr=slave)
    os.close(slave)
    screen = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as e:
            # Linux reports the far side closing as EIO.
            if e.errno != errno.EIO:
                raise
            break
        if not data:
            break
        screen += data
    os.close(master)
    out = proc.stdout.read() if proc.stdout is not None else b""
    return proc.wait(timeout=60), out, bytes(screen)


_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def _final_screen(data: bytes) -> list[str]:
    """The lines a terminal shows at the end, for what rich sends: text, CR, LF, cursor up
    (CSI A) and erase line (CSI K); colours and cursor visibility change nothing here."""
    lines, row, col = [""], 0, 0
    text = data.decode()
    i = 0
    while i < len(text):
        if text[i] == "\x1b":
            match = _CSI.match(text, i)
            assert match is not None, repr(text[i : i + 12])
            arg, command = match.groups()
            if command == "A":
                row = max(0, row - int(arg or 1))
            elif command == "K":
                lines[row] = lines[row][:col] if arg in ("", "0") else ""
            i = match.end()
            continue
        char = text[i]
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
        i += 1
    return [line.rstrip() for line in lines]


def _diff_argv(registry: _SlowRegistry) -> list[str]:
    return [*WATCHER, "diff", STRUTIL, "2.1.3", "2.1.4", "--registry", f"{registry.url}/"]


def test_downloads_show_progress_on_a_terminal_and_nothing_on_a_pipe(
    registry: _SlowRegistry, tmp_path: Path
) -> None:
    code, out, screen = _run_on_terminal(_diff_argv(registry), _env(tmp_path / "tty"))
    assert code == 1, screen.decode(errors="replace")
    text = screen.decode(errors="replace")
    assert "downloading watcher-e2e-strutil-2.1.4.tgz" in text
    assert "downloading watcher-e2e-strutil-2.1.3.tgz" in text
    assert "━" in text  # the bar itself
    # Cleared when done: the report's stdout is untouched by the display.
    assert b"\x1b" not in out

    piped = subprocess.run(
        _diff_argv(registry), cwd=REPO, env=_env(tmp_path / "pipe"), capture_output=True
    )
    assert piped.returncode == 1
    assert piped.stderr == b""
    assert piped.stdout == out


def test_check_shows_each_subscription_on_a_terminal_and_nothing_on_a_pipe(
    registry: _SlowRegistry, tmp_path: Path
) -> None:
    subs = tmp_path / "subs.toml"
    subs.write_text(
        f'[[package]]\necosystem = "npm"\nname = "{STRUTIL}"\npinned = "2.1.3"\n'
        f'registry = "{registry.url}/"\n'
    )
    argv = [*WATCHER, "check", "--subscriptions", str(subs)]
    code, out, screen = _run_on_terminal(argv, _env(tmp_path / "tty"))
    text = screen.decode(errors="replace")
    assert code == 1, text
    assert f"checking npm/{STRUTIL}" in text
    assert "0/1" in text
    assert "downloading watcher-e2e-strutil-2.1.4.tgz" in text

    piped = subprocess.run(argv, cwd=REPO, env=_env(tmp_path / "pipe"), capture_output=True)
    assert piped.returncode == 1
    assert b"checking" not in piped.stderr and b"downloading" not in piped.stderr
    assert b"\x1b" not in piped.stderr
    assert piped.stdout == out


def test_output_on_the_same_terminal_goes_above_the_bars_and_the_bars_leave_no_trace(
    registry: _SlowRegistry, tmp_path: Path
) -> None:
    subs = tmp_path / "subs.toml"
    subs.write_text(
        f'[[package]]\necosystem = "npm"\nname = "{STRUTIL}"\npinned = "2.1.3"\n'
        f'registry = "{registry.url}/"\n'
    )
    # -v: log lines arrive while the bars are drawn; the console alert is written meanwhile.
    argv = [*WATCHER, "-v", "check", "--subscriptions", str(subs)]
    code, _, data = _run_on_terminal(argv, _env(tmp_path / "tty"), stdout_too=True)
    assert code == 1, data.decode(errors="replace")
    assert f"checking npm/{STRUTIL}".encode() in data  # bars were drawn

    screen = _final_screen(data)
    assert not any("━" in line or "downloading" in line for line in screen), screen
    alert = [line for line in screen if line.startswith("=== watcher alert")]
    assert len(alert) == 1, screen
    summary = f"npm/{STRUTIL} 2.1.3 -> 2.1.4: critical (score 100)"
    assert any(line.startswith(summary) for line in screen), screen
    assert "VERDICT: CRITICAL   score 100/100" in screen
    logged = [line for line in screen if " INFO watcher" in line]
    assert logged, screen
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:", line) for line in logged), logged


# --------------------------------------------------------------------------- closed pipes


@pytest.fixture
def tarballs(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, files in {"clean": CLEAN, "bad": BAD}.items():
        paths[name] = tmp_path / f"{name}.tgz"
        paths[name].write_bytes(archives.npm_tarball(files))
    return paths


def _with_stdout_closed(argv: list[str], *, read_first_line: bool) -> tuple[int, bytes, bytes]:
    """Run with stdout a pipe its reader closes (after one line, or before anything is
    written): exit code, the line read, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    if read_first_line:
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        return proc.wait(timeout=60), line, err
    # The read end is gone before the command starts: its first write meets a closed pipe,
    # whatever the pipe's buffer could have held.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.stderr is not None
    err = proc.stderr.read()
    return proc.wait(timeout=60), b"", err


@pytest.mark.parametrize("read_first_line", [True, False])
def test_rules_list_into_a_closed_pipe_exits_0_quietly(read_first_line: bool) -> None:
    code, line, err = _with_stdout_closed(
        [*WATCHER, "rules", "list"], read_first_line=read_first_line
    )
    assert (code, err) == (0, b"")
    if read_first_line:
        assert line.split()[0].decode() in {rule.id for rule in REGISTRY}


@pytest.mark.parametrize("read_first_line", [True, False])
@pytest.mark.parametrize(("fail_on", "expected"), [("high", 1), ("none", 0)])
def test_diff_into_a_closed_pipe_keeps_the_verdict(
    tarballs: dict[str, Path], fail_on: str, expected: int, read_first_line: bool
) -> None:
    argv = [*WATCHER, "diff", "--old", str(tarballs["clean"]), "--new", str(tarballs["bad"])]
    code, line, err = _with_stdout_closed(
        [*argv, "--fail-on", fail_on], read_first_line=read_first_line
    )
    assert err == b""
    assert code == expected
    if read_first_line:
        assert line.startswith(b"watcher: strutil 2.1.3")
