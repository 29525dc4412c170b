"""The resource metrics API's kinds (`metrics.k8s.io/v1beta1`: `nodes` → NodeMetrics,
`pods` → PodMetrics, get and list only, as metrics-server serves them), for the path
parser and discovery. Not kinds of `schemas.registry`: they are no stored objects but the
kubelets' latest samples (`services.apiserver.metrics_api`). Pure."""

from __future__ import annotations

from typing import Any

from schemas.metrics import METRICS_GROUP, NodeMetrics, PodMetrics
from schemas.registry import KindInfo

METRICS_VERSION = "v1beta1"
NODE_METRICS = KindInfo("NodeMetrics", METRICS_GROUP, METRICS_VERSION, "nodes", "", (), False, NodeMetrics)
POD_METRICS = KindInfo("PodMetrics", METRICS_GROUP, METRICS_VERSION, "pods", "", (), True, PodMetrics)
METRICS_KINDS = (NODE_METRICS, POD_METRICS)
METRICS_VERBS = ["get", "list"]


def metrics_resources() -> list[dict[str, Any]]:
    """The APIResourceList entries, as metrics-server lists them."""
    return [{"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced, "kind": k.kind,
             "verbs": METRICS_VERBS} for k in METRICS_KINDS]
