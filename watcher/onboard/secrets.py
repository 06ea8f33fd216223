"""Secrets in MCP server configurations: found by key name and by token shape, shown masked.

A configuration file is copied between machines, committed to repositories and read by every
tool of its user; a GitHub token in its `env` block is a leaked token. Values are recognised
by well-known token prefixes and by credentials inside URLs; keys by names such as `*_TOKEN` or
`*_API_KEY`. Placeholders that make the client prompt or read the environment (`${input:x}`,
`${env:X}`, `${X}`) are the safe way and are not reported. A found secret is only ever shown
masked: its first characters (the token type) and its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

#: Token prefixes with their kind (GitHub, Anthropic, OpenAI, Slack, AWS, GitLab, npm, PyPI...).
TOKEN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("github_pat_", "GitHub token"),
    ("ghp_", "GitHub token"),
    ("gho_", "GitHub token"),
    ("ghu_", "GitHub token"),
    ("ghs_", "GitHub token"),
    ("ghr_", "GitHub token"),
    ("sk-ant-", "Anthropic API key"),
    ("sk-proj-", "OpenAI API key"),
    ("sk-", "API key"),
    ("xoxb-", "Slack token"),
    ("xoxp-", "Slack token"),
    ("xoxa-", "Slack token"),
    ("xapp-", "Slack token"),
    ("AKIA", "AWS access key"),
    ("ASIA", "AWS access key"),
    ("glpat-", "GitLab token"),
    ("npm_", "npm token"),
    ("pypi-", "PyPI token"),
    ("AIza", "Google API key"),
    ("sk_live_", "Stripe key"),
    ("rk_live_", "Stripe key"),
    ("lin_api_", "Linear API key"),
    ("ntn_", "Notion token"),
    ("secret_", "Notion token"),
)
#: Key names that hold secrets (compared upper-case, as words of the key).
SECRET_WORDS = (
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PAT",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
)
SECRET_PAIRS = (("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("AUTH", "KEY"))
#: Shorter than this, a token-prefixed value is a word, not a token.
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret found in a configuration value."""

    #: Where: `env.GITHUB_TOKEN`, `args[3]`, `headers.Authorization`.
    where: str
    #: What it looks like (`GitHub token`, `password in a URL`, `secret-named key`).
    kind: str
    #: The value masked: never the secret itself.
    masked: str


def mask(value: str) -> str:
    """`ghp_…(40 chars)`: the well-known prefix (which kind of token) and the length; nothing
    of the secret part."""
    text = value.strip()
    shown = next((p for p, _ in TOKEN_PREFIXES if text.startswith(p)), "")
    return f"{shown}…({len(text)} chars)"


def is_placeholder(value: str) -> bool:
    """`${input:x}`, `${env:X}`, `${X}`, `$X`, or empty: read from elsewhere at launch."""
    stripped = value.strip()
    return not stripped or stripped.startswith("$") or stripped in ("<your-token>", "...")


def token_kind(value: str) -> str | None:
    """The kind of token `value` is shaped like, if any."""
    text = value.strip()
    for prefix in ("Bearer ", "bearer ", "token ", "Basic "):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    if len(text) < MIN_TOKEN_LENGTH or any(c.isspace() for c in text):
        return None
    for prefix, kind in TOKEN_PREFIXES:
        if text.startswith(prefix):
            return kind
    if "://" in text:
        try:
            parts = urlsplit(text)
            if parts.password:
                return "password in a URL"
        except ValueError:
            return None
    return None


def _words(key: str) -> list[str]:
    out: list[str] = []
    word: list[str] = []
    for c in key:
        if c.isalnum():
            if c.isupper() and word and word[-1].islower():
                out.append("".join(word))
                word = []
            word.append(c)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return [w.upper() for w in out]


def secret_key(key: str) -> bool:
    """Whether a key's name says it holds a secret (`GITHUB_PERSONAL_ACCESS_TOKEN`, `apiKey`)."""
    words = _words(key)
    if any(w in SECRET_WORDS for w in words):
        return True
    return any((a, b) in SECRET_PAIRS for a, b in zip(words, words[1:], strict=False))


def find_in_pairs(pairs: tuple[tuple[str, str], ...], prefix: str) -> list[Secret]:
    """Secrets among `env` or `headers` entries: a token-shaped value, or a literal value
    under a secret-named key."""
    found = []
    for key, value in pairs:
        if is_placeholder(value):
            continue
        kind = token_kind(value)
        if kind is None and secret_key(key) and len(value.strip()) >= 8:
            kind = "secret-named key"
        if kind is not None:
            found.append(Secret(f"{prefix}.{key}", kind, mask(value)))
    return found


def find_in_args(args: tuple[str, ...]) -> list[Secret]:
    """Token-shaped arguments: `ghp_...`, `--token=...`, a URL with a password."""
    found = []
    for index, arg in enumerate(args):
        _, eq, value = arg.partition("=")
        candidates = [arg, value] if eq else [arg]
        for candidate in candidates:
            kind = token_kind(candidate)
            if kind is not None:
                found.append(Secret(f"args[{index}]", kind, mask(candidate)))
                break
    return found
