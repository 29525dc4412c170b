"""The HPA's pure algorithm: the replica calculator (upstream's replica_calculator.go
cases) and the normalisation (stabilisation, policies, min/max), with properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.autoscaling import HPAScalingRules, scale_down_rules, scale_up_rules
from services.controllers.hpa.behavior import (
    History, Recommendation, ScaleEvent, normalize, normalize_with_behavior, record_scale, scale_down_limit,
    scale_up_limit,
)
from services.controllers.hpa.replicas import MetricsError, PodFacts, Sample, Target, resource_replicas

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
STARTED = NOW - timedelta(minutes=10)  # past the CPU initialization period
WINDOW = timedelta(seconds=15)


def pod(name: str, *, cpu: int | None = 100, phase: str = "Running", ready: str | None = "True",
        started: datetime = STARTED) -> PodFacts:
    return PodFacts(name=name, phase=phase, ready=ready, ready_since=started + timedelta(seconds=5),
                    start_time=started, requests={"app": {"cpu": cpu, "memory": 64 * 2**20 * 1000}})


def cpu_samples(**millicores: int) -> dict[str, Sample]:
    """Usage in the calculator's milli-units: `a=50` is 50 millicores."""
    return {name: Sample(value, NOW - timedelta(seconds=1), WINDOW) for name, value in millicores.items()}


def requests_of(n: int) -> list[PodFacts]:
    return [pod(f"p{i}", cpu=100) for i in range(n)]


UTIL_50 = Target(utilization=50)


# -- the calculator ------------------------------------------------------------------------
def test_scale_up_is_ceil_of_ratio_times_ready_pods() -> None:
    pods = [pod("a", cpu=100), pod("b", cpu=100)]  # requests of 100m
    result = resource_replicas(2, UTIL_50, "cpu", pods, cpu_samples(a=100, b=80), NOW)
    # 90 % of the requests against a target of 50 %: ratio 1.8, ceil(1.8 * 2) = 4
    assert (result.replicas, result.utilization) == (4, 90)


def test_within_tolerance_keeps_current() -> None:
    pods = requests_of(3)
    result = resource_replicas(3, UTIL_50, "cpu", pods, cpu_samples(p0=53, p1=54, p2=52), NOW)
    assert result.replicas == 3 and result.utilization == 53


def test_scale_down() -> None:
    pods = requests_of(4)
    result = resource_replicas(4, UTIL_50, "cpu", pods, cpu_samples(p0=10, p1=10, p2=10, p3=10), NOW)
    assert result.replicas == 1  # ceil(0.2 * 4)


def test_missing_metrics_count_as_full_request_on_scale_down() -> None:
    # two pods at 10 %, one without a sample: counted as 100 % of its request, the ratio
    # (10 + 10 + 100) / 3 / 50 = 0.8 -> ceil(0.8 * 3) = 3: no scale-down (upstream's case)
    pods = requests_of(3)
    assert resource_replicas(3, UTIL_50, "cpu", pods, cpu_samples(p0=10, p1=10), NOW).replicas == 3


def test_missing_metrics_count_as_zero_on_scale_up() -> None:
    pods = requests_of(3)  # two at 200 %, one missing counted 0 -> ratio 400/3/50 = 2.67 -> 8
    assert resource_replicas(3, UTIL_50, "cpu", pods, cpu_samples(p0=200, p1=200), NOW).replicas == 8


def test_unready_pods_count_as_zero_on_scale_up() -> None:
    pods = [pod("a"), pod("b"), pod("c", phase="Pending")]
    result = resource_replicas(3, UTIL_50, "cpu", pods, cpu_samples(a=100, b=100), NOW)
    # ready pods at 100 % would give ceil(2 * 2) = 4 from 2 pods; with c counted at 0:
    # 200 / 300 = 66 % -> ratio 1.32 -> ceil(1.32 * 3) = 4 (and never 6, which ignoring c gives)
    assert (result.replicas, result.utilization) == (4, 100)


def test_pods_being_deleted_or_failed_are_ignored() -> None:
    pods = [pod("a"), PodFacts("b", "Failed"), PodFacts("c", "Running", deleting=True)]
    assert resource_replicas(1, UTIL_50, "cpu", pods, cpu_samples(a=50), NOW).replicas == 1


def test_a_starting_pod_whose_sample_predates_readiness_is_unready() -> None:
    fresh = NOW - timedelta(seconds=20)
    starting = PodFacts("b", "Running", ready="True", ready_since=NOW - timedelta(seconds=5), start_time=fresh,
                        requests={"app": {"cpu": 100}})
    pods = [pod("a"), starting]
    # b's sample ends before it was ready for a window: not counted, and on a scale-up it counts 0
    result = resource_replicas(2, UTIL_50, "cpu", pods, cpu_samples(a=100, b=100), NOW)
    assert result.utilization == 100 and result.replicas == 2  # (100 + 0) / 2 / 50 = 1.0: within tolerance


def test_errors_in_upstream_words() -> None:
    try:
        resource_replicas(1, UTIL_50, "cpu", [], {}, NOW)
    except MetricsError as exc:
        assert str(exc) == "no pods returned by selector while calculating replica count"
    try:
        resource_replicas(1, UTIL_50, "cpu", [pod("a")], {}, NOW)
    except MetricsError as exc:
        assert str(exc) == "did not receive metrics for targeted pods (pods might be unready)"
    try:
        resource_replicas(1, UTIL_50, "cpu", [pod("a", cpu=None)], cpu_samples(a=1), NOW)
    except MetricsError as exc:
        assert str(exc) == "missing request for cpu in container app of Pod a"
    else:
        raise AssertionError("a pod without a CPU request gives no utilization")


