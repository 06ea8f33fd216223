"""Crypto-wallet drainers: network hooks and hard-coded wallet addresses.

The 2025 chalk/debug compromise wrapped `fetch` and `XMLHttpRequest`, rewrote any crypto
address in responses to the nearest of hundreds of attacker addresses (a regex per coin), and
hooked `window.ethereum.request` to redirect transactions. Each piece is visible in the added
lines: a global network function replaced, an address regex used to rewrite text, and a pile
of address literals. A web3 library validating an address with a regex is none of those.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from watcher.models import Severity
from watcher.rules.added_source import SourceFile, changed_sources, near, old_source_text
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

#: Replacing the page's (or the process's) own network and wallet functions.
HOOK = re.compile(
    r"(?<![\w$.])(?:window|globalThis|global|self)\.fetch\s*=(?!=)"
    r"|\bXMLHttpRequest\.prototype\.(?:open|send|setRequestHeader)\s*=(?!=)"
    r"|(?<![\w$])(?:window\.)?ethereum\.(?:request|send|sendAsync)\s*=(?!=)"
    r"|\bObject\.defineProperty\(\s*(?:window|globalThis|global|self)\s*,\s*['\"]"
    r"(?:fetch|ethereum|XMLHttpRequest)['\"]"
    r"|new\s+Proxy\(\s*(?:window\.|globalThis\.|global\.|self\.)?(?:fetch|ethereum)\b"
)
HOOK_NEEDLES = ("fetch", "XMLHttpRequest", "ethereum")
#: `if (!globalThis.fetch) globalThis.fetch = nodeFetch`: a polyfill fills a gap, it hooks nothing.
POLYFILL_GUARD = re.compile(r"typeof\s+fetch\s*===?\s*['\"]undefined|!\s*(?:\w+\.)?fetch\b|\|\|=")

#: Address literals, whole quoted strings. ETH/EVM, TRON and bech32 BTC are distinctive; legacy
#: base58 BTC and Solana look like any other random identifier and only count in numbers.
DISTINCTIVE = re.compile(
    r"['\"`](0x[0-9a-fA-F]{40}|bc1[ac-hj-np-z02-9]{25,59}|T[1-9A-HJ-NP-Za-km-z]{33})['\"`]"
)
AMBIGUOUS = re.compile(r"['\"`]([13][1-9A-HJ-NP-Za-km-z]{25,34}|[1-9A-HJ-NP-Za-km-z]{32,44})['\"`]")
#: Base58 has no 0/O/I/l; a real address also mixes cases and digits (a word does not).
_MIXED = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)")
#: The source text of a regex matching addresses: `0x[a-fA-F0-9]{40}`, `bc1[…]`, `[13][a-km-z…]`.
ADDRESS_REGEX = re.compile(
    r"0x\[(?:a-fA-F0-9|0-9a-fA-F|a-f0-9|0-9a-f|A-Fa-f0-9|0-9A-Fa-f)\]\{40\}|\bbc1\[|\\bbc1"
    r"|\[13\]\[a-km-zA-HJ-NP-Z1-9\]|\[1-9A-HJ-NP-Za-km-z\]\{3[23],44\}|\bT\[1-9A-HJ-NP-Za-km-z\]"
)
REGEX_NEEDLES = ("{40}", "bc1", "[13]", "A-HJ-NP-Z", "T[1-9")
#: Several addresses in one file are a payout list, not a donation link.
MANY_ADDRESSES = 3
#: Enough to call a list a list: a bundle of random-looking ids must not cost a Hit each.
MAX_ADDRESSES = 50


#: What follows `globalThis.fetch =` when a module is installed as the global: a plain name.
_BARE_VALUE = re.compile(r"\s*[\w$]+(?:\.[\w$]+)*\s*(?:[;,)}\n]|$)")
#: Keeping the original to call from the replacement is what makes a wrapper a hook.
_SAVES_FETCH = re.compile(
    r"=\s*(?:window|globalThis|global|self)\.fetch\b(?!\s*=)"
    r"|(?:window|globalThis|global|self)\.fetch\.bind\("
)


def _installs_fetch(text: str, hook: re.Match[str]) -> bool:
    """`globalThis.fetch = fetch;` (bundlers' and SDKs' shims) installs a fetch, it wraps none.

    Only when the file never keeps the original global `fetch`: `const f = window.fetch;
    window.fetch = patched;` is a wrapper however plainly the patched function is named.
    """
    if "fetch" not in hook.group() or not _BARE_VALUE.match(text, hook.end()):
        return False
    return _SAVES_FETCH.search(text) is None


@artifact_rule(
    id="code.wallet-hook",
    summary="Added code hooks fetch/XMLHttpRequest/window.ethereum or rewrites crypto addresses",
    severity=Severity.HIGH,
    category="wallet",
)
def wallet_hook(ctx: ArtifactContext) -> Iterator[Hit]:
    """Network/wallet hooks, address-rewriting regexes and hard-coded wallet addresses."""
    old_text: str | None = None
    for source in changed_sources(ctx):
        hits: list[Hit] = []
        addresses: list[tuple[str, Hit]] = []
        rewrites = hooked = False
        text = source.joined
        hooks = near(HOOK, text, HOOK_NEEDLES, before=60, after=40) if source.js else iter(())
        for hook in hooks:
            context = source.around(hook.start(), hook.end(), 80)
            if POLYFILL_GUARD.search(context) or _installs_fetch(text, hook):
                continue
            hooked = True
            hits.append(
                Hit(
                    f"wallet: replaces a global network or wallet function "
                    f"(`{hook.group().rstrip('=').strip()}`)",
                    **_where(source, hook),
                )
            )
        seen_lines: set[int] = set()
        for regex in near(ADDRESS_REGEX, text, REGEX_NEEDLES, before=20, after=80):
            line = source.line_at(regex.start())
            if line.lineno in seen_lines:
                continue
            if ".replace" in source.around(regex.start(), regex.end(), 300):
                seen_lines.add(line.lineno)
                rewrites = True
                hits.append(
                    Hit(
                        "wallet: rewrites crypto addresses in text (swaps the recipient of a "
                        "payment for the attacker's)",
                        severity=Severity.CRITICAL,
                        **_where(source, regex),
                    )
                )
        for match in DISTINCTIVE.finditer(text):
            addresses.append((match.group(1), _address_hit(source, match)))
            if len(addresses) >= MAX_ADDRESSES:
                break
        if addresses:
            for match in AMBIGUOUS.finditer(text):
                if len(addresses) >= MAX_ADDRESSES:
                    break
                if _MIXED.match(match.group(1)) and not _is_distinctive(match.group(1)):
                    addresses.append((match.group(1), _address_hit(source, match)))
        distinct = {a for a, _ in addresses}
        # Base58 look-alikes count only beside a distinctive address: bundles carry random ids.
        if len(distinct) >= MANY_ADDRESSES and any(map(_is_distinctive, distinct)):
            first = addresses[0][1]
            hits.append(
                replace(
                    first,
                    message=f"wallet: {len(distinct)} crypto wallet addresses hard-coded "
                    "(a payout list)",
                    severity=Severity.CRITICAL if hooked or rewrites else Severity.HIGH,
                )
            )
        elif addresses:
            if old_text is None:
                old_text = old_source_text(ctx.diff.old)
            for address, hit in addresses:
                if not _is_distinctive(address):
                    continue
                known = address in old_text
                hits.append(
                    replace(
                        hit,
                        severity=Severity.HIGH if hooked or rewrites else Severity.LOW,
                        weaker=known,
                        message=hit.message
                        + (" (the previous release already had it)" if known else ""),
                    )
                )
        if hooked and (rewrites or addresses):
            # A hook plus addresses is the drainer itself, not a proxy shim.
            hits = [
                replace(h, severity=Severity.CRITICAL) if h.severity is None else h for h in hits
            ]
        yield from sorted(hits, key=lambda h: h.line or 0)


def _is_distinctive(address: str) -> bool:
    return DISTINCTIVE.fullmatch(f"'{address}'") is not None


def _where(source: SourceFile, match: re.Match[str]) -> dict[str, Any]:
    """Path, line and evidence of a match in `source.joined`."""
    line = source.line_at(match.start())
    column = source.column(match.start())
    return {
        "path": source.path,
        "line": line.lineno,
        "evidence": excerpt(line.text, column, column + len(match.group())),
    }


def _address_hit(source: SourceFile, match: re.Match[str]) -> Hit:
    return Hit(
        f"wallet: a crypto wallet address is hard-coded (`{match.group(1)}`)",
        **_where(source, match),
    )
