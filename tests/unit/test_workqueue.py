"""The runtime work queue's workers share the event loop: a backlog of handlers that
never suspend still lets other tasks (heartbeats, informers) run within the budget."""

from __future__ import annotations

import asyncio
import time

from services.runtime.workqueue import WorkQueue


async def test_a_backlog_of_busy_syncs_does_not_starve_the_loop() -> None:
    queue = WorkQueue()
    handled: list[str] = []

    async def busy(key: str) -> None:  # CPU work, no await that suspends
        until = time.monotonic() + 0.01
        while time.monotonic() < until:
            pass
        handled.append(key)

    for i in range(100):
        queue.add(f"k{i}")
    done_at_tick: list[int] = []

    async def heartbeat() -> None:
        while len(handled) < 100:
            done_at_tick.append(len(handled))
            await asyncio.sleep(0.005)

    workers = asyncio.create_task(queue.run_workers(busy, workers=1))
    await asyncio.wait_for(heartbeat(), timeout=30)
    workers.cancel()
    per_turn = [b - a for a, b in zip(done_at_tick, done_at_tick[1:])]
    assert len(handled) == 100
    # 1 s of work without a suspension; the other task ran every few 50 ms turns of it (a
    # due timer is run an iteration or two after the turn that made it due), counted in keys
    # of 10 ms, so a loaded machine's scheduling cannot fail the test: without turns, 100
    assert len(done_at_tick) >= 4 and max(per_turn) <= 20


async def test_keys_are_handled_in_batches_between_turns() -> None:
    """Not a turn per key: quick handlers run back to back (a producer then batches)."""
    queue = WorkQueue()
    order: list[str] = []

    async def quick(key: str) -> None:
        order.append(key)

    for i in range(100):
        queue.add(f"k{i}")
    workers = asyncio.create_task(queue.run_workers(quick, workers=1))
    while len(order) - order.count("turn") < 100:
        order.append("turn")
        await asyncio.sleep(0)
    workers.cancel()
    runs, run = [], 0
    for item in order:
        run = 0 if item == "turn" else run + 1
        runs.append(run)
    assert max(runs) == 100  # the other task waited for the whole batch of quick keys
