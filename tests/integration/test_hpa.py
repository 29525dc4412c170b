"""The horizontal pod autoscaler on the real broker, with a hollow kubelet and samples
published on `kafkube.metrics` by the test: the real kubectl applies an autoscaling/v2 HPA
through `serve apiserver`, `kubectl get hpa` shows upstream's columns (and `get all` the
HPA); the Deployment is scaled up while the samples are high (SuccessfulRescale in
upstream's words, status on observed.horizontalpodautoscalers) and back down to
minReplicas once they are low, and the status is removed when the HPA is deleted; a bad
HPA is refused with field paths."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from schemas.meta import ObjectMeta
from schemas.metrics import ContainerMetrics, PodMetrics, Usage
from services.runtime.bus import encode, make_producer
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, cli, eventually
from tests.integration.test_apiserver_kubectl import Kubectl, serve_apiserver

pytestmark = [pytest.mark.kafka]

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: busybox, resources: {requests: {cpu: 100m}}}
"""
HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 2}
"""


@pytest.fixture
def cluster(settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Kubectl:
    """API, scheduler, controllers (HPA sync every second), a hollow kubelet, the apiserver."""
    monkeypatch.setenv("KAFKUBE_HPA_SYNC_PERIOD", "1")
    monkeypatch.setenv("KAFKUBE_KUBELET_ROOT", str(tmp_path / "kubelet"))
    monkeypatch.setenv("KAFKUBE_HEARTBEAT_SECONDS", "2")
    for name in ("api", "scheduler", "controllers"):
        services(name)
    services("kubelet", "--node", f"h-{secrets.token_hex(3)}", "--runtime", "hollow")
    kubectl, _, _ = serve_apiserver(settings, services, tmp_path, monkeypatch)
    return kubectl


def running_pods(kubectl: Kubectl) -> list[str]:
    pods: Any = kubectl.json("get", "pods", "-l", "app=web")["items"]
    return [p["metadata"]["name"] for p in pods
            if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


async def _publish(settings: Settings, pods: list[str], millicores: int) -> None:
    topic, now = Topics(settings.topic_prefix).metrics, datetime.now(timezone.utc)
    async with make_producer(settings) as producer:
        for name in pods:
            sample = PodMetrics(metadata=ObjectMeta(name=name, namespace="default"), timestamp=now, window="1s",
                                containers=[ContainerMetrics(name="app", usage=Usage(cpu=f"{millicores * 10**6}n",
                                                                                     memory="2048Ki"))])
            await producer.send_and_wait(topic, key=f"default/{name}".encode(), value=encode(sample))


def scale_while_sampled(settings: Settings, kubectl: Kubectl, millicores: int, until: Callable[[int], bool],
                        *, what: str, timeout: float = 90) -> int:
    """Publish `millicores` for every running pod each second (as a kubelet would) until
    the Deployment's replicas satisfy `until`."""
    deadline, replicas = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        asyncio.run(_publish(settings, running_pods(kubectl), millicores))
        replicas = int(kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}").stdout or -1)
        if until(replicas):
            return replicas
        time.sleep(1)
    hpa = kubectl("get", "hpa", "web", "-o", "yaml", check=False).stdout
    raise AssertionError(f"{what}: replicas stayed {replicas}\n{hpa}")


async def _observed_hpas(settings: Settings) -> dict[str, Any]:
    topic = Topics(settings.topic_prefix).observed("horizontalpodautoscalers")
    view: Informer[Any] = Informer(settings, [topic], follow=False)
    async with view:
        await view.wait_synced()
        return dict(view.items(topic))


def rescale_messages(settings: Settings) -> list[str]:
    """The HPA's SuccessfulRescale messages on `kafkube.events` (`kafkube events -o json`)."""
    lines = cli(settings, "events", "-o", "json").stdout.splitlines()
    return [e["message"] for e in map(json.loads, lines)
            if e.get("reason") == "SuccessfulRescale" and e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"]


def test_hpa_scales_a_deployment_up_and_back_down(cluster: Kubectl, settings: Settings, tmp_path: Path) -> None:
    kubectl = cluster
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT)
    bad = HPA.replace("minReplicas: 1", "minReplicas: 5").replace("averageUtilization: 50", "averageUtilization: 0")
    refused = cli(settings, "apply", "-f", "-", stdin=bad.encode())
    assert refused.returncode != 0
    assert "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`" in refused.stderr
    assert "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0" in refused.stderr
    applied = kubectl("apply", "-f", "-", stdin=HPA).stdout
    assert "horizontalpodautoscaler.autoscaling/web created" in applied
    table = kubectl("get", "hpa").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:3] == ["web", "Deployment/web", "cpu:"]
    assert "horizontalpodautoscaler.autoscaling/web" in kubectl("get", "all").stdout  # the `all` category

    # 200 % of the request: 1 -> 3 (the scale-up policies allow +4 / +100 % per 15 s; max 3)
    scale_while_sampled(settings, kubectl, 200, lambda r: r == 3, what="no scale-up to maxReplicas")
    # the controller writes the scale first, then the HPA's status, then the event
    def scaled_status() -> Any:
        hpa: Any = kubectl.json("get", "hpa", "web")
        return hpa if hpa["status"].get("desiredReplicas") == 3 else None

    hpa = eventually(scaled_status, "the HPA's status at desiredReplicas 3")
    conditions = {c["type"]: c["reason"] for c in hpa["status"]["conditions"]}
    assert conditions["ScalingActive"] == "ValidMetricFound"
    assert "lastScaleTime" in hpa["status"]
    eventually(lambda: any(m.startswith("New size: ") and m.endswith(
        "reason: cpu resource utilization (percentage of request) above target") for m in rescale_messages(settings)),
        "the scale-up's SuccessfulRescale event")

    # 5 % of the request: back to minReplicas once the 2 s stabilisation window has passed
    scale_while_sampled(settings, kubectl, 5, lambda r: r == 1, what="no scale-down to minReplicas")
    eventually(lambda: "New size: 1; reason: All metrics below target" in rescale_messages(settings),
               "the scale-down's SuccessfulRescale event")
    row = next(line for line in kubectl("get", "hpa").stdout.splitlines() if line.startswith("web "))
    assert row.split()[1:3] == ["Deployment/web", "cpu:"] and row.split()[4:6] == ["1", "3"]

    # deleted: its status leaves observed.horizontalpodautoscalers (a tombstone by the controller)
    assert asyncio.run(_observed_hpas(settings))["default/web"]["writer"] == "horizontal-pod-autoscaler"
    kubectl("delete", "hpa", "web")
    deadline = time.monotonic() + 60
    while "default/web" in asyncio.run(_observed_hpas(settings)):
        assert time.monotonic() < deadline, "the deleted HPA's status stayed on observed.horizontalpodautoscalers"
        time.sleep(0.5)
