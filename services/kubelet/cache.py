"""The kubelet's view of its node's containers (Kubernetes' PLEG, by relisting).

`relist` asks the runtime for every managed container and tells the caller which pod
keys changed (a container appeared, vanished or changed state), so a container's exit
wakes its pod worker within one relist period. Workers write through (`put`, `drop`)
what their actions returned; a relist that began before such a write does not
overwrite that pod, so a stale listing never hides a container just created (which
would make the next sync create a twin).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable

from services.kubelet.runtime.base import ContainerInfo, ContainerRuntime
from services.kubelet.runtime.errors import RuntimeUnavailable
from services.runtime.logging import get_logger
from services.runtime.retry import retry_doubling

log = get_logger(__name__)


def _signature(info: ContainerInfo) -> tuple[object, ...]:
    return (info.id, info.state, info.exit_code, info.finished_at, info.ip, info.oom_killed, info.error)


class ContainerCache:
    def __init__(self, runtime: ContainerRuntime) -> None:
        self._runtime = runtime
        self._by_id: dict[str, ContainerInfo] = {}
        self._by_pod: dict[str, dict[str, ContainerInfo]] = {}  # pod key -> id -> info
        self._clock = itertools.count(1)
        self._touched: dict[str, int] = {}  # pod key -> clock of the last write-through
        self.listed = False

    def for_pod(self, key: str) -> list[ContainerInfo]:
        """Every container (any uid) of pod key `namespace/name`."""
        return list(self._by_pod.get(key, {}).values())

    def keys(self) -> set[str]:
        return set(self._by_pod)

    def all(self) -> list[ContainerInfo]:
        return list(self._by_id.values())

    def put(self, info: ContainerInfo) -> None:
        self._store(info)
        self._touched[info.pod.key] = next(self._clock)

    def drop(self, container_id: str) -> None:
        info = self._remove(container_id)
        if info is not None:
            self._touched[info.pod.key] = next(self._clock)

    async def relist(self) -> set[str]:
        """Refresh from the runtime; return the pod keys whose containers changed."""
        started = next(self._clock)
        listed = await self._runtime.list_managed()
        fresh: dict[str, list[ContainerInfo]] = {}
        for info in listed:
            fresh.setdefault(info.pod.key, []).append(info)
        changed: set[str] = set()
        for key in set(fresh) | self.keys():
            if self._touched.get(key, 0) > started:
                continue  # written through during the listing: ours is newer
            old = {_signature(c) for c in self.for_pod(key)}
            new = {_signature(c) for c in fresh.get(key, [])}
            if old != new:
                changed.add(key)
                self._replace(key, fresh.get(key, []))
        self.listed = True
        return changed

    def _replace(self, key: str, infos: Iterable[ContainerInfo]) -> None:
        for info in self.for_pod(key):
            self._remove(info.id)
        for info in infos:
            self._store(info)

    def _store(self, info: ContainerInfo) -> None:
        previous = self._by_id.get(info.id)
        if previous is not None and previous.pod.key != info.pod.key:
            self._remove(info.id)
        self._by_id[info.id] = info
        self._by_pod.setdefault(info.pod.key, {})[info.id] = info

    def _remove(self, container_id: str) -> ContainerInfo | None:
        info = self._by_id.pop(container_id, None)
        if info is not None:
            pod = self._by_pod.get(info.pod.key)
            if pod is not None:
                pod.pop(container_id, None)
                if not pod:
                    del self._by_pod[info.pod.key]
        return info


async def first_relist(cache: ContainerCache, node: str, *,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """The kubelet's first listing, before it adopts or syncs anything: an engine that does
    not answer yet (dockerd restarting) is waited for (`retry_doubling`, for as long as it
    takes), as the relist loop waits for it later, instead of ending the kubelet."""
    await retry_doubling(cache.relist, RuntimeUnavailable, sleep=sleep, on_retry=lambda exc, delay: log.warning(
        "kubelet.runtime_unavailable", node=node, error=str(exc)[:300], retry_s=delay))
