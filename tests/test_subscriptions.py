"""Subscription files: the shipped list, defaults, every validation error with its line, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from watcher.cli import main
from watcher.errors import SubscriptionError, WatcherError
from watcher.models import Ecosystem, Severity
from watcher.registries.pypi import is_valid_pypi_name
from watcher.subscriptions import (
    DEFAULT_FAIL_ON,
    DEFAULT_INTERVAL_SECONDS,
    DEFAULT_NOTIFY,
    Subscription,
    format_interval,
    load_subscriptions,
    parse_interval,
)

SHIPPED = Path(__file__).resolve().parent.parent / "subscriptions" / "mcp-servers.toml"

#: A valid file used as the base of the error cases: each case changes one line of it.
VALID = """\
[defaults]
interval = "1h"
notify = ["slack:#mcp"]
fail_on = "medium"

[[package]]
ecosystem = "npm"
name = "@scope/server"
pinned = "1.0.0"

[[package]]  # overrides everything
ecosystem = "pypi"
name = "mcp-server-fetch"
pinned = "2025.4.7"
interval = "90s"
notify = ["console", "webhook"]
fail_on = "critical"
registry = "https://pypi.internal.example/simple/"
allow = ["network:api.github.com", "rule:code.new-host"]
suppress = ["code.network@6f7e5998603dad00"]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(SubscriptionError) as info:
        load_subscriptions(path)
    return list(info.value.problems)


def replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.splitlines()
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


# --- The shipped file -----------------------------------------------------------------------


