"""The newest resource metrics of `kafkube.metrics`: one consumer reads what the topic
retains to its end and (for the HTTP API) follows it, keeping the latest NodeMetrics and
PodMetrics per key. A sample older than `STALE_WINDOWS` of its own window is no longer
current (its node stopped publishing, its pod is gone) and is not shown. Used by
`kafkube top` (read once) and the HTTP API's `metrics.k8s.io` (followed)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import TypeVar

from aiokafka import ConsumerRecord, TopicPartition
from pydantic import TypeAdapter, ValidationError

from schemas.metrics import Metrics, NodeMetrics, PodMetrics
from services.runtime.bus import make_consumer, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

log = get_logger(__name__)
STALE_WINDOWS = 3
_RECORD: TypeAdapter[Metrics] = TypeAdapter(Metrics)
M = TypeVar("M", NodeMetrics, PodMetrics)


def window_seconds(window: str) -> float:
    """A metav1.Duration as the kubelet writes it (`"15.002s"`)."""
    return float(window.removesuffix("s") or 0)


class LatestMetrics:
    """The latest sample per node and per pod. Pure."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeMetrics] = {}
        self._pods: dict[str, PodMetrics] = {}

    def add(self, record: Metrics) -> None:
        if isinstance(record, NodeMetrics):
            _keep_newer(self._nodes, record.metadata.name or "", record)
        else:
            _keep_newer(self._pods, f"{record.metadata.namespace}/{record.metadata.name}", record)

    def nodes(self, now: datetime) -> list[NodeMetrics]:
        return sorted((m for m in self._nodes.values() if _current(m, now)), key=lambda m: m.metadata.name or "")

    def pods(self, now: datetime, namespace: str = "") -> list[PodMetrics]:
        """Current pod samples (of one namespace if given), by namespace and name."""
        return [m for key, m in sorted(self._pods.items())
                if _current(m, now) and (not namespace or m.metadata.namespace == namespace)]


def _keep_newer(held: dict[str, M], key: str, record: M) -> None:
    """A sample replaces the one held unless it is older (partitions read out of step)."""
    if (old := held.get(key)) is None or old.timestamp <= record.timestamp:
        held[key] = record


def _current(record: NodeMetrics | PodMetrics, now: datetime) -> bool:
    return now - record.timestamp <= timedelta(seconds=STALE_WINDOWS * max(window_seconds(record.window), 1.0))


def decode(value: bytes | None) -> Metrics | None:
    """A record's value, or None for one that is not a metrics record."""
    if value is None:
        return None
    try:
        return _RECORD.validate_json(value)
    except ValidationError as exc:
        log.warning("metrics.bad_record", error=str(exc)[:300])
        return None


class MetricsFeed:
    """`async with MetricsFeed(settings, follow=...) as feed`: `feed.latest` holds what the
    topic retains when entered, and with `follow` what arrives after."""

    def __init__(self, settings: Settings, *, follow: bool) -> None:
        self._topic = Topics(settings.topic_prefix).metrics
        self._consumer = make_consumer(settings)
        self._follow = follow
        self._task: asyncio.Task[None] | None = None
        self.latest = LatestMetrics()

    async def __aenter__(self) -> MetricsFeed:
        await self._consumer.start()
        try:
            tps = [TopicPartition(self._topic, p) for p in sorted(await partitions_of(self._consumer, self._topic))]
            self._consumer.assign(tps)
            await self._consumer.seek_to_beginning(*tps)
            for tp, end in (await self._consumer.end_offsets(tps)).items():
                while await self._consumer.position(tp) < end:
                    await self._read()
        except BaseException:
            await self._consumer.stop()
            raise
        if self._follow:
            self._task = asyncio.create_task(self._read_forever(), name="metrics-feed")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def failed(self) -> None:
        """Return (raising its error) only if the followed consumer stopped: the process must
        then stop too, as it would serve ever older samples."""
        assert self._task is not None, "a feed that does not follow cannot fail later"
        await asyncio.shield(self._task)
        raise RuntimeError("the metrics consumer stopped")

    async def _read_forever(self) -> None:
        while True:
            await self._read()

    async def _read(self) -> None:
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await self._consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                if (sample := decode(record.value)) is not None:
                    self.latest.add(sample)
