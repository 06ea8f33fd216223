"""Client configs, manifests and lock files over random shapes and text (issue 12).

Everything `watcher audit` and `watcher subscriptions import` read is someone's file: each
reader returns, or raises `OnboardError` with one line naming the file; the audit of whatever
was read never raises.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import FUZZ, assert_one_line
from watcher.onboard import OnboardError
from watcher.onboard.audit import audit
from watcher.onboard.inputs import read_inputs
from watcher.onboard.jsonc import strip_jsonc

WORDS = st.sampled_from(
    [
        "mcpServers",
        "servers",
        "inputs",
        "projects",
        "mcp",
        "command",
        "args",
        "env",
        "url",
        "type",
        "npx",
        "-y",
        "uvx",
        "--from",
        "@s/p@1.0.0",
        "p==1.0",
        "ghp_" + "F" * 36,
        "id",
        "dependencies",
        "packages",
        "node_modules/mcp-x",
        "version",
        "integrity",
        "docker",
    ]
)
TEXT = st.text(max_size=12) | WORDS
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=5),
    max_leaves=30,
)
FILES = st.sampled_from(
    [
        "claude_desktop_config.json",
        ".mcp.json",
        "mcp.json",
        "package.json",
        "package-lock.json",
        "pnpm-lock.yaml",
        "yarn.lock",
        "requirements.txt",
        "pyproject.toml",
        "uv.lock",
        "poetry.lock",
    ]
)


def _read(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        path = root / name
        path.write_bytes(data)
        try:
            inputs = read_inputs([path], discover=False, home=root, cwd=root)
        except OnboardError as error:
            assert_one_line(error)
            assert str(path) in str(error)
            return
        audit(inputs)


@FUZZ
@given(FILES, JSON)
def test_random_json_shapes(name: str, value: Any) -> None:
    _read(name, json.dumps(value).encode())


@FUZZ
@given(FILES, st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes(name: str, data: bytes) -> None:
    _read(name, data)


@FUZZ
@given(st.text(alphabet='{}[],"/*\\ \nab:', max_size=400))
def test_jsonc_stripper_never_raises_other_errors(text: str) -> None:
    try:
        stripped = strip_jsonc(text)
    except ValueError:
        return
    try:
        json.loads(stripped)
    except ValueError:
        pass
