"""The dashboard's view models, built from a snapshot of the cluster (now, or at an
instant of the time slider) and what the viewer may list: nodes with capacity,
allocation and conditions; Deployments with their ReplicaSets, pods and rollout
progress; Services with their endpoints; one page of pods. Only the rows a page shows are
built, so a view of 10,000 pods costs one sort and one page (bench/dashboard_first_paint.py).
Pure: called by `services.dashboard.app` with `Snapshot`s of `services.dashboard.timeline`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.quantity import cpu_millis, memory_bytes
from services.dashboard.timeline import Obj, Snapshot

MayList = Callable[[str, str], bool]  # (plural, namespace; "" for cluster-scoped): may the viewer list them
PAGE_SIZE = 100
PODS_PER_SET = 5
_DONE = ("Succeeded", "Failed")


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Condition(View):
    type: str
    status: str
    reason: str = ""


class NodeRow(View):
    name: str
    ready: str
    conditions: list[Condition]
    cpu_capacity_m: int
    memory_capacity: int
    pods_capacity: int
    cpu_requested_m: int
    memory_requested: int
    pods: int
    unschedulable: bool


class PodRow(View):
    namespace: str
    name: str
    phase: str
    node: str
    ready: str  # ready containers / containers
    restarts: int
    created: str
    deleting: bool


class ReplicaSetRow(View):
    name: str
    revision: str
    replicas: int
    ready: int
    pods: list[PodRow]  # the first PODS_PER_SET; the Pods view pages through them all
    pods_total: int


class DeploymentRow(View):
    namespace: str
    name: str
    replicas: int
    updated: int
    ready: int
    available: int
    progress: str  # the Progressing condition's reason, or the rollout's words
    replica_sets: list[ReplicaSetRow]


class ServiceRow(View):
    namespace: str
    name: str
    type: str
    cluster_ip: str
    ports: list[str]
    endpoints: list[str]  # ip:port (pod)


class PodPage(View):
    total: int
    page: int
    pages: int
    rows: list[PodRow]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def visible(state: Snapshot, plural: str, may_list: MayList) -> list[Obj]:
    """The kind's objects the viewer may list, sorted by key (namespace/name)."""
    allowed: dict[str, bool] = {}
    out = []
    for key in sorted(state.get(plural, {})):
        obj = state[plural][key]
        namespace = str(_meta(obj).get("namespace") or "")
        if namespace not in allowed:
            allowed[namespace] = may_list(plural, namespace)
        if allowed[namespace]:
            out.append(obj)
    return out


def _conditions(obj: Obj) -> list[Condition]:
    return [Condition(type=str(c.get("type", "")), status=str(c.get("status", "")), reason=str(c.get("reason") or ""))
            for c in (obj.get("status") or {}).get("conditions") or []]


def _requests(pod: Obj) -> tuple[int, int]:
    cpu = memory = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += cpu_millis(requests["cpu"]) if "cpu" in requests else 0
        memory += memory_bytes(requests["memory"]) if "memory" in requests else 0
    return cpu, memory


def _phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def nodes_view(state: Snapshot, may_list: MayList) -> list[NodeRow]:
    """Each node with its capacity, what its pods request (those not finished) and conditions."""
    on_node: dict[str, list[Obj]] = {}
    for pod in state.get("pods", {}).values():  # allocation counts every pod, shown or not
        node = (pod.get("spec") or {}).get("nodeName")
        if node and _phase(pod) not in _DONE:
            on_node.setdefault(node, []).append(pod)
    rows = []
    for node in visible(state, "nodes", may_list):
        name = str(_meta(node).get("name", ""))
        capacity = (node.get("status") or {}).get("capacity") or {}
        requested = [_requests(p) for p in on_node.get(name, [])]
        conditions = _conditions(node)
        ready = next((c.status for c in conditions if c.type == "Ready"), "Unknown")
        rows.append(NodeRow(name=name, ready=ready, conditions=conditions,
                            cpu_capacity_m=cpu_millis(capacity.get("cpu", 0)),
                            memory_capacity=memory_bytes(capacity.get("memory", 0)),
                            pods_capacity=int(capacity.get("pods", 0) or 0),
                            cpu_requested_m=sum(c for c, _ in requested), memory_requested=sum(m for _, m in requested),
                            pods=len(requested), unschedulable=bool((node.get("spec") or {}).get("unschedulable"))))
    return rows


def pod_row(pod: Obj) -> PodRow:
    meta, status = _meta(pod), pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    return PodRow(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")), phase=_phase(pod),
                  node=str((pod.get("spec") or {}).get("nodeName") or ""),
                  ready=f"{sum(1 for s in statuses if s.get('ready'))}/{len(containers)}",
                  restarts=sum(int(s.get("restartCount") or 0) for s in statuses),
                  created=str(meta.get("creationTimestamp") or ""), deleting=bool(meta.get("deletionTimestamp")))


