"""The apiserver's change log: the ADDED/MODIFIED/DELETED changes its store applied,
numbered in order, the last `HISTORY` kept, and the resourceVersions of lists
(`<epoch>.<seq>`: the epoch names this process's log, so a version from another replica
or an earlier run is never mistaken for a position in this one). Pure; fed by
`services.apiserver.store`, read by `services.apiserver.watch`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
HISTORY = 20_000  # changes kept for watches to resume from


@dataclass(frozen=True, slots=True)
class WatchEvent:
    seq: int
    type: str  # ADDED | MODIFIED | DELETED
    plural: str
    object: Obj


class Expired(LookupError):
    """A resourceVersion this log cannot resume a watch from exactly (410 Expired)."""


class ChangeLog:
    def __init__(self, epoch: str, *, history: int = HISTORY) -> None:
        self.epoch = epoch
        self._seq = 0
        self._events: deque[WatchEvent] = deque(maxlen=history)

    @property
    def resource_version(self) -> str:
        """The position after the last change: a list's resourceVersion."""
        return f"{self.epoch}.{self._seq}"

    def record(self, plural: str, before: Obj | None, after: Obj | None) -> WatchEvent | None:
        """Log one object's change (None before: ADDED; None after: DELETED, with the last
        object); nothing for no change."""
        if before == after or (before is None and after is None):
            return None
        self._seq += 1
        if before is None:
            event = WatchEvent(self._seq, "ADDED", plural, after or {})
        elif after is None:
            event = WatchEvent(self._seq, "DELETED", plural, before)
        else:
            event = WatchEvent(self._seq, "MODIFIED", plural, after)
        self._events.append(event)
        return event

    def since(self, resource_version: str) -> list[WatchEvent]:
        """The changes after `resource_version`, or Expired when it is not a position of
        this log or is older than the oldest change kept."""
        epoch, _, number = resource_version.partition(".")
        if epoch != self.epoch or not number.isdigit() or int(number) > self._seq:
            raise Expired(f"resourceVersion {resource_version!r} is not one this server can resume a watch from; "
                          "list again")
        seq = int(number)
        oldest = self._events[0].seq if self._events else self._seq + 1
        if seq < oldest - 1:
            raise Expired(f"too old resource version: {resource_version} ({self.epoch}.{oldest - 1})")
        return [e for e in self._events if e.seq > seq]
