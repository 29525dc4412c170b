"""Jobs and CronJobs through admission (hypothesis fuzz): any document is either refused
with an error naming the field, or admitted with upstream's defaults, and then its
controller's reconcile plans it without failing; kubectl's columns of a Job."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.batch import CronJob, Job
from schemas.printing import COLUMNS
from services.api.admission import AdmissionError, admit
from services.controllers.cronjob.reconcile import reconcile as cron_reconcile
from services.controllers.job.reconcile import reconcile

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
ints = st.one_of(st.none(), st.integers(-3, 8), st.sampled_from(["2", 1.5, True]))
SPEC_FIELDS = st.fixed_dictionaries({}, optional={
    "completions": ints, "parallelism": ints, "backoffLimit": ints, "activeDeadlineSeconds": ints,
    "ttlSecondsAfterFinished": ints, "suspend": st.sampled_from([True, False, "yes"]),
    "completionMode": st.sampled_from(["Indexed", "NonIndexed", "Sometimes"]),
    "manualSelector": st.booleans(),
    "podFailurePolicy": st.fixed_dictionaries({"rules": st.lists(st.fixed_dictionaries({
        "action": st.sampled_from(["FailJob", "Ignore", "Count", "Explode"])}, optional={
        "onExitCodes": st.fixed_dictionaries({"operator": st.sampled_from(["In", "NotIn", "Maybe"]),
                                              "values": st.lists(st.integers(-1, 5), max_size=3)}),
        "onPodConditions": st.lists(st.fixed_dictionaries({"type": st.just("DisruptionTarget")}), max_size=2)}),
        max_size=2)}),
})


@settings(max_examples=150, deadline=None)
@given(spec=SPEC_FIELDS, restart=st.sampled_from(["Never", "OnFailure", "Always", None]))
def test_a_job_is_refused_naming_a_field_or_admitted_and_planned(spec: dict[str, Any], restart: str | None) -> None:
    pod_spec: dict[str, Any] = {"containers": [{"name": "main", "image": "busybox"}]}
    if restart is not None:
        pod_spec["restartPolicy"] = restart
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fuzz", "namespace": "default"},
            "spec": {**spec, "template": {"spec": pod_spec}}}
    try:
        admitted = admit(body)
    except AdmissionError as exc:
        assert "spec." in str(exc), str(exc)
        return
    job = Job.model_validate({**admitted.obj, "metadata": {**admitted.obj["metadata"], "uid": "u"}})
    assert job.spec is not None and job.spec.parallelism is not None and job.spec.backoff_limit is not None
    plan = reconcile(job, None, [], NOW)
    assert len(plan.create) <= job.spec.parallelism


def test_kubectl_columns_of_a_job() -> None:
    names, columns, wide, _ = COLUMNS["jobs"]
    assert names == ["STATUS", "COMPLETIONS", "DURATION"] and wide == ["CONTAINERS", "IMAGES", "SELECTOR"]
    done = {"metadata": {"name": "pi"}, "spec": {"completions": 3, "parallelism": 2},
            "status": {"succeeded": 3, "startTime": "2026-01-01T12:00:00Z", "completionTime": "2026-01-01T12:00:42Z",
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                      {"type": "Complete", "status": "True"}]}}
    assert columns(done) == ["Complete", "3/3", "42s"]
    queue = {"metadata": {"name": "q"}, "spec": {"parallelism": 4}, "status": {}}
    assert columns(queue) == ["Running", "0/1 of 4", ""]
    failing = {"metadata": {"name": "f"}, "spec": {"completions": 1},
               "status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}}
    assert columns(failing)[0] == "FailureTarget"


@settings(max_examples=150, deadline=None)
@given(schedule=st.one_of(st.sampled_from(["* * * * *", "@hourly", "*/5 1-3 * JAN-MAR MON", "@every 1m",
                                           "61 * * * *", "TZ=UTC * * * *", ""]),
                          st.text(alphabet="0123456789*/-, ?@abcdefghijklmnopqrstuvwxyzA", max_size=20)),
       zone=st.sampled_from([None, "UTC", "Europe/Paris", "Nowhere/City", "../etc/passwd"]),
       policy=st.sampled_from([None, "Allow", "Forbid", "Replace", "Never"]),
       deadline=ints, limit=ints)
def test_a_cronjob_is_refused_naming_a_field_or_admitted_and_planned(
        schedule: str, zone: str | None, policy: str | None, deadline: Any, limit: Any) -> None:
    spec: dict[str, Any] = {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}}
    for name, value in (("timeZone", zone), ("concurrencyPolicy", policy), ("startingDeadlineSeconds", deadline),
                        ("successfulJobsHistoryLimit", limit)):
        if value is not None:
            spec[name] = value
    body = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "fuzz", "namespace": "default"},
            "spec": spec}
    try:
        admitted = admit(body)
    except AdmissionError as exc:
        assert "spec." in str(exc), str(exc)
        return
    cronjob = CronJob.model_validate({**admitted.obj, "metadata": {
        **admitted.obj["metadata"], "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"}})
    plan = cron_reconcile(cronjob, None, [], NOW)
    assert plan.create is None or plan.create.name.startswith("fuzz-")
