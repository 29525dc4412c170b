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
    COMPLETION_INDEX_ANNOTATION,
    COMPLETION_INDEX_ENV,
    CONTROLLER_UID_LABEL,
    DEFAULT_BACKOFF_LIMIT,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
    TRACKING_FINALIZER,
    Job,
    PodFailurePolicyRule,
)
from services.controllers.job.indexes import format_indexes, parse_indexes
from services.controllers.job.pods import JobPod
from services.controllers.machinery.naming import pod_name
from services.controllers.machinery.podview import parse_time

BURST = 500  # most creations or deletions in one sync


@dataclass(frozen=True, slots=True)
class CreatePod:
    name: str
    body: dict[str, Any]


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
        elif pod.failed:
            action, rule_msg = _failure_action(job, pod)
            if action == "FailJob" and fail_job is None:
                fail_job = ("PodFailurePolicy", rule_msg)
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
        if fail_job is not None:
            _set(conditions, "FailureTarget", fail_job[0], fail_job[1], now)
            failure_target = _condition(conditions, "FailureTarget")
            events.append(Event(fail_job[0], fail_job[1], "Warning"))
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
                _set(conditions, "Complete", "CompletionsReached", "Reached expected number of succeeded pods", now)
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
            if indexed:
                creates, deletes = _indexed(job, pods, active, completed, parallelism, completions or 0)
            else:
                creates, deletes = _non_indexed(job, pods, active, parallelism, completions, done_succeeded)
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


def _non_indexed(job: Job, pods: Sequence[JobPod], active: Sequence[JobPod], parallelism: int,
                 completions: int | None, succeeded: int) -> tuple[list[CreatePod], list[JobPod]]:
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
    while len(creates) < want - len(active):
        candidate = pod_name(name, uid, slot)
        slot += 1
        if candidate not in taken:
            taken.add(candidate)
            creates.append(CreatePod(candidate, pod_body(job, candidate, None)))
    return creates, []


def _indexed(job: Job, pods: Sequence[JobPod], active: Sequence[JobPod], completed: set[int], parallelism: int,
             completions: int) -> tuple[list[CreatePod], list[JobPod]]:
    deletes: list[JobPod] = []
    running: dict[int, JobPod] = {}
    for pod in sorted(active, key=lambda p: (not p.ready, p.name)):
        ix = pod.index
        if ix is None or ix >= completions or ix in completed or ix in running:
            deletes.append(pod)  # a bad index, an index done already, or a second pod of an index
        else:
            running[ix] = pod
    if len(running) > parallelism:  # the highest indexes go first
        for ix in sorted(running, reverse=True)[:len(running) - parallelism]:
            deletes.append(running.pop(ix))
    room = parallelism - len(running)
    pending = [ix for ix in range(completions) if ix not in completed and ix not in running][:max(0, room)]
    taken = {p.name for p in pods}
    uid, name = job.metadata.uid or "", job.metadata.name or ""
    creates: list[CreatePod] = []
    for ix in pending:
        slot = 0
        while (candidate := pod_name(f"{name}-{ix}", uid, slot)) in taken:
            slot += 1
        taken.add(candidate)
        creates.append(CreatePod(candidate, pod_body(job, candidate, ix)))
    return creates, deletes


def pod_body(job: Job, name: str, index: int | None) -> dict[str, Any]:
    """The pod of `job` named `name`: the template, the Job's labels, its controller
    reference (blockOwnerDeletion), the tracking finalizer; Indexed: the completion
    index annotation and env, hostname `<job>-<index>`."""
    assert job.spec is not None and job.spec.template is not None
    template = job.spec.template.model_dump(by_alias=True, exclude_none=True, mode="json")
    meta = template.get("metadata") or {}
    uid, job_name = job.metadata.uid or "", job.metadata.name or ""
    labels = {**(meta.get("labels") or {}), CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: job_name,
              LEGACY_CONTROLLER_UID_LABEL: uid, LEGACY_JOB_NAME_LABEL: job_name}
    annotations = dict(meta.get("annotations") or {})
    spec = template.get("spec") or {}
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


# -- podFailurePolicy (pod_failure_policy.go) ------------------------------------------------------
def _failure_action(job: Job, pod: JobPod) -> tuple[str, str]:
    """The action of the first rule the failed pod matches ("Count" without a match)
    and upstream's message for a FailJob."""
    policy = job.spec.pod_failure_policy if job.spec else None
    if policy is None or pod.phase != "Failed":
        return "Count", ""
    for i, rule in enumerate(policy.rules):
        matched = _match(rule, pod)
        if matched is not None:
            return rule.action, f"{matched} for pod {job.metadata.namespace}/{pod.name} matching {rule.action} " \
                                f"rule at index {i}"
    return "Count", ""


def _match(rule: PodFailurePolicyRule, pod: JobPod) -> str | None:
    if (codes := rule.on_exit_codes) is not None:
        for container, code in pod.exit_codes:
            if code == 0 or (codes.container_name and codes.container_name != container):
                continue
            if (code in codes.values) == (codes.operator == "In"):
                return f"Container {container} failed with exit code {code}"
        return None
    for pattern in rule.on_pod_conditions or []:
        if (pattern.type, pattern.status) in pod.conditions:
            return f"Pod has condition {pattern.type}"
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
