"""The delay before a Job's failed pods are replaced, as upstream's backoff_utils.go:
10 s after the first failure, doubled with each further one, at most 10 minutes
(DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff). Pure: worked out from the pods
themselves (their finish times), not from a memory a restart would lose.

- The Job: the failures since its last success (`job_backoff_left`), as upstream's
  backoffRecord (failuresAfterLastSuccess, lastFailureTime).
- One index under backoffLimitPerIndex: the failures of that index (its last failed pod's
  `job-index-failure-count` + 1), from that pod's finish (`index_backoff_left`).

Called by `job.reconcile` before it creates pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.controllers.job.pods import JobPod

DEFAULT_BACKOFF_S = 10.0
MAX_BACKOFF_S = 600.0


def delay_s(failures: int) -> float:
    """The back-off after `failures` consecutive failures (0: none)."""
    if failures <= 0:
        return 0.0
    return min(MAX_BACKOFF_S, DEFAULT_BACKOFF_S * 2 ** min(failures - 1, 16))


def _left(failures: int, last: datetime | None, now: datetime) -> float:
    if failures <= 0 or last is None:
        return 0.0
    return max(0.0, (last - now).total_seconds() + delay_s(failures))


def job_backoff_left(pods: Sequence[JobPod], failed: Sequence[JobPod], now: datetime) -> float:
    """Seconds until a replacement may be created: the failures (`failed`, pods of `pods`
    that count as failed) finished after the last success, from the last of them."""
    successes = [p.finished_at for p in pods if p.phase == "Succeeded" and p.finished_at is not None]
    last_success = max(successes) if successes else None
    after = [p.finished_at for p in failed if p.finished_at is not None
             and (last_success is None or p.finished_at > last_success)]
    return _left(len(after), max(after) if after else None, now)


def index_backoff_left(last_failed: JobPod | None, now: datetime) -> float:
    """Seconds until the index of `last_failed` (its latest failed pod) may run again."""
    if last_failed is None:
        return 0.0
    return _left(last_failed.failure_count + 1, last_failed.finished_at, now)
