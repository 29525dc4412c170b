"""A keyed work queue: handlers `add` keys, workers take them; one key is never held
by two workers at once (a key added while held is re-queued when released), other
keys run in parallel, and a failed key comes back after an exponential back-off.
Used by the kubelet, the scheduler and the controllers (client-go's workqueue, minimal).
Its metrics carry its `name`: adds, depth, work duration and results (services/runtime/metrics.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from services.runtime.logging import get_logger
from services.runtime.metrics import LIVE, RECONCILES, WORKQUEUE_ADDS, WORKQUEUE_WORK_SECONDS

log = get_logger(__name__)


class WorkQueue:
    def __init__(self, *, name: str = "workqueue", base_delay_s: float = 0.5, max_delay_s: float = 30.0) -> None:
        self.name = name
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._wakes: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._base, self._max = base_delay_s, max_delay_s
        self._adds = WORKQUEUE_ADDS.labels(name)

    def add(self, key: str) -> None:
        self._adds.inc()
        if key in self._active:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: str, delay_s: float) -> None:
        """Add `key` in `delay_s`; an earlier pending wake-up of the key makes this one moot."""
        loop = asyncio.get_running_loop()
        when = loop.time() + delay_s
        pending = self._wakes.get(key)
        if pending is not None and pending[0] <= when:
            return
        if pending is not None:
            pending[1].cancel()
        self._wakes[key] = (when, loop.call_at(when, self._wake, key))

    def _wake(self, key: str) -> None:
        self._wakes.pop(key, None)
        self.add(key)

    def __len__(self) -> int:
        return len(self._queued)

    async def _take(self) -> str:
        key = await self._queue.get()
        self._queued.discard(key)
        self._active.add(key)
        return key

    def _done(self, key: str, *, failed: bool) -> None:
        self._active.discard(key)
        if failed:
            count = self._failures[key] = self._failures.get(key, 0) + 1
            self.add_after(key, min(self._base * 2 ** (count - 1), self._max))
        else:
            self._failures.pop(key, None)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    async def run_workers(self, handle: Callable[[str], Awaitable[None]], *, workers: int) -> None:
        """Run `workers` workers until cancelled; a handler error requeues its key."""
        seconds = WORKQUEUE_WORK_SECONDS.labels(self.name)
        results = {failed: RECONCILES.labels(self.name, "error" if failed else "success") for failed in (False, True)}

        async def worker() -> None:
            turn = LoopTurn()
            while True:
                key = await self._take()
                failed = False
                started = time.perf_counter()
                try:
                    await handle(key)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # decided here: requeue with back-off
                    failed = True
                    log.warning("workqueue.retry", key=key, error=f"{type(exc).__name__}: {exc}"[:500],
                                retriable=getattr(exc, "retriable", True))
                finally:
                    self._done(key, failed=failed)
                    seconds.observe(time.perf_counter() - started)
                    results[failed].inc()
                await turn.take()

        LIVE.queues.add(self)
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            LIVE.queues.discard(self)


class LoopTurn:
    """A ready asyncio.Queue hands out keys without suspending, so a backlog of syncs
    that never wait can hold the event loop for seconds: heartbeats miss their session
    (a scheduler with 16,000 pods waiting lost its group membership again and again)
    and informers stall. `take()` gives the loop a turn once `budget_s` of work has
    passed; not after every key, which would flush the producer one record at a time
    (a turn per key doubled the CPU of the scheduler and the broker)."""

    def __init__(self, budget_s: float = 0.05) -> None:
        self._budget_s = budget_s
        self._since = time.monotonic()

    async def take(self) -> None:
        if time.monotonic() - self._since >= self._budget_s:
            await asyncio.sleep(0)
            self._since = time.monotonic()
