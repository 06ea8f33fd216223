"""The installed view: every root kind and resolution trick, each with a negative."""

from __future__ import annotations

import pytest

from tests.installed.helpers import package_json, snapshot
from watcher.gaps import collecting
from watcher.installed import InstalledView, Reach, Runtime, build_view, view_of
from watcher.models import ArtifactKind

INS, IMP, SHP = Reach.INSTALL, Reach.IMPORT, Reach.SHIPPED


def npm(files: dict[str, str | bytes], **fields: object) -> InstalledView:
    return build_view(snapshot({"package.json": package_json(**fields), **files}))


def pypi(files: dict[str, str | bytes], kind: ArtifactKind = ArtifactKind.SDIST) -> InstalledView:
    return build_view(snapshot(files, kind))


# -- npm install time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "node install.js",
        "node ./install",
        "FOO=1 BAR=2 node install.js",
        "cross-env X=1 node --max-old-space-size=64 install.js --flag",
        "node-gyp-build || node install.js",
        "echo hi && node install.js; true",
        "node -e \"require('./install.js')\"",
        "sh -c 'node install.js'",
        "cd scripts/.. && node install.js",
        "npm run setup",
        "node -r ./install.js other.js",
    ],
)
def test_install_hook_commands_reach_their_file(command: str) -> None:
    view = npm(
        {"install.js": "1", "other.js": "1", "index.js": "1"},
        scripts={"postinstall": command, "setup": "node install.js"},
    )
    assert view.reach("install.js") is INS
    assert view.reach("index.js") is IMP


@pytest.mark.parametrize(
    "hook", ["prepare", "prepublish", "prepublishOnly", "preuninstall", "test"]
)
def test_hooks_a_registry_install_does_not_run(hook: str) -> None:
    view = npm({"x.js": "1", "index.js": "1"}, scripts={hook: "node x.js"})
    assert view.reach("x.js") is SHP


@pytest.mark.parametrize("hook", ["preinstall", "install", "postinstall"])
def test_each_install_hook_is_a_root(hook: str) -> None:
    view = npm({"x.js": "1", "index.js": "1"}, scripts={hook: "node x.js"})
    assert view.reach("x.js") is INS
    assert any(r.why == f"scripts.{hook}" and r.path == "x.js" for r in view.roots)


def test_shell_script_and_what_it_runs() -> None:
    view = npm(
        {
            "setup.sh": '#!/bin/sh\nset -e\nif [ -n "$CI" ]; then node tools/a.js; fi\n',
            "tools/a.js": "require('./b')",
            "tools/b.js": "1",
            "tools/c.js": "1",
            "index.js": "1",
        },
        scripts={"install": "bash setup.sh"},
    )
    assert view.runtime("setup.sh") is Runtime.SHELL
    assert (view.reach("tools/a.js"), view.reach("tools/b.js")) == (INS, INS)
    assert view.reach("tools/c.js") is SHP


def test_direct_exec_uses_the_shebang() -> None:
    view = npm(
        {"hook": "#!/usr/bin/env node\nrequire('./lib')\n", "lib/index.js": "1", "index.js": "1"},
        scripts={"postinstall": "./hook"},
    )
    assert view.reach("hook") is INS and view.runtime("hook") is Runtime.JS_CJS
    assert view.reach("lib/index.js") is INS


def test_python_run_from_a_hook() -> None:
    view = npm(
        {"tools/gen.py": "from helper import x\n", "tools/helper.py": "", "index.js": "1"},
        scripts={"postinstall": "cd tools && python3 gen.py"},
    )
    assert view.reach("tools/gen.py") is INS


