"""The Job reconcile, pure: a `Job`, its last written status, its pods and *now* in,
a `Plan` of typed actions out. Called by `job.service` for every key it syncs.

Rules (Kubernetes' job_controller.go, 1.31+):
- Pods carry the finalizer `batch.kubernetes.io/job-tracking`. A finished pod still
  holding it is recorded first in `status.uncountedTerminatedPods` (Indexed
  successes directly in `completedIndexes`), then its finalizer is removed (the
  executor writes the status before the patches); an uncounted uid whose pod is gone
  or untracked moves to `succeeded`/`failed`. So a pod deleted early is never
  counted twice nor lost.
- A failed pod is matched against `podFailurePolicy` (first rule wins: FailJob,
  Ignore, Count); counted failures above `backoffLimit`, or (OnFailure) restarts of the
  running pods reaching it,
  or `activeDeadlineSeconds` passed, make the Job fail: condition FailureTarget, its
  active pods deleted, then Failed once no pod is left running.
- Success: `completions` succeeded pods (NonIndexed) or every index completed once
  (Indexed) -> SuccessCriteriaMet, remaining pods deleted, then Complete with
  completionTime.
- Otherwise at most `parallelism` active pods (never more than the completions still
  missing); Indexed pods get the lowest pending indexes; surplus pods are deleted.
- A failed pod is replaced only after a back-off (10 s doubled per failure since the last
  success, at most 10 min: `backoff.py`); under podReplacementPolicy Failed a terminating
  pod is not replaced (nor counted) before its phase is Failed.
- backoffLimitPerIndex (Indexed): an index whose pods failed more than that many times, or
  whose pod matched a FailIndex rule, is in `failedIndexes` and never runs again (each new
  pod of an index carries its failure count); more failed indexes than maxFailedIndexes,
  or every index done with some failed, fails the Job (MaxFailedIndexesExceeded,
  FailedIndexes). `successPolicy` (`success_policy.py`) may end an Indexed Job early.
- `suspend`: active pods deleted, condition Suspended; resuming resets startTime.
- `ttlSecondsAfterFinished`: the finished Job is deleted that long after it finished.
- A Job being deleted creates and deletes no pod and lets go of every pod's finalizer.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.batch import (
    DEFAULT_BACKOFF_LIMIT,
    TRACKING_FINALIZER,
    Job,
)
from services.controllers.job.backoff import job_backoff_left
from services.controllers.job.creation import CreatePod, IndexedPlan, non_indexed
from services.controllers.job.failure_policy import failure_action
from services.controllers.job.indexes import format_indexes, parse_indexes
from services.controllers.job.pods import JobPod
from services.controllers.job.success_policy import match_success_policy
from services.controllers.machinery.podview import parse_time

BURST = 500  # most creations or deletions in one sync


@dataclass(frozen=True, slots=True)
class DeletePod:
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class Untrack:
    """Merge-patch the pod's finalizers to `finalizers` (the tracking one removed)."""

    name: str
    uid: str
    finalizers: tuple[str, ...]
    resource_version: str | None


