"""Container output to `kafkube.logs` (I/O): one task per started container follows
its log stream and sends each line as a LogLine keyed by pod key. A stream that ends
while the container still runs is reopened with `since` = the last timestamp sent, and
lines at or before it are skipped, so nothing is sent twice. After a kubelet restart,
`last_sent` reads the tail of the pods' log partitions to find where each container's
stream stopped, and adopted containers resume from there. Owned by the kubelet service;
the sync calls `follow` after starting a container and on each sync."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Collection
from datetime import datetime, timezone
from typing import Any

import orjson
from aiokafka import TopicPartition

from schemas.records import LogLine
from services.runtime.tasks import cancel_and_wait
from services.kubelet.emit import Emitter
from services.kubelet.runtime.base import ContainerInfo, ContainerRuntime, RuntimeFailure
from services.runtime.bus import make_consumer, partition_for, partitions_of
from services.runtime.config import Settings
from services.runtime.logging import get_logger

log = get_logger(__name__)


class LogStreamer:
    def __init__(self, runtime: ContainerRuntime, emitter: Emitter) -> None:
        self._runtime, self._emitter = runtime, emitter
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last: dict[str, datetime] = {}
        self._finished: set[str] = set()
        self._followed: dict[str, set[str]] = {}  # pod uid -> ids of its containers with bookkeeping here
        self._draining: set[str] = set()  # forgotten while still streaming: dropped when the stream ends
        self.adopted_since = datetime.now(timezone.utc)
        self.resume: dict[tuple[str, str], datetime | None] = {}  # (pod key, container) -> since

    def follow(self, info: ContainerInfo, *, adopted: bool = False) -> None:
        """Stream `info`'s output unless it is streamed (or was streamed to its end)."""
        self._draining.discard(info.id)  # seen again: keep what it has sent
        if info.role == "infra" or info.id in self._tasks or info.id in self._finished:
            return
        if adopted and info.id not in self._last:
            since = self.resume.get((info.pod.key, info.name), self.adopted_since)
            if since is not None:
                self._last[info.id] = since
        self._tasks[info.id] = asyncio.create_task(self._stream(info), name=f"logs-{info.id[:12]}")
        self._followed.setdefault(info.pod.uid, set()).add(info.id)

    def forget(self, keep: Collection[str], uids: Collection[str]) -> None:
        """Drop the bookkeeping of these pods' containers that are gone (not in `keep`):
        at once, or when a stream still sending its last lines ends. Other pods'
        containers are left alone (it runs at every sync of every pod of the node)."""
        for uid in uids:
            for cid in [c for c in self._followed.get(uid, ()) if c not in keep]:
                task = self._tasks.get(cid)
                if task is None or task.done():
                    self._drop(uid, cid)
                elif cid not in self._draining:
                    self._draining.add(cid)
                    task.add_done_callback(functools.partial(self._drained, uid, cid))

    def _drained(self, uid: str, cid: str, _ended: object) -> None:
        if cid in self._draining:
            self._draining.discard(cid)
            self._drop(uid, cid)

    def _drop(self, uid: str, cid: str) -> None:
        self._tasks.pop(cid, None)
        self._last.pop(cid, None)
        self._finished.discard(cid)
        followed = self._followed.get(uid)
        if followed is not None:
            followed.discard(cid)
            if not followed:
                del self._followed[uid]

    async def close(self) -> None:
        await cancel_and_wait(self._tasks.values())

    async def _stream(self, info: ContainerInfo) -> None:
        try:
            while True:
                try:
                    await self._read(info)
                except RuntimeFailure as exc:
                    log.warning("logs.stream_failed", container=info.id[:12], error=str(exc)[:200])
                    await asyncio.sleep(1)
                current = await self._runtime.inspect(info.id)
                if current is None or current.state != "running":
                    if current is not None:
                        await self._read(info, follow=False)  # lines written just before the exit
                    break
                await asyncio.sleep(0.5)
        except RuntimeFailure:
            pass
        finally:
            self._finished.add(info.id)

    async def _read(self, info: ContainerInfo, *, follow: bool = True) -> None:
        since = self._last.get(info.id)
        async for chunk in self._runtime.logs(info.id, since=since, follow=follow):
            last = self._last.get(info.id)
            if last is not None and chunk.timestamp <= last:
                continue
            await self._emitter.log_line(LogLine(namespace=info.pod.namespace, pod=info.pod.name,
                                                 container=info.name, stream=chunk.stream,
                                                 timestamp=chunk.timestamp, line=chunk.line,
                                                 attempt=info.attempt))
            self._last[info.id] = chunk.timestamp


async def last_sent(settings: Settings, topic: str, wanted: Collection[tuple[str, str]], *,
                    window: int = 20_000, timeout_s: float = 10.0) -> dict[tuple[str, str], datetime | None]:
    """Where each (pod key, container name)'s log stream stopped, from the last `window`
    records of the keys' partitions: the last line's timestamp; None when nothing was sent
    (the whole partition was read: stream from the start); absent when unknown."""
    if not wanted:
        return {}
    keys = {key for key, _ in wanted}
    consumer = make_consumer(settings)
    await consumer.start()
    try:
        count = len(await partitions_of(consumer, topic))
        partition = {key: partition_for(key, count) for key in keys}
        tps = sorted({TopicPartition(topic, p) for p in partition.values()})
        consumer.assign(tps)
        begin, end = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        whole = set()
        for tp in tps:
            consumer.seek(tp, max(begin[tp], end[tp] - window))
            if end[tp] - window <= begin[tp]:
                whole.add(tp.partition)
        found = await _scan(consumer, tps, end, keys, timeout_s)
    finally:
        await consumer.stop()
    result: dict[tuple[str, str], datetime | None] = {}
    for slot in wanted:
        if slot in found:
            result[slot] = found[slot]
        elif partition[slot[0]] in whole:
            result[slot] = None
    return result


async def _scan(consumer: Any, tps: list[TopicPartition], end: dict[TopicPartition, int],
                keys: set[str], timeout_s: float) -> dict[tuple[str, str], datetime]:
    found: dict[tuple[str, str], datetime] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        positions = [await consumer.position(tp) for tp in tps]
        if all(pos >= end[tp] for pos, tp in zip(positions, tps)):
            break
        batches = await consumer.getmany(timeout_ms=300)
        for records in batches.values():
            for record in records:
                key = record.key.decode() if record.key else ""
                if key in keys and record.value:
                    line = orjson.loads(record.value)
                    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
                    slot = (key, line["container"])
                    if slot not in found or stamp > found[slot]:
                        found[slot] = stamp
    return found