def test_binding_gyp_runs_implicitly_only_without_install_scripts() -> None:
    gyp = """# comment
{
  'variables': {'v': '<!(node scripts/probe.js)'},
  'targets': [{
    'target_name': 'addon',
    'sources': ['src/addon.cc', '<!@(python tools/list.py)'],
    'actions': [{'action_name': 'gen', 'inputs': [], 'outputs': [],
                 'action': ['<(python)', 'tools/gen.py', '--out', 'x']}],
  }],
}
"""
    files = {
        "binding.gyp": gyp,
        "scripts/probe.js": "1",
        "tools/list.py": "",
        "tools/gen.py": "",
        "src/addon.cc": "int x;",
        "index.js": "1",
    }
    view = npm(files)
    for path in ("binding.gyp", "scripts/probe.js", "tools/list.py", "tools/gen.py"):
        assert view.reach(path) is INS, path
    assert view.runtime("tools/gen.py") is Runtime.PYTHON
    # An install script replaces the implicit `node-gyp rebuild`…
    quiet = npm(files, scripts={"install": "node index.js"})
    assert quiet.reach("tools/gen.py") is SHP
    # …unless it runs node-gyp itself.
    loud = npm(files, scripts={"install": "prebuild-install || node-gyp rebuild"})
    assert loud.reach("tools/gen.py") is INS


def test_a_gyp_file_that_is_not_a_literal_is_read_as_text_and_recorded() -> None:
    files = {"binding.gyp": "{'actions': [{'action': ['sh', 'x.sh']}]} + junk(", "x.sh": "echo"}
    with collecting() as found:
        view = view_of(snapshot({"package.json": package_json(), **files}))
    assert view.reach("x.sh") is INS
    assert any(g.path == "binding.gyp" for g in found)


def test_bundled_dependency_hooks_run_on_install() -> None:
    view = npm(
        {
            "node_modules/dep/package.json": '{"name":"dep","scripts":{"postinstall":"node s.js"}}',
            "node_modules/dep/s.js": "1",
            "index.js": "1",
        }
    )
    assert view.reach("node_modules/dep/s.js") is INS


# -- npm load time ----------------------------------------------------------------------------


def test_main_defaults_to_index_js() -> None:
    view = npm({"index.js": "require('./lib/a')", "lib/a.js": "1", "lib/b.js": "1"})
    assert (view.reach("index.js"), view.reach("lib/a.js"), view.reach("lib/b.js")) == (
        IMP,
        IMP,
        SHP,
    )


def test_main_with_any_extension_runs_as_commonjs() -> None:
    view = npm(
        {"lib/server.txt": "require('./x')", "lib/x.js": "1", "index.js": "1"},
        main="lib/server.txt",
    )
    assert view.reach("lib/server.txt") is IMP and view.dialect("lib/server.txt") == "javascript"
    assert view.reach("index.js") is SHP


def test_exports_every_condition_and_patterns() -> None:
    view = npm(
        {
            "esm/i.mjs": "1",
            "cjs/i.cjs": "1",
            "feat/a.js": "1",
            "feat/deep/b.js": "1",
            "feat/c.json": "{}",
            "other.js": "1",
        },
        exports={
            ".": {"node": {"import": "./esm/i.mjs", "require": "./cjs/i.cjs"}, "default": None},
            "./feat/*": "./feat/*.js",
        },
    )
    for path in ("esm/i.mjs", "cjs/i.cjs", "feat/a.js", "feat/deep/b.js"):
        assert view.reach(path) is IMP, path
    assert view.reach("other.js") is SHP and view.reach("feat/c.json") is SHP


def test_module_and_bin_with_a_shell_shebang() -> None:
    view = npm(
        {
            "m.mjs": "1",
            "bin/run": '#!/bin/bash\nnode "$(dirname $0)/../lib/cli.js"\n',
            "lib/cli.js": "1",
        },
        module="m.mjs",
        bin={"run": "./bin/run"},
    )
    assert view.reach("m.mjs") is IMP
    assert view.runtime("bin/run") is Runtime.SHELL and view.dialect("bin/run") is None
    assert any(r.why == "bin.run" for r in view.roots)


