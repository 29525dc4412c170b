"""The API's view of which namespaces exist, for admission of namespaced objects.
Follows `kafkube.desired.namespaces` (all partitions); on a miss it waits for a
read barrier, so a namespace committed before the request is always seen."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics

BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
Phase = Literal["Active", "Terminating"] | None


def _phase_of(_topic: str, raw: bytes) -> str:
    meta = orjson.loads(raw).get("metadata") or {}
    return "Terminating" if meta.get("deletionTimestamp") else "Active"


class NamespaceView:
    def __init__(self, settings: Settings, topics: Topics) -> None:
        self._topic = topics.desired("namespaces")
        self._informer: Informer[Any] = Informer(settings, [self._topic], decoder=_phase_of,
                                                 name="api-namespaces")

    async def start(self) -> None:
        await self._informer.start()
        await self._informer.wait_synced()

    async def stop(self) -> None:
        await self._informer.stop()

    async def phase(self, name: str) -> Phase:
        found = self._informer.get(self._topic, name)
        if found is None:
            await self._informer.barrier()
            found = self._informer.get(self._topic, name)
        return found  # type: ignore[no-any-return]
