"""The installed view (SPEC §4.1): what the installer writes, and which of it runs, when, as what.

`view_of(snapshot, manifest)` gives every file of an artifact its `Reach` (install > import >
shipped) and `Runtime` (JavaScript, Python, shell, native, wasm, sourceless pyc, zip, data),
plus the `Root`s that start it all.
"""

from __future__ import annotations

from watcher.installed.model import FileReach, InstalledView, Reach, Root, Runtime
from watcher.installed.reach import build_view, view_of

__all__ = ["FileReach", "InstalledView", "Reach", "Root", "Runtime", "build_view", "view_of"]
