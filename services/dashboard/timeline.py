"""The dashboard's memory of the cluster: every record its informer read from the
desired and observed topics of the kinds it shows, in the order they were applied, with
their times. The cluster now is kept merged as it goes; the cluster at an earlier instant
(`snapshot(at_ms)`) and one object's versions (`versions`) are replays of the entries,
so the time slider shows exactly what the history (the topics' compaction window) keeps.
Pure: fed by `services.dashboard.feed`, read by `services.dashboard.app`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from schemas.printing import from_observed, merged

Obj = dict[str, Any]
Family = Literal["desired", "observed"]
Snapshot = dict[str, dict[str, Obj]]  # plural: {object key: the object as users see it}
MAX_ENTRIES = 500_000


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of a state topic: the new value of a key (None: a tombstone)."""

    time_ms: int
    plural: str
    family: Family
    key: str
    value: Obj | None


@dataclass(frozen=True, slots=True)
class Version:
    """One object as it stood from `time_ms` on (None: gone)."""

    time_ms: int
    obj: Obj | None


def shown(desired: Obj | None, observed: Obj | None) -> Obj | None:
    """The object as users see it: desired metadata and spec with the observed status; an
    object with only a status (Endpoints) from it; None when there is neither."""
    if desired is not None:
        return merged(desired, observed)
    return from_observed(observed) if observed is not None else None  # type: ignore[return-value]


class Timeline:
    """The entries (the newest `capacity`) and the merged state now."""

    def __init__(self, plurals: Iterable[str], *, capacity: int = MAX_ENTRIES) -> None:
        self._plurals = tuple(plurals)
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._values: dict[tuple[str, Family], dict[str, Obj]] = {
            (p, f): {} for p in self._plurals for f in ("desired", "observed")}
        self._now: Snapshot = {p: {} for p in self._plurals}
        self.seq = 0  # the number of entries added: a view is stale when it changed
        self._bounds: tuple[int, int] | None = None  # None: to compute (empty, or a bound was dropped)

    def add(self, entry: Entry) -> None:
        values = self._values[(entry.plural, entry.family)]
        if entry.value is None:
            values.pop(entry.key, None)
        else:
            values[entry.key] = entry.value
        dropped = self._entries[0] if len(self._entries) == self._entries.maxlen else None
        self._entries.append(entry)
        if self._bounds is not None and (dropped is None or dropped.time_ms not in self._bounds):
            self._bounds = (min(self._bounds[0], entry.time_ms), max(self._bounds[1], entry.time_ms))
        else:
            self._bounds = None
        obj = shown(self._values[(entry.plural, "desired")].get(entry.key),
                    self._values[(entry.plural, "observed")].get(entry.key))
        if obj is None:
            self._now[entry.plural].pop(entry.key, None)
        else:
            self._now[entry.plural][entry.key] = obj
        self.seq += 1

    @property
    def bounds(self) -> tuple[int, int] | None:
        """The oldest and newest instants held (ms since the epoch), or None when empty."""
        if self._bounds is None and self._entries:
            times = [e.time_ms for e in self._entries]
            self._bounds = (min(times), max(times))
        return self._bounds

    def snapshot(self, at_ms: int | None = None) -> Snapshot:
        """The cluster now (`at_ms` None: shared, never mutate it) or as it stood at `at_ms`."""
        if at_ms is None:
            return self._now
        values: dict[tuple[str, Family], dict[str, Obj]] = {k: {} for k in self._values}
        for entry in self._entries:
            if entry.time_ms > at_ms:
                continue
            if entry.value is None:
                values[(entry.plural, entry.family)].pop(entry.key, None)
            else:
                values[(entry.plural, entry.family)][entry.key] = entry.value
        state: Snapshot = {}
        for plural in self._plurals:
            desired, observed = values[(plural, "desired")], values[(plural, "observed")]
            found = ((k, shown(desired.get(k), observed.get(k))) for k in sorted(set(desired) | set(observed)))
            state[plural] = {k: obj for k, obj in found if obj is not None}
        return state

    def versions(self, plural: str, key: str) -> list[Version]:
        """Every version of one object the entries hold, oldest first (one per change seen)."""
        desired: Obj | None = None
        observed: Obj | None = None
        found: list[Version] = []
        for entry in self._entries:
            if entry.plural != plural or entry.key != key:
                continue
            if entry.family == "desired":
                desired = entry.value
            else:
                observed = entry.value
            obj = shown(desired, observed)
            if not found or found[-1].obj != obj:
                found.append(Version(entry.time_ms, obj))
        return found
