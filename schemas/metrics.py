"""Resource metrics (`metrics.k8s.io/v1beta1`): the records kubelets publish on
`kafkube.metrics` (key: the node's name, or the pod's `<namespace>/<name>`) and the HTTP
API serves, shaped as metrics-server's NodeMetrics and PodMetrics. CPU is a usage rate in
cores averaged over `window` (written in nanocores, `"250000000n"`); memory is the working
set (usage less inactive file pages, as the kubelet's cAdvisor reports it) in `Ki`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final, Literal

from pydantic import Field

from schemas.meta import KubeModel, Resource

METRICS_GROUP = "metrics.k8s.io"
METRICS_API_VERSION: Final = "metrics.k8s.io/v1beta1"


class Usage(KubeModel):
    cpu: str
    memory: str


class ContainerMetrics(KubeModel):
    name: str
    usage: Usage


class NodeMetrics(Resource):
    namespaced: ClassVar[bool] = False

    api_version: Literal["metrics.k8s.io/v1beta1"] = METRICS_API_VERSION
    kind: Literal["NodeMetrics"] = "NodeMetrics"
    timestamp: datetime  # when the window ended
    window: str  # a Go duration: "15.002s"
    usage: Usage


class PodMetrics(Resource):
    api_version: Literal["metrics.k8s.io/v1beta1"] = METRICS_API_VERSION
    kind: Literal["PodMetrics"] = "PodMetrics"
    timestamp: datetime
    window: str
    containers: list[ContainerMetrics] = Field(default_factory=list)


Metrics = NodeMetrics | PodMetrics


def usage(nanocores: int, working_set_bytes: int) -> Usage:
    """A usage as metrics-server writes it: CPU in nanocores, memory in Ki."""
    return Usage(cpu=f"{nanocores}n", memory=f"{working_set_bytes // 1024}Ki")


def go_duration(seconds: float) -> str:
    """A window as metav1.Duration serialises it (`"15.002s"`)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
