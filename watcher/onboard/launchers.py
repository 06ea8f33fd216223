"""Which package, at which version, an MCP server's `command` + `args` runs.

Package runners (`npx`, `npm exec`, `bunx`, `pnpm dlx`, `yarn dlx`, `uvx`, `uv tool run`,
`pipx run`) fetch a package from a registry at launch: those servers are watchable, and what
matters is the version spec they ask for (an exact pin, a range, a tag, or nothing, which is
`latest` at every launch). Anything else (`python -m`, `node ./x.js`, `docker run`, a binary, a
remote URL) installs nothing watcher can follow; it is returned as `NotWatchable` with the
reason, for the user to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from watcher.models import Ecosystem
from watcher.onboard.clients import Server


@dataclass(frozen=True, slots=True)
class Launch:
    """A server launched from a registry package."""

    ecosystem: Ecosystem
    package: str
    #: The version spec as written (`1.2.3`, `^1.0.0`, `==2.0`, `latest`); None: none given.
    spec: str | None
    #: The exact version the spec names, when it names one.
    version: str | None
    #: The runner, as the user would recognise it (`npx`, `uvx`, `pnpm dlx`, ...).
    runner: str
    #: A registry the launch itself names (`--registry`, `--index-url`, npm_config_registry).
    registry: str | None = None

    @property
    def pinned(self) -> bool:
        """Whether every launch runs the same release."""
        return self.version is not None

    @property
    def shown(self) -> str:
        """`npx @scope/pkg@1.2.3`: what runs, without the rest of the command line (which may
        carry secrets)."""
        if self.spec is None:
            return f"{self.runner} {self.package}"
        joiner = "" if self.spec[0] in "=<>!~" else "@"
        return f"{self.runner} {self.package}{joiner}{self.spec}"


@dataclass(frozen=True, slots=True)
class NotWatchable:
    """A server watcher cannot follow, and why (one line for the user)."""

    reason: str


_SUFFIXES = (".cmd", ".exe", ".bat", ".ps1")


def program(command: str) -> str:
    """The bare program name of a command: `C:\\nodejs\\npx.cmd` → `npx`."""
    base = command.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def is_exact(ecosystem: Ecosystem, version: str) -> bool:
    from watcher.subscriptions import is_concrete_version

    return bool(version) and is_concrete_version(ecosystem, version)


def _looks_local(spec: str) -> bool:
    """A path, tarball, git or URL spec: not a registry package."""
    return (
        spec.startswith((".", "/", "~", "\\"))
        or "\\" in spec
        or spec.endswith((".tgz", ".tar.gz", ".whl", ".zip", ".js", ".mjs", ".cjs", ".py"))
        or any(spec.startswith(p) for p in ("file:", "git+", "git:", "github:", "http:", "https:"))
        or (len(spec) > 1 and spec[1] == ":")  # C:\...
    )


def split_npm_spec(spec: str) -> tuple[str, str | None]:
    """`@scope/pkg@1.2.3` → (`@scope/pkg`, `1.2.3`); `pkg` → (`pkg`, None); aliases
    `alias@npm:real@1.0.0` → (`real`, `1.0.0`)."""
    at = spec.find("@", 1)
    if at < 0:
        return spec, None
    name, version = spec[:at], spec[at + 1 :]
    if version.startswith("npm:"):
        target = version[4:]
        # `alias@npm:real@1.0.0` names another package; yarn berry's `pkg@npm:^1.0.0` does not.
        if target.find("@", 1) > 0:
            return split_npm_spec(target)
        if target[:1] == "@" or (target[:1].isalpha() and target not in ("x", "X", "latest")):
            return target, None
        return name, target or None
    return name, version or None


_PEP508_STOP = "=<>!~@[;( "


def split_pypi_spec(spec: str) -> tuple[str, str | None, str | None]:
    """`pkg[extra]==1.2.3` → (`pkg`, `==1.2.3`, `1.2.3`); `pkg@1.2.3` (uvx) → (`pkg`, `1.2.3`,
    `1.2.3`); `pkg>=1` → (`pkg`, `>=1`, None); `pkg` → (`pkg`, None, None)."""
    cut = next((i for i, c in enumerate(spec) if c in _PEP508_STOP), len(spec))
    name, rest = spec[:cut], spec[cut:].strip()
    if rest.startswith("["):
        close = rest.find("]")
        rest = rest[close + 1 :].strip() if close >= 0 else ""
    rest = rest.split(";", 1)[0].strip()
    if not rest:
        return name, None, None
    if rest.startswith("@"):
        version = rest[1:].strip()
        exact = version if is_exact(Ecosystem.PYPI, version) else None
        return name, version or None, exact
    for operator in ("===", "=="):
        if rest.startswith(operator):
            version = rest[len(operator) :].strip()
            if "*" in version or "," in version:
                return name, rest, None
            return name, rest, version if is_exact(Ecosystem.PYPI, version) else None
    return name, rest, None


@dataclass(frozen=True, slots=True)
class _Options:
    """Runner flags: which take a value, and which of those name the package or registry."""

    runner: str
    ecosystem: Ecosystem
    valued: frozenset[str]
    package: frozenset[str]
    registry: frozenset[str]


_NPM_VALUED = frozenset(
    {
        "-p",
        "--package",
        "-c",
        "--call",
        "--registry",
        "--cache",
        "--userconfig",
        "-w",
        "--workspace",
        "--prefix",
        "--loglevel",
    }
)
_NPM = _Options(
    "npx", Ecosystem.NPM, _NPM_VALUED, frozenset({"-p", "--package"}), frozenset({"--registry"})
)
_UVX = _Options(
    "uvx",
    Ecosystem.PYPI,
    frozenset(
        {
            "--from",
            "--with",
            "--with-editable",
            "--with-requirements",
            "-w",
            "--python",
            "-p",
            "--index",
            "--index-url",
            "-i",
            "--default-index",
            "--extra-index-url",
            "--directory",
            "--env-file",
            "--constraint",
            "-c",
            "--override",
            "--cache-dir",
            "--config-file",
            "--index-strategy",
            "--keyring-provider",
            "--find-links",
            "-f",
            "--python-preference",
            "--project",
        }
    ),
    frozenset({"--from"}),
    frozenset({"--index-url", "-i", "--default-index", "--index"}),
)
_PIPX = _Options(
    "pipx run",
    Ecosystem.PYPI,
    frozenset({"--spec", "--python", "--index-url", "-i", "--pip-args", "--backend"}),
    frozenset({"--spec"}),
    frozenset({"--index-url", "-i"}),
)

_ENV_REGISTRY = {
    Ecosystem.NPM: ("npm_config_registry", "NPM_CONFIG_REGISTRY"),
    Ecosystem.PYPI: ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL", "PIPX_INDEX_URL"),
}


def _scan(args: Sequence[str], options: _Options) -> tuple[str | None, str | None]:
    """(package spec, registry) from a runner's arguments."""
    named: str | None = None
    registry: str | None = None
    positional: str | None = None
    items = iter(args)
    for arg in items:
        if arg == "--":
            positional = next(items, None)
            break
        if arg.startswith("-") and len(arg) > 1:
            flag, eq, value = arg.partition("=")
            if flag in options.valued:
                if not eq:
                    value = next(items, "")
                if flag in options.package and named is None:
                    named = value
                if flag in options.registry:
                    registry = value
            continue
        positional = arg
        break
    return (named or positional), registry


