"""Expectations (client-go's ControllerExpectations, generalised), one meaning for
every controller: the writes a controller asked for, as *tokens* under a key, stay
pending until the view shows each one or a TTL passes (a write the API refused never
shows). While a write is pending the controller does not ask for it again, so a view
that lags the controller's own writes never makes it write twice.

Two uses of that one meaning:

- the workload executors expect tokens per object key ("pod web-x2b4k exists") and
  ask `met(key, seen)` (seen: a predicate over their cache) before deciding creates
  or deletes again;
- the cluster controllers name the action and the resourceVersion decided on in the
  token itself, so the write is "seen" when the object changes (a new version is a new
  token): `fresh(token)` expects the token under itself unless it is still pending.

The clock is injectable (tests need not wait for a TTL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable

DEFAULT_TTL_S = 60.0
PRUNE_ABOVE = 10_000  # keys; expired ones are dropped when there are more


class Expectations:
    def __init__(self, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl_s, clock
        self._pending: dict[Hashable, tuple[set[Hashable], float]] = {}

    def expect(self, key: Hashable, tokens: Iterable[Hashable]) -> None:
        """The writes just asked for under `key`; the key's deadline moves to now + TTL."""
        tokens = set(tokens)
        if not tokens:
            return
        now = self._clock()
        if len(self._pending) > PRUNE_ABOVE:
            self._pending = {k: entry for k, entry in self._pending.items() if entry[1] > now}
        old = self._pending.get(key)
        self._pending[key] = ((old[0] if old else set()) | tokens, now + self._ttl)

    def lower(self, key: Hashable, tokens: Iterable[Hashable]) -> None:
        """Writes that failed to send: they will never show."""
        if key in self._pending:
            self._pending[key][0].difference_update(tokens)

    def met(self, key: Hashable, satisfied: Callable[[Hashable], bool]) -> bool:
        """True when every token of `key` is `satisfied` (seen), lowered or expired."""
        entry = self._pending.get(key)
        if entry is None:
            return True
        tokens, deadline = entry
        tokens.difference_update([t for t in tokens if satisfied(t)])
        if not tokens or self._clock() >= deadline:
            del self._pending[key]
            return True
        return False

    def fresh(self, token: Hashable) -> bool:
        """True, and `token` expected under itself, unless the same write is pending."""
        if not self.met(token, _unseen):
            return False
        self.expect(token, [token])
        return True

    def pending(self, key: Hashable) -> int:
        entry = self._pending.get(key)
        return len(entry[0]) if entry else 0

    def forget(self, key: Hashable) -> None:
        self._pending.pop(key, None)


def _unseen(_token: Hashable) -> bool:
    return False