def test_shipped_file_validates_with_valid_names_and_defaults() -> None:
    subs = load_subscriptions(SHIPPED)
    assert len(subs) == 30
    assert len(subs.files) == 1
    for sub in subs:
        assert sub.pinned
        assert sub.interval_seconds == 15 * 60
        assert sub.notify == ("slack:#mcp-supply-chain",)
        assert sub.fail_on is Severity.HIGH
        assert sub.registry is None
        if sub.ecosystem is Ecosystem.NPM:
            assert re.fullmatch(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*", sub.name)
        else:
            assert is_valid_pypi_name(sub.name)
    ecosystems = {sub.ecosystem for sub in subs}
    assert ecosystems == {Ecosystem.NPM, Ecosystem.PYPI}


def test_shipped_file_has_a_comment_per_entry() -> None:
    headers = [ln for ln in SHIPPED.read_text().splitlines() if ln.startswith("[[package]]")]
    assert len(headers) == 30
    assert all("#" in header for header in headers)


# --- Defaults and overrides -----------------------------------------------------------------


def test_defaults_apply_and_packages_override(tmp_path: Path) -> None:
    path = write(tmp_path, "mcp.toml", VALID)
    first, second = load_subscriptions(path)
    assert first == Subscription(
        ecosystem=Ecosystem.NPM,
        name="@scope/server",
        pinned="1.0.0",
        interval_seconds=3600,
        notify=("slack:#mcp",),
        fail_on=Severity.MEDIUM,
        registry=None,
        allow=(),
        source=f"{path}:6",
    )
    assert second.interval_seconds == 90
    assert second.notify == ("console", "webhook")
    assert second.fail_on is Severity.CRITICAL
    assert second.registry == "https://pypi.internal.example/simple/"
    assert second.allow == ("network:api.github.com", "rule:code.new-host")
    assert second.suppress == ("code.network@6f7e5998603dad00",)
    assert [str(a) for a in second.policy.allow] == ["network:api.github.com", "rule:code.new-host"]
    assert [str(s) for s in second.policy.suppress] == ["code.network@6f7e5998603dad00"]
    assert not first.policy
    assert second.source == f"{path}:11"


def test_builtin_defaults_without_a_defaults_table(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a.toml", '[[package]]\necosystem = "npm"\nname = "x"\npinned = "1.0.0"\n'
    )
    (sub,) = load_subscriptions(path)
    assert sub.interval_seconds == DEFAULT_INTERVAL_SECONDS
    assert sub.notify == DEFAULT_NOTIFY
    assert sub.fail_on is DEFAULT_FAIL_ON


def test_notify_duplicates_are_dropped_in_order(tmp_path: Path) -> None:
    text = '[[package]]\necosystem = "npm"\nname = "x"\npinned = "1.0.0"\n'
    text += 'notify = [\n  "console",\n  "slack:#a",\n  "console",\n]\n'
    (sub,) = load_subscriptions(write(tmp_path, "a.toml", text))
    assert sub.notify == ("console", "slack:#a")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1h30m", 5400)],
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "15", "15M", "1.5h", "15 m", "m", "-5m"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_interval(text)


def test_format_interval() -> None:
    assert [format_interval(s) for s in (45, 90, 900, 5400, 3600, 172800)] == [
        "45s",
        "90s",
        "15m",
        "90m",
        "1h",
        "2d",
    ]


# --- Validation errors: file, line, field ---------------------------------------------------


@pytest.mark.parametrize(
    ("lineno", "new_line", "field", "message"),
    [
        (
            7,
            'ecosystem = "cargo"',
            "package[1].ecosystem",
            "must be one of npm, pypi (got 'cargo')",
        ),
        (8, 'name = "@Scope/Server"', "package[1].name", "npm names are lowercase"),
        (8, 'name = "bad name"', "package[1].name", "not a valid npm package name"),
        (8, 'name = ""', "package[1].name", "must not be empty"),
        (13, 'name = "-fetch-"', "package[2].name", "not a valid PyPI project name"),
        (13, 'name = "@scope/fetch"', "package[2].name", "not a valid PyPI project name"),
        (9, 'pinned = ""', "package[1].pinned", "must not be empty"),
        (9, "pinned = 1.0", "package[1].pinned", "must be a quoted string (got 1.0)"),
        (15, 'interval = "fortnightly"', "package[2].interval", "must be a duration"),
        (15, 'interval = "10s"', "package[2].interval", "must be at least 30s (got '10s')"),
        (2, 'interval = "5s"', "defaults.interval", "must be at least 30s"),
        (
            17,
            'fail_on = "hgh"',
            "package[2].fail_on",
            "must be one of none, low, medium, high, critical (got 'hgh')",
        ),
        (4, 'fail_on = "urgent"', "defaults.fail_on", "must be one of none, low"),
        (16, 'notify = ["console", "email"]', "package[2].notify[2]", "'slack:#channel'"),
        (3, 'notify = ["slack:general"]', "defaults.notify[1]", "(got 'slack:general')"),
        (3, 'notify = "console"', "defaults.notify", "must be a list"),
        (19, 'allow = ["network"]', "package[2].allow[1]", "must be 'category:value'"),
        (
            19,
            'allow = ["network:https://api.github.com/"]',
            "package[2].allow[1]",
            "takes a host such as 'api.github.com' or '*.github.com'",
        ),
        (19, 'allow = ["network:*.com"]', "package[2].allow[1]", "not a whole top-level domain"),
        (
            19,
            'allow = ["network:api.github.com", "rule:code.netwrk"]',
            "package[2].allow[2]",
            "unknown rule 'code.netwrk' (did you mean 'code.network'?)",
        ),
        (19, 'allow = ["env:HOME"]', "package[2].allow[1]", "unknown kind 'env'"),
        (20, 'suppress = ["code.network"]', "package[2].suppress[1]", "'RULE@FINGERPRINT'"),
        (
            20,
            'suppress = ["code.netwrk@6f7e5998603dad00"]',
            "package[2].suppress[1]",
            "unknown rule 'code.netwrk'",
        ),
        (
            20,
            'suppress = ["code.network@6f7e59"]',
            "package[2].suppress[1]",
            "fingerprint must be 16 hex digits",
        ),
        (20, 'suppress = "code.network@6f7e5998603dad00"', "package[2].suppress", "list"),
        (18, 'registry = "ftp://x.example/"', "package[2].registry", "must be an http(s) URL"),
        (18, 'registry = "pypi.internal"', "package[2].registry", "must be an http(s) URL"),
        (17, 'fail_onn = "high"', "package[2].fail_onn", "unknown key (did you mean 'fail_on'?)"),
        (4, 'failon = "high"', "defaults.failon", "unknown key (did you mean 'fail_on'?)"),
        (1, "[default]", "default", "unknown key (did you mean 'defaults'?)"),
    ],
)
def test_error_names_file_line_and_field(
    tmp_path: Path, lineno: int, new_line: str, field: str, message: str
) -> None:
    path = write(tmp_path, "mcp.toml", replace_line(VALID, lineno, new_line))
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:{lineno}: {field}: "), error
    assert message in error


def test_credentials_in_registry_url_are_rejected_and_not_echoed(tmp_path: Path) -> None:
    text = replace_line(VALID, 18, 'registry = "https://deploy:s3cr3t@pypi.internal.example/"')
    (error,) = errors_of(write(tmp_path, "mcp.toml", text))
    assert error.startswith(f"{tmp_path / 'mcp.toml'}:18: package[2].registry: ")
    assert "NPM_TOKEN" in error and "PYPI_TOKEN" in error
    assert "s3cr3t" not in error


def test_token_in_query_string_is_rejected_and_not_echoed(tmp_path: Path) -> None:
    text = replace_line(VALID, 18, 'registry = "https://npm.example/?token=s3cr3t"')
    (error,) = errors_of(write(tmp_path, "mcp.toml", text))
    assert ":18: package[2].registry: must not have a query" in error
    assert "s3cr3t" not in error


def test_secret_looking_key_points_to_the_environment(tmp_path: Path) -> None:
    text = VALID + 'token = "s3cr3t"\n'
    (error,) = errors_of(write(tmp_path, "mcp.toml", text))
    assert error.startswith(f"{tmp_path / 'mcp.toml'}:21: package[2].token: unknown key")
    assert "NPM_TOKEN" in error and "s3cr3t" not in error


def test_missing_key_points_at_the_package_header(tmp_path: Path) -> None:
    text = VALID.replace('pinned = "1.0.0"\n', "")
    (error,) = errors_of(write(tmp_path, "mcp.toml", text))
    assert error == f"{tmp_path / 'mcp.toml'}:6: package[1].pinned: required key missing"


def test_single_package_table_says_to_use_an_array(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", '[package]\necosystem = "npm"\nname = "x"\npinned = "1.0.0"\n')
    (error,) = errors_of(path)
    assert error.startswith(f"{path}:1: package: must be an array of tables: write [[package]]")


def test_toml_syntax_error_gives_tomllibs_line_and_column(tmp_path: Path) -> None:
    text = replace_line(VALID, 13, 'name = "mcp-server-fetch')
    path = write(tmp_path, "mcp.toml", text)
    (error,) = errors_of(path)
    assert re.match(rf"{re.escape(str(path))}:13:\d+: invalid TOML: ", error), error


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b'[[package]]\necosystem = "npm"\nname = "caf\xe9"\n')
    assert errors_of(path) == [f"{path}:3: not UTF-8 text"]


def test_every_error_is_reported_in_file_order(tmp_path: Path) -> None:
    text = replace_line(VALID, 17, 'fail_on = "hgh"')
    text = replace_line(text, 7, 'ecosystem = "cargo"')
    text = replace_line(text, 2, 'interval = "1x"')
    path = write(tmp_path, "mcp.toml", text)
    with pytest.raises(SubscriptionError) as info:
        load_subscriptions(path)
    lines = [e.split(": ")[0] for e in info.value.problems]
    assert lines == [f"{path}:2", f"{path}:7", f"{path}:17"]
    # The exception's own message (what any other caller prints) is the first, self-contained.
    assert isinstance(info.value, WatcherError)
    assert info.value.diagnostics().startswith(f"{path}:2: defaults.interval: ")
    assert info.value.diagnostics().endswith("(and 2 more errors)")


def test_lines_inside_multiline_strings_are_not_structure(tmp_path: Path) -> None:
    text = '[[package]]\necosystem = "npm"\nnote = """\n[[package]]\nfail_on = 1\n"""\n'
    text += 'name = "x"\npinned = "1.0.0"\nfail_on = "bad"\n'
    path = write(tmp_path, "a.toml", text)
    problems = errors_of(path)
    assert f"{path}:3: package[1].note: unknown key" in problems[0]
    assert problems[1].startswith(f"{path}:9: package[1].fail_on: ")


def test_inline_package_array_errors_use_the_key_line(tmp_path: Path) -> None:
    text = 'title = "x"\npackage = [\n  {ecosystem = "npm", name = "a"},\n]\n'
    path = write(tmp_path, "a.toml", text)
    problems = errors_of(path)
    assert problems[0].startswith(f"{path}:1: title: unknown key")
    assert problems[1] == f"{path}:2: package[1].pinned: required key missing"


# --- Folders and duplicates -----------------------------------------------------------------


def test_folder_with_several_files(tmp_path: Path) -> None:
    write(tmp_path, "b.toml", '[[package]]\necosystem = "pypi"\nname = "b"\npinned = "1.0.0"\n')
    write(tmp_path, "a.toml", VALID)
    write(tmp_path, "notes.txt", "not a subscription file")
    write(tmp_path, ".a.toml.swp.toml", "this is = not [valid")
    subs = load_subscriptions(tmp_path)
    assert subs.files == (str(tmp_path / "a.toml"), str(tmp_path / "b.toml"))
    assert [s.name for s in subs] == ["@scope/server", "mcp-server-fetch", "b"]
    # [defaults] belong to their own file only.
    assert subs.subscriptions[2].fail_on is DEFAULT_FAIL_ON
    assert subs.summary() == "3 subscriptions in 2 files"


def test_duplicate_across_files_names_both_places(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", VALID)
    other = '# second team\n\n[[package]]\necosystem = "pypi"\nname = "MCP_Server.Fetch"\n'
    b = write(tmp_path, "b.toml", other + 'pinned = "1.0.0"\n')
    (error,) = errors_of(tmp_path)
    assert error.startswith(f"{b}:5: package[1].name: ")
    assert f"already subscribed at {tmp_path / 'a.toml'}:11" in error


def test_same_name_on_both_ecosystems_is_not_a_duplicate(tmp_path: Path) -> None:
    text = '[[package]]\necosystem = "npm"\nname = "mcp"\npinned = "1.0.0"\n'
    text += '[[package]]\necosystem = "pypi"\nname = "mcp"\npinned = "1.0.0"\n'
    assert len(load_subscriptions(write(tmp_path, "a.toml", text))) == 2


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope")[0].startswith(f"{tmp_path / 'nope'}: no such file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no *.toml subscription files" in errors_of(empty)[0]


# --- CLI ------------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.toml", VALID)
    code, out, err = run(capsys, "subscriptions", "validate", "--subscriptions", str(tmp_path))
    assert (code, out, err) == (0, "2 subscriptions in 1 file: OK\n", "")


def test_cli_validate_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "subscriptions", "validate", "--subscriptions", str(SHIPPED))
    assert (code, out) == (0, "30 subscriptions in 1 file: OK\n")


def test_cli_validate_errors_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = replace_line(replace_line(VALID, 17, 'fail_on = "hgh"'), 8, 'name = "Up"')
    path = write(tmp_path, "mcp.toml", text)
    code, out, err = run(capsys, "subscriptions", "validate", "--subscriptions", str(path))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"watcher: error: {path}:8: package[1].name: npm names are lowercase (got 'Up')",
        f"watcher: error: {path}:17: package[2].fail_on: must be one of none, low, medium, "
        "high, critical (got 'hgh')",
    ]


