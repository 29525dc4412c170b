"""The API under faults: SIGKILL in the middle of a stream, and a replica dying
while another shares its partitions. Every manifest must be applied exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Callable
from uuid import uuid4

import orjson
import pytest

from services.runtime.config import Settings
from services.runtime.topics import Topics
from tests.integration.kafkit import ServiceProcess, answer_key, answers, desired, publish, read_all, wait_for_answers

pytestmark = pytest.mark.kafka
OBJECTS = 120


def stream() -> tuple[list[bytes], list[str], list[str]]:
    """A create and then an update of OBJECTS config maps, keyed by object."""
    payloads, ids, keys = [], [], []
    for version in (1, 2):
        for i in range(OBJECTS):
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
                   "data": {"version": str(version)}}
            payloads.append(orjson.dumps(doc))
            ids.append(uuid4().hex)
            keys.append(f"default/cm-{i}")
    return payloads, ids, keys


async def publish_around(settings: Settings, payloads: list[bytes], ids: list[str], keys: list[str], *,
                         split: int, resume: asyncio.Event) -> None:
    """Publish in chunks of 20: the first `split` manifests, then (once `resume` is set,
    after the test's kill) the rest. So the kill always lands mid-stream, however slow
    either side is."""
    for start in range(0, len(payloads), 20):
        if start == split:
            await resume.wait()
        end = start + 20
        await publish(settings, payloads[start:end], request_ids=ids[start:end], keys=keys[start:end])


def owned_writer_partitions(api: ServiceProcess) -> set[int]:
    """The request partitions this API process has owned, from its logs."""
    lines = [orjson.loads(line) for line in api.logs().splitlines() if '"partition.owned"' in line]
    return {line["partition"] for line in lines if line.get("group") == "api-writer"}


async def until(condition: Callable[[], object], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def wait_until_answers(settings: Settings, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for e in await answers(settings) if answer_key(e)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} answers after {timeout}s"
        await asyncio.sleep(0.1)


async def assert_exactly_once(settings: Settings, ids: list[str]) -> None:
    found = await wait_for_answers(settings, {(rid, "0") for rid in ids}, timeout=120)
    counts = Counter({key: len(events) for key, events in found.items()})
    assert len(found) == len(ids), f"{len(ids) - len(found)} manifests never answered"
    assert set(counts.values()) == {1}, f"answered twice: {[k for k, c in counts.items() if c > 1][:5]}"
    reasons = [found[(rid, "0")][0]["reason"] for rid in ids]
    assert reasons == ["Created"] * OBJECTS + ["Updated"] * OBJECTS
    state = await desired(settings, "configmaps")
    for i in range(OBJECTS):
        obj = state[f"default/cm-{i}"]
        assert obj["data"] == {"version": "2"} and obj["metadata"]["generation"] == 2, obj
    records = await read_all(settings, Topics(settings.topic_prefix).desired("configmaps"))
    writes = Counter(r.key for r in records if r.key.startswith(b"default/cm-"))
    assert set(writes.values()) == {2}, "a desired record was written more (or less) than once"


async def test_sigkill_mid_stream_then_restart_applies_each_manifest_once(
        settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    api = services("api")
    payloads, ids, keys = stream()
    killed = asyncio.Event()
    sender = asyncio.create_task(publish_around(settings, payloads, ids, keys, split=OBJECTS, resume=killed))
    await wait_until_answers(settings, 20)  # mid-way through the creates (or past them)
    api.kill()
    killed.set()
    await sender
    services("api")
    await assert_exactly_once(settings, ids)


async def test_a_dying_replica_hands_its_partitions_to_the_other(
        settings: Settings, services: Callable[..., ServiceProcess]) -> None:
    first, second = services("api"), services("api")
    await publish(settings, [b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: warmup}\n"])
    await wait_until_answers(settings, 1)
    await until(lambda: owned_writer_partitions(first) and owned_writer_partitions(second))
    payloads, ids, keys = stream()
    killed = asyncio.Event()
    sender = asyncio.create_task(publish_around(settings, payloads, ids, keys, split=OBJECTS, resume=killed))
    await wait_until_answers(settings, 40)
    first.kill()
    killed.set()
    await sender
    await assert_exactly_once(settings, ids)
    assert second.alive()
    assert owned_writer_partitions(second) == {0, 1, 2}, "the survivor never took over the partitions"
