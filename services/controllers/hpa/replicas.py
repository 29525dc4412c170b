"""The replica calculator of one Resource metric, as upstream's `replica_calculator.go`
computes it: pods grouped into ready / unready / missing / ignored, usage against the
target (utilization of the pods' requests, or an average value), tolerance 0.1, and the
second pass that counts missing pods as 100 % of their request (max(100, target)) when
scaling down and 0 when scaling up, and unready pods as 0 when scaling up. Pure; values
in milli-units (millicores, millibytes) as upstream's metrics client gives them. Called
by `services.controllers.hpa.reconcile`."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = timedelta(minutes=5)  # --horizontal-pod-autoscaler-cpu-initialization-period
INITIAL_READINESS_DELAY = timedelta(seconds=30)  # --horizontal-pod-autoscaler-initial-readiness-delay


class MetricsError(Exception):
    """No replica count can be computed from this metric (message in upstream's words)."""


@dataclass(frozen=True, slots=True)
class PodFacts:
    """One pod the target's selector picks, as the calculator needs it."""

    name: str
    phase: str
    labels: Mapping[str, str] = field(default_factory=dict)
    deleting: bool = False
    ready: str | None = None  # the Ready condition's status: "True", "False", or None (absent)
    ready_since: datetime | None = None  # its lastTransitionTime
    start_time: datetime | None = None
    requests: Mapping[str, Mapping[str, int | None]] = field(default_factory=dict)  # container -> resource -> milli


@dataclass(frozen=True, slots=True)
class Sample:
    """A pod's usage of one resource (its containers summed), in milli-units."""

    value: int
    timestamp: datetime
    window: timedelta


@dataclass(frozen=True, slots=True)
class Target:
    utilization: int | None = None  # percent of request
    average_value: int | None = None  # milli-units per pod


@dataclass(frozen=True, slots=True)
class Result:
    replicas: int
    utilization: int | None  # percent of request (Utilization targets)
    average: int  # milli-units per pod with a metric


def within_tolerance(ratio: float, tolerance: float = TOLERANCE) -> bool:
    return abs(1.0 - ratio) <= tolerance


def _unready(pod: PodFacts, sample: Sample, now: datetime) -> bool:
    """groupPods' CPU rule: a pod is unready while starting unless its sample is one taken
    after it became ready; after the initialization period only if it never got ready."""
    if pod.ready is None or pod.start_time is None or pod.ready_since is None:
        return True
    if pod.start_time + CPU_INITIALIZATION_PERIOD > now:
        return pod.ready == "False" or sample.timestamp < pod.ready_since + sample.window
    return pod.ready == "False" and pod.start_time + INITIAL_READINESS_DELAY > pod.ready_since


@dataclass
class _Groups:
    metrics: dict[str, int]
    ready: int
    unready: set[str]
    missing: set[str]


def _group(pods: Sequence[PodFacts], samples: Mapping[str, Sample], resource: str, now: datetime) -> _Groups:
    groups = _Groups({}, 0, set(), set())
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            continue
        if pod.phase == "Pending":
            groups.unready.add(pod.name)
            continue
        sample = samples.get(pod.name)
        if sample is None:
            groups.missing.add(pod.name)
            continue
        if resource == "cpu" and _unready(pod, sample, now):
            groups.unready.add(pod.name)
            continue
        groups.metrics[pod.name] = sample.value
        groups.ready += 1
    return groups


def pod_requests(pods: Sequence[PodFacts], resource: str) -> dict[str, int]:
    """calculateRequests: each pod's request of `resource` (its containers summed)."""
    requests: dict[str, int] = {}
    for pod in pods:
        total = 0
        for container, wanted in pod.requests.items():
            request = wanted.get(resource)
            if request is None:
                raise MetricsError(f"missing request for {resource} in container {container} of Pod {pod.name}")
            total += request
        requests[pod.name] = total
    return requests


def _utilization_ratio(metrics: Mapping[str, int], requests: Mapping[str, int], target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio, utilization %, average usage)."""
    used = sum(v for name, v in metrics.items() if name in requests)
    requested = sum(requests[name] for name in metrics if name in requests)
    counted = sum(1 for name in metrics if name in requests)
    if requested == 0:
        raise MetricsError("no metrics returned matched known pods")
    utilization = used * 100 // requested
    return utilization / target, utilization, used // counted


def resource_replicas(current: int, target: Target, resource: str, pods: Sequence[PodFacts],
                      samples: Mapping[str, Sample], now: datetime) -> Result:
    """GetResourceReplicas (Utilization) / GetRawResourceReplicas (AverageValue)."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    groups = _group(pods, samples, resource, now)
    if not groups.metrics:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    ratio_of: Callable[[Mapping[str, int]], tuple[float, int | None, int]]
    if target.utilization is not None:
        requests, wanted = pod_requests(pods, resource), target.utilization
        ratio_of = lambda metrics: _utilization_ratio(metrics, requests, wanted)  # noqa: E731
        fallback = {name: requests[name] * max(100, wanted) // 100 for name in groups.missing}
    elif target.average_value is not None:
        average = target.average_value
        ratio_of = lambda metrics: (sum(metrics.values()) / len(metrics) / average, None,  # noqa: E731
                                    sum(metrics.values()) // len(metrics))
        fallback = {name: average for name in groups.missing}
    else:
        raise MetricsError("invalid resource metric source: neither a utilization target nor a value target was set")
    ratio, utilization, usage = ratio_of(groups.metrics)
    return Result(_replicas(current, ratio, groups, fallback, ratio_of), utilization, usage)


def _replicas(current: int, ratio: float, groups: _Groups, fallback: Mapping[str, int],
              ratio_of: Callable[[Mapping[str, int]], tuple[float, int | None, int]]) -> int:
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        return current if within_tolerance(ratio) else math.ceil(ratio * groups.ready)
    metrics = dict(groups.metrics)
    if groups.missing and ratio < 1.0:
        metrics |= fallback
    elif groups.missing and ratio > 1.0:
        metrics |= {name: 0 for name in groups.missing}
    if scale_up_with_unready:
        metrics |= {name: 0 for name in groups.unready}
    new_ratio = ratio_of(metrics)[0]
    if within_tolerance(new_ratio) or (ratio < 1.0 < new_ratio) or (new_ratio < 1.0 < ratio):
        return current
    replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas
