"""ControllerHost's takeover: the keys of a partition just assigned are synced only
after the fence (every request already on kafkube.requests applied by the API, then
the view caught up), then all of them at once; a revoked partition stops at once; a
fence that fails is tried again, the keys staying unowned meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pytest
from aiokafka import TopicPartition

from services.controllers.machinery import host as host_module
from services.controllers.machinery.host import ControllerHost
from services.runtime.config import Settings
from services.runtime.informer import Change

TOPIC = "t.desired.widgets"
KEYS = ["shop/a", "shop/b", "shop/c"]


class Widgets:
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
    monkeypatch.setattr(host_module, "wait_requests_applied", fence)
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
