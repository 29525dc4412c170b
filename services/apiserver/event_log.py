"""The events the apiserver holds: the newest `MAX_EVENTS` user events of `kafkube.events`
in the order this process read them, each with the partition and offset of its record,
and the resourceVersions of lists and events as positions in that topic (the next offset
of each partition, `"<o0>.<o1>...."`): the broker's numbers, so a list's resourceVersion
from any replica or process resumes a watch exactly while the events beyond it are still
held here; one older than what was dropped is Expired (410). Events are never modified
(every Kafkube event is its own record), so a watch sees only ADDED. Pure; fed and read
by `services.apiserver.events`."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

from services.apiserver.changelog import Expired

Obj = dict[str, Any]
MAX_EVENTS = 10_000  # upstream keeps events an hour; here a bound on memory


@dataclass(frozen=True, slots=True)
class HeldEvent:
    seq: int  # this process's order of reading
    partition: int
    offset: int
    event: Obj  # a core v1 Event, its resourceVersion the position after it


def encode_position(position: list[int] | tuple[int, ...]) -> str:
    return ".".join(str(o) for o in position)


class EventLog:
    """The newest events, by name and in order."""

    def __init__(self, partitions: int, *, capacity: int = MAX_EVENTS) -> None:
        self._position = [0] * partitions  # the next offset of each partition
        self._floor = [0] * partitions  # the offset after the newest event dropped
        self._held: deque[HeldEvent] = deque()
        self._by_key: OrderedDict[str, HeldEvent] = OrderedDict()
        self._capacity, self._seq, self._dropped_seq = capacity, 0, 0

    @property
    def resource_version(self) -> str:
        """The position now: a list's resourceVersion."""
        return encode_position(self._position)

    @property
    def seq(self) -> int:
        return self._seq

    def passed(self, partition: int, offset: int) -> None:
        """A record read that holds no user event still moves the position."""
        self._position[partition] = max(self._position[partition], offset + 1)

    def add(self, partition: int, offset: int, event: Obj) -> HeldEvent:
        self.passed(partition, offset)
        meta = event.get("metadata") or {}
        stamped = {**event, "metadata": {**meta, "resourceVersion": self.resource_version}}
        self._seq += 1
        held = HeldEvent(self._seq, partition, offset, stamped)
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        if (replaced := self._by_key.pop(key, None)) is not None:
            self._held.remove(replaced)
        self._held.append(held)
        self._by_key[key] = held
        while len(self._held) > self._capacity:
            dropped = self._held.popleft()
            self._dropped_seq = dropped.seq
            self._by_key.pop(f"{dropped.event['metadata'].get('namespace')}/{dropped.event['metadata'].get('name')}")
            self._floor[dropped.partition] = max(self._floor[dropped.partition], dropped.offset + 1)
        return held

    def get(self, namespace: str, name: str) -> Obj | None:
        held = self._by_key.get(f"{namespace}/{name}")
        return held.event if held else None

    def events(self, namespace: str = "") -> list[Obj]:
        """Every event held (in one namespace if given), sorted by `<namespace>/<name>` (the
        order `limit`/`continue` pages in)."""
        return [h.event for k, h in sorted(self._by_key.items()) if not namespace or k.startswith(namespace + "/")]

    def after_position(self, resource_version: str) -> list[HeldEvent]:
        """The events at or beyond a list's resourceVersion, or Expired."""
        parts = resource_version.split(".")
        if len(parts) != len(self._position) or not all(p.isdigit() for p in parts):
            raise Expired(f"resourceVersion {resource_version!r} is not a position of the events; list again")
        position = [int(p) for p in parts]
        if any(p < floor for p, floor in zip(position, self._floor)):
            raise Expired("too old resource version: the events after it are no longer kept")
        return [h for h in self._held if h.offset >= position[h.partition]]

    def after_seq(self, seq: int) -> list[HeldEvent]:
        """The events read after `seq` (a watch's next ones), or Expired when some of them
        were dropped (a watch that fell `capacity` events behind)."""
        if seq < self._dropped_seq:
            raise Expired("too old resource version: the watch fell behind the events kept")
        newer = []
        for held in reversed(self._held):  # in seq order: the newest last
            if held.seq <= seq:
                break
            newer.append(held)
        return newer[::-1]
