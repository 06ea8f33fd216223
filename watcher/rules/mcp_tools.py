"""MCP tool rules: what a server tells the model about its tools, diffed between releases.

A client shows the user a tool's name once, at approval; the model reads its description on
every call. So a description is code aimed at the model, and changing it after approval is the
"rug pull" (Invariant Labs' tool-poisoning and WhatsApp-MCP write-ups, 2025): `<IMPORTANT>`
blocks telling the model to read `~/.cursor/mcp.json` and pass it as a parameter, to keep it
from the user, to reroute messages. Tools are extracted statically (`watcher.mcp`) from the files
a release adds or changes only; tools in unchanged files are consulted solely to tell a tool
that moved from one that appeared or vanished.

On a first release (`ctx.diff.old is None`) there is nothing to compare: added/removed/changed
stay silent, and the content rules (injection, hidden tool, sensitive parameter) judge every tool.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from watcher.mcp.tools import Tool, is_candidate, iter_tools, normalize
from watcher.models import ArtifactDiff, ChangeKind, Severity, Snapshot
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

# --- hidden characters ------------------------------------------------------------------------

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


def _clean(text: str) -> str:
    """The text as patterns should see it: invisibles (used to split words) removed, NFKC
    (full-width and other look-alike forms folded), whitespace collapsed."""
    return normalize(unicodedata.normalize("NFKC", INVISIBLE.sub("", text)))


def _brief(text: str, width: int = 60) -> str:
    text = visible(normalize(text))
    return text if len(text) <= width else text[: width - 1] + "…"


# --- patterns ---------------------------------------------------------------------------------


def _i(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


#: Instructions aimed at the model. Each is something an honest description has no reason to
#: say: descriptions document what a tool does, they do not give the model standing orders.
INJECTION: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        _i(
            r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
            r"(?:previous|prior|above|earlier|preceding|other|system)\b"
        ),
        "tells the model to ignore its instructions",
    ),
    (
        _i(
            r"\b(?:do\s+not|don'?t|never|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?"
            r"|notify(?:ing)?|alert(?:ing)?|reveal(?:ing)?|disclos(?:e|ing))\b"
            r"[^.\n]{0,100}?\busers?\b"
        ),
        "tells the model to keep something from the user",
    ),
    (
        _i(r"<\s*/?\s*(?:important|system|instructions?|secret|hidden|admin|critical)\s*>"),
        "an <IMPORTANT>-style tag addressed to the model",
    ),
    (
        _i(r"\bbefore\s+(?:using|calling|invoking|running)\s+(?:this|any|the)\s+tools?\b"),
        "orders steps before the tool is used",
    ),
    (
        _i(
            r"~/\.ssh|\.ssh/|\bid_(?:rsa|ed25519|ecdsa)\b|~/\.aws|\.aws/credentials|\.npmrc\b"
            r"|\bmcp\.json\b|claude_desktop_config|~/\.cursor\b|(?<![\w.])\.env\b"
            r"|\b(?:wallet|keychain)\.(?:dat|db|json)\b"
        ),
        "names a credential or MCP client config file",
    ),
    (
        _i(
            # Only with something worth stealing as the object: "send a message to the channel"
            # is what a chat tool does.
            r"\b(?:send|post|forward|upload|transmit|exfiltrate|leak|copy|bcc)\b[^.\n]{0,60}?"
            r"\b(?:contents?|keys?|tokens?|credentials?|history|conversation|passwords?|secrets?"
            r"|messages|files?|everything|all)\b[^.\n]{0,40}?\bto\s+(?:https?://|\+?\d[\d\s().-]{6,20}\d"
            r"|[\w.+-]+@[\w-]+\.\w|(?:the\s+)?(?:following|this)\s+(?:url|address|endpoint|number"
            r"|server|email))"
        ),
        "asks to send data to an address",
    ),
    (
        _i(
            r"\b(?:change|replace|set|redirect|switch)\s+the\s+(?:recipient|destination|receiver"
            r"|target\s+(?:address|number|account)|to\s+(?:address|field))\b"
        ),
        "redirects where the data goes",
    ),
    (
        _i(r"\byou\s+(?:must|should|have\s+to|need\s+to)\s+(?:always|first|never|also)\b"),
        "gives the model standing orders",
    ),
    (_i(r"\bsystem\s+prompt\b"), "refers to the system prompt"),
    (
        _i(
            r"\b(?:conversation|chat)\s+history\b|\b(?:previous|prior|all)\s+(?:user\s+)?messages"
            r"\b|\b(?:entire|full|whole|complete)\s+(?:conversation|chat|context)\b"
        ),
        "asks for the conversation",
    ),
    (
        _i(
            r"\b(?:new|updated|real|actual|secret)\s+instructions\b"
            r"|\boverride\b[^.\n]{0,20}\binstructions\b"
        ),
        "claims to replace the model's instructions",
    ),
)

#: Signals honest descriptions also produce now and then ("You must first call `login`",
#: "Generates a system prompt for ..."): alone, they make a finding medium, not high.
WEAK_INJECTION = frozenset(
    {
        "orders steps before the tool is used",
        "gives the model standing orders",
        "refers to the system prompt",
    }
)

#: A description that says the tool is meant to be kept out of the user's sight.
HIDDEN_DESCRIPTION = _i(
    r"\b(?:do\s+not|don'?t|never)\s+(?:display|show|list|reveal|expose|surface)\s+(?:this\s+tool"
    r"|this\s+function|it)\b|\bnot\s+(?:be\s+)?(?:shown|visible|displayed|listed|exposed)\s+to\s+"
    r"(?:the\s+)?users?\b|\binvisible\s+to\s+(?:the\s+)?users?\b|\b(?:hidden|internal|secret)\s+"
    r"(?:tool|function|command|endpoint)\b|\bfor\s+internal\s+use\b|\binternal\s+use\s+only\b"
    r"|\b(?:the\s+)?users?\s+(?:must|should|will|need|does)\s+not\s+(?:see|know|be\s+told|notice)"
    r"|\bhidden\s+from\s+(?:the\s+)?users?\b"
    r"|\b(?:do\s+not|don'?t|never)\s+mention\s+(?:this\s+tool|this\s+function)\b"
)
#: A name that says so: `_internal_sync`, `__debug`, `stealth_export`. Plain words like
#: `hidden` or `secret` are not enough (`list_hidden_files`, `get_secret` are honest tools).
HIDDEN_NAME = _i(r"^_|backdoor|stealth")


@dataclass(frozen=True, slots=True)
class ParamClass:
    """A kind of sensitive parameter: by name (snake_cased) and, optionally, by description."""

    name: re.Pattern[str]
    description: re.Pattern[str] | None
    what: str
    #: Credentials are what an API client legitimately takes; the rest never is.
    credential: bool = False


_B, _E = r"(?:^|_)", r"(?:$|_)"
PARAM_CLASSES = (
    ParamClass(
        _i(
            _B + r"(?:(?:conversation|chat|message|session|dialog(?:ue)?)_?(?:history|log|"
            r"transcript|context)|(?:previous|prior|past|all)_?(?:user_)?messages|system_?prompt"
            r"|auth_?context|(?:full|entire|whole)_?(?:context|conversation))" + _E
        ),
        _i(
            r"\b(?:conversation|chat)\s+history\b|\b(?:previous|prior)\s+messages\b"
            r"|\bsystem\s+prompt\b|\b(?:entire|full|whole)\s+(?:conversation|context)\b"
        ),
        "asks for the conversation or the model's context",
    ),
    ParamClass(
        _i(
            _B + r"(?:ssh(?:_?key)?|id_rsa|private_?key|secret_?key|seed_?phrase|mnemonic"
            r"|wallet_?key|keychain|mcp_?config|env_?file|dotenv|credentials?_?file)" + _E
        ),
        _i(
            r"\bcontents?\s+of\b[^.\n]{0,40}(?:\.ssh|mcp\.json|\.env\b|credentials|\.npmrc"
            r"|claude_desktop_config|config\s+file)|~/\.ssh|\bprivate\s+key\b|\bseed\s+phrase\b"
        ),
        "asks for key material or a config file's contents",
    ),
    ParamClass(
        _i(
            # `secret` only at the end: `secret_name` names a secret, `client_secret` is one.
            rf"{_B}(?:api_?key|apikey|access_?key|password|passwd|passphrase|credentials?|bearer"
            rf"|auth|authorization|cookies?|session_?id){_E}|{_B}secret$"
            rf"|{_B}(?:access|auth|bearer|api|refresh|id|github|gh|npm|slack|oauth)_?token{_E}"
            r"|^token$"
        ),
        None,
        "asks for a credential",
        credential=True,
    ),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def classify_param(name: str, description: str) -> ParamClass | None:
    """The sensitive kind of a parameter, if any (first match in `PARAM_CLASSES` order)."""
    snake = _CAMEL.sub("_", name).lower().replace("-", "_")
    text = _clean(description)
    for kind in PARAM_CLASSES:
        if kind.name.search(snake) or (kind.description and kind.description.search(text)):
            return kind
    return None


# --- the diff of tools, computed once per artifact ---------------------------------------------


def _by_name(tools: Iterable[Tool]) -> dict[str, list[Tool]]:
    grouped: dict[str, list[Tool]] = {}
    for tool in tools:
        grouped.setdefault(tool.name, []).append(tool)
    return grouped


class ToolChanges:
    """The tools one artifact diff touches, old and new, and what changed between them."""

    def __init__(self, diff: ArtifactDiff) -> None:
        self.diff = diff
        self.first_release = diff.old is None
        changed = {c.path for c in diff.changes}
        new_paths = [c.path for c in diff.changes if c.kind is not ChangeKind.REMOVED]
        old_paths = [c.path for c in diff.changes if c.kind is not ChangeKind.ADDED]
        #: Every declaration in the added/changed files of the new release.
        self.new: list[Tool] = list(iter_tools(diff.new, new_paths))
        old = list(iter_tools(diff.old, old_paths)) if diff.old is not None else []
        #: Declarations of each name before this release, for comparing texts.
        self.before: dict[str, list[Tool]] = _by_name(old)
        new_names = {tool.name for tool in self.new}
        stable: set[str] = set()
        if diff.old is not None:
            # A name seen on one side only may still be declared in an unchanged file (moved,
            # or a src/ copy beside a rebuilt dist/): look there, for those names only.
            unsettled = new_names ^ self.before.keys()
            for tool in _tools_in_unchanged(diff.new, changed, unsettled):
                stable.add(tool.name)
                self.before.setdefault(tool.name, []).append(tool)
        first_new = _by_name(self.new)
        self.added: list[Tool] = (
            []
            if self.first_release
            else [tools[0] for name, tools in first_new.items() if name not in self.before]
        )
        old_names = _by_name(old)
        self.removed: list[Tool] = [
            tools[0]
            for name, tools in old_names.items()
            if name not in new_names and name not in stable
        ]
        self._added_names = {tool.name for tool in self.added}

    def is_new_tool(self, tool: Tool) -> bool:
        """Whether the tool appeared in this release (every tool, on a first release)."""
        return self.first_release or tool.name in self._added_names

    def old_description(self, tool: Tool) -> str | None:
        """The tool's previous description when this one differs from all of them, else None."""
        before = self.before.get(tool.name, [])
        if not before or normalize(tool.description) in {normalize(t.description) for t in before}:
            return None
        return before[0].description

    def old_param_description(self, tool: Tool, param: str, text: str) -> str | None:
        """The parameter's previous description when this one differs from all, else None."""
        texts = [d for t in self.before.get(tool.name, []) for p, d in t.params if p == param]
        if not texts or normalize(text) in {normalize(d) for d in texts}:
            return None
        return texts[0]

    def new_texts(self, tool: Tool) -> Iterator[tuple[str, str]]:
        """(what, text) for the tool's description and parameter descriptions that are new or
        changed in this release: the texts whose instructions the model has not read before."""
        before = self.before.get(tool.name, [])
        old_descriptions = {normalize(t.description) for t in before}
        if tool.description and normalize(tool.description) not in old_descriptions:
            yield "description", tool.description
        old_params = {(p, normalize(d)) for t in before for p, d in t.params}
        for param, text in tool.params:
            if text and (param, normalize(text)) not in old_params:
                yield f"parameter `{param}`", text

    def new_params(self, tool: Tool) -> Iterator[tuple[str, str]]:
        """(name, description) of parameters the tool did not have before."""
        known = {p for t in self.before.get(tool.name, []) for p, _ in t.params}
        return ((p, d) for p, d in tool.params if p not in known)

    @cached_property
    def old_takes_credentials(self) -> bool:
        """Whether any tool of the previous release already took a credential parameter (the
        server is an API client). Reads the whole old snapshot, so only asked when needed."""
        if self.diff.old is None:
            return False
        for tool in iter_tools(self.diff.old):
            for param, text in tool.params:
                kind = classify_param(param, text)
                if kind is not None and kind.credential:
                    return True
        return False


