"""Subscriptions: which packages to watch, at which reviewed version, and whom to tell.

Subscriptions live in `subscriptions/*.toml` (SPEC §3), kept in git by the team that runs the
servers. This module is the trust boundary for those files: it parses them with stdlib `tomllib`,
validates them with pydantic (`extra="forbid"`, so a typo is an error rather than a silently
ignored key), and hands the rest of watcher plain frozen `Subscription` dataclasses.

File format::

    [defaults]                         # optional; applies to every [[package]] of this file
    interval = "15m"                   # 90s, 15m, 1h, 2d, 1h30m; at least 30s
    notify = ["slack:#mcp-supply-chain"]   # slack:#channel, webhook, console
    fail_on = "high"                   # none, low, medium, high, critical

    [[package]]
    ecosystem = "npm"                  # npm | pypi
    name = "@modelcontextprotocol/server-filesystem"
    pinned = "2025.8.21"               # the reviewed version
    # interval / notify / fail_on      # override the defaults for this package
    # registry = "https://npm.internal.example/"   # credentials come from NPM_TOKEN/PYPI_TOKEN
    # allow = ["network:api.github.com", "rule:code.new-host"]   # reviewed, expected signals
    # suppress = ["code.network@6f7e5998603dad00"]   # accepted findings (rule@fingerprint)
    # reviewed = false                 # nobody reviewed `pinned` yet: `check` scans it as a
    #                                  # first release and fails until `watcher approve`
    # platforms = ["linux", "windows"] # PyPI: whose markers decide the dependency tree

`allow` and `suppress` are described in `watcher.policy`; rule ids are checked against the
registered rules, so a typo is an error here rather than an entry that never matches.

Every problem of a run is collected (all files, all packages) and raised at once as one
`SubscriptionError`, one self-contained line per problem::

    subscriptions/mcp.toml:14: package[3].fail_on: must be one of none, low, medium, high,
    critical (got 'hgh')

Table and list indexes in those messages are 1-based, as a person counts `[[package]]` tables
in the file.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from watcher.errors import SubscriptionError
from watcher.models import Ecosystem, Severity
from watcher.policy import Policy, parse_allow, parse_suppression
from watcher.registries.pypi import is_valid_pypi_name

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

__all__ = [
    "DEFAULT_FAIL_ON",
    "DEFAULT_INTERVAL_SECONDS",
    "DEFAULT_NOTIFY",
    "DEFAULT_PATH",
    "MIN_INTERVAL_SECONDS",
    "Subscription",
    "SubscriptionSet",
    "format_interval",
    "is_concrete_version",
    "load_subscriptions",
    "PinEdit",
    "package_problem",
    "parse_interval",
    "pin_edit",
    "render_json",
    "render_table",
]

#: Where `watcher run|check|subscriptions` look when `--subscriptions` is not given.
DEFAULT_PATH = Path("subscriptions")
#: Used when neither the package nor its file's `[defaults]` set a value.
DEFAULT_INTERVAL_SECONDS = 15 * 60
#: Console is the notifier that needs no configuration (SPEC §3: unset Slack token → console).
DEFAULT_NOTIFY: tuple[str, ...] = ("console",)
#: The same threshold as the CLI's `--fail-on` default.
DEFAULT_FAIL_ON = Severity.HIGH
#: Polling a registry more often than this is abuse of a public service, not vigilance.
MIN_INTERVAL_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Subscription:
    """One watched package: the reviewed version and how to poll and alert for it."""

    ecosystem: Ecosystem
    name: str
    #: The reviewed version; new releases are diffed against it.
    pinned: str
    interval_seconds: int
    #: Notifier targets: `slack:#channel`, `webhook`, `console` (order kept, no duplicates).
    notify: tuple[str, ...]
    #: The lowest report severity that alerts.
    fail_on: Severity
    #: A private registry base URL (no credentials), or None for the public registry.
    registry: str | None
    #: Reviewed, expected signals as `category:value` (e.g. `network:api.github.com`).
    allow: tuple[str, ...]
    #: Where it was declared, `file:line` of its `[[package]]` header.
    source: str
    #: Accepted findings as `rule@fingerprint`, reported but not scored or alerted.
    suppress: tuple[str, ...] = ()
    #: False for a pin nobody reviewed (`subscriptions import` took the registry's latest):
    #: `check` scans it as a first release and fails until `watcher approve` records a review.
    reviewed: bool = True
    #: PyPI: the platforms whose environment markers decide the dependency tree (issue 13);
    #: a requirement any of them installs is in the tree, with its marker as the condition.
    platforms: tuple[str, ...] = ("linux",)

    @property
    def policy(self) -> Policy:
        """`allow` and `suppress` parsed (they were validated when the file was loaded)."""
        return Policy.parse(self.allow, self.suppress)

    @property
    def key(self) -> tuple[Ecosystem, str]:
        """Identity for duplicate detection: PyPI names compare normalised (PEP 503)."""
        return self.ecosystem, normalize_name(self.ecosystem, self.name)


@dataclass(frozen=True, slots=True)
class SubscriptionSet:
    """Every subscription of a run and the files they came from."""

    subscriptions: tuple[Subscription, ...]
    files: tuple[str, ...]

    def __iter__(self) -> Iterator[Subscription]:
        return iter(self.subscriptions)

    def __len__(self) -> int:
        return len(self.subscriptions)

    def summary(self) -> str:
        """`N subscriptions in M files`, singular where it should be."""
        n, m = len(self.subscriptions), len(self.files)
        return f"{n} subscription{_s(n)} in {m} file{_s(m)}"


def normalize_name(ecosystem: Ecosystem, name: str) -> str:
    """The comparable form of a name: PEP 503 for PyPI; npm names are already exact."""
    if ecosystem is Ecosystem.PYPI:
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


# --- Durations -----------------------------------------------------------------------------

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"(?:\d+[dhms])+")
_DURATION_PART = re.compile(r"(\d+)([dhms])")


def parse_interval(text: str) -> int:
    """Seconds in a duration such as `90s`, `15m`, `1h`, `2d` or `1h30m`.

    Units are required and lowercase: a bare `15` or `15M` (minutes? months?) is ambiguous.
    Raises ValueError with a message fit for a user.
    """
    if not _DURATION.fullmatch(text):
        raise ValueError(f"must be a duration such as '90s', '15m', '1h' or '2d' (got {text!r})")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def format_interval(seconds: int) -> str:
    """The shortest exact form of a duration: 900 → `15m`, 5400 → `90m`, 45 → `45s`."""
    for unit, size in _UNIT_SECONDS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- Field checks (pydantic validators; their ValueError text is the user's message) --------

_SEVERITIES = ", ".join(s.value for s in Severity)
_NPM_NAME = re.compile(r"(?:@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*")
_NPM_NAME_MAX = 214
_SLACK_TARGET = re.compile(r"slack:#[a-z0-9][a-z0-9_-]{0,79}")
_PLAIN_TARGETS = ("webhook", "console")
#: Keys that suggest someone is about to commit a secret; the error says where secrets go.
_SECRET_KEY = re.compile(r"token|password|passwd|secret|auth|credential", re.IGNORECASE)
_SECRETS_HINT = "secrets never live in subscription files: set NPM_TOKEN or PYPI_TOKEN"


def _got(value: object) -> str:
    """A short rendering of a bad value for `(got ...)`: strings quoted, long values cut."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse_ecosystem(value: object) -> Ecosystem:
    if isinstance(value, str):
        try:
            return Ecosystem(value)
        except ValueError:
            pass
    choices = ", ".join(e.value for e in Ecosystem)
    raise ValueError(f"must be one of {choices} (got {_got(value)})")


