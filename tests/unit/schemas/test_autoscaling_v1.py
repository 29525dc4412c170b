"""autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscalers, as upstream's conversion.go:
the cpu target, the round-trip annotations, the default cpu metric, broken annotations
ignored; hypothesis: v2 -> v1 -> v2 keeps a cpu-only HPA, v1 -> v2 -> v1 is the identity."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.autoscaling import HorizontalPodAutoscaler
from schemas.autoscaling_v1 import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
    HorizontalPodAutoscalerV1,
    from_v1,
    to_v1,
)
from schemas.manifest import split_documents, validate_object
from schemas.validation import ManifestInvalid

REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def cpu(utilization: int) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": utilization}}}


def v2(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 4, **spec}}


def test_the_cpu_metric_is_the_v1_target_and_its_status_the_current_percentage() -> None:
    hpa = v2(metrics=[cpu(50)])
    hpa["status"] = {"observedGeneration": 2, "currentReplicas": 2, "desiredReplicas": 3,
                     "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                         "averageUtilization": 70, "averageValue": "70m"}}}]}
    shown = to_v1(hpa)
    assert shown["apiVersion"] == "autoscaling/v1"
    assert shown["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 4,
                             "targetCPUUtilizationPercentage": 50}
    assert shown["status"] == {"observedGeneration": 2, "currentReplicas": 2, "desiredReplicas": 3,
                               "currentCPUUtilizationPercentage": 70}
    assert json.loads(shown["metadata"]["annotations"][CURRENT_METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 70, "currentAverageValue": "70m"}}]
    HorizontalPodAutoscalerV1.model_validate(shown)  # the v1 model reads it


def test_other_metrics_and_behavior_travel_in_annotations_and_come_back() -> None:
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                            "averageValue": "64Mi"}}}
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                              "policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]}}
    hpa = v2(metrics=[memory, cpu(60)], behavior=behavior)
    shown = to_v1(hpa)
    annotations = shown["metadata"]["annotations"]
    assert json.loads(annotations[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "64Mi"}}]
    assert json.loads(annotations[BEHAVIOR_ANNOTATION]) == {"ScaleDown": {
        "StabilizationWindowSeconds": 60, "SelectPolicy": "Max",
        "Policies": [{"Type": "Percent", "Value": 50, "PeriodSeconds": 15}]}}
    assert shown["spec"]["targetCPUUtilizationPercentage"] == 60
    back = from_v1(shown)
    assert back["spec"] == hpa["spec"]
    assert "annotations" not in back["metadata"]


def test_conditions_travel_in_an_annotation() -> None:
    hpa = v2(metrics=[cpu(50)])
    condition = {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "message": "ok",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}
    hpa["status"] = {"currentReplicas": 1, "desiredReplicas": 1, "conditions": [condition]}
    shown = to_v1(hpa)
    assert json.loads(shown["metadata"]["annotations"][CONDITIONS_ANNOTATION]) == [condition]
    assert from_v1(shown)["status"]["conditions"] == [condition]


def test_v1_without_a_target_gets_upstreams_cpu_default() -> None:
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
           "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    assert from_v1(hpa)["spec"]["metrics"] == [cpu(80)]


def test_annotations_that_do_not_parse_are_ignored_and_dropped() -> None:
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "annotations": {METRICS_ANNOTATION: "{not json", BEHAVIOR_ANNOTATION: "[1]",
                                                       CONDITIONS_ANNOTATION: '"x"', "team": "a"}},
           "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "targetCPUUtilizationPercentage": 40}}
    stored = from_v1(hpa)
    assert stored["spec"]["metrics"] == [cpu(40)]
    assert "behavior" not in stored["spec"]
    assert stored["metadata"]["annotations"] == {"team": "a"}


def test_behavior_annotation_is_read_case_insensitively_as_go_does() -> None:
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "annotations": {
               BEHAVIOR_ANNOTATION: '{"scaleUp":{"stabilizationWindowSeconds":5}}'}},
           "spec": {"scaleTargetRef": REF, "maxReplicas": 3}}
    assert from_v1(hpa)["spec"]["behavior"] == {"scaleUp": {"stabilizationWindowSeconds": 5}}


def test_stale_round_trip_annotations_on_a_stored_object_are_replaced() -> None:
    hpa = v2(metrics=[cpu(50)])
    hpa["metadata"]["annotations"] = {METRICS_ANNOTATION: "[]", "team": "a"}
    assert to_v1(hpa)["metadata"]["annotations"] == {"team": "a"}


names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
percent = st.integers(min_value=1, max_value=500)
counts = st.integers(min_value=0, max_value=100)
times = st.just("2026-11-28T17:00:00Z")
labels = st.dictionaries(names, names, max_size=3)


@st.composite
def cpu_only_v2(draw: st.DrawFn) -> dict[str, Any]:
    minimum = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=10)))
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": draw(names)},
                            "maxReplicas": draw(st.integers(min_value=1, max_value=50)), "metrics": [cpu(draw(percent))]}
    if minimum is not None:
        spec["minReplicas"] = minimum
    hpa: dict[str, Any] = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                           "metadata": {"name": draw(names), "namespace": draw(names), "labels": draw(labels)},
                           "spec": spec}
    if draw(st.booleans()):
        current = {"averageValue": f"{draw(counts)}m", "averageUtilization": draw(percent)}
        hpa["status"] = {"observedGeneration": draw(counts), "lastScaleTime": draw(times),
                         "currentReplicas": draw(counts), "desiredReplicas": draw(counts),
                         "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": current}}],
                         "conditions": [{"type": "ScalingActive", "status": draw(st.sampled_from(["True", "False"])),
                                         "reason": "ValidMetricFound", "message": draw(names)}]}
    return hpa


@st.composite
def v1_objects(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": draw(names)},
                            "maxReplicas": draw(st.integers(min_value=1, max_value=50)),
                            "targetCPUUtilizationPercentage": draw(percent)}
    if draw(st.booleans()):
        spec["minReplicas"] = draw(st.integers(min_value=1, max_value=10))
    metadata: dict[str, Any] = {"name": draw(names)}
    if annotations := draw(labels):
        metadata["annotations"] = annotations
    hpa: dict[str, Any] = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": metadata,
                           "spec": spec}
    if draw(st.booleans()):
        hpa["status"] = {"currentReplicas": draw(counts), "desiredReplicas": draw(counts),
                         "currentCPUUtilizationPercentage": draw(percent)}
    return hpa


@settings(max_examples=200, deadline=None)
@given(cpu_only_v2())
def test_v2_to_v1_to_v2_keeps_a_cpu_only_hpa(hpa: dict[str, Any]) -> None:
    assert from_v1(to_v1(hpa)) == hpa


@settings(max_examples=200, deadline=None)
@given(v1_objects())
def test_v1_to_v2_to_v1_is_the_identity(hpa: dict[str, Any]) -> None:
    """A status gains the annotation that keeps its metrics' raw values, as upstream's."""
    stored = from_v1(hpa)
    assert stored["apiVersion"] == "autoscaling/v2"
    back = to_v1(stored)
    annotations = back["metadata"].pop("annotations", {})
    if "status" in hpa:
        assert json.loads(annotations.pop(CURRENT_METRICS_ANNOTATION)) == [{"type": "Resource", "resource": {
            "name": "cpu", "currentAverageUtilization": hpa["status"]["currentCPUUtilizationPercentage"],
            "currentAverageValue": "0"}}]
    assert {**back, "metadata": {**back["metadata"], **({"annotations": annotations} if annotations else {})}} == hpa


def test_the_v1_model_reads_and_writes_upstreams_field_names() -> None:
    hpa = HorizontalPodAutoscalerV1.model_validate({
        "metadata": {"name": "web"}, "spec": {"scaleTargetRef": REF, "maxReplicas": 3,
                                              "targetCPUUtilizationPercentage": 50},
        "status": {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 20}})
    dumped = hpa.model_dump(by_alias=True, exclude_none=True)
    assert dumped["spec"]["targetCPUUtilizationPercentage"] == 50
    assert dumped["status"]["currentCPUUtilizationPercentage"] == 20


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=12)
keys = st.sampled_from(["metadata", "spec", "status", "annotations", "metrics", "currentMetrics", "conditions",
                        "resource", "target", "current", "type", "name", "targetCPUUtilizationPercentage",
                        "currentCPUUtilizationPercentage", "averageUtilization", METRICS_ANNOTATION,
                        BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION])
shaped = st.recursive(json_values, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, shaped, max_size=4))
def test_any_object_converts_both_ways_without_failing(hpa: dict[str, Any]) -> None:
    """Whatever a client sends or a topic holds, the conversion answers an object."""
    assert from_v1(hpa)["apiVersion"] == "autoscaling/v2"
    assert to_v1(hpa)["apiVersion"] == "autoscaling/v1"


def test_a_v1_manifest_is_admitted_as_the_stored_v2() -> None:
    """`kafkube apply` and kafkube.manifests read v1 HPAs as the v2 ones stored."""
    manifest = b"""\
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
  targetCPUUtilizationPercentage: 60
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
"""
    hpa, config_map = split_documents(manifest)
    assert hpa.doc is not None and config_map.doc is not None
    assert config_map.doc["apiVersion"] == "v1"
    admitted = validate_object(hpa.doc)
    assert isinstance(admitted, HorizontalPodAutoscaler)
    assert admitted.spec.metrics and admitted.spec.metrics[0].resource is not None
    assert admitted.spec.metrics[0].resource.target.average_utilization == 60
    bad = split_documents(manifest.replace(b"maxReplicas: 3", b"minReplicas: 1"))[0].doc
    with pytest.raises(ManifestInvalid, match="spec.maxReplicas: Required value"):
        validate_object(bad or {})
