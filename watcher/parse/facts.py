"""The structured facts a parser extracts from one source file.

Plain frozen dataclasses, free of parser types, so rules can be tested on hand-built facts and
a parser can be swapped without touching them. Positions are 1-based lines and 0-based
*character* columns (not bytes) on that line, the same numbering as `AddedLine`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """Where a fact sits: its first line and the columns it covers on that line."""

    line: int
    col: int
    #: End column on `line` (the line's end when the fact runs onto later lines).
    end: int


@dataclass(frozen=True, slots=True)
class Call:
    """A call (or `new`) whose callee resolved to a dotted path.

    `callee` follows simple import/require aliases: `cp.exec` after `const cp =
    require('child_process')` is `child_process.exec`; `run` after `import { exec as run } from
    'node:child_process'` is `child_process.exec`; `P` after `from subprocess import Popen as P`
    is `subprocess.Popen`. Globals reached through `globalThis`/`window`/`builtins` lose the
    prefix (`globalThis.eval` is `eval`); `node:` module prefixes and `.default` are dropped.
    """

    span: Span
    callee: str
    #: `new X(...)` rather than `X(...)`.
    new: bool = False
    #: The first argument when it is a constant string (folded through `'a' + 'b'`).
    first_arg: str | None = None
    #: `first_arg` was assembled from pieces or decoded (`'child' + '_process'`, `atob(…)`).
    first_arg_built: bool = False
    #: Callees of calls nested in the arguments, recorded for code sinks (`eval`, `Function`,
    #: `exec`, `compile`, `vm.*`) and process starters only: `eval(Buffer.from(s,
    #: 'base64').toString())` has `("Buffer.from",)`.
    arg_callees: tuple[str, ...] = ()
    #: Secrets that reach the arguments of a call that may send data (`fetch`, `*.post`,
    #: `req.write`, `sock.sendall`...), directly or through names bound once: "env:NAME" for
    #: one variable ("env:?" when its name is computed), "env:*" for the whole environment,
    #: "key:name" for key material in scope
    #: (`wallet.secretKey`, `mnemonic`). The rules decide which callees really send.
    arg_sources: tuple[str, ...] = ()
    #: The callee's name was assembled from pieces (`globalThis['ev' + 'al']`,
    #: `getattr(os, 'sys' + 'tem')`): code written not to be found by a text search.
    concealed: bool = False
    #: ...and a piece of it had to be decoded (`atob('ZXZhbA==')`, char codes, hex): the name
    #: cannot be read without running code, which honest code never needs (SPEC §4.2).
    decoded: bool = False


#: Names that hold key material: a wallet's secret key, a seed phrase, a private key.
KEY_MATERIAL = re.compile(
    r"(?i)^(?:.*_)?(?:private_?key|secret_?key|priv_?key|mnemonic|seed_?phrase|seed_?words"
    r"|keypair|key_?pair|wallet_?key|signing_?key)s?$"
)
#: Last names of calls that may send what they are given (the rules then check the callee).
SENDING_CALLS = frozenset(
    """fetch request get post put patch send sendBeacon write end connect urlopen Request axios
    got ky needle sendall sendto sendmsg resolve resolve4 resolve6 resolveTxt lookup getaddrinfo
    gethostbyname upload emit publish""".split()
)


def may_send(callee: str) -> bool:
    """Whether a resolved callee's name says it may send its arguments somewhere."""
    return callee.rsplit(".", 1)[-1] in SENDING_CALLS


@dataclass(frozen=True, slots=True)
class Import:
    """A module brought in: `import`, `require('x')`, `import('x')`, `__import__('x')`."""

    span: Span
    #: Module name without a `node:` prefix (`child_process`, `urllib.request`).
    module: str
    #: The module name was assembled from pieces (`require('child' + '_process')`).
    concealed: bool = False
    #: ...and a piece of it had to be decoded (`require(atob('ZnM='))`).
    decoded: bool = False


@dataclass(frozen=True, slots=True)
class EnvRead:
    """A use of the process environment (`process.env`, `os.environ`, `os.getenv`)."""

    span: Span
    #: The whole environment is used as one object: serialised, copied, spread, enumerated,
    #: or bound to a name. Reading one variable is not.
    whole: bool
    #: The variable read, when it is a constant (`process.env.NPM_TOKEN` → `NPM_TOKEN`).
    key: str | None = None


@dataclass(frozen=True, slots=True)
class StringLit:
    """A string literal in code (Python docstrings and bare string statements excluded)."""

    span: Span
    #: The value with escapes decoded (template substitutions become `${}`).
    value: str
    #: The literal as written, quotes included, when it fits on one line; else `value`.
    raw: str
    #: The property or keyword it is the value of (`{host: '…'}`, `FTP(host='…')`).
    key: str | None = None
    #: Not a literal as written but an expression folded to a constant: pieces joined
    #: (`'ht' + 'tps'`, a template or f-string of constants, `[…].join('')`, names assigned
    #: once). `value` is the folded string and `span` the whole expression.
    built: bool = False
    #: Reading the value took decoding (base64, hex, char codes, `atob`, rot13, zlib, a
    #: reversed string): written not to be read, which is itself a fact (SPEC §4.2). Implies
    #: `built`.
    decoded: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything extracted from one file, in source order within each kind."""

    #: "javascript", "typescript", "tsx" or "python".
    language: str
    calls: tuple[Call, ...] = ()
    imports: tuple[Import, ...] = ()
    env_reads: tuple[EnvRead, ...] = ()
    strings: tuple[StringLit, ...] = ()
    #: Identifiers shaped like javascript-obfuscator output (`_0x1a2b`).
    hex_identifiers: tuple[Span, ...] = ()
    #: Process starts that run a file the same code wrote from text it carries (a string
    #: written to a temp file, then started with an interpreter): a dropper. Python only.
    drops: tuple[Span, ...] = ()
    #: Lines the parser could not make sense of: facts there may be missing, so callers should
    #: judge these lines by text instead (a syntax error must not hide a payload).
    error_lines: frozenset[int] = field(default_factory=frozenset)
