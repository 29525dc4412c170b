"""The apiserver's read side: every kind's objects as users see them (desired metadata
and spec merged with observed status, `schemas.printing.merged`), from one informer over
every `kafkube.desired.*` and `kafkube.observed.*` topic, and a bounded log of the changes
it saw, numbered in the order this process applied them, for watches.

resourceVersions are positions in Kafka (`services.apiserver.versions`): a list's is the
kind's position when it was taken, an object's the position right after its last change
(with its own resourceVersion, the request offset the API checks preconditions against,
in front). Any replica resumes a watch from either, exactly, while its change log still
holds what lies beyond (`services.apiserver.changelog`); else 410 Expired (`watch`).
Secrets are held as stored (values encrypted when the API encrypts them), without the
last-applied annotation; `services.apiserver.secrets` opens their values for each caller. Used by `services.apiserver.resources` and `watch`."""

from __future__ import annotations

import asyncio
from time import perf_counter
from typing import Any

from schemas.printing import from_observed, merged
from schemas.registry import ALL_KINDS, KindInfo
from schemas.secret_fields import without_last_applied
from services.apiserver.changelog import ChangeLog, Expired, WatchEvent
from services.apiserver.versions import BadVersion, decode, encode
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.metrics import APISERVER_WRITE_STAGE_SECONDS
from services.runtime.topics import Topics

Obj = dict[str, Any]
WRITTEN_WITHIN_S = 2.0  # how long a write's reader waits for its own version before a full barrier
STORED = APISERVER_WRITE_STAGE_SECONDS.labels("stored")
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
        obj = without_last_applied(obj)  # values stay as stored: encrypted, opened per caller (secrets.py)
    return obj


def _at_least(desired: Obj | None, version: int) -> bool:
    own = str(((desired or {}).get("metadata") or {}).get("resourceVersion") or "")
    return own.isdigit() and int(own) >= version


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
        self._log = ChangeLog()
        self._tick = asyncio.Event()
        self._slots: dict[tuple[str, int], tuple[str, int]] = {}  # (topic, partition): (plural, slot)
        self._positions: dict[str, list[int]] = {}  # plural: the next offset of each slot
        self._stamps: dict[tuple[str, str], tuple[int, ...]] = {}  # (plural, key): position after its last change

    # -- reads ---------------------------------------------------------------------
    def resource_version(self, info: KindInfo, at_least: tuple[int, ...] | None = None) -> str:
        """The kind's position now (a list's resourceVersion); with `at_least`, no slot
        behind it (a watch's bookmark when a client came from a replica further on)."""
        position = self._position(info.plural)
        return encode("", info.plural, tuple(map(max, position, at_least)) if at_least else tuple(position))

    def position_of(self, info: KindInfo, resource_version: str) -> tuple[int, ...]:
        """The position a client's resourceVersion names, or Expired."""
        try:
            return decode(resource_version, info.plural, len(self._position(info.plural))).position
        except BadVersion as exc:
            raise Expired(f"{exc}; list again") from None

    def get(self, info: KindInfo, key: str) -> Obj | None:
        return self._stamped(info, key, shown(info, self._informer.get(self._desired[info.plural], key),
                                              self._informer.get(self._observed[info.plural], key)))

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
        found = (self._stamped(info, k, shown(info, desired.get(k), observed.get(k))) for k in sorted(keys))
        return [o for o in found if o is not None]

    @property
    def seq(self) -> int:
        """The number of the last change in this process's change log."""
        return self._log.seq

    def after_position(self, info: KindInfo, position: tuple[int, ...]) -> list[WatchEvent]:
        """The kind's changes at or beyond `position`, or Expired."""
        return self._log.after_position(info.plural, position)

    def after_seq(self, seq: int) -> list[WatchEvent]:
        """Every change numbered after `seq` in this process's log, or Expired."""
        return self._log.after_seq(seq)

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

    async def written(self, info: KindInfo, key: str, resource_version: str | None, *,
                      within_s: float = WRITTEN_WITHIN_S) -> None:
        """Wait until the store holds `key` at its own `resource_version` or a later one:
        a client reads its own write as soon as that record is applied, without the
        barrier's round over every partition. One object's versions are the offsets of its
        requests, all on one partition, so they only grow. A version that is not an offset,
        or one not seen within `within_s` (the object deleted since), falls back to the barrier."""
        started = perf_counter()
        await self._written(info, key, resource_version, within_s)
        STORED.observe(perf_counter() - started)

    async def _written(self, info: KindInfo, key: str, resource_version: str | None, within_s: float) -> None:
        if not (resource_version or "").isdigit():
            await self.barrier()
            return
        wanted = int(resource_version)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not _at_least(self.desired(info, key), wanted):
            if (left := deadline - loop.time()) <= 0:
                await self.barrier()
                return
            await self.changed(left)

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

    # -- positions and the change log ----------------------------------------------
    def _position(self, plural: str) -> list[int]:
        if not self._slots:  # the partitions are known once the informer has started
            for info in ALL_KINDS:
                topics = (self._desired[info.plural], self._observed[info.plural])
                tps = [(t, p) for t in topics for p in self._informer.partitions(t)]
                self._slots.update({tp: (info.plural, slot) for slot, tp in enumerate(tps)})
                self._positions[info.plural] = [0] * len(tps)
        return self._positions[plural]

    def _stamped(self, info: KindInfo, key: str, obj: Obj | None, stamp: tuple[int, ...] | None = None) -> Obj | None:
        """`obj` with its resourceVersion: its own (the request's offset) and the position
        after its last change."""
        if obj is None:
            return None
        stamp = stamp or self._stamps.get((info.plural, key)) or tuple(self._position(info.plural))
        meta = obj.get("metadata") or {}
        token = encode(str(meta.get("resourceVersion") or ""), info.plural, stamp)
        return {**obj, "metadata": {**meta, "resourceVersion": token}}

    def _on_change(self, change: Change[Any]) -> None:
        info, family = self._by_topic[change.topic]
        position = self._position(info.plural)
        _, slot = self._slots[(change.topic, change.partition)]
        position[slot] = max(position[slot], change.offset + 1)
        if family == "desired":
            observed = self._informer.get(self._observed[info.plural], change.key)
            before, after = shown(info, change.old, observed), shown(info, change.new, observed)
        else:
            desired = self._informer.get(self._desired[info.plural], change.key)
            before, after = shown(info, desired, change.old), shown(info, desired, change.new)
        if before == after:
            return
        stamp = tuple(position)
        if after is None:
            self._stamps.pop((info.plural, change.key), None)
        else:
            self._stamps[(info.plural, change.key)] = stamp
        self._log.record(info.plural, slot, change.offset, self._stamped(info, change.key, before, stamp),
                         self._stamped(info, change.key, after, stamp))
        self._tick.set()
        self._tick = asyncio.Event()