@dataclass(frozen=True, slots=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclass(frozen=True, slots=True)
class Plan:
    create: tuple[CreatePod, ...] = ()
    delete: tuple[DeletePod, ...] = ()
    untrack: tuple[Untrack, ...] = ()
    status: dict[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    delete_job: bool = False
    requeue_after: float | None = None


def reconcile(job: Job, status: Mapping[str, Any] | None, pods: Sequence[JobPod], now: datetime, *,
              expectations_met: bool = True) -> Plan:
    """`status`: the Job's last written status (camelCase JSON) or None; `pods`: the
    pods whose controller is this Job."""
    spec = job.spec
    assert spec is not None and spec.template is not None  # admission requires them
    old = dict(status or {})
    st: dict[str, Any] = copy.deepcopy(old)
    conditions: list[dict[str, Any]] = st.get("conditions") or []
    indexed = spec.completion_mode == "Indexed"
    completions = spec.completions
    parallelism = spec.parallelism if spec.parallelism is not None else 1
    backoff = spec.backoff_limit if spec.backoff_limit is not None else DEFAULT_BACKOFF_LIMIT
    finished = _true(conditions, "Complete") or _true(conditions, "Failed")
    events: list[Event] = []
    per_index = spec.backoff_limit_per_index if indexed else None
    replacement = spec.pod_replacement_policy or ("Failed" if spec.pod_failure_policy else "TerminatingOrFailed")
    failed_ix = parse_indexes(st.get("failedIndexes"), completions or 0) if per_index is not None else set()

    # -- 1. tracking: terminated pods into uncounted (or completedIndexes), finalizers out -------
    uncounted = st.get("uncountedTerminatedPods") or {}
    new_s, new_f = list(uncounted.get("succeeded") or []), list(uncounted.get("failed") or [])
    succeeded, failed = int(st.get("succeeded") or 0), int(st.get("failed") or 0)
    completed = parse_indexes(st.get("completedIndexes"), completions or 0) if indexed else set()
    by_uid = {p.uid: p for p in pods}
    for uid in list(new_s):  # moved: their finalizer is gone (or the pod is)
        if uid not in by_uid or not by_uid[uid].tracked:
            new_s.remove(uid)
            succeeded += 1
    for uid in list(new_f):
        if uid not in by_uid or not by_uid[uid].tracked:
            new_f.remove(uid)
            failed += 1
    fail_job: tuple[str, str] | None = None
    untrack: list[JobPod] = []
    recorded = set(new_s) | set(new_f)
    for pod in sorted(pods, key=lambda p: p.name):
        if not pod.tracked:
            continue
        if pod.uid in recorded:
            untrack.append(pod)
        elif pod.phase == "Succeeded":
            if indexed:
                if pod.index is not None and completions is not None and pod.index < completions:
                    completed.add(pod.index)
            else:
                new_s.append(pod.uid)
            untrack.append(pod)
        elif pod.failed_under(replacement):
            action, rule_msg = failure_action(job, pod)
            if action == "FailJob" and fail_job is None:
                fail_job = ("PodFailurePolicy", rule_msg)
            if per_index is not None and pod.index is not None and pod.index < (completions or 0) \
                    and pod.index not in completed \
                    and (action == "FailIndex" or (action == "Count" and pod.failure_count + 1 > per_index)):
                failed_ix.add(pod.index)
            if action != "Ignore":
                new_f.append(pod.uid)
            untrack.append(pod)
        elif finished or job.metadata.deletion_timestamp is not None:
            untrack.append(pod)  # a finished Job lets go of its pods
    if indexed:
        succeeded = len(completed)
    st["succeeded"], st["failed"] = succeeded, failed
    if indexed:
        st["completedIndexes"] = format_indexes(completed)
    if per_index is not None:
        st["failedIndexes"] = format_indexes(failed_ix)
    st["uncountedTerminatedPods"] = {k: v for k, v in (("succeeded", new_s), ("failed", new_f)) if v}

    active = [p for p in pods if p.active]
    st["active"] = len(active)
    st["ready"] = sum(1 for p in active if p.ready)
    st["terminating"] = sum(1 for p in pods if p.terminating)
    done_succeeded = succeeded if indexed else succeeded + len(new_s)
    done_failed = failed + len(new_f)

    # -- 2. conditions ---------------------------------------------------------------------------
    deletes: list[JobPod] = []
    creates: list[CreatePod] = []
    requeue: float | None = None
    failure_target = _condition(conditions, "FailureTarget")
    success_target = _true(conditions, "SuccessCriteriaMet")
    if not finished and failure_target is None and not success_target:
        on_failure = spec.template.spec is not None and spec.template.spec.restart_policy == "OnFailure"
        restarts = sum(p.restarts for p in active) if on_failure else 0
        # pastBackoffLimitOnFailure: restarts of the running pods reach the limit (any, for 0)
        restarts_past = on_failure and (restarts >= backoff if backoff > 0 else restarts > 0)
        start = parse_time(st.get("startTime"))
        if fail_job is None and (done_failed > backoff or restarts_past):
            fail_job = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if fail_job is None and spec.active_deadline_seconds is not None and start is not None and not spec.suspend:
            left = (start + timedelta(seconds=spec.active_deadline_seconds) - now).total_seconds()
            if left <= 0:
                fail_job = ("DeadlineExceeded", "Job was active longer than specified deadline")
            else:
                requeue = left
        if fail_job is None and per_index is not None:
            fail_job = _failed_indexes(spec.max_failed_indexes, failed_ix, completed, completions or 0)
        met = match_success_policy(spec.success_policy, completions or 0, completed) if indexed else None
        if fail_job is not None:
            _set(conditions, "FailureTarget", fail_job[0], fail_job[1], now)
            failure_target = _condition(conditions, "FailureTarget")
            events.append(Event(fail_job[0], fail_job[1], "Warning"))
        elif met is not None:
            _set(conditions, "SuccessCriteriaMet", "SuccessPolicy", met, now)
            success_target = True
        elif _succeeded(indexed, completions, done_succeeded, completed, active):
            _set(conditions, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods",
                 now)
            success_target = True
    if not finished and (failure_target is not None or success_target):
        deletes = active
        if not active and not any(p.terminating for p in pods) and not new_s and not new_f:
            if failure_target is not None:
                _set(conditions, "Failed", failure_target.get("reason", ""), failure_target.get("message", ""), now)
            else:
                met_condition = _condition(conditions, "SuccessCriteriaMet") or {}
                _set(conditions, "Complete", met_condition.get("reason", "CompletionsReached"),
                     met_condition.get("message", "Reached expected number of succeeded pods"), now)
                st["completionTime"] = _stamp(now)
                events.append(Event("Completed", "Job completed"))
            finished = True
    elif job.metadata.deletion_timestamp is not None:
        pass  # being deleted: no pod created or deleted here; the garbage collector deletes them
    elif not finished and spec.suspend:
        deletes = active
        if not _true(conditions, "Suspended"):
            _set(conditions, "Suspended", "JobSuspended", "Job suspended", now)
            events.append(Event("Suspended", "Job suspended"))
    elif not finished:
        if _true(conditions, "Suspended"):
            _set(conditions, "Suspended", "JobResumed", "Job resumed", now, status="False")
            events.append(Event("Resumed", "Job resumed"))
            st["startTime"] = _stamp(now)
        st.setdefault("startTime", _stamp(now))
        if spec.active_deadline_seconds is not None and requeue is None:
            requeue = float(spec.active_deadline_seconds)
        if expectations_met:
            blocked = [p for p in pods if p.terminating and not p.failed_under(replacement)]
            failures = [p for p in pods if p.failed_under(replacement)]
            if indexed:
                plan = IndexedPlan(job, pods, active, blocked, completed, failed_ix, parallelism, completions or 0)
                creates, deletes, wait = plan.decide(failures, per_index is not None, now)
            else:
                creates, deletes = non_indexed(job, pods, active, blocked, parallelism, completions, done_succeeded)
                wait = job_backoff_left(pods, failures, now) if creates else 0.0
                creates = [] if wait > 0 else creates
            if wait > 0:
                requeue = wait if requeue is None else min(requeue, wait)
    if conditions:
        st["conditions"] = conditions

    # -- 3. ttl ----------------------------------------------------------------------------------
    delete_job = False
    if finished and spec.ttl_seconds_after_finished is not None and job.metadata.deletion_timestamp is None:
        at = _finish_time(conditions)
        if at is not None:
            left = (at + timedelta(seconds=spec.ttl_seconds_after_finished) - now).total_seconds()
            delete_job = left <= 0
            requeue = None if delete_job else left
    untracks = tuple(Untrack(p.name, p.uid, tuple(f for f in p.finalizers if f != TRACKING_FINALIZER),
                             p.resource_version) for p in untrack)
    return Plan(create=tuple(creates[:BURST]), delete=tuple(DeletePod(p.name, p.uid) for p in deletes[:BURST]),
                untrack=untracks, status=st, events=tuple(events), delete_job=delete_job, requeue_after=requeue)


def _succeeded(indexed: bool, completions: int | None, succeeded: int, completed: set[int],
               active: Sequence[JobPod]) -> bool:
    if indexed:
        return completions is not None and len(completed) >= completions
    if completions is None:  # a work queue: done once one succeeded and none is running
        return succeeded > 0 and not active
    return succeeded >= completions


def _failed_indexes(max_failed: int | None, failed: set[int], completed: set[int],
                    completions: int) -> tuple[str, str] | None:
    """The Job's failure under backoffLimitPerIndex, as upstream's syncJob decides it."""
    if max_failed is not None and len(failed) > max_failed:
        return "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes"
    if failed and len(failed) + len(completed) >= completions:
        return "FailedIndexes", "Job has failed indexes"
    return None


def _stamp(now: datetime) -> str:
    """RFC 3339 at seconds, as Kubernetes' metav1.Time serialises."""
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- conditions ----------------------------------------------------------------------------------
def _condition(conditions: list[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_ and c.get("status") == "True"), None)


def _true(conditions: list[dict[str, Any]], type_: str) -> bool:
    return _condition(conditions, type_) is not None


def _set(conditions: list[dict[str, Any]], type_: str, reason: str, message: str, now: datetime, *,
         status: str = "True") -> None:
    stamp = _stamp(now)
    new = {"type": type_, "status": status, "reason": reason, "message": message,
           "lastProbeTime": stamp, "lastTransitionTime": stamp}
    for i, cond in enumerate(conditions):
        if cond.get("type") == type_:
            conditions[i] = new
            return
    conditions.append(new)


def _finish_time(conditions: list[dict[str, Any]]) -> datetime | None:
    for cond in conditions:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None
