"""The API's views of cluster-scoped objects that admission looks up across partitions:
which namespaces exist (and whether they terminate), which nodes exist (a BIND must name
one). Each follows its desired topic (all partitions); on a miss it waits for a read
barrier, so an object committed before the request is always seen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.topics import Topics

BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
Phase = Literal["Active", "Terminating"] | None


def _phase_of(_topic: str, raw: bytes) -> str:
    meta = orjson.loads(raw).get("metadata") or {}
    return "Terminating" if meta.get("deletionTimestamp") else "Active"


def _exists(_topic: str, _raw: bytes) -> bool:
    return True


class ClusterObjectView:
    """What one desired topic of a cluster-scoped kind holds, decoded small, by name."""

    def __init__(self, settings: Settings, topic: str, *, decoder: Callable[[str, bytes], Any],
                 name: str) -> None:
        self._topic = topic
        self._informer: Informer[Any] = Informer(settings, [topic], decoder=decoder, name=name,
                                                 trust=bus_trust(settings))

    async def start(self) -> None:
        await self._informer.start()
        await self._informer.wait_synced()

    async def stop(self) -> None:
        await self._informer.stop()

    async def lookup(self, name: str) -> Any:
        """The decoded object, or None when it does not exist (after a read barrier)."""
        found = self._informer.get(self._topic, name)
        if found is None:
            await self._informer.barrier()
            found = self._informer.get(self._topic, name)
        return found


@dataclass(frozen=True, slots=True)
class ClusterViews:
    namespaces: ClusterObjectView  # name -> "Active" | "Terminating"
    nodes: ClusterObjectView  # name -> True

    @classmethod
    def of(cls, settings: Settings, topics: Topics) -> ClusterViews:
        return cls(
            namespaces=ClusterObjectView(settings, topics.desired("namespaces"), decoder=_phase_of,
                                         name="api-namespaces"),
            nodes=ClusterObjectView(settings, topics.desired("nodes"), decoder=_exists,
                                    name="api-nodes"))

    async def start(self) -> None:
        await self.namespaces.start()
        await self.nodes.start()

    async def stop(self) -> None:
        await self.namespaces.stop()
        await self.nodes.stop()

    async def namespace_phase(self, name: str) -> Phase:
        return await self.namespaces.lookup(name)  # type: ignore[no-any-return]

    async def node_exists(self, name: str) -> bool:
        return bool(await self.nodes.lookup(name))
