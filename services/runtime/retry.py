"""Waiting out something that is away (the broker restarting, dockerd restarting): call
again after `first_s`, doubling to `max_s`, until the call succeeds, or until
`patience_s` has passed (then its error is raised). Used by the bus's clients when
they start (`bus.py`) and by the kubelet's first listing of its containers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0


async def retry_doubling(call: Callable[[], Awaitable[object]], retry_on: type[BaseException],
                         on_retry: Callable[[BaseException, float], None], *, patience_s: float | None = None,
                         sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """`on_retry(error, delay)` before each wait; `patience_s` None: for as long as it takes."""
    deadline = None if patience_s is None else time.monotonic() + patience_s
    delay = RETRY_FIRST_S
    while True:
        try:
            await call()
            return
        except retry_on as exc:
            if deadline is not None and time.monotonic() + delay > deadline:
                raise
            on_retry(exc, delay)
            await sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
