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
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from watcher.mcp.base import INSTRUCTIONS, PROMPT, RESOURCE, RESPONSE, TOOL
from watcher.mcp.directives import (
    DATA_OUT,
    INVISIBLE,
    Directive,
    destinations,
    directives,
    sending_tools,
    visible,
    word_diff,
)
from watcher.mcp.directives import clean as _clean
from watcher.mcp.tools import (
    Tool,
    dependents,
    is_candidate,
    iter_surfaces,
    iter_tools,
    may_declare,
    normalize,
)
from watcher.models import ArtifactDiff, ChangeKind, FileChange, Severity, Snapshot
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

__all__ = ["INVISIBLE", "classify_param", "injection_signals", "tool_changes", "visible"]


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
            r"|wallet_?key|keychain|mcp_?config|env_?file|dotenv|credentials?_?file"
            r"|env_?(?:contents?|vars|variables|dump)|contents_?of_?env|environment_?variables"
            r"|aws_?credentials|kube_?config|npmrc|netrc)" + _E
        ),
        _i(
            r"\bcontents?\s+of\b[^.\n]{0,40}(?:\.ssh|mcp\.json|\.env\b|credentials|\.npmrc"
            r"|claude_desktop_config|config\s+file|environment)|~/\.ssh|\bprivate\s+key\b"
            r"|\bseed\s+phrase\b|~/\.aws|\.aws/credentials|\ball\s+(?:the\s+)?environment\s+"
            r"variables\b|\bpaste\b[^.\n]{0,40}\buser'?s\b[^.\n]{0,40}(?:keys?|credentials|tokens?"
            r"|secrets?|passwords?|\.env\b|config)"
        ),
        "asks for key material or a config file's contents",
    ),
    ParamClass(
        _i(
            # `secret` only at the end: `secret_name` names a secret, `client_secret` is one.
            # `session_id` is left out: in a tool it is the handle the server itself issued
            # (`end_session(sessionId)`); the session's secrets are its cookie or token.
            rf"{_B}(?:api_?key|apikey|access_?key|password|passwd|passphrase|credentials?|bearer"
            rf"|auth|authorization|cookies?|session_?(?:cookie|token|key|secret)){_E}"
            rf"|{_B}secret$"
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


# --- the diff of surfaces, computed once per artifact ------------------------------------------

Key = tuple[str, str]


def _key(surface: Tool) -> Key:
    return (surface.kind, surface.name)


def _by_key(surfaces: Iterable[Tool]) -> dict[Key, list[Tool]]:
    grouped: dict[Key, list[Tool]] = {}
    for surface in surfaces:
        grouped.setdefault(_key(surface), []).append(surface)
    return grouped


def _subject(surface: Tool, what: str) -> str:
    """How a finding names a text: `description of tool \\`x\\``, `server instructions`..."""
    if surface.kind == INSTRUCTIONS:
        return f"the server instructions (`{surface.name}`)"
    if surface.kind == RESPONSE:
        return f"text returned by `{surface.name}`" if surface.name else "text a handler returns"
    return f"{what} of {surface.kind} `{surface.name}`"


class ToolChanges:
    """The surfaces one artifact diff touches, old and new, and what changed between them.

    Extraction covers the files the release added or changed, and the unchanged files that
    read those (a description kept in `tools.md` or `texts.py`): see `tools.dependents`.
    """

    def __init__(self, diff: ArtifactDiff) -> None:
        self.diff = diff
        self.first_release = diff.old is None
        changed = {c.path for c in diff.changes}
        touched = [c for c in diff.changes if not _declarations_untouched(c)]
        new_paths = {c.path for c in touched if c.kind is not ChangeKind.REMOVED}
        old_paths = {c.path for c in touched if c.kind is not ChangeKind.ADDED}
        if diff.old is not None:
            touched_paths = {c.path for c in touched}
            new_paths |= dependents(diff.new, touched_paths) - changed
            old_paths |= dependents(diff.old, touched_paths) - changed
        #: Every surface declared in the extracted files of the new release.
        self.new: list[Tool] = list(iter_surfaces(diff.new, new_paths))
        old = list(iter_surfaces(diff.old, old_paths)) if diff.old is not None else []
        #: Declarations of each (kind, name) before this release, for comparing texts.
        self.before: dict[Key, list[Tool]] = _by_key(old)
        new_keys = {_key(s) for s in self.new}
        stable: set[Key] = set()
        if diff.old is not None:
            # A name seen on one side only may still be declared in an unchanged file (moved,
            # or a src/ copy beside a rebuilt dist/): look there, for those names only.
            unsettled = {k for k in new_keys ^ self.before.keys() if k[1]}
            for surface in _in_unchanged(diff.new, changed | new_paths, unsettled):
                stable.add(_key(surface))
                self.before.setdefault(_key(surface), []).append(surface)
        first_new = _by_key(s for s in self.new if s.kind == TOOL)
        self.added: list[Tool] = (
            []
            if self.first_release
            else [tools[0] for key, tools in first_new.items() if key not in self.before]
        )
        old_tools = _by_key(s for s in old if s.kind == TOOL)
        self.removed: list[Tool] = [
            tools[0]
            for key, tools in old_tools.items()
            if key not in new_keys and key not in stable
        ]
        self._added_names = {tool.name for tool in self.added}
        #: Parameters that reach the network in a handler of this release, for any tool.
        self.sending_params: frozenset[str] = frozenset(p for s in self.new for p in s.sends)

    @property
    def new_tools(self) -> list[Tool]:
        """The tools among the new surfaces."""
        return [s for s in self.new if s.kind == TOOL]

    def is_new_tool(self, tool: Tool) -> bool:
        """Whether the tool appeared in this release (every tool, on a first release)."""
        return self.first_release or tool.name in self._added_names

    def old_description(self, tool: Tool) -> str | None:
        """The surface's previous description when this one differs from all of them, else
        None (also None when it is new: nothing to compare)."""
        before = self.before.get(_key(tool), [])
        if not before or normalize(tool.description) in {normalize(t.description) for t in before}:
            return None
        return before[0].description

    def old_param_description(self, tool: Tool, param: str, text: str) -> str | None:
        """The parameter's previous description when this one differs from all, else None."""
        before = self.before.get(_key(tool), [])
        texts = [d for t in before for p, d in t.params if p == param]
        if not texts or normalize(text) in {normalize(d) for d in texts}:
            return None
        return texts[0]

    def new_texts(self, tool: Tool) -> Iterator[tuple[str, str, str | None]]:
        """(what, text, previous text or None) for the surface's description and parameter
        descriptions that are new or changed in this release: the texts whose instructions
        the model has not read before."""
        before = self.before.get(_key(tool), [])
        old_descriptions = {normalize(t.description) for t in before}
        if tool.description and normalize(tool.description) not in old_descriptions:
            previous = next((t.description for t in before if t.description), None)
            if tool.kind == RESPONSE and len(before) != 1:
                previous = None  # a handler returning several texts: none is "the" old one
            yield "description", tool.description, previous
        old_params = {(p, normalize(d)) for t in before for p, d in t.params}
        for param, text in tool.params:
            if text and (param, normalize(text)) not in old_params:
                previous = next((d for t in before for p, d in t.params if p == param and d), None)
                yield f"parameter `{param}`", text, previous

    def new_params(self, tool: Tool) -> Iterator[tuple[str, str]]:
        """(name, description) of parameters the tool did not have before."""
        known = {p for t in self.before.get(_key(tool), []) for p, _ in t.params}
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


def _in_unchanged(snapshot: Snapshot, extracted: set[str], keys: set[Key]) -> list[Tool]:
    """Declarations of `keys` in files not extracted already (literal prefilter first)."""
    if not keys:
        return []
    needles = {name.encode() for _, name in keys}
    found: list[Tool] = []
    for path, entry in snapshot.files.items():
        if path in extracted or not any(n in entry.data for n in needles):
            continue
        if is_candidate(path, entry):
            found.extend(s for s in iter_surfaces(snapshot, [path]) if _key(s) in keys)
    return found


#: Modified files at least this large are extracted only when their changed lines could touch
#: a declaration: tokenizing an 8 MB bundle on both sides costs seconds, for a version string.
LARGE_SOURCE_BYTES = 1024 * 1024


def _declarations_untouched(change: FileChange) -> bool:
    """A large modified file none of whose added or removed lines holds what a declaration
    needs (`may_declare`): its surfaces are those of the pinned release. A description held
    in a constant on another line of the same large file is the one change this does not see."""
    entry = change.new
    if change.kind is not ChangeKind.MODIFIED or change.rewritten or entry is None:
        return False
    if entry.size < LARGE_SOURCE_BYTES:
        return False
    lines = [line.text for line in change.added_lines]
    lines.extend(change.removed_lines)
    return not any(may_declare(change.path, line) for line in lines)


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
    """Surfaces with distinct (kind, name, texts): src/ and dist/ copies report once."""
    seen: set[tuple[str, str, str, tuple[tuple[str, str], ...]]] = set()
    for tool in tools:
        key = (tool.kind, tool.name, normalize(tool.description), tool.params)
        if key not in seen:
            seen.add(key)
            yield tool


def _evidence(text: str, start: int = 0, end: int | None = None) -> str:
    return excerpt(text, start, end) if text else ""


def _loaded_from(surface: Tool) -> str:
    return f" (text loaded from {surface.origin})" if surface.origin else ""


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


#: Surfaces whose description changes are reported; returned text changes with every wording
#: fix of an error message, and is judged for directives only (mcp.prompt-injection).
_DESCRIBED = (TOOL, PROMPT, RESOURCE, INSTRUCTIONS)


@artifact_rule(
    id="mcp.description-changed",
    summary="An MCP tool's, parameter's, prompt's or resource's description or the server "
    "instructions changed (what the model is told); evidence is the word diff",
    severity=Severity.LOW,
    category="mcp-tool",
)
def description_changed(ctx: ArtifactContext) -> Iterator[Hit]:
    """The rug pull's vehicle: the text the model obeys changed after the user approved it.

    Low on its own (typo fixes, usage examples, "Returns JSON"): mcp.prompt-injection judges
    what a change directs. The evidence is a word diff, so a reviewer sees the change.
    """
    changes = tool_changes(ctx.diff)
    if changes.first_release:
        return
    for tool in _unique(s for s in changes.new if s.kind in _DESCRIBED):
        # An empty description is one that could not be resolved statically: unknown, not new.
        # Unless it was static before: then the model reads text no reviewer can (a description
        # fetched or assembled at run time is a rug pull that needs no new release).
        before = changes.before.get((tool.kind, tool.name), [])
        if not tool.description and before and all(t.description for t in before):
            yield Hit(
                f"{_subject(tool, 'description')} is no longer static: it is computed at run "
                "time, so the text the model reads cannot be reviewed",
                path=tool.path,
                line=tool.line,
                evidence=word_diff(before[0].description, "⟨computed at run time⟩"),
                severity=Severity.MEDIUM,
            )
        old = changes.old_description(tool) if tool.description else None
        if old is not None:
            yield Hit(
                f"{_subject(tool, 'description')} changed{_loaded_from(tool)}",
                path=tool.path,
                line=tool.line,
                evidence=word_diff(old, tool.description),
            )
        for param, text in tool.params:
            old = changes.old_param_description(tool, param, text) if text else None
            if old is not None:
                yield Hit(
                    f"description of parameter `{param}` of {tool.kind} `{tool.name}` changed",
                    path=tool.path,
                    line=tool.line,
                    evidence=word_diff(old, text),
                )


def injection_signals(text: str) -> list[tuple[str, str]]:
    """(what, evidence) for each kind of model-directed wording in a tool description.

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


@dataclass(frozen=True, slots=True)
class Judgement:
    """What a new or changed text directs, and how bad that is (SPEC §4.4)."""

    severity: Severity
    #: Directive classes and wording signals, for the message.
    kinds: tuple[str, ...]
    #: Evidence when there is no previous text to diff against.
    evidence: str
    #: The exfiltration path that made it critical, if any.
    path: str | None = None


def judge(
    surface: Tool, text: str, old: str | None, changes: ToolChanges | None = None
) -> Judgement | None:
    """What `text` (new, or changed from `old`) adds in directives aimed at the model.

    Critical: it directs the model to read secrets or pass data out, and the data has a way
    out (a URL or address in the text, a parameter the handler sends over the network, another
    tool that sends). High: any other strong directive, hidden characters, `<IMPORTANT>`-style
    tags in tool texts. Medium: only what honest tools say too ("You must first call x").
    Server instructions, prompts and returned text exist to guide the model, so weak
    directives and wording signals there say nothing.
    """
    tool_text = surface.kind == TOOL
    signals = injection_signals(text) if tool_text else _hidden_only(text)
    if old is not None and signals:
        before = {kind for kind, _ in (injection_signals(old) if tool_text else _hidden_only(old))}
        signals = [(kind, ev) for kind, ev in signals if kind not in before]
    found = directives(text)
    if old is not None and found:
        before_found = {(f.directive, f.strong) for f in directives(old)}
        found = [f for f in found if (f.directive, f.strong) not in before_found]
    if not tool_text:
        found = [f for f in found if f.strong]
    if not signals and not found:
        return None
    classes = {f.directive for f in found}
    path = _exfiltration_path(surface, text, classes, changes)
    if classes & DATA_OUT and path is not None:
        severity = Severity.CRITICAL
    elif any(f.strong for f in found) or any(k not in WEAK_INJECTION for k, _ in signals):
        severity = Severity.HIGH
    else:
        severity = Severity.MEDIUM
    kinds = [f.directive.value for f in found]
    kinds += [k for k, _ in signals if _SAME_AS.get(k) not in classes]
    unique = tuple(dict.fromkeys(kinds))
    if signals:
        evidence = signals[0][1]
    else:
        clean = _clean(text)
        evidence = excerpt(clean, found[0].start, found[0].end)
    return Judgement(severity, unique, evidence, path)


#: Wording signals that say what a directive class already says (one name per thing found).
_SAME_AS = {
    "tells the model to ignore its instructions": Directive.OVERRIDE,
    "claims to replace the model's instructions": Directive.OVERRIDE,
    "tells the model to keep something from the user": Directive.HIDE,
    "redirects where the data goes": Directive.SHADOW,
    "asks to send data to an address": Directive.INCLUDE_DATA,
    "asks for the conversation": Directive.INCLUDE_DATA,
    "orders steps before the tool is used": Directive.CALL_TOOLS,
}


def _hidden_only(text: str) -> list[tuple[str, str]]:
    return [s for s in injection_signals(text) if s[0] == "hidden Unicode characters"][:1]


def _exfiltration_path(
    surface: Tool, text: str, classes: set[Directive], changes: ToolChanges | None
) -> str | None:
    """Where directed data would leave, or None."""
    places = destinations(text)
    if places:
        return f"the text names {places[0]}"
    if surface.sends and Directive.INCLUDE_DATA in classes:
        return f"parameter `{sorted(surface.sends)[0]}` is sent over the network by the handler"
    senders = sending_tools(text)
    if senders:
        return f"it names `{senders[0]}`, a tool that sends"
    if Directive.SHADOW in classes:
        return "it rewrites what another tool sends"
    if changes is not None and Directive.INCLUDE_DATA in classes:
        clean = _clean(text)
        named = sorted(
            p for p in changes.sending_params if re.search(rf"\b{re.escape(p)}\b", clean)
        )
        if named:
            return f"parameter `{named[0]}` is sent over the network by its handler"
    return None


@artifact_rule(
    id="mcp.prompt-injection",
    summary="A new or changed MCP text (tool description, server instructions, prompt, resource, "
    "returned text) directs the model: read secrets, pass data out, call or change other tools, "
    "hide from the user, hidden characters; critical with an exfiltration path",
    severity=Severity.HIGH,
    category="mcp-injection",
)
def prompt_injection(ctx: ArtifactContext) -> Iterator[Hit]:
    """Directives to the model in texts it has not read before (tool poisoning, rug pulls)."""
    changes = tool_changes(ctx.diff)
    seen: set[tuple[str, str, str]] = set()
    for surface in changes.new:
        for what, text, old in changes.new_texts(surface):
            key = (surface.kind, surface.name, normalize(text))
            if key in seen:
                continue
            seen.add(key)
            verdict = judge(surface, text, old, changes)
            if verdict is None:
                continue
            critical = verdict.severity is Severity.CRITICAL
            out = f"; exfiltration path: {verdict.path}" if critical else ""
            verb = "direct" if surface.kind == INSTRUCTIONS else "directs"
            yield Hit(
                f"{_subject(surface, what)} {verb} the model: {'; '.join(verdict.kinds)}{out}"
                f"{_loaded_from(surface)}",
                path=surface.path,
                line=surface.line,
                evidence=word_diff(old, text) if old is not None else verdict.evidence,
                severity=verdict.severity,
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
    for tool in _unique(changes.new_tools):
        texts = [text for what, text, _ in changes.new_texts(tool) if what == "description"]
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


#: A credential parameter's description that says it is the server's own service's key, used
#: when the environment does not provide one ("Example API key; defaults to $EXAMPLE_KEY").
OWN_API = _i(
    r"\b(?:api|account|service|workspace|project|org(?:anization)?)\b|\bdefaults?\s+to\b"
    r"|\benv(?:ironment)?\b|\boverrides?\b"
)


def _own_api_credential(tool: Tool, param: str, text: str) -> bool:
    """An optional credential the server itself uses to call its API: the model may pass the
    user's key for this service, falling back to the server's configuration. Not a request
    for secrets the model would otherwise not have."""
    if param not in tool.optional:
        return False
    return param in tool.sends or OWN_API.search(_clean(text)) is not None


@artifact_rule(
    id="mcp.sensitive-parameter",
    summary="An MCP tool gained a parameter asking for secrets, key files or the conversation "
    "(not an optional key for the server's own API)",
    severity=Severity.HIGH,
    category="mcp-tool",
)
def sensitive_parameter(ctx: ArtifactContext) -> Iterator[Hit]:
    """The model fills parameters from what it can see: a parameter named `conversation_history`
    or `auth_context` is a request to exfiltrate it. An optional `api_key` the handler sends to
    its own API is not a finding; a required one is weaker when the previous release already
    took credentials (the server is an API client)."""
    changes = tool_changes(ctx.diff)
    seen: set[tuple[str, str]] = set()
    for tool in changes.new_tools:
        for param, text in changes.new_params(tool):
            kind = classify_param(param, text)
            if kind is None or (tool.name, param) in seen:
                continue
            seen.add((tool.name, param))
            if kind.credential and _own_api_credential(tool, param, text):
                continue
            weaker = kind.credential and changes.old_takes_credentials
            # An optional credential the handler never reads asks the model for nothing it
            # must supply: worth a line, not an alert. What the description directs the model
            # to put there is judged by mcp.prompt-injection.
            idle = kind.credential and param in tool.optional and param not in tool.sends
            shown = f"{param}: {visible(normalize(text))}" if text else param
            yield Hit(
                f"tool `{tool.name}` has a new parameter `{param}` that {kind.what}"
                + (" (the previous release already took credentials)" if weaker else "")
                + (" (optional, and the handler does not send it)" if idle else ""),
                path=tool.path,
                line=tool.line,
                evidence=excerpt(shown),
                weaker=weaker,
                severity=Severity.LOW if idle else None,
            )
