"""Limits from the environment: parsed once in `watcher.config`, used by every command."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.support import archives as A
from tests.support import packages
from watcher.artifacts.extract import DEFAULT_LIMITS, ExtractLimits
from watcher.artifacts.fetch import MAX_DOWNLOAD_BYTES
from watcher.cli import main
from watcher.config import Limits, limits_from_env
from watcher.errors import UsageError
from watcher.httpclient import HttpClient
from watcher.models import Ecosystem, Severity
from watcher.subscriptions import Subscription
from watcher.watch import registry_sources


def test_defaults_when_nothing_is_set() -> None:
    assert limits_from_env({}) == Limits(DEFAULT_LIMITS, MAX_DOWNLOAD_BYTES)
    # Set but empty counts as unset, like the other WATCHER_* variables.
    assert limits_from_env({"WATCHER_MAX_FILES": " "}) == Limits()


def test_every_variable_sets_its_limit() -> None:
    env = {
        "WATCHER_MAX_FILES": "10",
        "WATCHER_MAX_ARCHIVE_BYTES": "2000",
        "WATCHER_MAX_FILE_BYTES": "1000",
        "WATCHER_MAX_RATIO": "12.5",
        "WATCHER_MAX_DOWNLOAD_BYTES": "4096",
    }
    assert limits_from_env(env) == Limits(
        ExtractLimits(max_members=10, max_total_bytes=2000, max_file_bytes=1000, max_ratio=12.5),
        max_download_bytes=4096,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WATCHER_MAX_FILES", "abc", "WATCHER_MAX_FILES must be a positive integer (got 'abc')"),
        ("WATCHER_MAX_FILES", "0", "WATCHER_MAX_FILES must be a positive integer (got '0')"),
        ("WATCHER_MAX_FILE_BYTES", "-5", "must be a positive integer (got '-5')"),
        ("WATCHER_MAX_ARCHIVE_BYTES", "1e9", "must be a positive integer (got '1e9')"),
        ("WATCHER_MAX_DOWNLOAD_BYTES", "10MB", "must be a positive integer (got '10MB')"),
        ("WATCHER_MAX_RATIO", "nan", "WATCHER_MAX_RATIO must be a positive number (got 'nan')"),
        ("WATCHER_MAX_RATIO", "0.0", "must be a positive number (got '0.0')"),
        ("WATCHER_MAX_RATIO", "inf", "must be a positive number (got 'inf')"),
    ],
)
def test_bad_values_are_usage_errors(variable: str, value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        limits_from_env({variable: value})
    assert message in str(caught.value)


def _artifacts(tmp_path: Path) -> tuple[Path, Path]:
    old, new = packages.strutil_2_1_3(), packages.strutil_2_1_4()
    old_path, new_path = tmp_path / old.filename, tmp_path / new.filename
    old_path.write_bytes(old.tarball())
    new_path.write_bytes(new.tarball())
    return old_path, new_path


def test_cli_with_a_lowered_limit_refuses_what_the_default_accepts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    old, new = _artifacts(tmp_path)
    argv = ["diff", "--old", str(old), "--new", str(new), "--format", "json", "--fail-on", "none"]
    assert main(argv) == 0
    capsys.readouterr()

    monkeypatch.setenv("WATCHER_MAX_FILES", "2")
    assert main([*argv[:-1], "high"]) == 1
    out, _ = capsys.readouterr()
    report = json.loads(out)
    [incomplete] = [f for f in report["findings"] if f["rule"] == "analysis.incomplete"]
    assert incomplete["severity"] == "high" and "more than 2 members" in incomplete["message"]


def test_cli_bad_limit_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _artifacts(tmp_path)
    monkeypatch.setenv("WATCHER_MAX_FILES", "abc")
    assert main(["diff", "--old", str(old), "--new", str(new)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err == "watcher: error: WATCHER_MAX_FILES must be a positive integer (got 'abc')\n"


def test_scan_uses_the_limits_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    filename, data = A.ratio_bomb()  # ~60 KB in, 60 MiB out: refused by size before ratio
    path = tmp_path / filename
    path.write_bytes(data)
    monkeypatch.setenv("WATCHER_MAX_FILE_BYTES", "1000000")
    assert main(["scan", "--artifact", str(path)]) == 1
    assert "over the 1000000-byte limit per file" in capsys.readouterr().out


def test_registry_sources_take_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATCHER_MAX_DOWNLOAD_BYTES", "1234")
    monkeypatch.setenv("WATCHER_MAX_RATIO", "7")
    http = HttpClient(httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(404))))
    sub = Subscription(
        ecosystem=Ecosystem.NPM,
        name="demo",
        pinned="1.0.0",
        interval_seconds=900,
        notify=("console",),
        fail_on=Severity.HIGH,
        registry=None,
        allow=(),
        source="test.toml:1",
    )
    sources = registry_sources(http, None)(sub)
    assert sources.fetcher.max_bytes == 1234
    assert sources.limits.max_ratio == 7
    explicit = registry_sources(http, None, Limits(ExtractLimits(max_members=3), 99))(sub)
    assert explicit.fetcher.max_bytes == 99 and explicit.limits.max_members == 3
