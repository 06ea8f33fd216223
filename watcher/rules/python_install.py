"""PyPI install-time rules: `.pth` files, setup.py commands and code, entry points, backends."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from watcher import gaps
from watcher.models import ChangeKind, Ecosystem, Severity
from watcher.parse.python import parse_module
from watcher.rules.code import CREDENTIAL_NAME, SECRET_PATHS
from watcher.rules.registry import ArtifactContext, Hit, artifact_rule
from watcher.rules.text import excerpt

PYPI = frozenset({Ecosystem.PYPI})

#: setuptools commands that run on `pip install` of an sdist (or `pip install -e`).
INSTALL_COMMANDS = frozenset(
    {"install", "develop", "egg_info", "build_py", "build_ext", "bdist_wheel", "sdist", "build"}
)

#: Qualified calls that have no business at setup.py module level: they run on every build and
#: install. Matched on the name as imported (`import subprocess as sp; sp.run` is
#: `subprocess.run`), never on the bare attribute: `re.compile` is not `compile`, and
#: `os.environ.get` is not `requests.get`.
SUSPICIOUS_SETUP_CALLS = frozenset(
    {
        "os.system",
        "os.popen",
        "os.startfile",
        "pty.spawn",
        "builtins.exec",
        "builtins.eval",
        "builtins.compile",
        "builtins.__import__",
        "importlib.import_module",
        "urllib.urlopen",
        "urllib.urlretrieve",
    }
)
#: Every call under these modules (or with this prefix: `os.execv`) is process or network access.
SUSPICIOUS_SETUP_MODULES = (
    "subprocess.",
    "socket.",
    "requests.",
    "httpx.",
    "urllib3.",
    "urllib.request.",
    "urllib2.",
    "http.client.",
    "aiohttp.",
    "ftplib.",
    "smtplib.",
    "ctypes.",
    "os.exec",
    "os.spawn",
    "os.posix_spawn",
)
#: Names unambiguous whatever module they came from (`six.moves.urllib.request.urlopen`).
SUSPICIOUS_SETUP_LEAVES = frozenset({"urlopen", "urlretrieve"})
#: Builtins that run code: suspicious when called by their bare, un-rebound name.
DYNAMIC_BUILTINS = frozenset({"exec", "eval", "compile", "__import__"})
#: Decoders reported only when they feed a dynamic-code call: `exec(base64.b64decode(...))`.
#: On their own they decode data files as often as payloads.
PAYLOAD_DECODERS = frozenset(
    {
        "base64.b64decode",
        "base64.b32decode",
        "base64.b85decode",
        "base64.a85decode",
        "base64.decodebytes",
        "codecs.decode",
        "zlib.decompress",
        "marshal.loads",
    }
)


@artifact_rule(
    id="pypi.pth-file",
    summary="A .pth file was added or changed (its import lines run at every interpreter start)",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def pth_file(ctx: ArtifactContext) -> Iterator[Hit]:
    """`site` runs `.pth` lines starting with `import` at every Python start (litellm 1.82.8).

    Judged by what the lines do: one that only imports modules by name, reads environment
    variables and calls into the package's own modules (setuptools' `distutils-precedence.pth`)
    is medium when the hook is not new (the pinned `.pth` already ran code) or it only calls
    modules this release ships; anything else (processes, network, decoding, dynamic code,
    files, a name built at run time, a line that does not parse) stays high.
    """
    shipped = _shipped_modules(ctx)
    for change in ctx.changed_files():
        if not change.path.endswith(".pth") or change.new is None:
            continue
        lines = change.new.text.splitlines()
        executable = [
            (n, line) for n, line in enumerate(lines, start=1) if line.startswith(_PTH_EXEC)
        ]
        verb = "added" if change.kind is ChangeKind.ADDED else "changed"
        if executable:
            number, line = executable[0]
            plain = [_pth_plain_imports(text) for _, text in executable]
            old_ran = change.old is not None and any(
                x.startswith(_PTH_EXEC) for x in change.old.text.splitlines()
            )
            if all(p is not None for p in plain):
                modules = sorted({m for p in plain if p is not None for m in p})
                own = all(m.split(".", 1)[0] in shipped or m in _PTH_STDLIB for m in modules)
                if old_ran or own:
                    why = "its .pth already ran code" if old_ran else "the modules are its own"
                    yield Hit(
                        f"`{change.path}` {verb}: it runs code at every interpreter start, but"
                        f" only imports {', '.join(f'`{m}`' for m in modules) or 'nothing'} and"
                        f" reads environment variables ({why})",
                        path=change.path,
                        line=number,
                        evidence=excerpt(line),
                        severity=Severity.MEDIUM,
                    )
                    continue
            yield Hit(
                f"`{change.path}` {verb}: it runs code at every interpreter start",
                path=change.path,
                line=number,
                evidence=excerpt(line),
            )
        else:
            yield Hit(
                f"`{change.path}` {verb} (path entries only)",
                path=change.path,
                line=1,
                evidence=excerpt(lines[0]) if lines else None,
                severity=Severity.LOW,
            )


#: How `site` recognises an executable `.pth` line.
_PTH_EXEC = ("import ", "import\t")
#: Standard modules a `.pth` line may import and use harmlessly (the rest of the line is still
#: judged: `os.system` is not in `_PTH_CALLS`).
_PTH_STDLIB = frozenset({"os", "sys", "importlib", "site", "warnings"})
#: Calls a harmless `.pth` line makes: reading the environment, extending `sys.path`.
_PTH_CALLS = frozenset(
    {"os.environ.get", "os.getenv", "sys.path.insert", "sys.path.append", "os.path.join"}
    | {"os.path.dirname", "os.path.exists", "os.path.isdir", "os.environ.__getitem__"}
)
#: Modules whose import alone means processes, network, decoding or native code.
_PTH_SENSITIVE = frozenset(
    {"subprocess", "socket", "urllib", "requests", "httpx", "http", "base64", "codecs", "zlib"}
    | {"marshal", "pickle", "ctypes", "runpy", "pty", "binascii", "lzma", "bz2", "gzip", "ssl"}
    | {"shutil", "tempfile", "builtins", "asyncio", "multiprocessing", "threading", "aiohttp"}
)


def _pth_plain_imports(line: str) -> set[str] | None:
    """The modules a `.pth` line imports, when all it does is import modules by literal name,
    read environment variables and call functions of the modules it imported; None if it does
    anything else (or does not parse: fail closed)."""
    with gaps.collecting():
        tree = parse_module("line.pth", line)
    if tree is None:
        return None
    modules: dict[str, str] = {}  # local name -> module

    def literal_import(node: ast.expr) -> str | None:
        """`__import__('m')` / `importlib.import_module('m')` / a name bound to a module."""
        if isinstance(node, ast.Name):
            return modules.get(node.id)
        if not isinstance(node, ast.Call) or len(node.args) != 1 or node.keywords:
            return None
        arg = node.args[0]
        name = resolve(node.func)
        if name in ("__import__", "importlib.import_module") and isinstance(arg, ast.Constant):
            return arg.value if isinstance(arg.value, str) else None
        return None

    def resolve(node: ast.expr) -> str | None:
        """Dotted name through imports, `getattr(x, 'a')` and `x.__dict__['a']`."""
        if isinstance(node, ast.Name):
            return modules.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            inner = resolve(node.value)
            return f"{inner}.{node.attr}" if inner is not None else None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            value = node.value
            if isinstance(value, ast.Attribute) and value.attr == "__dict__":
                inner = resolve(value.value)
                key = node.slice.value
                return f"{inner}.{key}" if inner is not None and isinstance(key, str) else None
            return None
        if isinstance(node, ast.Call):
            module = literal_import(node)
            if module is not None:
                return module
            if (
                isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                inner = resolve(node.args[0])
                return f"{inner}.{node.args[1].value}" if inner is not None else None
        return None

    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".", 1)[0]] = (
                    alias.name if alias.asname else alias.name.split(".", 1)[0]
                )
                imported.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            return None
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            module = literal_import(node.value) if isinstance(node.value, ast.Call) else None
            if isinstance(target, ast.Name) and module is not None:
                modules[target.id] = module
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    imported.update(m for node in calls if (m := literal_import(node)) is not None)
    for node in calls:
        if literal_import(node) is not None:
            continue
        name = resolve(node.func)
        if name is None:
            return None
        if name == "getattr" and len(node.args) == 2 and isinstance(node.args[1], ast.Constant):
            continue  # member access: `getattr(os.environ, 'get')`
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if any(_is_name(a) and resolve(a) == "os.environ" for a in arguments):
            return None  # the whole environment handed to a function
        if name in _PTH_CALLS:
            continue
        head = name.split(".", 1)[0]
        # A function of a module the line imported by name (`_distutils_hack.add_shim()`).
        if head in imported and head not in _PTH_STDLIB and "." in name:
            continue
        return None
    if any(m.split(".", 1)[0] in _PTH_SENSITIVE for m in imported):
        return None
    return imported


def _is_name(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Attribute | ast.Subscript | ast.Call)


def _shipped_modules(ctx: ArtifactContext) -> frozenset[str]:
    """Top-level Python modules and packages the new release installs."""
    names: set[str] = set()
    for path in ctx.diff.new.files:
        head, _, rest = path.partition("/")
        if rest and not head.endswith((".dist-info", ".data", ".egg-info")):
            names.add(head)
        elif not rest and path.endswith(".py"):
            names.add(path[:-3])
    return frozenset(names)


def _parse(
    source: str | None, pinned: bool = False, sha256: str | None = None
) -> ast.Module | None:
    """setup.py's tree, through the one guarded parser (a gap when it cannot be analysed).

    A setup.py that does not parse fails the install too; nothing to learn from it here. The
    pinned release's setup.py is only the baseline: its gaps belong to its own analysis.
    """
    if source is None:
        return None
    if pinned:
        with gaps.collecting():
            return parse_module("setup.py", source)
    return parse_module("setup.py", source, sha256)


def _setup_sha256(ctx: ArtifactContext) -> str | None:
    entry = ctx.diff.new.files.get("setup.py")
    return entry.sha256 if entry is not None else None


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> qualified name for the module's imports (`_install` -> `...install.install`).

    `import a.b` binds `a`, which is already qualified, so only `as` names are recorded there.
    """
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname})
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a Name/Attribute chain; `__import__('os').system` as `os.system`."""
    attrs: list[str] = []
    while isinstance(node, ast.Attribute):  # a loop: chains may be long
        attrs.append(node.attr)
        node = node.value
    if attrs:
        inner = _dotted(node)
        return ".".join([inner, *reversed(attrs)]) if inner is not None else None
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "__import__"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted name with its first part resolved through the module's imports."""
    dotted = _dotted(node)
    if dotted is None:
        return None
    head, dot, rest = dotted.partition(".")
    return aliases.get(head, head) + dot + rest


