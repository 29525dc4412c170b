"""autoscaling/v1 HorizontalPodAutoscalers through `serve apiserver` on the real broker, with
the real kubectl: `kubectl autoscale` (which posts a v1 object) creates one, stored as v2;
it reads back at v1 (`targetCPUUtilizationPercentage`) and at v2 (the cpu metric), a v1
patch changes the stored metric, other metrics round-trip through the annotation, a v1
watch sees v1 objects, and it is deleted at v1; `kafkube apply` and kubectl's
server-side apply take a v1 manifest."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest

from services.runtime.config import Settings
from tests.integration.kafkit import cli
from tests.integration.test_apiserver_kubectl import KUBECTL, Kubectl, apiserver  # noqa: F401 (fixture)
from tests.integration.test_hpa import DEPLOYMENT

pytestmark = [pytest.mark.kafka]

V1 = "horizontalpodautoscalers.v1.autoscaling"  # kubectl expands the short name `hpa` to the preferred
V2 = "horizontalpodautoscalers.v2.autoscaling"  # version (hpa.v1.autoscaling reads v2), as against kube-apiserver
V1_MANIFEST = """\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: cli}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
  targetCPUUtilizationPercentage: 60
"""
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "64Mi"}}}


def test_kubectl_autoscale_creates_a_v1_hpa_stored_as_v2(apiserver: tuple[Kubectl, int],  # noqa: F811
                                                         settings: Settings) -> None:
    kubectl, _ = apiserver
    kubectl("apply", "-f", "-", stdin=DEPLOYMENT)
    watcher = subprocess.Popen([KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "get", V1, "-w", "-o", "json",
                                "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        created = kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=4").stdout
        assert "horizontalpodautoscaler.autoscaling/web autoscaled" in created
        table = kubectl("get", "hpa").stdout.splitlines()
        assert table[1].split()[:6] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "1", "4"]

        v1: Any = kubectl.json("get", V1, "web")
        assert v1["apiVersion"] == "autoscaling/v1"
        assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
        assert (v1["spec"]["minReplicas"], v1["spec"]["maxReplicas"]) == (1, 4)
        v2: Any = kubectl.json("get", V2, "web")
        assert v2["apiVersion"] == "autoscaling/v2"
        assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 50}}}]
        listed: Any = kubectl.json("get", V1)
        assert listed["items"][0]["spec"]["targetCPUUtilizationPercentage"] == 50

        # a v1 patch changes the stored cpu metric
        kubectl("patch", V1, "web", "--type=merge", "-p", '{"spec":{"targetCPUUtilizationPercentage":70}}')
        v2 = kubectl.json("get", V2, "web")
        assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70

        # a metric v1 cannot say travels in the annotation and back
        kubectl("patch", V2, "web", "--type=json", "-p",
                json.dumps([{"op": "add", "path": "/spec/metrics/-", "value": MEMORY}]))
        v1 = kubectl.json("get", V1, "web")
        assert json.loads(v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/metrics"]) == [
            {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "64Mi"}}]
        kubectl("label", V1, "web", "team=a")  # a v1 update keeps the memory metric
        v2 = kubectl.json("get", V2, "web")
        assert MEMORY in v2["spec"]["metrics"] and v2["metadata"]["labels"] == {"team": "a"}
        assert "annotations" not in v2["metadata"]

        assert 'horizontalpodautoscaler.autoscaling "web" deleted' in kubectl("delete", V1, "web").stdout
        deadline = time.monotonic() + 30
        while "web" in kubectl("get", "hpa", "-o", "name").stdout:
            assert time.monotonic() < deadline, "the HPA stayed after its delete"
            time.sleep(0.5)

        # `kafkube apply` reads a v1 manifest as the v2 object stored
        applied = cli(settings, "apply", "-f", "-", stdin=V1_MANIFEST.encode())
        assert applied.returncode == 0, applied.stderr
        v2 = kubectl.json("get", V2, "cli")
        assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60

        # server-side apply of a v1 manifest: created, then changed, at v1
        for percent in (30, 40):
            kubectl("apply", "--server-side", "-f", "-",
                    stdin=V1_MANIFEST.replace("name: cli", "name: ssa").replace(": 60", f": {percent}"))
            v2 = kubectl.json("get", V2, "ssa")
            assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": percent}}}]
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=30)
    events = [json.loads(doc) for doc in _documents(out)]
    assert events and all(e["object"]["apiVersion"] == "autoscaling/v1" for e in events)
    assert events[0]["type"] == "ADDED" and events[0]["object"]["spec"]["targetCPUUtilizationPercentage"] == 50


def _documents(stream: str) -> list[str]:
    """The JSON documents kubectl printed one after another (pretty-printed)."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(stream, at)) < len(stream):
        obj, end = decoder.raw_decode(stream, at)
        docs.append(json.dumps(obj))
        at = end
    return docs


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at
