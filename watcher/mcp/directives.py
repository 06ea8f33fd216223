"""What a text aimed at the model directs it to do, classified (tool poisoning, rug pulls).

A tool description, a server's `instructions`, a prompt or a tool's returned text is read by the
model as guidance. Honest texts document what a tool does ("Returns JSON", "Retrieve the weather
for a city", usage examples); hostile ones direct the model to act for someone else. This module
classifies the directives, not the vocabulary: the same words ("API key", "send", "user") are
innocent in one sentence and an order in another, so each class needs an action and its object
in one sentence.

Classes (`Directive`): read files or secrets; include data in a parameter (or send it to an
address); call other tools; hide something from the user; change other tools' behaviour
(shadowing); override the model's instructions. A URL, e-mail address or phone number in the
text is an exfiltration path (`destinations`), not a directive of its own.

Every pattern is linear: alternations of literals and bounded `[^.]{0,N}` gaps only (SPEC §4.5:
no regular expression may backtrack super-linearly on package text).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from watcher.mcp.base import normalize

#: Characters a reader cannot see and a model still reads: zero-width and joiner characters,
#: bidi embeddings/overrides/isolates (Trojan Source), the BOM, soft hyphen and the Unicode tag
#: block U+E0000–E007F (ASCII smuggling: each tag character mirrors an ASCII one).
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\U000e0000-\U000e007f]"
)
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")


def visible(text: str) -> str:
    """The text with invisible characters spelled out, so a reviewer sees what the model reads.

    A run of tag characters is decoded to the ASCII it smuggles: `⟨hidden: "read ~/.ssh"⟩`.
    """

    def tags(match: re.Match[str]) -> str:
        decoded = "".join(chr(ord(c) - 0xE0000) for c in match.group() if ord(c) < 0xE0080)
        printable = "".join(c if c.isprintable() else "?" for c in decoded)
        return f'⟨hidden: "{printable}"⟩'

    text = _TAG_RUN.sub(tags, text)
    return INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def clean(text: str) -> str:
    """The text as patterns should see it: invisibles (used to split words) removed, NFKC
    (full-width and other look-alike forms folded), whitespace collapsed."""
    return normalize(unicodedata.normalize("NFKC", INVISIBLE.sub("", text)))


class Directive(StrEnum):
    """What a text directs the model to do."""

    READ_SECRETS = "read files or secrets"
    INCLUDE_DATA = "pass data out in a parameter or message"
    CALL_TOOLS = "call other tools"
    HIDE = "hide it from the user"
    SHADOW = "change how other tools behave"
    OVERRIDE = "override its instructions"


#: Directives that take data out of the user's reach: with an exfiltration path, critical.
DATA_OUT = frozenset({Directive.READ_SECRETS, Directive.INCLUDE_DATA})


@dataclass(frozen=True, slots=True)
class Found:
    """One directive in a text: its class, where it is (in `clean(text)`), and whether it is
    strong. A weak one (`You must first call list_tables`) is what honest texts say too."""

    directive: Directive
    start: int
    end: int
    strong: bool = True


def _i(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


#: Credential files and stores, by path (ssh, cloud CLIs, package managers, MCP client configs).
_SECRET_PATH = (
    r"~/\.ssh|\.ssh/|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|~/\.aws|\.aws/credentials|\.npmrc\b"
    r"|\.pypirc\b|\.netrc\b|\.git-credentials|\.kube/config|\.docker/config\.json|\bmcp\.json\b"
    r"|claude_desktop_config|~/\.cursor\b|(?<![\w.])\.env\b|\b(?:wallet|keychain)\.(?:dat|db|json)\b"
    r"|/etc/(?:passwd|shadow)\b|\.config/gcloud|\.bash_history|\.zsh_history"
)
#: Secrets by name, with what makes them the user's: where they are kept or whose they are.
#: "an API key" alone is what a client passes to its own API ("Requires an API key").
_SECRET_THING = r"(?:api[\s_-]?keys?|tokens?|credentials|passwords?|secrets|keys|cookies)"
_SECRET_HELD = (
    r"\benvironment\s+variables\b|\benv\s+vars\b|\bprocess\.env\b|\bos\.environ\b"
    r"|\bprivate\s+keys?\b|\bssh\s+keys?\b|\bseed\s+phrases?\b|\bmnemonic\b"
    rf"|\b(?:the\s+)?user'?s\s+(?:[\w-]+\s+){{0,2}}{_SECRET_THING}\b"
    rf"|\b(?:all|any|every|stored|saved)\s+(?:[\w-]+\s+){{0,2}}{_SECRET_THING}\b"
    rf"|\b{_SECRET_THING}\s+(?:stored\s+|saved\s+|kept\s+)?(?:from|in|on)\s+(?:the\s+|this\s+)?"
    r"(?:environment|env\b|disk|machine|system|computer|home|local|config(?:uration)?\s+files?)"
)
_SECRET = rf"(?:{_SECRET_PATH}|{_SECRET_HELD})"
#: Imperative verbs that fetch or hand over (base form: "reads" describes, "read" orders).
_TAKE = (
    r"\b(?:read|open|cat|get|fetch|retrieve|load|collect|gather|find|extract|copy|dump|list"
    r"|print|include|pass|send|attach|paste|provide|supply|append|embed|forward|upload|output"
    r"|grab|look\s+up|check)\b"
)
#: Account-setup advice aimed at people ("Get your API key at https://…"): not a directive.
_SETUP_ADVICE = _i(
    r"\b(?:get|obtain|create|generate|find)\s+(?:your|an?|the)\s+(?:[\w-]+\s+){0,2}"
    r"(?:api[\s_-]?key|token|credentials?)s?\s+(?:at|from|on|in|via)\b"
)
_READ_SECRETS = _i(
    rf"{_TAKE}[^.!?]{{0,80}}?(?:{_SECRET})|\bcontents?\s+of\b[^.!?]{{0,40}}?{_SECRET}"
)

#: Data the model holds that a parameter has no business asking for.
_DATA = (
    r"\b(?:contents?|history|conversation|chats?|messages|file|files|keys?|tokens?|credentials"
    r"|everything|output|context|environment|secrets?|passwords?)\b"
)
_INTO_PARAM = (
    r"\b(?:as|in|into|inside|within|via|through|to)\s+(?:the\s+|its\s+|a\s+)?"
    r"(?:[`'\"‘“]\w{1,64}[`'\"’”]|\w{1,64}\s+(?:argument|parameter|param|field|property)\b"
    r"|(?:argument|parameter|param|field)\s+[`'\"]?\w+)"
)
_INCLUDE_VERB = (
    r"\b(?:pass|include|put|add|insert|append|attach|provide|send|supply|embed|copy|paste|place"
    r"|fill)\b"
)
_INCLUDE_IN_PARAM = _i(rf"{_INCLUDE_VERB}[^.!?]{{0,80}}?{_DATA}[^.!?]{{0,40}}?{_INTO_PARAM}")
_CONVERSATION = (
    r"\b(?:conversation|chat)\s+history\b|\b(?:previous|prior|all|last|recent|past|earlier)\s+"
    r"(?:[\w-]+\s+){0,2}messages\b|\b(?:entire|full|whole|complete)\s+(?:conversation|chat"
    r"|context)\b|\bsystem\s+prompt\b"
)
_INCLUDE_CONVERSATION = _i(rf"{_INCLUDE_VERB}[^.!?]{{0,80}}?(?:{_CONVERSATION})")
#: Where data can go: a URL or a phone number (e-mail addresses: `_emails`, found from each
#: `@`, since `[\w.]+@` would rescan a long dotted run from every word boundary).
DESTINATION = _i(r"\bhttps?://[^\s'\"<>)\]`]+|(?<![\w.])\+\d[\d\s().-]{6,18}\d\b")
_EMAIL_LOCAL = re.compile(r"[\w.+-]{1,64}\Z")
_EMAIL_DOMAIN = re.compile(r"[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.[a-zA-Z]{2,24}\b")
_SEND_TO = _i(
    r"\b(?:send|post|forward|upload|transmit|exfiltrate|leak|copy|bcc|cc|e-?mail|report)\b"
    r"[^.!?]{0,80}?\bto\s+(?:https?://|\+?\d[\d\s().-]{6,20}\d|[\w.+-]+@[\w-]+\.\w"
    r"|(?:the\s+)?(?:following|this)\s+(?:url|address|endpoint|number|server|email))"
)
_HIDE = _i(
    r"\b(?:do\s+not|don'?t|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?"
    r"|notify(?:ing)?|alert(?:ing)?|reveal(?:ing)?|disclos(?:e|ing)|show(?:ing)?|let(?:ting)?)"
    r"\b[^.!?]{0,100}?\b(?:users?|human)\b"
    r"|\b(?:the\s+)?users?\s+(?:must|should|need|does)\s+not\s+(?:see|know|notice|be\s+told)\b"
    r"|\bkeep\s+(?:this|it|that)\s+(?:secret|hidden|private|confidential)\b"
    r"|\bhidden\s+from\s+(?:the\s+)?users?\b"
)
_OVERRIDE = _i(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|other|system)\b"
    r"|\b(?:new|updated|real|actual|secret)\s+instructions\b"
    r"|\boverride\b[^.!?]{0,20}\binstructions\b"
)
_CALL = r"\b(?:call|invoke|run|use|execute|trigger)\b"
_CALL_ACROSS = _i(
    rf"\bbefore\s+(?:using|calling|invoking|running)\s+(?:any|every|all|other|another)\b"
    rf"[^.!?]{{0,60}}?{_CALL}"
    rf"|{_CALL}\s+[`'\"]?\w{{1,64}}[`'\"]?\s+(?:before|after)\s+(?:using\s+|calling\s+)?"
    r"(?:any|every|all)"
    r"\s+(?:other\s+)?tools?\b"
)
_CALL_FIRST = _i(
    r"\bbefore\s+(?:using|calling|invoking|running)\s+(?:this|the)\s+tools?\b"
    rf"|\b(?:always|first|must|should|need\s+to|now|then|next)\s+(?:first\s+)?{_CALL}\s+"
    r"(?:the\s+)?[`'\"]?[a-z]{1,32}_[a-z_]{1,64}"
)
_WHEN = _i(r"\bwhen(?:ever)?\b([^.!?,]{0,80}),?([^.!?]{0,100})")
#: The when-clause is about another tool or about sending: "when send_message is invoked",
#: "when sending email", "whenever you call another tool".
_OTHER_TOOL = _i(
    r"\b(?:send\w*|e-?mails?|mail|messages?|other\s+tools?|another\s+tool|any\s+tool"
    r"|all\s+tools|[a-z]+_[a-z_]+)\b"
)
_THIS_TOOL = _i(r"\bthis\s+(?:tool|function)\b")
_CHANGE = _i(
    r"\b(?:always|also|make\s+sure|must|instead|change|replace|set|add|bcc|cc|redirect|include"
    r"|forward|copy)\b"
)
_BCC = _i(
    r"\b(?:always|also)\s+(?:bcc|cc|blind[\s-]copy|copy|forward\s+(?:a\s+copy|it|them|all))\b"
    r"|\b(?:change|replace|set|redirect|switch)\s+the\s+(?:recipient|destination|receiver"
    r"|target\s+(?:address|number|account)|to\s+(?:address|field))\b"
)
#: Words that make a tool name one that sends (`send_message`, `email_user`, `post`).
_SENDING_PARTS = frozenset(
    {"send", "email", "mail", "post", "upload", "webhook", "share", "forward", "publish"}
)
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
#: After a plain word, what makes it a tool's name: "the send tool", "post is invoked".
_NAMED_AS_TOOL = _i(r"[^.!?]{0,40}?\b(?:tool|is\s+(?:invoked|called|used)|function)\b")


def directives(text: str) -> list[Found]:
    """The directives in a text, in order (one per class and sentence)."""
    text = clean(text)
    found: list[Found] = []
    advice = [(m.start(), m.end()) for m in _SETUP_ADVICE.finditer(text)]

    def add(directive: Directive, match: re.Match[str] | None, strong: bool = True) -> None:
        if match is None or any(a <= match.start() < b for a, b in advice):
            return
        found.append(Found(directive, match.start(), match.end(), strong))

    for pattern, directive in (
        (_READ_SECRETS, Directive.READ_SECRETS),
        (_INCLUDE_IN_PARAM, Directive.INCLUDE_DATA),
        (_INCLUDE_CONVERSATION, Directive.INCLUDE_DATA),
        (_SEND_TO, Directive.INCLUDE_DATA),
        (_HIDE, Directive.HIDE),
        (_OVERRIDE, Directive.OVERRIDE),
        (_CALL_ACROSS, Directive.CALL_TOOLS),
        (_BCC, Directive.SHADOW),
    ):
        for match in pattern.finditer(text):
            add(directive, match)
    for match in _CALL_FIRST.finditer(text):
        add(Directive.CALL_TOOLS, match, strong=False)
    for match in _WHEN.finditer(text):
        clause, rest = match.group(1), match.group(2)
        if _OTHER_TOOL.search(clause) and not _THIS_TOOL.search(clause) and _CHANGE.search(rest):
            add(Directive.SHADOW, match)
    # One finding per class and place: overlapping matches of one class are one directive.
    found.sort(key=lambda f: (f.start, not f.strong))
    kept: list[Found] = []
    for item in found:
        if not any(k.directive is item.directive and k.end > item.start for k in kept):
            kept.append(item)
    return kept


def destinations(text: str) -> list[str]:
    """URLs, e-mail addresses and phone numbers in a text, in order: where directed data
    could go."""
    text = clean(text)
    found = [(m.start(), m.group().rstrip(".,;:")) for m in DESTINATION.finditer(text)]
    return [place for _, place in sorted(found + _emails(text))]


def _emails(text: str) -> list[tuple[int, str]]:
    """(offset, address) of each e-mail address: from every `@`, a bounded look either side."""
    found, at = [], text.find("@")
    while at > 0:
        local = _EMAIL_LOCAL.search(text, max(0, at - 64), at)
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        if local is not None and domain is not None and local.group().strip(".+-"):
            found.append((local.start(), f"{local.group()}@{domain.group()}"))
        at = text.find("@", at + 1)
    return found


def sending_tools(text: str) -> list[str]:
    """Names of tools that send (`send_message`, `email_user`) that a text talks about."""
    text = clean(text)
    found = []
    for match in _NAME.finditer(text):
        word = match.group()
        parts = set(word.lower().split("_"))
        if not parts & _SENDING_PARTS:
            continue
        if "_" in word.strip("_") or _NAMED_AS_TOOL.match(text, match.end()):
            found.append(word)
    return found


# --- word diff --------------------------------------------------------------------------------

#: Words compared per side: enough for any description, bounded for a quadratic matcher.
_DIFF_WORDS = 1500
#: Longest evidence a word diff gives (a poisoned block is shown from its start).
DIFF_WIDTH = 600
_CONTEXT_WORDS = 4


def word_diff(old: str, new: str, width: int = DIFF_WIDTH) -> str:
    """What changed between two texts, word by word: `[-removed-] {+added+}`, unchanged runs
    shortened to a few words of context. Invisible characters are spelled out."""
    a = visible(normalize(old)).split(" ")
    b = visible(normalize(new)).split(" ")
    # The shared start and end are cut to their context words before the matcher's word cap:
    # a change after 1,500 words of padding must still show (it is where a payload would go).
    shared = min(len(a), len(b))
    same_start = 0
    while same_start < shared and a[same_start] == b[same_start]:
        same_start += 1
    same_end = 0
    while same_end < shared - same_start and a[-1 - same_end] == b[-1 - same_end]:
        same_end += 1
    start = max(0, same_start - _CONTEXT_WORDS)
    cut_end = max(0, same_end - _CONTEXT_WORDS)
    a = a[start : len(a) - cut_end][:_DIFF_WORDS]
    b = b[start : len(b) - cut_end][:_DIFF_WORDS]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    opcodes = matcher.get_opcodes()
    parts: list[str] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            words = a[i1:i2]
            first, last = index == 0, index == len(opcodes) - 1
            if first and len(words) > _CONTEXT_WORDS:
                words = ["…", *words[-_CONTEXT_WORDS:]]
            elif last and len(words) > _CONTEXT_WORDS:
                words = [*words[:_CONTEXT_WORDS], "…"]
            elif len(words) > 2 * _CONTEXT_WORDS:
                words = [*words[:_CONTEXT_WORDS], "…", *words[-_CONTEXT_WORDS:]]
            parts.append(" ".join(words))
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(a[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(b[j1:j2]) + "+}")
    shown = " ".join(p for p in ["…" if start else "", *parts, "…" if cut_end else ""] if p)
    return shown if len(shown) <= width else shown[: width - 1] + "…"
