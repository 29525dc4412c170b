"""``autoscaling/v2`` HorizontalPodAutoscaler: the model, upstream's defaults
(`default_hpa`) and validation with kube-apiserver's messages (`check_hpa`).

Used by the registry (kind, topics), ``schemas.defaults`` / ``schemas.checks`` (admission),
``schemas.printing`` (kubectl's columns) and the HPA controller
(``services.controllers.hpa``), which reads the spec and writes the status.
"""

from __future__ import annotations

from typing import Any, Literal

from schemas.meta import Condition, Int32, Int64, KubeModel, Resource, Time
from schemas.quantity import parse_quantity
from schemas.rbac import is_path_segment_name
from schemas.validation import FieldError, not_supported

AUTOSCALING_GROUP = "autoscaling"
DEFAULT_CPU_UTILIZATION = 80
MAX_STABILIZATION_WINDOW_SECONDS = 3600
MAX_PERIOD_SECONDS = 1800
SCALE_DOWN_STABILIZATION_SECONDS = 300  # kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization



class CrossVersionObjectReference(KubeModel):
    api_version: str | None = None
    kind: str = ""
    name: str = ""


class MetricTarget(KubeModel):
    type: str = ""
    value: str | None = None
    average_value: str | None = None
    average_utilization: Int32 | None = None


class ResourceMetricSource(KubeModel):
    name: str = ""
    target: MetricTarget = MetricTarget()


class MetricSpec(KubeModel):
    type: str = ""
    resource: ResourceMetricSource | None = None


class HPAScalingPolicy(KubeModel):
    type: str
    value: Int32
    period_seconds: Int32


class HPAScalingRules(KubeModel):
    stabilization_window_seconds: Int32 | None = None
    select_policy: str | None = None
    policies: list[HPAScalingPolicy] | None = None


class HorizontalPodAutoscalerBehavior(KubeModel):
    scale_up: HPAScalingRules | None = None
    scale_down: HPAScalingRules | None = None


class HorizontalPodAutoscalerSpec(KubeModel):
    scale_target_ref: CrossVersionObjectReference = CrossVersionObjectReference()
    min_replicas: Int32 | None = None
    max_replicas: Int32 = 0
    metrics: list[MetricSpec] | None = None
    behavior: HorizontalPodAutoscalerBehavior | None = None


class MetricValueStatus(KubeModel):
    value: str | None = None
    average_value: str | None = None
    average_utilization: Int32 | None = None


class ResourceMetricStatus(KubeModel):
    name: str
    current: MetricValueStatus


class MetricStatus(KubeModel):
    type: str
    resource: ResourceMetricStatus | None = None


class HorizontalPodAutoscalerStatus(KubeModel):
    observed_generation: Int64 | None = None
    last_scale_time: Time | None = None
    current_replicas: Int32 | None = None
    desired_replicas: Int32 = 0
    current_metrics: list[MetricStatus] | None = None
    conditions: list[Condition] | None = None


class HorizontalPodAutoscaler(Resource):
    api_version: Literal["autoscaling/v2"] = "autoscaling/v2"
    kind: Literal["HorizontalPodAutoscaler"] = "HorizontalPodAutoscaler"
    spec: HorizontalPodAutoscalerSpec = HorizontalPodAutoscalerSpec()
    status: HorizontalPodAutoscalerStatus | None = None


# -- defaults (SetDefaults_HorizontalPodAutoscaler) -----------------------------------------
def scale_up_rules(rules: dict[str, Any] | None) -> dict[str, Any]:
    """GenerateHPAScaleUpRules: 0 s window, Max of +4 pods / +100 % per 15 s."""
    given = rules or {}
    return {"stabilizationWindowSeconds": given.get("stabilizationWindowSeconds", 0),
            "selectPolicy": given.get("selectPolicy", "Max"),
            "policies": given.get("policies") or [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                                  {"type": "Percent", "value": 100, "periodSeconds": 15}]}


