"""One informer per controller-manager process, shared by all its controllers.

Each controller asks `SharedInformer.view(topics)` for the topics it reads (at
construction, before anything runs) and uses the returned `InformerView` as it would
use its own `Informer`: get/items/synced/add_handler/wait_synced/barrier and
`async with`. The first view entered starts ONE `Informer` over the union of every
topic asked for (each record is read and decoded once, every object stored once);
the last view left stops it. A view's handlers see only the changes of its own
topics; observed pods are kept slim (`observed_pods.py`). Without sharing, every
controller had its own consumer and its own copy of every pod (four copies of
`desired.pods` in `kafkube serve controllers`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator
from typing import Any

from services.controllers.machinery.observed_pods import controllers_decoder
from services.controllers.machinery.takeover import TakeoverFence
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Handler, Informer
from services.runtime.topics import Topics


class SharedInformer:
    def __init__(self, settings: Settings, *, name: str = "controllers") -> None:
        self._settings = settings
        self._name = name
        self._topics: list[str] = []
        self._handlers: dict[str, list[Handler]] = {}
        self._informer: Informer[Any] | None = None
        self._users = 0
        self._lock: asyncio.Lock | None = None
        self.takeover = TakeoverFence(settings, lambda: self.informer.barrier())  # one for the process

    def view(self, topics: Collection[str]) -> "InformerView":
        if self._informer is not None:
            raise RuntimeError("shared informer already created: ask for views before running")
        for topic in topics:
            if topic not in self._handlers:
                self._topics.append(topic)
                self._handlers[topic] = []
        return InformerView(self, topics)

    def add_handler(self, topics: Collection[str], handler: Handler) -> None:
        if self._users:
            raise RuntimeError("shared informer already started: add handlers before running")
        for topic in topics:
            self._handlers[topic].append(handler)

    @property
    def informer(self) -> Informer[Any]:
        if self._informer is None:
            self._informer = Informer(self._settings, self._topics, name=self._name,
                                      trust=bus_trust(self._settings),
                                      decoder=controllers_decoder(Topics(self._settings.topic_prefix)))
            self._informer.add_handler(self._dispatch)
        return self._informer

    def _dispatch(self, change: Change[Any]) -> None:
        for handler in self._handlers.get(change.topic, ()):
            handler(change)

    async def acquire(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._users == 0:
                await self.informer.start()
            self._users += 1

    async def release(self) -> None:
        assert self._lock is not None
        async with self._lock:
            self._users -= 1
            if self._users == 0:
                await self.informer.stop()


class InformerView:
    """The part of the shared informer one controller reads (same API as `Informer`)."""

    def __init__(self, shared: SharedInformer, topics: Collection[str]) -> None:
        self._shared = shared
        self._topics = list(topics)

    def get(self, topic: str, key: str) -> Any | None:
        return self._shared.informer.get(topic, key)

    def items(self, topic: str) -> dict[str, Any]:
        """The live store of one topic; callers must not mutate it or its values."""
        return self._shared.informer.items(topic)

    def __iter__(self) -> Iterator[str]:
        return iter(self._topics)

    @property
    def synced(self) -> bool:
        return self._shared.informer.synced

    def add_handler(self, handler: Handler) -> None:
        """Before the shared informer starts (a handler must see the whole replay)."""
        self._shared.add_handler(self._topics, handler)

    async def __aenter__(self) -> "InformerView":
        await self._shared.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._shared.release()

    async def wait_synced(self) -> None:
        await self._shared.informer.wait_synced()

    async def barrier(self) -> None:
        """Read-your-writes over every topic of the shared informer (a superset of ours)."""
        await self._shared.informer.barrier()
