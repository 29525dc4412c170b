"""Partition ownership for services that shard by key but consume nothing
themselves (controllers): the replicas form one consumer group on a topic, and a
replica handles a key only while it owns the key's partition. When a replica dies,
the group moves its partitions to the survivors (session timeout), and
`on_change` lets the owner re-enqueue the keys it just gained.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger

log = get_logger(__name__)
SESSION_TIMEOUT_MS = 6000  # the broker's group.min.session.timeout.ms here: a dead member's keys move fast
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

    def partition(self, key: str) -> int:
        """The partition of `key` on the ownership topic."""
        return partition_for(key, self._partitions)

    def owns(self, key: str) -> bool:
        return self.partition(key) in self._owned

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self._owned)

    async def run(self) -> None:
        await hold_membership(self._settings, self._topic, group=self._group, listener=self,
                              on_partitions=self._set_partitions)

    def _set_partitions(self, count: int) -> None:
        self._partitions = count

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._owned -= {tp.partition for tp in revoked}
        log.info("ownership.revoked", group=self._group, partitions=sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._owned |= {tp.partition for tp in assigned}
        log.info("ownership.assigned", group=self._group, partitions=sorted(self._owned))
        self.ready.set()
        self._on_change()


class ReadNothing(ConsumerRebalanceListener):  # type: ignore[misc]
    """A membership's listener: pauses every partition the group assigns before `listener`
    hears of it, so the member never fetches. Unpaused, each member fetched its topic 20
    times a second (the 50 ms long-poll) only to drop what it read; the controller-manager
    holds twelve of them (docs/benchmarks.md, section 5c)."""

    def __init__(self, consumer: Any, listener: ConsumerRebalanceListener) -> None:
        self._consumer, self._listener = consumer, listener

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._listener.on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._consumer.pause(*assigned)
        await self._listener.on_partitions_assigned(assigned)


async def hold_membership(settings: Settings, topic: str, *, group: str, listener: ConsumerRebalanceListener,
                          on_partitions: Callable[[int], None]) -> None:
    """Be a live member of `group` on `topic` until cancelled, reading nothing (the
    informers have the data; its partitions stay paused, `ReadNothing`): the group only
    assigns partitions, and `listener` hears of them. `on_partitions(count)` is called
    before joining. Short session: a dead member's partitions move within seconds."""
    consumer = make_consumer(settings, group=group, session_timeout_ms=SESSION_TIMEOUT_MS,
                             heartbeat_interval_ms=HEARTBEAT_MS)
    await consumer.start()
    try:
        on_partitions(len(await partitions_of(consumer, topic)))
        consumer.subscribe([topic], listener=ReadNothing(consumer, listener))
        while True:
            await consumer.getmany(timeout_ms=1000)
    finally:
        await consumer.stop()
