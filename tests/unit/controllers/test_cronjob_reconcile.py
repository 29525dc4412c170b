"""Cron schedules (robfig/cron's parser and messages, macros, time zones, day-of-month
OR day-of-week) and the CronJob reconcile as plans: the Job of a run with its name and
annotation, concurrency policies, starting deadline, more than 100 missed runs, suspend,
history limits, the active list; hypothesis: a run is never created twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.batch import CronJob, check_cronjob, default_cronjob
from schemas.cron import ConstantDelay, CronError, go_duration_ns, parse_schedule
from services.controllers.cronjob.jobs import OwnedJob
from services.controllers.cronjob.reconcile import Plan, reconcile

UTC = timezone.utc
CREATED = datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)


def cronjob(**spec: Any) -> CronJob:
    doc: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "CronJob",
                           "metadata": {"name": "tick", "namespace": "default", "uid": "c1",
                                        "creationTimestamp": "2026-01-01T00:00:30Z"},
                           "spec": {"schedule": "* * * * *", "jobTemplate": {
                               "metadata": {"labels": {"app": "tick"}},
                               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                                   {"name": "main", "image": "busybox"}]}}}}, **spec}}
    default_cronjob(doc)
    return CronJob.model_validate(doc)


@pytest.mark.parametrize("text,after,zone,expected", [
    ("*/15 9-17 * * MON-FRI", "2026-01-03T12:00:00", "UTC", "2026-01-05T09:00:00+00:00"),
    ("@hourly", "2026-01-03T12:00:00", "UTC", "2026-01-03T13:00:00+00:00"),
    ("@weekly", "2026-01-03T12:00:00", "UTC", "2026-01-04T00:00:00+00:00"),
    ("0 9 * * *", "2026-01-03T12:00:00", "America/New_York", "2026-01-03T14:00:00+00:00"),
    ("0 0 13 * 5", "2026-02-01T00:00:00", "UTC", "2026-02-06T00:00:00+00:00"),  # the 13th OR a Friday
    ("5/20 * * jan ?", "2026-01-03T12:00:00", "UTC", "2026-01-03T12:05:00+00:00"),
])
def test_next_activation(text: str, after: str, zone: str, expected: str) -> None:
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert parse_schedule(text).next(start, ZoneInfo(zone)).isoformat() == expected  # type: ignore[union-attr]


def test_parser_messages_and_validation() -> None:
    for text, message in [("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
                          ("60 * * * *", "end of range (60) above maximum (59): 60"),
                          ("@every 5d", 'failed to parse duration @every 5d: time: unknown unit "d" in duration "5d"'),
                          ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
                          ("@every .s", 'failed to parse duration @every .s: time: invalid duration ".s"'),
                          ("@fortnightly", "unrecognized descriptor: @fortnightly"),
                          ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
                          ("*/0 * * * *", "step of range should be a positive number: */0")]:
        with pytest.raises(CronError) as caught:
            parse_schedule(text)
        assert str(caught.value) == message
    assert parse_schedule("0 0 30 2 *").next(CREATED) is None
    bad = cronjob(schedule="CRON_TZ=UTC 0 * * * *", concurrencyPolicy="Sometimes", timeZone="Mars/Olympus")
    assert [str(e) for e in check_cronjob(bad)] == [
        'spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, '
        'use timeZone field instead',
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
        'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"']


@pytest.mark.parametrize("text,seconds", [("@every 90s", 90), ("@every 1h30m", 5400), ("@every 1.5m", 90),
                                          ("@every 500ms", 1), ("@every 2m59.9s", 179), ("@every -3s", 1)])
def test_every_is_a_constant_delay_in_whole_seconds(text: str, seconds: int) -> None:
    schedule = parse_schedule(text)
    assert schedule == ConstantDelay(seconds)
    after = datetime(2026, 1, 1, 0, 0, 30, 700_000, tzinfo=UTC)
    assert schedule.next(after, ZoneInfo("Asia/Tokyo")) == datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC) + \
        timedelta(seconds=seconds)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(["h", "m", "s", "ms", "us", "ns"])), min_size=1,
                max_size=4))
def test_go_durations_add_up(parts: list[tuple[int, str]]) -> None:
    unit = {"h": 3600 * 10**9, "m": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
    assert go_duration_ns("".join(f"{n}{u}" for n, u in parts)) == sum(n * unit[u] for n, u in parts)


def test_an_every_cronjob_runs_once_per_delay() -> None:
    cj = cronjob(schedule="@every 40s")
    assert check_cronjob(cj) == []
    first = reconcile(cj, None, [], CREATED + timedelta(seconds=41))
    assert first.create is not None and first.status["lastScheduleTime"] == "2026-01-01T00:01:10Z"
    assert first.requeue_after is not None and 0 < first.requeue_after <= 40
    assert reconcile(cj, first.status, [], CREATED + timedelta(seconds=50)).create is None  # not due again yet


def test_a_run_creates_its_job() -> None:
    cj = cronjob(timeZone="Europe/Paris")
    assert reconcile(cj, None, [], CREATED + timedelta(seconds=10)).create is None  # 00:00:40: not yet
    plan = reconcile(cj, None, [], CREATED + timedelta(seconds=35))  # 00:01:05
    assert plan.create is not None
    run = datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert plan.create.name == f"tick-{int(run.timestamp()) // 60}"
    meta = plan.create.body["metadata"]
    assert meta["annotations"] == {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2026-01-01T01:01:00+01:00"}
    assert meta["labels"] == {"app": "tick"}
    assert meta["ownerReferences"][0] == {"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": "c1",
                                          "controller": True, "blockOwnerDeletion": True}
    assert plan.create.body["spec"]["backoffLimit"] == 6
    assert plan.status["lastScheduleTime"] == "2026-01-01T00:01:00Z"
    assert plan.status["active"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": plan.create.name,
                                      "namespace": "default"}]
    assert [e.reason for e in plan.events] == ["SuccessfulCreate"] and plan.requeue_after == 55.0
    again = reconcile(cj, plan.status, [], CREATED + timedelta(seconds=36), expectations_met=False)
    assert again.create is None and again.status["active"] == plan.status["active"]


def running(name: str, **fields: Any) -> OwnedJob:
    return OwnedJob(name=name, uid=f"u-{name}", created=CREATED, **fields)


def test_concurrency_policies() -> None:
    status = {"lastScheduleTime": "2026-01-01T00:01:00Z",
              "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": "tick-1", "namespace": "default"}]}
    now = datetime(2026, 1, 1, 0, 2, 5, tzinfo=UTC)
    forbid = reconcile(cronjob(concurrencyPolicy="Forbid"), status, [running("tick-1")], now)
    assert forbid.create is None and [e.reason for e in forbid.events] == ["JobAlreadyActive"]
    replace = reconcile(cronjob(concurrencyPolicy="Replace"), status, [running("tick-1")], now)
    assert [d.name for d in replace.delete] == ["tick-1"] and replace.create is not None
    assert [ref["name"] for ref in replace.status["active"]] == [replace.create.name]
    allow = reconcile(cronjob(), status, [running("tick-1")], now)
    assert allow.create is not None and len(allow.status["active"]) == 2


def test_deadline_many_missed_suspend_history_and_completion() -> None:
    late = reconcile(cronjob(startingDeadlineSeconds=10), None, [], datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC))
    # as upstream: a run older than the starting deadline is not even looked at (no MissSchedule)
    assert late.create is None and not late.events and late.requeue_after == 30.0
    days_later = datetime(2026, 1, 3, 0, 0, 10, tzinfo=UTC)
    many = reconcile(cronjob(), None, [], days_later)
    assert [e.reason for e in many.events] == ["TooManyMissedTimes", "SuccessfulCreate"]
    assert many.status["lastScheduleTime"] == "2026-01-03T00:00:00Z"  # only the latest
    assert reconcile(cronjob(suspend=True), None, [], days_later).create is None
    done = [running(f"tick-{i}", finished="Complete", start_time=CREATED + timedelta(minutes=i),
                    completion_time=CREATED + timedelta(minutes=i, seconds=5)) for i in range(5)]
    failed = [running(f"tick-{i}", finished="Failed", start_time=CREATED + timedelta(minutes=i)) for i in (7, 8)]
    status = {"lastScheduleTime": "2026-01-03T00:00:00Z",
              "active": [{"apiVersion": "batch/v1", "kind": "Job", "name": "tick-4", "namespace": "default"}]}
    plan = reconcile(cronjob(), status, [*done, *failed], days_later)
    assert [d.name for d in plan.delete] == ["tick-0", "tick-1", "tick-7"]
    assert "active" not in plan.status and plan.status["lastSuccessfulTime"] == "2026-01-01T00:04:35Z"
    assert "SawCompletedJob" in [e.reason for e in plan.events]


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.integers(1, 200), min_size=1, max_size=30),
       policy=st.sampled_from(["Allow", "Forbid", "Replace"]))
def test_a_scheduled_time_runs_at_most_once(steps: list[int], policy: str) -> None:
    cj = cronjob(concurrencyPolicy=policy)
    status: dict[str, Any] | None = None
    jobs: dict[str, OwnedJob] = {}
    now = CREATED
    for seconds in steps:
        now += timedelta(seconds=seconds)
        plan: Plan = reconcile(cj, status, list(jobs.values()), now)
        status = plan.status
        for d in plan.delete:
            jobs.pop(d.name, None)
        if plan.create is not None:
            assert plan.create.name not in jobs  # never a second Job for one scheduled time
            jobs[plan.create.name] = running(plan.create.name)
        active = status.get("active") or []
        if policy != "Allow":
            assert len(active) <= 1