def _owned_by(objs: list[Obj]) -> dict[str, list[Obj]]:
    """Objects by the uid of their controller owner."""
    out: dict[str, list[Obj]] = {}
    for obj in objs:
        for ref in _meta(obj).get("ownerReferences") or []:
            if ref.get("controller"):
                out.setdefault(str(ref.get("uid")), []).append(obj)
    return out


def _progress(deployment: Obj) -> str:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    if int(_meta(deployment).get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Waiting for the rollout to start"
    if int(status.get("updatedReplicas") or 0) < wanted:
        return f"{status.get('updatedReplicas') or 0} of {wanted} updated"
    if int(status.get("availableReplicas") or 0) < wanted:
        return f"{status.get('availableReplicas') or 0} of {wanted} available"
    return "Complete"


def workloads_view(state: Snapshot, may_list: MayList) -> list[DeploymentRow]:
    """Each Deployment, its ReplicaSets (newest revision first) and their pods."""
    sets = _owned_by(visible(state, "replicasets", may_list))
    pods = _owned_by(visible(state, "pods", may_list))
    rows = []
    for deployment in visible(state, "deployments", may_list):
        meta, status = _meta(deployment), deployment.get("status") or {}
        owned = sorted(sets.get(str(meta.get("uid")), []), reverse=True, key=_revision)
        rows.append(DeploymentRow(
            namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
            replicas=int((deployment.get("spec") or {}).get("replicas", 1)),
            updated=int(status.get("updatedReplicas") or 0), ready=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0), progress=_progress(deployment),
            replica_sets=[_replica_set(rs, pods.get(str(_meta(rs).get("uid")), [])) for rs in owned]))
    return rows


def _replica_set(rs: Obj, pods: list[Obj]) -> ReplicaSetRow:
    return ReplicaSetRow(name=str(_meta(rs).get("name", "")), revision=str(_revision(rs)),
                         replicas=int((rs.get("spec") or {}).get("replicas", 0)),
                         ready=int((rs.get("status") or {}).get("readyReplicas") or 0),
                         pods=[pod_row(p) for p in pods[:PODS_PER_SET]], pods_total=len(pods))


def _revision(rs: Obj) -> int:
    value = (_meta(rs).get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")
    return int(value) if str(value).isdigit() else 0


def services_view(state: Snapshot, may_list: MayList) -> list[ServiceRow]:
    """Each Service with its ports and the ready addresses of its Endpoints."""
    endpoints = state.get("endpoints", {})
    rows = []
    for service in visible(state, "services", may_list):
        meta, spec = _meta(service), service.get("spec") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        shown_endpoints = endpoints.get(key) if may_list("endpoints", str(meta.get("namespace", ""))) else None
        rows.append(ServiceRow(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
                               type=str(spec.get("type") or "ClusterIP"), cluster_ip=str(spec.get("clusterIP") or ""),
                               ports=[_port(p) for p in spec.get("ports") or []],
                               endpoints=_addresses(shown_endpoints or {})))
    return rows


def _port(port: Obj) -> str:
    node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
    return f"{port.get('port')}{node_port}/{port.get('protocol') or 'TCP'}"


def _addresses(endpoints: Obj) -> list[str]:
    out = []
    for subset in endpoints.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            pod = (address.get("targetRef") or {}).get("name")
            for port in ports:
                out.append(f"{address.get('ip')}{f':{port}' if port else ''}{f' ({pod})' if pod else ''}")
    return out


def pods_view(state: Snapshot, may_list: MayList, *, page: int = 0, search: str = "",
              size: int = PAGE_SIZE) -> PodPage:
    """One page of the pods the viewer may list whose `namespace/name` contains `search`."""
    keys = [k for k in sorted(state.get("pods", {})) if search in k]
    allowed: dict[str, bool] = {}
    chosen = []
    for key in keys:
        namespace = key.partition("/")[0]
        if namespace not in allowed:
            allowed[namespace] = may_list("pods", namespace)
        if allowed[namespace]:
            chosen.append(key)
    pages = max(1, -(-len(chosen) // size))
    page = min(max(page, 0), pages - 1)
    rows = [pod_row(state["pods"][k]) for k in chosen[page * size:(page + 1) * size]]
    return PodPage(total=len(chosen), page=page, pages=pages, rows=rows)


def events_view(events: list[Obj], may_list: MayList, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest events the viewer may list, newest first, in the columns `kubectl get events` shows."""
    rows: list[dict[str, Any]] = []
    for event in reversed(events):
        namespace = str(_meta(event).get("namespace") or "")
        if not may_list("events", namespace):
            continue
        involved = event.get("involvedObject") or {}
        rows.append({"namespace": namespace, "type": event.get("type") or "Normal", "reason": event.get("reason") or "",
                     "object": f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
                     "message": event.get("message") or "",
                     "time": event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or "",
                     "count": int(event.get("count") or 1)})
        if len(rows) >= limit:
            break
    return rows
