"""Kafkube's topic names (DESIGN.md §2) and the idempotent creation of all of them."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.registry import ALL_KINDS


METRICS_RETENTION_MS = 3_600_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    compacted: bool
    keeps_history: bool = False  # compaction spares versions younger than the history window
    retention_ms: int | None = None  # a delete-policy topic's own retention (None: the broker's)


@dataclass(frozen=True)
class Topics:
    """Every topic name, under one configurable prefix (`kafkube.` by default)."""

    prefix: str = "kafkube."

    @property
    def manifests(self) -> str:
        return f"{self.prefix}manifests"

    @property
    def requests(self) -> str:
        return f"{self.prefix}requests"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def logs(self) -> str:
        return f"{self.prefix}logs"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    @property
    def metrics(self) -> str:
        return f"{self.prefix}metrics"

    def desired(self, plural: str) -> str:
        return f"{self.prefix}desired.{plural}"

    def observed(self, plural: str) -> str:
        return f"{self.prefix}observed.{plural}"

    def all_desired(self) -> list[str]:
        return [self.desired(info.plural) for info in ALL_KINDS]

    def specs(self) -> list[TopicSpec]:
        """All topics Kafkube uses: five logs, resource metrics (kept an hour: only the
        newest samples matter), and a desired and an observed compacted topic per kind."""
        logs = [self.manifests, self.requests, self.events, self.logs, self.audit]
        desired = [TopicSpec(self.desired(i.plural), True, keeps_history=True) for i in ALL_KINDS]
        observed = [TopicSpec(self.observed(i.plural), True) for i in ALL_KINDS]
        metrics = TopicSpec(self.metrics, False, retention_ms=METRICS_RETENTION_MS)
        return [TopicSpec(n, False) for n in logs] + [metrics] + desired + observed
