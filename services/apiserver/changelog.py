"""The apiserver's change log: the ADDED/MODIFIED/DELETED changes its store applied,
numbered in the order this process applied them, each with the partition slot and offset
of the record that caused it (`services.apiserver.versions`), the last `HISTORY` kept.

A watch starts from a position (any replica's, any process's: offsets are the broker's)
and then follows this log by number. A position older than what the log still holds for
some partition cannot be served exactly: Expired (410), and the client lists again.
Pure; fed by `services.apiserver.store`, read by `services.apiserver.watch`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

Obj = dict[str, Any]
HISTORY = 20_000  # changes kept for watches to resume from


@dataclass(frozen=True, slots=True)
class WatchEvent:
    seq: int
    type: str  # ADDED | MODIFIED | DELETED
    plural: str
    object: Obj
    slot: int  # the partition's place in the kind's position (services.apiserver.versions)
    offset: int  # the offset of the record that caused it
    previous: Obj | None = None  # a MODIFIED object as it was (a selector it leaves or enters)


class Expired(LookupError):
    """A resourceVersion this log cannot resume a watch from exactly (410 Expired)."""


class ChangeLog:
    def __init__(self, *, history: int = HISTORY) -> None:
        self._seq = 0
        self._events: deque[WatchEvent] = deque(maxlen=history)
        self._floors: dict[tuple[str, int], int] = {}  # (plural, slot): the offset after the newest change dropped

    @property
    def seq(self) -> int:
        """The number of the last change: where a watch that has sent everything stands."""
        return self._seq

    def record(self, plural: str, slot: int, offset: int, before: Obj | None, after: Obj | None) -> WatchEvent | None:
        """Log one object's change (None before: ADDED; None after: DELETED, with the last
        object); nothing for no change."""
        if before == after or (before is None and after is None):
            return None
        self._seq += 1
        kind = "ADDED" if before is None else "DELETED" if after is None else "MODIFIED"
        event = WatchEvent(self._seq, kind, plural, (after if after is not None else before) or {}, slot, offset,
                           before if kind == "MODIFIED" else None)
        if len(self._events) == self._events.maxlen:
            dropped = self._events[0]
            self._floors[(dropped.plural, dropped.slot)] = dropped.offset + 1
        self._events.append(event)
        return event

    def after_position(self, plural: str, position: tuple[int, ...]) -> list[WatchEvent]:
        """The changes of `plural` at or beyond `position`, or Expired when the log has
        dropped a change that may lie beyond it."""
        for slot, next_offset in enumerate(position):
            if next_offset < self._floors.get((plural, slot), 0):
                raise Expired("too old resource version: the changes after it are no longer kept")
        return [e for e in self._events if e.plural == plural and e.offset >= position[e.slot]]

    def after_seq(self, seq: int) -> list[WatchEvent]:
        """The changes numbered after `seq`, or Expired when some were dropped (a watch that
        fell more than `HISTORY` changes behind)."""
        oldest = self._events[0].seq if self._events else self._seq + 1
        if seq < oldest - 1:
            raise Expired("too old resource version: the watch fell behind the changes kept")
        return list(islice(self._events, seq - oldest + 1, None))
