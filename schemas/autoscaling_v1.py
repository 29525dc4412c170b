"""``autoscaling/v1`` HorizontalPodAutoscaler: its model (the OpenAPI schema and field
validation of the HTTP API) and upstream's conversion to and from ``autoscaling/v2``, the
version Kafkube stores (`pkg/apis/autoscaling/v1/conversion.go`):

- ``spec.targetCPUUtilizationPercentage`` is the first Resource ``cpu`` Utilization metric;
  the other metrics travel in the annotation ``autoscaling.alpha.kubernetes.io/metrics``
  (v1 ``MetricSpec`` JSON), ``spec.behavior`` in ``.../behavior`` (Go field names, as
  upstream marshals its internal type), the status' metrics in ``.../current-metrics`` and
  its conditions in ``.../conditions``;
- ``status.currentCPUUtilizationPercentage`` is the cpu metric's current utilization;
- a v1 object without metrics gets the cpu target of 80 % (upstream's explicit default).

Annotations that do not parse are ignored, as upstream does. Pure, on JSON objects; used by
``services.apiserver.conversion``."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from schemas.autoscaling import DEFAULT_CPU_UTILIZATION, CrossVersionObjectReference
from schemas.meta import Int32, Int64, KubeModel, Resource, Time

Obj = dict[str, Any]
V1 = "autoscaling/v1"
V2 = "autoscaling/v2"
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP_ANNOTATIONS = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION)


class HorizontalPodAutoscalerSpecV1(KubeModel):
    scale_target_ref: CrossVersionObjectReference = CrossVersionObjectReference()
    min_replicas: Int32 | None = None
    max_replicas: Int32 = 0
    target_cpu_utilization_percentage: Int32 | None = Field(default=None, alias="targetCPUUtilizationPercentage")


class HorizontalPodAutoscalerStatusV1(KubeModel):
    observed_generation: Int64 | None = None
    last_scale_time: Time | None = None
    current_replicas: Int32 = 0
    desired_replicas: Int32 = 0
    current_cpu_utilization_percentage: Int32 | None = Field(default=None, alias="currentCPUUtilizationPercentage")


class HorizontalPodAutoscalerV1(Resource):
    api_version: Literal["autoscaling/v1"] = "autoscaling/v1"
    kind: Literal["HorizontalPodAutoscaler"] = "HorizontalPodAutoscaler"
    spec: HorizontalPodAutoscalerSpecV1 = HorizontalPodAutoscalerSpecV1()
    status: HorizontalPodAutoscalerStatusV1 | None = None


# -- v2 -> v1 --------------------------------------------------------------------------------
def _obj(value: Any) -> Obj:
    """`value` when it is an object, else an empty one (a stored object is validated; a
    part that is not an object is read as absent rather than failing a read)."""
    return value if isinstance(value, dict) else {}


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = _obj(metric.get("resource"))
    return (metric.get("type") == "Resource" and resource.get("name") == "cpu"
            and _obj(resource.get("target")).get("averageUtilization") is not None)


def _metric_v1(metric: Obj) -> Obj:
    """A v2 MetricSpec as v1 writes it (Kafkube serves Resource metrics only; others as given)."""
    if metric.get("type") != "Resource":
        return metric
    resource = _obj(metric.get("resource"))
    target = _obj(resource.get("target"))
    converted = {"name": resource.get("name", "")}
    for v2_field, v1_field in (("averageUtilization", "targetAverageUtilization"),
                               ("averageValue", "targetAverageValue")):
        if target.get(v2_field) is not None:
            converted[v1_field] = target[v2_field]
    return {"type": "Resource", "resource": converted}


def _metric_status_v1(metric: Obj) -> Obj:
    if metric.get("type") != "Resource":
        return metric
    resource = _obj(metric.get("resource"))
    current = _obj(resource.get("current"))
    converted: Obj = {"name": resource.get("name", "")}
    if current.get("averageUtilization") is not None:
        converted["currentAverageUtilization"] = current["averageUtilization"]
    converted["currentAverageValue"] = current.get("averageValue") or "0"  # a Quantity, not a pointer, in v1
    return {"type": "Resource", "resource": converted}


_GO_NAMES = {"scaleUp": "ScaleUp", "scaleDown": "ScaleDown", "stabilizationWindowSeconds": "StabilizationWindowSeconds",
             "selectPolicy": "SelectPolicy", "policies": "Policies", "type": "Type", "value": "Value",
             "periodSeconds": "PeriodSeconds"}
_JSON_NAMES = {go.lower(): name for name, go in _GO_NAMES.items()}


def _renamed(value: Any, names: dict[str, str], *, fold: bool = False) -> Any:
    """`value` with its object keys renamed (case-insensitively with `fold`, as Go decodes JSON)."""
    if isinstance(value, dict):
        return {names.get(k.lower() if fold else k, k): _renamed(v, names, fold=fold) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names, fold=fold) for v in value]
    return value


def _listed_objects(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _convertible(hpa: Obj) -> bool:
    """Are the parts the conversion reads objects (or absent)? Else the object is only
    relabelled, and the API's validation names what is wrong."""
    meta = hpa.get("metadata")
    parts = (meta, hpa.get("spec"), hpa.get("status"), meta.get("annotations") if isinstance(meta, dict) else None)
    return all(part is None or isinstance(part, dict) for part in parts)


