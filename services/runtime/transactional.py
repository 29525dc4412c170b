"""Exactly-once consume-transform-produce over Kafka transactions.

A `TransactionalLoop` consumes one topic in a consumer group. For each partition
it owns it keeps one `PartitionProcessor` and one transactional producer whose id
is derived from the partition, so a new owner fences any zombie of the old one
(aiokafka has no KIP-447). Each fetched batch of a partition becomes one
transaction: the processor's output records plus the consumed offsets. Only after
the commit does the processor make its new state its own (`committed()`).

Used by the API's manifest intake (stateless) and request writer (stateful).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError, ProducerFenced

from services.runtime.bus import make_consumer, make_producer
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.metrics import (LIVE, RECORDS_CONSUMED, RECORDS_PRODUCED, TRANSACTION_STAGE_SECONDS,
                                      TRANSACTIONS)

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Out:
    """One record to write inside the transaction."""

    topic: str
    key: str | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class PartitionProcessor(Protocol):
    async def start(self) -> None:
        """Load whatever state the partition needs (called after fencing)."""

    async def process(self, records: Sequence[Any]) -> list[Out]:
        """Decide the output of a batch, without making it the new state yet."""

    def committed(self) -> None:
        """The last batch's transaction committed: adopt its state."""

    def discard(self) -> None:
        """The last batch's transaction failed: forget its state."""


ProcessorFactory = Callable[[int], PartitionProcessor]

# what `kafkube_transaction_stage_duration_seconds` splits a committed transaction into, in order:
# its first record waiting (written to taken), deciding, the outputs acknowledged, the offsets added, EndTxn
STAGES = ("waited", "process", "produce", "offsets", "commit")


class _Owned:
    def __init__(self, processor: PartitionProcessor, producer: AIOKafkaProducer, committed: int) -> None:
        self.processor = processor
        self.producer = producer
        self.fenced = False
        self.committed = committed  # the group's committed offset, as far as this owner knows


