"""Probe verdicts and their thresholds (pure). `probes.py` runs the checks and feeds
each outcome through `ProbeCounter.record`; `plan` reads `unhealthy`, `status` reads
`Health` (started, ready) per container id."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from schemas.pod import Probe

ProbeKind = Literal["liveness", "readiness", "startup"]


@dataclass(frozen=True, slots=True)
class Health:
    """What the probes say of one running container."""

    started: bool = True  # startup probe succeeded (or there is none)
    ready: bool = True  # readiness probe succeeded (or there is none)
    live: bool = True  # neither liveness nor startup probe has failed for good


@dataclass(frozen=True, slots=True)
class ProbeCounter:
    """Consecutive successes/failures of one probe, and its current verdict."""

    verdict: bool | None = None  # None: not decided yet
    successes: int = 0
    failures: int = 0

    def record(self, ok: bool, probe: Probe) -> "ProbeCounter":
        success_threshold = probe.success_threshold or 1
        failure_threshold = probe.failure_threshold or 3
        if ok:
            successes = self.successes + 1
            verdict = True if successes >= success_threshold else self.verdict
            return replace(self, verdict=verdict, successes=successes, failures=0)
        failures = self.failures + 1
        verdict = False if failures >= failure_threshold else self.verdict
        return replace(self, verdict=verdict, successes=0, failures=failures)


def initial_health(*, has_startup: bool, has_readiness: bool) -> Health:
    return Health(started=not has_startup, ready=not has_readiness, live=True)
