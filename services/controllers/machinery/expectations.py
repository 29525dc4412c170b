"""Expectations (client-go's ControllerExpectations, generalised): after a sync asks
for writes, its key remembers *tokens* (e.g. "pod web-x2b4k exists") until the cache
shows each one; while any is pending the controller does not act on that key again,
so a cache that lags our own writes never makes it create or delete twice. Tokens
expire after a TTL (a write the API rejected never shows). Used by the executors."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

DEFAULT_TTL_S = 60.0


class Expectations:
    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._ttl = ttl_s
        self._pending: dict[str, tuple[set[Hashable], float]] = {}

    def expect(self, key: str, tokens: Iterable[Hashable], *, now: float) -> None:
        tokens = set(tokens)
        if not tokens:
            return
        old = self._pending.get(key)
        self._pending[key] = ((old[0] if old else set()) | tokens, now + self._ttl)

    def lower(self, key: str, tokens: Iterable[Hashable]) -> None:
        """Writes that failed to send: they will never show."""
        if key in self._pending:
            self._pending[key][0].difference_update(tokens)

    def met(self, key: str, satisfied: Callable[[Hashable], bool], *, now: float) -> bool:
        entry = self._pending.get(key)
        if entry is None:
            return True
        tokens, deadline = entry
        tokens.difference_update([t for t in tokens if satisfied(t)])
        if not tokens or now >= deadline:
            del self._pending[key]
            return True
        return False

    def pending(self, key: str) -> int:
        entry = self._pending.get(key)
        return len(entry[0]) if entry else 0

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)