def _runner_args(prog: str, args: Sequence[str]) -> tuple[_Options, Sequence[str]] | None:
    """The runner's options and its own arguments, when `prog args` is a package runner."""
    match prog:
        case "npx" | "bunx":
            return _with_name(_NPM, prog), args
        case "npm" if args[:1] in (["exec"], ["x"]):
            return _with_name(_NPM, "npm exec"), args[1:]
        case "bun" if args[:1] == ["x"]:
            return _with_name(_NPM, "bunx"), args[1:]
        case "pnpm" | "yarn" if "dlx" in args:
            index = list(args).index("dlx")
            # pnpm takes `--package=x` before or after `dlx`.
            return _with_name(_NPM, f"{prog} dlx"), [*args[:index], *args[index + 1 :]]
        case "uvx":
            return _UVX, args
        case "uv" if list(args[:2]) == ["tool", "run"]:
            return _with_name(_UVX, "uv tool run"), args[2:]
        case "pipx" if args[:1] == ["run"]:
            return _PIPX, args[1:]
    return None


def _with_name(options: _Options, runner: str) -> _Options:
    return _Options(runner, options.ecosystem, options.valued, options.package, options.registry)


def _unwrap(command: str, args: Sequence[str]) -> tuple[str, Sequence[str]]:
    """`cmd /c npx ...` (how Windows configs start npx) → `npx ...`."""
    prog = program(command)
    if prog == "cmd" and args[:1] and args[0].lower() in ("/c", "/k") and len(args) > 1:
        return program(args[1]), args[2:]
    return prog, args


