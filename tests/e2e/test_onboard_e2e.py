"""From a Claude Desktop config to a watch list, against real registries (issue 12).

The servers of the config are published on the local Verdaccio and pypiserver. `subscriptions
import` resolves the unpinned npm launch to the registry's latest and marks it unreviewed;
`check` scans that pin and fails until `approve`; then a malicious next release alerts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.cli import RunWatcher
from tests.support import packages
from tests.support.registries import PypiServer, Verdaccio

pytestmark = pytest.mark.e2e

NAME = "@watcher-e2e/onboard-strutil"
FAKE_PAT = "ghp_" + "FAKE" * 9


def release(base: packages.NpmRelease, version: str) -> packages.NpmRelease:
    return packages.NpmRelease(
        {**base.manifest, "name": NAME, "version": version}, base.files, base.registry_fields
    )


def test_import_a_claude_desktop_config_then_check_alerts_on_a_malicious_release(
    npm_registry: Verdaccio, pypi_registry: PypiServer, tmp_path: Path, run_watcher: RunWatcher
) -> None:
    clean = release(packages.strutil_2_1_3(), "1.0.0")
    npm_registry.publish(clean.manifest, clean.tarball(), extra=clean.registry_fields)
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "strutil": {
                        "command": "npx",
                        "args": ["-y", NAME],
                        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": FAKE_PAT},
                    },
                    "pkg": {
                        "command": "uvx",
                        "args": [
                            "--index-url",
                            pypi_registry.simple_url,
                            f"{packages.PYPI_NAME}==1.0.0",
                        ],
                    },
                    "remote": {"url": "https://mcp.invalid/sse"},
                }
            }
        )
    )

    audited = run_watcher("audit", str(config), "--format", "json")
    assert audited.returncode == 1, audited.describe()
    rules = {(f["rule"], f["key"]) for f in audited.json()["findings"]}
    assert ("launch.unpinned", "mcpServers.strutil") in rules
    assert ("secret.env", "mcpServers.strutil") in rules
    assert FAKE_PAT not in audited.stdout + audited.stderr

    subs = tmp_path / "subscriptions"
    subs.mkdir()
    mine = subs / "mine.toml"
    imported = run_watcher(
        "subscriptions",
        "import",
        str(config),
        "--npm-registry",
        f"{npm_registry.url}/",
        "--output",
        str(mine),
    )
    assert imported.returncode == 0, imported.describe()
    assert FAKE_PAT not in imported.stdout + imported.stderr + mine.read_text()
    text = mine.read_text()
    assert (
        f'name = "{NAME}"\npinned = "1.0.0"\nreviewed = false\nregistry = "{npm_registry.url}/"\n'
    ) in text
    assert (
        f'name = "{packages.PYPI_NAME}"\npinned = "1.0.0"\n'
        f'registry = "{pypi_registry.simple_url}"\n'
    ) in text
    assert "mcpServers.remote: remote server at https://mcp.invalid" in text

    checked = run_watcher("check", "--subscriptions", str(subs))
    assert checked.returncode == 1, checked.describe()
    assert f"npm/{NAME} 1.0.0: not reviewed (first-release scan: " in checked.stdout
    assert f"watcher approve {NAME} 1.0.0" in checked.stdout
    # The pinned PyPI server is diffed as usual: its next release adds a startup `.pth`.
    assert f"pypi/{packages.PYPI_NAME} 1.0.0 -> 1.0.1: critical" in checked.stdout

    approved = run_watcher("approve", NAME, "1.0.0", "--subscriptions", str(subs))
    assert approved.returncode == 0, approved.describe()
    checked = run_watcher("check", "--subscriptions", str(subs))
    assert "not reviewed" not in checked.stdout, checked.describe()

    bad = release(packages.strutil_2_1_4(), "1.0.1")
    npm_registry.publish(bad.manifest, bad.tarball(), extra=bad.registry_fields)
    checked = run_watcher("check", "--subscriptions", str(subs))
    assert checked.returncode == 1, checked.describe()
    assert f"npm/{NAME} 1.0.0 -> 1.0.1: critical" in checked.stdout