def test_require_resolution_tricks() -> None:
    view = npm(
        {
            "index.js": (
                "require('./lib/util.d.ts'); require('./lib/data.dat'); require('./noext');\n"
                "require('./dir'); require('#internal'); require('x/sub'); import('./esm.mjs');\n"
                "require('./conf.json'); require('./build/addon.node'); require('dep');\n"
            ),
            "lib/util.d.ts": "1",
            "lib/data.dat": "1",
            "noext": "1",
            "dir/package.json": '{"main": "start.js"}',
            "dir/start.js": "1",
            "dir/index.js": "1",
            "src/internal.js": "1",
            "sub.js": "1",
            "esm.mjs": "1",
            "conf.json": "{}",
            "build/addon.node": b"\x7fELF\x00\x00",
            "node_modules/dep/package.json": '{"name":"dep","exports":{"require":"./c.js"}}',
            "node_modules/dep/c.js": "1",
            "node_modules/dep/other.js": "1",
            "unused.js": "1",
        },
        imports={"#internal": "./src/internal.js"},
        name="x",
    )
    for path in ("lib/util.d.ts", "lib/data.dat", "noext", "dir/start.js", "src/internal.js"):
        assert view.reach(path) is IMP and view.dialect(path) is not None, path
    assert view.dialect("lib/util.d.ts") == "typescript"
    for path in ("sub.js", "esm.mjs", "node_modules/dep/c.js"):
        assert view.reach(path) is IMP, path
    assert view.runtime("conf.json") is Runtime.DATA and view.dialect("conf.json") is None
    assert view.runtime("build/addon.node") is Runtime.NATIVE
    for path in ("dir/index.js", "node_modules/dep/other.js", "unused.js"):
        assert view.reach(path) is SHP, path


@pytest.mark.parametrize(
    "loader",
    [
        "require(name)",
        "import(`./plugins/${p}.js`)",
        "require('./plug' + 'ins/a')",
        "const r = require; r(x)",
        "module.constructor._load(x)",
    ],
)
def test_dynamic_loading_makes_every_code_file_reachable(loader: str) -> None:
    view = npm({"index.js": loader, "plugins/a.js": "1", "tests/t.js": "1", "README.md": "x"})
    assert view.reach("plugins/a.js") is IMP and view.reach("tests/t.js") is IMP
    assert view.reach("README.md") is SHP


def test_static_loading_leaves_the_rest_shipped() -> None:
    view = npm(
        {"index.js": "require('./a'); import('./b.js')", "a.js": "1", "b.js": "1", "c.js": "1"}
    )
    assert (view.reach("a.js"), view.reach("b.js"), view.reach("c.js")) == (IMP, IMP, SHP)


def test_eval_of_a_file_read_at_run_time_makes_the_named_file_code() -> None:
    view = npm(
        {
            "index.js": "eval(require('fs').readFileSync(__dirname + '/data/blob.dat', 'utf8'))",
            "data/blob.dat": "payload()",
            "data/other.dat": "x",
        }
    )
    assert view.reach("data/blob.dat") is IMP and view.dialect("data/blob.dat") == "javascript"
    assert view.reach("data/other.dat") is SHP


def test_no_readable_package_json_or_no_entry_point_counts_everything() -> None:
    bare = build_view(snapshot({"lib/a.js": "1", "tests/t.js": "1"}))
    assert bare.reach("lib/a.js") is IMP and bare.reach("tests/t.js") is IMP
    no_entry = npm({"lib/a.js": "1"})
    assert no_entry.reach("lib/a.js") is IMP


def test_opaque_files_named_by_reachable_code() -> None:
    view = npm(
        {
            "index.js": "require('child_process').spawn(path.join(__dirname, 'helper-bin'))",
            "helper-bin": b"\x7fELF\x02\x01\x00",
            "unused-bin": b"\x7fELF\x02\x01\x00",
        }
    )
    assert view.reach("helper-bin") is IMP and view.runtime("helper-bin") is Runtime.NATIVE
    assert view.reach("unused-bin") is SHP


# -- Python -----------------------------------------------------------------------------------


def test_setup_py_and_what_it_imports_run_on_install() -> None:
    view = pypi(
        {
            "setup.py": "from setuptools import setup\nfrom _build import helpers\nsetup()\n",
            "_build/__init__.py": "",
            "_build/helpers.py": "",
            "src/pkg/__init__.py": "",
            "tests/test_x.py": "",
        }
    )
    assert view.reach("setup.py") is INS
    assert view.reach("_build/__init__.py") is INS and view.reach("_build/helpers.py") is INS
    assert view.reach("src/pkg/__init__.py") is IMP
    # src layout: the top-level tests/ is not packaged.
    assert view.reach("tests/test_x.py") is SHP


def test_in_tree_build_backend() -> None:
    view = pypi(
        {
            "pyproject.toml": (
                "[build-system]\nrequires = []\nbuild-backend = 'backend'\n"
                "backend-path = ['_custom']\n"
            ),
            "_custom/backend.py": "from . import impl\nimport other\n",
            "_custom/impl.py": "",
            "other.py": "",
        }
    )
    assert view.reach("_custom/backend.py") is INS
    assert any(r.why == "build-system.backend-path" for r in view.roots)


