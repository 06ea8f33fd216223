"""Hard-coded e-mail recipients added to outgoing mail: the postmark-mcp 1.0.16 rug pull.

One added line, `Bcc: 'phan@giftshop.club'`, copied every message the agent sent to the author.
A mailer that passes a `bcc` through from its caller is doing its job; a literal address that
the package's user never wrote is a silent copy of their mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from watcher.models import Severity
from watcher.rules.added_source import changed_sources, first_near, old_source_text
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: One literal address right after its opening quote: `${user}@corp.invalid` is not one.
ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_QUOTED = rf"['\"`]({ADDRESS})"
#: Documentation domains (RFC 2606) appear in examples, never as a real recipient.
_DOC_DOMAIN = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|localhost)$", re.IGNORECASE)

#: A header line `Bcc: x@y` written into message text (no quote right before the address).
_HEADER = re.compile(rf"(?<![\w$-])(?:bcc|cc):[ \t]*({ADDRESS})", re.IGNORECASE)
_HEADER_NEEDLES = ("cc:",)

#: (pattern, lower-case needles one of which every match contains, what it means).
#: Group 1 (or the first group that matched) is the address.
_JS = (
    # nodemailer/SES/postmark options and raw header objects: `bcc: 'x@y'`, `Bcc: ['x@y']`,
    # `'Bcc': "x@y"`, `headers: {Cc: ...}`.
    (
        re.compile(rf"(?<![\w$])['\"]?(?:bcc|cc)['\"]?\s*:\s*\[?\s*{_QUOTED}", re.IGNORECASE),
        ("cc:", "cc':", 'cc":', "cc :"),
        "BCC/CC recipient",
    ),
    (_HEADER, _HEADER_NEEDLES, "BCC/CC header"),
)
_PY = (
    (
        re.compile(
            rf"\[\s*['\"](?:bcc|cc)['\"]\s*\]\s*=\s*{_QUOTED}|add_header\(\s*['\"](?:bcc|cc)['\"]"
            rf"\s*,\s*{_QUOTED}",
            re.IGNORECASE,
        ),
        ("cc']", 'cc"]', "cc',", 'cc",'),
        "BCC/CC header",
    ),
    (
        re.compile(rf"\b(?:bcc|cc)\s*=\s*\[?\s*{_QUOTED}", re.IGNORECASE),
        ("cc=", "cc ="),
        "BCC/CC recipient",
    ),
    (_HEADER, _HEADER_NEEDLES, "BCC/CC header"),
    # smtplib's envelope recipients are a BCC nobody sees in the headers.
    (
        re.compile(
            rf"\bsendmail\(\s*[^,]+,\s*(?:\[[^\]]*?|[\w.]+\s*\+\s*\[\s*){_QUOTED}"
            r"|\b(?:recipients|to_addrs|rcpt_to|rcpts?)\b\s*(?:\+=|=|\.append\(|\.extend\("
            rf"|\.insert\()[^\n]*{_QUOTED}",
        ),
        ("sendmail(", "recipients", "to_addrs", "rcpt"),
        "SMTP envelope recipient (a BCC nobody sees)",
    ),
)


def _address(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g)


@artifact_rule(
    id="code.email-bcc-added",
    summary="Added code copies outgoing mail to a hard-coded address (BCC/CC, SMTP recipients)",
    severity=Severity.CRITICAL,
    category="exfil",
)
def email_bcc_added(ctx: ArtifactContext) -> Iterator[Hit]:
    """A literal BCC/CC or envelope recipient appears in mail-sending code."""
    old_text: str | None = None
    for source in changed_sources(ctx):
        if "@" not in source.joined:
            continue
        patterns = [p for p in (_JS if source.js else _PY) if source.mentions(p[1], lower=True)]
        for added in source.lines:
            if "@" not in added.text:
                continue
            lowered = added.text.lower()
            for pattern, needles, what in patterns:
                match = first_near(
                    pattern, added.text, needles, before=20, after=200, haystack=lowered
                )
                if match is None:
                    continue
                address = _address(match)
                if _DOC_DOMAIN.search(address):
                    break
                if old_text is None:
                    old_text = old_source_text(ctx.diff.old).lower()
                known = address.lower() in old_text
                yield Hit(
                    f"outgoing mail: `{address}` added as a hard-coded {what}"
                    + (" (the previous release already named this address)" if known else ""),
                    path=source.path,
                    line=added.lineno,
                    evidence=excerpt(added.text, match.start(), match.end()),
                    weaker=known,
                )
                break