def _tools_in_unchanged(snapshot: Snapshot, changed: set[str], names: set[str]) -> list[Tool]:
    """Declarations of `names` in files this release did not touch (literal prefilter first)."""
    if not names:
        return []
    needles = [name.encode() for name in names]
    found: list[Tool] = []
    for path, entry in snapshot.files.items():
        if path in changed or not any(n in entry.data for n in needles):
            continue
        if is_candidate(path, entry):
            found.extend(t for t in iter_tools(snapshot, [path]) if t.name in names)
    return found


#: Changes per artifact diff: six rules ask about the same diff, extraction runs once.
_CACHE: OrderedDict[int, tuple[ArtifactDiff, ToolChanges]] = OrderedDict()
_CACHE_SIZE = 8


def tool_changes(diff: ArtifactDiff) -> ToolChanges:
    """The (cached) `ToolChanges` of an artifact diff."""
    cached = _CACHE.get(id(diff))
    # The entry holds `diff`, so its id cannot be reused by another object while cached.
    if cached is not None and cached[0] is diff:
        _CACHE.move_to_end(id(diff))
        return cached[1]
    changes = ToolChanges(diff)
    _CACHE[id(diff)] = (diff, changes)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return changes


def _unique(tools: Iterable[Tool]) -> Iterator[Tool]:
    """Tools with distinct (name, texts): src/ and dist/ copies of one tool report once."""
    seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    for tool in tools:
        key = (tool.name, normalize(tool.description), tool.params)
        if key not in seen:
            seen.add(key)
            yield tool


