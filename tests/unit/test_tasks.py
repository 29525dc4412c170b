"""Tasks meant to run forever: the first to end ends the wait, with its error or a
RuntimeError naming what ended; stopping cancels and awaits them all."""

from __future__ import annotations

import asyncio

import pytest

from services.runtime.tasks import cancel_and_wait, run_until_one_ends


async def forever() -> None:
    await asyncio.Event().wait()


async def test_the_first_task_to_fail_raises_its_error() -> None:
    async def broken() -> None:
        raise ValueError("disk gone")

    tasks = [asyncio.create_task(forever()), asyncio.create_task(broken())]
    with pytest.raises(ValueError, match="disk gone"):
        await run_until_one_ends(tasks, "a worker")
    await cancel_and_wait(tasks)
    assert all(t.done() for t in tasks) and tasks[0].cancelled()


async def test_a_task_that_returns_is_an_error_too() -> None:
    async def quits() -> None:
        return None

    tasks = [asyncio.create_task(forever()), asyncio.create_task(quits())]
    with pytest.raises(RuntimeError, match="a worker ended"):
        await run_until_one_ends(tasks, "a worker")
    await cancel_and_wait(tasks)