def _parse_bool(value: object) -> bool:
    # TOML has real booleans; "false" as a string or 0 is a mistake worth naming.
    if isinstance(value, bool):
        return value
    raise ValueError(f"must be true or false, unquoted (got {_got(value)})")


def _parse_severity(value: object) -> Severity:
    if isinstance(value, str):
        try:
            return Severity(value)
        except ValueError:
            pass
    raise ValueError(f"must be one of {_SEVERITIES} (got {_got(value)})")


def _parse_interval_field(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError(f"must be a quoted duration such as '15m' (got {_got(value)})")
    seconds = parse_interval(value)
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"must be at least {MIN_INTERVAL_SECONDS}s (got {value!r})")
    return seconds


def _check_pinned(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty: the reviewed version, e.g. '1.2.3'")
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"must be a version without spaces (got {_got(value)})")
    return value


def is_concrete_version(ecosystem: Ecosystem, version: str) -> bool:
    """Whether `version` names one release (semver on npm, PEP 440 on PyPI): not `latest`,
    not `^1.0` or `>=2`, nothing watcher cannot order against newer releases."""
    # Imported here: `watcher.watch` imports this module.
    from watcher.watch import version_key

    return version_key(ecosystem, version) is not None


def _check_notify(value: str) -> str:
    if value in _PLAIN_TARGETS or _SLACK_TARGET.fullmatch(value):
        return value
    raise ValueError(f"must be 'slack:#channel', 'webhook' or 'console' (got {_got(value)})")


