"""Secrets sent out: a credential, the whole environment or key material reaching the arguments
of a call that sends them, with where they go (SPEC §4.2 flows, §4.4 critical).

The flow is read by the parsers (`Call.arg_sources`): the secret in the call's arguments, or in
a name bound once to it (`const k = process.env.AWS_SECRET_ACCESS_KEY; fetch(url, {body: k})`).
Severity follows the destination, not the spelling:
- the whole environment, or key material (a wallet's secret key, a seed phrase), sent anywhere
  new is critical: no honest server posts them (key material to a host already used: high);
- one credential sent to a host the pinned release never named, and that the credential's own
  name does not point to, is critical: `AWS_SECRET_ACCESS_KEY` to `collect.example`. A token
  sent to its own service (`GITHUB_TOKEN` to `api.github.com`, `OPENAI_API_KEY` to
  `api.openai.com`), a generic name (`API_KEY`, `TOKEN`: the server's own key for the API it
  calls), or a destination computed at run time are how every API client works, and not
  reported here (`code.env-access` and `code.network` still show the read and the request).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from watcher.models import FileChange, Severity
from watcher.parse import Call, Facts, facts_for_lines
from watcher.rules.added_source import old_source_text
from watcher.rules.code import CREDENTIAL_NAME, _is_network_call
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: A URL's host, or a bare `host.tld` given as the host.
_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]{0,20}://)?(?:[^@/\s]{1,200}@)?([A-Za-z0-9.-]{1,253})")
#: Words of a credential's name that say nothing about whose it is.
_GENERIC = frozenset(
    """API KEY KEYS TOKEN TOKENS SECRET SECRETS ACCESS AUTH BEARER CLIENT ID PASS PASSWORD PWD
    APP PRIVATE PUBLIC USER USERNAME SESSION COOKIE CRED CREDS CREDENTIAL CREDENTIALS ACCOUNT
    SERVICE BOT WEBHOOK URL DSN PAT REFRESH OAUTH MY THE""".split()
)
#: Callees that send on a connection or request made elsewhere (`req.end(body)`,
#: `sock.sendall(data)`): counted in files that use a network module.
_WRITES = frozenset({"write", "end", "send", "sendall", "sendto", "sendmsg"})
_NET_MODULES = ("http", "https", "net", "tls", "dgram", "socket", "requests", "httpx", "urllib")
#: A file holding none of these reads no secret: it is never parsed for this rule.
_NEEDLES = (b"env", b"ecret", b"rivate", b"nemonic", b"seed", b"eypair", b"ey_pair", b"igning")


def _host(call: Call) -> str | None:
    """The destination host when the call names it as its first argument."""
    if call.first_arg is None:
        return None
    match = _HOST.match(call.first_arg.strip())
    host = match.group(1).lower().strip(".") if match is not None else ""
    return host if "." in host else None


def _owner_words(name: str) -> list[str]:
    """Words of a credential's name that say whose it is (`GITHUB` in `GITHUB_TOKEN`)."""
    words = re.split(r"[^A-Za-z0-9]+", name.upper())
    return [w for w in words if len(w) >= 3 and w not in _GENERIC]


def _sends(call: Call, facts: Facts) -> bool:
    python = facts.language == "python"
    if _is_network_call(call, python):
        return True
    if call.callee.rsplit(".", 1)[-1] not in _WRITES:
        return False
    return any(i.module.split(".")[0] in _NET_MODULES for i in facts.imports)


def _judge(source: str, host: str | None, old_text: str) -> tuple[str, Severity] | None:
    """What the flow sends and how bad it is, or None when it is how API clients work."""
    kind, _, name = source.partition(":")
    known = host is not None and host in old_text
    if kind == "key":
        # Key material has no honest destination; a known one only makes it less new.
        return f"key material (`{name}`)", Severity.HIGH if known else Severity.CRITICAL
    if name == "*":
        return None if known else ("the whole environment", Severity.CRITICAL)
    if not CREDENTIAL_NAME.search(name.upper()) or host is None or known:
        return None
    owners = _owner_words(name)
    if not owners or any(word.lower() in host for word in owners):
        return None
    return f"the credential `{name}`", Severity.CRITICAL


def _flows(change: FileChange, facts: Facts, old_text: str) -> Iterator[Hit]:
    lines = {line.lineno: line for line in change.added_lines}
    for call in facts.calls:
        added = lines.get(call.span.line)
        if added is None or not call.arg_sources or not _sends(call, facts):
            continue
        host = _host(call)
        for source in call.arg_sources:
            judged = _judge(source, host, old_text)
            if judged is None:
                continue
            what, severity = judged
            if host is None:
                where = "the network"
            elif host in old_text:
                where = f"`{host}`"
            else:
                where = f"`{host}`, a host the pinned release never named"
            yield Hit(
                f"secret flow: sends {what} to {where} ({source} → {call.callee}"
                + (f" → {host})" if host else ")"),
                path=change.path,
                line=added.lineno,
                evidence=excerpt(added.text, call.span.col, call.span.end),
                severity=severity,
                subject=host,
            )
            break


@artifact_rule(
    id="code.secret-flow",
    summary="Added code sends a credential, the whole environment or key material to a new "
    "destination (source → sink → host)",
    severity=Severity.CRITICAL,
    category="exfil",
)
def secret_flow(ctx: ArtifactContext) -> Iterator[Hit]:
    """A secret reaching the arguments of a call that sends it to a new destination."""
    old_text: str | None = None
    for change in ctx.changed_files():
        dialect = ctx.dialect(change.path)
        if dialect is None or change.new is None or not change.added_lines:
            continue
        if not any(needle in change.new.data for needle in _NEEDLES):
            continue
        facts = facts_for_lines(change.path, change.new, change.added_lines, dialect)
        if facts is None or not any(c.arg_sources for c in facts.calls):
            continue
        if old_text is None:
            old_text = old_source_text(ctx.diff.old)
        yield from _flows(change, facts, old_text)
