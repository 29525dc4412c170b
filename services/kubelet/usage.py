"""Resource usage from two samples: a container's CPU rate is the growth of its cumulative
CPU time over the time between the samples (in nanocores: nanoseconds of CPU per second),
its memory the newer working set; a pod's record lists its app and init containers (not
the sandbox), a node's sums every container it runs, sandboxes included (kubelets sharing
one Docker Engine share the machine, so the machine's totals would count each other's
pods). Pure; used by `services.kubelet.metrics`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from schemas.meta import ObjectMeta
from schemas.metrics import ContainerMetrics, NodeMetrics, PodMetrics, go_duration, usage
from services.kubelet.runtime.base import ContainerInfo, UsageSample


@dataclass(frozen=True, slots=True)
class ContainerRate:
    container: ContainerInfo
    nanocores: int
    working_set_bytes: int
    window_s: float
    at: datetime  # the newer sample's time: the window's end


def cpu_nanocores(previous: UsageSample, current: UsageSample) -> int | None:
    """CPU cores used between two samples, in nanocores; None when they bound no time or
    the counter went back (not the same container's)."""
    seconds = (current.at - previous.at).total_seconds()
    used = current.cpu_total_ns - previous.cpu_total_ns
    if seconds <= 0 or used < 0:
        return None
    return round(used / seconds)


def container_rates(previous: Mapping[str, UsageSample],
                    current: Mapping[str, tuple[ContainerInfo, UsageSample]]) -> list[ContainerRate]:
    """The rates of the containers sampled now and before (by container id)."""
    rates = []
    for container_id, (info, sample) in current.items():
        before = previous.get(container_id)
        nanocores = cpu_nanocores(before, sample) if before is not None else None
        if before is not None and nanocores is not None:
            rates.append(ContainerRate(info, nanocores, sample.working_set_bytes,
                                       (sample.at - before.at).total_seconds(), sample.at))
    return rates


def pod_metrics(rates: list[ContainerRate], labels: Mapping[str, dict[str, str]]) -> dict[str, PodMetrics]:
    """One record per pod key with a measured app or init container; `labels` by pod key
    (what label selectors of `kubectl top pods -l` match)."""
    by_pod: dict[str, list[ContainerRate]] = defaultdict(list)
    for rate in rates:
        if rate.container.role != "infra":
            by_pod[rate.container.pod.key].append(rate)
    records = {}
    for key, measured in by_pod.items():
        pod = measured[0].container.pod
        records[key] = PodMetrics(
            metadata=ObjectMeta(name=pod.name, namespace=pod.namespace, labels=labels.get(key) or None),
            timestamp=max(r.at for r in measured), window=go_duration(max(r.window_s for r in measured)),
            containers=[ContainerMetrics(name=r.container.name, usage=usage(r.nanocores, r.working_set_bytes))
                        for r in sorted(measured, key=lambda r: r.container.name)])
    return records


def node_metrics(node: str, rates: list[ContainerRate], *, at: datetime, window_s: float) -> NodeMetrics:
    """The node's usage: the sum of its containers'."""
    return NodeMetrics(metadata=ObjectMeta(name=node), timestamp=at, window=go_duration(window_s),
                       usage=usage(sum(r.nanocores for r in rates), sum(r.working_set_bytes for r in rates)))
