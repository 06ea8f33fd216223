"""Rules over added and changed source lines (JavaScript/TypeScript and Python).

A first, regex-based cut: each rule scans only the lines a release adds, so unchanged code costs
nothing. A capability the old release already had is reported one step weaker than one it never
had: network code added to an HTTP client is not news, network code added to a string utility is.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from watcher.models import AddedLine, FileChange, Severity, Snapshot
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt, is_js, is_python

#: Comment-only lines run nothing: a URL in a JSDoc block or a commented-out call is not news.
COMMENT_PREFIXES = ("//", "/*", "*", "#")


@dataclass(frozen=True, slots=True)
class Signal:
    """One pattern a code rule looks for, per language, with what a match means."""

    js: re.Pattern[str] | None
    py: re.Pattern[str] | None
    what: str
    #: Literal strings, one of which every match contains. A line without any of them is never
    #: given to the regex: finding a literal is a memory search, a regex is an interpreter.
    #: None: the pattern is cheap enough to run over the whole text.
    needles: tuple[str, ...] | None
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
    # MULTILINE: needle-less patterns run over many lines joined; `^`/`$` mean one line.
    return re.compile(pattern, re.MULTILINE)


class _Text:
    """Lines joined once, with each line's start offset, for whole-text searches."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.joined = "\n".join(lines)
        self.starts = list(itertools.accumulate((len(x) + 1 for x in lines), initial=0))

    def line_of(self, offset: int) -> int:
        """Index of the line holding `offset`."""
        return bisect.bisect_right(self.starts, offset) - 1

    def candidates(self, signal: Signal, pattern: re.Pattern[str]) -> Iterator[int]:
        """Indexes of lines that may match, in order, each once."""
        if signal.needles is None:
            seen = -1
            for match in pattern.finditer(self.joined):
                index = self.line_of(match.start())
                if index != seen:
                    seen = index
                    yield index
            return
        indexes: set[int] = set()
        for needle in signal.needles:
            position = self.joined.find(needle)
            while position != -1:
                index = self.line_of(position)
                indexes.add(index)
                # Jump to the next line: one hit per line is all a candidate needs.
                position = self.joined.find(needle, self.starts[index + 1])
        yield from sorted(indexes)

    def search(
        self, signal: Signal, pattern: re.Pattern[str]
    ) -> Iterator[tuple[int, re.Match[str]]]:
        """(line index, match within that line) for every non-comment line that matches."""
        for index in self.candidates(signal, pattern):
            line = self.lines[index]
            if line.lstrip().startswith(COMMENT_PREFIXES):
                continue
            match = pattern.search(line)
            if match is not None:
                yield index, match


def _had_before(old: Snapshot | None, signal: Signal) -> bool:
    """Whether any source file of the old release already matched this signal."""
    if old is None:
        return False
    for path, entry in old.files.items():
        pattern = signal.pattern_for(path)
        if pattern is None or entry.is_binary:
            continue
        text = entry.text
        if signal.needles is not None and not any(n in text for n in signal.needles):
            continue
        if next(_Text(text.splitlines()).search(signal, pattern), None) is not None:
            return True
    return False


#: Joined texts of the last few files scanned: every code rule scans the same added lines, and
#: joining a 9 MB bundle's lines once instead of once per rule halves a large diff's time.
_TEXT_CACHE: OrderedDict[int, tuple[FileChange, _Text]] = OrderedDict()
_TEXT_CACHE_SIZE = 32


def _added_text(change: FileChange) -> _Text:
    """The change's added lines as a `_Text`, shared by all rules scanning this change."""
    cached = _TEXT_CACHE.get(id(change))
    # The entry keeps `change` alive, so its id cannot be reused while cached.
    if cached is not None and cached[0] is change:
        _TEXT_CACHE.move_to_end(id(change))
        return cached[1]
    text = _Text([a.text for a in change.added_lines])
    _TEXT_CACHE[id(change)] = (change, text)
    if len(_TEXT_CACHE) > _TEXT_CACHE_SIZE:
        _TEXT_CACHE.popitem(last=False)
    return text


def _matches(
    ctx: ArtifactContext, signals: tuple[Signal, ...]
) -> Iterator[tuple[Signal, str, AddedLine, re.Match[str]]]:
    """(signal, path, added line, match) per matching added source line, in line order.

    Where several signals match one line, the first listed wins.
    """
    for change in ctx.changed_files():
        patterns = [(s, p) for s in signals if (p := s.pattern_for(change.path)) is not None]
        if not patterns or not change.added_lines:
            continue
        text = _added_text(change)
        found: dict[int, tuple[Signal, re.Match[str]]] = {}
        for signal, pattern in patterns:
            for index, match in text.search(signal, pattern):
                found.setdefault(index, (signal, match))
        for index in sorted(found):
            signal, match = found[index]
            yield signal, change.path, change.added_lines[index], match


