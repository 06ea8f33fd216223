"""Rules over added and changed source lines (JavaScript/TypeScript and Python).

A first, regex-based cut: each rule scans only the lines a release adds, so unchanged code costs
nothing. A capability the old release already had is reported one step weaker than one it never
had: network code added to an HTTP client is not news, network code added to a string utility is.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from watcher.models import Severity, Snapshot
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, is_js, is_python

_WEAKER = {
    Severity.CRITICAL: Severity.HIGH,
    Severity.HIGH: Severity.MEDIUM,
    Severity.MEDIUM: Severity.LOW,
    Severity.LOW: Severity.LOW,
    Severity.NONE: Severity.NONE,
}


@dataclass(frozen=True, slots=True)
class Signal:
    """One pattern a code rule looks for, per language, with what a match means."""

    js: re.Pattern[str] | None
    py: re.Pattern[str] | None
    what: str
    severity: Severity | None = None
    #: When True, this signal only counts if no stronger signal of the rule hit the same file
    #: (an `import requests` is noise beside the `requests.post(...)` that follows it).
    weak: bool = False

    def pattern_for(self, path: str) -> re.Pattern[str] | None:
        """The pattern for this file's language, if the file is source code."""
        if is_js(path):
            return self.js
        if is_python(path):
            return self.py
        return None


def _c(pattern: str) -> re.Pattern[str]:
    # MULTILINE: patterns run over many added lines joined with newlines; `^`/`$` mean a line.
    return re.compile(pattern, re.MULTILINE)


def _had_before(old: Snapshot | None, signal: Signal) -> bool:
    """Whether any source file of the old release already matched this signal."""
    if old is None:
        return False
    for path, entry in old.files.items():
        pattern = signal.pattern_for(path)
        if pattern is not None and not entry.is_binary and pattern.search(entry.text):
            return True
    return False


def _matches(
    ctx: ArtifactContext, signals: tuple[Signal, ...]
) -> Iterator[tuple[Signal, str, int, str, re.Match[str]]]:
    """(signal, path, line number, line, match) per matching added source line, in line order.

    Each pattern runs once over a file's added lines joined together (not once per line), and
    where several signals match one line the first listed wins: a 9 MB bundle then costs a few
    regex passes instead of millions of calls.
    """
    for change in ctx.changed_files():
        if not change.added_lines:
            continue
        patterns = [(s, p) for s in signals if (p := s.pattern_for(change.path)) is not None]
        if not patterns:
            continue
        text = "\n".join(a.text for a in change.added_lines)
        starts = list(
            itertools.accumulate((len(a.text) + 1 for a in change.added_lines), initial=0)
        )
        found: dict[int, tuple[Signal, re.Match[str]]] = {}
        for signal, pattern in patterns:
            for match in pattern.finditer(text):
                index = bisect.bisect_right(starts, match.start()) - 1
                found.setdefault(
                    index, (signal, _line_match(pattern, change.added_lines[index].text, match))
                )
        for index in sorted(found):
            signal, match = found[index]
            added = change.added_lines[index]
            yield signal, change.path, added.lineno, added.text, match


def _line_match(pattern: re.Pattern[str], line: str, fallback: re.Match[str]) -> re.Match[str]:
    """The match re-anchored to its own line, so evidence offsets are line offsets."""
    return pattern.search(line) or fallback


def scan_added_lines(ctx: ArtifactContext, signals: tuple[Signal, ...], noun: str) -> Iterator[Hit]:
    """Hits for added source lines matching a signal.

    A signal the old release already matched is reported one step weaker; weak signals count
    only in files with no strong one.
    """
    by_file: dict[str, list[tuple[Signal, Hit]]] = {}
    for signal, path, lineno, text, match in _matches(ctx, signals):
        hit = Hit(
            f"{noun}: {signal.what}",
            path=path,
            line=lineno,
            evidence=excerpt(text, match.start(), match.end()),
            severity=signal.severity,
        )
        by_file.setdefault(path, []).append((signal, hit))
    known: dict[Signal, bool] = {}
    for hits in by_file.values():
        strong = [pair for pair in hits if not pair[0].weak]
        for signal, hit in strong or hits:
            if signal not in known:
                known[signal] = _had_before(ctx.diff.old, signal)
            if known[signal]:
                base = hit.severity or Severity.MEDIUM
                hit = Hit(
                    hit.message + " (the previous release already did this)",
                    hit.path,
                    hit.line,
                    hit.evidence,
                    _WEAKER[base],
                )
            yield hit


