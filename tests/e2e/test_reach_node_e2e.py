"""The installed view against real node: every file node runs, the model marks as running.

A synthetic package where every file is harmless and appends its own name to a marker file is
loaded with `node -e "require('<dir>')"`, its `bin` is run, and its postinstall command is run
the way npm runs it (`sh -c` in the package directory). What node ran must be a subset of what
the model marks IMPORT or INSTALL (and install-hook files INSTALL). Nothing here touches the
network; the package's only effect is the marker file in a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from watcher.installed import Reach, build_view
from watcher.models import ArtifactKind, FileEntry, Snapshot

pytestmark = pytest.mark.e2e

NODE = shutil.which("node")

CJS_MARK = "require('fs').appendFileSync(process.env.REACH_MARKER, __filename + '\\n');\n"
ESM_MARK = (
    "import { appendFileSync } from 'node:fs';\n"
    "import { fileURLToPath } from 'node:url';\n"
    "appendFileSync(process.env.REACH_MARKER, fileURLToPath(import.meta.url) + '\\n');\n"
)

FILES: dict[str, str] = {
    "package.json": json.dumps(
        {
            "name": "reach-e2e",
            "version": "1.0.0",
            "main": "lib/server.txt",
            "bin": {"reach-e2e": "bin/cli"},
            "imports": {"#util": "./lib/util.js"},
            "scripts": {
                "postinstall": "REACH=1 node scripts/install.js && sh scripts/after.sh",
                "prepare": "node scripts/prepare.js",
            },
        }
    ),
    "lib/server.txt": CJS_MARK
    + "require('./types.d.ts');\nrequire('./data.dat');\nrequire('./noext');\n"
    + "require('./dir');\nrequire('#util');\nrequire('./conf.json');\n"
    + "import('../esm/mod.mjs');\n",
    "lib/types.d.ts": CJS_MARK,
    "lib/data.dat": CJS_MARK,
    "lib/noext": CJS_MARK,
    "lib/dir/package.json": json.dumps({"main": "start.js"}),
    "lib/dir/start.js": CJS_MARK,
    "lib/dir/index.js": CJS_MARK,
    "lib/util.js": CJS_MARK,
    "lib/conf.json": "{}",
    "esm/mod.mjs": ESM_MARK,
    "bin/cli": "#!/usr/bin/env node\n" + CJS_MARK + "require('../lib/cli-helper.js');\n",
    "lib/cli-helper.js": CJS_MARK,
    "scripts/install.js": CJS_MARK + "require('./install-helper');\n",
    "scripts/install-helper.js": CJS_MARK,
    "scripts/after.sh": "#!/bin/sh\nnode scripts/after.js\n",
    "scripts/after.js": CJS_MARK,
    "scripts/prepare.js": CJS_MARK,
    "index.js": CJS_MARK,
    "tests/unused.js": CJS_MARK,
}


def _ran(marker: Path, root: Path) -> set[str]:
    if not marker.exists():
        return set()
    return {
        Path(line).resolve().relative_to(root.resolve()).as_posix()
        for line in marker.read_text().splitlines()
        if line
    }


@pytest.mark.skipif(NODE is None, reason="needs node on PATH")
def test_files_node_runs_are_files_the_model_marks_running(tmp_path: Path) -> None:
    assert NODE is not None
    root = tmp_path / "pkg"
    for path, text in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (root / "bin/cli").chmod(0o755)
    snapshot = Snapshot(
        "reach-e2e-1.0.0.tgz",
        ArtifactKind.NPM_TARBALL,
        {p: FileEntry.of(p, t.encode()) for p, t in FILES.items()},
    )
    view = build_view(snapshot)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}

    load_marker = tmp_path / "load.txt"
    run_env = {**env, "REACH_MARKER": str(load_marker)}
    for command in (
        [NODE, "-e", f"require({json.dumps(str(root))})"],
        [str(root / "bin/cli")],
    ):
        subprocess.run(command, env=run_env, cwd=tmp_path, check=True, timeout=60)
    loaded = _ran(load_marker, root)

    install_marker = tmp_path / "install.txt"
    hook = json.loads(FILES["package.json"])["scripts"]["postinstall"]
    subprocess.run(
        ["sh", "-c", hook],
        env={**env, "REACH_MARKER": str(install_marker)},
        cwd=root,
        check=True,
        timeout=60,
    )
    installed = _ran(install_marker, root)

    # The test is only as good as what node really ran: the tricky loads all happened.
    assert {"lib/server.txt", "lib/types.d.ts", "lib/data.dat", "lib/noext"} <= loaded
    assert {"lib/dir/start.js", "lib/util.js", "esm/mod.mjs", "bin/cli"} <= loaded
    assert {"scripts/install.js", "scripts/install-helper.js", "scripts/after.js"} <= installed

    running = {p for p, f in view.files.items() if f.reach >= Reach.IMPORT}
    assert loaded <= running, loaded - running
    at_install = {p for p, f in view.files.items() if f.reach is Reach.INSTALL}
    assert installed <= at_install, installed - at_install
    # And the model is not vacuous: what node never ran is shipped.
    for never in ("tests/unused.js", "scripts/prepare.js", "lib/dir/index.js", "index.js"):
        assert view.reach(never) is Reach.SHIPPED, never
