"""The API's views of cluster-scoped objects that admission looks up across partitions:
which namespaces exist (and whether they terminate), which nodes exist (a BIND must name
one), the RuntimeClasses (a pod's runtimeClassName), the StorageClasses (a claim's default class,
its expansion). One informer follows their four desired topics (all partitions); on a
miss a view waits for a read barrier, so an object committed before the request is always
seen."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

log = get_logger(__name__)
BUILTIN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
POD_SECURITY_LABELS = "pod-security.kubernetes.io/"
Phase = Literal["Active", "Terminating"] | None


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    """What admission needs of a namespace: its phase and its Pod Security labels."""

    phase: Literal["Active", "Terminating"]
    pod_security: dict[str, str]

    @classmethod
    def of(cls, obj: dict[str, Any]) -> NamespaceFacts:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        return cls("Terminating" if meta.get("deletionTimestamp") else "Active",
                   {k: v for k, v in labels.items() if k.startswith(POD_SECURITY_LABELS)})


def _facts_of(raw: bytes) -> NamespaceFacts:
    return NamespaceFacts.of(orjson.loads(raw))


def _exists(_raw: bytes) -> bool:
    return True


def _whole(raw: bytes) -> dict[str, Any]:
    return orjson.loads(raw)  # type: ignore[no-any-return]


class ClusterObjectView:
    """What one desired topic of a cluster-scoped kind holds, decoded small, by name (one
    topic of the views' shared informer)."""

    def __init__(self, informer: Informer[Any], topic: str) -> None:
        self._informer = informer
        self._topic = topic

    async def lookup(self, name: str) -> Any:
        """The decoded object, or None when it does not exist (after a read barrier)."""
        found = self._informer.get(self._topic, name)
        if found is None:
            await bounded_barrier(self._informer.barrier(), what=self._topic)
            found = self._informer.get(self._topic, name)
        return found

    def values(self) -> list[Any]:
        """Every decoded object the view holds now (no barrier: admission defaults from it,
        as upstream's from its informer's lister)."""
        return list(self._informer.items(self._topic).values())


BARRIER_TIMEOUT_S = 10.0


async def bounded_barrier(barrier: Awaitable[None], *, what: str) -> None:
    """A read barrier that cannot hold a partition of the API forever: after
    BARRIER_TIMEOUT_S the decision is made on the view as it stands (logged)."""
    try:
        await asyncio.wait_for(barrier, BARRIER_TIMEOUT_S)
    except asyncio.TimeoutError:
        log.warning("view.barrier_timeout", view=what, seconds=BARRIER_TIMEOUT_S)


@dataclass(frozen=True, slots=True)
class ClusterViews:
    """The four views, read by one informer (its consumers are those of `fetch_groups`:
    nodes, then the three quiet topics), each topic decoded by its own decoder. A miss
    waits for a barrier over all four topics (a rare path: a missing namespace, node or
    class, each of which changes seldom)."""

    informer: Informer[Any]
    namespaces: ClusterObjectView  # name -> NamespaceFacts
    nodes: ClusterObjectView  # name -> True
    runtime_classes: ClusterObjectView  # name -> the RuntimeClass JSON
    storage_classes: ClusterObjectView  # name -> the StorageClass JSON

    @classmethod
    def of(cls, settings: Settings, topics: Topics) -> ClusterViews:
        namespaces, nodes = topics.desired("namespaces"), topics.desired("nodes")
        runtime_classes, storage_classes = topics.desired("runtimeclasses"), topics.desired("storageclasses")
        decoders: dict[str, Callable[[bytes], Any]] = {
            namespaces: _facts_of, nodes: _exists, runtime_classes: _whole, storage_classes: _whole}
        informer: Informer[Any] = Informer(settings, list(decoders), name="api-cluster",
                                           decoder=lambda topic, raw: decoders[topic](raw),
                                           trust=bus_trust(settings))
        return cls(informer, ClusterObjectView(informer, namespaces), ClusterObjectView(informer, nodes),
                   ClusterObjectView(informer, runtime_classes), ClusterObjectView(informer, storage_classes))

    async def start(self) -> None:
        await self.informer.start()
        await self.informer.wait_synced()

    async def stop(self) -> None:
        await self.informer.stop()

    async def namespace(self, name: str) -> NamespaceFacts | None:
        return await self.namespaces.lookup(name)  # type: ignore[no-any-return]

    async def namespace_phase(self, name: str) -> Phase:
        facts = await self.namespace(name)
        return None if facts is None else facts.phase

    async def node_exists(self, name: str) -> bool:
        return bool(await self.nodes.lookup(name))

    async def runtime_class(self, name: str) -> dict[str, Any] | None:
        return await self.runtime_classes.lookup(name)  # type: ignore[no-any-return]