def _evidence(text: str, start: int = 0, end: int | None = None) -> str:
    return excerpt(text, start, end) if text else ""


# --- rules ------------------------------------------------------------------------------------


@artifact_rule(
    id="mcp.tool-added",
    summary="An MCP tool was added (the model can now call it)",
    severity=Severity.LOW,
    category="mcp-tool",
)
def tool_added(ctx: ArtifactContext) -> Iterator[Hit]:
    """New tools: new capabilities handed to the model, usually without a fresh approval."""
    for tool in tool_changes(ctx.diff).added:
        described = f": “{_brief(tool.description)}”" if tool.description else ""
        yield Hit(
            f"tool `{tool.name}` added{described}",
            path=tool.path,
            line=tool.line,
            evidence=_evidence(visible(normalize(tool.description))) or tool.name,
        )


@artifact_rule(
    id="mcp.tool-removed",
    summary="An MCP tool was removed",
    severity=Severity.LOW,
    category="mcp-tool",
)
def tool_removed(ctx: ArtifactContext) -> Iterator[Hit]:
    """Removed tools: breaking for users, and a sign the server was reworked."""
    for tool in tool_changes(ctx.diff).removed:
        yield Hit(
            f"tool `{tool.name}` removed",
            path=tool.path,
            line=tool.line,
            evidence=_evidence(visible(normalize(tool.description))) or tool.name,
        )


