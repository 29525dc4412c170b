"""One HPA sync as a plan: rescale, status and conditions, events, in upstream's words."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.autoscaling import HorizontalPodAutoscaler
from schemas.metrics import ContainerMetrics, PodMetrics, Usage
from schemas.meta import ObjectMeta
from services.controllers.hpa.behavior import History, Recommendation
from services.controllers.hpa.facts import pod_facts
from services.controllers.hpa.reconcile import HPAFacts, reconcile

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
T0 = "2026-01-01T11:00:00Z"


def hpa(**spec: Any) -> HorizontalPodAutoscaler:
    return HorizontalPodAutoscaler.model_validate({
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "generation": 2},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 10,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 50}}}], **spec}})


def deployment(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d1", "resourceVersion": "7"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}}}


def pods(n: int, labels: dict[str, str] | None = None) -> list[Any]:
    out = []
    for i in range(n):
        desired = {"metadata": {"name": f"web-{i}", "namespace": "default", "labels": labels or {"app": "web"}},
                   "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "50m"}}}]}}
        status = {"phase": "Running", "startTime": T0,
                  "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": T0}]}
        out.append(pod_facts(desired, status))
    return out


def metrics(**nanocores: int) -> dict[str, PodMetrics]:
    return {name: PodMetrics(metadata=ObjectMeta(name=name, namespace="default"), timestamp=NOW - timedelta(seconds=2),
                             window="2s", containers=[ContainerMetrics(name="app", usage=Usage(cpu=f"{n}n",
                                                                                              memory="1024Ki"))])
            for name, n in nanocores.items()}


def facts(h: HorizontalPodAutoscaler, replicas: int, usage: dict[str, int], *, status: Any = None,
          history: History = History(), target: Any = "deployment") -> HPAFacts:
    return HPAFacts(hpa=h, status=status, target=deployment(replicas) if target == "deployment" else target,
                    pods=pods(replicas), metrics=metrics(**usage), history=history, now=NOW)


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}


def test_cpu_above_target_rescales_with_upstream_event_and_status() -> None:
    plan = reconcile(facts(hpa(), 2, {"web-0": 100_000_000, "web-1": 100_000_000}))  # 200 % of 50m
    assert plan.rescale is not None and plan.rescale.replicas == 4  # 2 * 2, scale-up limit max(2*2, 4)
    assert plan.rescale.target.resource_version == "7" and plan.rescale.target.kind == "Deployment"
    [event] = plan.events
    assert (event.reason, event.message) == (
        "SuccessfulRescale", "New size: 4; reason: cpu resource utilization (percentage of request) above target")
    st = plan.status
    assert (st["currentReplicas"], st["desiredReplicas"], st["lastScaleTime"]) == (2, 4, "2026-01-01T12:00:00Z")
    assert st["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 200, "averageValue": "100m"}}}]
    assert conditions(st) == {"AbleToScale": ("True", "SucceededRescale"), "ScalingActive": ("True", "ValidMetricFound"),
                              "ScalingLimited": ("True", "ScaleUpLimit")}
    assert st["observedGeneration"] == 2


def test_at_target_nothing_to_do_and_transition_times_kept() -> None:
    first = reconcile(facts(hpa(), 2, {"web-0": 25_000_000, "web-1": 25_000_000}))
    assert first.rescale is None and first.events == ()
    later = reconcile(HPAFacts(hpa=hpa(), status=first.status, target=deployment(2), pods=pods(2),
                               metrics=metrics(**{"web-0": 26_000_000, "web-1": 25_000_000}),
                               history=first.history, now=NOW + timedelta(seconds=15)))
    assert later.rescale is None
    assert [c["lastTransitionTime"] for c in later.status["conditions"]] == \
        [c["lastTransitionTime"] for c in first.status["conditions"]]
    assert conditions(later.status)["ScalingLimited"] == ("False", "DesiredWithinRange")


def test_scale_down_waits_for_the_stabilisation_window() -> None:
    recent = History((Recommendation(4, NOW - timedelta(seconds=60)),))
    plan = reconcile(facts(hpa(), 4, {f"web-{i}": 1_000_000 for i in range(4)}, history=recent))
    assert plan.rescale is None and conditions(plan.status)["AbleToScale"] == ("True", "ScaleDownStabilized")
    short = hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 30}})
    plan = reconcile(facts(short, 4, {f"web-{i}": 1_000_000 for i in range(4)}, history=recent))
    assert plan.rescale is not None and plan.rescale.replicas == 1  # min; 100 % per 15 s allows it
    assert plan.events[0].message == "New size: 1; reason: All metrics below target"
    assert plan.history.scale_downs[-1].change == 3


def test_replicas_outside_min_max_are_brought_back_without_metrics() -> None:
    plan = reconcile(facts(hpa(maxReplicas=3), 5, {}))
    assert plan.rescale is not None and plan.rescale.replicas == 3
    assert plan.events[0].message == "New size: 3; reason: Current number of replicas above Spec.MaxReplicas"


def test_no_metrics_means_scaling_inactive_in_upstream_words() -> None:
    plan = reconcile(facts(hpa(), 2, {}))
    assert plan.rescale is None
    assert conditions(plan.status)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert [e.reason for e in plan.events] == ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
    assert plan.events[1].message == (
        "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: "
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from "
        "resource metrics API")
    assert plan.status["currentMetrics"] == [{"type": ""}] and "desiredReplicas" not in plan.status


def test_missing_target_and_unsupported_kind() -> None:
    plan = reconcile(facts(hpa(), 2, {}, target=None))
    assert conditions(plan.status) == {"AbleToScale": ("False", "FailedGetScale")}
    assert plan.events[0].message == 'deployments.apps "web" not found'
    odd = hpa(scaleTargetRef={"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"})
    plan = reconcile(facts(odd, 2, {}, target=None))
    assert plan.events[0].message == ('unable to determine resource for scale target reference: '
                                      'no matches for kind "StatefulSet" in group "apps"')


def test_target_at_zero_disables_scaling() -> None:
    plan = reconcile(facts(hpa(), 0, {}))
    assert plan.rescale is None
    assert conditions(plan.status)["ScalingActive"] == ("False", "ScalingDisabled")


def test_a_sample_that_does_not_parse_counts_as_missing() -> None:
    bad = metrics(**{"web-0": 100_000_000, "web-1": 100_000_000})
    bad["web-1"] = bad["web-1"].model_copy(update={"containers": [ContainerMetrics(
        name="app", usage=Usage(cpu="lots", memory="1Ki"))]})
    with_rules = hpa(behavior={"scaleUp": {"stabilizationWindowSeconds": 0}})  # up to +4 pods per 15 s: 6
    plan = reconcile(HPAFacts(hpa=with_rules, status=None, target=deployment(2), pods=pods(2), metrics=bad,
                              history=History(), now=NOW))
    # both at 200 % would propose 8 (limited to 6); web-1 missing counts 0 on a scale-up: 100 % -> 4
    assert plan.rescale is not None and plan.rescale.replicas == 4


def test_only_the_targets_pods_count() -> None:
    others = HPAFacts(hpa=hpa(), status=None, target=deployment(2), pods=pods(2, {"app": "other"}),
                      metrics=metrics(**{"web-0": 100_000_000}), history=History(), now=NOW)
    plan = reconcile(others)
    assert plan.events[1].message.endswith("no pods returned by selector while calculating replica count")


usage_maps = st.dictionaries(st.sampled_from([f"web-{i}" for i in range(6)]), st.integers(0, 2_000_000_000), max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 8), usage_maps, st.integers(1, 4), st.integers(0, 6), st.integers(1, 150),
       st.one_of(st.none(), st.integers(0, 600)))
def test_property_any_sync_plans_within_bounds(replicas: int, usage: dict[str, int], low: int, extra: int,
                                               target: int, window: int | None) -> None:
    """Whatever the samples: a rescale lands in [min, max], at most doubles (or +4) without
    behavior, never asks for the current count, and the status says what was decided."""
    spec: dict[str, Any] = {"minReplicas": low, "maxReplicas": low + extra, "metrics": [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]}
    if window is not None:
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": window}}
    plan = reconcile(facts(hpa(**spec), replicas, usage))
    if plan.rescale is not None:
        assert low <= plan.rescale.replicas <= low + extra and plan.rescale.replicas != replicas
        if window is None and replicas >= low:
            assert plan.rescale.replicas <= max(2 * replicas, 4)
        assert plan.status["desiredReplicas"] == plan.rescale.replicas
        assert plan.events[-1].reason == "SuccessfulRescale"
    elif "desiredReplicas" in plan.status and replicas:
        assert plan.status["desiredReplicas"] == replicas
