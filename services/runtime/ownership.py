"""Partition ownership for services that shard by key but consume nothing
themselves (controllers): the replicas form one consumer group on a topic, and a
replica handles a key only while it owns the key's partition. When a replica dies,
the group moves its partitions to the survivors (session timeout), and
`on_change` lets the owner re-enqueue the keys it just gained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger

log = get_logger(__name__)
SESSION_TIMEOUT_MS = 6000
HEARTBEAT_MS = 1500


class PartitionOwnership(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, settings: Settings, topic: str, *, group: str,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self._settings = settings
        self._topic = topic
        self._group = group
        self._on_change = on_change
        self._partitions = settings.partitions
        self._owned: set[int] = set()
        self.ready = asyncio.Event()  # set at the first assignment

    def owns(self, key: str) -> bool:
        return partition_for(key, self._partitions) in self._owned

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self._owned)

    async def run(self) -> None:
        consumer = make_consumer(self._settings, group=self._group,
                                 session_timeout_ms=SESSION_TIMEOUT_MS,
                                 heartbeat_interval_ms=HEARTBEAT_MS)
        await consumer.start()
        try:
            self._partitions = len(await partitions_of(consumer, self._topic))
            consumer.subscribe([self._topic], listener=self)
            while True:  # the data comes from informers: only stay a live member
                await consumer.getmany(timeout_ms=1000)
        finally:
            await consumer.stop()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._owned -= {tp.partition for tp in revoked}
        log.info("ownership.revoked", group=self._group, partitions=sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owned |= {tp.partition for tp in assigned}
        log.info("ownership.assigned", group=self._group, partitions=sorted(self._owned))
        self.ready.set()
        self._on_change()
