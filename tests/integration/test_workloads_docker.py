"""A Deployment on real Docker containers, end to end: scaled, rolled to a new image,
rolled back, and a node killed so its pods are recreated on the other node."""

from __future__ import annotations

import json
import secrets
import subprocess
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.kubelet.runtime.base import LABEL_NODE
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]


def manifest(image: str, replicas: int) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: web}}}}
          strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: {image}
                command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 1; done']
                resources: {{requests: {{cpu: 10m, memory: 8Mi}}}}
        """)


@pytest.fixture
def nodes(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ServiceProcess]]:
    """Two Docker kubelets, quick to notice, quick to be declared dead."""
    for key, value in {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"), "KAFKUBE_HEARTBEAT_SECONDS": "1",
                       "KAFKUBE_RELIST_SECONDS": "0.5", "KAFKUBE_RESYNC_SECONDS": "1",
                       "KAFKUBE_NODE_MONITOR_GRACE_SECONDS": "5",
                       "KAFKUBE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS": "2", "KAFKUBE_CLUSTER_DNS": "off"}.items():
        monkeypatch.setenv(key, value)
    for name in ("api", "scheduler", "controllers"):
        services(name)
    names = [f"wd-{secrets.token_hex(3)}" for _ in range(2)]
    kubelets = {name: services("kubelet", "--node", name, "--runtime", "docker") for name in names}
    try:
        yield kubelets
    finally:
        for process in kubelets.values():
            if process.alive():
                process.kill()
        for name in names:
            ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={LABEL_NODE}={name}"],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)


def running_pods(settings: Settings) -> list[dict[str, Any]]:
    listed = json.loads(cli(settings, "get", "pods", "-o", "json").stdout or '{"items": []}')
    items = listed.get("items", [listed]) if listed else []
    return [p for p in items if (p.get("status") or {}).get("phase") == "Running"
            and not p["metadata"].get("deletionTimestamp")]


def docker_images_running(node_names: list[str]) -> Counter[str]:
    images: Counter[str] = Counter()
    for name in node_names:
        out = subprocess.run(["docker", "ps", "--filter", f"label={LABEL_NODE}={name}",
                              "--filter", "label=io.kafkube.role=app", "--format", "{{.Image}}"],
                             capture_output=True, text=True, check=True).stdout
        images.update(out.split())
    return images


async def containers_are(node_names: list[str], wanted: Counter[str]) -> bool:
    """True once the app containers running on the nodes are exactly `wanted` (by image)."""
    return docker_images_running(node_names) == wanted


async def rolled_out(settings: Settings, image: str, replicas: int) -> list[dict[str, Any]] | None:
    pods = running_pods(settings)
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    return pods if len(pods) == replicas and images == {image} else None


async def test_scale_roll_back_and_survive_a_dead_node(settings: Settings, nodes: dict[str, ServiceProcess],
                                                        tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(manifest("kafkube/busybox:1.0", 2))
    assert cli(settings, "apply", "-f", str(path)).returncode == 0
    await wait_for("2 pods of 1.0", lambda: rolled_out(settings, "kafkube/busybox:1.0", 2), timeout=120)

    scaled = cli(settings, "scale", "deployment/web", "--replicas=3")
    assert scaled.stdout.strip() == "deployment.apps/web scaled", scaled.stderr
    await wait_for("3 pods of 1.0", lambda: rolled_out(settings, "kafkube/busybox:1.0", 3), timeout=120)

    path.write_text(manifest("kafkube/busybox:1.1", 3))
    assert cli(settings, "apply", "-f", str(path)).stdout.strip() == "deployment.apps/web configured"
    await wait_for("3 pods of 1.1", lambda: rolled_out(settings, "kafkube/busybox:1.1", 3), timeout=180)
    status = cli(settings, "rollout", "status", "deployment/web", "--timeout", "120", timeout=180)
    assert 'deployment "web" successfully rolled out' in status.stdout, status.stdout + status.stderr
    # Rollout status, like Kubernetes', does not count terminating pods: a pod of the old
    # ReplicaSet may still be stopping its container. Wait for the containers themselves.
    await wait_for("only the 3 containers of 1.1 running", lambda: containers_are(
        list(nodes), Counter({"kafkube/busybox:1.1": 3})), timeout=60)

    undone = cli(settings, "rollout", "undo", "deployment/web")
    assert undone.returncode == 0, undone.stderr
    pods = await wait_for("3 pods of 1.0 again", lambda: rolled_out(settings, "kafkube/busybox:1.0", 3), timeout=180)
    history = cli(settings, "rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"], history

    per_node = Counter(p["spec"]["nodeName"] for p in pods)
    victim, survivor = per_node.most_common(1)[0][0], next(n for n in nodes if n != per_node.most_common(1)[0][0])
    nodes[victim].kill()

    async def all_on_survivor() -> list[dict[str, Any]] | None:
        pods = running_pods(settings)
        return pods if len(pods) == 3 and {p["spec"]["nodeName"] for p in pods} == {survivor} else None

    await wait_for(f"the pods of {victim} recreated on {survivor}", all_on_survivor, timeout=180)
    node_table = cli(settings, "get", "nodes").stdout
    assert any(line.split()[:2] == [victim, "Unknown"] for line in node_table.splitlines()), node_table
