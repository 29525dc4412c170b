"""The pods a Job's sync creates and deletes, pure: NonIndexed (`non_indexed`: up to
parallelism, never more than the completions still missing) and Indexed (`IndexedPlan`:
the lowest pending indexes, none that completed or failed (backoffLimitPerIndex), each
after its back-off; a second pod of an index, or one of a done index, is deleted), and
the pod body of each. Called by `job.reconcile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from schemas.batch import (
    COMPLETION_INDEX_ANNOTATION,
    COMPLETION_INDEX_ENV,
    CONTROLLER_UID_LABEL,
    INDEX_FAILURE_COUNT_ANNOTATION,
    INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
    TRACKING_FINALIZER,
    Job,
)
from services.controllers.job.backoff import index_backoff_left, job_backoff_left
from services.controllers.job.failure_policy import failure_action
from services.controllers.job.pods import JobPod
from services.controllers.machinery.naming import pod_name

EPOCH = datetime.min.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class CreatePod:
    name: str
    body: dict[str, Any]


def non_indexed(job: Job, pods: Sequence[JobPod], active: Sequence[JobPod], blocked: Sequence[JobPod],
                 parallelism: int, completions: int | None, succeeded: int) -> tuple[list[CreatePod], list[JobPod]]:
    """`blocked`: terminating pods not yet failed that podReplacementPolicy Failed waits for."""
    if completions is None:
        want = len(active) if succeeded > 0 else parallelism
    else:
        want = max(0, min(parallelism, completions - succeeded))
    if len(active) > want:  # not ready ones first, then the newest names
        order = sorted(active, key=lambda p: (p.ready, p.name))
        return [], order[:len(active) - want]
    taken = {p.name for p in pods}
    uid = job.metadata.uid or ""
    name = job.metadata.name or ""
    creates: list[CreatePod] = []
    slot = 0
    while len(creates) < want - len(active) - len(blocked):
        candidate = pod_name(name, uid, slot)
        slot += 1
        if candidate not in taken:
            taken.add(candidate)
            creates.append(CreatePod(candidate, pod_body(job, candidate, None)))
    return creates, []


@dataclass(frozen=True, slots=True)
class IndexedPlan:
    """The creations and deletions of an Indexed Job's pods."""

    job: Job
    pods: Sequence[JobPod]
    active: Sequence[JobPod]
    blocked: Sequence[JobPod]  # terminating, waited for (podReplacementPolicy Failed)
    completed: set[int]
    failed_indexes: set[int]
    parallelism: int
    completions: int

    def decide(self, failures: Sequence[JobPod], per_index: bool,
               now: datetime) -> tuple[list[CreatePod], list[JobPod], float]:
        """Creates, deletes and the seconds until a backed-off index may run (0: none)."""
        deletes, running = self._running()
        busy = {p.index for p in self.blocked if p.index is not None}
        room = self.parallelism - len(running) - len(busy)
        pending = [ix for ix in range(self.completions)
                   if ix not in self.completed and ix not in running and ix not in busy
                   and ix not in self.failed_indexes]
        last_failed, counts, ignored = self._failures(failures)
        if per_index:
            waits = {ix: index_backoff_left(last_failed.get(ix), now) for ix in pending}
        else:
            left = job_backoff_left(self.pods, failures, now)
            waits = {ix: left for ix in pending}
        ready = [ix for ix in pending if waits[ix] <= 0][:max(0, room)]
        waiting = [w for ix, w in waits.items() if w > 0]
        wait = min(waiting) if waiting and len(ready) < room else 0.0
        return self._create(ready, (counts, ignored) if per_index else None), deletes, wait

    def _running(self) -> tuple[list[JobPod], dict[int, JobPod]]:
        deletes: list[JobPod] = []
        running: dict[int, JobPod] = {}
        for pod in sorted(self.active, key=lambda p: (not p.ready, p.name)):
            ix = pod.index
            if ix is None or ix >= self.completions or ix in self.completed or ix in running \
                    or ix in self.failed_indexes:
                deletes.append(pod)  # a bad, done or failed index, or a second pod of an index
            else:
                running[ix] = pod
        if len(running) > self.parallelism:  # the highest indexes go first
            for ix in sorted(running, reverse=True)[:len(running) - self.parallelism]:
                deletes.append(running.pop(ix))
        return deletes, running

    def _failures(self, failures: Sequence[JobPod]) -> tuple[dict[int, JobPod], dict[int, int], dict[int, int]]:
        """Per index: its last counted failed pod, how many times it failed, and how many
        failures an Ignore rule matched (upstream's getNewIndexFailureCounts)."""
        last: dict[int, JobPod] = {}
        counts: dict[int, int] = {}
        ignored: dict[int, int] = {}
        for pod in failures:
            if pod.index is None:
                continue
            skipped = failure_action(self.job, pod)[0] == "Ignore"
            ignored[pod.index] = max(ignored.get(pod.index, 0), pod.ignored_count + int(skipped))
            counts[pod.index] = max(counts.get(pod.index, 0), pod.failure_count + int(not skipped))
            if skipped:
                continue
            known = last.get(pod.index)
            if known is None or (pod.failure_count, pod.finished_at or EPOCH) > \
                    (known.failure_count, known.finished_at or EPOCH):
                last[pod.index] = pod
        return last, counts, ignored

    def _create(self, indexes: list[int], counts: tuple[dict[int, int], dict[int, int]] | None) -> list[CreatePod]:
        taken = {p.name for p in self.pods}
        uid, name = self.job.metadata.uid or "", self.job.metadata.name or ""
        creates: list[CreatePod] = []
        for ix in indexes:
            slot = 0
            while (candidate := pod_name(f"{name}-{ix}", uid, slot)) in taken:
                slot += 1
            taken.add(candidate)
            failures = None if counts is None else counts[0].get(ix, 0)
            ignored = 0 if counts is None else counts[1].get(ix, 0)
            creates.append(CreatePod(candidate, pod_body(self.job, candidate, ix, failure_count=failures,
                                                          ignored_count=ignored)))
        return creates