NET_MODULES = r"(?:node:)?(?:https?|http2|net|dns|dgram|tls|undici)"
NETWORK = (
    Signal(
        _c(
            r"\b(?:https?|http2)\.(?:request|get)\s*\(|\bfetch\s*\(|\bnew\s+(?:XMLHttpRequest|"
            r"WebSocket)\b|\baxios(?:\.\w+)?\s*\(|\bnet\.(?:connect|createConnection|Socket)\b"
            r"|\b(?:dgram|tls)\.(?:createSocket|connect)\s*\(|\bundici\.request\s*\("
        ),
        _c(
            r"\b(?:requests|httpx)\.(?:get|post|put|patch|delete|request|Client|AsyncClient|Session)"
            r"\s*\(|\burlopen\s*\(|\burllib\.request\.|\bsocket\.(?:socket|create_connection)\s*\("
            r"|\baiohttp\.ClientSession\s*\(|\bhttp\.client\.HTTPS?Connection\s*\("
        ),
        "makes a network request",
    ),
    Signal(
        _c(rf"\brequire\(\s*['\"]{NET_MODULES}['\"]\s*\)|\bfrom\s+['\"]{NET_MODULES}['\"]"),
        _c(
            r"^\s*(?:import\s+(?:requests|httpx|aiohttp|urllib3|socket|http\.client)\b|from\s+"
            r"(?:urllib\.request|requests|httpx|aiohttp|socket|http\.client)\s+import\b)"
        ),
        "imports a network module",
        weak=True,
    ),
)