def test_flat_sdist_without_a_build_layout_counts_everything() -> None:
    view = pypi({"pkg/__init__.py": "", "tests/test_pkg.py": ""})
    assert view.reach("tests/test_pkg.py") is IMP


def test_setuptools_flat_discovery_leaves_tests_and_docs_out() -> None:
    # No package list anywhere: setuptools discovers the flat layout's packages and modules
    # and skips its exclude list (tests, docs, examples, setup, conftest...).
    files = {
        "setup.py": "from setuptools import setup\nsetup(name='pkg')\n",
        "pkg/__init__.py": "",
        "nsless/mod.py": "",
        "helper.py": "",
        "conftest.py": "",
        "tests/test_pkg.py": "",
        "docs/conf.py": "",
    }
    view = pypi(files)
    assert view.reach("pkg/__init__.py") is IMP and view.reach("helper.py") is IMP
    assert view.reach("nsless/mod.py") is IMP  # a PEP 420 package counts too
    for shipped in ("tests/test_pkg.py", "docs/conf.py", "conftest.py"):
        assert view.reach(shipped) is SHP, shipped
    declared = {
        **files,
        "pyproject.toml": "[build-system]\nbuild-backend = 'setuptools.build_meta'\n",
    }
    assert pypi(declared).reach("tests/test_pkg.py") is SHP


@pytest.mark.parametrize(
    "extra",
    [
        {
            "setup.py": "from setuptools import setup, find_packages\n"
            "setup(packages=find_packages())\n"
        },
        {
            "setup.py": "from setuptools import setup\nsetup()\n",
            "setup.cfg": "[options]\npackages = find:\n",
        },
        {"pyproject.toml": "[build-system]\nbuild-backend = 'flit_core.buildapi'\n"},
    ],
)
def test_a_package_list_or_another_backend_leaves_discovery_unknown(extra: dict[str, str]) -> None:
    view = pypi({"pkg/__init__.py": "", "tests/test_pkg.py": "", **extra})
    assert view.reach("tests/test_pkg.py") is IMP


def test_top_level_txt_says_what_installs() -> None:
    view = pypi(
        {
            "pkg.egg-info/top_level.txt": "pkg\n",
            "pkg/__init__.py": "from .core import x\n",
            "pkg/core.py": "",
            "tests/test_pkg.py": "import pkg\n",
            "docs/conf.py": "",
        }
    )
    assert view.reach("pkg/core.py") is IMP
    assert view.reach("tests/test_pkg.py") is SHP and view.reach("docs/conf.py") is SHP


def test_wheel_roots() -> None:
    view = pypi(
        {
            "pkg/__init__.py": "",
            "pkg/plugin.py": "",
            "sitecustomize.py": "",
            "boot.pth": "import pkg\n",
            "pkg/inner.pth": "import os\n",
            "pkg-1.0.data/purelib/extra.pth": "import pkg\n",
            "pkg-1.0.data/scripts/tool": "#!python\nimport pkg\n",
            "pkg-1.0.dist-info/METADATA": "Name: pkg\n",
            "pkg-1.0.dist-info/entry_points.txt": "[pytest11]\nplug = pkg.plugin\n",
        },
        ArtifactKind.WHEEL,
    )
    whys = {(r.path, r.why) for r in view.roots}
    assert ("boot.pth", ".pth") in whys
    assert ("pkg-1.0.data/purelib/extra.pth", ".pth") in whys
    assert ("sitecustomize.py", "sitecustomize") in whys
    assert ("pkg/plugin.py", "entry point pytest11:plug (loads itself)") in whys
    assert ("pkg/inner.pth", ".pth") not in whys
    assert view.reach("pkg-1.0.data/scripts/tool") is IMP
    assert view.reach("pkg-1.0.dist-info/METADATA") is SHP


