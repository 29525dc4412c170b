"""The informer against the real broker: load to the end offsets, tombstones,
partitions that end in a transaction marker (aiokafka #911), follow and barrier."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from services.runtime.bus import make_producer
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

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
    async with Informer(settings, [topic]) as view:
        await asyncio.wait_for(view.wait_synced(), 20)  # every partition ends with a marker
        store = view.items(topic)
        assert len(store) == 29 and "ns/cm-0" not in store and "ns/aborted" not in store
        assert store["ns/cm-1"] == {"i": 100}


async def test_follows_new_records_and_barrier_gives_read_your_writes(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("namespaces")
    changes: list[Change[dict[str, int]]] = []
    async with Informer(settings, [topic]) as view:
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


async def test_a_bad_record_is_skipped_not_fatal(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("secrets")
    async with make_producer(settings) as producer:
        await producer.send_and_wait(topic, key=b"x", value=b"{not json")
        await producer.send_and_wait(topic, key=b"y", value=orjson.dumps({"ok": True}))
    async with Informer(settings, [topic]) as view:
        await asyncio.wait_for(view.wait_synced(), 20)
        assert view.items(topic) == {"y": {"ok": True}}


async def test_a_failing_handler_and_an_undecodable_key_do_not_stop_the_view(settings: Settings) -> None:
    topic = Topics(settings.topic_prefix).desired("configmaps")
    seen: list[str] = []

    def fragile(change: Change[object]) -> None:
        seen.append(change.key)
        if change.key == "boom":
            raise RuntimeError("handler bug")

    async with Informer(settings, [topic]) as view:
        view.add_handler(fragile)
        await view.wait_synced()
        async with make_producer(settings) as producer:
            for key in (b"boom", b"\xff\xfe", b"after"):
                await producer.send_and_wait(topic, key=key, value=orjson.dumps({"k": key.hex()}))
        await asyncio.wait_for(view.barrier(), 20)
        assert view.items(topic)["after"] == {"k": b"after".hex()}
        assert seen[0] == "boom" and seen[-1] == "after" and len(seen) == 3
