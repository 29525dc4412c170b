"""One HPA sync, pure, as upstream's `reconcileAutoscaler`: the HPA, its scale target,
the target's pods, their latest metric samples, the recommendation history and *now*
in; a `Plan` out: the status to write (currentReplicas, desiredReplicas,
currentMetrics, lastScaleTime, conditions AbleToScale / ScalingActive /
ScalingLimited with upstream's reasons), the rescale to ask for (if any), the events
(SuccessfulRescale "New size: N; reason: ...", FailedGetScale,
FailedGetResourceMetric, FailedComputeMetricsReplicas, SelectorRequired) and the
history to keep. Called by `services.controllers.hpa.service` once per HPA key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.autoscaling import HorizontalPodAutoscaler, HPAScalingRules, MetricSpec, scale_down_rules, scale_up_rules
from schemas.metrics import PodMetrics
from schemas.quantity import parse_quantity
from schemas.registry import NoKindMatch, lookup_kind
from services.controllers.machinery.writes import Target
from services.controllers.hpa.behavior import (
    Condition, History, Normalized, Recommendation, normalize, normalize_with_behavior, record_scale,
)
from services.controllers.hpa.facts import SCALABLE_KINDS, Scale, sample
from services.controllers.hpa.replicas import MetricsError, PodFacts, Result, Target as MetricTarget
from services.controllers.hpa.replicas import resource_replicas

Obj = dict[str, Any]
WRITER = "horizontal-pod-autoscaler"


def format_time(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class HPAFacts:
    hpa: HorizontalPodAutoscaler
    status: Obj | None  # the observed status written last
    target: Obj | None  # the scale target's desired record (None: not found)
    pods: Sequence[PodFacts]  # pods of the HPA's namespace
    metrics: Mapping[str, PodMetrics]  # pod name -> its latest current sample
    history: History
    now: datetime


@dataclass(frozen=True, slots=True)
class Rescale:
    target: Target  # at the resourceVersion decided on
    replicas: int
    before: int


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    status: Obj
    history: History
    rescale: Rescale | None = None
    events: tuple[Event, ...] = field(default=())


class _Status:
    """The status being built: conditions set as `setConditionInList` sets them (the
    transition time kept while the status stays the same)."""

    def __init__(self, previous: Obj | None, now: datetime) -> None:
        self.previous = previous or {}
        self.conditions: list[Obj] = [dict(c) for c in self.previous.get("conditions") or []]
        self.now = now

    def set(self, condition: Condition) -> None:
        new = {"type": condition.type, "status": condition.status, "reason": condition.reason,
               "message": condition.message, "lastTransitionTime": format_time(self.now)}
        for i, old in enumerate(self.conditions):
            if old.get("type") == condition.type:
                if old.get("status") == condition.status and old.get("lastTransitionTime"):
                    new["lastTransitionTime"] = old["lastTransitionTime"]
                self.conditions[i] = new
                return
        self.conditions.append(new)

    def build(self, hpa: HorizontalPodAutoscaler, **values: Any) -> Obj:
        status = {k: v for k, v in {**self.previous, **values}.items() if v is not None}
        status["conditions"] = self.conditions
        if hpa.metadata.generation is not None:
            status["observedGeneration"] = hpa.metadata.generation
        return status


def reconcile(facts: HPAFacts) -> Plan:
    hpa, now = facts.hpa, facts.now
    status = _Status(facts.status, now)
    if (failed := _get_scale_error(hpa, facts.target)) is not None:
        status.set(Condition("AbleToScale", "False", "FailedGetScale",
                             f"the HPA controller was unable to get the target's current scale: {failed}"))
        return Plan(status.build(hpa), facts.history, events=(Event("Warning", "FailedGetScale", failed),))
    assert facts.target is not None
    status.set(Condition("AbleToScale", "True", "SucceededGetScale",
                         "the HPA controller was able to get the target's current scale"))
    scale = Scale.of(facts.target)
    current = scale.replicas
    history = facts.history if facts.history.recommendations else \
        History(recommendations=(Recommendation(current, now),))  # recordInitialRecommendation
    min_replicas = hpa.spec.min_replicas if hpa.spec.min_replicas is not None else 1
    metric_statuses: list[Obj] | None = None
    if current == 0 and min_replicas != 0:
        status.set(Condition("ScalingActive", "False", "ScalingDisabled",
                             "scaling is disabled since the replica count of the target is zero"))
        return Plan(status.build(hpa, currentReplicas=current, desiredReplicas=0), history)
    if current > hpa.spec.max_replicas:
        desired, reason = hpa.spec.max_replicas, "Current number of replicas above Spec.MaxReplicas"
    elif current < min_replicas:
        desired, reason = min_replicas, "Current number of replicas below Spec.MinReplicas"
    else:
        if scale.selector is None:
            status.set(Condition("ScalingActive", "False", "InvalidSelector",
                                 "the HPA target's scale is missing a selector"))
            return Plan(status.build(hpa, currentReplicas=current), history,
                        events=(Event("Warning", "SelectorRequired", "selector is required"),))
        pods = [p for p in facts.pods if scale.selects(p.labels)]
        computed = _compute(hpa, current, pods, facts.metrics, now)
        metric_statuses = computed.statuses
        if computed.error is not None:
            status.set(computed.error)
            events = (Event("Warning", computed.error.reason, computed.first_error),
                      Event("Warning", "FailedComputeMetricsReplicas", computed.overall_error))
            return Plan(status.build(hpa, currentReplicas=current, currentMetrics=metric_statuses), history,
                        events=events)
        status.set(Condition("ScalingActive", "True", "ValidMetricFound",
                             f"the HPA was able to successfully calculate a replica count from {computed.name}"))
        reason = f"{computed.name} above target" if computed.replicas > current else \
            "All metrics below target" if computed.replicas < current else ""
        normalized = _normalize(hpa, history, current, computed.replicas, min_replicas, now)
        for condition in normalized.conditions:
            status.set(condition)
        desired, history = normalized.replicas, normalized.history
    return _decide(facts, status, history, current, desired, reason, metric_statuses)


def _decide(facts: HPAFacts, status: _Status, history: History, current: int, desired: int, reason: str,
            metric_statuses: list[Obj] | None) -> Plan:
    hpa, now = facts.hpa, facts.now
    values: dict[str, Any] = {"currentReplicas": current, "desiredReplicas": desired}
    if metric_statuses is not None:
        values["currentMetrics"] = metric_statuses
    if desired == current:
        return Plan(status.build(hpa, **values), history)
    assert facts.target is not None
    status.set(Condition("AbleToScale", "True", "SucceededRescale",
                         f"the HPA controller was able to update the target scale to {desired}"))
    if hpa.spec.behavior is not None:
        up, down = _rules(hpa)
        history = record_scale(history, before=current, after=desired, up=up, down=down, now=now)
    return Plan(status.build(hpa, lastScaleTime=format_time(now), **values), history,
                rescale=Rescale(Target.of(facts.target), desired, current),
                events=(Event("Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}"),))


def _get_scale_error(hpa: HorizontalPodAutoscaler, target: Obj | None) -> str | None:
    """Why the target's scale cannot be read (upstream's words), or None."""
    ref = hpa.spec.scale_target_ref
    try:
        info = lookup_kind(ref.api_version or "", ref.kind)
    except NoKindMatch:
        info = None
    if info is None or info.plural not in SCALABLE_KINDS.values():
        group = (ref.api_version or "").rpartition("/")[0]
        return f'unable to determine resource for scale target reference: no matches for kind "{ref.kind}" ' \
               f'in group "{group}"'
    if target is None:
        return f'{info.plural}{"." + info.group if info.group else ""} "{ref.name}" not found'
    return None


@dataclass(frozen=True, slots=True)
class _Computed:
    replicas: int
    name: str
    statuses: list[Obj]
    error: Condition | None = None
    first_error: str = ""
    overall_error: str = ""


def _metric_target(metric: MetricSpec) -> tuple[str, MetricTarget]:
    assert metric.resource is not None
    target = metric.resource.target
    if target.average_utilization is not None:
        return metric.resource.name, MetricTarget(utilization=target.average_utilization)
    return metric.resource.name, MetricTarget(average_value=int(parse_quantity(target.average_value or "0") * 1000))


def _compute(hpa: HorizontalPodAutoscaler, current: int, pods: Sequence[PodFacts],
             metrics: Mapping[str, PodMetrics], now: datetime) -> _Computed:
    """computeReplicasForMetrics: the largest proposal of the metrics that could be computed."""
    specs = hpa.spec.metrics or []
    statuses: list[Obj] = [{"type": ""} for _ in specs]
    best, best_name, errors = -1, "", []
    for i, spec in enumerate(specs):
        resource, target = _metric_target(spec)
        try:
            if not metrics:
                raise MetricsError(f"unable to get metrics for resource {resource}: "
                                   "no metrics returned from resource metrics API")
            samples = {name: s for name, m in metrics.items() if (s := sample(m, resource)) is not None}
            result = resource_replicas(current, target, resource, pods, samples, now)
        except MetricsError as exc:
            what = "utilization" if target.utilization is not None else "usage"
            errors.append(f"failed to get {resource} resource metric value: failed to get {resource} {what}: {exc}")
            continue
        statuses[i] = _metric_status(resource, result)
        name = f"{resource} resource utilization (percentage of request)" if target.utilization is not None \
            else f"{resource} resource"
        if result.replicas > best:
            best, best_name = result.replicas, name
    if errors and len(errors) == len(specs):
        overall = f"invalid metrics ({len(errors)} invalid out of {len(specs)}), first error is: {errors[0]}"
        condition = Condition("ScalingActive", "False", "FailedGetResourceMetric",
                              f"the HPA was unable to compute the replica count: {errors[0]}")
        return _Computed(-1, "", statuses, condition, errors[0], overall)
    return _Computed(best, best_name, statuses)


def _metric_status(resource: str, result: Result) -> Obj:
    current: Obj = {"averageValue": _quantity(resource, result.average)}
    if result.utilization is not None:
        current["averageUtilization"] = result.utilization
    return {"type": "Resource", "resource": {"name": resource, "current": current}}


def _quantity(resource: str, milli: int) -> str:
    """buildQuantity: CPU in millicores; memory in bytes (with a binary suffix when exact)."""
    if resource == "cpu":
        return f"{milli}m"
    value = milli // 1000
    for suffix, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if value and value % size == 0:
            return f"{value // size}{suffix}"
    return str(value)


def _rules(hpa: HorizontalPodAutoscaler) -> tuple[HPAScalingRules, HPAScalingRules]:
    """The behavior's rules with upstream's defaults in any gap (as the API stores them)."""
    behavior = hpa.spec.behavior
    assert behavior is not None
    dump = behavior.model_dump(by_alias=True, exclude_none=True, mode="json")
    return (HPAScalingRules.model_validate(scale_up_rules(dump.get("scaleUp"))),
            HPAScalingRules.model_validate(scale_down_rules(dump.get("scaleDown"))))


def _normalize(hpa: HorizontalPodAutoscaler, history: History, current: int, recommended: int,
               min_replicas: int, now: datetime) -> Normalized:
    if hpa.spec.behavior is None:
        return normalize(history, current=current, recommended=recommended, min_replicas=min_replicas,
                         max_replicas=hpa.spec.max_replicas, now=now)
    up, down = _rules(hpa)
    return normalize_with_behavior(history, current=current, recommended=recommended, min_replicas=min_replicas,
                                   max_replicas=hpa.spec.max_replicas, up=up, down=down, now=now)
