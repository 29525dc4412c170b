"""Server-side Tables: the CLI's columns, wide columns at priority 1, row objects."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.printing import COLUMNS, selector_text
from services.apiserver.reads import page
from services.apiserver.scale import scale_of
from services.apiserver.tables import table, wants_table

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def pod(name: str) -> dict[str, object]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T11:58:00Z"},
            "spec": {"containers": [{"name": "c"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5",
                       "containerStatuses": [{"ready": True, "restartCount": 2}]}}


def test_kubectl_asks_for_a_table_first() -> None:
    assert wants_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
                       "g=meta.k8s.io,application/json")
    assert not wants_table("application/json")
    assert not wants_table("application/json, application/json;as=Table;v=v1;g=meta.k8s.io")


def test_pod_table_has_the_cli_columns_and_wide_ones_at_priority_one() -> None:
    shown = table("pods", [pod("web")], now=NOW, resource_version="e.7")
    assert shown["kind"] == "Table" and shown["apiVersion"] == "meta.k8s.io/v1"
    names = [(c["name"], c["priority"]) for c in shown["columnDefinitions"]]
    assert names == [("Name", 0), ("READY", 0), ("STATUS", 0), ("RESTARTS", 0), ("Age", 0),
                     ("IP", 1), ("NODE", 1), ("NOMINATED NODE", 1), ("READINESS GATES", 1)]
    row = shown["rows"][0]
    assert row["cells"] == ["web", "1/1", "Running", "2", "2m", "10.0.0.5", "n1", "<none>", "<none>"]
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == "web"
    assert shown["metadata"] == {"resourceVersion": "e.7"}


def test_kinds_without_columns_show_name_and_age() -> None:
    shown = table("roles", [{"metadata": {"name": "r"}}], now=NOW, include_object="None")
    assert [c["name"] for c in shown["columnDefinitions"]] == ["Name", "Age"]
    assert shown["rows"] == [{"cells": ["r", "<unknown>"]}]


def test_pages_continue_after_the_last_key() -> None:
    objs = [{"metadata": {"name": n, "namespace": "default"}} for n in ("a", "b", "c")]
    first, token = page(objs, limit=2, after="")
    assert [o["metadata"]["name"] for o in first] == ["a", "b"] and token
    from services.apiserver.reads import decode_continue
    rest, last = page(objs, limit=2, after=decode_continue(token))
    assert [o["metadata"]["name"] for o in rest] == ["c"] and last == ""


def test_scale_of_a_deployment() -> None:
    scale = scale_of({"metadata": {"name": "web", "namespace": "d", "resourceVersion": "4"},
                      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                                                           "matchExpressions": [{"key": "t", "operator": "Exists"}]}},
                      "status": {"replicas": 2}})
    assert scale["spec"] == {"replicas": 3} and scale["status"] == {"replicas": 2, "selector": "app=web,t"}
    assert selector_text(None) == ""
    assert selector_text({"app": "web", "tier": "x"}) == "app=web,tier=x"  # an RC's or a Service's plain map


def test_wide_columns_of_workloads_and_services() -> None:
    deploy = {"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}, {"name": "side", "image": "nginx"}]}}}}
    _, _, names, wide = COLUMNS["deployments"]
    assert wide is not None and dict(zip(names, wide(deploy))) == {
        "CONTAINERS": "main,side", "IMAGES": "busybox:1.36,nginx", "SELECTOR": "app=web"}
    _, _, names, wide = COLUMNS["services"]
    assert wide is not None and (names, wide({"spec": {}})) == (["SELECTOR"], ["<none>"])