def pod_body(job: Job, name: str, index: int | None, *, failure_count: int | None = None,
             ignored_count: int = 0) -> dict[str, Any]:
    """The pod of `job` named `name`: the template, the Job's labels, its controller
    reference (blockOwnerDeletion), the tracking finalizer; Indexed: the completion
    index annotation and env, hostname `<job>-<index>`; under backoffLimitPerIndex the
    index's failures so far (`failure_count`, and `ignored_count` when an Ignore rule matched
    some) as annotations."""
    assert job.spec is not None and job.spec.template is not None
    template = job.spec.template.model_dump(by_alias=True, exclude_none=True, mode="json")
    meta = template.get("metadata") or {}
    uid, job_name = job.metadata.uid or "", job.metadata.name or ""
    labels = {**(meta.get("labels") or {}), CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: job_name,
              LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: job_name}
    annotations = dict(meta.get("annotations") or {})
    spec = template.get("spec") or {}
    if failure_count is not None:
        annotations[INDEX_FAILURE_COUNT_ANNOTATION] = str(failure_count)
    if ignored_count:
        annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored_count)
    if index is not None:
        annotations[COMPLETION_INDEX_ANNOTATION] = str(index)
        spec.setdefault("hostname", f"{job_name}-{index}")
        env = {"name": COMPLETION_INDEX_ENV, "valueFrom": {"fieldRef": {
            "fieldPath": f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"}}}
        for group in ("initContainers", "containers"):
            for container in spec.get(group) or []:
                container["env"] = [*(e for e in container.get("env") or [] if e.get("name") != COMPLETION_INDEX_ENV),
                                    env]
    body_meta: dict[str, Any] = {"name": name, "namespace": job.metadata.namespace or "default", "labels": labels,
                                 "finalizers": [TRACKING_FINALIZER],
                                 "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name,
                                                      "uid": uid, "controller": True, "blockOwnerDeletion": True}]}
    if annotations:
        body_meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": body_meta, "spec": spec}