def test_cli_validate_missing_default_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "subscriptions", "validate")
    assert code == 2
    assert err.startswith("watcher: error: subscriptions: no such file or folder")


@pytest.fixture
def no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty data directory: `subscriptions list` shows the files' pins."""
    monkeypatch.setenv("WATCHER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WATCHER_DB_URL", raising=False)


@pytest.mark.usefixtures("no_store")
def test_cli_list_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "mcp.toml", VALID)
    code, out, err = run(
        capsys, "subscriptions", "list", "--subscriptions", str(path), "--format", "json"
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["schema"] == 1
    assert data["files"] == [str(path)]
    assert data["subscriptions"][1] == {
        "ecosystem": "pypi",
        "name": "mcp-server-fetch",
        "pinned": "2025.4.7",
        "pin_from": "file",
        "file_pinned": "2025.4.7",
        "interval": "90s",
        "interval_seconds": 90,
        "fail_on": "critical",
        "notify": ["console", "webhook"],
        "registry": "https://pypi.internal.example/simple/",
        "allow": ["network:api.github.com", "rule:code.new-host"],
        "suppress": ["code.network@6f7e5998603dad00"],
        "reviewed": True,
        "platforms": ["linux"],
        "source": f"{path}:11",
    }


@pytest.mark.usefixtures("no_store")
def test_cli_list_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "mcp.toml", VALID)
    code, out, _ = run(capsys, "subscriptions", "list", "--subscriptions", str(path))
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == [
        "ecosystem",
        "name",
        "pinned",
        "pin_from",
        "interval",
        "fail_on",
        "notify",
        "source",
    ]
    assert first.split() == [
        "npm",
        "@scope/server",
        "1.0.0",
        "file",
        "1h",
        "medium",
        "slack:#mcp",
        f"{path}:6",
    ]
    assert second.split()[:5] == ["pypi", "mcp-server-fetch", "2025.4.7", "file", "90s"]
    # Columns are aligned.
    assert first.index("@scope") == second.index("mcp-server") == header.index("name")


def test_cli_list_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "mcp.toml", "[[package]\n")
    code, out, err = run(capsys, "subscriptions", "list", "--subscriptions", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"watcher: error: {path}:1:")


def test_platforms_are_checked_and_default_to_linux(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    base = '[[package]]\necosystem = "pypi"\nname = "mcp"\npinned = "1.0.0"\n'
    path.write_text(base)
    assert load_subscriptions(path).subscriptions[0].platforms == ("linux",)
    path.write_text(base + 'platforms = ["linux", "windows", "linux"]\n')
    assert load_subscriptions(path).subscriptions[0].platforms == ("linux", "windows")
    path.write_text(base + 'platforms = ["beos"]\n')
    with pytest.raises(SubscriptionError, match="platforms"):
        load_subscriptions(path)
