"""Data that outlives its pod, on real Docker containers: a claim without a class (the
default `local-path`, provisioned on the node the scheduler picks), a busybox pod writes a
token into it; the pod is deleted and a new one finds the token; the kubelet is SIGKILLed
and restarted and another new pod still finds it; deleting the pods and the claim deletes
the volume (reclaim policy Delete) and the node's kubelet removes its directory.
A StatefulSet with a volumeClaimTemplate scaled 2 -> 0 -> 2: each ordinal's pod finds
its own claim's data again."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, desired, docker_kubelet, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},  # no class
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}}}


def busybox(name: str, script: str, restart: str = "Never") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "main", "image": "kafkube/busybox:1.0", "command": ["sh", "-c", script],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}}


@pytest.fixture
def cluster(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, ServiceProcess]]]:
    """The control plane and one Docker kubelet; the processes by service name."""
    started: dict[str, ServiceProcess] = {}

    def recording(name: str, *args: str) -> ServiceProcess:
        started[name] = services(name, *args)
        return started[name]

    with docker_kubelet(recording, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet")}, "pv") as node:
        yield node, started


def apply(settings: Settings, tmp_path: Path, *docs: dict[str, Any]) -> None:
    path = tmp_path / f"{secrets.token_hex(3)}.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    done = cli(settings, "apply", "-f", str(path), "--timeout", "120", timeout=180)  # a loaded machine: generous
    assert done.returncode == 0, done.stdout + done.stderr


async def phase(settings: Settings, pod: str) -> str | None:
    topic = Topics(settings.topic_prefix).observed("pods")
    view: Informer[Any] = Informer(settings, [topic], follow=False)
    async with view:
        await view.wait_synced()
        record = view.get(topic, f"default/{pod}") or {}
    return (record.get("status") or {}).get("phase")


async def test_data_survives_the_pod_and_the_kubelet(settings: Settings, cluster: tuple[str, dict[str, ServiceProcess]],
                                                     services: Callable[..., ServiceProcess], tmp_path: Path) -> None:
    node, started = cluster
    token = secrets.token_hex(8)
    apply(settings, tmp_path, CLAIM, busybox("writer", f"echo {token} > /data/token && exec sleep 3600", "Always"))

    async def written() -> Path | None:
        claim = (await desired(settings, "persistentvolumeclaims")).get("default/data") or {}
        volume = (await desired(settings, "persistentvolumes")).get((claim.get("spec") or {}).get("volumeName", ""))
        path = Path(volume["spec"]["local"]["path"]) if volume else None
        return path if path is not None and (path / "token").exists() else None

    directory = await wait_for("the writer's token on the node", written, timeout=180)
    assert directory == tmp_path / "kubelet" / node / "volumes" / directory.name  # the provisioned directory
    assert (directory / "token").read_text().strip() == token
    claim = (await desired(settings, "persistentvolumeclaims"))["default/data"]
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    assert claim["spec"]["storageClassName"] == "local-path"  # the default: by the API, or later by the controller

    assert cli(settings, "delete", "--timeout", "120", "pod", "writer", timeout=180).returncode == 0
    check = f'test "$(cat /data/token)" = {token}'
    apply(settings, tmp_path, busybox("reader", check))

    async def succeeded(pod: str) -> bool:
        found = await phase(settings, pod)
        assert found != "Failed", f"{pod} did not find the token"
        return found == "Succeeded"
    await wait_for("a new pod reading the token", lambda: succeeded("reader"), timeout=180)

    kubelet = started["kubelet"]
    assert kubelet.kill() != 0  # SIGKILL: no clean-up of any kind
    services("kubelet", "--node", node, "--runtime", "docker")
    apply(settings, tmp_path, busybox("after-restart", check))
    await wait_for("a pod reading the token after the kubelet's restart",
                   lambda: succeeded("after-restart"), timeout=180)
    assert (directory / "token").read_text().strip() == token

    assert cli(settings, "delete", "--timeout", "120", "pod", "reader", "after-restart", timeout=180).returncode == 0
    assert cli(settings, "delete", "--timeout", "120", "pvc", "data", timeout=180).returncode == 0

    async def reclaimed() -> bool:
        return not (await desired(settings, "persistentvolumes")) and not directory.exists()
    await wait_for("the volume deleted and its directory removed", reclaimed, timeout=180)


def web(replicas: int) -> dict[str, Any]:
    """A StatefulSet whose pods append their hostname to `boots` in their own claim."""
    template = {"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
                         "resources": {"requests": {"storage": "64Mi"}}}}
    container = {"name": "main", "image": "kafkube/busybox:1.0", "command": [
        "sh", "-c", "hostname >> /data/boots && exec sleep 3600"],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {
        "serviceName": "web", "replicas": replicas, "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": {"app": "web"}}, "volumeClaimTemplates": [template],
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [container]}}}}


async def test_a_statefulset_keeps_each_ordinals_data_when_scaled_to_zero_and_back(
        settings: Settings, cluster: tuple[str, dict[str, ServiceProcess]], tmp_path: Path) -> None:
    apply(settings, tmp_path, web(2))

    async def boots(count: int) -> dict[str, list[str]] | None:
        """Each ordinal's claim directory's `boots` lines, once both have `count` of them."""
        claims = await desired(settings, "persistentvolumeclaims")
        volumes = await desired(settings, "persistentvolumes")
        found: dict[str, list[str]] = {}
        for ordinal in ("web-0", "web-1"):
            name = ((claims.get(f"default/data-{ordinal}") or {}).get("spec") or {}).get("volumeName")
            path = Path(volumes[name]["spec"]["local"]["path"]) / "boots" if name in volumes else None
            found[ordinal] = path.read_text().split() if path is not None and path.exists() else []
        return found if all(len(lines) == count for lines in found.values()) else None

    first = await wait_for("web-0 and web-1 started once on their claims", lambda: boots(1), timeout=180)
    assert first == {"web-0": ["web-0"], "web-1": ["web-1"]}

    apply(settings, tmp_path, web(0))

    async def no_pods() -> bool:
        return not any(key.startswith("default/web-") for key in await desired(settings, "pods"))
    await wait_for("the StatefulSet scaled to zero", no_pods, timeout=180)
    assert set(await desired(settings, "persistentvolumeclaims")) == {"default/data-web-0", "default/data-web-1"}

    apply(settings, tmp_path, web(2))
    again = await wait_for("web-0 and web-1 started again on their own claims", lambda: boots(2), timeout=180)
    assert again == {"web-0": ["web-0", "web-0"], "web-1": ["web-1", "web-1"]}  # each ordinal its own data