def _module_values(tree: ast.Module) -> dict[str, list[ast.expr]]:
    """Name -> expressions that build it: module-level assignments and `name.update(...)` calls."""
    values: dict[str, list[ast.expr]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(statement.value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            if isinstance(statement.target, ast.Name):
                values.setdefault(statement.target.id, []).append(statement.value)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and isinstance(node.func.value, ast.Name)
        ):
            values.setdefault(node.func.value.id, []).append(node)
    return values


def _dict_keys(
    value: ast.expr, values: dict[str, list[ast.expr]], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, int, ast.expr]]:
    """(key, line, value) of a dict given as `{...}`, `dict(...)`, `x.update(...)` or a variable.

    Follows `**other` and module-level variables (once each, so `a = a` cannot loop).
    """
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if key is None:
                yield from _dict_keys(item, values, seen)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, key.lineno, item
    elif isinstance(value, ast.Call) and (
        (isinstance(value.func, ast.Name) and value.func.id == "dict")
        or (isinstance(value.func, ast.Attribute) and value.func.attr == "update")
    ):
        for argument in value.args:
            yield from _dict_keys(argument, values, seen)
        for keyword in value.keywords:
            if keyword.arg is None:
                yield from _dict_keys(keyword.value, values, seen)
            else:
                yield keyword.arg, keyword.lineno, keyword.value
    elif isinstance(value, ast.Name) and value.id not in seen:
        for assigned in values.get(value.id, []):
            yield from _dict_keys(assigned, values, seen | {value.id})


