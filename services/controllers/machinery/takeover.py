"""The takeover fence of one controller-manager process: every request already on
`kafkube.requests` applied by the API (`services/runtime/fence.py`), then the view
caught up with what that wrote (a read barrier). A controller that was just assigned
partitions syncs their keys only after a fence that began after the assignment, so the
previous owner's writes are in its view. Concurrent callers share one fence in
flight: every controller of the process is assigned its partitions at about the same
moment, and one fence serves them all (one consumer and one admin client, not one per
controller). A fence that failed is not reused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from services.runtime.config import Settings
from services.runtime.fence import wait_requests_applied
from services.runtime.topics import Topics


class TakeoverFence:
    def __init__(self, settings: Settings, view_barrier: Callable[[], Awaitable[None]]) -> None:
        self._settings = settings
        self._requests = Topics(settings.topic_prefix).requests
        self._view_barrier = view_barrier
        self._current: tuple[float, asyncio.Future[None]] | None = None

    async def after(self, since: float) -> None:
        """Return after a fence that began at or after `since` (time.monotonic()). A
        fence in flight that began earlier is let finish first; the callers waiting
        for it then share the next one."""
        while True:
            current = self._current
            if current is not None and current[0] >= since and not _failed(current[1]):
                await asyncio.shield(current[1])
                return
            if current is None or current[1].done():
                self._current = (time.monotonic(), asyncio.ensure_future(self._fence()))
                continue
            await asyncio.wait([current[1]])

    async def _fence(self) -> None:
        await wait_requests_applied(self._settings, self._requests)
        await self._view_barrier()


def _failed(fence: asyncio.Future[None]) -> bool:
    return fence.done() and (fence.cancelled() or fence.exception() is not None)
