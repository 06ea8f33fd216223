"""The installed view (SPEC 4.1) against the real installers: what npm and pip write to disk.

For each synthetic npm tarball the real npm installs it offline into a temporary prefix
(`--ignore-scripts`: nothing of the package runs) and the files under
`node_modules/<name>` with their sha256 must be exactly `read_archive(...).files`, except the
placements only npm on Windows makes (`RENAMED` specials), which must be exactly the extra
ones. Wheels are installed by the real pip (`--no-deps --no-index`; installing a wheel runs no
package code) and the site-packages files must be the view's.

pip runs with `--prefix`, not `--target`: `--target` moves the `data` scheme's `lib/` aside
when purelib lies under it, so `.data/data/lib/python3.12/site-packages/x.pth` never reaches
the target folder, while in a real environment (a venv, the prefix scheme) it lands in that
interpreter's site-packages. `test_pip_target_folder` runs the `--target` form too.

Every fixture is synthetic and inert: payloads are comments or strings, hosts end in `.invalid`.
Where the real installer and watcher part ways, the case is a strict xfail saying how (none today).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import warnings
import zipfile
from base64 import urlsafe_b64encode
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.artifacts.extract import read_archive
from watcher.models import Snapshot, SpecialKind

pytestmark = pytest.mark.e2e

#: Seconds for one installer run (npm starts in ~1 s, pip in ~2 s here).
INSTALL_TIMEOUT = 120
NPM = shutil.which("npm")
NPM_NAME = "installed-view-fixture"
PIP_AVAILABLE = importlib.util.find_spec("pip") is not None

needs_npm = pytest.mark.skipif(NPM is None, reason="npm is not installed (needs Node.js and npm)")
needs_pip = pytest.mark.skipif(
    not PIP_AVAILABLE, reason=f"pip is not importable by {sys.executable} (it is in the dev group)"
)


def _digests(root: Path) -> dict[str, str]:
    """Every regular file under `root` (relative POSIX path -> sha256); no links allowed."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        assert not path.is_symlink(), f"the installer created a link: {path}"
        if path.is_file():
            found[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            assert path.is_dir(), f"the installer created a special file: {path}"
    return found


def _view_digests(view: Snapshot) -> dict[str, str]:
    return {path: entry.sha256 for path, entry in view.files.items()}


# --- npm --------------------------------------------------------------------------------------


def npm_install(workdir: Path, data: bytes) -> dict[str, str]:
    """Install tarball `data` with the real npm; the package folder's files and hashes."""
    assert NPM is not None
    tarball = workdir / "case.tgz"
    tarball.write_bytes(data)
    prefix = workdir / "prefix"
    prefix.mkdir()
    (workdir / "npmrc").write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "npm_config_cache": str(workdir / "cache"),
        "npm_config_userconfig": str(workdir / "npmrc"),
        "npm_config_update_notifier": "false",
        "npm_config_loglevel": "warn",
    }
    command = [
        NPM,
        "install",
        "--ignore-scripts",
        "--no-save",
        "--no-audit",
        "--no-fund",
        "--offline",
        "--prefix",
        str(prefix),
        f"./{tarball.name}",
    ]
    run = subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, f"npm failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    # Nothing lands outside the package folder (npm's own lock file aside).
    assert sorted(p.name for p in prefix.iterdir()) == ["node_modules"]
    assert sorted(p.name for p in (prefix / "node_modules").iterdir()) == [
        ".package-lock.json",
        NPM_NAME,
    ]
    return _digests(prefix / "node_modules" / NPM_NAME)


def assert_npm_agrees(view: Snapshot, installed: Mapping[str, str]) -> None:
    """npm wrote exactly the view's files, but for the placements only Windows npm makes."""
    expected = _view_digests(view)
    windows_only = {s.path for s in view.specials if s.kind is SpecialKind.RENAMED}
    assert set(expected) - set(installed) == windows_only, "files npm did not write"
    assert {p: h for p, h in expected.items() if p not in windows_only} == dict(installed)


def _file(name: str, data: bytes | str, kind: bytes) -> A.Member:
    info, content = A.regular(name, data)
    info.type = kind
    return info, content


def _with_manifest(*members: A.Member) -> bytes:
    return A.tgz([A.regular("package/package.json", A.NPM_MANIFEST), *members])


_INERT = A._INERT
_BENIGN = b"module.exports = 'benign';\n"

