"""The apiserver's read side: every kind's objects as users see them (desired metadata
and spec merged with observed status, `schemas.printing.merged`), from one informer over
every `kafkube.desired.*` and `kafkube.observed.*` topic, and a bounded log of the changes
it saw, numbered in the order this process applied them, for watches.

resourceVersions: an object's own is the offset of the request that wrote it in its
`kafkube.requests` partition (docs/architecture.md), comparable only within its
partition. A list's is this process's position in its change log, `<epoch>.<seq>`:
exact to resume a watch from on this process while the change is still in the log
(`services.apiserver.changelog`); anything else is answered 410 Expired (`watch`).
Secrets are served without their values (`data`, `stringData` and the last-applied
annotation are removed): the values are stored encrypted and decrypted only for the
`kafkube` CLI's sealed reads. Used by `services.apiserver.resources` and `watch`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from schemas.printing import from_observed, merged
from schemas.registry import ALL_KINDS, KindInfo
from schemas.secret_fields import LAST_APPLIED
from services.apiserver.changelog import ChangeLog, Expired, WatchEvent
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

Obj = dict[str, Any]
__all__ = ["Expired", "ObjectStore", "WatchEvent", "shown"]


def shown(info: KindInfo, desired: Obj | None, observed: Obj | None) -> Obj | None:
    """The object as the API shows it, or None when there is none."""
    if desired is not None:
        obj = merged(desired, observed)
    elif observed is not None:
        obj = from_observed(observed)  # type: ignore[assignment]
    else:
        return None
    if obj is not None and info.kind == "Secret":
        annotations = {k: v for k, v in ((obj.get("metadata") or {}).get("annotations") or {}).items()
                       if k != LAST_APPLIED}
        meta = {**obj["metadata"], **({"annotations": annotations} if annotations else {})}
        if not annotations:
            meta.pop("annotations", None)
        obj = {k: v for k, v in obj.items() if k not in ("data", "stringData")} | {"metadata": meta}
    return obj


class ObjectStore:
    """Every object of every kind, and the change log watches read."""

    def __init__(self, settings: Settings) -> None:
        topics = Topics(settings.topic_prefix)
        self._desired = {info.plural: topics.desired(info.plural) for info in ALL_KINDS}
        self._observed = {info.plural: topics.observed(info.plural) for info in ALL_KINDS}
        self._by_topic = {t: (info, family) for info in ALL_KINDS
                          for family, t in (("desired", self._desired[info.plural]),
                                            ("observed", self._observed[info.plural]))}
        self._informer: Informer[Any] = Informer(settings, list(self._by_topic), name="apiserver-store",
                                                 trust=bus_trust(settings))
        self._informer.add_handler(self._on_change)
        self._log = ChangeLog(uuid.uuid4().hex[:8])
        self._tick = asyncio.Event()

    # -- reads ---------------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        """This process's position in its change log: a list's resourceVersion."""
        return self._log.resource_version

    def get(self, info: KindInfo, key: str) -> Obj | None:
        return shown(info, self._informer.get(self._desired[info.plural], key),
                     self._informer.get(self._observed[info.plural], key))

    def desired(self, info: KindInfo, key: str) -> Obj | None:
        """The stored object (no status): what a patch applies to."""
        return self._informer.get(self._desired[info.plural], key)

    def objects(self, info: KindInfo, namespace: str = "") -> list[Obj]:
        """Every object of a kind (in one namespace if given), sorted by key."""
        desired = self._informer.items(self._desired[info.plural])
        observed = self._informer.items(self._observed[info.plural])
        keys = set(desired) | (set(observed) if info.kind == "Endpoints" else set())
        if namespace:
            keys = {k for k in keys if k.startswith(namespace + "/")}
        found = (shown(info, desired.get(k), observed.get(k)) for k in sorted(keys))
        return [o for o in found if o is not None]

    def since(self, resource_version: str) -> list[WatchEvent]:
        """The changes after `resource_version` (a list's, from this process), or Expired."""
        return self._log.since(resource_version)

    async def changed(self, timeout_s: float) -> None:
        """Return when a change arrives or after `timeout_s`."""
        tick = self._tick
        try:
            await asyncio.wait_for(tick.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        await self._informer.start()

    async def wait_synced(self) -> None:
        await self._informer.wait_synced()

    @property
    def synced(self) -> bool:
        return self._informer.synced

    async def barrier(self) -> None:
        """Wait until the store holds everything committed now (read your own write)."""
        await self._informer.barrier()

    async def stop(self) -> None:
        await self._informer.stop()

    async def __aenter__(self) -> ObjectStore:
        """Start following and return once every topic is read to its end."""
        await self.start()
        try:
            await self.wait_synced()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the change log ------------------------------------------------------------
    def _on_change(self, change: Change[Any]) -> None:
        info, family = self._by_topic[change.topic]
        if family == "desired":
            observed = self._informer.get(self._observed[info.plural], change.key)
            before, after = shown(info, change.old, observed), shown(info, change.new, observed)
        else:
            desired = self._informer.get(self._desired[info.plural], change.key)
            before, after = shown(info, desired, change.old), shown(info, desired, change.new)
        if self._log.record(info.plural, before, after) is None:
            return
        self._tick.set()
        self._tick = asyncio.Event()
