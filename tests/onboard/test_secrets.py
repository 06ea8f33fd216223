"""Secrets by key name and token shape; only ever shown masked."""

from __future__ import annotations

import pytest

from watcher.onboard.secrets import find_in_args, find_in_pairs, mask, secret_key, token_kind

FAKE_PAT = "ghp_" + "FAKE" * 9
FAKE_ANTHROPIC = "sk-ant-api03-" + "FAKEFAKE" * 10
FAKE_DB = "postgresql://app:FAKE-db-password-123@db.invalid:5432/app"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (FAKE_PAT, "GitHub token"),
        ("github_pat_" + "FAKE" * 20, "GitHub token"),
        (FAKE_ANTHROPIC, "Anthropic API key"),
        ("xoxb-" + "1" * 12 + "-FAKEFAKEFAKE", "Slack token"),
        ("AKIA" + "FAKEFAKEFAKEFAKE", "AWS access key"),
        ("Bearer " + FAKE_PAT, "GitHub token"),
        (FAKE_DB, "password in a URL"),
        ("postgresql://app@db.invalid/app", None),
        ("ghp_short", None),
        ("https://api.invalid/v1", None),
        ("a normal sentence with words", None),
    ],
)
def test_token_shapes(value: str, kind: str | None) -> None:
    assert token_kind(value) == kind


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("GITHUB_PERSONAL_ACCESS_TOKEN", True),
        ("ANTHROPIC_API_KEY", True),
        ("apiKey", True),
        ("DB_PASSWORD", True),
        ("client_secret", True),
        ("MONKEY", False),
        ("KEYBOARD_LAYOUT", False),
        ("PATH", False),
        ("LOG_LEVEL", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert secret_key(key) is secret


def test_env_pairs_skip_placeholders_and_mask() -> None:
    found = find_in_pairs(
        (
            ("GITHUB_TOKEN", FAKE_PAT),
            ("OPENAI_API_KEY", "${input:openai}"),
            ("SLACK_TOKEN", "${env:SLACK_TOKEN}"),
            ("DB_PASSWORD", "correct-horse-battery"),
            ("DATABASE_URL", FAKE_DB),
            ("LOG_LEVEL", "debug"),
        ),
        "env",
    )
    assert [(s.where, s.kind) for s in found] == [
        ("env.GITHUB_TOKEN", "GitHub token"),
        ("env.DB_PASSWORD", "secret-named key"),
        ("env.DATABASE_URL", "password in a URL"),
    ]
    assert found[0].masked == "ghp_…(40 chars)"
    for secret in found:
        assert "FAKE" not in secret.masked and "horse" not in secret.masked


def test_args_tokens() -> None:
    found = find_in_args(("-y", "pkg", f"--token={FAKE_ANTHROPIC}", FAKE_DB))
    assert [(s.where, s.kind) for s in found] == [
        ("args[2]", "Anthropic API key"),
        ("args[3]", "password in a URL"),
    ]
    assert mask(FAKE_ANTHROPIC) == f"sk-ant-…({len(FAKE_ANTHROPIC)} chars)"
