"""Running and stopping background tasks: a set of tasks that should run forever fails
as a whole when one ends; stopping cancels them all, then waits for each to end, so
nothing outlives its owner. Used by the supervisor and by every component that runs
tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel every task and wait for all of them; their errors are theirs to log."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def run_until_one_ends(tasks: Iterable[asyncio.Task[Any]], what: str) -> None:
    """Wait for tasks meant to run forever: the first to end re-raises its error, or
    RuntimeError(`what` ended) when it returned. The caller cancels the rest."""
    done, _ = await asyncio.wait(list(tasks), return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()
    raise RuntimeError(f"{what} ended")