def test_sourceless_pyc_and_dynamic_imports_in_python() -> None:
    pyc = (3495).to_bytes(2, "little") + b"\r\n" + bytes(16)
    view = pypi(
        {
            "pkg.egg-info/top_level.txt": "pkg\n",
            "setup.py": "import importlib\nimportlib.import_module(name)\n",
            "pkg/__init__.py": "",
            "pkg/_c.pyc": pyc,
            "pkg/__pycache__/x.cpython-311.pyc": pyc,
            "tests/test_a.py": "",
        }
    )
    assert view.runtime("pkg/_c.pyc") is Runtime.PYC and view.reach("pkg/_c.pyc") is INS
    assert view.runtime("pkg/__pycache__/x.cpython-311.pyc") is Runtime.DATA
    # setup.py loads a computed module name: everything it could load runs on install.
    assert view.reach("tests/test_a.py") is INS


#: An sdist whose build installs only `pkg/` (top_level.txt) and ships tests and CI scripts.
_SDIST_WITH_A_LOADER = {
    "pkg.egg-info/top_level.txt": "pkg\n",
    "pkg/__init__.py": "from . import cli\n",
    "pkg/cli.py": "import importlib\ndef run(name):\n    return importlib.import_module(name)\n",
    "pkg/plugins.py": "",
    "tests/test_cli.py": "import subprocess\n",
    ".github/scripts/preview.js": "require('child_process')\n",
}


def test_a_runtime_loader_in_an_installed_sdist_reaches_only_what_pip_installs() -> None:
    # `import_module(name)` at import time finds modules on sys.path: the installed package,
    # never the sdist's tests or CI scripts, which pip does not copy.
    view = pypi(_SDIST_WITH_A_LOADER)
    assert view.reach("pkg/plugins.py") is IMP
    assert view.reach("tests/test_cli.py") is SHP
    assert view.reach(".github/scripts/preview.js") is SHP


def test_a_loader_in_setup_py_still_reaches_every_file_of_the_sdist() -> None:
    # The build runs in the unpacked sdist, where every file exists.
    files = {**_SDIST_WITH_A_LOADER, "setup.py": "import importlib\nimportlib.import_module(n)\n"}
    view = pypi(files)
    assert view.reach("tests/test_cli.py") is INS
    assert view.reach(".github/scripts/preview.js") is INS


def test_a_runtime_loader_in_an_sdist_of_unknown_layout_reaches_everything() -> None:
    files = {k: v for k, v in _SDIST_WITH_A_LOADER.items() if "egg-info" not in k}
    files["setup.py"] = "from setuptools import setup, find_packages\nsetup()\n"
    assert pypi(files).reach("tests/test_cli.py") is IMP


def test_view_is_computed_once_per_snapshot() -> None:
    snap = snapshot({"package.json": package_json(), "index.js": "1"})
    assert view_of(snap) is view_of(snap)


@pytest.mark.parametrize(
    ("text", "specifiers", "dynamic"),
    [
        ("require('./a')", ("./a",), False),
        ("import x from './b.js'; export * from './c.js'", ("./b.js", "./c.js"), False),
        ("import './side.js'; import('./lazy.js')", ("./lazy.js", "./side.js"), False),
        ("if (typeof require === 'function') require('./a')", ("./a",), False),
        (
            "import { createRequire } from 'node:module';\n"
            "const require = createRequire(import.meta.url);\nrequire('./a');",
            ("./a", "node:module"),
            False,
        ),
        ("const load = createRequire(import.meta.url); load(x)", (), True),
        ("require('./a' + ext)", (), True),
        ("import(`./${name}.js`)", (), True),
        ("const r = require;", (), True),
        ("// a require(x) in a comment still counts", (), True),
    ],
)
def test_js_loads_read_from_text(text: str, specifiers: tuple[str, ...], dynamic: bool) -> None:
    from watcher.installed.reach import js_loads

    loads = js_loads(text)
    assert sorted(loads.specifiers) == sorted(specifiers)
    assert loads.dynamic is dynamic


def test_hostile_shapes_stay_linear() -> None:
    import time

    started = time.monotonic()
    gyp = "{'x': '" + "<!(" * 20_000 + "'}" + " 'action': [" * 20_000
    many_stars = {f"./{'a*' * 50}": "./" + "*a" * 50}
    view = npm(
        {
            "binding.gyp": gyp,
            "index.js": "require('" + "./" * 10_000 + "x')\n" + "import(" * 20_000,
            "s.sh": "$(" * 20_000 + "`" * 20_001,
            **{f"a{i}.js": "1" for i in range(200)},
        },
        exports=many_stars,
        scripts={"postinstall": "sh s.sh"},
    )
    assert view.reach("index.js") is IMP
    assert time.monotonic() - started < 10


