"""ControllerHost's takeover: the keys of a partition just assigned are synced only
after the fence (every request already on kafkube.requests applied by the API, then
the view caught up), then all of them at once; a revoked partition stops at once; a
fence that fails is tried again, the keys staying unowned meanwhile. The controllers
of one process share fences: one in flight serves every caller that asked before it
began, callers that asked later share the next one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import pytest
from aiokafka import TopicPartition

from services.controllers.machinery import host as host_module
from services.controllers.machinery import takeover as takeover_module
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.takeover import TakeoverFence
from services.runtime.config import Settings
from services.runtime.informer import Change

TOPIC = "t.desired.widgets"
KEYS = ["shop/a", "shop/b", "shop/c"]


class Widgets:
    def observe(self, change: Change[Any]) -> None:
        pass  # no index

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        return [change.key]

    def all_keys(self) -> Iterable[str]:
        return KEYS

    async def sync(self, key: str) -> None:
        raise AssertionError("no worker runs in these tests")


async def until(condition: Any, deadline_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not condition():
        assert loop.time() < end, "condition not met"
        await asyncio.sleep(0.01)


def make_host(monkeypatch: pytest.MonkeyPatch, fence: Any) -> ControllerHost:
    monkeypatch.setattr(takeover_module, "wait_requests_applied", fence)
    host = ControllerHost(Settings(), component="widget-controller", topics=[TOPIC], ownership_topic=TOPIC,
                          controller=Widgets())
    barriers: list[None] = []

    async def barrier() -> None:
        barriers.append(None)

    monkeypatch.setattr(host.informer, "barrier", barrier)
    host.informer._synced.set()  # type: ignore[union-attr]
    return host


def everything(host: ControllerHost) -> set[TopicPartition]:
    return {TopicPartition(TOPIC, p) for p in range(host.settings.partitions)}


async def test_keys_are_synced_only_once_the_previous_owners_requests_are_applied(
        monkeypatch: pytest.MonkeyPatch) -> None:
    applied = asyncio.Event()
    fenced: list[str] = []

    async def fence(settings: Settings, topic: str) -> None:
        fenced.append(topic)
        await applied.wait()

    host = make_host(monkeypatch, fence)
    task = asyncio.create_task(host._take_over_forever())
    try:
        await host.ownership.on_partitions_assigned(everything(host))
        await until(lambda: fenced == ["kafkube.requests"])
        host.add("shop/a")  # a change meanwhile: not ours yet
        assert not any(host.owns(k) for k in KEYS) and len(host.queue) == 0
        applied.set()
        await until(lambda: len(host.queue) == len(KEYS))  # the resync after the takeover
        assert all(host.owns(k) for k in KEYS)
        revoked = host.ownership.partition("shop/a")
        await host.ownership.on_partitions_revoked({TopicPartition(TOPIC, revoked)})
        assert not host.owns("shop/a")
        assert all(host.owns(k) for k in KEYS if host.ownership.partition(k) != revoked)
    finally:
        task.cancel()


async def test_a_failed_fence_is_tried_again_and_the_keys_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_module, "FENCE_RETRY_S", 0.01)
    attempts: list[int] = []

    async def fence(settings: Settings, topic: str) -> None:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise ConnectionError("broker away")

    host = make_host(monkeypatch, fence)
    task = asyncio.create_task(host._take_over_forever())
    try:
        await host.ownership.on_partitions_assigned(everything(host))
        await until(lambda: all(host.owns(k) for k in KEYS))
        assert attempts == [0, 1] and len(host.queue) == len(KEYS)
    finally:
        task.cancel()


async def test_callers_share_a_fence_that_began_after_they_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    release: list[asyncio.Event] = []
    views: list[None] = []

    async def fence(settings: Settings, topic: str) -> None:
        release.append(asyncio.Event())
        await release[-1].wait()

    async def view_barrier() -> None:
        views.append(None)

    monkeypatch.setattr(takeover_module, "wait_requests_applied", fence)
    takeover = TakeoverFence(Settings(), view_barrier)
    asked = time.monotonic()
    early = [asyncio.create_task(takeover.after(asked)) for _ in range(3)]
    await until(lambda: len(release) == 1)
    late = [asyncio.create_task(takeover.after(time.monotonic() + 0.001)) for _ in range(3)]  # after the first began
    await asyncio.sleep(0.05)
    assert len(release) == 1 and not any(t.done() for t in early + late)  # the late ones wait for the next
    release[0].set()
    await asyncio.gather(*early)
    await until(lambda: len(release) == 2)  # one more fence for all three late callers
    assert not any(t.done() for t in late) and len(views) == 1
    release[1].set()
    await asyncio.gather(*late)
    assert len(release) == 2 and len(views) == 2


async def test_a_failed_fence_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []

    async def fence(settings: Settings, topic: str) -> None:
        calls.append(None)
        if len(calls) == 1:
            raise ConnectionError("broker away")

    async def view_barrier() -> None:
        return None

    monkeypatch.setattr(takeover_module, "wait_requests_applied", fence)
    takeover = TakeoverFence(Settings(), view_barrier)
    since = time.monotonic()
    with pytest.raises(ConnectionError):
        await takeover.after(since)
    await takeover.after(since)  # the same moment asked again: a new fence, not the failed one
    assert len(calls) == 2