def _command_overrides(tree: ast.Module | None) -> dict[str, int]:
    """Classes overriding install-time commands, and `cmdclass` keys: name -> line.

    Bases are resolved through imports (`install as _install`), and `cmdclass` may be an inline
    dict, a `dict(...)` call, a module-level variable, or the `"cmdclass"` entry of a dict of
    setup() arguments (`setup(**kwargs)`).
    """
    found: dict[str, int] = {}
    if tree is None:
        return found
    aliases = _import_aliases(tree)
    values = _module_values(tree)
    cmdclasses: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                qualified = _qualified(base, aliases) or ""
                if qualified.rsplit(".", 1)[-1] in INSTALL_COMMANDS:
                    found[f"class {node.name}({ast.unparse(base)})"] = node.lineno
        elif isinstance(node, ast.keyword) and node.arg == "cmdclass":
            cmdclasses.append(node.value)
        elif isinstance(node, ast.Dict):
            cmdclasses.extend(
                item
                for key, item in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "cmdclass"
            )
    for cmdclass in cmdclasses:
        for key, line, _ in _dict_keys(cmdclass, values):
            if key in INSTALL_COMMANDS:
                found[f"cmdclass[{key!r}]"] = line
    # Subscript assignments (`cmds["install"] = X`) on a variable used as cmdclass.
    names = {c.id for c in cmdclasses if isinstance(c, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in names
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value in INSTALL_COMMANDS
                ):
                    found[f"cmdclass[{target.slice.value!r}]"] = node.lineno
    return found


def _suspicious_call(node: ast.Call, aliases: dict[str, str], feeds_exec: bool) -> str | None:
    """The qualified name of a call setup.py should not make at import time, or None."""
    func = node.func
    if isinstance(func, ast.Name) and func.id in DYNAMIC_BUILTINS and func.id not in aliases:
        if func.id == "__import__" and _imports_by_name(node):
            return None  # `__import__('os')` is an import; what it then calls is judged
        return func.id
    qualified = _qualified(func, aliases)
    if qualified is None or (isinstance(func, ast.Name) and qualified == func.id):
        # A bare name never imported: a local helper, not `requests.get`.
        return None
    if qualified in ("builtins.__import__", "importlib.import_module") and _imports_by_name(node):
        return None
    if (
        qualified in SUSPICIOUS_SETUP_CALLS
        or qualified.startswith(SUSPICIOUS_SETUP_MODULES)
        or qualified.rsplit(".", 1)[-1] in SUSPICIOUS_SETUP_LEAVES
        or (feeds_exec and qualified in PAYLOAD_DECODERS)
    ):
        return qualified
    return None


def _imports_by_name(node: ast.Call) -> bool:
    """`__import__('os')` / `import_module('os')`: a module named by a constant, not one built
    at run time (that, and whatever the module is then asked to do, is still suspicious)."""
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Constant) and isinstance(first.value, str)