#: Tarballs where npm and watcher once parted ways (found by this test; npm is right, SPEC 4.1):
#: what npm does with each, which the view now does too.
NPM_EDGES: dict[str, tuple[Callable[[], bytes], str]] = {
    "file_then_folder": (
        lambda: _with_manifest(A.regular("package/a", "x"), A.regular("package/a/b.js", "y")),
        "npm cannot make the folder `a` over the file (EEXIST) and skips `a/b.js`",
    ),
    "folder_then_file": (
        lambda: _with_manifest(A.regular("package/a/b.js", "y"), A.regular("package/a", "x")),
        "npm cannot replace the non-empty folder `a` by a file (ENOTEMPTY) and skips `a`",
    ),
    "unknown_entry_type": (
        lambda: _with_manifest(_file("package/z.js", _INERT, b"Z")),
        "pacote writes File/OldFile/ContiguousFile entries only; tarfile reads type `Z` as a file",
    ),
    "gnu_sparse_file": (
        lambda: A.with_npm_manifest(
            A.gz(
                A._header(
                    "package/sparse.js",
                    5,
                    b"S",
                    patches={386: b"%011o\0" % 4 + b"%011o\0" % 5, 483: b"%011o\0" % 12},
                )
                + A._pad(b"hello")
                + A._end()
            )
        ),
        "node-tar does not write a GNU SparseFile entry (unsupported type): npm skips it",
    ),
    "gitignore_across_roots": (
        lambda: _with_manifest(
            A.regular("package/.npmignore", "n"), A.regular("other/.gitignore", "g")
        ),
        "pacote looks for an earlier `.npmignore` by the unstripped path (`other/.npmignore`), "
        "so `other/.gitignore` is renamed and overwrites `.npmignore`",
    ),
}


#: node-tar rejects a header whose base-256 number is past 2**53 (TAR_ENTRY_INVALID) and npm
#: writes nothing for it; the view skips it too (these were disagreements once).
NPM_HEADER_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "out_of_range_header_number": (
        lambda: A.with_npm_manifest(A.odd_header_numbers()[1]),
        "node-tar skips an entry whose header holds a number past 2**53 (a base-256 uid)",
    ),
    "later_duplicate_npm_skips": (
        lambda: A.gz(
            A._header("package/package.json", len(A.NPM_MANIFEST))
            + A._pad(A.NPM_MANIFEST.encode())
            + A._header("package/index.js", len(_INERT))
            + A._pad(_INERT)
            + A._header("package/index.js", len(_BENIGN), patches={108: A._base256(2**55, 8)})
            + A._pad(_BENIGN)
            + A._end()
        ),
        "the same skip as an evasion: the later, benign index.js has an out-of-range uid, so "
        "npm keeps the earlier payload, and so must watcher",
    ),
}


def _npm_cases() -> list[object]:
    cases: list[object] = [
        pytest.param(build, id=f"layout-{name}") for name, build in A.NPM_LAYOUTS.items()
    ]
    for name, hostile in A.NPM_ACCEPTED.items():
        cases.append(
            pytest.param(
                lambda hostile=hostile: A.with_npm_manifest(hostile()[1]), id=f"hostile-{name}"
            )
        )
    for name in ("tar_latin1_name", "case_collision", "symlink_loop"):
        odd = A.HOSTILE_ACCEPTED[name]
        cases.append(
            pytest.param(lambda odd=odd: A.with_npm_manifest(odd()[1]), id=f"accepted-{name}")
        )
    for name, (build, _why) in NPM_HEADER_CASES.items():
        cases.append(pytest.param(build, id=f"header-{name}"))
    for name, (build, _what) in NPM_EDGES.items():
        cases.append(pytest.param(build, id=f"edge-{name}"))
    return cases


@needs_npm
@pytest.mark.parametrize("build", _npm_cases())
def test_npm_installs_what_watcher_sees(build: Callable[[], bytes], tmp_path: Path) -> None:
    data = build()
    view = read_archive(data, f"{NPM_NAME}-1.0.0.tgz")
    assert view.gaps == ()
    installed = npm_install(tmp_path, data)
    assert_npm_agrees(view, installed)


