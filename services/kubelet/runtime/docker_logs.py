"""Container log streaming for DockerRuntime.logs: stdout and stderr kept apart.

aiodocker's `log()` merges both streams into one text and cuts it into arbitrary chunks,
so each stream is requested on its own (`timestamps=1`), buffered into lines and parsed
into LogChunk. With `follow=False` both are read to their end and merged by time; with
`follow=True` lines are yielded as they come and the iterator ends when both streams end
(the container stopped) or the caller stops iterating.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from aiodocker.containers import DockerContainer

from services.kubelet.runtime.base import LogChunk
from services.kubelet.runtime.docker_parse import LineBuffer, log_chunk

Stream = Literal["stdout", "stderr"]
_END = object()


def _params(since: datetime | None) -> dict[str, Any]:
    params: dict[str, Any] = {"timestamps": True}
    if since is not None:
        params["since"] = f"{since.timestamp():.9f}"
    return params


def _parse(stream: Stream, chunks: list[str]) -> list[LogChunk]:
    buffer = LineBuffer()
    lines = [line for chunk in chunks for line in buffer.feed(chunk)] + buffer.flush()
    return [log_chunk(stream, line) for line in lines]


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
    buffer = LineBuffer()
    try:
        flags = {"stdout": stream == "stdout", "stderr": stream == "stderr"}
        async for chunk in container.log(follow=True, **flags, **_params(since)):
            for line in buffer.feed(chunk):
                await queue.put(log_chunk(stream, line))
        for line in buffer.flush():
            await queue.put(log_chunk(stream, line))
        await queue.put(_END)
    except Exception as exc:  # handed to the consumer, which raises it
        await queue.put(exc)


async def follow_logs(container: DockerContainer, since: datetime | None) -> AsyncIterator[LogChunk]:
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