def _remote(url: str) -> NotWatchable:
    parts = urlsplit(url)
    # Only scheme and host: a remote URL may carry a key in its path or query.
    host = parts.hostname or "?"
    return NotWatchable(
        f"remote server at {parts.scheme or '?'}://{host}: nothing is installed locally; "
        "its code changes on the server without a release to watch"
    )


def launch_of(server: Server) -> Launch | NotWatchable:
    """What `server` runs, or why watcher cannot watch it."""
    if server.url is not None or (server.transport or "").lower() in (
        "http",
        "sse",
        "streamablehttp",
    ):
        return _remote(server.url or "")
    if not server.command or not server.command.strip():
        return NotWatchable("no `command` and no `url`: nothing to launch")
    # Some configs put the whole command line in `command`.
    command, *inline = server.command.split() if not server.args else [server.command]
    prog, args = _unwrap(command, [*inline, *server.args])
    runner = _runner_args(prog, args)
    if runner is None:
        return _not_a_runner(prog, args)
    options, own = runner
    spec, registry = _scan(own, options)
    if not spec:
        return NotWatchable(f"{options.runner} without a package name")
    if _looks_local(spec):
        return NotWatchable(
            f"{options.runner} runs a local path, tarball or git/URL spec, not a registry release"
        )
    env = dict(server.env)
    registry = registry or next(
        (env[k] for k in _ENV_REGISTRY[options.ecosystem] if env.get(k)), None
    )
    if options.ecosystem is Ecosystem.NPM:
        name, version_spec = split_npm_spec(spec)
        exact = version_spec if version_spec and is_exact(Ecosystem.NPM, version_spec) else None
        return Launch(Ecosystem.NPM, name, version_spec, exact, options.runner, registry)
    name, version_spec, exact = split_pypi_spec(spec)
    if not name:
        return NotWatchable(f"{options.runner}: cannot read a package name from {spec[:60]!r}")
    return Launch(Ecosystem.PYPI, name, version_spec, exact, options.runner, registry)


def _not_a_runner(prog: str, args: Sequence[str]) -> NotWatchable:
    match prog:
        case _ if (prog == "py" or prog.startswith("python")) and "-m" in args:
            after = list(args).index("-m") + 1
            module = args[after] if after < len(args) else "?"
            return NotWatchable(
                f"python -m {module}: runs whatever that interpreter has installed; watch the "
                "package through the project's requirements or lock file"
            )
        case "docker" | "podman":
            image = _image(args)
            return NotWatchable(
                f"{prog} image {image}: container images are not npm or PyPI releases"
            )
        case _ if prog in ("node", "py", "deno", "bun", "tsx", "ts-node") or prog.startswith(
            "python"
        ):
            return NotWatchable(f"{prog} runs a local file, not a registry release")
        case "uv" | "npm" | "pnpm" | "yarn":
            return NotWatchable(
                f"{prog} {' '.join(args[:1])}: runs a local project, not a registry release"
            )
    return NotWatchable(f"local command {prog!r}: not a package runner")


#: `docker run` options that take a value (the image is the first argument after the options).
_DOCKER_VALUED = frozenset(
    {
        "-e",
        "--env",
        "--env-file",
        "-v",
        "--volume",
        "--name",
        "-p",
        "--publish",
        "--network",
        "-w",
        "--workdir",
        "--entrypoint",
        "-u",
        "--user",
        "--mount",
        "--platform",
        "-l",
        "--label",
        "--add-host",
        "--pull",
        "-h",
        "--hostname",
        "--cpus",
        "-m",
        "--memory",
    }
)


def _image(args: Sequence[str]) -> str:
    items = iter(args[1:] if args[:1] in (["run"], ["container"]) else args)
    for arg in items:
        if arg == "run":
            continue
        if arg.startswith("-"):
            if arg in _DOCKER_VALUED:
                next(items, None)
            continue
        return arg
    return "?"