def test_average_value_target() -> None:
    pods = requests_of(2)
    target = Target(average_value=100)  # 100m per pod
    result = resource_replicas(2, target, "cpu", pods, cpu_samples(p0=300, p1=300), NOW)
    assert (result.replicas, result.utilization, result.average) == (6, None, 300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 1_000), min_size=1, max_size=12), st.integers(1, 200))
def test_property_direction_follows_usage(usages: list[int], target: int) -> None:
    """All pods ready with samples: the proposal is ceil(ratio * n), unchanged within 10 %."""
    pods = requests_of(len(usages))
    got = resource_replicas(len(usages), Target(utilization=target), "cpu", pods,
                            cpu_samples(**{f"p{i}": u for i, u in enumerate(usages)}), NOW)
    utilization = sum(usages) * 100 // (100 * len(usages))
    ratio = utilization / target
    if abs(1 - ratio) <= 0.1:
        assert got.replicas == len(usages)
    elif ratio > 1:
        assert got.replicas > len(usages)
    else:
        assert got.replicas <= len(usages)


# -- normalisation -------------------------------------------------------------------------
UP = HPAScalingRules.model_validate(scale_up_rules(None))
DOWN = HPAScalingRules.model_validate(scale_down_rules({"stabilizationWindowSeconds": 60}))


def test_without_behavior_scale_down_takes_the_highest_recommendation_of_5_minutes() -> None:
    history = History((Recommendation(6, NOW - timedelta(seconds=200)), Recommendation(9, NOW - timedelta(seconds=400))))
    out = normalize(history, current=6, recommended=2, min_replicas=1, max_replicas=10, now=NOW)
    assert out.replicas == 6  # 9 is older than 300 s, 6 is not
    assert out.conditions[0].reason == "ScaleDownStabilized"
    assert [r.replicas for r in out.history.recommendations] == [6, 2]


def test_without_behavior_scale_up_is_limited_to_twice_current() -> None:
    out = normalize(History(), current=3, recommended=20, min_replicas=1, max_replicas=50, now=NOW)
    assert out.replicas == 6
    assert (out.conditions[1].status, out.conditions[1].reason) == ("True", "ScaleUpLimit")


def test_with_behavior_policies_limit_the_rate() -> None:
    rules = HPAScalingRules.model_validate({"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
                                            "selectPolicy": "Max", "stabilizationWindowSeconds": 0})
    history = History(scale_ups=(ScaleEvent(1, NOW - timedelta(seconds=30)),))
    # 1 pod added within the period: the period started at 4, so at most 4 + 2 = 6
    assert scale_up_limit(5, history, rules, NOW) == 6
    out = normalize_with_behavior(history, current=5, recommended=10, min_replicas=1, max_replicas=20,
                                  up=rules, down=DOWN, now=NOW)
    assert out.replicas == 6 and out.conditions[1].reason == "ScaleUpLimit"


def test_select_policy_min_and_disabled() -> None:
    rules = {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 15},
                                                           {"type": "Percent", "value": 50, "periodSeconds": 15}]}
    assert scale_down_limit(10, History(), HPAScalingRules.model_validate({**rules, "selectPolicy": "Max"}), NOW) == 5
    assert scale_down_limit(10, History(), HPAScalingRules.model_validate({**rules, "selectPolicy": "Min"}), NOW) == 9
    disabled = HPAScalingRules.model_validate({**rules, "selectPolicy": "Disabled"})
    out = normalize_with_behavior(History(), current=10, recommended=2, min_replicas=1, max_replicas=20,
                                  up=UP, down=disabled, now=NOW)
    assert out.replicas == 10


def test_record_scale_drops_events_older_than_the_longest_period() -> None:
    old = History(scale_downs=(ScaleEvent(3, NOW - timedelta(seconds=100)),))
    new = record_scale(old, before=5, after=4, up=UP, down=DOWN, now=NOW)
    assert new.scale_downs == (ScaleEvent(1, NOW),)


history_entries = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 600)), max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30), st.integers(0, 60), st.integers(1, 10), st.integers(0, 20), history_entries,
       st.integers(0, 600), st.sampled_from(["Max", "Min", "Disabled"]), st.booleans())
def test_properties_of_normalisation(current: int, recommended: int, low: int, extra: int,
                                     recs: list[tuple[int, int]], window: int, select: str, behavior: bool) -> None:
    high = low + extra
    history = History(tuple(Recommendation(r, NOW - timedelta(seconds=age)) for r, age in recs))
    down = HPAScalingRules.model_validate(scale_down_rules({"stabilizationWindowSeconds": window,
                                                            "selectPolicy": select}))
    if behavior:
        out = normalize_with_behavior(history, current=current, recommended=recommended, min_replicas=low,
                                      max_replicas=high, up=UP, down=down, now=NOW)
    else:
        out = normalize(history, current=current, recommended=recommended, min_replicas=low, max_replicas=high,
                        now=NOW, window=timedelta(seconds=window))
    in_window = [r for r, age in recs if (age < window if behavior else age <= window)]
    # never outside [min, max] when current is inside it (rate limits only hold a change back)
    if low <= current <= high:
        assert low <= out.replicas <= high
    # the scale-down window: never below the highest recent recommendation (nor min), when scaling down
    if recommended < current and low <= current <= high:
        floor = max([recommended, *in_window])
        assert out.replicas >= min(floor, current) or out.replicas == low
    # the recommendation is remembered
    assert out.history.recommendations[-1] == Recommendation(recommended, NOW)
    if behavior and select == "Disabled" and recommended < current and low <= current <= high:
        assert out.replicas == current
