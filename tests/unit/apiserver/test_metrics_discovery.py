"""The resource metrics API in paths and discovery (legacy and aggregated), so `kubectl top` finds it."""

from __future__ import annotations

from services.apiserver import aggregated, discovery
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
