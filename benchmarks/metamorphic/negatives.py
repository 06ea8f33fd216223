# ruff: noqa: E501  (fixture source lines are kept whole, as a release would ship them)
"""Hard negatives: honest release pairs shaped like the attacks (issue 10, item 2).

Each is a synthetic npm or PyPI release pair that a naive scanner would flag: env reads,
child processes, install scripts, network calls, credential-file names, `.pth` files, minified
bundles. None may reach `high` — neither as written nor after the non-encoding rewrite
families (a respelled honest release is still honest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from benchmarks.metamorphic.archive import Pair, payload_of, read_tree
from benchmarks.metamorphic.families import make_bundle
from tests.support.replays import PyRelease, npm


@dataclass(frozen=True)
class Negative:
    id: str
    why: str
    ecosystem: str
    old: Mapping[str, str]
    new: Mapping[str, str]
    old_manifest: Mapping[str, Any] = field(default_factory=dict)
    new_manifest: Mapping[str, Any] = field(default_factory=dict)
    wheel: bool = False

    def pair(self) -> Pair:
        name = self.id
        new_files = _reachable(self.ecosystem, self.old, self.new)
        if self.ecosystem == "npm":
            om = {"main": "index.js", **self.old_manifest}
            nm = {"main": "index.js", **(self.new_manifest or self.old_manifest)}
            o = npm(name, "1.4.0", dict(self.old), **om)
            n = npm(name, "1.4.1", new_files, **nm)
            old = read_tree(o.filename, o.tarball())
            new = read_tree(n.filename, n.tarball())
        else:
            # Named after its package, as an honest project is: hatchling builds a project
            # `weatherly` from `weatherly/`, and refuses one whose name matches no package.
            packages = sorted(p.split("/")[0] for p in self.new if p.count("/") == 1)
            name = next((p for p in packages if f"{p}/__init__.py" in self.new), name)
            po = PyRelease(name, "2.3.0", dict(self.old))
            pn = PyRelease(name, "2.3.1", new_files)
            a, b = (po.wheel(), pn.wheel()) if self.wheel else (po.sdist(), pn.sdist())
            old, new = read_tree(a.filename, a.data), read_tree(b.filename, b.data)
        return Pair(f"neg:{self.id}", old, new, payload_of(old, new), malicious=False)


def _reachable(ecosystem: str, old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    """`new`, with each added library module loaded by the package's entry point, as an honest
    release would (a module nothing loads would make the negative trivially easy). Tests,
    docs and examples stay unloaded: that is their point."""
    files = dict(new)
    added = [p for p in new if p not in old and not p.startswith(("tests/", "docs/"))]
    if ecosystem == "npm" and "index.js" in files:
        for path in added:
            if path.startswith("lib/") and path.endswith(".js"):
                files["index.js"] += f"require('./{path}');\n"
    for path in added:
        pkg, _, mod = path.rpartition("/")
        init = f"{pkg}/__init__.py"
        if path.endswith(".py") and init in files and not mod.startswith("__"):
            files[init] += f"from . import {mod[:-3]}  # noqa: F401\n"
    return files


def _js(*lines: str) -> str:
    return "\n".join(lines) + "\n"


_INDEX = _js("'use strict';", "module.exports = { version: '1.4.0' };")
_SERVER_OLD = _js(
    "'use strict';",
    "const { McpServer } = require('@modelcontextprotocol/sdk/server/mcp.js');",
    "const { z } = require('zod');",
    "const server = new McpServer({ name: 'notes', version: '1.4.0' });",
    "server.tool('list', 'List the notes.', {}, async () => ({ content: [] }));",
    "module.exports = { server };",
)
_PY_INIT = '"""A small honest library."""\n\n__version__ = "2.3.0"\n'


def _mcp(add: str) -> str:
    return _SERVER_OLD.replace(
        "module.exports = { server };\n", add + "module.exports = { server };\n"
    )


NEGATIVES: tuple[Negative, ...] = (
    Negative(
        "git-execfile-env",
        "execFile('git', …) with a copy of the environment",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/git.js": _js(
                "'use strict';",
                "const { execFile } = require('child_process');",
                "exports.head = (cwd) => new Promise((resolve, reject) => {",
                "  execFile('git', ['rev-parse', 'HEAD'], { cwd, env: { ...process.env, LC_ALL: 'C' } },",
                "    (err, out) => (err ? reject(err) : resolve(out.trim())));",
                "});",
            ),
        },
    ),
    Negative(
        "dotenv-load",
        "loads the project's .env with dotenv",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _js(
                "'use strict';",
                "require('dotenv').config();",
                "module.exports = { version: '1.4.1', port: process.env.PORT || 3000 };",
            )
        },
        new_manifest={"dependencies": {"dotenv": "^16.4.5"}},
    ),
    Negative(
        "husky-install",
        "prepare: husky install (never runs on a registry install)",
        "npm",
        {"index.js": _INDEX},
        {"index.js": _INDEX},
        new_manifest={"scripts": {"prepare": "husky install"}, "devDependencies": {"husky": "^8"}},
    ),
    Negative(
        "prebuild-install-unchanged",
        "native install script unchanged, version bump",
        "npm",
        {
            "index.js": _INDEX,
            "binding.gyp": "{'targets': [{'target_name': 'x', 'sources': ['x.cc']}]}\n",
            "x.cc": "// v1.4.0\n",
        },
        {
            "index.js": _INDEX.replace("1.4.0", "1.4.1"),
            "binding.gyp": "{'targets': [{'target_name': 'x', 'sources': ['x.cc']}]}\n",
            "x.cc": "// v1.4.1\n",
        },
        old_manifest={
            "scripts": {"install": "prebuild-install || node-gyp rebuild --release"},
            "dependencies": {"prebuild-install": "^7.1.1"},
        },
    ),
    Negative(
        "sanitizer-denylist",
        "a path sanitizer's deny-list names .ssh/id_rsa",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/deny.js": _js(
                "'use strict';",
                "const DENY = ['.ssh/id_rsa', '.ssh/id_ed25519', '.aws/credentials', '.npmrc', '.env'];",
                "exports.isDenied = (p) => DENY.some((d) => String(p).endsWith(d));",
            ),
        },
    ),
    Negative(
        "mcp-optional-api-key",
        "an optional api_key parameter in a tool schema",
        "npm",
        {"index.js": _SERVER_OLD},
        {
            "index.js": _mcp(
                "server.tool('search', 'Search the public catalogue.',\n"
                "  { query: z.string(), api_key: z.string().optional() },\n"
                "  async ({ query }) => ({ content: [{ type: 'text', text: query }] }));\n"
            )
        },
    ),
    Negative(
        "mcp-plain-tool",
        "a new tool with a plain description",
        "npm",
        {"index.js": _SERVER_OLD},
        {
            "index.js": _mcp(
                "server.tool('count', 'Count the notes in a folder.', { folder: z.string() },\n"
                "  async ({ folder }) => ({ content: [{ type: 'text', text: folder }] }));\n"
            )
        },
    ),
    Negative(
        "own-api-new-path",
        "a new call to its own API host, already used before",
        "npm",
        {
            "index.js": _js(
                "'use strict';",
                "exports.list = () => fetch('https://api.weatherly.example/v1/list');",
            )
        },
        {
            "index.js": _js(
                "'use strict';",
                "exports.list = () => fetch('https://api.weatherly.example/v1/list');",
                "exports.get = (id) => fetch(`https://api.weatherly.example/v1/item/${id}`);",
            )
        },
    ),
    Negative(
        "telemetry-opt-in",
        "telemetry that is opt-in via one env var",
        "npm",
        {
            "index.js": _js(
                "'use strict';",
                "exports.track = (e) => fetch('https://t.weatherly.example/e', { method: 'POST', body: JSON.stringify(e) });",
            )
        },
        {
            "index.js": _js(
                "'use strict';",
                "exports.track = (e) => {",
                "  if (process.env.WEATHERLY_TELEMETRY !== '1') return;",
                "  return fetch('https://t.weatherly.example/e', { method: 'POST', body: JSON.stringify(e) });",
                "};",
            )
        },
    ),
    Negative(
        "own-config-file",
        "reads ~/.config/<pkg>/config.json",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/config.js": _js(
                "'use strict';",
                "const fs = require('fs');",
                "const os = require('os');",
                "const path = require('path');",
                "const file = path.join(os.homedir(), '.config', 'weatherly', 'config.json');",
                "exports.load = () => (fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {});",
            ),
        },
    ),
    Negative(
        "npx-tsc",
        "a CLI that spawns npx tsc",
        "npm",
        {"bin/cli.js": _js("#!/usr/bin/env node", "console.log('usage: build');")},
        {
            "bin/cli.js": _js(
                "#!/usr/bin/env node",
                "const { spawnSync } = require('child_process');",
                "const r = spawnSync('npx', ['tsc', '-p', '.'], { stdio: 'inherit' });",
                "process.exit(r.status);",
            )
        },
        old_manifest={"bin": {"build": "bin/cli.js"}},
    ),
    Negative(
        "log-node-env",
        "logs process.env.NODE_ENV",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _js(
                "'use strict';",
                "console.log('mode', process.env.NODE_ENV);",
                "module.exports = { version: '1.4.1' };",
            )
        },
    ),
    Negative(
        "new-devdependency",
        "a new devDependency",
        "npm",
        {"index.js": _INDEX},
        {"index.js": _INDEX},
        old_manifest={"devDependencies": {"eslint": "^9"}},
        new_manifest={"devDependencies": {"eslint": "^9", "vitest": "^2.1.0"}},
    ),
    Negative(
        "unloaded-tests",
        "test files nothing loads call network and exec",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "tests/e2e.test.js": _js(
                "const { execSync } = require('child_process');",
                "test('serves', async () => {",
                "  execSync('node bin/server.js &');",
                "  await fetch('http://127.0.0.1:8080/health', { method: 'POST', body: JSON.stringify(process.env) });",
                "});",
            ),
        },
    ),
    Negative(
        "docs-example-post",
        "docs folder with example code posting data",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "docs/examples/upload.js": _js(
                "const https = require('https');",
                "const req = https.request({ host: 'api.example.com', method: 'POST', path: '/upload' });",
                "req.end(JSON.stringify({ token: process.env.API_TOKEN }));",
            ),
        },
    ),
    Negative(
        "reminified-bundle",
        "bundled minified file re-minified with new mangled names",
        "npm",
        {
            "index.js": "module.exports = require('./dist/app.min.js');\n",
            "dist/app.min.js": make_bundle(seed=11, size=60_000),
        },
        {
            "index.js": "module.exports = require('./dist/app.min.js');\n",
            "dist/app.min.js": make_bundle(seed=12, size=60_000),
        },
    ),
    Negative(
        "prepublish-build",
        "prepublishOnly build script",
        "npm",
        {"index.js": _INDEX},
        {"index.js": _INDEX},
        new_manifest={"scripts": {"prepublishOnly": "npm run build && node scripts/check.js"}},
    ),
    Negative(
        "retry-with-setTimeout",
        "retries a request to its own host after a delay",
        "npm",
        {
            "index.js": _js(
                "'use strict';",
                "exports.get = () => fetch('https://api.weatherly.example/v1/now');",
            )
        },
        {
            "index.js": _js(
                "'use strict';",
                "exports.get = async (n = 0) => {",
                "  try { return await fetch('https://api.weatherly.example/v1/now'); }",
                "  catch (e) { if (n > 3) throw e; await new Promise((r) => setTimeout(r, 1000 * 2 ** n)); return exports.get(n + 1); }",
                "};",
            )
        },
    ),
    Negative(
        "ci-detect",
        "detects CI to disable colours",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _js(
                "'use strict';",
                "const isCI = Boolean(process.env.CI || process.env.GITHUB_ACTIONS);",
                "module.exports = { color: !isCI && process.stdout.isTTY };",
            )
        },
    ),
    Negative(
        "base64-data-decoding",
        "decodes a base64 image (data, not code)",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/icon.js": _js(
                "'use strict';",
                "exports.icon = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');",
            ),
        },
    ),
    Negative(
        "user-agent-from-env",
        "builds a User-Agent from the platform and version",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/ua.js": _js(
                "'use strict';",
                "const os = require('os');",
                "exports.userAgent = () => `weatherly/1.4.1 node/${process.version} ${os.platform()}`;",
            ),
        },
    ),
    Negative(
        "open-browser",
        "opens the docs URL in a browser on request",
        "npm",
        {"bin/cli.js": _js("#!/usr/bin/env node", "console.log('weatherly');")},
        {
            "bin/cli.js": _js(
                "#!/usr/bin/env node",
                "const { spawn } = require('child_process');",
                "if (process.argv[2] === 'docs') {",
                "  const cmd = process.platform === 'darwin' ? 'open' : 'xdg-open';",
                "  spawn(cmd, ['https://weatherly.example/docs'], { detached: true });",
                "}",
            )
        },
        old_manifest={"bin": {"weatherly": "bin/cli.js"}},
    ),
    Negative(
        "mcp-auth-header",
        "passes the user's configured token to its own API",
        "npm",
        {
            "index.js": _js(
                "'use strict';",
                "exports.list = () => fetch('https://api.weatherly.example/v1/list');",
            )
        },
        {
            "index.js": _js(
                "'use strict';",
                "exports.list = () => fetch('https://api.weatherly.example/v1/list', {",
                "  headers: { Authorization: `Bearer ${process.env.WEATHERLY_API_KEY}` },",
                "});",
            )
        },
    ),
    Negative(
        "write-cache-dir",
        "writes its cache under ~/.cache/<pkg>",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/cache.js": _js(
                "'use strict';",
                "const fs = require('fs');",
                "const path = require('path');",
                "const os = require('os');",
                "const dir = path.join(os.homedir(), '.cache', 'weatherly');",
                "exports.put = (k, v) => { fs.mkdirSync(dir, { recursive: true }); fs.writeFileSync(path.join(dir, k), v); };",
            ),
        },
    ),
    Negative(
        "postinstall-message",
        "postinstall that prints a thank-you message, unchanged",
        "npm",
        {"index.js": _INDEX, "scripts/thanks.js": "console.log('thanks for installing');\n"},
        {
            "index.js": _INDEX.replace("1.4.0", "1.4.1"),
            "scripts/thanks.js": "console.log('thanks for installing');\n",
        },
        old_manifest={"scripts": {"postinstall": "node scripts/thanks.js"}},
    ),
    Negative(
        "dynamic-import-plugin",
        "loads plugins named in its own config",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/plugins.js": _js(
                "'use strict';",
                "const path = require('path');",
                "exports.load = (names) => names.map((n) => require(path.join(__dirname, '..', 'plugins', n)));",
            ),
        },
    ),
    Negative(
        "health-check-localhost",
        "a health check against localhost",
        "npm",
        {"index.js": _INDEX},
        {
            "index.js": _INDEX,
            "lib/health.js": _js(
                "'use strict';",
                "const http = require('http');",
                "exports.check = (port) => new Promise((ok) => http.get({ host: '127.0.0.1', port, path: '/health' }, (r) => ok(r.statusCode === 200)).on('error', () => ok(false)));",
            ),
        },
    ),
    Negative(
        "proxy-from-env",
        "honours HTTPS_PROXY",
        "npm",
        {"index.js": _js("'use strict';", "exports.get = (u) => fetch(u);")},
        {
            "index.js": _js(
                "'use strict';",
                "const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;",
                "exports.get = (u) => fetch(u, proxy ? { dispatcher: require('./agent')(proxy) } : {});",
            ),
            "agent.js": "module.exports = (p) => ({ proxy: p });\n",
        },
    ),
    # ------------------------------------------------------------------ PyPI
    Negative(
        "setup-build-py-revision",
        "setup.py build_py writes the git revision from GITHUB_SHA",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT, "setup.py": "from setuptools import setup\nsetup()\n"},
        {
            "weatherly/__init__.py": _PY_INIT.replace("2.3.0", "2.3.1"),
            "setup.py": (
                "import os\nfrom setuptools import setup\nfrom setuptools.command.build_py import build_py\n\n\n"
                "class BuildPy(build_py):\n    def run(self):\n        super().run()\n"
                "        rev = os.environ.get('GITHUB_SHA', 'unknown')\n"
                "        with open(os.path.join(self.build_lib, 'weatherly', '_rev.py'), 'w') as f:\n"
                "            f.write(f'REVISION = {rev!r}\\n')\n\n\nsetup(cmdclass={'build_py': BuildPy})\n"
            ),
        },
    ),
    Negative(
        "setuptools-own-pth",
        "an edit to setuptools' own distutils-precedence.pth",
        "pypi",
        {
            "setuptools/__init__.py": _PY_INIT,
            "distutils-precedence.pth": "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; enabled and __import__('_distutils_hack').add_shim();\n",
        },
        {
            "setuptools/__init__.py": _PY_INIT.replace("2.3.0", "2.3.1"),
            "distutils-precedence.pth": "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'stdlib') == 'local'; enabled and __import__('_distutils_hack').add_shim();\n",
        },
        wheel=True,
    ),
    Negative(
        "py-dotenv",
        "python-dotenv loads .env",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {"weatherly/__init__.py": _PY_INIT + "\nfrom dotenv import load_dotenv\n\nload_dotenv()\n"},
    ),
    Negative(
        "py-subprocess-git",
        "subprocess.run(['git', 'describe']) for the version",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/_version.py": (
                "import subprocess\n\n\ndef describe() -> str:\n"
                "    out = subprocess.run(['git', 'describe', '--tags'], capture_output=True, text=True)\n"
                "    return out.stdout.strip()\n"
            ),
        },
    ),
    Negative(
        "py-own-api",
        "requests.get to its own documented API, new path",
        "pypi",
        {
            "weatherly/client.py": "import requests\n\n\ndef now():\n    return requests.get('https://api.weatherly.example/v1/now', timeout=10).json()\n"
        },
        {
            "weatherly/client.py": "import requests\n\n\ndef now():\n    return requests.get('https://api.weatherly.example/v1/now', timeout=10).json()\n\n\n"
            "def week():\n    return requests.get('https://api.weatherly.example/v1/week', timeout=10).json()\n"
        },
    ),
    Negative(
        "py-api-key-env",
        "reads its own API key from one env var",
        "pypi",
        {
            "weatherly/client.py": "import requests\n\n\ndef now():\n    return requests.get('https://api.weatherly.example/v1/now', timeout=10).json()\n"
        },
        {
            "weatherly/client.py": "import os\n\nimport requests\n\n\ndef now():\n"
            "    key = os.environ.get('WEATHERLY_API_KEY', '')\n"
            "    return requests.get('https://api.weatherly.example/v1/now', headers={'X-Key': key}, timeout=10).json()\n"
        },
    ),
    Negative(
        "py-own-config",
        "reads ~/.config/<pkg>/config.toml",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/config.py": (
                "import tomllib\nfrom pathlib import Path\n\nCONFIG = Path.home() / '.config' / 'weatherly' / 'config.toml'\n\n\n"
                "def load() -> dict:\n    return tomllib.loads(CONFIG.read_text()) if CONFIG.exists() else {}\n"
            ),
        },
    ),
    Negative(
        "py-mcp-plain-tool",
        "a FastMCP server adds a plainly described tool",
        "pypi",
        {
            "weatherly/server.py": 'from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP(\'weather\')\n\n\n@mcp.tool()\ndef now(city: str) -> str:\n    """Current weather for a city."""\n    return city\n'
        },
        {
            "weatherly/server.py": 'from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP(\'weather\')\n\n\n@mcp.tool()\ndef now(city: str) -> str:\n    """Current weather for a city."""\n    return city\n\n\n'
            '@mcp.tool()\ndef forecast(city: str, days: int = 3, api_key: str | None = None) -> str:\n    """Forecast for the next days; api_key overrides the configured key."""\n    return city\n'
        },
    ),
    Negative(
        "py-logging-env",
        "logs the LOG_LEVEL env var",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT
            + "\nimport logging\nimport os\n\nlogging.getLogger('weatherly').setLevel(os.environ.get('WEATHERLY_LOG_LEVEL', 'WARNING'))\n"
        },
    ),
    Negative(
        "py-unloaded-tests",
        "tests/ that nothing imports use network and subprocess",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "tests/test_live.py": (
                "import os\nimport subprocess\n\nimport requests\n\n\ndef test_live():\n"
                "    subprocess.run(['weatherly', 'serve', '--port', '8080'], check=False)\n"
                "    requests.post('http://127.0.0.1:8080/echo', json=dict(os.environ), timeout=5)\n"
            ),
        },
    ),
    Negative(
        "py-docs-example",
        "docs/ example posting data",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "docs/examples/upload.py": (
                "import os\n\nimport requests\n\nrequests.post('https://api.example.com/upload', json={'token': os.environ['API_TOKEN']}, timeout=10)\n"
            ),
        },
    ),
    Negative(
        "py-ci-detect",
        "detects CI for output formatting",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {"weatherly/__init__.py": _PY_INIT + "\nimport os\n\nIN_CI = bool(os.environ.get('CI'))\n"},
    ),
    Negative(
        "py-base64-asset",
        "decodes a base64 asset (data, not code)",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/assets.py": (
                "import base64\n\nICON = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==')\n"
            ),
        },
    ),
    Negative(
        "py-entrypoint-cli",
        "a console script runs its own CLI",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/__main__.py": (
                "import argparse\nimport sys\n\n\ndef main() -> int:\n    p = argparse.ArgumentParser('weatherly')\n"
                "    p.add_argument('city')\n    print(p.parse_args().city)\n    return 0\n\n\nif __name__ == '__main__':\n    sys.exit(main())\n"
            ),
        },
    ),
    Negative(
        "py-cache-write",
        "writes its cache under ~/.cache/<pkg>",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/cache.py": (
                "from pathlib import Path\n\nDIR = Path.home() / '.cache' / 'weatherly'\n\n\n"
                "def put(key: str, value: bytes) -> None:\n    DIR.mkdir(parents=True, exist_ok=True)\n    (DIR / key).write_bytes(value)\n"
            ),
        },
    ),
    Negative(
        "py-keyring-own",
        "stores its own token in the system keyring",
        "pypi",
        {"weatherly/__init__.py": _PY_INIT},
        {
            "weatherly/__init__.py": _PY_INIT,
            "weatherly/auth.py": (
                "import keyring\n\n\ndef save(token: str) -> None:\n    keyring.set_password('weatherly', 'default', token)\n"
            ),
        },
    ),
)

#: id -> builder, mirroring tests/support/replays.HARD_NEGATIVES.
HARD_NEGATIVE_PAIRS: dict[str, Callable[[], Pair]] = {n.id: n.pair for n in NEGATIVES}
