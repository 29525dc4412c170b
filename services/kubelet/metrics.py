"""The node's resource metrics: every resolution (`KAFKUBE_METRICS_RESOLUTION_SECONDS`,
15 s as metrics-server's), a one-shot Docker stats sample of each running container, rated
against the previous sample (`services.kubelet.usage`), published on `kafkube.metrics` as
a PodMetrics per pod and a NodeMetrics for the node. Runtimes without stats (hollow
nodes) publish none. I/O; run by `services.kubelet.service`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Protocol, runtime_checkable

from schemas.pod import Pod
from services.kubelet.cache import ContainerCache
from services.kubelet.emit import Emitter
from services.kubelet.runtime.base import ContainerInfo, UsageSample
from services.kubelet.usage import container_rates, node_metrics, pod_metrics
from services.runtime.logging import get_logger

log = get_logger(__name__)
DEFAULT_RESOLUTION_S = 15.0


@runtime_checkable
class MeteredRuntime(Protocol):
    """A runtime that can sample a container's usage (Docker; not hollow)."""

    async def usage(self, container_id: str) -> UsageSample | None: ...


class MetricsSampler:
    def __init__(self, node: str, runtime: MeteredRuntime, cache: ContainerCache, emitter: Emitter,
                 pods: Callable[[], Mapping[str, Pod]], *, resolution_s: float) -> None:
        self._node, self._runtime, self._cache, self._emitter = node, runtime, cache, emitter
        self._pods, self._resolution_s = pods, resolution_s
        self._previous: dict[str, UsageSample] = {}
        self._previous_at: datetime | None = None

    async def run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except Exception as exc:  # the engine or the broker hiccuped: next resolution
                log.warning("kubelet.metrics_failed", node=self._node, error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(self._resolution_s)

    async def sample_once(self) -> None:
        """Sample every running container; publish what two samples rate (nothing the first time)."""
        now = datetime.now(timezone.utc)
        running = [c for c in self._cache.all() if c.state == "running"]
        samples = await asyncio.gather(*(self._runtime.usage(c.id) for c in running))
        current: dict[str, tuple[ContainerInfo, UsageSample]] = {
            c.id: (c, s) for c, s in zip(running, samples) if s is not None}
        rates = container_rates(self._previous, current)
        previous_at, self._previous_at = self._previous_at, now
        self._previous = {cid: sample for cid, (_, sample) in current.items()}
        if previous_at is None:
            return
        labels = {key: dict(pod.metadata.labels or {}) for key, pod in self._pods().items() if pod.metadata}
        for key, record in pod_metrics(rates, labels).items():
            await self._emitter.metrics(key, record)
        await self._emitter.metrics(self._node, node_metrics(self._node, rates, at=now,
                                                             window_s=(now - previous_at).total_seconds()))
        log.debug("kubelet.metrics_sent", node=self._node, containers=len(rates))
