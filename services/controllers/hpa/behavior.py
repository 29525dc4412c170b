"""From the metrics' recommendation to the replicas to set, as upstream's
`horizontal.go` normalises it: with `spec.behavior`, stabilisation (the lowest
recommendation of the scale-up window, the highest of the scale-down window) then the
rate of the policies (Pods/Percent per periodSeconds, selectPolicy Max/Min/Disabled)
over the scale events of each period, then min/max; without it, the highest
recommendation of the last 300 s, then min/max and at most max(2 * current, 4).
Each returns the replicas and the AbleToScale / ScalingLimited conditions' reasons.
Pure: the recommendation history and scale events are values in and out
(`History`); the controller holds them in memory per HPA, as kube-controller-manager
does. Called by `services.controllers.hpa.reconcile`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schemas.autoscaling import SCALE_DOWN_STABILIZATION_SECONDS, HPAScalingRules

SCALE_UP_LIMIT_FACTOR, SCALE_UP_LIMIT_MINIMUM = 2, 4


@dataclass(frozen=True, slots=True)
class Recommendation:
    replicas: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ScaleEvent:
    change: int  # pods added (scale-up events) or removed (scale-down events)
    at: datetime


@dataclass(frozen=True, slots=True)
class History:
    recommendations: tuple[Recommendation, ...] = ()
    scale_ups: tuple[ScaleEvent, ...] = ()
    scale_downs: tuple[ScaleEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition as `setCondition` sets it (status "True"/"False")."""

    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Normalized:
    replicas: int
    history: History
    conditions: tuple[Condition, ...]


def _limited(desired: int, stabilized: int, reason: str, message: str) -> Condition:
    return Condition("ScalingLimited", "False" if desired == stabilized else "True", reason, message)


def _able(stabilized: int, recommended: int, reason: str, message: str) -> Condition:
    if stabilized != recommended:
        return Condition("AbleToScale", "True", reason, message)
    return Condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")


# -- without spec.behavior -------------------------------------------------------------------
def normalize(history: History, *, current: int, recommended: int, min_replicas: int, max_replicas: int,
              now: datetime, window: timedelta = timedelta(seconds=SCALE_DOWN_STABILIZATION_SECONDS)) -> Normalized:
    """normalizeDesiredReplicas: stabilizeRecommendation, then convertDesiredReplicasWithRules."""
    kept = tuple(r for r in history.recommendations if r.at >= now - window)
    stabilized = max([recommended, *(r.replicas for r in kept)])
    history = replace(history, recommendations=(*kept, Recommendation(recommended, now)))
    able = _able(stabilized, recommended, "ScaleDownStabilized",
                 "recent recommendations were higher than current one, applying the highest recent recommendation")
    scale_up_limit = max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM)
    if max_replicas > scale_up_limit:
        top, reason, message = (scale_up_limit, "ScaleUpLimit",
                                "the desired replica count is increasing faster than the maximum scale rate")
    else:
        top, reason, message = (max_replicas, "TooManyReplicas",
                                "the desired replica count is more than the maximum replica count")
    desired = stabilized
    if stabilized < min_replicas:
        desired, reason, message = (min_replicas, "TooFewReplicas",
                                    "the desired replica count is less than the minimum replica count")
    elif stabilized > top:
        desired = top
    else:
        reason, message = "DesiredWithinRange", "the desired count is within the acceptable range"
    return Normalized(desired, history, (able, _limited(desired, stabilized, reason, message)))


# -- with spec.behavior ----------------------------------------------------------------------
def _window(rules: HPAScalingRules, default: int) -> timedelta:
    seconds = rules.stabilization_window_seconds
    return timedelta(seconds=default if seconds is None else seconds)


