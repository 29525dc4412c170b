"""A pod's overhead (set by the API from its RuntimeClass) counts in its requests, as
upstream's PodRequests: a pod that fits without it may not fit with it."""

from __future__ import annotations

from typing import Any

from services.scheduler.filters import resources_fit
from services.scheduler.model import node_info, pod_request
from services.scheduler.snapshot import NodeUsage


def pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": "900m", "memory": "100Mi"}}}], **spec}}


def test_overhead_is_added_to_the_requests() -> None:
    request = pod_request(pod(overhead={"cpu": "250m", "memory": "28Mi"}))
    assert (request.requests.cpu, request.requests.memory) == (1150, 128 * 1024 * 1024)
    assert request.nonzero.cpu == 1150
    assert pod_request(pod()).requests.cpu == 900


def test_a_pod_fits_a_node_only_with_room_for_its_overhead() -> None:
    node = node_info({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}},
                     {"status": {"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "110"},
                                 "conditions": [{"type": "Ready", "status": "True"}]}})
    assert resources_fit(pod_request(pod()), node, NodeUsage()) == []
    assert resources_fit(pod_request(pod(overhead={"cpu": "250m"})), node, NodeUsage()) == ["Insufficient cpu"]
