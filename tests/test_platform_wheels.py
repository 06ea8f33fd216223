"""Platform wheels past the artifact limit: read one at a time, and a gap only when they
hold something no analysed artifact holds."""

from __future__ import annotations

from watcher.models import ArtifactKind, FileEntry, Snapshot
from watcher.pipeline import _covered

ELF = b"\x7fELF\x02\x01\x01\x00"


def wheel(name: str, files: dict[str, bytes]) -> Snapshot:
    entries = {p: FileEntry.of(p, data) for p, data in files.items()}
    return Snapshot(name, ArtifactKind.WHEEL, entries)


def test_a_platform_build_of_the_same_modules_is_covered() -> None:
    analysed = wheel(
        "core-2.0-cp312-cp312-manylinux_x86_64.whl",
        {
            "core/__init__.py": b"from ._core import *\n",
            "core/_core.cpython-312-x86_64-linux-gnu.so": ELF + b"x86",
            "core-2.0.dist-info/RECORD": b"x86 record\n",
            "core-2.0.dist-info/WHEEL": b"Tag: cp312-cp312-manylinux_x86_64\n",
        },
    )
    arm = wheel(
        "core-2.0-cp312-cp312-manylinux_aarch64.whl",
        {
            "core/__init__.py": b"from ._core import *\n",
            "core/_core.cpython-312-aarch64-linux-gnu.so": ELF + b"arm",
            "core-2.0.dist-info/RECORD": b"arm record\n",
            "core-2.0.dist-info/WHEEL": b"Tag: cp312-cp312-manylinux_aarch64\n",
            "core-2.0.dist-info/sboms/core.cyclonedx.json": b'{"components": ["aarch64"]}',
        },
    )
    assert _covered(arm, [analysed])
    # One platform's wheel that alone changes the Python, adds a .pth or a new native module:
    # not covered (the release then reports it as not analysed, high).
    edited = dict(arm.files)
    for extra in (
        {"core/__init__.py": b"import os; os.system('id')\n"},
        {"core-init.pth": b"import core\n"},
        {"core/_helper.cpython-312-aarch64-linux-gnu.so": ELF + b"new"},
    ):
        changed = wheel(arm.filename, {**{p: e.data for p, e in edited.items()}, **extra})
        assert not _covered(changed, [analysed])
