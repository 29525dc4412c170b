"""The dashboard's view models: what a viewer sees of nodes, workloads, Services, pods
and events, limited to what RBAC lets them list."""

from __future__ import annotations

from typing import Any

from services.dashboard.timeline import Snapshot
from services.dashboard.views import (events_view, nodes_view, pods_view, services_view, workloads_view)


def everything(_plural: str, _namespace: str) -> bool:
    return True


def pod(name: str, *, ns: str = "default", node: str = "n1", owner: str = "rs-uid", phase: str = "Running",
        cpu: str = "100m", memory: str = "64Mi") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "ownerReferences": [{"uid": owner, "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "main", "resources": {"requests": {
                "cpu": cpu, "memory": memory}}}]},
            "status": {"phase": phase, "containerStatuses": [{"ready": True, "restartCount": 2}]}}


def state() -> Snapshot:
    return {
        "nodes": {"n1": {"metadata": {"name": "n1"}, "status": {
            "capacity": {"cpu": "2", "memory": "1Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}},
        "pods": {"default/a": pod("a"), "default/b": pod("b", phase="Succeeded"),
                 "other/c": pod("c", ns="other", owner="x")},
        "deployments": {"default/web": {"metadata": {"name": "web", "namespace": "default", "uid": "d-uid",
                                                     "generation": 2},
                                        "spec": {"replicas": 2},
                                        "status": {"observedGeneration": 2, "updatedReplicas": 2,
                                                   "readyReplicas": 1, "availableReplicas": 1}}},
        "replicasets": {"default/web-1": {"metadata": {
            "name": "web-1", "namespace": "default", "uid": "rs-uid",
            "annotations": {"deployment.kubernetes.io/revision": "3"},
            "ownerReferences": [{"uid": "d-uid", "controller": True}]},
            "spec": {"replicas": 2}, "status": {"readyReplicas": 1}}},
        "services": {"default/web": {"metadata": {"name": "web", "namespace": "default"},
                                     "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                                              "ports": [{"port": 80, "nodePort": 30080}]}}},
        "endpoints": {"default/web": {"subsets": [{"addresses": [{"ip": "10.1.0.5", "targetRef": {"name": "a"}}],
                                                   "ports": [{"port": 8080}]}]}},
    }


def test_nodes_with_capacity_allocation_and_conditions() -> None:
    [row] = nodes_view(state(), everything)
    assert (row.name, row.ready, row.cpu_capacity_m, row.memory_capacity) == ("n1", "True", 2000, 1024**3)
    assert (row.cpu_requested_m, row.memory_requested, row.pods) == (200, 128 * 1024**2, 2)  # b has finished
    assert row.conditions[0].reason == "KubeletReady"


def test_workloads_with_replica_sets_pods_and_progress() -> None:
    [row] = workloads_view(state(), everything)
    assert (row.name, row.replicas, row.ready, row.progress) == ("web", 2, 1, "1 of 2 available")
    [rs] = row.replica_sets
    assert (rs.name, rs.revision, rs.ready) == ("web-1", "3", 1)
    assert [p.name for p in rs.pods] == ["a", "b"] and rs.pods_total == 2
    assert rs.pods[0].ready == "1/1" and rs.pods[0].restarts == 2


def test_services_with_endpoints() -> None:
    [row] = services_view(state(), everything)
    assert row.ports == ["80:30080/TCP"] and row.endpoints == ["10.1.0.5:8080 (a)"]
    [hidden] = services_view(state(), lambda plural, _ns: plural != "endpoints")
    assert hidden.endpoints == []


def test_what_rbac_does_not_let_list_is_not_shown() -> None:
    only_default = lambda _plural, namespace: namespace == "default"  # noqa: E731
    assert [p.name for p in pods_view(state(), only_default).rows] == ["a", "b"]
    assert nodes_view(state(), only_default) == []
    assert workloads_view(state(), lambda plural, _ns: plural != "deployments") == []


def test_pods_are_paged_and_searched() -> None:
    many: Snapshot = {"pods": {f"default/p{i:05d}": pod(f"p{i:05d}") for i in range(10_000)}}
    page = pods_view(many, everything, page=3, size=100)
    assert (page.total, page.pages, page.page, len(page.rows)) == (10_000, 100, 3, 100)
    assert page.rows[0].name == "p00300"
    assert pods_view(many, everything, page=10**6).page == 99  # past the end: the last page
    found = pods_view(many, everything, search="p0999")
    assert found.total == 10 and found.rows[-1].name == "p09999"


def test_events_newest_first_where_listable() -> None:
    events = [{"metadata": {"namespace": ns}, "reason": r, "involvedObject": {"kind": "Pod", "name": "a"},
               "message": "m", "lastTimestamp": t} for ns, r, t in
              (("default", "Scheduled", "1"), ("other", "Pulled", "2"), ("default", "Started", "3"))]
    rows = events_view(events, lambda _p, ns: ns == "default")
    assert [r["reason"] for r in rows] == ["Started", "Scheduled"] and rows[0]["object"] == "pod/a"
