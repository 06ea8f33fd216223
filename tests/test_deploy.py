"""deploy/: the security properties each deployment file promises, checked without an engine.

`deploy/validate` runs the real linters (hadolint, kubernetes-validate, docker compose config,
systemd-analyze verify, shellcheck); these tests hold the properties that a schema cannot see
(non-root, read-only root, dropped capabilities, egress only to DNS and 443, hash-pinned
installs) so that an edit that weakens one fails here on any machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from watcher.subscriptions import load_subscriptions

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SHA = re.compile(r"@[0-9a-f]{40}$")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _stages(text: str) -> list[list[str]]:
    """Dockerfile instructions (continuations joined), split into stages."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_dockerfile_is_multi_stage_pinned_hash_locked_and_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = _stages(text)
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0].split()[1]
        assert ":" in image and not image.endswith(":latest"), image
    builder, runtime = "\n".join(stages[0]), stages[-1]
    assert "--require-hashes -r /tmp/uv-requirements.txt" in builder
    assert "uv sync --locked --no-dev --no-editable" in builder
    users = [i.split()[1] for i in runtime if i.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    runtime_text = "\n".join(runtime)
    assert not re.search(r"\b(gcc|g\+\+|build-essential|clang|make)\b", runtime_text)
    assert "uv-requirements" not in runtime_text  # no installer in the runtime image
    assert 'ENTRYPOINT ["/app/.venv/bin/watcher", "run"]' in runtime
    assert 'VOLUME ["/var/lib/watcher"]' in runtime
    assert "WATCHER_DATA_DIR=/var/lib/watcher" in runtime_text
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # deny by default: no .env or .git in the context


def test_compose_hardening_and_secrets_from_an_uncommitted_file() -> None:
    doc = _yaml(DEPLOY / "docker-compose.yml")
    watcher, postgres = doc["services"]["watcher"], doc["services"]["postgres"]
    assert watcher["read_only"] is True
    assert any(t.startswith("/tmp") for t in watcher["tmpfs"])
    assert watcher["cap_drop"] == ["ALL"] and "cap_add" not in watcher
    assert "no-new-privileges:true" in watcher["security_opt"]
    assert watcher["user"] == "10001:10001"
    assert "../subscriptions:/etc/watcher/subscriptions:ro" in watcher["volumes"]
    assert watcher["env_file"] == ["./watcher.env"]
    assert watcher["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ports" not in postgres
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert {"watcher.env", "pg_password"} <= set(ignored)
    # No secret value in the committed file itself.
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert not re.search(r"(SLACK_BOT_TOKEN|PASSWORD|TOKEN)\s*[:=]\s*\S", text)


def _unit() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "watcher.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DynamicUser", "yes"),
        ("StateDirectory", "watcher"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
        ("MemoryDenyWriteExecute", "yes"),
        ("EnvironmentFile", "/etc/watcher/watcher.env"),
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ],
)
def test_systemd_unit_hardening(key: str, value: str) -> None:
    assert value in _unit().get(key, []), f"{key}={value} missing"


def test_systemd_unit_stops_gracefully_and_runs_the_daemon() -> None:
    unit = _unit()
    assert int(unit["TimeoutStopSec"][0]) >= 60
    assert unit["ExecStart"][0].split()[1:3] == ["run", "--subscriptions"]
    assert unit["Environment"].count("WATCHER_DATA_DIR=%S/watcher") == 1


def _k8s() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                docs[doc["kind"]] = doc
    return docs


def test_k8s_deployment_security_context() -> None:
    spec = _k8s()["Deployment"]["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = spec["containers"]
    ctx = container["securityContext"]
    assert ctx["allowPrivilegeEscalation"] is False
    assert ctx["readOnlyRootFilesystem"] is True
    assert ctx["capabilities"]["drop"] == ["ALL"] and "add" not in ctx["capabilities"]
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]
    assert container["envFrom"] == [{"secretRef": {"name": "watcher-secrets"}}]
    assert not any(e["name"] == "SLACK_BOT_TOKEN" for e in container["env"])
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/watcher/subscriptions"]["readOnly"] is True
    assert {"/var/lib/watcher", "/tmp"} <= mounts.keys()
    image = container["image"]
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")


def test_k8s_network_policy_allows_only_dns_https_and_postgres() -> None:
    policy = _k8s()["NetworkPolicy"]["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["ingress"] == []
    ports = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)}
    (postgres,) = [r for r in policy["egress"] if {"protocol": "TCP", "port": 5432} in r["ports"]]
    assert postgres["to"], "the database port must be limited to the database pods"


def test_k8s_secret_is_a_placeholder_and_subscriptions_validate(tmp_path: Path) -> None:
    docs = _k8s()
    secret = docs["Secret"]["stringData"]
    assert set(secret) == {"SLACK_BOT_TOKEN"}
    assert "REPLACE-ME" in secret["SLACK_BOT_TOKEN"]
    kustomization = _yaml(DEPLOY / "k8s" / "kustomization.yaml")
    assert "secret.example.yaml" not in kustomization["resources"]
    for name, text in docs["ConfigMap"]["data"].items():
        (tmp_path / name).write_text(text)
    assert len(list(load_subscriptions(tmp_path))) == 2


def _steps(path: Path) -> list[dict[str, Any]]:
    doc = _yaml(path)
    if "runs" in doc:
        steps: list[dict[str, Any]] = doc["runs"]["steps"]
        return steps
    return [s for job in doc["jobs"].values() for s in job["steps"]]


def test_action_runs_watcher_diff_as_sarif_and_uploads_it() -> None:
    action = _yaml(DEPLOY / "github-action" / "action.yml")
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scripts = "\n".join(s.get("run", "") for s in steps)
    # uv from the hash-pinned bootstrap (runners' python may refuse pip: PEP 668).
    assert 'scripts/bootstrap.py" --uv-path' in scripts
    assert "sync --locked --no-dev" in scripts
    assert "python -m watcher.ci_changes" in scripts
    assert "cmd=(watcher diff" in scripts and "--format sarif" in scripts
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/")]
    assert [u["uses"].split("@")[0] for u in uploads] == ["github/codeql-action/upload-sarif"]
    for step in steps:
        # Composite steps with a script must say which shell; inputs reach scripts through
        # env, never pasted into the script (script injection).
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], step["name"]


def test_every_third_party_action_is_pinned_or_marked_for_pinning() -> None:
    for path in (DEPLOY / "github-action").glob("*.yml"):
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            match = re.match(r"\s*(?:- )?uses:\s*(\S+)", line)
            if not match:
                continue
            ref = match[1]
            nearby = " ".join(lines[max(0, index - 3) : index + 1])
            assert SHA.search(ref) or "PIN" in nearby, f"{path.name}: {ref} is neither pinned"


def test_example_workflow_has_least_privilege() -> None:
    doc = _yaml(DEPLOY / "github-action" / "example-workflow.yml")
    assert doc["permissions"] == {"contents": "read"}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    checkout = job["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # the base commit must be there for git show
    assert checkout["with"]["persist-credentials"] is False


def test_validate_script_is_executable() -> None:
    script = DEPLOY / "validate"
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
