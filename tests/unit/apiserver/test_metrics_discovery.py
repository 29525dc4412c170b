"""The resource metrics API in paths, discovery (legacy and aggregated, so `kubectl top` finds it)
and the door's audit."""

from __future__ import annotations

from schemas.auth import UserInfo
from services.apiserver import aggregated, discovery
from services.apiserver.audit import audit_entry
from services.apiserver.auth import Caller
from services.apiserver.metrics_kinds import NODE_METRICS, POD_METRICS
from services.apiserver.paths import ResourcePath, parse


def test_paths_name_node_and_pod_metrics() -> None:
    assert parse("/apis/metrics.k8s.io/v1beta1/nodes/n1") == ResourcePath(NODE_METRICS, "", "n1")
    assert parse("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods") == ResourcePath(POD_METRICS, "default")
    assert parse("/apis/metrics.k8s.io/v1beta1/pods") == ResourcePath(POD_METRICS)


def test_discovery_lists_the_metrics_group_with_get_and_list() -> None:
    assert {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"} in [
        v for g in discovery.group_list()["groups"] for v in g["versions"]]
    listed = discovery.resource_list("metrics.k8s.io", "v1beta1")
    assert listed is not None
    assert [(r["name"], r["kind"], r["namespaced"], r["verbs"]) for r in listed["resources"]] == [
        ("nodes", "NodeMetrics", False, ["get", "list"]), ("pods", "PodMetrics", True, ["get", "list"])]
    groups = aggregated.groups()["items"]
    metrics = next(g for g in groups if g["metadata"]["name"] == "metrics.k8s.io")
    assert {r["resource"] for r in metrics["versions"][0]["resources"]} == {"nodes", "pods"}


def test_the_door_audits_metrics_reads() -> None:
    caller = Caller(UserInfo(username="alice", groups=()), token="t")
    found = audit_entry(method="GET", url_path="/apis/metrics.k8s.io/v1beta1/namespaces/d/pods", query={},
                        status=200, caller=caller, source_ip=None)
    assert found is not None
    key, record = found
    assert (key, record.verb, record.object_ref.api_version, record.object_ref.resource) == (
        "d", "list", "metrics.k8s.io/v1beta1", "pods")
