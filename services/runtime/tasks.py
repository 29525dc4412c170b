"""Stopping background tasks: cancel them all, then wait for each to end, so nothing
outlives its owner. Used by the supervisor and by every component that runs tasks."""

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