def _feeding_exec(statement: ast.stmt, aliases: dict[str, str]) -> set[ast.AST]:
    """Nodes inside the arguments of a dynamic-code call (`exec(<here>)`)."""
    inside: set[ast.AST] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Call):
            name = _qualified(node.func, aliases) or ""
            if name.removeprefix("builtins.") in DYNAMIC_BUILTINS:
                for argument in [*node.args, *(k.value for k in node.keywords)]:
                    inside.update(ast.walk(argument))
    return inside


@artifact_rule(
    id="pypi.setup-cmdclass",
    summary="setup.py now overrides install/develop/egg_info/build commands (runs on pip install)",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def setup_cmdclass(ctx: ArtifactContext) -> Iterator[Hit]:
    """Custom setuptools commands: the classic PyPI install-time payload hook."""
    new = ctx.diff.new_manifest.setup_py
    old = ctx.diff.old_manifest.setup_py if ctx.diff.old_manifest else None
    if new is None or new == old:
        return
    before = _command_overrides(_parse(old, pinned=True))
    lines = new.splitlines()
    tree = _parse(new, sha256=_setup_sha256(ctx))
    benign = _benign_commands(tree)
    for name, line in _command_overrides(tree).items():
        if name not in before:
            what = _benign_override(name, benign, tree)
            yield Hit(
                f"setup.py overrides an install-time command: {name}"
                + (f" (it only {what})" if what is not None else ""),
                path="setup.py",
                line=line,
                evidence=excerpt(lines[line - 1]),
                severity=Severity.MEDIUM if what is not None else None,
            )


def _benign_override(name: str, benign: dict[str, str], tree: ast.Module | None) -> str | None:
    """What a benign override does, or None: a class by its own body; a `cmdclass` entry when
    every command class it can name (those `setup(cmdclass={...})` maps to) is benign."""
    if tree is None:
        return None
    if name.startswith("class "):
        return benign.get(name[len("class ") :].split("(", 1)[0])
    named: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cmdclass":
            if not isinstance(node.value, ast.Dict):
                return None
            for value in node.value.values:
                if not isinstance(value, ast.Name) or value.id not in benign:
                    return None
                named.append(value.id)
    return "; ".join(dict.fromkeys(benign[n] for n in named)) if named else None


#: Calls a build command makes that change nothing outside its build: paths, strings, logging.
_BUILD_SAFE_PREFIXES = ("os.path.", "pathlib.", "logging.", "log.", "distutils.log.", "sys.")
#: Builtins a build step calls that run nothing else.
_PLAIN_BUILTINS = frozenset(
    {"open", "str", "repr", "print", "len", "isinstance", "format", "dict", "list", "tuple"}
    | {"set", "sorted", "int", "float", "bool", "super", "getattr", "hasattr", "min", "max"}
    | {"enumerate", "range", "zip", "any", "all", "iter", "next", "bytes"}
)
#: Top-level modules whose functions a build step may call (their dangerous ones are
#: caught above: `os.system`, `os.exec*`…).
_BUILD_SAFE_HEADS = frozenset({"os", "sys", "pathlib", "logging", "setuptools", "distutils"})
#: Modules a command may import without running anyone else's code.
_BUILD_SAFE_MODULES = frozenset({"os", "os.path", "sys", "pathlib", "importlib", "logging"})
#: Calls that remove, move or re-permission files: not a build's own output.
_FILE_MUTATORS = ("os.remove", "os.unlink", "os.rename", "os.chmod", "os.replace", "shutil.")


def _benign_commands(tree: ast.Module | None) -> dict[str, str]:
    """Command classes defined in setup.py whose behaviour is only a build's own: class name ->
    what they do ("reads GITHUB_SHA; writes under the build directory").

    A command that reads one non-secret environment variable and writes a file under its own
    build directory (`self.build_lib`) — the git revision into `_rev.py` — is new install-time
    code, not a credential read nor a persistence write. Anything the checks cannot resolve, a
    process, the network, dynamic code, decoding, the whole or a secret environment variable, a
    write anywhere but the build directory, keeps the override high (None for that class).
    """
    found: dict[str, str] = {}
    if tree is None:
        return found
    aliases = _import_aliases(tree)
    imported = frozenset(
        name.split(".", 1)[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            what = _benign_command(node, aliases, imported)
            if what is not None:
                found[node.name] = what
    return found


def _benign_command(
    cls: ast.ClassDef, aliases: dict[str, str], imported: frozenset[str]
) -> str | None:
    """What one command class does, when that is only a build's own (see `_benign_commands`);
    `imported`: the top-level modules setup.py imports."""
    secret = re.compile(SECRET_PATHS)

    def resolve(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            inner = resolve(node.value)
            return f"{inner}.{node.attr}" if inner is not None else None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if node.value.attr == "__dict__" and isinstance(key, str):
                inner = resolve(node.value.value)
                return f"{inner}.{key}" if inner is not None else None
            return None
        if isinstance(node, ast.Call):
            name = resolve(node.func)
            first = node.args[0] if node.args else None
            constant = first.value if isinstance(first, ast.Constant) else None
            if name == "super":
                return "super()"
            if name in ("__import__", "importlib.import_module") and isinstance(constant, str):
                return constant
            if name == "getattr" and len(node.args) == 2:
                attr = node.args[1]
                if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    inner = resolve(node.args[0])
                    return f"{inner}.{attr.value}" if inner is not None else None
        return None

    reads: set[str] = set()
    writes = False
    for node in ast.walk(cls):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n not in _BUILD_SAFE_MODULES for n in names):
                return None
        if isinstance(node, ast.Subscript) and resolve(node.value) == "os.environ":
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if not isinstance(key, str) or CREDENTIAL_NAME.search(key):
                return None
            reads.add(key)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if secret.search(f"'{node.value}'"):
                return None
        if not isinstance(node, ast.Call):
            continue
        name = resolve(node.func)
        if name is None:
            return None
        leaf = name.rsplit(".", 1)[-1]
        first = node.args[0] if node.args else None
        if name in ("getattr", "super", "__import__", "importlib.import_module"):
            target = resolve(node)
            if target is None:
                return None  # a member or module named at run time
            if name != "getattr" and name != "super" and target not in _BUILD_SAFE_MODULES:
                return None  # runs another module's code at install time
            continue
        if name in ("os.environ.get", "os.getenv"):
            key = first.value if isinstance(first, ast.Constant) else None
            if not isinstance(key, str) or CREDENTIAL_NAME.search(key):
                return None
            reads.add(key)
            continue
        if name.startswith("os.environ") or (
            name in SUSPICIOUS_SETUP_CALLS
            or name.startswith(SUSPICIOUS_SETUP_MODULES)
            or leaf in SUSPICIOUS_SETUP_LEAVES
            or name in PAYLOAD_DECODERS
            or name.removeprefix("builtins.") in DYNAMIC_BUILTINS
            or name.startswith(_FILE_MUTATORS)
            or name.startswith(("os.", "pty.", "ctypes.", "marshal.", "pickle.", "codecs."))
            and not name.startswith(_BUILD_SAFE_PREFIXES)
        ):
            return None
        head = name.split(".", 1)[0]
        if "." not in name and name not in _PLAIN_BUILTINS:
            return None  # a function of setup.py (not judged here) or a name bound at run time
        if head in imported and head not in _BUILD_SAFE_HEADS:
            return None  # another module's code, run at install time
        if name == "open":
            mode = node.args[1] if len(node.args) > 1 else None
            writing = isinstance(mode, ast.Constant) and any(c in str(mode.value) for c in "wax+")
            if writing:
                # Only under the command's own build directory (`self.build_lib`, …).
                under_build = first is not None and any(
                    (resolve(n) or "").startswith("self.build")
                    for n in ast.walk(first)
                    if isinstance(n, ast.Attribute | ast.Call)
                )
                if not under_build:
                    return None
                writes = True
            continue
    parts = []
    if reads:
        parts.append("reads " + ", ".join(f"`{r}`" for r in sorted(reads)))
    if writes:
        parts.append("writes under the build directory")
    return "; ".join(parts) or "extends the command"


@artifact_rule(
    id="pypi.setup-code",
    summary="setup.py runs process, network or dynamic-code calls at module level",
    severity=Severity.HIGH,
    category="install-hook",
    ecosystems=PYPI,
)
def setup_code(ctx: ArtifactContext) -> Iterator[Hit]:
    """Module-level calls in setup.py run on every build of the sdist, before any review."""
    new = ctx.diff.new_manifest.setup_py
    old = ctx.diff.old_manifest.setup_py if ctx.diff.old_manifest else None
    if new is None or new == old:
        return
    tree = _parse(new, sha256=_setup_sha256(ctx))
    if tree is None:
        return
    old_lines = set((old or "").splitlines())
    lines = new.splitlines()
    aliases = _import_aliases(tree)
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        feeding = _feeding_exec(statement, aliases)
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call):
                continue
            name = _suspicious_call(node, aliases, node in feeding)
            source = lines[node.lineno - 1]
            if name is not None and source not in old_lines:
                yield Hit(
                    f"setup.py calls `{name}(…)` at import time",
                    path="setup.py",
                    line=node.lineno,
                    evidence=excerpt(source),
                )


@artifact_rule(
    id="pypi.entry-point",
    summary="A new entry point (console script or plugin hook) was declared",
    severity=Severity.LOW,
    category="bin",
    ecosystems=PYPI,
)
def entry_point(ctx: ArtifactContext) -> Iterator[Hit]:
    """Entry points put commands on PATH or plug code into other tools' start-up."""
    if ctx.is_first_release:
        return
    old = ctx.diff.old_manifest.entry_points if ctx.diff.old_manifest else {}
    for key, target in ctx.diff.new_manifest.entry_points.items():
        if old.get(key) != target:
            yield Hit(f"entry point `{key}` → `{target}`", evidence=f"{key} = {target}")


#: What pip builds with when pyproject.toml names no backend (a legacy setup.py project), and
#: the explicit spellings of that same setuptools build: switching between them runs the same
#: setup.py through the same backend.
SETUPTOOLS_BACKENDS = frozenset({None, "setuptools.build_meta", "setuptools.build_meta:__legacy__"})


def _effective_backend(backend: str | None) -> str | None:
    return None if backend in SETUPTOOLS_BACKENDS else backend


def _pyproject_line(ctx: ArtifactContext, key: str) -> tuple[int | None, str | None]:
    """Line and text of `key = ...` in the new pyproject.toml (the `[build-system]` keys)."""
    entry = ctx.diff.new.files.get("pyproject.toml")
    lines = entry.text.splitlines() if entry is not None else []
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    return next(((n, t) for n, t in enumerate(lines, start=1) if pattern.match(t)), (None, None))


@artifact_rule(
    id="pypi.build-backend",
    summary="The build backend changed (it runs when pip builds the sdist)",
    severity=Severity.MEDIUM,
    category="install-hook",
    ecosystems=PYPI,
)
def build_backend(ctx: ArtifactContext) -> Iterator[Hit]:
    """A swapped build backend, especially an in-tree one, is install-time code execution.

    `backend-path` puts the sdist's own directories first on the backend's import path: the
    backend is then code shipped in the sdist, run by pip with no setup.py to look at (HIGH).
    """
    if ctx.diff.old_manifest is None or ctx.diff.old is None:
        return
    # A wheel carries no build configuration: compared with one, the old backend is unknown,
    # not "setuptools (implicit)" (pydantic-core: an sdist after wheel-only releases).
    if ctx.diff.old.kind is not ctx.diff.new.kind:
        return
    old_manifest, new_manifest = ctx.diff.old_manifest, ctx.diff.new_manifest
    old, new = old_manifest.build_backend, new_manifest.build_backend
    changed = _effective_backend(old) != _effective_backend(new)
    in_tree = bool(new_manifest.backend_path) and (
        changed or old != new or old_manifest.backend_path != new_manifest.backend_path
    )
    if not (changed or in_tree):
        return
    line, text = _pyproject_line(ctx, "build-backend")
    evidence = excerpt(text) if text else f'build-backend = "{new}"'
    message = f"build backend changed from `{old or 'setuptools (implicit)'}` to `{new}`"
    if in_tree:
        path_line, path_text = _pyproject_line(ctx, "backend-path")
        line = line or path_line
        where = ", ".join(new_manifest.backend_path)
        evidence = f"{evidence}; " + (excerpt(path_text) if path_text else f"backend-path: {where}")
        message = f"{message}, loaded from the sdist itself (backend-path: {where})"
        if not changed:
            message = f"in-tree build backend `{new}` (backend-path: {where}) added or moved"
    yield Hit(
        message,
        path="pyproject.toml",
        line=line,
        evidence=evidence,
        severity=Severity.HIGH if in_tree else None,
    )
