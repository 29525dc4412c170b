"""Partition ownership on a real broker: two members split a topic's partitions and
a member reads nothing of it (its partitions stay paused), however much is written."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import TopicPartition

from services.runtime import ownership as ownership_module
from services.runtime.bus import make_consumer, make_producer
from services.runtime.config import Settings
from services.runtime.ownership import PartitionOwnership
from services.runtime.tasks import cancel_and_wait
from services.runtime.topics import Topics

pytestmark = pytest.mark.kafka


async def eventually(check: Any, timeout_s: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


async def test_members_split_the_partitions_and_never_fetch_the_topic(settings: Settings,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    topic = Topics(settings.topic_prefix).desired("replicasets")
    consumers: list[Any] = []

    def recorded(*args: Any, **kwargs: Any) -> Any:
        consumer = make_consumer(*args, **kwargs)
        consumers.append(consumer)
        return consumer

    monkeypatch.setattr(ownership_module, "make_consumer", recorded)
    producer = make_producer(settings)
    await producer.start()
    first, second = (PartitionOwnership(settings, topic, group="test-ownership") for _ in range(2))
    tasks = [asyncio.create_task(member.run()) for member in (first, second)]
    try:
        await eventually(lambda: first.owned and second.owned and len(first.owned | second.owned) == 3)
        assert not first.owned & second.owned
        for i in range(60):
            await producer.send_and_wait(topic, key=f"default/rs-{i}".encode(), value=b"{}")
        await asyncio.sleep(2)  # four long-polls' worth: an unpaused member would have read them by now
        assert len(consumers) == 2
        for consumer in consumers:
            assignment = consumer.assignment()
            assert assignment and consumer.paused() == assignment
            for tp in assignment:
                assert await consumer.position(tp) == 0, f"{tp} was read"
        ends = await consumers[0].end_offsets([TopicPartition(topic, p) for p in range(3)])
        assert sum(ends.values()) == 60
    finally:
        await cancel_and_wait(tasks)
        await producer.stop()
