"""The garbage collector's policy for long-running services.

A service's state is a large, long-lived heap (every pod of its views), and CPython's
full collection walks all of it: pauses of 300-565 ms in the hollow fleet at 3,000
pods, and 80-160 ms in the scheduler, which were the tail of pod startup latency
(docs/benchmarks.md). So after each full collection, what survived it (live state, by
definition) is frozen: moved to the permanent generation, which later collections
skip. Acyclic garbage among frozen objects is still freed by reference counting; to
reclaim reference cycles that die while frozen, everything is thawed every
`thaw_every_s`, so the next full collection walks the whole heap once.

While a view replays its topics at start (`Informer`, until synced), the collector
waits (`ReplayHold`): what a replay builds is live state, acyclic decoded records, so
every collection meanwhile walks a growing heap for nothing (a fifth of a 150,000-pod
rebuild of the scheduler). When the last replay of the process ends, everything is
frozen as it stands, uncollected: a full collection there took 2 s of the hollow
fleet's 150,000-pod rebuild, and what little cyclic garbage the replay left is
reclaimed at the next thaw. A replay later in a process's life (an API writer
partition loaded again after a rebalance) holds the collector the same way, for as
long as it takes.
"""

from __future__ import annotations

import gc
import time
from typing import Any


class FreezeSurvivors:
    def __init__(self, thaw_every_s: float = 600.0) -> None:
        self.thaw_every_s = thaw_every_s
        self._thawed_at = time.monotonic()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = time.monotonic()
        if now - self._thawed_at >= self.thaw_every_s:
            gc.unfreeze()
            self._thawed_at = now
        else:
            gc.freeze()


_replays = 0  # replays under way in this process


def install(thaw_every_s: float = 600.0) -> FreezeSurvivors:
    """Apply the policy to this process (`uninstall` undoes it)."""
    policy = FreezeSurvivors(thaw_every_s)
    gc.callbacks.append(policy)
    return policy


def uninstall(policy: FreezeSurvivors) -> None:
    if policy in gc.callbacks:
        gc.callbacks.remove(policy)
    gc.unfreeze()


class ReplayHold:
    """One replay's hold on the collector, in a process that runs the policy (elsewhere,
    e.g. the CLI or a test, it does nothing). `release` is idempotent."""

    def __init__(self) -> None:
        global _replays
        self._held = any(isinstance(callback, FreezeSurvivors) for callback in gc.callbacks)
        if self._held:
            if _replays == 0:
                gc.disable()
            _replays += 1

    def release(self) -> None:
        global _replays
        if not self._held:
            return
        self._held = False
        _replays -= 1
        if _replays == 0:
            gc.freeze()  # the replayed state: later collections skip it
            gc.enable()