def _check_allow(value: str) -> str:
    parse_allow(value)
    return value


def _check_suppress(value: str) -> str:
    parse_suppression(value)
    return value


def _check_registry(value: str) -> str:
    parts = urlsplit(value)
    # Checked before anything that echoes the value: the message must not print a password.
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"must not contain credentials; {_SECRETS_HINT} in the environment")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL (got {_got(value)})")
    if parts.query or parts.fragment:
        # A query string is where tokens hide (`?access_token=`), and no registry base needs one.
        raise ValueError(f"must not have a query or fragment; {_SECRETS_HINT} in the environment")
    return value


def _check_npm_name(name: str) -> None:
    if name != name.lower():
        raise ValueError(f"npm names are lowercase (got {_got(name)})")
    if len(name) > _NPM_NAME_MAX:
        raise ValueError(f"npm names are at most {_NPM_NAME_MAX} characters")
    if not _NPM_NAME.fullmatch(name) or name.split("/")[-1].startswith((".", "_")):
        raise ValueError(f"not a valid npm package name, e.g. '@scope/name' (got {_got(name)})")


def _check_pypi_name(name: str) -> None:
    if not is_valid_pypi_name(name):
        raise ValueError(
            "not a valid PyPI project name: letters, digits, '.', '_', '-', starting and "
            f"ending with a letter or digit (got {_got(name)})"
        )


Interval = Annotated[int, BeforeValidator(_parse_interval_field)]
FailOn = Annotated[Severity, BeforeValidator(_parse_severity)]
NotifyTarget = Annotated[str, AfterValidator(_check_notify)]


class _Strict(BaseModel):
    """Base of the file models: unknown keys are errors, values are never coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _FileModel(_Strict):
    """A file's top-level shape; tables are validated one by one so every error is found."""

    defaults: dict[str, Any] = {}
    package: list[dict[str, Any]] = []


#: Platforms whose PEP 508 markers a dependency tree can be resolved for.
PLATFORMS = ("linux", "macos", "windows")


def _check_platform(value: str) -> str:
    if value not in PLATFORMS:
        raise ValueError(f"must be one of {', '.join(PLATFORMS)} (got {_got(value)})")
    return value


class _DefaultsModel(_Strict):
    """`[defaults]`: values for every `[[package]]` of the same file."""

    interval: Interval | None = None
    notify: list[NotifyTarget] | None = None
    fail_on: FailOn | None = None


