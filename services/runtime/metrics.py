"""Every Prometheus metric a Kafkube process exposes, defined once (docs/metrics.md lists
them), and the live objects whose state is read only when scraped.

Hot paths only increment children bound once (`WorkQueue` binds its own): label values
are names of queues, topics, groups and reasons, never of objects. Gauges of state
(queue depth, informer sync, owned partitions, consumer lag) cost nothing between
scrapes: `_LiveState` reads the registered objects when /metrics is asked.
`health` is what /healthz and /readyz answer (services/runtime/metrics_http.py)."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

class TallyByLabel(Collector):
    """A counter by one label kept as plain numbers and exported when scraped: a hot path
    (the API decides every request) pays a dict update, not prometheus-client's lock per
    increment. The event loop's thread is the only writer and the scrape reads on it."""

    def __init__(self, name: str, documentation: str, label: str) -> None:
        self._name, self._documentation, self._label = name, documentation, label
        self._counts: defaultdict[str, float] = defaultdict(float)
        REGISTRY.register(self)

    def inc(self, value: str, amount: float = 1) -> None:
        self._counts[value] += amount

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, count in sorted(self._counts.items()):
            family.add_metric([value], count)
        yield family


class DurationSeries:
    """One series of a `Durations` histogram: plain bucket counts and their sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self._bounds, seconds)] += 1
        self.sum += seconds


class Durations(Collector):
    """A histogram kept as plain bucket counts and exported when scraped (as TallyByLabel);
    with `labels`, one series per label values, bound once by the caller (`labels(...)`)."""

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...],
                 labels: tuple[str, ...] = ()) -> None:
        self._name, self._documentation, self._bounds, self._labels = name, documentation, buckets, labels
        self._series: dict[tuple[str, ...], DurationSeries] = {}
        # without labels the one series, exported (at zero) before the first observation
        self._plain = None if labels else self.labels()
        REGISTRY.register(self)

    def labels(self, *values: str) -> DurationSeries:
        if len(values) != len(self._labels):
            raise ValueError(f"{self._name}: expected label values for {self._labels}, got {values}")
        if (series := self._series.get(values)) is None:
            series = self._series[values] = DurationSeries(self._bounds)
        return series

    def observe(self, seconds: float) -> None:
        """The one series of a histogram without labels (the API's per-request hot path)."""
        if self._plain is None:
            raise ValueError(f"{self._name}: observe a series bound with labels(...)")
        self._plain.observe(seconds)

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=list(self._labels))
        for values, series in sorted(self._series.items()):
            cumulative, total = [], 0
            for bound, count in zip((*map(floatToGoString, self._bounds), "+Inf"), series.counts):
                total += count
                cumulative.append((bound, total))
            family.add_metric(list(values), cumulative, series.sum)
        yield family


# -- the generic machinery: work queues, informers, transactional loops -----------------------
WORKQUEUE_ADDS = Counter("workqueue_adds_total", "Keys added to a work queue.", ["name"])
WORKQUEUE_WORK_SECONDS = Histogram(
    "workqueue_work_duration_seconds", "How long handling one key took (the reconcile latency).", ["name"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
RECONCILES = Counter("kafkube_reconcile_total", "Keys handled by a work queue's workers, by result "
                     "(success, error: retried after a back-off).", ["controller", "result"])
RECORDS_CONSUMED = Counter("kafkube_records_consumed_total", "Records read from Kafka by informers and "
                           "transactional loops.", ["topic"])
RECORDS_PRODUCED = Counter("kafkube_records_produced_total", "Records written to Kafka in transactions.", ["topic"])
TRANSACTIONS = Counter("kafkube_transactions_total", "Transactions of a transactional loop, by result "
                       "(committed, aborted, fenced).", ["group", "result"])
TRANSACTION_STAGE_SECONDS = Durations(
    "kafkube_transaction_stage_duration_seconds", "Where a committed transaction of a transactional loop "
    "spent its time, by stage: waited (its first record, from being written to the transaction's start), "
    "process (deciding the outputs), produce (the outputs acknowledged), offsets (the consumed offsets "
    "added), commit (EndTxn answered).",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1),
    labels=("group", "stage"))

# -- the API (services/api) and the HTTP API (services/apiserver) ----------------------------
API_ANSWERS = TallyByLabel("kafkube_api_answers", "Write requests decided by the API, by the answer's "
                           "reason (Created, Updated, Deleted, Unchanged, or the Status reason of a refusal).",
                           "reason")
API_DECISION_SECONDS = Durations(
    "kafkube_api_decision_duration_seconds", "How long the API took to decide one write request.",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1))
