"""The Engine's `oom` events, remembered per container.

Docker 20.10 can report `State.OOMKilled: false` for a container the kernel OOM-killed:
when the OOM and exit notifications race, the exit overwrites the flag. The `oom` event
is emitted either way, so the runtime listens for it (this node's containers only) and
reports OOMKilled when either says so. Used by `DockerRuntime.inspect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict

import aiodocker

from services.kubelet.runtime.base import LABEL_NODE
from services.runtime.logging import get_logger

log = get_logger(__name__)
REMEMBERED = 10_000


class OomWatch:
    def __init__(self, docker: aiodocker.Docker, node: str) -> None:
        self._docker = docker
        self._node = node
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"oom-watch-{self._node}")

    def oom_killed(self, container_id: str) -> bool:
        return container_id in self._seen

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        since = int(time.time()) - 1
        filters = json.dumps({"type": ["container"], "event": ["oom"], "label": [f"{LABEL_NODE}={self._node}"]})
        while True:
            subscriber = self._docker.events.subscribe(since=str(since), filters=filters)
            try:
                while (event := await subscriber.get()) is not None:
                    self._remember(event.get("id") or event.get("Actor", {}).get("ID", ""))
                    since = int(time.time()) - 1
            except Exception as exc:  # the stream broke: reconnect from where it was
                log.warning("docker.oom_watch_failed", node=self._node, error=f"{type(exc).__name__}: {exc}"[:300])
            await self._docker.events.stop()
            await asyncio.sleep(1)

    def _remember(self, container_id: str) -> None:
        if container_id:
            log.info("container.oom", node=self._node, id=container_id[:12])
            self._seen[container_id] = None
            while len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)
