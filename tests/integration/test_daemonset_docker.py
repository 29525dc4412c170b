"""A DaemonSet on real Docker containers, end to end: two Docker kubelets (two node names
on this machine's Engine) and `kafkube apply` of a busybox DaemonSet; the controller makes
one pod per node, the scheduler binds each to its node (the pod's metadata.name node
affinity), and each node's kubelet runs exactly one running busybox container of it."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.kubelet.runtime.base import LABEL_CONTAINER, LABEL_NODE
from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, docker_kubelet, get_json, wait_for

# Generous deadlines: they catch a wedged controller, not a slow machine (on a 2-core
# machine shared by several test runs, the control plane alone can take minutes to start).
pytestmark = [pytest.mark.kafka, pytest.mark.docker, pytest.mark.timeout(900)]

MANIFEST = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: node-agent}
    spec:
      selector: {matchLabels: {app: node-agent}}
      template:
        metadata: {labels: {app: node-agent}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: agent
            image: kafkube/busybox:1.0
            command: [sh, -c, 'echo "agent on $NODE"; exec sleep 3600']
            env:
            - name: NODE
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    """)


@pytest.fixture
def nodes(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    env = {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet")}
    with docker_kubelet(services, monkeypatch, env, "dsa") as first:
        with docker_kubelet(services, monkeypatch, env, "dsb", control_plane=()) as second:
            yield first, second


def running_agents(node: str) -> list[str]:
    """The running `agent` containers Docker holds for `node`."""
    return subprocess.run(["docker", "ps", "-q", "--filter", f"label={LABEL_NODE}={node}",
                           "--filter", f"label={LABEL_CONTAINER}=agent", "--filter", "status=running"],
                          capture_output=True, text=True, check=True).stdout.split()


async def test_a_daemonset_runs_one_busybox_pod_per_node(settings: Settings, nodes: tuple[str, str],
                                                         tmp_path: Path) -> None:
    path = tmp_path / "ds.yaml"
    path.write_text(MANIFEST)
    applied = cli(settings, "apply", "-f", str(path), "--timeout", "150", timeout=180)  # the API may be starting
    assert applied.stdout.strip() == "daemonset.apps/node-agent created", applied.stderr

    async def rolled_out() -> bool:
        status = (get_json(settings, "ds", "node-agent") or {}).get("status") or {}
        return status.get("desiredNumberScheduled") == 2 and status.get("numberReady") == 2

    await wait_for("both nodes' pods ready", rolled_out, timeout=180, interval=1)
    pods = [p for p in (get_json(settings, "pods") or {}).get("items", [])
            if p["metadata"]["labels"].get("app") == "node-agent"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == sorted(nodes)
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert [len(running_agents(node)) for node in nodes] == [1, 1]  # exactly one container per node
    for pod in pods:  # the kubelet ships log lines apart from the pod's status: polled
        name, node_name = pod["metadata"]["name"], pod["spec"]["nodeName"]

        async def logged() -> bool:
            return cli(settings, "logs", name).stdout.strip() == f"agent on {node_name}"

        await wait_for(f"{name}'s line in `kafkube logs`", logged, timeout=60)
    table = cli(settings, "get", "ds").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE",
                                "SELECTOR", "AGE"]
    assert table[1].split()[:7] == ["node-agent", "2", "2", "2", "2", "2", "<none>"]