class _PackageModel(_Strict):
    """One `[[package]]` table. Field order matters: `name` is checked against `ecosystem`."""

    ecosystem: Annotated[Ecosystem, BeforeValidator(_parse_ecosystem)]
    name: str
    pinned: Annotated[str, AfterValidator(_check_pinned)]
    interval: Interval | None = None
    notify: list[NotifyTarget] | None = None
    fail_on: FailOn | None = None
    registry: Annotated[str, AfterValidator(_check_registry)] | None = None
    allow: list[Annotated[str, AfterValidator(_check_allow)]] = []
    suppress: list[Annotated[str, AfterValidator(_check_suppress)]] = []
    reviewed: Annotated[bool, BeforeValidator(_parse_bool)] = True
    platforms: list[Annotated[str, AfterValidator(_check_platform)]] = ["linux"]

    @field_validator("pinned")
    @classmethod
    def _concrete_version(cls, pinned: str, info: ValidationInfo) -> str:
        # A tag or a range would move under the reviewer's feet: the pin is what was reviewed.
        ecosystem = info.data.get("ecosystem")
        if isinstance(ecosystem, Ecosystem) and not is_concrete_version(ecosystem, pinned):
            example = "1.2.3" if ecosystem is Ecosystem.NPM else "1.2.3 or 2.0rc1"
            raise ValueError(
                f"must be a concrete {ecosystem.value} version such as '{example}', "
                f"not a tag or a range (got {_got(pinned)})"
            )
        return pinned

    @field_validator("name")
    @classmethod
    def _valid_for_ecosystem(cls, name: str, info: ValidationInfo) -> str:
        if not name.strip():
            raise ValueError("must not be empty")
        # Absent when `ecosystem` itself failed: that error is reported on its own.
        match info.data.get("ecosystem"):
            case Ecosystem.NPM:
                _check_npm_name(name)
            case Ecosystem.PYPI:
                _check_pypi_name(name)
        return name


