"""The horizontal pod autoscaler end to end on real containers: a Deployment of busybox
pods requesting 50m of CPU burns CPU for 20 s after it starts; the Docker kubelet samples it
every second onto `kafkube.metrics`, the HPA (cpu Utilization 50 %, a 5 s scale-down
window, sync every second) grows the Deployment above minReplicas while it burns, and
brings it back to minReplicas once the load has stopped."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import ServiceProcess, cli, docker_kubelet, get_json, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.docker]

MANIFESTS = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: burn}
    spec:
      replicas: 1
      selector: {matchLabels: {app: burn}}
      template:
        metadata: {labels: {app: burn}}
        spec:
          terminationGracePeriodSeconds: 0
          containers:
          - name: burn
            image: kafkube/busybox:1.0
            command: [sh, -c, "timeout 20 sh -c 'while :; do :; done'; exec sleep 3600"]
            resources: {requests: {cpu: 50m, memory: 8Mi}}
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata: {name: burn}
    spec:
      scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
      minReplicas: 1
      maxReplicas: 3
      metrics:
      - type: Resource
        resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
      behavior:
        scaleDown: {stabilizationWindowSeconds: 5}
    """)


@pytest.fixture
def node(docker_ready: None, settings: Settings, services: Callable[..., ServiceProcess], tmp_path: Path,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The control plane (HPA sync every second) and one Docker kubelet sampling every second."""
    with docker_kubelet(services, monkeypatch, {"KAFKUBE_KUBELET_ROOT": str(tmp_path / "kubelet"),
                                                "KAFKUBE_METRICS_RESOLUTION_SECONDS": "1",
                                                "KAFKUBE_HPA_SYNC_PERIOD": "1"}, "hpa") as name:
        yield name



async def test_hpa_grows_a_burning_deployment_and_shrinks_it_after(node: str, settings: Settings,
                                                                   tmp_path: Path) -> None:
    manifests = tmp_path / "burn.yaml"
    manifests.write_text(MANIFESTS)
    applied = cli(settings, "apply", "-f", str(manifests))
    assert applied.returncode == 0, applied.stderr

    async def replicas() -> int:
        deploy = get_json(settings, "deployment", "burn")
        return int(deploy["spec"]["replicas"]) if deploy else 0

    async def grown() -> int | None:
        return n if (n := await replicas()) > 1 else None

    async def shrunk() -> dict[str, Any] | None:
        hpa = get_json(settings, "hpa", "burn")
        return hpa if await replicas() == 1 and hpa and hpa["status"].get("desiredReplicas") == 1 else None

    async def burning() -> dict[str, Any] | None:  # the status the HPA writes after the scale it decided
        hpa = get_json(settings, "hpa", "burn")
        metrics = (hpa or {}).get("status", {}).get("currentMetrics") or []
        return hpa if metrics and metrics[0]["resource"]["current"]["averageUtilization"] > 50 else None

    await wait_for("the Deployment grown above minReplicas while its pods burn CPU", grown, timeout=120)
    await wait_for("the HPA's status reporting the burn (averageUtilization above 50)", burning, timeout=60)
    hpa = await wait_for("the Deployment back at minReplicas after the load stopped", shrunk, timeout=180)
    conditions = {c["type"]: c["reason"] for c in hpa["status"]["conditions"]}
    assert conditions["ScalingActive"] == "ValidMetricFound", hpa["status"]
    assert hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] < 50