def to_v1(hpa: Obj) -> Obj:
    """An autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 shows it."""
    if not _convertible(hpa):
        return {**hpa, "apiVersion": V1}
    spec, status = hpa.get("spec") or {}, hpa.get("status")
    metrics = _listed_objects(spec.get("metrics"))
    meta = dict(hpa.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in ROUND_TRIP_ANNOTATIONS}
    if other := [_metric_v1(m) for m in metrics if not _is_cpu_utilization(m)]:
        annotations[METRICS_ANNOTATION] = _dumps(other)
    if status and (current := _listed_objects(status.get("currentMetrics"))):
        annotations[CURRENT_METRICS_ANNOTATION] = _dumps([_metric_status_v1(m) for m in current])
    if spec.get("behavior") is not None:
        annotations[BEHAVIOR_ANNOTATION] = _dumps(_renamed(spec["behavior"], _GO_NAMES))
    if status and isinstance(status.get("conditions"), list) and status["conditions"]:
        annotations[CONDITIONS_ANNOTATION] = _dumps(status["conditions"])
    meta.pop("annotations", None)
    if annotations:
        meta["annotations"] = annotations
    v1_spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    if cpu := next((m for m in metrics if _is_cpu_utilization(m)), None):
        v1_spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    converted = {**hpa, "apiVersion": V1, "metadata": meta, "spec": v1_spec}
    if status is not None:
        converted["status"] = _status_v1(status)
    return converted


def _status_v1(status: Obj) -> Obj:
    converted: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime") if k in status}
    converted |= {"currentReplicas": status.get("currentReplicas") or 0, "desiredReplicas": status.get("desiredReplicas") or 0}
    for metric in _listed_objects(status.get("currentMetrics")):
        resource = _obj(metric.get("resource"))
        utilization = _obj(resource.get("current")).get("averageUtilization")
        if metric.get("type") == "Resource" and resource.get("name") == "cpu" and utilization is not None:
            converted["currentCPUUtilizationPercentage"] = utilization
    return converted


# -- v1 -> v2 --------------------------------------------------------------------------------
def _loaded(annotations: dict[str, Any], name: str) -> Any:
    """An annotation's JSON, or None when absent or not JSON."""
    try:
        return json.loads(annotations[name]) if isinstance(annotations.get(name), str) else None
    except json.JSONDecodeError:
        return None


def _metric_v2(metric: Any) -> Obj | None:
    if not isinstance(metric, dict):
        return None
    if metric.get("type") != "Resource" or not isinstance(metric.get("resource"), dict):
        return metric
    resource = metric["resource"]
    utilization, value = resource.get("targetAverageUtilization"), resource.get("targetAverageValue")
    target: Obj = {"type": "AverageValue" if utilization is None else "Utilization"}
    if value is not None:
        target["averageValue"] = value
    if utilization is not None:
        target["averageUtilization"] = utilization
    return {"type": "Resource", "resource": {"name": resource.get("name", ""), "target": target}}


def _metric_status_v2(metric: Any) -> Obj | None:
    if not isinstance(metric, dict):
        return None
    if metric.get("type") != "Resource" or not isinstance(metric.get("resource"), dict):
        return metric
    resource = metric["resource"]
    current: Obj = {"averageValue": resource.get("currentAverageValue") or "0"}
    if resource.get("currentAverageUtilization") is not None:
        current["averageUtilization"] = resource["currentAverageUtilization"]
    return {"type": "Resource", "resource": {"name": resource.get("name", ""), "current": current}}


def _cpu_metric(utilization: Any) -> Obj:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": utilization}}}


def _listed(value: Any, convert: Any) -> list[Obj] | None:
    """The converted elements of an annotation's list; None when it is not a list."""
    if not isinstance(value, list):
        return None
    return [c for c in map(convert, value) if c is not None]


def from_v1(hpa: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler as autoscaling/v2 (stored) holds it."""
    if not _convertible(hpa):
        return {**hpa, "apiVersion": V2}
    spec, status = hpa.get("spec") or {}, hpa.get("status")
    meta = dict(hpa.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    metrics = [_cpu_metric(spec["targetCPUUtilizationPercentage"])] \
        if spec.get("targetCPUUtilizationPercentage") is not None else []
    if (other := _listed(_loaded(annotations, METRICS_ANNOTATION), _metric_v2)) is not None:
        metrics = other + metrics
    v2_spec: Obj = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
    v2_spec["metrics"] = metrics or [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = _loaded(annotations, BEHAVIOR_ANNOTATION)
    if isinstance(behavior, dict) and (behavior := _renamed(behavior, _JSON_NAMES, fold=True)):
        v2_spec["behavior"] = behavior
    converted = {**hpa, "apiVersion": V2, "spec": v2_spec}
    if status is not None or CURRENT_METRICS_ANNOTATION in annotations or CONDITIONS_ANNOTATION in annotations:
        converted["status"] = _status_v2(status or {}, annotations)
    remaining = {k: v for k, v in annotations.items() if k not in ROUND_TRIP_ANNOTATIONS}
    meta.pop("annotations", None)
    converted["metadata"] = {**meta, "annotations": remaining} if remaining else meta
    return converted


def _status_v2(status: Obj, annotations: dict[str, Any]) -> Obj:
    converted: Obj = {k: status[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
                 if k in status}
    if status.get("currentCPUUtilizationPercentage") is not None:
        converted["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
    if (current := _listed(_loaded(annotations, CURRENT_METRICS_ANNOTATION), _metric_status_v2)) is not None:
        converted["currentMetrics"] = current
    conditions = _loaded(annotations, CONDITIONS_ANNOTATION)
    if isinstance(conditions, list):
        converted["conditions"] = [c for c in conditions if isinstance(c, dict)]
    return converted