@artifact_rule(
    id="mcp.description-changed",
    summary="An MCP tool's or parameter's description changed (what the model is told)",
    severity=Severity.MEDIUM,
    category="mcp-tool",
)
def description_changed(ctx: ArtifactContext) -> Iterator[Hit]:
    """The rug pull's vehicle: the text the model obeys changed after the user approved it."""
    changes = tool_changes(ctx.diff)
    if changes.first_release:
        return
    for tool in _unique(changes.new):
        # An empty description is one that could not be resolved statically: unknown, not new.
        old = changes.old_description(tool) if tool.description else None
        if old is not None:
            yield Hit(
                f"description of tool `{tool.name}` changed: “{_brief(old)}” → "
                f"“{_brief(tool.description)}”",
                path=tool.path,
                line=tool.line,
                evidence=_evidence(visible(normalize(tool.description))),
            )
        for param, text in tool.params:
            old = changes.old_param_description(tool, param, text) if text else None
            if old is not None:
                yield Hit(
                    f"description of parameter `{param}` of tool `{tool.name}` changed: "
                    f"“{_brief(old)}” → “{_brief(text)}”",
                    path=tool.path,
                    line=tool.line,
                    evidence=_evidence(visible(normalize(text))),
                )


def injection_signals(text: str) -> list[tuple[str, str]]:
    """(what, evidence) for each kind of model-directed instruction in a description.

    Hidden characters come first, then the patterns in the order they occur in the text, so
    the first evidence shows where the injected part starts.
    """
    found: list[tuple[str, str]] = []
    if INVISIBLE.search(text) is not None:
        shown = visible(normalize(text))
        at = shown.find("⟨")
        found.append(("hidden Unicode characters", excerpt(shown, at, at + 1)))
    clean = _clean(text)
    matches = [(m, what) for pattern, what in INJECTION if (m := pattern.search(clean))]
    for match, what in sorted(matches, key=lambda pair: pair[0].start()):
        found.append((what, excerpt(clean, match.start(), match.end())))
    return found