def stabilize(history: History, *, current: int, recommended: int, up: HPAScalingRules, down: HPAScalingRules,
              now: datetime) -> tuple[int, History, str, str]:
    """stabilizeRecommendationWithBehaviors: the lowest recommendation of the scale-up window
    and the highest of the scale-down window bound the change from `current`."""
    up_cutoff, down_cutoff = now - _window(up, 0), now - _window(down, SCALE_DOWN_STABILIZATION_SECONDS)
    up_rec = min([recommended, *(r.replicas for r in history.recommendations if r.at > up_cutoff)])
    down_rec = max([recommended, *(r.replicas for r in history.recommendations if r.at > down_cutoff)])
    stabilized = min(max(current, up_rec), down_rec)
    kept = tuple(r for r in history.recommendations if r.at >= up_cutoff or r.at >= down_cutoff)
    history = replace(history, recommendations=(*kept, Recommendation(recommended, now)))
    if recommended >= current:
        return stabilized, history, "ScaleUpStabilized", \
            "recent recommendations were lower than current one, applying the lowest recent recommendation"
    return stabilized, history, "ScaleDownStabilized", \
        "recent recommendations were higher than current one, applying the highest recent recommendation"


def _changed_within(period_s: int, events: tuple[ScaleEvent, ...], now: datetime) -> int:
    """getReplicasChangePerPeriod."""
    cutoff = now - timedelta(seconds=period_s)
    return sum(e.change for e in events if e.at > cutoff)


def scale_up_limit(current: int, history: History, rules: HPAScalingRules, now: datetime) -> int:
    """calculateScaleUpLimitWithScalingRules: the most replicas the policies allow now."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies or []:
        start = current - _changed_within(policy.period_seconds, history.scale_ups, now) \
            + _changed_within(policy.period_seconds, history.scale_downs, now)
        proposals.append(start + policy.value if policy.type == "Pods"
                         else math.ceil(start * (1 + policy.value / 100)))
    if not proposals:
        return current
    return min(proposals) if rules.select_policy == "Min" else max(proposals)


def scale_down_limit(current: int, history: History, rules: HPAScalingRules, now: datetime) -> int:
    """calculateScaleDownLimitWithBehaviors: the fewest replicas the policies allow now."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies or []:
        start = current - _changed_within(policy.period_seconds, history.scale_ups, now) \
            + _changed_within(policy.period_seconds, history.scale_downs, now)
        proposals.append(start - policy.value if policy.type == "Pods"
                         else int(start * (1 - policy.value / 100)))
    if not proposals:
        return current
    return max(proposals) if rules.select_policy == "Min" else min(proposals)


def normalize_with_behavior(history: History, *, current: int, recommended: int, min_replicas: int,
                            max_replicas: int, up: HPAScalingRules, down: HPAScalingRules,
                            now: datetime) -> Normalized:
    """normalizeDesiredReplicasWithBehaviors."""
    stabilized, history, reason, message = stabilize(history, current=current, recommended=recommended,
                                                     up=up, down=down, now=now)
    able = _able(stabilized, recommended, reason, message)
    desired, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
    if stabilized > current:
        limit = max(scale_up_limit(current, history, up, now), current)
        top, why, text = (limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum "
                          "scale rate") if max_replicas > limit else (
            max_replicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
        if stabilized > top:
            desired, reason, message = top, why, text
    elif stabilized < current:
        limit = min(scale_down_limit(current, history, down, now), current)
        bottom, why, text = (limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the "
                             "maximum scale rate") if min_replicas < limit else (
            min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
        if stabilized < bottom:
            desired, reason, message = bottom, why, text
    return Normalized(desired, history, (able, _limited(desired, stabilized, reason, message)))


def record_scale(history: History, *, before: int, after: int, up: HPAScalingRules, down: HPAScalingRules,
                 now: datetime) -> History:
    """storeScaleEvent: remember a rescale for the policies' periods (older events dropped)."""
    def recent(events: tuple[ScaleEvent, ...], rules: HPAScalingRules) -> tuple[ScaleEvent, ...]:
        longest = max((p.period_seconds for p in rules.policies or []), default=0)
        return tuple(e for e in events if e.at >= now - timedelta(seconds=longest))

    if after > before:
        return replace(history, scale_ups=(*recent(history.scale_ups, up), ScaleEvent(after - before, now)))
    return replace(history, scale_downs=(*recent(history.scale_downs, down), ScaleEvent(before - after, now)))
