"""One supervisor per process: runs the components, stops them all when one
fails, and drains on SIGTERM/SIGINT. Used by `kafkube serve`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from services.runtime.tasks import cancel_and_wait
from services.runtime.logging import get_logger
from services.runtime.metrics import LIVE

log = get_logger(__name__)
Component = Callable[[], Coroutine[Any, Any, None]]


async def supervise(components: dict[str, Component]) -> int:
    """Run every component until SIGTERM/SIGINT (exit 0) or the first failure (exit 1)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks: dict[asyncio.Task[Any], str] = {
        asyncio.create_task(run(), name=name): name for name, run in components.items()}
    stopper: asyncio.Task[Any] = asyncio.create_task(stop.wait(), name="signal")
    LIVE.components.update({name: task for task, name in tasks.items()})  # /healthz
    try:
        done, _ = await asyncio.wait({*tasks, stopper}, return_when=asyncio.FIRST_COMPLETED)
        return _exit_code(done, tasks)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await cancel_and_wait([*tasks, stopper])
        for name in tasks.values():
            LIVE.components.pop(name, None)


def _exit_code(done: set[asyncio.Task[Any]], tasks: dict[asyncio.Task[Any], str]) -> int:
    code = 0
    for task in done:
        if task not in tasks:
            log.info("supervisor.stopping", reason="signal")
            continue
        exc = task.exception()
        if exc is not None:
            log.error("supervisor.component_failed", component=tasks[task],
                      error=f"{exc.__class__.__name__}: {exc}", exc_info=exc)
        else:
            log.error("supervisor.component_exited", component=tasks[task])
        code = 1
    return code