def scale_down_rules(rules: dict[str, Any] | None) -> dict[str, Any]:
    """GenerateHPAScaleDownRules: 300 s window, -100 % per 15 s."""
    given = rules or {}
    return {"stabilizationWindowSeconds": given.get("stabilizationWindowSeconds", SCALE_DOWN_STABILIZATION_SECONDS),
            "selectPolicy": given.get("selectPolicy", "Max"),
            "policies": given.get("policies") or [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def default_hpa(doc: dict[str, Any]) -> None:
    """minReplicas 1, a CPU target of 80 % without metrics, and a given behavior's gaps
    filled (an absent behavior stays absent: the controller's own rules apply)."""
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        spec["behavior"] = {**behavior, "scaleUp": scale_up_rules(behavior.get("scaleUp")),
                            "scaleDown": scale_down_rules(behavior.get("scaleDown"))}


# -- validation (pkg/apis/autoscaling/validation) --------------------------------------------
def check_hpa(hpa: HorizontalPodAutoscaler) -> list[FieldError]:
    spec = hpa.spec
    errs = _check_target_ref(spec.scale_target_ref)
    if spec.min_replicas is not None and spec.min_replicas < 1:
        errs.append(FieldError("spec.minReplicas", "Invalid", spec.min_replicas, "must be greater than or equal to 1"))
    if spec.max_replicas == 0:
        errs.append(FieldError("spec.maxReplicas", "Required", None, "must be set and greater than 0"))
    elif spec.max_replicas < 1:
        errs.append(FieldError("spec.maxReplicas", "Invalid", spec.max_replicas, "must be greater than or equal to 1"))
    if spec.min_replicas is not None and spec.max_replicas < spec.min_replicas:
        errs.append(FieldError("spec.maxReplicas", "Invalid", spec.max_replicas,
                               "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.metrics or []):
        errs += _check_metric(metric, f"spec.metrics[{i}]")
    if spec.behavior is not None:
        errs += _check_rules(spec.behavior.scale_up, "spec.behavior.scaleUp")
        errs += _check_rules(spec.behavior.scale_down, "spec.behavior.scaleDown")
    return errs


def _check_target_ref(ref: CrossVersionObjectReference) -> list[FieldError]:
    errs: list[FieldError] = []
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        path = f"spec.scaleTargetRef.{field}"
        if not value:
            errs.append(FieldError(path, "Required", None, ""))
        errs += [FieldError(path, "Invalid", value, m) for m in (is_path_segment_name(value) if value else [])]
    return errs


def _check_metric(metric: MetricSpec, path: str) -> list[FieldError]:
    if not metric.type:
        return [FieldError(f"{path}.type", "Required", None, "must specify a metric source type")]
    if metric.type != "Resource":  # the only source with a metrics pipeline here
        return [not_supported(f"{path}.type", metric.type, ["Resource"])]
    source = metric.resource
    if source is None:
        return [FieldError(f"{path}.resource", "Required", None, "must populate information for the given metric source")]
    path = f"{path}.resource"
    errs: list[FieldError] = []
    if not source.name:
        errs.append(FieldError(f"{path}.name", "Required", None, "must specify a resource name"))
    elif source.name not in ("cpu", "memory"):
        errs.append(not_supported(f"{path}.name", source.name, ["cpu", "memory"]))
    target = source.target
    if target.average_utilization is None and target.average_value is None:
        errs.append(FieldError(f"{path}.target.averageUtilization", "Required", None,
                               "must set either a target raw value or a target utilization"))
    if target.average_utilization is not None and target.average_value is not None:
        errs.append(FieldError(f"{path}.target.averageValue", "Forbidden", None,
                               "may not set both a target raw value and a target utilization"))
    return errs + _check_target(target, f"{path}.target")


def _check_target(target: MetricTarget, path: str) -> list[FieldError]:
    if not target.type:
        return [FieldError(f"{path}.type", "Required", None, "must specify a metric target type")]
    if target.type not in ("Utilization", "Value", "AverageValue"):
        return [FieldError(f"{path}.type", "Invalid", target.type, "must be either Utilization, Value, or AverageValue")]
    errs: list[FieldError] = []
    for field, value in (("value", target.value), ("averageValue", target.average_value)):
        if value is not None and not _positive(value):
            errs.append(FieldError(f"{path}.{field}", "Invalid", value, "must be positive"))
    if target.average_utilization is not None and target.average_utilization <= 0:
        errs.append(FieldError(f"{path}.averageUtilization", "Invalid", target.average_utilization,
                               "must be greater than 0"))
    return errs


def _positive(quantity: str) -> bool:
    try:
        return parse_quantity(quantity) > 0
    except ValueError:
        return False


def _check_rules(rules: HPAScalingRules | None, path: str) -> list[FieldError]:
    if rules is None:
        return []
    errs: list[FieldError] = []
    window = rules.stabilization_window_seconds
    if window is not None and window < 0:
        errs.append(FieldError(f"{path}.stabilizationWindowSeconds", "Invalid", window, "must be greater than or equal to zero"))
    if window is not None and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errs.append(FieldError(f"{path}.stabilizationWindowSeconds", "Invalid", window,
                               f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    if rules.select_policy is not None and rules.select_policy not in ("Disabled", "Max", "Min"):
        errs.append(not_supported(f"{path}.selectPolicy", rules.select_policy, ["Disabled", "Max", "Min"]))
    # no "must specify at least one Policy": defaulting gives empty policies upstream's (as in kube-apiserver)
    for i, policy in enumerate(rules.policies or []):
        errs += _check_policy(policy, f"{path}.policies[{i}]")
    return errs


def _check_policy(policy: HPAScalingPolicy, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if policy.type not in ("Pods", "Percent"):
        errs.append(not_supported(f"{path}.type", policy.type, ["Percent", "Pods"]))
    if policy.value <= 0:
        errs.append(FieldError(f"{path}.value", "Invalid", policy.value, "must be greater than zero"))
    if policy.period_seconds <= 0:
        errs.append(FieldError(f"{path}.periodSeconds", "Invalid", policy.period_seconds, "must be greater than zero"))
    if policy.period_seconds > MAX_PERIOD_SECONDS:
        errs.append(FieldError(f"{path}.periodSeconds", "Invalid", policy.period_seconds,
                               f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs
