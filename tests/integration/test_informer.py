"""The informer against the real broker: load to the end offsets, tombstones,
partitions that end in a transaction marker (aiokafka #911), follow and barrier; and the
tests' own `read_all`, which every "nothing else happened" check stands on."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from services.runtime.bus import make_producer
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics
from tests.integration.kafkit import _read_to, read_all

pytestmark = pytest.mark.kafka


async def test_loads_applies_tombstones_and_syncs_past_transaction_markers(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("configmaps")
    async with make_producer(settings, transactional_id=f"{settings.topic_prefix}test-tx") as producer:
        async with producer.transaction():
            for i in range(30):
                await producer.send(topic, key=f"ns/cm-{i}".encode(), value=orjson.dumps({"i": i}))
        async with producer.transaction():
            await producer.send(topic, key=b"ns/cm-0", value=None)  # tombstone
            await producer.send(topic, key=b"ns/cm-1", value=orjson.dumps({"i": 100}))
        await producer.begin_transaction()
        await producer.send(topic, key=b"ns/aborted", value=orjson.dumps({"i": -1}))
        await producer.abort_transaction()
    view: Informer[Any] = Informer(settings, [topic])
    async with view:
        await asyncio.wait_for(view.wait_synced(), 20)  # every partition ends with a marker
        store = view.items(topic)
        assert len(store) == 29 and "ns/cm-0" not in store and "ns/aborted" not in store
        assert store["ns/cm-1"] == {"i": 100}


async def test_follows_new_records_and_barrier_gives_read_your_writes(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("namespaces")
    changes: list[Change[dict[str, int]]] = []
    view: Informer[Any] = Informer(settings, [topic])
    async with view:
        view.add_handler(changes.append)
        await view.wait_synced()
        assert view.items(topic) == {}
        async with make_producer(settings) as producer:
            await producer.send_and_wait(topic, key=b"a", value=orjson.dumps({"v": 1}))
            await producer.send_and_wait(topic, key=b"a", value=orjson.dumps({"v": 2}))
            await producer.send_and_wait(topic, key=b"a", value=None)
            await producer.send_and_wait(topic, key=b"b", value=orjson.dumps({"v": 3}))
        await asyncio.wait_for(view.barrier(), 20)
        assert view.items(topic) == {"b": {"v": 3}}
        assert [(c.key, c.old, c.new) for c in changes] == [
            ("a", None, {"v": 1}), ("a", {"v": 1}, {"v": 2}), ("a", {"v": 2}, None), ("b", None, {"v": 3})]


async def test_a_view_of_busy_and_quiet_topics_loads_follows_and_barriers_over_both(settings: Settings) -> None:
    topics = Topics(settings.topic_prefix)
    pods, configmaps = topics.desired("pods"), topics.desired("configmaps")  # two consumers (fetch_groups)
    async with make_producer(settings) as producer:
        for i in range(10):
            await producer.send(pods, key=f"ns/p-{i}".encode(), value=orjson.dumps({"p": i}))
            await producer.send(configmaps, key=f"ns/c-{i}".encode(), value=orjson.dumps({"c": i}))
        await producer.flush()
        view: Informer[Any] = Informer(settings, [configmaps, pods])
        async with view:
            await asyncio.wait_for(view.wait_synced(), 20)
            assert len(view.items(pods)) == 10 and len(view.items(configmaps)) == 10
            assert view.partitions(pods) == view.partitions(configmaps) == [0, 1, 2]
            await producer.send_and_wait(configmaps, key=b"ns/c-0", value=None)
            await producer.send_and_wait(pods, key=b"ns/p-new", value=orjson.dumps({"p": 99}))
            await asyncio.wait_for(view.barrier(), 20)  # over both consumers' partitions
            assert "ns/c-0" not in view.items(configmaps) and view.get(pods, "ns/p-new") == {"p": 99}


async def test_a_bad_record_is_skipped_not_fatal(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("secrets")
    async with make_producer(settings) as producer:
        await producer.send_and_wait(topic, key=b"x", value=b"{not json")
        await producer.send_and_wait(topic, key=b"y", value=orjson.dumps({"ok": True}))
    view: Informer[Any] = Informer(settings, [topic])
    async with view:
        await asyncio.wait_for(view.wait_synced(), 20)
        assert view.items(topic) == {"y": {"ok": True}}


async def test_a_failing_handler_and_an_undecodable_key_do_not_stop_the_view(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("configmaps")
    seen: list[str] = []

    def fragile(change: Change[object]) -> None:
        seen.append(change.key)
        if change.key == "boom":
            raise RuntimeError("handler bug")

    view: Informer[Any] = Informer(settings, [topic])
    async with view:
        view.add_handler(fragile)
        await view.wait_synced()
        async with make_producer(settings) as producer:
            for key in (b"boom", b"\xff\xfe", b"after"):
                await producer.send_and_wait(topic, key=key, value=orjson.dumps({"k": key.hex()}))
        await asyncio.wait_for(view.barrier(), 20)
        assert view.items(topic)["after"] == {"k": b"after".hex()}
        assert seen[0] == "boom" and seen[-1] == "after" and len(seen) == 3


async def test_read_all_reads_every_partition_to_its_end_even_past_markers(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).events
    async with make_producer(settings, transactional_id=f"{settings.topic_prefix}test-read") as producer:
        for i in range(6):  # one transaction per record: every record followed by a marker
            async with producer.transaction():
                await producer.send(topic, key=f"k{i}".encode(), value=b"%d" % i, partition=i % 3)
        await producer.begin_transaction()
        await producer.send(topic, key=b"aborted", value=b"-1", partition=0)
        await producer.abort_transaction()
    async with make_producer(settings) as plain:  # partition 2 ends in a plain record
        await plain.send_and_wait(topic, key=b"last", value=b"last", partition=2)
    records = await read_all(settings, topic, timeout=30)
    assert sorted(r.value for r in records) == sorted([b"%d" % i for i in range(6)] + [b"last"])


async def test_read_all_raises_rather_than_return_part_of_a_topic(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).events
    async with make_producer(settings) as producer:
        await producer.send_and_wait(topic, key=b"k", value=b"v", partition=0)
    with pytest.raises(TimeoutError, match="not to the end"):
        await read_all(settings, topic, timeout=0)


@dataclass
class StuckConsumer:
    """A stand-in for the consumer on one partition whose end offset is 5 and whose position
    stays at 4 until `record_at_4` (if any) is handed out on poll number `late`: as aiokafka
    #911 leaves a partition that ends in a transaction marker, or as a slow fetch looks."""

    record_at_4: Any = None
    late: int = 3
    fetch_answered: bool = True  # the broker answers fetches at offset 4
    stable: int = 5
    polls: int = 0
    position_: int = 4
    tp: TopicPartition = field(default_factory=lambda: TopicPartition("t", 0))

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        await asyncio.sleep(0.01)
        self.polls += 1
        if self.record_at_4 is not None and self.polls == self.late:
            self.position_ = 5
            return {self.tp: [self.record_at_4]}
        return {}

    async def position(self, tp: TopicPartition) -> int:
        return self.position_

    def last_poll_timestamp(self, tp: TopicPartition) -> int | None:
        return int(1000 * time.time()) if self.fetch_answered else None

    def last_stable_offset(self, tp: TopicPartition) -> int | None:
        return self.stable


async def test_read_to_steps_over_a_final_marker_only_on_evidence() -> None:
    stuck = StuckConsumer()
    assert await _read_to(stuck, {stuck.tp: 5}, timeout=10) == []
    late = StuckConsumer(record_at_4="record 4", late=5, fetch_answered=False)
    assert await _read_to(late, {late.tp: 5}, timeout=10) == ["record 4"]
    for silent in (StuckConsumer(fetch_answered=False), StuckConsumer(stable=4)):
        with pytest.raises(TimeoutError, match=r"t\[0\]': '4/5'"):
            await _read_to(silent, {silent.tp: 5}, timeout=0.5)
