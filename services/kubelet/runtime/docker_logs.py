"""Container log streaming for DockerRuntime.logs: stdout and stderr kept apart.

aiodocker's `log()` merges both streams into one text, so each stream is requested on its
own (`timestamps=1`) and its frames (one per Engine log message) are assembled into lines
by `docker_parse.LogAssembler`. With `follow=False` both are read to their end and merged by time; with
`follow=True` lines are yielded as they come and the iterator ends when both streams end
(the container stopped) or the caller stops iterating.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, Literal

from aiodocker.containers import DockerContainer

from services.kubelet.runtime.base import LogChunk
from services.kubelet.runtime.docker_parse import LogAssembler

Stream = Literal["stdout", "stderr"]
_END = object()


def _params(since: datetime | None) -> dict[str, Any]:
    params: dict[str, Any] = {"timestamps": True}
    if since is not None:
        params["since"] = f"{since.timestamp():.9f}"
    return params


def _parse(stream: Stream, frames: list[str]) -> list[LogChunk]:
    assembler = LogAssembler(stream)
    return [chunk for frame in frames for chunk in assembler.feed(frame)] + assembler.flush()


async def read_logs(container: DockerContainer, since: datetime | None) -> list[LogChunk]:
    """Everything logged so far (since `since`), both streams merged in time order."""
    params = _params(since)
    out, err = await asyncio.gather(
        container.log(stdout=True, follow=False, **params),
        container.log(stderr=True, follow=False, **params),
    )
    merged = _parse("stdout", out) + _parse("stderr", err)
    return sorted(merged, key=lambda chunk: chunk.timestamp)  # stable: ties keep stream order


async def _pump(container: DockerContainer, stream: Stream, since: datetime | None,
                queue: asyncio.Queue[object]) -> None:
    assembler = LogAssembler(stream)
    try:
        flags = {"stdout": stream == "stdout", "stderr": stream == "stderr"}
        async for frame in container.log(follow=True, **flags, **_params(since)):
            for chunk in assembler.feed(frame):
                await queue.put(chunk)
        for chunk in assembler.flush():
            await queue.put(chunk)
        await queue.put(_END)
    except Exception as exc:  # handed to the consumer, which raises it
        await queue.put(exc)


async def follow_logs(container: DockerContainer, since: datetime | None) -> AsyncGenerator[LogChunk, None]:
    """Lines of both streams as they are written, until the container's streams end."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1000)
    tasks = [asyncio.create_task(_pump(container, s, since, queue)) for s in ("stdout", "stderr")]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if item is _END:
                running -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                assert isinstance(item, LogChunk)
                yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
