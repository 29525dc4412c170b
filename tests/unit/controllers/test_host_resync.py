"""ControllerHost's periodic resync: every key again each `resync_s`, in chunks of
RESYNC_CHUNK spread over the period, and never more than RESYNC_KEYS_PER_S a second, so a
controller of 150,000 keys stretches its pass instead of queueing every key at once; a
small one asks all its keys at once, `resync_s` apart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

import pytest

from services.controllers.machinery import host as host_module
from services.controllers.machinery.host import ControllerHost
from services.runtime.config import Settings
from services.runtime.informer import Change

TOPIC = "t.desired.widgets"


class Widgets:
    def __init__(self, count: int) -> None:
        self.keys = [f"shop/w{i}" for i in range(count)]

    def observe(self, change: Change[Any]) -> None:
        pass  # no index

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        return [change.key]

    def all_keys(self) -> Iterable[str]:
        return self.keys

    async def sync(self, key: str) -> None:
        raise AssertionError("no worker runs in these tests")


async def one_pass(count: int, *, resync_s: float = 0.05) -> list[tuple[float, str]]:
    """The keys the first resync pass asks, each with when it was asked."""
    host = ControllerHost(Settings(), component="widget-controller", topics=[TOPIC], ownership_topic=TOPIC,
                          controller=Widgets(count), resync_s=resync_s)
    host.informer._synced.set()  # type: ignore[union-attr]
    asked: list[tuple[float, str]] = []
    host.add = lambda key: asked.append((time.monotonic(), key))  # type: ignore[method-assign]
    started = time.monotonic()
    task = asyncio.create_task(host._resync_forever())
    try:
        while len(asked) < count:
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return [(at - started, key) for at, key in asked[:count]]


async def test_a_big_pass_is_asked_in_chunks_at_the_paced_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_module, "RESYNC_KEYS_PER_S", 1000.0)  # a chunk of 100 each 0.1 s
    asked = await one_pass(350)  # slower than resync_s (0.05) allows
    assert [key for _, key in asked] == [f"shop/w{i}" for i in range(350)]
    chunks = [asked[i:i + 100] for i in range(0, 350, 100)]
    assert [len(c) for c in chunks] == [100, 100, 100, 50]
    assert chunks[0][0][0] >= 0.1 * 0.9
    for earlier, later in zip(chunks, chunks[1:]):
        assert later[0][0] - earlier[-1][0] >= 0.1 * 0.9  # paced (never sooner; timer granularity)


async def test_a_pass_is_spread_over_the_period_when_the_pace_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_module, "RESYNC_KEYS_PER_S", 1e6)
    asked = await one_pass(250, resync_s=0.3)  # three chunks, 0.1 s apart: each key once per 0.3 s
    chunks = [asked[i:i + 100] for i in range(0, 250, 100)]
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert chunks[0][0][0] >= 0.1 * 0.9
    for earlier, later in zip(chunks, chunks[1:]):
        assert later[0][0] - earlier[-1][0] >= 0.1 * 0.9


async def test_a_small_pass_is_asked_at_once_after_the_period() -> None:
    asked = await one_pass(100)
    assert asked[0][0] >= 0.05 * 0.9 and asked[-1][0] - asked[0][0] < 0.05
