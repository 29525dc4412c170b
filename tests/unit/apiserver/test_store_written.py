"""The apiserver's read-your-write: after a write, the store waits for the object at the
version the API answered with (the record applied by its informer), not for a barrier over
every partition; what it cannot wait for that way falls back to the barrier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import orjson
from aiokafka import TopicPartition

from schemas.registry import lookup_kind
from services.apiserver.store import ObjectStore
from services.runtime.config import Settings
from services.runtime.topics import Topics

CONFIG_MAPS = lookup_kind("v1", "ConfigMap")
TOPIC = Topics(Settings().topic_prefix).desired("configmaps")


@dataclass
class Record:
    key: bytes
    value: bytes
    offset: int
    timestamp: int = 0
    partition: int = 0


class Consumer:
    """What the store asks of its informer's consumer: the partitions it reads."""

    def __init__(self, topics: list[str]) -> None:
        self.tps = {TopicPartition(t, 0) for t in topics}

    def assignment(self) -> set[TopicPartition]:
        return self.tps


class Store(ObjectStore):
    """The store without a broker: records applied by hand; barriers counted."""

    def __init__(self) -> None:
        super().__init__(Settings())
        self._informer._consumers = [Consumer(list(self._informer))]  # type: ignore[list-item]
        self.barriers = 0

    async def barrier(self) -> None:
        self.barriers += 1

    def stored(self, version: int) -> None:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"v": str(version)},
                "metadata": {"name": "c", "namespace": "default", "resourceVersion": str(version)}}
        self._informer._apply(TOPIC, Record(b"default/c", orjson.dumps(body), version))


async def test_a_write_is_read_once_its_version_is_applied_without_a_barrier() -> None:
    store = Store()
    store.stored(7)
    waiting = asyncio.create_task(store.written(CONFIG_MAPS, "default/c", "9"))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # 7 is older than the answered 9
    store.stored(9)
    await asyncio.wait_for(waiting, 1)
    assert store.barriers == 0
    assert store.get(CONFIG_MAPS, "default/c")["data"] == {"v": "9"}  # type: ignore[index]


async def test_a_version_already_held_or_passed_returns_at_once() -> None:
    store = Store()
    store.stored(12)
    await asyncio.wait_for(store.written(CONFIG_MAPS, "default/c", "12"), 0.1)
    await asyncio.wait_for(store.written(CONFIG_MAPS, "default/c", "10"), 0.1)  # a later write came since
    assert store.barriers == 0


async def test_no_version_or_one_never_seen_falls_back_to_the_barrier() -> None:
    store = Store()
    await store.written(CONFIG_MAPS, "default/c", None)
    await store.written(CONFIG_MAPS, "default/c", "")
    assert store.barriers == 2
    store.stored(3)
    await asyncio.wait_for(store.written(CONFIG_MAPS, "default/c", "5", within_s=0.1), 1)  # deleted since, say
    assert store.barriers == 3