APISERVER_WRITE_STAGE_SECONDS = Durations(
    "apiserver_write_stage_duration_seconds", "Where a write through the HTTP API waited, by stage: request "
    "(its WriteRequest acknowledged by Kafka), answer (the API's answer seen), stored (the apiserver's store "
    "holding the answered version).",
    buckets=(0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 1, 2.5),
    labels=("stage",))
APISERVER_REQUESTS = Counter("apiserver_request_total", "HTTP requests answered by the HTTP API, by verb "
                             "and code.", ["verb", "code"])
APISERVER_REQUEST_SECONDS = Histogram(
    "apiserver_request_duration_seconds", "HTTP request latency of the HTTP API (a watch: its whole life).",
    ["verb"], buckets=(0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 5, 10, 30, 60))

# -- the scheduler and the kubelets ----------------------------------------------------------
SCHEDULE_ATTEMPTS = Counter("scheduler_schedule_attempts_total", "Scheduling attempts, by result "
                            "(scheduled, unschedulable).", ["result"])
SCHEDULING_ATTEMPT_SECONDS = Histogram(
    "scheduler_scheduling_attempt_duration_seconds", "How long the scheduling algorithm took for one pod.",
    ["result"], buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1))
POD_START_SECONDS = Histogram(
    "kubelet_pod_start_duration_seconds", "From the kubelet first seeing a pod to reporting it Running.",
    buckets=(0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300))
CONTAINER_RESTARTS = Counter("kubelet_container_restarts_total", "Containers the kubelets started again "
                             "after a previous attempt.")


# -- live state, read at scrape time ---------------------------------------------------------
class QueueState(Protocol):
    @property
    def name(self) -> str: ...
    def __len__(self) -> int: ...


class InformerState(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def synced(self) -> bool: ...


class LoopState(Protocol):
    @property
    def group(self) -> str: ...
    @property
    def ready(self) -> bool: ...
    def lags(self) -> Mapping[int, int]: ...  # owned partition -> records not yet committed


@dataclass
class LiveObjects:
    """What this process runs now: each object adds itself when it starts, leaves when it stops."""

    queues: set[QueueState]
    informers: set[InformerState]
    loops: set[LoopState]
    components: dict[str, asyncio.Task[Any]]  # the supervisor's

    def not_ready(self) -> list[str]:
        """Readiness: every informer synced, every transactional loop owns and loaded its partitions."""
        return sorted({f"informer:{i.name}" for i in self.informers if not i.synced}
                      | {f"partitions:{loop.group}" for loop in self.loops if not loop.ready})

    def not_live(self) -> list[str]:
        """Liveness: every component of the supervisor still runs."""
        return sorted(name for name, task in self.components.items() if task.done())


LIVE = LiveObjects(set(), set(), set(), {})


class _LiveState(Collector):
    def collect(self) -> Iterable[Metric]:
        return live_metrics(LIVE)


def live_metrics(live: LiveObjects) -> Iterator[Metric]:
    """The gauges of state: summed (depth) or all-of (synced) over objects of one name."""
    depth = GaugeMetricFamily("workqueue_depth", "Keys waiting in a work queue.", labels=["name"])
    for name, value in _by_name(((q.name, len(q)) for q in live.queues), sum).items():
        depth.add_metric([name], value)
    synced = GaugeMetricFamily("kafkube_informer_synced", "1 once every informer of this name holds what "
                               "its topics held at its start.", labels=["name"])
    for name, value in _by_name(((i.name, int(i.synced)) for i in live.informers), min).items():
        synced.add_metric([name], value)
    owned = GaugeMetricFamily("kafkube_partitions_owned", "Partitions a transactional loop owns.",
                              labels=["group"])
    lag = GaugeMetricFamily("kafkube_consumer_lag", "Records of an owned partition not yet processed and "
                            "committed (as of the last fetch).", labels=["group", "partition"])
    for loop in live.loops:
        lags = loop.lags()
        owned.add_metric([loop.group], len(lags))
        for partition, behind in sorted(lags.items()):
            lag.add_metric([loop.group, str(partition)], behind)
    yield from (depth, synced, owned, lag)


def _by_name(pairs: Iterable[tuple[str, int]], combine: Callable[[list[int]], int]) -> dict[str, int]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for name, value in pairs:
        grouped[name].append(value)
    return {name: combine(values) for name, values in grouped.items()}


REGISTRY.register(_LiveState())
