"""The `kafkube` CLI against a running API: describe, events, -o yaml, -A, -w, and the
services' graceful stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest
import yaml

from services.runtime.config import Settings
from tests.integration.kafkit import KAFKUBE, ServiceProcess, cli, env_for

pytestmark = pytest.mark.kafka

CONFIG = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team-b, labels: {tier: web}}
data: {mode: fast, level: "3"}
"""


@pytest.fixture
def api(services: Callable[..., ServiceProcess]) -> ServiceProcess:
    return services("api")


def test_get_describe_and_events(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    applied = cli(settings, "apply", "-f", str(tmp_path))
    assert applied.stdout.splitlines() == ["namespace/team-b created", "configmap/settings created"], applied.stderr

    as_yaml = yaml.safe_load(cli(settings, "get", "cm", "settings", "-n", "team-b", "-o", "yaml").stdout)
    assert as_yaml["data"] == {"mode": "fast", "level": "3"} and as_yaml["metadata"]["labels"] == {"tier": "web"}
    everywhere = cli(settings, "get", "configmaps", "-A").stdout.splitlines()
    assert everywhere[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert ["team-b", "settings", "2"] in [line.split()[:3] for line in everywhere]
    nothing = cli(settings, "get", "configmaps")
    assert nothing.stdout == "" and "No resources found in default namespace." in nothing.stderr

    described = cli(settings, "describe", "configmap", "settings", "-n", "team-b").stdout
    assert "Name:         settings" in described and "Namespace:    team-b" in described
    assert "Labels:       tier=web" in described and "mode: fast" in described
    assert "Created" in described.split("Events:")[1], described

    events = cli(settings, "events", "-n", "team-b").stdout.splitlines()
    assert events[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any("Created" in line and "configmap/settings" in line for line in events), events


def test_get_watch_prints_changes(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    watcher = subprocess.Popen([KAFKUBE, "get", "configmaps", "-w"], env=env_for(settings),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the watch is listening
        path = tmp_path / "cm.yaml"
        for value in ("1", "2"):
            path.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: watched}}\ndata: {{v: '{value}'}}\n")
            assert cli(settings, "apply", "-f", str(path)).returncode == 0
        time.sleep(3)
    finally:
        watcher.send_signal(signal.SIGINT)
        out, _ = watcher.communicate(timeout=20)
    rows = [line.split() for line in out.splitlines() if line.startswith("watched")]
    assert len(rows) >= 2 and rows[-1][1] == "1", out  # DATA column: one key


def test_services_stop_cleanly_on_sigterm(settings: Settings, api: ServiceProcess) -> None:
    deadline = time.monotonic() + 30
    while '"partition.owned"' not in api.logs():
        assert time.monotonic() < deadline, api.logs()
        time.sleep(0.2)
    started = time.monotonic()
    assert api.kill(signal.SIGTERM) == 0
    assert time.monotonic() - started < 15
    assert '"supervisor.stopping"' in api.logs()


def test_history_and_get_at_an_earlier_instant(settings: Settings, api: ServiceProcess, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: traveller}\ndata: {stage: '%s'}\n"
    path.write_text(manifest % "one")
    assert cli(settings, "apply", "-f", str(path)).returncode == 0
    time.sleep(1.5)
    between = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.5)
    path.write_text(manifest % "two")
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "configmap/traveller configured"
    assert cli(settings, "delete", "configmap", "traveller").returncode == 0

    rows = [line.split(None, 5) for line in cli(settings, "history", "cm", "traveller").stdout.splitlines()]
    assert rows[0][:3] == ["REVISION", "TIME", "CHANGE"]
    assert [r[2] for r in rows[1:]] == ["Created", "Updated", "Deleted"], rows
    assert rows[2][3] == "kafkube-cli" and "data.stage: one -> two" in rows[2][5], rows

    then = yaml.safe_load(cli(settings, "get", "cm", "traveller", "--at", between, "-o", "yaml").stdout)
    assert then["data"] == {"stage": "one"}
    now = cli(settings, "get", "cm", "traveller")
    assert now.returncode == 1 and "not found" in now.stderr
    first = yaml.safe_load(cli(settings, "history", "cm", "traveller", "--revision", rows[1][0]).stdout)
    assert first["data"] == {"stage": "one"} and first["metadata"]["generation"] == 1


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def test_rollout_pause_resume_and_restart_patch_the_deployment(settings: Settings, api: ServiceProcess,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "deployment.apps/web created"

    def spec() -> dict[str, object]:
        return yaml.safe_load(cli(settings, "get", "deployment", "web", "-o", "yaml").stdout)["spec"]

    paused = cli(settings, "rollout", "pause", "deployment/web")
    assert paused.stdout.strip() == "deployment.apps/web paused", paused.stderr
    assert spec()["paused"] is True
    resumed = cli(settings, "rollout", "resume", "deployment", "web")
    assert resumed.stdout.strip() == "deployment.apps/web resumed", resumed.stderr
    assert "paused" not in spec()
    restarted = cli(settings, "rollout", "restart", "deployment/web")
    assert restarted.stdout.strip() == "deployment.apps/web restarted", restarted.stderr
    template = spec()["template"]
    assert isinstance(template, dict)
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    missing = cli(settings, "rollout", "pause", "deployment/nope")
    assert missing.returncode != 0 and "not found" in missing.stderr
