"""The CronJob reconcile, pure: a `CronJob`, its last written status, the Jobs it
controls and *now* in, a `Plan` out. Called by `cronjob.service` for every key it syncs.

Rules (Kubernetes' cronjob_controllerv2.go and utils.go):
- `status.active` follows the Jobs: a finished one leaves it (SawCompletedJob; a Complete
  one moves `lastSuccessfulTime`), a vanished one too (MissingJob), an unfinished Job of
  ours missing from it joins it.
- Finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` are deleted,
  oldest first.
- Unless suspended or being deleted: the most recent unmet schedule time since
  `lastScheduleTime` (else the creation), no earlier than now - `startingDeadlineSeconds`,
  in `timeZone`; more than 100 missed: a TooManyMissedTimes warning and only the latest
  runs. Past its starting deadline: MissSchedule. Already run (its Job name is active, or it
  is `lastScheduleTime`): nothing. Forbid with an active Job: JobAlreadyActive. Replace: the
  active Jobs are deleted. Then the Job `<cronjob>-<scheduled unix minutes>` is created (a
  replayed create names the same Job: AlreadyExists, never a second run).
- The sync is requeued for the next schedule time.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime
from typing import Any

from schemas.batch import CRONJOB_SCHEDULED_ANNOTATION, CronJob, zone_of
from schemas.cron import ConstantDelay, CronError, Schedule, parse_schedule
from services.controllers.cronjob.jobs import OwnedJob
from services.controllers.machinery.podview import parse_time

MANY_MISSED = 100


@dataclass(frozen=True, slots=True)
class CreateJob:
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeleteJob:
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclass(frozen=True, slots=True)
class Plan:
    status: dict[str, Any] = field(default_factory=dict)
    create: CreateJob | None = None
    delete: tuple[DeleteJob, ...] = ()
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None


def reconcile(cj: CronJob, status: Mapping[str, Any] | None, jobs: Sequence[OwnedJob], now: datetime, *,
              expectations_met: bool = True) -> Plan:
    spec = cj.spec
    assert spec is not None  # admission requires it
    st: dict[str, Any] = copy.deepcopy(dict(status or {}))
    events: list[Event] = []
    deletes: list[DeleteJob] = []
    by_name = {j.name: j for j in jobs}

    # -- the active list ---------------------------------------------------------------------
    active: list[dict[str, Any]] = []
    for ref in st.get("active") or []:
        job = by_name.get(ref.get("name", ""))
        if job is None:
            if expectations_met:
                events.append(Event("MissingJob", f"Active job went missing: {ref.get('name')}"))
            else:
                active.append(ref)  # created moments ago, not in the view yet
        elif job.finished is not None:
            events.append(Event("SawCompletedJob", f"Saw completed job: {job.name}, condition: {job.finished}"))
        else:
            active.append({**ref, "uid": job.uid})
    listed = {ref.get("name") for ref in active}
    for job in sorted(jobs, key=lambda j: j.name):
        if job.finished is None and not job.deleting and job.name not in listed:
            active.append(_ref(cj, job.name, job.uid))
    for job in jobs:
        if job.finished == "Complete" and job.completion_time is not None:
            last = parse_time(st.get("lastSuccessfulTime"))
            if last is None or job.completion_time > last:
                st["lastSuccessfulTime"] = _stamp(job.completion_time)

    # -- history -----------------------------------------------------------------------------
    for kind, limit in (("Complete", spec.successful_jobs_history_limit),
                        ("Failed", spec.failed_jobs_history_limit)):
        done = sorted((j for j in jobs if j.finished == kind and not j.deleting),
                      key=lambda j: (j.start_time or j.created or _EPOCH, j.name))
        if limit is not None and len(done) > limit:
            for job in done[:len(done) - limit]:
                deletes.append(DeleteJob(job.name, job.uid))
                events.append(Event("SuccessfulDelete", f"Deleted job {job.name}"))

    def plan(create: CreateJob | None = None, requeue: float | None = None) -> Plan:
        st["active"] = active
        if not active:
            st.pop("active")
        return Plan(status=st, create=create, delete=tuple(deletes), events=tuple(events), requeue_after=requeue)

    if cj.metadata.deletion_timestamp is not None or spec.suspend:
        return plan()
    zone = zone_of(spec.time_zone) if spec.time_zone is not None else timezone.utc
    if zone is None:
        events.append(Event("UnknownTimeZone", f'invalid timeZone: "{spec.time_zone}": unknown time zone '
                                               f"{spec.time_zone}", "Warning"))
        return plan()
    try:
        schedule = parse_schedule(spec.schedule)
    except CronError as exc:
        events.append(Event("UnparseableSchedule", f'unparseable schedule: "{spec.schedule}" : {exc}', "Warning"))
        return plan()

    scheduled, missed = most_recent(schedule, zone, earliest=_earliest(cj, st, now), now=now)
    next_in = _next_in(schedule, zone, now)
    if missed > MANY_MISSED:
        events.append(Event("TooManyMissedTimes", "too many missed start times. Set or decrease "
                                                  ".spec.startingDeadlineSeconds or check clock skew", "Warning"))
    if scheduled is None or not expectations_met:
        return plan(requeue=next_in)
    deadline = spec.starting_deadline_seconds
    if deadline is not None and scheduled + timedelta(seconds=deadline) < now:
        events.append(Event("MissSchedule", "Missed scheduled time to start a job: "
                                            f"{format_datetime(scheduled, usegmt=False)}", "Warning"))
        return plan(requeue=next_in)
    name = job_name(cj, scheduled)
    if any(ref.get("name") == name for ref in active) or parse_time(st.get("lastScheduleTime")) == scheduled \
            or name in by_name:
        return plan(requeue=next_in)
    if spec.concurrency_policy == "Forbid" and active:
        events.append(Event("JobAlreadyActive",
                            "Not starting job because prior execution is running and concurrency policy is Forbid"))
        return plan(requeue=next_in)
    if spec.concurrency_policy == "Replace":
        for ref in active:
            deletes.append(DeleteJob(ref.get("name", ""), ref.get("uid", "")))
            events.append(Event("SuccessfulDelete", f"Deleted job {ref.get('name')}"))
        active.clear()
    create = CreateJob(name, job_body(cj, name, scheduled, zone))
    events.append(Event("SuccessfulCreate", f"Created job {name}"))
    active.append(_ref(cj, name, None))
    st["lastScheduleTime"] = _stamp(scheduled)
    return plan(create, requeue=next_in)


def most_recent(schedule: Schedule | ConstantDelay, zone: tzinfo, *, earliest: datetime, now: datetime) -> tuple[datetime | None, int]:
    """The most recent schedule time in (earliest, now] and the (approximate, as
    upstream's) number of missed ones."""
    t1 = schedule.next(earliest, zone)
    if t1 is None or now < t1:
        return None, 0
    t2 = schedule.next(t1, zone)
    if t2 is None or now < t2:
        return t1, 1
    between = max(1, round((t2 - t1).total_seconds()))
    missed = int((now - t1).total_seconds()) // between + 1
    t: datetime | None = schedule.next(t1 + timedelta(seconds=(missed - 2) * between), zone)
    latest = t1
    while t is not None and t <= now:
        latest, t = t, schedule.next(t, zone)
    return latest, missed


def _earliest(cj: CronJob, st: Mapping[str, Any], now: datetime) -> datetime:
    earliest = parse_time(st.get("lastScheduleTime")) or cj.metadata.creation_timestamp or now
    deadline = cj.spec.starting_deadline_seconds if cj.spec else None
    if deadline is not None:
        earliest = max(earliest, now - timedelta(seconds=deadline))
    return earliest


def _next_in(schedule: Schedule | ConstantDelay, zone: tzinfo, now: datetime) -> float | None:
    upcoming = schedule.next(now, zone)
    return None if upcoming is None else max(0.0, (upcoming - now).total_seconds())


def job_name(cj: CronJob, scheduled: datetime) -> str:
    """`<cronjob>-<scheduled time in minutes since the epoch>`, as upstream's getJobName."""
    return f"{cj.metadata.name}-{int(scheduled.timestamp()) // 60}"


def job_body(cj: CronJob, name: str, scheduled: datetime, zone: tzinfo) -> dict[str, Any]:
    """The Job of one run: the template's labels, annotations and spec, the scheduled time
    annotation (in the CronJob's zone), a controller reference to the CronJob."""
    assert cj.spec is not None
    template = cj.spec.job_template.model_dump(by_alias=True, exclude_none=True, mode="json")
    meta = template.get("metadata") or {}
    annotations = {**(meta.get("annotations") or {}),
                   CRONJOB_SCHEDULED_ANNOTATION: scheduled.astimezone(zone).isoformat()}
    body_meta: dict[str, Any] = {
        "name": name, "namespace": cj.metadata.namespace or "default", "annotations": annotations,
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj.metadata.name,
                             "uid": cj.metadata.uid, "controller": True, "blockOwnerDeletion": True}]}
    if meta.get("labels"):
        body_meta["labels"] = dict(meta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": body_meta, "spec": template.get("spec") or {}}


def _ref(cj: CronJob, name: str, uid: str | None) -> dict[str, Any]:
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": name, "namespace": cj.metadata.namespace or "default"}
    return {**ref, "uid": uid} if uid else ref


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
