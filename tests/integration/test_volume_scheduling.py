"""Volume scheduling on the real broker with a hollow kubelet fleet of three nodes: a pod
whose claim (class `local-path`, WaitForFirstConsumer) is unbound lands on
a node, the scheduler gives the claim `volume.kubernetes.io/selected-node` of that node,
the volume controller provisions `pvc-<claim uid>` with that node's affinity and path, the
node's kubelet makes the directory and runs the pod; a second pod of the same claim lands
on the same node; a pod naming a missing claim is unschedulable in kube-scheduler's words;
a claim of a class without provisioner gets the static hostPath volume reachable from one
node only (the scheduler's claimRef, the binder completes it) and its pod lands there;
deleting the pods and the claim deletes the provisioned volume and its directory."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, desired, observed, wait_for

pytestmark = [pytest.mark.kafka]

SELECTED_NODE = "volume.kubernetes.io/selected-node"


def claim(name: str, storage_class: str = "local-path") -> dict[str, Any]:  # the default class the API ensures
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "storageClassName": storage_class}}


MANUAL = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "manual"},
          "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "WaitForFirstConsumer"}


def static_volume(path: Path, node: str) -> dict[str, Any]:
    """A hostPath PV of class `manual` reachable from `node` only."""
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "static"},
            "spec": {"storageClassName": "manual", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                     "hostPath": {"path": str(path)},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}}


def user(name: str, claim_name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": "kafkube/busybox:1.0",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def apply(settings: Settings, tmp_path: Path, *docs: dict[str, Any]) -> None:
    path = tmp_path / f"{secrets.token_hex(3)}.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    done = cli(settings, "apply", "-f", str(path), "--timeout", "120", timeout=180)  # a loaded machine: generous
    assert done.returncode == 0, done.stdout + done.stderr


async def test_wait_for_first_consumer_on_a_hollow_fleet(settings: Settings, services: Callable[..., ServiceProcess],
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "kubelet"
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(root))  # the kubelets' and the provisioner's
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    monkeypatch.setenv("KAFKUBE_RESYNC_SECONDS", "1")
    for name in ("api", "scheduler", "controllers"):
        services(name)
    prefix = f"v{secrets.token_hex(2)}-"
    services("kubelet", "--nodes", "3", "--node-prefix", prefix, "--runtime", "hollow")

    async def three_nodes() -> bool:  # registered through the API: its writer is up
        return sum(name.startswith(prefix) for name in await desired(settings, "nodes")) == 3
    await wait_for("three hollow nodes", three_nodes, timeout=120)
    pinned = f"{prefix}0002"  # the static volume's node
    apply(settings, tmp_path, claim("data"), user("first", "data"), user("lost", "nope"), MANUAL,
          static_volume(tmp_path / "static", pinned), claim("pinned", "manual"), user("third", "pinned"))

    async def running(pod: str) -> dict[str, Any] | None:
        status = (await observed(settings, "pods")).get(f"default/{pod}") or {}
        return (await desired(settings, "pods"))[f"default/{pod}"] \
            if (status.get("status") or {}).get("phase") == "Running" else None

    first = await wait_for("the first pod running", lambda: running("first"), timeout=120)
    node = first["spec"]["nodeName"]
    assert node.startswith(prefix)
    data = (await desired(settings, "persistentvolumeclaims"))["default/data"]
    assert data["metadata"]["annotations"][SELECTED_NODE] == node
    assert data["spec"]["volumeName"] == f"pvc-{data['metadata']['uid']}"
    volume = (await desired(settings, "persistentvolumes"))[data["spec"]["volumeName"]]
    assert volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"] == [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]
    directory = root / node / "volumes" / volume["metadata"]["name"]
    assert volume["spec"]["local"]["path"] == str(directory) and directory.is_dir()  # made by the node's kubelet

    third = await wait_for("the static volume's pod running", lambda: running("third"), timeout=120)
    assert third["spec"]["nodeName"] == pinned  # the only node the volume is reachable from
    static = (await desired(settings, "persistentvolumes"))["static"]
    assert static["spec"]["claimRef"]["name"] == "pinned"  # the scheduler's claimRef, the binder completed it
    assert (await desired(settings, "persistentvolumeclaims"))["default/pinned"]["spec"]["volumeName"] == "static"
    assert (tmp_path / "static").is_dir()  # hostPath: made by the kubelet (DirectoryOrCreate)

    apply(settings, tmp_path, user("second", "data"))
    second = await wait_for("the second pod running", lambda: running("second"), timeout=120)
    assert second["spec"]["nodeName"] == node  # where its volume is

    assert not (await desired(settings, "pods"))["default/lost"]["spec"].get("nodeName")
    lost = (await observed(settings, "pods"))["default/lost"]
    [scheduled] = [c for c in lost["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled["message"] == ('0/3 nodes are available: persistentvolumeclaim "nope" not found. preemption: '
                                    "0/3 nodes are available: 3 Preemption is not helpful for scheduling."), scheduled

    deleted = cli(settings, "delete", "--timeout", "120", "pod", "first", "second", "lost", "third", timeout=180)
    assert deleted.returncode == 0, deleted.stderr
    assert cli(settings, "delete", "--timeout", "120", "pvc", "data", timeout=180).returncode == 0

    async def reclaimed() -> bool:
        return volume["metadata"]["name"] not in await desired(settings, "persistentvolumes") \
            and not directory.exists()
    await wait_for("the volume and its directory deleted (reclaim policy Delete)", reclaimed, timeout=120)
