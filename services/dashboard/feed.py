"""The dashboard's one informer over the desired and observed topics of the kinds it shows,
read from their beginning (every version the history window keeps) and followed: each
record becomes an `Entry` of the `Timeline`, and `changed` wakes the browsers' streams.
Records pass the bus trust checks as every service's do. Built by `services.dashboard.service`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from services.dashboard.timeline import Entry, Family, Timeline
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

PLURALS = ("namespaces", "nodes", "pods", "deployments", "replicasets", "services", "endpoints")


class ClusterFeed:
    """The timeline of `PLURALS`, kept up to date."""

    def __init__(self, settings: Settings) -> None:
        topics = Topics(settings.topic_prefix)
        self._families: dict[str, tuple[str, Family]] = {}
        for plural in PLURALS:
            self._families[topics.desired(plural)] = (plural, "desired")
            self._families[topics.observed(plural)] = (plural, "observed")
        self.timeline = Timeline(PLURALS)
        self._informer: Informer[Any] = Informer(settings, list(self._families), name="dashboard",
                                                 trust=bus_trust(settings))
        self._informer.add_handler(self._on_change)
        self._tick = asyncio.Event()

    def _on_change(self, change: Change[Any]) -> None:
        plural, family = self._families[change.topic]
        self.timeline.add(Entry(change.timestamp_ms, plural, family, change.key, change.new))
        self._tick.set()
        self._tick = asyncio.Event()

    async def changed(self, timeout_s: float) -> None:
        """Return when a record arrives or after `timeout_s`."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._tick.wait(), timeout_s)

    async def __aenter__(self) -> ClusterFeed:
        """Start following; returns once every topic is read to its end."""
        await self._informer.start()
        try:
            await self._informer.wait_synced()
        except BaseException:
            await self._informer.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._informer.stop()