def scan_added_lines(ctx: ArtifactContext, signals: tuple[Signal, ...], noun: str) -> Iterator[Hit]:
    """Hits for added source lines matching a signal.

    A signal the old release already matched is reported one step weaker; weak signals count
    only in files with no strong one.
    """
    by_file: dict[str, list[tuple[Signal, AddedLine, re.Match[str]]]] = {}
    for signal, path, added, match in _matches(ctx, signals):
        by_file.setdefault(path, []).append((signal, added, match))
    known: dict[Signal, bool] = {}
    for path, hits in by_file.items():
        strong = [hit for hit in hits if not hit[0].weak]
        for signal, added, match in strong or hits:
            if signal not in known:
                known[signal] = _had_before(ctx.diff.old, signal)
            yield Hit(
                f"{noun}: {signal.what}"
                + (" (the previous release already did this)" if known[signal] else ""),
                path=path,
                line=added.lineno,
                evidence=excerpt(added.text, match.start(), match.end()),
                severity=signal.severity,
                weaker=known[signal],
            )


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
        (
            "http",
            "fetch",
            "XMLHttpRequest",
            "WebSocket",
            "axios",
            "net.",
            "dgram.",
            "tls.",
            "undici.",
            "requests.",
            "urlopen",
            "urllib.request.",
            "socket.",
            "aiohttp.",
        ),
    ),
    Signal(
        _c(rf"\brequire\(\s*['\"]{NET_MODULES}['\"]\s*\)|\bfrom\s+['\"]{NET_MODULES}['\"]"),
        _c(
            r"^\s*(?:import\s+(?:requests|httpx|aiohttp|urllib3|socket|http\.client)\b|from\s+"
            r"(?:urllib\.request|requests|httpx|aiohttp|socket|http\.client)\s+import\b)"
        ),
        "imports a network module",
        ("http", "net", "dns", "dgram", "tls", "undici", "requests", "aiohttp", "urllib", "socket"),
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


ENV_NEEDLES = ("process.env", "os.environ", "os.getenv")
ENV = (
    Signal(
        # `const env = process.env` aliases the whole object; `const { A } = process.env`
        # destructures one variable and is not a dump.
        _c(
            r"JSON\.stringify\(\s*process\.env\b|Object\.(?:keys|entries|values|assign)\([^)]*"
            r"process\.env\s*[),]|\.\.\.\s*process\.env\b|\bin\s+process\.env\b"
            r"|\b(?:const|let|var)\s+[\w$]+\s*=\s*process\.env\s*[;,]?\s*$"
        ),
        _c(
            r"\bos\.environ\.(?:copy|items|keys|values)\s*\(|\b(?:dict|str|repr|json\.dumps)\(\s*"
            r"os\.environ\s*[),]|\*\*os\.environ\b|=\s*os\.environ\s*$"
        ),
        "reads the whole environment (every secret in it)",
        ENV_NEEDLES,
        severity=Severity.HIGH,
    ),
    Signal(
        _c(r"process\.env(?:\.|\[\s*['\"`])\w*(?:TOKEN|SECRET|KEY|PASS|AUTH|CRED|NPM|AWS|GITHUB)"),
        _c(
            r"os\.(?:environ(?:\.get\(|\[)|getenv\()\s*['\"]\w*(?:TOKEN|SECRET|KEY|PASS|AUTH|CRED"
            r"|AWS|GITHUB)"
        ),
        "reads a credential-like environment variable",
        ENV_NEEDLES,
        severity=Severity.MEDIUM,
    ),
    Signal(
        _c(r"\bprocess\.env\b"),
        _c(r"\bos\.(?:environ|getenv)\b"),
        "reads an environment variable",
        ENV_NEEDLES,
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
        # A bare `exec('…')` is child_process's; `db.exec('CREATE …')` is SQL (better-sqlite3).
        _c(
            r"\bchild_process\b|\b(?:execSync|spawnSync|execFileSync|execFile|spawn)\s*\(|"
            r"(?<![\w$.])exec\s*\(\s*['\"`]|\bBun\.spawn\b|\bDeno\.(?:run|Command)\b"
        ),
        _c(
            r"\bsubprocess\.(?:run|Popen|call|check_call|check_output|getoutput)\s*\(|\bos\."
            r"(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?)\s*\(|\bpty\.spawn\s*\("
            r"|__import__\(\s*['\"](?:os|subprocess|pty)['\"]\s*\)\.\w+\s*\("
        ),
        "starts a process",
        ("child_process", "exec", "spawn", "Deno.", "subprocess.", "os.", "pty.", "__import__"),
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
        ("eval", "Function", "exec"),
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
        ("eval", "Function", "vm.", "exec", "compile", "__import__", "import_module"),
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
SECRETS = (
    Signal(
        _c(SECRET_PATHS),
        _c(SECRET_PATHS),
        "touches a secret on disk",
        (
            ".ssh",
            "id_",
            ".aws",
            ".npmrc",
            ".pypirc",
            ".git-credentials",
            ".docker",
            ".kube",
            ".netrc",
            "claude_desktop_config",
            ".cursor",
            ".codeium",
            "gcloud",
            "wallet.dat",
            "ogin ",
            "Local Storage",
            ".bitcoin",
            ".ethereum",
            "Exodus",
            ".env",
            "keychain",
        ),
    ),
)


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
#: Loopback, "any" and broadcast addresses are how servers listen, not where data goes.
NOT_REMOTE_IP = r"(?!127\.|0\.0\.0\.0|255\.255\.255\.255)"
HOSTS = (
    Signal(
        _c(EXFIL_SERVICES),
        _c(EXFIL_SERVICES),
        "names a data-drop service (webhook, paste, tunnel)",
        (
            "webhook.site",
            "pipedream",
            "requestbin",
            "requestcatcher",
            "ngrok",
            "trycloudflare",
            "loca.lt",
            "serveo",
            "pastebin",
            "paste.ee",
            "hastebin",
            "transfer.sh",
            "discord",
            "api.telegram.org",
            "interact.sh",
            "oast.",
            "burpcollaborator",
            ".onion",
        ),
        severity=Severity.HIGH,
    ),
    Signal(
        _c(rf"['\"`](?:https?://|//)?{NOT_REMOTE_IP}(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?::\d+)?[/'\"`]"),
        _c(rf"['\"](?:https?://)?{NOT_REMOTE_IP}(?:\d{{1,3}}\.){{3}}\d{{1,3}}(?::\d+)?[/'\"]"),
        "contains a hard-coded IP address",
        None,
        severity=Severity.MEDIUM,
    ),
    Signal(
        _c(
            r"https?://(?!localhost\b|127\.0\.0\.1|0\.0\.0\.0|example\.(?:com|org))[\w.-]+\.[a-z]{2,}"
            r"|\bhost(?:name)?\s*:\s*['\"`][\w-]+(?:\.[\w-]+)+['\"`]"
        ),
        _c(
            r"https?://(?!localhost\b|127\.0\.0\.1|0\.0\.0\.0|example\.(?:com|org))[\w.-]+\.[a-z]{2,}"
            r"|\bhost(?:name)?\s*=\s*['\"][\w-]+(?:\.[\w-]+)+['\"]"
        ),
        "contains a hard-coded host",
        ("http", "host"),
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
    old_text: str | None = None
    verdicts: dict[str, bool] = {}
    for signal, path, added, match in _matches(ctx, HOSTS):
        host = _HOST_IN.search(match.group(0))
        name = host.group(0).lower() if host else match.group(0)
        if name not in verdicts:
            if old_text is None:
                old_text = _old_source_text(ctx.diff.old)
            verdicts[name] = name in old_text
        if verdicts[name]:
            continue
        yield Hit(
            f"host: {signal.what}: `{name}`",
            path=path,
            line=added.lineno,
            evidence=excerpt(added.text, match.start(), match.end()),
            severity=signal.severity,
        )


_HOST_IN = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)


def _old_source_text(old: Snapshot | None) -> str:
    """The old release's source, lower-cased, to tell new hosts from ones it already named."""
    if old is None:
        return ""
    return "\n".join(
        e.text.lower()
        for p, e in old.files.items()
        if not e.is_binary and (is_js(p) or is_python(p))
    )


OBFUSCATION = (
    Signal(
        _c(r"\b_0x[0-9a-f]{4,6}\b"),
        None,
        "uses `_0x…` obfuscated identifiers",
        ("_0x",),
        severity=Severity.HIGH,
    ),
    Signal(
        _c(r"['\"`][A-Za-z0-9+/]{300,}={0,2}['\"`]"),
        _c(r"['\"][A-Za-z0-9+/]{300,}={0,2}['\"]"),
        "embeds a long base64 blob",
        None,
    ),
    Signal(
        _c(r"['\"`](?:\\x[0-9a-fA-F]{2}){40,}|['\"`][0-9a-fA-F]{400,}['\"`]"),
        _c(r"['\"](?:\\x[0-9a-fA-F]{2}){40,}|['\"][0-9a-fA-F]{400,}['\"]"),
        "embeds a long hex-encoded blob",
        None,
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
