"""The informer: a materialised view of compacted topics.

It reads the chosen partitions of one or more compacted topics from the beginning,
is *synced* once it reaches the end offsets captured at start, then follows new
records (the process's collector waits meanwhile: `gcpolicy.ReplayHold`). A
tombstone deletes the key. Given a `BusTrust`, every record of a state
topic must pass its `RecordGate` (signature and allowed writer) before it is decoded;
a refused record never replaces the key's value (services/runtime/trust.py). Every change reaches the handlers as a
`Change(old, new)`; handlers only enqueue work and must not block. Used by every
service that needs cluster state (DESIGN.md §1: compacted topics are the store).

A view of both busy topics (pods and nodes: every pod change, every node's heartbeat)
and quiet ones reads each group with its own consumer. A fetch names every partition
its consumer reads and returns as soon as one has a record, so one consumer for the
controllers' 41 topics built, sent and decoded a request of 246 partitions for each
heartbeat; now those fetches name the 24 busy partitions, and the quiet ones are
fetched once per long-poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.runtime.bus import decode, make_consumer, partitions_of
from services.runtime.config import Settings
from services.runtime.gcpolicy import ReplayHold
from services.runtime.logging import get_logger
from services.runtime.metrics import LIVE, RECORDS_CONSUMED
from services.runtime.trust import BusTrust

V = TypeVar("V")
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Change(Generic[V]):
    topic: str
    key: str
    old: V | None
    new: V | None
    offset: int
    timestamp_ms: int
    partition: int = 0


Handler = Callable[[Change[Any]], None]


def viewing_decoder(topic: str, view: Callable[[Any], Any]) -> Callable[[str, bytes], Any]:
    """An informer decoder that keeps `view(record)` of `topic`'s records (a service's slim
    copy of what it reads of a busy topic) and every other topic's records whole. Pure."""
    def decode_record(record_topic: str, raw: bytes) -> Any:
        value = decode(raw)
        return view(value) if record_topic == topic else value
    return decode_record


BUSY_PLURALS = frozenset({"pods", "nodes"})


def fetch_groups(topics: Collection[str]) -> list[list[str]]:
    """The topics each of a view's consumers reads: the busy ones, then the rest (one
    group when either is empty; a view of no topic still has its one consumer). Pure."""
    busy = [t for t in topics if t.rsplit(".", 1)[-1] in BUSY_PLURALS]
    quiet = [t for t in topics if t not in busy]
    return [group for group in (busy, quiet) if group] or [[]]


