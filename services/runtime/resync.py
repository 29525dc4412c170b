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
    """Forever; the keys are read at the start of each pass. `chunk`: keys asked
    together (None: the whole pass at once, `period_s` apart); `per_s`: the most keys
    asked a second (None: no limit)."""
    while True:
        found = list(keys())
        size = chunk or max(1, len(found))
        chunks = [found[i:i + size] for i in range(0, len(found), size)] or [[]]
        interval = period_s / len(chunks)
        if per_s:
            interval = max(interval, size / per_s)
        for part in chunks:
            await asyncio.sleep(interval)
            for key in part:
                ask(key)