def test_main_that_holds_binary_bytes_is_a_gap() -> None:
    files = {"package.json": package_json(main="lib/x.bin"), "lib/x.bin": b"\x00\x01payload"}
    with collecting() as found:
        view = view_of(snapshot(files))
    assert view.reach("lib/x.bin") is IMP
    assert [g.path for g in found] == ["lib/x.bin"]


HATCH = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
bypass-selection = true
only-include = {only}
"""


def test_hatch_only_include_is_what_an_sdist_installs() -> None:
    # fastmcp 4.2.3: the sdist ships the whole repository; the wheel it builds holds nothing.
    files = {
        "pkg/__init__.py": "",
        "tests/test_pkg.py": "",
        ".github/agentic/flow.py": "",
        "tool.py": "",
    }
    empty = pypi({**files, "pyproject.toml": HATCH.format(only="[]")})
    assert all(empty.reach(path) is SHP for path in files)
    listed = pypi({**files, "pyproject.toml": HATCH.format(only='["pkg", "tool.py"]')})
    assert listed.reach("pkg/__init__.py") is IMP and listed.reach("tool.py") is IMP
    assert listed.reach("tests/test_pkg.py") is SHP
    assert listed.reach(".github/agentic/flow.py") is SHP


HATCH_DEFAULT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "1.0"
"""


def test_hatch_default_ships_the_package_named_after_the_project() -> None:
    """With nothing choosing files, hatchling ships `my_app/` (or `src/my_app/`, `my_app.py`)
    for project `my-app`, and no `tests/`; when nothing is named so, it refuses to build and
    the model cannot tell what installs: everything counts."""
    files = {"my_app/__init__.py": "", "tests/test_live.py": "import subprocess\n"}
    view = pypi({**files, "pyproject.toml": HATCH_DEFAULT.format(name="My-App")})
    assert view.reach("my_app/__init__.py") is IMP
    assert view.reach("tests/test_live.py") is SHP
    src = {"src/my_app/__init__.py": "", "tests/test_live.py": ""}
    view = pypi({**src, "pyproject.toml": HATCH_DEFAULT.format(name="my.app")})
    assert view.reach("src/my_app/__init__.py") is IMP and view.reach("tests/test_live.py") is SHP
    unnamed = pypi({**files, "pyproject.toml": HATCH_DEFAULT.format(name="other")})
    assert unnamed.reach("tests/test_live.py") is IMP


def test_hatch_settings_count_only_when_hatchling_builds() -> None:
    # Another backend ignores [tool.hatch]: the model cannot tell, so everything counts.
    other = HATCH.format(only="[]").replace("hatchling.build", "flit_core.buildapi")
    view = pypi({"pkg/__init__.py": "", "tests/test_pkg.py": "", "pyproject.toml": other})
    assert view.reach("tests/test_pkg.py") is IMP


def test_hatch_force_include_installs_too() -> None:
    text = (
        HATCH.format(only="[]")
        + '\n[tool.hatch.build.targets.wheel.force-include]\n"extra/x.py" = "x.py"\n'
    )
    view = pypi({"extra/x.py": "", "tests/t.py": "", "pyproject.toml": text})
    assert view.reach("extra/x.py") is IMP and view.reach("tests/t.py") is SHP


def test_json_a_pattern_or_a_loader_names_is_data_and_code_under_that_name_is_code() -> None:
    files: dict[str, str | bytes] = {
        "package.json": package_json(exports={"./*": "./dist/*"}),
        "dist/a.js": "import(process.argv[2]);\n//# sourceMappingURL=a.js.map\n",
        "dist/a.js.map": '{"version":3,"mappings":"AAAA"}',
        "dist/b.js.map": "require('child_process').exec('id');\n",
    }
    view = build_view(snapshot(files))
    assert view.reach("dist/a.js.map") is IMP and view.runtime("dist/a.js.map") is Runtime.DATA
    assert view.runtime("dist/b.js.map") is Runtime.JS_CJS
