"""autoscaling/v1 HorizontalPodAutoscalers in the HTTP API: discovery (legacy and aggregated)
lists v2 (preferred) and v1, OpenAPI has the v1 schema, a v1 path is served on the stored
v2 kind, bodies are converted on the way in and objects, lists, tables and patches on the
way out; kubectl autoscale's protobuf body is read."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp import web

from services.apiserver import aggregated, conversion, discovery, openapi, protobuf, watch
from services.apiserver.http import json_response
from services.apiserver.paths import parse

V1_PATH = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/web"
STORED: dict[str, Any] = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
          "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                   "minReplicas": 1, "maxReplicas": 4,
                   "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                       "type": "Utilization", "averageUtilization": 50}}}]}}


def test_discovery_serves_v2_preferred_and_v1() -> None:
    group = discovery.group("autoscaling")
    assert group is not None
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    listed = discovery.resource_list("autoscaling", "v1")
    assert listed is not None
    hpa = listed["resources"][0]
    assert (hpa["name"], hpa["kind"], hpa["shortNames"], hpa["categories"]) == \
        ("horizontalpodautoscalers", "HorizontalPodAutoscaler", ["hpa"], ["all"])
    (autoscaling,) = [g for g in aggregated.groups()["items"] if g["metadata"]["name"] == "autoscaling"]
    assert [(v["version"], v["resources"][0]["responseKind"]["version"]) for v in autoscaling["versions"]] == \
        [("v2", "v2"), ("v1", "v1")]


def test_openapi_publishes_the_v1_schema() -> None:
    document = orjson.loads(openapi.v3_documents()["apis/autoscaling/v1"].body)
    (schema,) = [s for s in document["components"]["schemas"].values()
                 if {"group": "autoscaling", "version": "v1", "kind": "HorizontalPodAutoscaler"}
                 in s.get("x-kubernetes-group-version-kind", [])]
    spec = document["components"]["schemas"][schema["properties"]["spec"]["$ref"].removeprefix(openapi.V3_REF)]
    assert "targetCPUUtilizationPercentage" in spec["properties"]


def test_a_v1_path_is_served_on_the_stored_kind() -> None:
    path = conversion.stored(parse(V1_PATH))
    assert (path.info.version, path.served and path.served.version, path.name) == ("v2", "v1", "web")
    v2_path = parse(V1_PATH.replace("/v1/", "/v2/"))
    assert conversion.stored(v2_path) is v2_path


def test_a_v1_body_is_stored_as_v2_and_a_v2_body_left_alone() -> None:
    path = conversion.stored(parse(V1_PATH))
    body = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {**{k: STORED["spec"][k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas")},
                     "targetCPUUtilizationPercentage": 50}}
    assert conversion.intake(path, body)["spec"] == STORED["spec"]
    assert conversion.intake(path, STORED) is STORED


def _answered(obj: Any, status: int = 200) -> Any:
    response = conversion.answer(conversion.stored(parse(V1_PATH)), json_response(obj, status=status))
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    return orjson.loads(response.body)


def test_answers_show_objects_lists_and_table_rows_at_v1() -> None:
    assert _answered(STORED)["spec"]["targetCPUUtilizationPercentage"] == 50
    listed = _answered({"kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2", "items": [STORED]})
    assert listed["apiVersion"] == "autoscaling/v1"
    assert listed["items"][0]["apiVersion"] == "autoscaling/v1"
    table = _answered({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "rows": [{"cells": [], "object": STORED}]})
    assert table["rows"][0]["object"]["spec"]["targetCPUUtilizationPercentage"] == 50
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
    assert _answered(status, 404) == status


def test_a_patch_at_v1_applies_to_the_v1_object() -> None:
    path = conversion.stored(parse(V1_PATH))

    def raise_target(current: dict[str, Any]) -> dict[str, Any]:
        return {**current, "spec": {**current["spec"], "targetCPUUtilizationPercentage": 70}}
    patched = conversion.patched(path, raise_target)(STORED)
    assert patched["apiVersion"] == "autoscaling/v2"
    assert patched["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        if not value:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_kubectl_autoscales_protobuf_body_is_read() -> None:
    """`kubectl autoscale` posts the v1 object in protobuf, as client-go's typed client does."""
    type_meta = _field(1, b"autoscaling/v1") + _field(2, b"HorizontalPodAutoscaler")
    ref = _field(1, b"Deployment") + _field(2, b"web") + _field(3, b"apps/v1")
    spec = _field(1, ref) + _field(2, 1) + _field(3, 4) + _field(4, 50)
    status = _field(3, 0) + _field(4, 0)
    raw = _field(1, _field(1, b"web")) + _field(2, spec) + _field(3, status)
    hpa = protobuf.hpa_v1(protobuf.MAGIC + _field(1, type_meta) + _field(2, raw))
    assert hpa == {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
                   "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                            "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 50}}
    with pytest.raises(protobuf.ProtobufError, match="expected an autoscaling/v1 HorizontalPodAutoscaler"):
        protobuf.hpa_v1(protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, raw))


def test_a_v1_watchs_bookmarks_name_v1() -> None:
    line = watch._bookmark(conversion.stored(parse(V1_PATH)), "0.horizontalpodautoscalers.1")
    assert orjson.loads(line)["object"]["apiVersion"] == "autoscaling/v1"
