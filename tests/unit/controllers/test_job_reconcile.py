"""The Job reconcile as plans (pods created with index, labels and finalizer; counts
through uncountedTerminatedPods; conditions in upstream's words; podFailurePolicy;
deadline; suspend; TTL) and, with hypothesis, a simulated cluster driven by the
plans: never more than `parallelism` active pods, never more succeeded than
`completions`, each index counted once, every finished pod counted exactly once."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.batch import TRACKING_FINALIZER, Job, check_job, default_job
from services.controllers.job.indexes import format_indexes, parse_indexes
from services.controllers.job.pods import JobPod, job_pod, parse_index
from services.controllers.job.reconcile import Plan, reconcile

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def job(**spec: Any) -> Job:
    doc: dict[str, Any] = {"apiVersion": "batch/v1", "kind": "Job",
                           "metadata": {"name": "pi", "namespace": "default", "uid": "j1", "resourceVersion": "3"},
                           "spec": {"template": {"metadata": {"labels": {"app": "pi"}}, "spec": {
                               "restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}},
                                    **spec}}
    default_job(doc)
    return Job.model_validate(doc)


_CREATED = itertools.count()


def created(plan: Plan) -> list[JobPod]:
    """The pods of the plan's creates, each with a new uid (as the API gives one; a name is
    used again once its pod is gone)."""
    return [job_pod({**c.body, "metadata": {**c.body["metadata"], "uid": f"uid-{c.name}-{next(_CREATED)}"}}, None)
            for c in plan.create]


def finish(pod: JobPod, phase: str, exit_code: int = 0, **changes: Any) -> JobPod:
    code = exit_code if phase == "Failed" else 0
    return dataclasses.replace(pod, phase=phase, exit_codes=(("main", code),), **changes)


def test_defaults_and_validation_messages() -> None:
    j = job()
    assert j.spec is not None
    assert (j.spec.completions, j.spec.parallelism, j.spec.backoff_limit, j.spec.completion_mode) == \
        (1, 1, 6, "NonIndexed")
    bad = job(parallelism=-1, completionMode="Indexed", completions=None, activeDeadlineSeconds=0)
    bad = bad.model_copy(update={"spec": bad.spec.model_copy(update={"completions": None})})  # type: ignore[union-attr]
    messages = [str(e) for e in check_job(bad)]
    assert "spec.parallelism: Invalid value: -1: must be greater than or equal to 0" in messages
    assert "spec.activeDeadlineSeconds: Invalid value: 0: must be greater than 0" in messages
    assert "spec.completions: Required value: when completion mode is Indexed" in messages
    always = Job.model_validate({"metadata": {"name": "x"}, "spec": {"template": {"spec": {
        "restartPolicy": "Always", "containers": [{"name": "c", "image": "i"}]}}}})
    assert [str(e) for e in check_job(always)] == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']


def test_indexed_pods_carry_index_env_hostname_labels_finalizer_and_owner() -> None:
    plan = reconcile(job(completions=3, parallelism=2, completionMode="Indexed"), None, [], NOW)
    assert len(plan.create) == 2
    body = plan.create[0].body
    meta = body["metadata"]
    assert meta["annotations"]["batch.kubernetes.io/job-completion-index"] == "0"
    assert meta["labels"] == {"app": "pi", "batch.kubernetes.io/controller-uid": "j1",
                              "batch.kubernetes.io/job-name": "pi", "controller-uid": "j1", "job-name": "pi"}
    assert meta["finalizers"] == [TRACKING_FINALIZER]
    assert meta["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": "pi", "uid": "j1",
                                        "controller": True, "blockOwnerDeletion": True}]
    assert body["spec"]["hostname"] == "pi-0"
    assert body["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}]
    assert plan.create[1].body["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1"
    assert plan.status["active"] == 0 and plan.status["startTime"] == "2026-01-01T12:00:00Z"


def test_a_success_is_recorded_before_its_finalizer_goes_then_counted() -> None:
    j = job(completions=2, parallelism=1)
    first = reconcile(j, None, [], NOW)
    [pod] = created(first)
    done = finish(pod, "Succeeded")
    plan = reconcile(j, first.status, [done], NOW)
    assert plan.status["uncountedTerminatedPods"] == {"succeeded": [pod.uid]}
    assert plan.status["succeeded"] == 0
    assert [u.name for u in plan.untrack] == [pod.name] and plan.untrack[0].finalizers == ()
    assert len(plan.create) == 1 and plan.create[0].name != pod.name  # the second completion
    untracked = dataclasses.replace(done, finalizers=())
    later = reconcile(j, plan.status, [untracked, *created(plan)], NOW)
    assert later.status["succeeded"] == 1 and later.status["uncountedTerminatedPods"] == {}
    gone = reconcile(j, later.status, created(plan), NOW)  # the pod deleted early: still counted once
    assert gone.status["succeeded"] == 1


def test_complete_after_the_last_success() -> None:
    j = job(completions=1)
    [pod] = created(reconcile(j, None, [], NOW))
    plan = reconcile(j, {"startTime": "2026-01-01T11:59:00Z"}, [finish(pod, "Succeeded")], NOW)
    assert [c["type"] for c in plan.status["conditions"]] == ["SuccessCriteriaMet"]
    plan = reconcile(j, plan.status, [finish(pod, "Succeeded", finalizers=())], NOW)
    types = {c["type"]: c for c in plan.status["conditions"]}
    assert types["Complete"]["reason"] == "CompletionsReached"
    assert types["Complete"]["message"] == "Reached expected number of succeeded pods"
    assert plan.status["succeeded"] == 1 and plan.status["completionTime"] == "2026-01-01T12:00:00Z"
    assert [e.reason for e in plan.events] == ["Completed"] and not plan.create


def test_backoff_limit_fails_the_job_and_deletes_active_pods() -> None:
    j = job(completions=3, parallelism=2, backoffLimit=1)
    a, b = created(reconcile(j, None, [], NOW))
    status = {"failed": 1, "startTime": "2026-01-01T11:59:00Z"}
    plan = reconcile(j, status, [finish(a, "Failed", 1), b], NOW)
    assert plan.status["conditions"][0]["type"] == "FailureTarget"
    assert plan.status["conditions"][0]["reason"] == "BackoffLimitExceeded"
    assert [e.message for e in plan.events] == ["Job has reached the specified backoff limit"]
    assert [d.name for d in plan.delete] == [b.name] and not plan.create
    a_done = finish(a, "Failed", 1, finalizers=())
    after = reconcile(j, plan.status, [a_done, finish(b, "Failed", 137)], NOW)
    assert after.status["uncountedTerminatedPods"] == {"failed": [b.uid]} and after.status["failed"] == 2
    assert not any(c["type"] == "Failed" for c in after.status["conditions"])  # b not counted yet
    after = reconcile(j, after.status, [a_done, finish(b, "Failed", 137, finalizers=())], NOW)
    failed = next(c for c in after.status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded" and after.status["failed"] == 3


def test_restarts_under_on_failure_reach_the_backoff_limit() -> None:
    doc = job(backoffLimit=2).model_dump(by_alias=True, exclude_none=True, mode="json")
    doc["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    j = Job.model_validate(doc)
    [pod] = created(reconcile(j, None, [], NOW))
    running = dataclasses.replace(pod, phase="Running", restarts=1)
    assert not any(c["type"] == "FailureTarget" for c in reconcile(j, {}, [running], NOW).status.get(
        "conditions", []))
    plan = reconcile(j, {}, [dataclasses.replace(running, restarts=2)], NOW)
    assert plan.status["conditions"][0]["reason"] == "BackoffLimitExceeded"
    assert [d.name for d in plan.delete] == [pod.name]


def test_pod_failure_policy_fail_job_and_ignore() -> None:
    policy = {"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                                               "values": [42]}},
                        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    j = job(completions=2, parallelism=2, podFailurePolicy=policy)
    a, b = created(reconcile(j, None, [], NOW))
    ignored = dataclasses.replace(finish(a, "Failed", 1), conditions=(("DisruptionTarget", "True"),))
    plan = reconcile(j, {}, [ignored, b], NOW)
    assert plan.status["failed"] == 0 and plan.status.get("uncountedTerminatedPods") == {}
    assert len(plan.create) == 1  # replaced, not counted
    plan = reconcile(j, {}, [finish(a, "Failed", 42), b], NOW)
    target = plan.status["conditions"][0]
    assert (target["type"], target["reason"]) == ("FailureTarget", "PodFailurePolicy")
    assert target["message"] == f"Container main failed with exit code 42 for pod default/{a.name} " \
                                "matching FailJob rule at index 0"


def test_active_deadline_and_suspend_and_ttl() -> None:
    j = job(completions=1, activeDeadlineSeconds=30)
    [pod] = created(reconcile(j, None, [], NOW))
    plan = reconcile(j, {"startTime": "2026-01-01T11:59:50Z"}, [pod], NOW)
    assert plan.requeue_after == 20.0 and not plan.delete
    plan = reconcile(j, {"startTime": "2026-01-01T11:59:00Z"}, [pod], NOW)
    assert plan.status["conditions"][0]["reason"] == "DeadlineExceeded"
    assert plan.status["conditions"][0]["message"] == "Job was active longer than specified deadline"
    assert [d.name for d in plan.delete] == [pod.name]

    suspended = reconcile(job(completions=1, suspend=True), {}, [pod], NOW)
    assert [d.name for d in suspended.delete] == [pod.name] and not suspended.create
    assert suspended.status["conditions"][0]["reason"] == "JobSuspended"
    resumed = reconcile(job(completions=1), suspended.status, [], NOW)
    assert resumed.status["conditions"][0]["status"] == "False" and len(resumed.create) == 1

    done = {"conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": "2026-01-01T11:59:00Z"}]}
    assert reconcile(job(ttlSecondsAfterFinished=100), done, [], NOW).requeue_after == 40.0
    assert reconcile(job(ttlSecondsAfterFinished=10), done, [], NOW).delete_job


def test_a_job_being_deleted_creates_nothing_and_lets_go_of_its_pods() -> None:
    j = job(completions=3, parallelism=2)
    a, b = created(reconcile(j, None, [], NOW))
    deleting = j.model_copy(update={"metadata": j.metadata.model_copy(update={"deletion_timestamp": NOW})})
    plan = reconcile(deleting, {}, [a], NOW)
    assert not plan.create and not plan.delete
    assert [u.name for u in plan.untrack] == [a.name]


def test_indexes_text_and_pod_parsing() -> None:
    assert format_indexes([5, 1, 3, 4, 7]) == "1,3-5,7"
    assert parse_indexes("1,3-5,7,x,9", 8) == {1, 3, 4, 5, 7}
    assert parse_index("01") is None and parse_index("12") == 12 and parse_index(None) is None
    pod = job_pod({"metadata": {"name": "p", "uid": "u", "deletionTimestamp": "2026-01-01T00:00:00Z"}},
                  {"metadata": {"uid": "u"}, "status": {"phase": "Running", "containerStatuses": [
                      {"name": "main", "restartCount": 2, "state": {"terminated": {"exitCode": 3}}}]}})
    assert pod.terminating and pod.failed and pod.restarts == 2 and pod.exit_codes == (("main", 3),)


# -- the simulated cluster ------------------------------------------------------------------------
@dataclasses.dataclass
class Cluster:
    job: Job
    pods: dict[str, JobPod] = dataclasses.field(default_factory=dict)
    status: dict[str, Any] | None = None
    ever_succeeded: set[str] = dataclasses.field(default_factory=set)  # tracked pods that succeeded
    indexes_succeeded: set[int] = dataclasses.field(default_factory=set)

    def sync(self, now: datetime) -> Plan:
        plan = reconcile(self.job, self.status, list(self.pods.values()), now)
        self.status = plan.status  # written first, as the executor does
        for u in plan.untrack:
            if u.name in self.pods:
                self.pods[u.name] = dataclasses.replace(self.pods[u.name], finalizers=u.finalizers)
        for d in plan.delete:
            if d.name in self.pods:
                self.pods[d.name] = dataclasses.replace(self.pods[d.name], deleting=True)
        for pod in created(plan):
            assert pod.name not in self.pods
            self.pods[pod.name] = pod
        self.collect()
        return plan

    def collect(self) -> None:
        """The API removes a deleted pod once no finalizer holds it and it stopped."""
        for name, pod in list(self.pods.items()):
            if pod.deleting and not pod.finalizers and pod.phase in ("Succeeded", "Failed"):
                del self.pods[name]

    def act(self, choice: int, what: str) -> None:
        names = sorted(self.pods)
        if not names:
            return
        pod = self.pods[names[choice % len(names)]]
        if what in ("succeed", "fail") and pod.phase not in ("Succeeded", "Failed"):
            if what == "succeed" and not pod.deleting:
                if pod.tracked:
                    self.ever_succeeded.add(pod.uid)
                if pod.index is not None:
                    self.indexes_succeeded.add(pod.index)
            self.pods[pod.name] = finish(pod, "Succeeded" if what == "succeed" and not pod.deleting else "Failed", 1)
        elif what == "delete":  # a user deletes it early
            self.pods[pod.name] = dataclasses.replace(pod, deleting=True)
            if pod.phase not in ("Succeeded", "Failed"):
                self.pods[pod.name] = finish(self.pods[pod.name], "Failed", 137)
        self.collect()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(completions=st.integers(1, 6), parallelism=st.integers(0, 4), indexed=st.booleans(),
       steps=st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["succeed", "succeed", "fail", "delete"])),
                      max_size=40))
def test_invariants_of_a_simulated_job(completions: int, parallelism: int, indexed: bool,
                                       steps: list[tuple[int, str]]) -> None:
    cluster = Cluster(job(completions=completions, parallelism=parallelism, backoffLimit=100,
                          completionMode="Indexed" if indexed else "NonIndexed"))
    now = NOW
    for choice, what in steps:
        cluster.sync(now)
        active = [p for p in cluster.pods.values() if p.active]
        assert len(active) <= parallelism
        assert cluster.status is not None and cluster.status["succeeded"] <= completions
        if indexed:
            running = [p.index for p in active]
            assert len(running) == len(set(running))  # never two running pods of one index
            assert parse_indexes(cluster.status.get("completedIndexes"), completions) <= cluster.indexes_succeeded
        cluster.act(choice, what)
        now += timedelta(seconds=1)
    for _ in range(3):  # let the tracking settle
        cluster.sync(now)
    status = cluster.status
    assert status is not None and not status["uncountedTerminatedPods"]
    if indexed:
        assert status["succeeded"] == len(parse_indexes(status.get("completedIndexes"), completions))
        assert parse_indexes(status["completedIndexes"], completions) == cluster.indexes_succeeded & set(
            range(completions))
    else:  # each success counted exactly once, whatever was deleted early
        assert status["succeeded"] == len(cluster.ever_succeeded)