# --- Finding lines: tomllib keeps no positions, so read them off the text -------------------

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(?:#.*)?")
_KEY = re.compile(r"""\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass(slots=True)
class _Table:
    """A table header as written in the file, and the line of each key inside it."""

    line: int
    name: str
    array: bool
    keys: dict[str, int] = field(default_factory=dict)


class _Layout:
    """Line numbers of the tables and keys of a TOML text.

    A light scan rather than a TOML parser: the text has already parsed, so only headers and
    `key =` lines matter. Lines inside multi-line strings are skipped so that a `[x]` or `k =`
    in a string is not mistaken for structure. Lookups fall back to the enclosing table's
    header, then to line 1, so a message always has a line.
    """

    def __init__(self, text: str) -> None:
        self.root = _Table(line=1, name="", array=False)
        self.tables: list[_Table] = []
        current = self.root
        open_quote: str | None = None
        for lineno, line in enumerate(text.splitlines(), start=1):
            if open_quote is None:
                header = _HEADER.fullmatch(line)
                key = _KEY.match(line)
                if header:
                    name = header.group(2).strip("\"'")
                    if name.startswith("package.") and self.packages():
                        # `[package.sub]` belongs to the latest [[package]]: record it as a key.
                        self.packages()[-1].keys.setdefault(name.split(".")[1], lineno)
                    current = _Table(lineno, name, array=header.group(1) == "[[")
                    self.tables.append(current)
                elif key:
                    current.keys.setdefault(next(g for g in key.groups() if g), lineno)
            for quote in ('"""', "'''"):
                if open_quote in (None, quote) and line.count(quote) % 2 == 1:
                    open_quote = None if open_quote else quote

    def packages(self) -> list[_Table]:
        """The `[[package]]` tables in file order."""
        return [t for t in self.tables if t.name == "package" and t.array]

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of a pydantic-style location: `("package", 2, "fail_on")` and the like."""
        if not loc:
            return 1
        head = str(loc[0])
        table: _Table | None = None
        rest: Sequence[str | int] = ()
        if head == "package" and len(loc) > 1 and isinstance(loc[1], int):
            packages = self.packages()
            table = packages[loc[1]] if loc[1] < len(packages) else None
            rest = loc[2:]
        else:
            table = next((t for t in self.tables if t.name == head), None)
            rest = loc[1:]
        if table is None:
            # Inline forms (`package = [{...}]`, `defaults = {...}`): the key's own line.
            return self.root.keys.get(head, 1)
        if rest:
            return table.keys.get(str(rest[0]), table.line)
        return table.line


# --- Loading --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Problem:
    """One error, positioned; rendered as `file:line: field: message`."""

    path: str
    line: int
    field: str
    message: str
    #: Only TOML syntax errors have one (tomllib's own); rendered `file:line:column:`.
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:" + (f"{self.column}:" if self.column else "")
        return f"{where} {self.field}: {self.message}" if self.field else f"{where} {self.message}"


def _field_path(loc: Sequence[str | int]) -> str:
    """`("package", 2, "notify", 0)` → `package[3].notify[1]` (1-based, as people count)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += f".{part}" if text else part
    return text


_TYPE_MESSAGES = {
    "string_type": "must be a quoted string",
    "list_type": 'must be a list, e.g. ["..."]',
    "dict_type": "must be a table",
}


def _message(error: Any, model: type[BaseModel]) -> str:
    """A user's message for one pydantic error (our validators' text is kept verbatim)."""
    kind = error["type"]
    loc = error["loc"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        if _SECRET_KEY.search(key):
            return f"unknown key; {_SECRETS_HINT} in the environment"
        known = list(model.model_fields)
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key{hint}; expected one of {', '.join(known)}"
    if kind == "list_type" and tuple(loc) == ("package",):
        return "must be an array of tables: write [[package]]"
    base = _TYPE_MESSAGES.get(kind, str(error["msg"]))
    return f"{base} (got {_got(error['input'])})"


def _validate(
    model: type[_M],
    data: object,
    prefix: tuple[str | int, ...],
    path: str,
    layout: _Layout,
    problems: list[_Problem],
) -> _M | None:
    """Validate `data` against `model`; record every error, positioned in the file."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        for error in e.errors():
            loc = prefix + tuple(error["loc"])
            problems.append(
                _Problem(path, layout.line_of(loc), _field_path(loc), _message(error, model))
            )
        return None


@dataclass(frozen=True, slots=True)
class _Declared:
    """A loaded subscription and the line of its `name =`, for duplicate errors."""

    subscription: Subscription
    path: str
    index: int
    name_line: int


def _load_file(path: Path, problems: list[_Problem]) -> list[_Declared]:
    """The subscriptions of one file; its problems go to `problems`."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        problems.append(_Problem(shown, 1, "", f"cannot read: {e.strerror or e}"))
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        problems.append(_Problem(shown, line, "", "not UTF-8 text"))
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problems.append(_toml_problem(shown, text, str(e)))
        return []

    layout = _Layout(text)
    shape_ok = _validate(_FileModel, data, (), shown, layout, problems) is not None
    # Past a shape error (an unknown top-level key, say) the tables that do have the right shape
    # are still checked, so that one run reports every error; badly shaped ones were reported.
    raw_defaults = data.get("defaults", {})
    raw_packages = data.get("package", [])
    defaults = (
        _validate(_DefaultsModel, raw_defaults, ("defaults",), shown, layout, problems)
        if isinstance(raw_defaults, dict)
        else None
    )
    declared: list[_Declared] = []
    headers = layout.packages()
    for index, table in enumerate(raw_packages if isinstance(raw_packages, list) else []):
        if not isinstance(table, dict):
            continue
        package = _validate(_PackageModel, table, ("package", index), shown, layout, problems)
        # With bad defaults or shape every package is still checked, but none is returned:
        # their effective settings are unknown.
        if package is None or defaults is None or not shape_ok:
            continue
        line = headers[index].line if index < len(headers) else layout.line_of(("package",))
        declared.append(
            _Declared(
                _subscription(package, defaults, f"{shown}:{line}"),
                shown,
                index,
                layout.line_of(("package", index, "name")),
            )
        )
    return declared


def package_problem(table: Mapping[str, object]) -> str | None:
    """The first problem the loader would report for one `[[package]]` table, or None.

    For writers of subscription files (`subscriptions import`): an entry that would not load
    is left out with this reason instead of spoiling the whole file.
    """
    try:
        _PackageModel.model_validate(dict(table))
    except ValidationError as e:
        error = e.errors()[0]
        return f"{_field_path(tuple(error['loc']))}: {_message(error, _PackageModel)}"
    return None


def _toml_problem(path: str, text: str, message: str) -> _Problem:
    """tomllib's own position: `(at line 3, column 10)` or `(at end of document)`."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        return _Problem(path, line, "", f"invalid TOML: {message[: match.start()]}", column)
    message = re.sub(r"\s*\(at end of document\)$", "", message)
    return _Problem(path, max(1, len(text.splitlines())), "", f"invalid TOML: {message}")


def _pick(own: _T | None, default: _T | None, builtin: _T) -> _T:
    """The package's own value, else its file's default, else the built-in default."""
    if own is not None:
        return own
    return default if default is not None else builtin


def _subscription(package: _PackageModel, defaults: _DefaultsModel, source: str) -> Subscription:
    notify = _pick(package.notify, defaults.notify, list(DEFAULT_NOTIFY))
    return Subscription(
        ecosystem=package.ecosystem,
        name=package.name,
        pinned=package.pinned,
        interval_seconds=_pick(package.interval, defaults.interval, DEFAULT_INTERVAL_SECONDS),
        # A target listed twice would alert twice.
        notify=tuple(dict.fromkeys(notify)),
        fail_on=_pick(package.fail_on, defaults.fail_on, DEFAULT_FAIL_ON),
        registry=package.registry,
        allow=tuple(dict.fromkeys(package.allow)),
        source=source,
        suppress=tuple(dict.fromkeys(package.suppress)),
        reviewed=package.reviewed,
        platforms=tuple(dict.fromkeys(package.platforms)) or ("linux",),
    )


def _files(path: Path) -> list[Path]:
    """The subscription files at `path`: the file itself, or a folder's `*.toml` in name order."""
    if path.is_dir():
        # Hidden files are editor swap and backup files, not subscriptions.
        files = sorted(p for p in path.glob("*.toml") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise SubscriptionError([f"{path}: no *.toml subscription files in this folder"])
        return files
    if path.is_file():
        return [path]
    raise SubscriptionError(
        [f"{path}: no such file or folder (pass --subscriptions PATH to use another)"]
    )


def load_subscriptions(path: Path | str = DEFAULT_PATH) -> SubscriptionSet:
    """Load and validate every subscription at `path` (a `.toml` file or a folder of them).

    Raises SubscriptionError listing every problem found, across all files, in file order;
    an (ecosystem, name) declared twice anywhere is one of them, naming both places.
    """
    files = _files(Path(path))
    problems: list[_Problem] = []
    declared: list[_Declared] = []
    for file in files:
        declared.extend(_load_file(file, problems))

    first_seen: dict[tuple[Ecosystem, str], Subscription] = {}
    for item in declared:
        sub = item.subscription
        first = first_seen.setdefault(sub.key, sub)
        if first is not sub:
            # PyPI names match after normalisation: say so when the spellings differ.
            spelled = f" as {first.name!r}" if first.name != sub.name else ""
            message = (
                f"{sub.ecosystem.value} package {sub.name!r} is already subscribed at "
                f"{first.source}{spelled}"
            )
            field_path = _field_path(("package", item.index, "name"))
            problems.append(_Problem(item.path, item.name_line, field_path, message))
    if problems:
        problems.sort(key=lambda p: (files.index(Path(p.path)), p.line))
        raise SubscriptionError([" ".join(str(p).split()) for p in problems])
    return SubscriptionSet(tuple(d.subscription for d in declared), tuple(map(str, files)))


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# --- Writing a pin back (`watcher approve --write`) ----------------------------------------

_REVIEWED_FALSE = re.compile(r"[ \t]*reviewed[ \t]*=[ \t]*false[ \t]*(?:#[^\n]*)?")
_PINNED_VALUE = re.compile(r"""(\s*(?:pinned|"pinned"|'pinned')\s*=\s*)(["'])([^"'\\\n]*)\2""")


@dataclass(frozen=True, slots=True)
class PinEdit:
    """A subscription file with one `pinned` value replaced, ready to be written whole."""

    path: Path
    line: int
    data: bytes


def pin_edit(sub: Subscription, version: str) -> PinEdit:
    """`sub`'s file with its `pinned = "..."` line saying `version`, all else byte for byte
    (but a `reviewed = false` line of the package, which the approval settles, is removed).

    A line-level edit rather than a TOML round trip: comments, order, quoting and blank lines
    are the team's, and a reviewer of the commit should see one changed line. The result is
    parsed again and must differ from the old file in that one value only. Raises
    SubscriptionError when the pin is not on a `pinned = "..."` line of its own (an inline
    table, say): edit such a file by hand.
    """
    where, _, header = sub.source.rpartition(":")
    path = Path(where)
    if not is_concrete_version(sub.ecosystem, version) or any(c in version for c in "\"'\\"):
        raise SubscriptionError([f"{sub.source}: pinned: cannot write {version!r}"])
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        expected = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SubscriptionError([f"{where}: cannot update the pin: {e}"]) from e
    layout = _Layout(text)
    index = next((i for i, t in enumerate(layout.packages()) if str(t.line) == header), None)
    line = layout.packages()[index].keys.get("pinned") if index is not None else None
    lines = text.splitlines(keepends=True)
    match = _PINNED_VALUE.match(lines[line - 1]) if line is not None else None
    if index is None or line is None or match is None:
        raise SubscriptionError(
            [f'{sub.source}: pinned: not a `pinned = "..."` line watcher can update; edit it']
        )
    old = lines[line - 1]
    lines[line - 1] = old[: match.start(3)] + version + old[match.end(3) :]
    expected["package"][index]["pinned"] = version
    # The approval is the review an imported `reviewed = false` pin was waiting for.
    reviewed = layout.packages()[index].keys.get("reviewed")
    if reviewed is not None and _REVIEWED_FALSE.fullmatch(lines[reviewed - 1].rstrip("\r\n")):
        del lines[reviewed - 1]
        expected["package"][index].pop("reviewed", None)
        if reviewed < line:
            line -= 1
    new = "".join(lines)
    if tomllib.loads(new) != expected:
        raise SubscriptionError([f"{sub.source}: pinned: the file's layout defeats the update"])
    return PinEdit(path, line, new.encode("utf-8"))


# --- Listing --------------------------------------------------------------------------------

#: A package's effective pin as the store resolves it: (version, source), by `Subscription.key`.
PinSources = Mapping[tuple[Ecosystem, str], tuple[str, str]]


def _effective(sub: Subscription, pins: PinSources | None) -> tuple[str, str]:
    return (pins or {}).get(sub.key, (sub.pinned, "file"))


def as_dict(sub: Subscription, pins: PinSources | None = None) -> dict[str, object]:
    """A subscription as JSON-ready data (the `subscriptions list --format json` items).

    `pinned` is the effective pin (`pins`, else the file's), `pin_from` where it comes from,
    `file_pinned` what the file says.
    """
    pinned, source = _effective(sub, pins)
    return {
        "ecosystem": sub.ecosystem.value,
        "name": sub.name,
        "pinned": pinned,
        "pin_from": source,
        "file_pinned": sub.pinned,
        "interval": format_interval(sub.interval_seconds),
        "interval_seconds": sub.interval_seconds,
        "fail_on": sub.fail_on.value,
        "notify": list(sub.notify),
        "registry": sub.registry,
        "allow": list(sub.allow),
        "suppress": list(sub.suppress),
        "reviewed": sub.reviewed,
        "platforms": list(sub.platforms),
        "source": sub.source,
    }


def render_json(subs: SubscriptionSet, pins: PinSources | None = None) -> str:
    """One JSON object: `{"schema": 1, "files": [...], "subscriptions": [...]}` and a newline."""
    payload = {
        "schema": 1,
        "files": list(subs.files),
        "subscriptions": [as_dict(s, pins) for s in subs],
    }
    return json.dumps(payload, indent=2) + "\n"


_COLUMNS = ("ecosystem", "name", "pinned", "pin_from", "interval", "fail_on", "notify", "source")


def _shown_pin(sub: Subscription, pins: PinSources | None) -> tuple[str, str]:
    version, source = _effective(sub, pins)
    # Only while the file's own pin is in force: an approval is the review it waited for.
    return version, f"{source} (not reviewed)" if source == "file" and not sub.reviewed else source


def render_table(subs: SubscriptionSet, pins: PinSources | None = None) -> str:
    """An aligned text table with a header row, one subscription per line; `pinned` is the
    effective pin and `pin_from` where it comes from (`file` or `approved by WHO on DATE`)."""
    rows = [list(_COLUMNS)]
    rows += [
        [
            sub.ecosystem.value,
            sub.name,
            *_shown_pin(sub, pins),
            format_interval(sub.interval_seconds),
            sub.fail_on.value,
            ",".join(sub.notify),
            sub.source,
        ]
        for sub in subs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"
