"""paced_passes: a pass that fits one chunk reads its keys when it asks them, `period_s`
after the last pass, as the unpaced resync always did."""

from __future__ import annotations

import asyncio

from services.runtime.resync import paced_passes
from services.runtime.tasks import cancel_and_wait


async def test_a_one_chunk_pass_asks_the_keys_there_are_when_it_asks() -> None:
    known = ["a"]
    asked: list[str] = []
    task = asyncio.create_task(paced_passes(lambda: known, asked.append, period_s=0.1))
    try:
        await asyncio.sleep(0.02)
        known.append("b")  # after the pass began waiting
        while len(asked) < 2:
            await asyncio.sleep(0.01)
    finally:
        await cancel_and_wait([task])
    assert asked[:2] == ["a", "b"]