@artifact_rule(
    id="code.network",
    summary="Added code reaches the network (http/https/net/dns/fetch/sockets, requests, urllib)",
    severity=Severity.MEDIUM,
    category="network",
)
def network(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code reaches the network (http/https/net/dns/fetch/sockets, requests, urllib)."""
    return scan_added_lines(ctx, NETWORK, "network")


ENV = (
    Signal(
        _c(
            r"JSON\.stringify\(\s*process\.env\b|Object\.(?:keys|entries|values|assign)\([^)]*"
            r"process\.env\s*[),]|\.\.\.\s*process\.env\b|\bin\s+process\.env\b"
            r"|=\s*process\.env\s*[;,)]?\s*$"
        ),
        _c(
            r"\bos\.environ\.(?:copy|items|keys|values)\s*\(|\b(?:dict|str|repr|json\.dumps)\(\s*"
            r"os\.environ\s*[),]|\*\*os\.environ\b|\bos\.environ\s*$"
        ),
        "reads the whole environment (every secret in it)",
        severity=Severity.HIGH,
    ),
    Signal(
        _c(r"process\.env(?:\.|\[\s*['\"`])\w*(?:TOKEN|SECRET|KEY|PASS|AUTH|CRED|NPM|AWS|GITHUB)"),
        _c(
            r"os\.(?:environ(?:\.get\(|\[)|getenv\()\s*['\"]\w*(?:TOKEN|SECRET|KEY|PASS|AUTH|CRED"
            r"|AWS|GITHUB)"
        ),
        "reads a credential-like environment variable",
        severity=Severity.MEDIUM,
    ),
    Signal(
        _c(r"\bprocess\.env\b"),
        _c(r"\bos\.(?:environ|getenv)\b"),
        "reads an environment variable",
        severity=Severity.LOW,
    ),
)


@artifact_rule(
    id="code.env-access",
    summary="Added code reads the environment (dumping all of it is worse than reading one)",
    severity=Severity.LOW,
    category="env",
)
def env_access(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code reads the environment (dumping all of it is worse than reading one)."""
    return scan_added_lines(ctx, ENV, "environment")


EXEC = (
    Signal(
        _c(
            r"\bchild_process\b|\b(?:execSync|spawnSync|execFileSync|execFile|spawn)\s*\(|"
            r"\bexec\s*\(\s*['\"`]|\bBun\.spawn\b|\bDeno\.(?:run|Command)\b"
        ),
        _c(
            r"\bsubprocess\.(?:run|Popen|call|check_call|check_output|getoutput)\s*\(|\bos\."
            r"(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(|\bpty\.spawn\s*\("
        ),
        "starts a process",
    ),
)


@artifact_rule(
    id="code.process-exec",
    summary="Added code starts processes (child_process, subprocess, os.system)",
    severity=Severity.MEDIUM,
    category="exec",
)
def process_exec(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code starts processes (child_process, subprocess, os.system)."""
    return scan_added_lines(ctx, EXEC, "process")


DYNAMIC = (
    Signal(
        _c(
            r"\b(?:eval|Function)\s*\(\s*(?:Buffer\.from|atob|unescape|decodeURIComponent)\s*\(|"
            r"\beval\s*\(\s*(?:String\.fromCharCode|require\(['\"]zlib)"
        ),
        _c(
            r"\b(?:exec|eval)\s*\(\s*(?:base64\.\w*decode|zlib\.decompress|codecs\.decode|bytes"
            r"\.fromhex|marshal\.loads|__import__\(['\"](?:base64|zlib))"
        ),
        "decodes and runs hidden code",
        severity=Severity.HIGH,
    ),
    Signal(
        _c(
            r"(?<![\w.$])eval\s*\(|\bnew\s+Function\s*\(|\bvm\.(?:runIn\w+|Script|compileFunction)\b"
        ),
        _c(
            r"(?<![\w.])(?:exec|eval|compile)\s*\(|\b__import__\s*\(|\bimportlib\.import_module\s*\("
        ),
        "evaluates code built at run time",
    ),
)


@artifact_rule(
    id="code.dynamic-code",
    summary="Added code evaluates code at run time (eval, Function, vm, exec, compile)",
    severity=Severity.MEDIUM,
    category="dynamic-code",
)
def dynamic_code(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code evaluates code at run time (eval, Function, vm, exec, compile)."""
    return scan_added_lines(ctx, DYNAMIC, "dynamic code")


SECRET_PATHS = (
    r"\.ssh[/\\]|id_(?:rsa|ed25519|ecdsa)\b|\.aws[/\\]credentials|\.npmrc\b|\.pypirc\b|"
    r"\.git-credentials|\.docker[/\\]config\.json|\.kube[/\\]config|\.netrc\b|"
    r"claude_desktop_config\.json|\.cursor[/\\]mcp\.json|\.codeium[/\\]|\.config[/\\]gcloud|"
    r"wallet\.dat|[Ll]ogin [Dd]ata|[/\\]Local Storage[/\\]leveldb|\.bitcoin[/\\]|\.ethereum[/\\]|"
    r"Exodus[/\\]|[\"']\.env[\"']|keychain"
)
SECRETS = (Signal(_c(SECRET_PATHS), _c(SECRET_PATHS), "touches a secret on disk"),)


@artifact_rule(
    id="code.secret-files",
    summary="Added code refers to credential files (ssh, aws, npmrc, .env, MCP client configs)",
    severity=Severity.HIGH,
    category="secrets",
)
def secret_files(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code refers to credential files (ssh, aws, npmrc, .env, MCP client configs)."""
    return scan_added_lines(ctx, SECRETS, "secret files")


#: Services that exist to receive data from anyone: webhooks, paste sites, tunnels, OAST.
EXFIL_SERVICES = (
    r"webhook\.site|pipedream\.net|requestbin|requestcatcher|ngrok(?:-free)?\.(?:io|app|dev)"
    r"|trycloudflare\.com|loca\.lt|serveo\.net|pastebin\.com|paste\.ee|hastebin|transfer\.sh"
    r"|discord(?:app)?\.com/api/webhooks|api\.telegram\.org/bot|interact\.sh|oast\.(?:fun|pro|me"
    r"|site|live|online)|burpcollaborator\.net|\.onion\b"
)
HOSTS = (
    Signal(
        _c(EXFIL_SERVICES),
        _c(EXFIL_SERVICES),
        "names a data-drop service (webhook, paste, tunnel)",
        severity=Severity.HIGH,
    ),
    Signal(
        _c(r"['\"`](?:https?://|//)?(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?[/'\"`]"),
        _c(r"['\"](?:https?://)?(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?[/'\"]"),
        "contains a hard-coded IP address",
        severity=Severity.MEDIUM,
    ),
    Signal(
        _c(
            r"https?://(?!localhost\b|127\.0\.0\.1|example\.(?:com|org))[\w.-]+\.[a-z]{2,}"
            r"|\bhost(?:name)?\s*:\s*['\"`][\w-]+(?:\.[\w-]+)+['\"`]"
        ),
        _c(
            r"https?://(?!localhost\b|127\.0\.0\.1|example\.(?:com|org))[\w.-]+\.[a-z]{2,}"
            r"|\bhost(?:name)?\s*=\s*['\"][\w-]+(?:\.[\w-]+)+['\"]"
        ),
        "contains a hard-coded host",
    ),
)


@artifact_rule(
    id="code.new-host",
    summary="Added code names a host the previous release never mentioned",
    severity=Severity.LOW,
    category="host",
)
def new_host(ctx: ArtifactContext) -> Iterator[Hit]:
    """New hosts in source; data-drop services and raw IPs rank higher than ordinary domains."""
    known: set[str] | None = None
    for signal, path, lineno, text, match in _matches(ctx, HOSTS):
        host = _HOST_IN.search(match.group(0))
        name = host.group(0).lower() if host else match.group(0)
        if known is None:
            known = _old_hosts(ctx.diff.old)
        if name in known:
            continue
        yield Hit(
            f"host: {signal.what}: `{name}`",
            path=path,
            line=lineno,
            evidence=excerpt(text, match.start(), match.end()),
            severity=signal.severity,
        )


_HOST_IN = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


def _old_hosts(old: Snapshot | None) -> set[str]:
    """Every host-like token in the old release's source, to tell new hosts from known ones."""
    if old is None:
        return set()
    return {
        token.lower()
        for path, entry in old.files.items()
        if not entry.is_binary and (is_js(path) or is_python(path))
        for token in _HOST_IN.findall(entry.text)
    }


OBFUSCATION = (
    Signal(
        _c(r"\b_0x[0-9a-f]{4,6}\b"),
        None,
        "uses `_0x…` obfuscated identifiers",
        severity=Severity.HIGH,
    ),
    Signal(
        _c(r"['\"`][A-Za-z0-9+/]{300,}={0,2}['\"`]"),
        _c(r"['\"][A-Za-z0-9+/]{300,}={0,2}['\"]"),
        "embeds a long base64 blob",
    ),
    Signal(
        _c(r"['\"`](?:\\x[0-9a-fA-F]{2}){40,}|['\"`][0-9a-fA-F]{400,}['\"`]"),
        _c(r"['\"](?:\\x[0-9a-fA-F]{2}){40,}|['\"][0-9a-fA-F]{400,}['\"]"),
        "embeds a long hex-encoded blob",
    ),
)


@artifact_rule(
    id="code.obfuscation",
    summary="Added code is obfuscated (`_0x` identifiers, long base64/hex blobs)",
    severity=Severity.MEDIUM,
    category="obfuscation",
)
def obfuscation(ctx: ArtifactContext) -> Iterator[Hit]:
    """Added code is obfuscated (`_0x` identifiers, long base64/hex blobs)."""
    return scan_added_lines(ctx, OBFUSCATION, "obfuscation")