@needs_npm
def test_npm_installs_the_second_root_s_manifest(tmp_path: Path) -> None:
    data = A.npm_second_manifest()
    npm_install(tmp_path, data)
    written = tmp_path / "prefix" / "node_modules" / NPM_NAME / "package.json"
    assert written.read_text() == A.NPM_MANIFEST_WITH_POSTINSTALL
    view = read_archive(data, f"{NPM_NAME}-1.0.0.tgz")
    assert view.files["package.json"].text == A.NPM_MANIFEST_WITH_POSTINSTALL


def test_every_backslash_case_is_windows_only_in_the_view() -> None:
    # The comparison above relies on RENAMED paths being the Windows-only ones.
    view = read_archive(A.npm_backslash_names(), "x.tgz")
    assert [(s.path, s.kind) for s in view.specials] == [("lib/x.js", SpecialKind.RENAMED)]


# --- pip --------------------------------------------------------------------------------------

WHEEL_NAME = "demo_installed_view"
_DIST_INFO = f"{WHEEL_NAME}-1.0.dist-info"
_DATA = f"{WHEEL_NAME}-1.0.data"


def _record_line(path: str, data: bytes) -> str:
    digest = urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def installable_wheel(
    files: Mapping[str, bytes | str],
    modes: Mapping[str, int] | None = None,
    duplicate: Mapping[str, bytes] | None = None,
) -> tuple[str, bytes]:
    """A wheel pip accepts: `files` plus METADATA, WHEEL and RECORD in the dist-info folder.

    `modes` sets Unix mode bits on members (a symlink, say); `duplicate` adds a second entry
    for a path after all the others.
    """
    members = {path: A._as_bytes(data) for path, data in files.items()}
    members[f"{_DIST_INFO}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {WHEEL_NAME}\nVersion: 1.0\n".encode()
    )
    members[f"{_DIST_INFO}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: watcher-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(path, data) for path, data in members.items()]
    record.append(f"{_DIST_INFO}/RECORD,,")
    members[f"{_DIST_INFO}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate we asked for
        entries = [*members.items(), *(duplicate or {}).items()]
        for path, data in entries:
            info = zipfile.ZipInfo(path, (2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if modes and path in modes:
                info.create_system = 3
                info.external_attr = modes[path] << 16
            archive.writestr(info, data)
    return f"{WHEEL_NAME}-1.0-py3-none-any.whl", buffer.getvalue()


def pip_install(workdir: Path, filename: str, data: bytes, layout: str) -> Path:
    """Install wheel `data` with the real pip (`--prefix` or `--target`); the install folder."""
    wheel = workdir / filename
    wheel.write_bytes(data)
    into = workdir / "installed"
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "PYTHONNOUSERSITE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-compile",
        "--no-index",
        "--no-cache-dir",
        layout,
        str(into),
        str(wheel),
    ]
    run = subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert run.returncode == 0, f"pip failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    return into


_SITE_PACKAGES = re.compile(r"^lib(?:64)?/python3\.\d+/site-packages/(.+)$")


def pip_prefix_view(prefix: Path) -> dict[str, str]:
    """Files pip wrote under `--prefix`, named as the installed view names them.

    Site-packages of any interpreter version -> the path in site-packages; scripts (`bin/`,
    rewritten by pip) and the dist-info folder (rewritten too) are left out; other files of
    the `data` scheme keep their wheel path (`<name>.data/data/...`), as the view keeps them.
    """
    view: dict[str, str] = {}
    for path, digest in _digests(prefix).items():
        if path.startswith("bin/"):
            continue
        match = _SITE_PACKAGES.match(path)
        if match is None:
            view[f"{_DATA}/data/{path}"] = digest
        elif not match.group(1).split("/", 1)[0].endswith(".dist-info"):
            view[match.group(1)] = digest
    return view


def watcher_wheel_view(view: Snapshot) -> dict[str, str]:
    """The view's files pip's layout is compared with (dist-info and scripts left out)."""
    return {
        path: digest
        for path, digest in _view_digests(view).items()
        if not path.startswith((f"{_DIST_INFO}/", f"{_DATA}/scripts/"))
    }


_PTH = "# an inert .pth line: a comment, never run by these tests\n"

WHEELS: dict[str, Callable[[], tuple[str, bytes]]] = {
    "plain": lambda: installable_wheel(
        {f"{WHEEL_NAME}/__init__.py": "", f"{WHEEL_NAME}/core.py": "X = 1\n", "evil.pth": _PTH}
    ),
    "purelib": lambda: installable_wheel(
        {f"{WHEEL_NAME}/__init__.py": "", f"{_DATA}/purelib/pure_mod.py": "P = 1\n"}
    ),
    "platlib": lambda: installable_wheel(
        {f"{WHEEL_NAME}/__init__.py": "", f"{_DATA}/platlib/plat/ext.py": "Q = 1\n"}
    ),
    "data_site_packages": lambda: installable_wheel(
        {
            f"{WHEEL_NAME}/__init__.py": "",
            f"{_DATA}/data/lib/python3.12/site-packages/evil.pth": _PTH,
        }
    ),
    "data_and_scripts": lambda: installable_wheel(
        {
            f"{WHEEL_NAME}/__init__.py": "",
            f"{_DATA}/data/share/{WHEEL_NAME}/doc.txt": "docs\n",
            f"{_DATA}/scripts/{WHEEL_NAME}-tool": "#!python\n# inert\n",
        }
    ),
    "purelib_over_a_module": lambda: installable_wheel(
        {
            f"{WHEEL_NAME}/__init__.py": "benign = True\n",
            f"{_DATA}/purelib/{WHEEL_NAME}/__init__.py": "# inert, collector.attacker.invalid\n",
        }
    ),
    # pip writes a member with symlink mode bits as a regular file holding the "target" text:
    # here a .pth, which every interpreter start would run.
    "symlink_member": lambda: installable_wheel(
        {f"{WHEEL_NAME}/__init__.py": "", "evil.pth": _PTH},
        modes={"evil.pth": stat.S_IFLNK | 0o777},
    ),
    "duplicate_entry": lambda: installable_wheel(
        {f"{WHEEL_NAME}/__init__.py": "benign = True\n"},
        duplicate={f"{WHEEL_NAME}/__init__.py": b"# inert, collector.attacker.invalid\n"},
    ),
}

#: Wheels where pip and watcher part ways (found by this test): pip is right (SPEC 4.1).
WHEEL_DISAGREEMENTS: dict[str, tuple[Callable[[], tuple[str, bytes]], str]] = {}


def _wheel_cases() -> list[object]:
    cases: list[object] = [pytest.param(build, id=name) for name, build in WHEELS.items()]
    for name, (build, reason) in WHEEL_DISAGREEMENTS.items():
        cases.append(
            pytest.param(
                build,
                id=f"disagrees-{name}",
                marks=pytest.mark.xfail(raises=AssertionError, strict=True, reason=reason),
            )
        )
    return cases


@needs_pip
@pytest.mark.parametrize("build", _wheel_cases())
def test_pip_installs_what_watcher_sees(
    build: Callable[[], tuple[str, bytes]], tmp_path: Path
) -> None:
    filename, data = build()
    view = read_archive(data, filename)
    assert view.gaps == ()
    prefix = pip_install(tmp_path, filename, data, "--prefix")
    assert pip_prefix_view(prefix) == watcher_wheel_view(view)


@needs_pip
def test_pip_target_folder(tmp_path: Path) -> None:
    # The brief's `--target` form: site-packages is the folder itself, and data and scripts
    # are moved next to it; the `data` scheme's `lib/` is dropped (see the module docstring).
    filename, data = WHEELS["data_and_scripts"]()
    target = pip_install(tmp_path, filename, data, "--target")
    installed = {
        path: digest
        for path, digest in _digests(target).items()
        if not path.startswith(("bin/", f"{_DIST_INFO}/"))
    }
    view = watcher_wheel_view(read_archive(data, filename))
    data_prefix = f"{_DATA}/data/"
    assert installed == {path.removeprefix(data_prefix): digest for path, digest in view.items()}


def test_the_wheel_builder_makes_what_pip_needs() -> None:
    filename, data = WHEELS["plain"]()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        record = archive.read(f"{_DIST_INFO}/RECORD").decode()
    assert filename == f"{WHEEL_NAME}-1.0-py3-none-any.whl"
    assert {f"{_DIST_INFO}/{n}" for n in ("METADATA", "WHEEL", "RECORD")} <= set(names)
    assert all(name in record for name in names)


def test_tarfile_sees_the_global_header_npm_ignores() -> None:
    # The fixture really has a global pax header first (type 'g').
    raw = A.zlib.decompress(A.npm_global_pax_header(), 16 + A.zlib.MAX_WBITS)
    assert raw[156:157] == tarfile.XGLTYPE
