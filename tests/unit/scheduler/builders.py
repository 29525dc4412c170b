"""Small builders of pod and node records for the scheduler's unit tests."""

from __future__ import annotations

from typing import Any

from services.scheduler.model import NodeInfo, PodRequest, node_info, pod_request
from services.scheduler.snapshot import ClusterSnapshot


def pod(name: str = "p", *, cpu: str | None = None, memory: str | None = None,
        node: str | None = None, owner: str | None = None, **spec: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                            "resourceVersion": "1"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": f"uid-{owner}", "controller": True}]
    body = {"containers": [container], "schedulerName": "default-scheduler", **spec}
    if node:
        body["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


def req(name: str = "p", **kwargs: Any) -> PodRequest:
    return pod_request(pod(name, **kwargs))


def node(name: str, *, cpu: str = "2", memory: str = "4Gi", pods: str = "110",
         ready: str | None = "True", labels: dict[str, str] | None = None,
         taints: list[dict[str, Any]] | None = None, unschedulable: bool = False) -> NodeInfo:
    desired: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": name, "labels": labels or {}},
                               "spec": {"taints": taints or [], "unschedulable": unschedulable}}
    observed = None
    if ready is not None:
        observed = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "writer": "kubelet",
                    "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                               "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                               "conditions": [{"type": "Ready", "status": ready}]}}
    return node_info(desired, observed)


def snapshot(*nodes: NodeInfo) -> ClusterSnapshot:
    snap = ClusterSnapshot()
    for n in nodes:
        snap.set_node(n.name, n)
    return snap
