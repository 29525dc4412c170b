"""Paced resync passes, the safety net under the events (controller hosts, kubelets).

Pass after pass over the keys a callable gives: the pass's chunks are spread evenly over
`period_s`, never more than `per_s` keys a second, so that a process holding 150,000
keys stretches its pass instead of queueing every key at once. Every key comes back
each `period_s` where that pace allows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence


async def paced_passes(keys: Callable[[], Sequence[str]], ask: Callable[[str], None], *, period_s: float,
                       per_s: float | None = None, chunk: int | None = None) -> None:
    """Forever. `chunk`: keys asked together (None: the whole pass at once, `period_s`
    apart, the keys read when they are asked); `per_s`: the most keys asked a second
    (None: no limit)."""
    while True:
        interval = _interval(len(keys()), period_s, per_s, chunk)
        await asyncio.sleep(interval)
        found = list(keys())
        size = chunk or max(1, len(found))
        for start in range(0, len(found), size):
            if start:
                await asyncio.sleep(interval)
            for key in found[start:start + size]:
                ask(key)


def _interval(count: int, period_s: float, per_s: float | None, chunk: int | None) -> float:
    """The wait before each chunk of a pass over `count` keys."""
    size = chunk or max(1, count)
    interval = period_s / max(1, -(-count // size))
    return max(interval, size / per_s) if per_s else interval