class TransactionalLoop(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, settings: Settings, topic: str, *, group: str,
                 factory: ProcessorFactory, max_records: int = 500) -> None:
        self._settings = settings
        self._topic = topic
        self._group = group
        self._group_id = settings.group_id(group)
        self._factory = factory
        self._max_records = max_records
        self._owned: dict[int, _Owned] = {}
        self._lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned = False  # the group gave this member its partitions at least once
        self._results = {result: TRANSACTIONS.labels(group, result) for result in ("committed", "aborted", "fenced")}
        self._stages = {stage: TRANSACTION_STAGE_SECONDS.labels(group, stage) for stage in STAGES}
        LIVE.loops.add(self)  # /readyz waits for its partitions from now on (its run is next)

    @property
    def group(self) -> str:
        return self._group

    @property
    def ready(self) -> bool:
        """Readiness: a member of the group that owns (and loaded) every partition it was given."""
        consumer = self._consumer
        return (self._assigned and consumer is not None
                and all(tp.partition in self._owned for tp in consumer.assignment()))

    def lags(self) -> dict[int, int]:
        """Owned partition -> records behind the last fetch's high watermark (cheap: no request)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        return {partition: max(0, (consumer.highwater(TopicPartition(self._topic, partition)) or owned.committed)
                               - owned.committed)
                for partition, owned in list(self._owned.items())}

    async def run(self) -> None:
        consumer = make_consumer(self._settings, group=self._group, max_poll_interval_ms=600_000)
        consumer.subscribe([self._topic], listener=self)
        await consumer.start()
        self._consumer = consumer
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
                async with self._lock:
                    await self._handle(consumer, batches)
        finally:
            LIVE.loops.discard(self)
            async with self._lock:
                await self._release(set(self._owned))
            await consumer.stop()

    async def _handle(self, consumer: AIOKafkaConsumer,
                      batches: dict[TopicPartition, list[Any]]) -> None:
        new = [tp for tp in consumer.assignment() if tp.partition not in self._owned]
        for tp in new:
            batches.pop(tp, None)  # fetched before we fenced: read again after seek
        results = await asyncio.gather(*(self._take(consumer, tp) for tp in new),
                                       return_exceptions=True)
        for tp, result in zip(new, results):
            if isinstance(result, (KafkaError, OSError)):
                log.error("partition.take_failed", group=self._group, partition=tp.partition,
                          error=f"{result.__class__.__name__}: {result}")
            elif isinstance(result, BaseException):
                raise result
        work = [(tp, owned, records) for tp, records in batches.items()
                if records and (owned := self._owned.get(tp.partition)) and not owned.fenced]
        # partitions are independent (own producer, own state): their transactions overlap
        await asyncio.gather(*(self._transact(consumer, tp, owned, records) for tp, owned, records in work))
        await self._commit_skipped(consumer, {tp for tp, _owned, _records in work})

    async def _commit_skipped(self, consumer: AIOKafkaConsumer, worked: set[TopicPartition]) -> None:
        """Commit the position of partitions whose reading moved past records it never
        returns (an aborted transaction's, transaction markers): with only those after
        the last commit, the committed offset would stay behind the end for good, and
        whoever waits for it (the takeover fence of the scheduler and the controllers)
        would wait for good. One commit for all of them: the next round's fetch waits for it."""
        ahead: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            owned = self._owned.get(tp.partition)
            if tp in worked or owned is None or owned.fenced:
                continue
            if (position := await consumer.position(tp)) > owned.committed:
                ahead[tp] = position
        if not ahead:
            return
        try:
            await consumer.commit(ahead)
        except KafkaError as exc:  # a rebalance under way: the next round tries again
            log.debug("partition.commit_skipped_failed", partitions=sorted(tp.partition for tp in ahead),
                      error=str(exc))
            return
        for tp, position in ahead.items():
            if (owned := self._owned.get(tp.partition)) is not None:
                owned.committed = position

    async def _take(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        """Own a partition: fence old producers, load state, resume at the committed offset."""
        producer = make_producer(self._settings, transactional_id=f"{self._group_id}-{tp.partition}")
        try:
            await producer.start()  # init_transactions: fences a zombie and ends its open txn
        except AssertionError as exc:  # aiokafka's coordinator lookup when no broker answers
            await producer.stop()
            raise KafkaConnectionError(f"transactional producer did not start: {exc}") from exc
        except BaseException:
            await producer.stop()
            raise
        processor = self._factory(tp.partition)
        try:
            await processor.start()
            committed = await consumer.committed(tp)
        except BaseException:
            await producer.stop()
            raise
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
        self._owned[tp.partition] = _Owned(processor, producer, committed or 0)
        log.info("partition.owned", group=self._group, partition=tp.partition, offset=committed)

    async def _transact(self, consumer: AIOKafkaConsumer, tp: TopicPartition,
                        owned: _Owned, records: list[Any]) -> None:
        RECORDS_CONSUMED.labels(tp.topic).inc(len(records))
        taken = time.time()
        stamps = [records[0].timestamp / 1000 if records[0].timestamp >= 0 else taken, taken]
        try:
            outputs = await owned.processor.process(records)
            stamps.append(time.time())
            async with owned.producer.transaction():
                sends = [await owned.producer.send(o.topic, key=o.key.encode() if o.key else None,
                                                   value=o.value, headers=list(o.headers) or None)
                         for o in outputs]
                await asyncio.gather(*sends)
                stamps.append(time.time())
                await owned.producer.send_offsets_to_transaction(
                    {tp: records[-1].offset + 1}, self._group_id)
                stamps.append(time.time())
            stamps.append(time.time())
        except ProducerFenced:
            owned.processor.discard()
            owned.fenced = True
            self._results["fenced"].inc()
            consumer.pause(tp)
            log.warning("partition.fenced", group=self._group, partition=tp.partition)
            return
        except (KafkaError, OSError) as exc:
            owned.processor.discard()
            self._results["aborted"].inc()
            log.error("partition.transaction_failed", group=self._group, partition=tp.partition,
                      error=f"{exc.__class__.__name__}: {exc}")
            await self._release({tp.partition})  # re-own next round: reload and re-seek
            await asyncio.sleep(0.5)
            return
        owned.processor.committed()
        owned.committed = records[-1].offset + 1
        self._results["committed"].inc()
        for stage, began, ended in zip(STAGES, stamps, stamps[1:]):
            self._stages[stage].observe(max(0.0, ended - began))
        for topic, count in Counter(o.topic for o in outputs).items():
            RECORDS_PRODUCED.labels(topic).inc(count)

    async def _release(self, partitions: set[int]) -> None:
        for partition in partitions:
            owned = self._owned.pop(partition, None)
            if owned is not None:
                with contextlib.suppress(Exception):
                    await owned.producer.stop()

    # -- ConsumerRebalanceListener ---------------------------------------------------
    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            await self._release({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Owning happens in the loop (`_take`), so a failure there is not swallowed."""
        self._assigned = True
