"""Crash-loop back-off of a pod's containers (pure: value in, value out).

Kubernetes waits 10 s before restarting a failed container, doubling the wait after
each restart up to 5 minutes, and starts again at 10 s once a container has run for
10 minutes. `BackoffState` is the per-pod memory of those delays; `plan` reads it
(`remaining`), the sync executor advances it when it starts a restart (`after_restart`)
or when a start fails without a container (`after_failure`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Mapping

from services.kubelet.runtime.base import ContainerInfo


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial_s: float = 10.0
    max_s: float = 300.0
    reset_after_s: float = 600.0


@dataclass(frozen=True, slots=True)
class BackoffState:
    """Per container name: the delay its next restart waits, and when a start failed."""

    policy: BackoffPolicy = BackoffPolicy()
    delays: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    failed_at: Mapping[str, datetime] = field(default_factory=lambda: MappingProxyType({}))

    def delay(self, name: str, previous: ContainerInfo | None = None) -> float:
        """The wait before restarting `name` after `previous` ended."""
        if previous is not None and _ran_for(previous) >= self.policy.reset_after_s:
            return self.policy.initial_s
        return self.delays.get(name, self.policy.initial_s)

    def remaining(self, name: str, previous: ContainerInfo | None, now: datetime) -> float:
        """Seconds left before `name` may start again (0: now)."""
        since = previous.finished_at if previous is not None else None
        failed = self.failed_at.get(name)
        if failed is not None and (since is None or failed > since):
            since = failed
        if since is None:
            return 0.0
        wait = since + timedelta(seconds=self.delay(name, previous)) - now
        return max(0.0, wait.total_seconds())

    def after_restart(self, name: str, previous: ContainerInfo | None) -> "BackoffState":
        """A restart of `name` began: the next one waits twice as long (capped)."""
        doubled = min(self.delay(name, previous) * 2, self.policy.max_s)
        failed = {k: v for k, v in self.failed_at.items() if k != name}
        return replace(self, delays=MappingProxyType({**self.delays, name: doubled}),
                       failed_at=MappingProxyType(failed))

    def after_failure(self, name: str, now: datetime) -> "BackoffState":
        """Starting `name` failed before a container ran (image, config)."""
        doubled = min(self.delays.get(name, self.policy.initial_s / 2) * 2, self.policy.max_s)
        return replace(self, delays=MappingProxyType({**self.delays, name: doubled}),
                       failed_at=MappingProxyType({**self.failed_at, name: now}))

    def has_failure(self, name: str) -> bool:
        return name in self.failed_at


def _ran_for(info: ContainerInfo) -> float:
    if info.started_at is None or info.finished_at is None:
        return 0.0
    return (info.finished_at - info.started_at).total_seconds()
