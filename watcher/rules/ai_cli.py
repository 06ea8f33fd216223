"""AI agent CLIs turned into the attacker's tool: the nx 2025 `telemetry.js` pattern.

The compromised nx releases ran `claude --dangerously-skip-permissions`, `gemini --yolo` and
`q chat --trust-all-tools` with a prompt asking the agent to inventory wallets and secrets on
the victim's disk: the developer's own agent, with its own permissions, did the searching.
A package that runs `claude --print` for a feature, or has a `--yolo` flag of its own, is not
that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from watcher.models import Severity
from watcher.rules.added_source import SourceFile, changed_sources, first_near, near
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: Flags that switch off an agent's confirmation prompts; unambiguous ones need no CLI name.
UNAMBIGUOUS_BYPASS = re.compile(
    r"--dangerously-skip-permissions|--dangerously-bypass-approvals-and-sandbox|--trust-all-tools"
)
#: Flags that mean "no confirmations" only when an agent CLI is what gets them.
BYPASS = re.compile(
    rf"{UNAMBIGUOUS_BYPASS.pattern}|--yolo\b|--allow-all-tools\b|--yes-always\b"
    r"|--approval-mode[= ]+['\"]?yolo"
)
BYPASS_NEEDLES = ("--dangerously-", "--trust-all-tools")
#: An agent CLI named as a program to run: a quoted command word or the start of a command.
AGENT_CLI = re.compile(
    r"(['\"`])(?:claude|gemini|codex|copilot|cursor-agent|aider|opencode|q)(?:\1|\s+(?:chat"
    r"|exec|-p\b|--\w))|\b(?:npx\s+)?@anthropic-ai/claude-code\b|\b@google/gemini-cli\b"
)
AGENT_NEEDLES = (
    "claude",
    "gemini",
    "codex",
    "copilot",
    "cursor-agent",
    "aider",
    "opencode",
    "'q",
    '"q',
    "`q",
)
#: A prompt asking an agent to search the disk for secrets: a search verb and a secret noun.
_VERB = r"(?:search|find|locate|look\s+for|inventory|enumerate|list|collect|scan|gather|extract)"
_NOUN = (
    r"(?:(?<!\w)\.env\b|\b(?:wallets?|seed\s+phrases?|mnemonics?|private\s+keys?|keystores?"
    r"|credentials?|secrets?|api[\s_-]?keys?|ssh\s+keys?|id_rsa))"
)
#: Verb and noun in one run of prose: no quote, brace, assignment or statement end between.
SECRET_PROMPT = re.compile(rf"\b{_VERB}\b[^'\"`;{{}}=\n]{{0,200}}?{_NOUN}", re.IGNORECASE)
VERB_NEEDLES = (
    "search",
    "find",
    "locate",
    "look",
    "inventory",
    "enumerate",
    "list",
    "collect",
    "scan",
    "gather",
    "extract",
)


@artifact_rule(
    id="code.ai-cli-abuse",
    summary="Added code runs AI agent CLIs with permission bypasses or prompts to hunt secrets",
    severity=Severity.HIGH,
    category="exec",
)
def ai_cli_abuse(ctx: ArtifactContext) -> Iterator[Hit]:
    """Agent CLIs (claude, gemini, q, codex...) run with bypass flags or secret-hunting prompts."""
    for source in changed_sources(ctx):
        text = source.joined
        has_cli = first_near(AGENT_CLI, text, AGENT_NEEDLES, before=30, after=40) is not None
        if not has_cli and not source.mentions(BYPASS_NEEDLES):
            continue
        flags: dict[int, list[re.Match[str]]] = {}
        for flag in (BYPASS if has_cli else UNAMBIGUOUS_BYPASS).finditer(text):
            flags.setdefault(source.index_of(flag.start()), []).append(flag)
        bypasses = [_bypass_hit(source, index, found) for index, found in flags.items()]
        prompts: list[Hit] = []
        seen: set[int] = set(flags)
        prompt_matches = (
            near(SECRET_PROMPT, text, VERB_NEEDLES, before=2, after=260, haystack=source.lowered)
            if has_cli
            else iter(())
        )
        for prompt in prompt_matches:
            index = source.index_of(prompt.start())
            # Prose has words: `find(e).secret` in a bundle is code, not a request.
            if index in seen or prompt.group().count(" ") < 2:
                continue
            seen.add(index)
            added = source.lines[index]
            column = source.column(prompt.start())
            prompts.append(
                Hit(
                    "AI agent: a prompt for an agent CLI asks it to search for secrets",
                    path=source.path,
                    line=added.lineno,
                    evidence=excerpt(added.text, column, column + len(prompt.group())),
                )
            )
        if bypasses and prompts:
            # An agent told to hunt secrets with nothing asking the user first: nx's payload.
            bypasses = [replace(h, severity=Severity.CRITICAL) for h in bypasses]
            prompts = [replace(h, severity=Severity.CRITICAL) for h in prompts]
        yield from sorted(bypasses + prompts, key=lambda h: h.line or 0)


def _bypass_hit(source: SourceFile, index: int, flags: list[re.Match[str]]) -> Hit:
    added = source.lines[index]
    names = ", ".join(dict.fromkeys(f"`{f.group()}`" for f in flags))
    start, end = source.column(flags[0].start()), source.column(flags[-1].end())
    return Hit(
        f"AI agent: runs an agent CLI with {names} (no confirmation before it reads files or "
        "runs commands)",
        path=source.path,
        line=added.lineno,
        evidence=excerpt(added.text, start, end),
    )
