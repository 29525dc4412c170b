"""autoscaling/v2 HorizontalPodAutoscaler admission: kind lookup, defaults, validation in
kube-apiserver's words (and never a crash on any input), kubectl's columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ManifestInvalid, validate_object
from schemas.defaults import default_document
from schemas.printing import COLUMNS
from schemas.registry import lookup_kind, resolve_resource


def doc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "maxReplicas": 5, **spec}}


def errors(d: dict[str, Any]) -> list[str]:
    with pytest.raises(ManifestInvalid) as info:
        validate_object(d)
    return [str(e) for e in info.value.errors]


def test_the_example_is_admitted() -> None:
    example = Path(__file__).parents[3] / "examples" / "hpa.yaml"
    kinds = [validate_object(d).kind for d in yaml.safe_load_all(example.read_text())]
    assert kinds == ["Deployment", "HorizontalPodAutoscaler"]


def test_served_as_autoscaling_v2_hpa() -> None:
    info = resolve_resource("hpa")
    assert (info.api_version, info.plural, info.namespaced) == ("autoscaling/v2", "horizontalpodautoscalers", True)
    assert lookup_kind("autoscaling/v2", "HorizontalPodAutoscaler") is info
    assert lookup_kind("apps/v1", "Deployment").version == "v1"


def test_defaults_as_upstream() -> None:
    d = doc()
    default_document(d, namespaced=True)
    assert d["spec"]["minReplicas"] == 1
    assert d["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    assert "behavior" not in d["spec"]
    d = doc(behavior={"scaleDown": {"stabilizationWindowSeconds": 5}})
    default_document(d, namespaced=True)
    assert d["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 5, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}


def test_validation_messages() -> None:
    assert errors(doc(minReplicas=0, maxReplicas=0)) == [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.maxReplicas: Required value: must be set and greater than 0"]
    assert errors(doc(minReplicas=6)) == ["spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"]
    assert errors(doc(scaleTargetRef={"kind": "", "name": ""})) == [
        "spec.scaleTargetRef.kind: Required value", "spec.scaleTargetRef.name: Required value"]
    assert errors(doc(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}])) == [
        "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value "
        "or a target utilization"]
    assert errors(doc(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "-1"}}}])) == [
        'spec.metrics[0].resource.target.averageValue: Invalid value: "-1": must be positive']
    assert errors(doc(metrics=[{"type": "External"}])) == [
        'spec.metrics[0].type: Unsupported value: "External": supported values: "Resource"']
    assert errors(doc(behavior={"scaleUp": {"selectPolicy": "Fast", "policies": [
        {"type": "Pods", "value": 0, "periodSeconds": 1801}]}})) == [
        'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Fast": supported values: "Disabled", "Max", "Min"',
        "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
        "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800"]


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=3), max_leaves=10)
spec_fields = st.fixed_dictionaries({}, optional={
    "scaleTargetRef": json_values, "minReplicas": json_values, "maxReplicas": json_values,
    "metrics": st.lists(st.fixed_dictionaries({}, optional={"type": st.sampled_from(["Resource", "", "Pods"]),
                                                            "resource": json_values}), max_size=2),
    "behavior": json_values})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_fields)
def test_any_spec_is_admitted_or_rejected_with_field_errors(spec: dict[str, Any]) -> None:
    d = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"}, "spec": spec}
    try:
        validate_object(d)
    except ManifestInvalid as exc:
        assert exc.errors and all(str(e).startswith("spec") for e in exc.errors)


def test_kubectl_columns() -> None:
    headers, row, _, _ = COLUMNS["horizontalpodautoscalers"]
    assert headers == ["REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS"]
    d = doc(minReplicas=1, metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}, {"type": "Resource", "resource": {"name": "memory",
                                                                                             "target": {"type": "AverageValue", "averageValue": "64Mi"}}}])
    assert row(d) == ["Deployment/web", "cpu: <unknown>/50%, memory: <unknown>/64Mi", "1", "5", "0"]
    d["status"] = {"currentReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 120, "averageValue": "60m"}}},
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "10Mi"}}}]}
    assert row(d) == ["Deployment/web", "cpu: 120%/50%, memory: 10Mi/64Mi", "1", "5", "3"]