class Informer(Generic[V]):
    """A dict per topic, kept equal to the compacted topic's latest values."""

    def __init__(
        self,
        settings: Settings,
        topics: Collection[str],
        *,
        partitions: Collection[int] | None = None,
        decoder: Callable[[str, bytes], V] = lambda _t, raw: decode(raw),
        follow: bool = True,
        name: str = "informer",
        trust: BusTrust | None = None,
    ) -> None:
        """`trust`: check every desired/observed record with this process's bus keys
        (services pass `buskeys.bus_trust(settings)`; None: no checks, e.g. the CLI)."""
        self._settings = settings
        self._topics = list(topics)
        self._partitions = partitions
        self._decoder = decoder
        self._follow = follow
        self._name = name
        self._stores: dict[str, dict[str, V]] = {t: {} for t in self._topics}
        self._handlers: list[Handler] = []
        self._consumers: list[AIOKafkaConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = asyncio.Event()
        self._waiters: list[tuple[dict[TopicPartition, int], asyncio.Future[None]]] = []
        self._idle_rounds: dict[TopicPartition, int] = {}  # per partition: rounds that brought nothing
        self._sync_future: asyncio.Future[None] | None = None
        self._replay: ReplayHold | None = None
        self._gate = trust.gate(self._topics, name=name) if trust is not None else None

    # -- reading -----------------------------------------------------------------
    def get(self, topic: str, key: str) -> V | None:
        return self._stores[topic].get(key)

    def items(self, topic: str) -> dict[str, V]:
        """The live store of one topic; callers must not mutate it or its values."""
        return self._stores[topic]

    def __iter__(self) -> Iterator[str]:
        return iter(self._topics)

    def partitions(self, topic: str) -> list[int]:
        """The partitions of `topic` this view reads (known once started)."""
        assert self._consumers, "the informer is not started"
        return sorted(tp.partition for tp in self._assigned() if tp.topic == topic)

    @property
    def name(self) -> str:
        return self._name

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    @property
    def refused(self) -> int:
        """How many records the gate refused (bad signature or writer)."""
        return self._gate.refused if self._gate is not None else 0

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    # -- lifecycle ---------------------------------------------------------------
    async def __aenter__(self) -> "Informer[V]":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        LIVE.informers.add(self)  # /readyz waits for its sync from now on (until `stop`); /metrics shows it
        end: dict[TopicPartition, int] = {}
        try:
            for topics in fetch_groups(self._topics):
                consumer = make_consumer(self._settings)
                await consumer.start()
                self._consumers.append(consumer)
                tps = await self._assignment(consumer, topics)
                consumer.assign(tps)
                await consumer.seek_to_beginning(*tps)
                end |= await consumer.end_offsets(tps)
        except BaseException:
            await self._stop_consumers()
            raise
        self._replay = ReplayHold()
        self._sync_future = asyncio.get_running_loop().create_future()
        self._sync_future.add_done_callback(self._replayed)
        self._waiters.append((end, self._sync_future))
        self._tasks = [asyncio.create_task(self._run(consumer), name=f"{self._name}-follow")
                       for consumer in self._consumers]

    async def wait_synced(self) -> None:
        """Wait until the view holds everything that was committed at start."""
        await self._wait(self._sync_future)

    async def barrier(self) -> None:
        """Wait until the view holds everything committed *now* (read-your-writes)."""
        assert self._consumers
        end: dict[TopicPartition, int] = {}
        for consumer in self._consumers:
            end |= await consumer.end_offsets(list(consumer.assignment()))
        if self._reached(end, await self._positions()):
            return  # already there: no wait for the follow task's next round
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((end, future))
        await self._wait(future)

    async def stop(self) -> None:
        LIVE.informers.discard(self)
        if self._replay is not None:
            self._replay.release()  # if it stopped before it synced
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._stop_consumers()

    async def _stop_consumers(self) -> None:
        consumers, self._consumers = self._consumers, []
        for consumer in consumers:
            await consumer.stop()

    # -- internals ---------------------------------------------------------------
    def _replayed(self, _synced: asyncio.Future[None]) -> None:
        if self._replay is not None:
            self._replay.release()
        self._synced.set()

    async def _wait(self, future: asyncio.Future[None] | None) -> None:
        if future is None:
            return
        assert self._tasks
        done, _ = await asyncio.wait({future, *self._tasks}, return_when=asyncio.FIRST_COMPLETED)
        if future not in done:
            for task in done:
                task.result()  # a follow task died: raise its error
            raise RuntimeError(f"{self._name} stopped before it caught up")

    def _assigned(self) -> list[TopicPartition]:
        return [tp for consumer in self._consumers for tp in consumer.assignment()]

    async def _assignment(self, consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
        tps: list[TopicPartition] = []
        for topic in topics:
            available = await partitions_of(consumer, topic)
            chosen = available if self._partitions is None else set(self._partitions) & available
            tps += [TopicPartition(topic, p) for p in sorted(chosen)]
        return tps

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    RECORDS_CONSUMED.labels(tp.topic).inc(len(records))
                    for record in records:
                        self._apply(tp.topic, record)
                for tp in consumer.assignment():
                    self._idle_rounds[tp] = 0 if batches.get(tp) else self._idle_rounds.get(tp, 0) + 1
                await self._release_waiters()
                if not self._follow and not self._waiters and self._sync_future and self._sync_future.done():
                    return
        finally:
            if self._replay is not None:
                self._replay.release()  # ended before it synced (an error): the collector must not wait for good

    def _apply(self, topic: str, record: Any) -> None:
        if record.key is None:
            return
        key = record.key.decode("utf-8", "replace")
        if self._gate is not None and not self._gate.admit(topic, key, record):
            return
        store = self._stores[topic]
        old = store.get(key)
        if record.value is None:
            store.pop(key, None)
            new = None
        else:
            try:
                new = self._decoder(topic, record.value)
            except Exception as exc:  # a bad record must never stop a view
                log.warning("informer.bad_record", topic=topic, key=key,
                            offset=record.offset, error=str(exc)[:300])
                return
            store[key] = new
        change = Change(topic, key, old, new, record.offset, record.timestamp, record.partition)
        for handler in self._handlers:
            try:
                handler(change)
            except Exception:  # a handler's bug must not stop the view every service reads
                log.exception("informer.handler_failed", topic=topic, key=key, offset=record.offset)
        if self._gate is not None:
            for held in self._gate.released(topic, key, new):
                self._apply(held.topic, held)  # pod statuses held until their desired pod was seen

    async def _positions(self) -> dict[TopicPartition, int]:
        """Per partition, the offset the view has read to. A partition ending in a
        transaction marker can leave the position one short of the end offset (aiokafka
        #911): two rounds that brought that partition nothing count as caught up. Per
        partition: on a busy view some other partition always brings records, and a
        view-wide idle count never reached two (a barrier hung)."""
        return {tp: await consumer.position(tp) + (1 if self._idle_rounds.get(tp, 0) >= 2 else 0)
                for consumer in self._consumers for tp in consumer.assignment()}

    @staticmethod
    def _reached(end: dict[TopicPartition, int], positions: dict[TopicPartition, int]) -> bool:
        return all(positions.get(tp, 0) >= offset for tp, offset in end.items())

    async def _release_waiters(self) -> None:
        if not self._waiters:
            return
        reached = await self._positions()
        still: list[tuple[dict[TopicPartition, int], asyncio.Future[None]]] = []
        for end, future in self._waiters:
            if self._reached(end, reached):
                if not future.done():
                    future.set_result(None)
            else:
                still.append((end, future))
        self._waiters = still