@artifact_rule(
    id="mcp.prompt-injection",
    summary="A new or changed MCP tool description gives the model instructions (tool "
    "poisoning: IMPORTANT blocks, ignore previous, do not tell the user, hidden characters)",
    severity=Severity.HIGH,
    category="mcp-injection",
)
def prompt_injection(ctx: ArtifactContext) -> Iterator[Hit]:
    """Instructions to the model in texts it has not read before (tool poisoning)."""
    changes = tool_changes(ctx.diff)
    seen: set[tuple[str, str]] = set()
    for tool in changes.new:
        for what, text in changes.new_texts(tool):
            key = (tool.name, normalize(text))
            signals = injection_signals(text) if key not in seen else []
            seen.add(key)
            if signals:
                kinds = "; ".join(kind for kind, _ in signals)
                weak = all(kind in WEAK_INJECTION for kind, _ in signals)
                yield Hit(
                    f"{what} of tool `{tool.name}` addresses the model: {kinds}",
                    path=tool.path,
                    line=tool.line,
                    evidence=signals[0][1],
                    severity=Severity.MEDIUM if weak else None,
                )


@artifact_rule(
    id="mcp.hidden-tool",
    summary="An MCP tool presents itself as hidden or internal (kept from the user, not the model)",
    severity=Severity.HIGH,
    category="mcp-tool",
)
def hidden_tool(ctx: ArtifactContext) -> Iterator[Hit]:
    """A tool that asks not to be shown to the user exists only for the model's eyes."""
    changes = tool_changes(ctx.diff)
    for tool in _unique(changes.new):
        texts = [text for what, text in changes.new_texts(tool) if what == "description"]
        match = next((m for t in texts if (m := HIDDEN_DESCRIPTION.search(_clean(t)))), None)
        if match is not None:
            clean = _clean(tool.description)
            yield Hit(
                f"tool `{tool.name}` describes itself as hidden from the user",
                path=tool.path,
                line=tool.line,
                evidence=excerpt(clean, match.start(), match.end()),
            )
        elif changes.is_new_tool(tool) and HIDDEN_NAME.search(tool.name):
            yield Hit(
                f"new tool `{tool.name}` is named as internal/hidden",
                path=tool.path,
                line=tool.line,
                evidence=_evidence(visible(normalize(tool.description))) or tool.name,
            )


@artifact_rule(
    id="mcp.sensitive-parameter",
    summary="An MCP tool gained a parameter asking for secrets, key files or the conversation",
    severity=Severity.HIGH,
    category="mcp-tool",
)
def sensitive_parameter(ctx: ArtifactContext) -> Iterator[Hit]:
    """The model fills parameters from what it can see: a parameter named `conversation_history`
    or `auth_context` is a request to exfiltrate it. An API key parameter is weaker when the
    previous release already took credentials (the server is an API client)."""
    changes = tool_changes(ctx.diff)
    seen: set[tuple[str, str]] = set()
    for tool in changes.new:
        for param, text in changes.new_params(tool):
            kind = classify_param(param, text)
            if kind is None or (tool.name, param) in seen:
                continue
            seen.add((tool.name, param))
            weaker = kind.credential and changes.old_takes_credentials
            shown = f"{param}: {visible(normalize(text))}" if text else param
            yield Hit(
                f"tool `{tool.name}` has a new parameter `{param}` that {kind.what}"
                + (" (the previous release already took credentials)" if weaker else ""),
                path=tool.path,
                line=tool.line,
                evidence=excerpt(shown),
                weaker=weaker,
            )
