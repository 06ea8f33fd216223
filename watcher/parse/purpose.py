"""What a package is for, from what is cheap and local: its dependencies, keywords, description
and name. Rules use it as context: a capability that fits the purpose (an HTTP client adding a
request, a shell server starting a process) is weaker evidence than one that does not.

The purpose is read from the *old* release when there is one: the new release is the one under
suspicion, and an attacker who adds `axios` and the keyword "http" must not talk the report
down. Deliberately conservative: only two capabilities ("network", "exec") are ever granted.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import HeaderParser

from watcher.models import ArtifactDiff, Manifest, Snapshot

#: Own dependencies that make a package a network client.
NETWORK_DEPENDENCIES = frozenset(
    {
        "axios",
        "undici",
        "node-fetch",
        "got",
        "superagent",
        "ky",
        "cross-fetch",
        "isomorphic-fetch",
        "needle",
        "request",
        "ws",
        "socket.io-client",
        "@octokit/rest",
        "@octokit/core",
        "requests",
        "httpx",
        "aiohttp",
        "urllib3",
        "httplib2",
        "websockets",
        "pycurl",
    }
)
#: Own dependencies that make a package a process runner.
EXEC_DEPENDENCIES = frozenset(
    {"execa", "cross-spawn", "shelljs", "node-pty", "@lydell/node-pty", "zx", "pexpect", "sh"}
    | {"plumbum", "ptyprocess"}
)
NETWORK_WORDS = frozenset(
    {"http", "https", "fetch", "request", "requests", "api", "rest", "graphql", "webhook"}
    | {"webhooks", "websocket", "proxy", "download", "downloader", "scraper", "crawler"}
    | {"network", "socket", "curl", "smtp"}
)
EXEC_WORDS = frozenset(
    {"shell", "terminal", "command", "commands", "exec", "execute", "spawn", "subprocess"}
    | {"bash", "zsh", "powershell", "cmd"}
)
#: What each capability is called in a finding's message.
LABELS = {"network": "a network client", "exec": "a shell/command runner"}

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Purpose:
    """The capabilities a package's own description grants it, each with the reason why."""

    reasons: Mapping[str, str] = field(default_factory=dict)

    def fits(self, capability: str) -> str | None:
        """A phrase for a finding ("a network client (depends on axios)"), or None."""
        reason = self.reasons.get(capability)
        if reason is None:
            return None
        return f"{LABELS.get(capability, capability)} ({reason})"


@dataclass(frozen=True, slots=True)
class _Description:
    name: str
    dependencies: tuple[str, ...]
    keywords: tuple[str, ...]
    text: str


def _npm_description(snapshot: Snapshot, manifest: Manifest | None) -> _Description:
    entry = snapshot.files.get("package.json")
    data: dict[str, object] = {}
    if entry is not None:
        try:
            loaded = json.loads(entry.text)
        # not a gap: purpose is context only; the manifest parser reports a bad package.json
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            data = loaded
    keywords = data.get("keywords")
    description = data.get("description")
    deps = data.get("dependencies")
    names = list(deps) if isinstance(deps, dict) else []
    if manifest is not None:
        names += list(manifest.dependencies)
    return _Description(
        name=str(data.get("name") or (manifest.name if manifest else "") or ""),
        dependencies=tuple(names),
        keywords=tuple(str(k) for k in keywords) if isinstance(keywords, list) else (),
        text=description if isinstance(description, str) else "",
    )


def _pypi_description(snapshot: Snapshot, manifest: Manifest | None) -> _Description:
    meta = snapshot.files.get("PKG-INFO")
    if meta is None:
        meta = next(
            (e for p, e in snapshot.files.items() if p.endswith(".dist-info/METADATA")), None
        )
    headers = HeaderParser().parsestr(meta.text) if meta is not None else None
    keywords = headers.get("Keywords", "") if headers is not None else ""
    summary = headers.get("Summary", "") if headers is not None else ""
    requires = headers.get_all("Requires-Dist", []) if headers is not None else []
    names = [re.split(r"[\s;<>=!~\[(]", r.strip(), maxsplit=1)[0] for r in requires]
    if manifest is not None:
        names += list(manifest.dependencies)
    name = (headers.get("Name", "") if headers is not None else "") or (
        manifest.name if manifest else ""
    )
    return _Description(
        name=str(name or ""),
        dependencies=tuple(names),
        keywords=tuple(k for k in re.split(r"[,\s]+", str(keywords)) if k),
        text=str(summary),
    )


def _words(texts: Iterable[str]) -> list[str]:
    return [w for t in texts for w in _WORD.findall(t.lower())]


def _reason(
    description: _Description, dependencies: frozenset[str], words: frozenset[str]
) -> str | None:
    for dep in description.dependencies:
        if dep.lower() in dependencies:
            return f"depends on {dep}"
    for keyword in _words(description.keywords):
        if keyword in words:
            return f"keyword '{keyword}'"
    text = description.text.lower().replace("command-line", "").replace("command line", "")
    for word in _words([text]):
        if word in words:
            return f"described as '{word}'"
    for word in _words([description.name.replace("-", " ").replace("_", " ")]):
        if word in words:
            return f"named '{description.name}'"
    return None


def describe(snapshot: Snapshot, manifest: Manifest | None) -> Purpose:
    """The purpose of one artifact's contents (npm package.json, or PKG-INFO/METADATA)."""
    if "package.json" in snapshot.files:
        description = _npm_description(snapshot, manifest)
    else:
        description = _pypi_description(snapshot, manifest)
    reasons = {}
    network = _reason(description, NETWORK_DEPENDENCIES, NETWORK_WORDS)
    if network is not None:
        reasons["network"] = network
    run = _reason(description, EXEC_DEPENDENCIES, EXEC_WORDS)
    if run is not None:
        reasons["exec"] = run
    return Purpose(reasons)


_CACHE: OrderedDict[int, tuple[ArtifactDiff, Purpose]] = OrderedDict()
_CACHE_SIZE = 16


def purpose_of(diff: ArtifactDiff) -> Purpose:
    """The package's purpose, from the old release when there is one (cached per diff)."""
    cached = _CACHE.get(id(diff))
    # The entry keeps `diff` alive, so its id cannot be reused while cached.
    if cached is not None and cached[0] is diff:
        return cached[1]
    if diff.old is not None:
        purpose = describe(diff.old, diff.old_manifest)
    else:
        purpose = describe(diff.new, diff.new_manifest)
    _CACHE[id(diff)] = (diff, purpose)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return purpose
