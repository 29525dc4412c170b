"""The rest of the Job (upstream 1.31+): the back-off before a failed pod is replaced,
podReplacementPolicy, backoffLimitPerIndex with maxFailedIndexes, failedIndexes and the
FailIndex action, successPolicy; their validation in kube-apiserver's words; hypothesis:
the back-off only grows with failures and stays within its cap, an index never runs after
it failed, and a success policy's Job never runs more than parallelism pods."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.batch import INDEX_FAILURE_COUNT_ANNOTATION, MAX_INT32, check_job
from services.controllers.job.backoff import MAX_BACKOFF_S, delay_s, job_backoff_left
from services.controllers.job.indexes import parse_indexes
from services.controllers.job.pods import JobPod, job_pod
from services.controllers.job.reconcile import reconcile
from services.controllers.job.success_policy import match_success_policy
from tests.unit.controllers.test_job_reconcile import NOW, created, finish, job


def failed_at(pod: JobPod, seconds_ago: float) -> JobPod:
    return dataclasses.replace(finish(pod, "Failed", 1), finished_at=NOW - timedelta(seconds=seconds_ago))


def conditions(plan: Any) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["reason"], c["message"]) for c in plan.status.get("conditions") or []}


# -- validation and defaults --------------------------------------------------------------------
def test_defaults_and_validation_of_the_new_fields() -> None:
    per_index = job(completionMode="Indexed", completions=4, backoffLimitPerIndex=1)
    assert per_index.spec is not None and per_index.spec.backoff_limit == MAX_INT32
    assert per_index.spec.pod_replacement_policy == "TerminatingOrFailed"
    assert check_job(per_index) == []
    failure_policy = {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]}
    with_policy = job(completionMode="Indexed", completions=4, backoffLimitPerIndex=1, podFailurePolicy=failure_policy)
    assert with_policy.spec is not None and with_policy.spec.pod_replacement_policy == "Failed"
    assert check_job(with_policy) == []
    text = [str(e) for e in check_job(job(backoffLimitPerIndex=1, maxFailedIndexes=2, podReplacementPolicy="Never",
                                          successPolicy={"rules": [{"succeededCount": 1}]},
                                          podFailurePolicy=failure_policy))]
    assert 'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex ' \
           "to be set" not in text  # backoffLimitPerIndex is set here
    assert "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode" in text
    assert "spec.maxFailedIndexes: Invalid value: 2: requires indexed completion mode" in text
    assert 'spec.podReplacementPolicy: Unsupported value: "Never": supported values: "Failed"' in text
    assert any(t.startswith("spec.successPolicy: Invalid value:") and t.endswith("requires indexed completion mode")
               for t in text)
    text = [str(e) for e in check_job(job(completionMode="Indexed", completions=3, maxFailedIndexes=4,
                                          podFailurePolicy=failure_policy,
                                          successPolicy={"rules": [{"succeededIndexes": "0,2-5", "succeededCount": 5},
                                                                   {}]}))]
    assert "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified" in text
    assert "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions" in text
    assert 'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex ' \
           "to be set" in text
    assert 'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "0,2-5": error parsing succeededIndexes: ' \
           'too large index: "5"' in text
    assert "spec.successPolicy.rules[0].succeededCount: Invalid value: 5: must be less than or equal to 3 " \
           "(the number of specified completions)" in text
    assert "spec.successPolicy.rules[1]: Required value: at least one of succeededCount or succeededIndexes " \
           "must be specified" in text
    too_many = check_job(job(completionMode="Indexed", completions=3,
                             successPolicy={"rules": [{"succeededCount": 1}] * 21}))
    assert [str(e) for e in too_many] == ["spec.successPolicy.rules: Too many: 21: must have at most 20 items"]


# -- back-off ---------------------------------------------------------------------------------------
def test_the_backoff_doubles_from_ten_seconds_to_ten_minutes() -> None:
    assert [delay_s(n) for n in range(0, 8)] == [0, 10, 20, 40, 80, 160, 320, 600]
    assert delay_s(1000) == MAX_BACKOFF_S


def test_a_failed_pod_is_replaced_after_its_backoff() -> None:
    first = created(reconcile(job(), None, [], NOW))
    gone = failed_at(first[0], 4)  # failed 4 s ago: 6 s to wait
    plan = reconcile(job(), None, [gone], NOW)
    assert plan.create == () and plan.requeue_after == 6.0
    assert plan.status["uncountedTerminatedPods"] == {"failed": [gone.uid]}
    later = reconcile(job(), plan.status, [gone], NOW + timedelta(seconds=7))
    assert len(later.create) == 1
    two = [gone, failed_at(created(later)[0], 1)]  # the second failure: 20 s from the last one
    assert reconcile(job(), later.status, two, NOW).requeue_after == 19.0


def test_a_success_resets_the_backoff() -> None:
    pods = created(reconcile(job(completions=3, parallelism=2), None, [], NOW))
    ok = dataclasses.replace(finish(pods[0], "Succeeded"), finished_at=NOW - timedelta(seconds=1))
    before = failed_at(pods[1], 2)
    assert job_backoff_left([ok, before], [before], NOW) == 0.0  # the failure was before the success
    after = failed_at(pods[1], 0.5)
    assert job_backoff_left([ok, after], [after], NOW) == 9.5


@given(failures=st.integers(1, 12), age=st.floats(0, 3600))
def test_the_backoff_is_capped_and_grows_with_failures(failures: int, age: float) -> None:
    def left(n: int) -> float:
        pods = [failed_at(JobPod(name=f"p{i}", uid=f"u{i}"), age) for i in range(n)]
        return job_backoff_left(pods, pods, NOW)

    expected = max(0.0, min(MAX_BACKOFF_S, 10.0 * 2 ** (failures - 1)) - age)
    assert left(failures) == pytest.approx(expected, abs=1e-5)  # timedelta keeps microseconds
    assert 0 <= left(failures) <= left(failures + 1) <= MAX_BACKOFF_S


# -- podReplacementPolicy ---------------------------------------------------------------------------
def test_under_failed_a_terminating_pod_is_waited_for() -> None:
    spec = {"podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}}
    (pod,) = created(reconcile(job(**spec), None, [], NOW))
    terminating = dataclasses.replace(pod, deleting=True, phase="Running", bound=True)
    plan = reconcile(job(**spec), None, [terminating], NOW)
    assert plan.create == () and plan.status["terminating"] == 1 and plan.status["failed"] == 0
    assert not plan.status["uncountedTerminatedPods"]
    eager = reconcile(job(), None, [terminating], NOW)  # TerminatingOrFailed: counted failed at once
    assert eager.status["uncountedTerminatedPods"] == {"failed": [pod.uid]}
    done = dataclasses.replace(terminating, phase="Failed", finished_at=NOW - timedelta(seconds=30))
    assert len(reconcile(job(**spec), plan.status, [done], NOW).create) == 1


# -- backoffLimitPerIndex ---------------------------------------------------------------------------
def per_index_job(**spec: Any) -> Any:
    return job(completionMode="Indexed", completions=3, parallelism=3, backoffLimitPerIndex=1, **spec)


def test_an_index_fails_after_its_own_backoff_limit() -> None:
    pods = created(reconcile(per_index_job(), None, [], NOW))
    assert [p.failure_count for p in pods] == [0, 0, 0]
    assert all(c.body["metadata"]["annotations"][INDEX_FAILURE_COUNT_ANNOTATION] == "0"
               for c in reconcile(per_index_job(), None, [], NOW).create)
    one = failed_at(pods[0], 60)
    again = reconcile(per_index_job(), None, [one, *pods[1:]], NOW)
    (retry,) = again.create
    assert retry.body["metadata"]["annotations"][INDEX_FAILURE_COUNT_ANNOTATION] == "1"
    assert again.status["failedIndexes"] == ""
    second = failed_at(job_pod({**retry.body, "metadata": {**retry.body["metadata"], "uid": "u-retry"}}, None), 1)
    assert second.failure_count == 1
    plan = reconcile(per_index_job(), again.status, [one, second, *pods[1:]], NOW)
    assert plan.status["failedIndexes"] == "0" and plan.create == ()  # index 0 never runs again
    ok = [dataclasses.replace(finish(p, "Succeeded"), finished_at=NOW) for p in pods[1:]]
    end = reconcile(per_index_job(), plan.status, [one, second, *ok], NOW)
    assert conditions(end)["FailureTarget"] == ("FailedIndexes", "Job has failed indexes")
    assert end.status["completedIndexes"] == "1-2"


def test_fail_index_and_max_failed_indexes() -> None:
    policy = {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [1]}}]}
    spec = per_index_job(maxFailedIndexes=0, podFailurePolicy=policy)
    pods = created(reconcile(spec, None, [], NOW))
    plan = reconcile(spec, None, [failed_at(pods[1], 1), pods[0], pods[2]], NOW)
    assert plan.status["failedIndexes"] == "1"
    assert conditions(plan)["FailureTarget"] == (
        "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes")
    assert {d.name for d in plan.delete} == {pods[0].name, pods[2].name}


# -- successPolicy -----------------------------------------------------------------------------------
def test_success_policy_rules() -> None:
    policy = job(completionMode="Indexed", completions=5, successPolicy={"rules": [
        {"succeededIndexes": "0-1,4"}, {"succeededCount": 3}, {"succeededIndexes": "2-3", "succeededCount": 1}]})
    assert policy.spec is not None
    rules = policy.spec.success_policy
    assert match_success_policy(rules, 5, set()) is None
    assert match_success_policy(rules, 5, {0, 1, 4}) == "Matched rules at index 0"
    assert match_success_policy(rules, 5, {0, 1, 2}) == "Matched rules at index 1"
    assert match_success_policy(rules, 5, {3}) == "Matched rules at index 2"


def test_a_success_policy_ends_the_job_early() -> None:
    spec = job(completionMode="Indexed", completions=4, parallelism=4,
               successPolicy={"rules": [{"succeededIndexes": "0", "succeededCount": 1}]})
    pods = created(reconcile(spec, None, [], NOW))
    leader = dataclasses.replace(finish(pods[0], "Succeeded"), finished_at=NOW)
    plan = reconcile(spec, None, [leader, *pods[1:]], NOW)
    assert conditions(plan)["SuccessCriteriaMet"] == ("SuccessPolicy", "Matched rules at index 0")
    assert {d.name for d in plan.delete} == {p.name for p in pods[1:]}
    stopped = [dataclasses.replace(finish(p, "Failed", 137), deleting=True) for p in pods[1:]]
    settled = reconcile(spec, plan.status, [dataclasses.replace(leader, finalizers=()), *stopped], NOW)
    settled = reconcile(spec, settled.status, [dataclasses.replace(leader, finalizers=()),
                                               *(dataclasses.replace(p, finalizers=()) for p in stopped)], NOW)
    assert conditions(settled)["Complete"] == ("SuccessPolicy", "Matched rules at index 0")


@settings(max_examples=80, deadline=None)
@given(completions=st.integers(1, 5), parallelism=st.integers(1, 4), limit=st.integers(0, 2),
       steps=st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=25))
def test_a_failed_index_never_runs_again(completions: int, parallelism: int, limit: int,
                                         steps: list[tuple[int, bool]]) -> None:
    spec = job(completionMode="Indexed", completions=completions, parallelism=parallelism, backoffLimitPerIndex=limit)
    pods: dict[str, JobPod] = {}
    status: dict[str, Any] | None = None
    now = NOW
    for choice, succeed in steps:
        plan = reconcile(spec, status, list(pods.values()), now)
        status = plan.status
        failed = set(int(i) for part in (status.get("failedIndexes") or "").split(",") if part
                     for i in ([part] if "-" not in part else
                               range(int(part.split("-")[0]), int(part.split("-")[1]) + 1)))
        for c in created(plan):
            assert c.index not in failed  # no pod for a failed index
            pods[c.name] = c
        for u in plan.untrack:
            pods[u.name] = dataclasses.replace(pods[u.name], finalizers=u.finalizers)
        active = [p for p in pods.values() if p.active]
        assert len(active) <= parallelism
        if active:
            pod = active[choice % len(active)]
            pods[pod.name] = dataclasses.replace(finish(pod, "Succeeded" if succeed else "Failed", 1), finished_at=now)
        now += timedelta(minutes=11)  # past any back-off


_rules = st.lists(st.fixed_dictionaries({}, optional={
    "succeededIndexes": st.sampled_from(["0", "1-2", "0,3", "2-4"]), "succeededCount": st.integers(1, 3)}),
    min_size=1, max_size=3).filter(lambda rules: all(rules))


@given(rules=_rules, succeeded=st.sets(st.integers(0, 4)), more=st.sets(st.integers(0, 4)))
def test_a_success_policy_matches_as_its_rules_say_and_stays_matched(
        rules: list[dict[str, Any]], succeeded: set[int], more: set[int]) -> None:
    policy = job(completionMode="Indexed", completions=5, successPolicy={"rules": rules}).spec
    assert policy is not None

    def oracle(done: set[int]) -> bool:
        for rule in rules:
            listed = rule.get("succeededIndexes")
            wanted = set(parse_indexes(listed, 5)) if listed is not None else None
            got = len(done & wanted) if wanted is not None else len(done)
            if wanted is not None and got == len(wanted) or rule.get("succeededCount", 10**9) <= got:
                return True
        return False

    matched = match_success_policy(policy.success_policy, 5, succeeded)
    assert (matched is not None) == (bool(succeeded) and oracle(succeeded))
    if matched is not None:  # more successes never undo a match
        assert match_success_policy(policy.success_policy, 5, succeeded | more) is not None


@settings(max_examples=60, deadline=None)
@given(parallelism=st.integers(1, 3), steps=st.lists(st.tuples(st.integers(0, 10), st.sampled_from(
    ["delete", "end", "succeed"])), max_size=25))
def test_under_failed_replacement_running_and_terminating_pods_stay_within_parallelism(
        parallelism: int, steps: list[tuple[int, str]]) -> None:
    spec = job(completions=6, parallelism=parallelism, podReplacementPolicy="Failed", backoffLimit=100)
    pods: dict[str, JobPod] = {}
    status: dict[str, Any] | None = None
    now = NOW
    for choice, what in steps:
        plan = reconcile(spec, status, list(pods.values()), now)
        status = plan.status
        for c in created(plan):
            pods[c.name] = dataclasses.replace(c, bound=True)
        for u in plan.untrack:
            pods[u.name] = dataclasses.replace(pods[u.name], finalizers=u.finalizers)
        live = [p for p in pods.values() if p.active or p.terminating]
        assert len(live) <= parallelism  # a terminating pod holds its place until it is Failed
        names = sorted(n for n, p in pods.items() if p.phase not in ("Succeeded", "Failed"))
        if names:
            pod = pods[names[choice % len(names)]]
            if what == "delete":
                pods[pod.name] = dataclasses.replace(pod, deleting=True)
            elif what == "end" and pod.deleting:
                pods[pod.name] = dataclasses.replace(finish(pod, "Failed", 137), finished_at=now)
            elif what == "succeed" and not pod.deleting:
                pods[pod.name] = dataclasses.replace(finish(pod, "Succeeded"), finished_at=now)
        now += timedelta(minutes=11)


def test_what_a_job_update_may_change() -> None:
    from schemas.updates import check_update

    def stored(**spec: Any) -> dict[str, Any]:
        made = job(**spec)
        return made.model_dump(by_alias=True, exclude_none=True, mode="json")

    old = stored(completionMode="Indexed", completions=3, parallelism=3, backoffLimitPerIndex=1)
    assert check_update("Job", stored(completionMode="Indexed", completions=5, parallelism=5, backoffLimitPerIndex=1),
                        old) == []  # an Indexed Job scales completions with parallelism
    errors = [str(e) for e in check_update("Job", stored(completionMode="Indexed", completions=5, parallelism=3,
                                                         backoffLimitPerIndex=2), old)]
    assert errors == ["spec.completions: Invalid value: 5: can only be modified in tandem with spec.parallelism",
                      "spec.backoffLimitPerIndex: Invalid value: 2: field is immutable"]
    running, changed = stored(), stored()
    changed["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert [e.path for e in check_update("Job", changed, running)] == ["spec.template"]
    suspended = stored(suspend=True)
    assert check_update("Job", {**changed, "spec": {**changed["spec"], "suspend": True}}, suspended) == []


def test_an_ignored_failure_is_counted_apart() -> None:
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [5]}}]}
    spec = per_index_job(podFailurePolicy=policy)
    pods = created(reconcile(spec, None, [], NOW))
    ignored = dataclasses.replace(finish(pods[0], "Failed", 5), finished_at=NOW - timedelta(seconds=1))
    plan = reconcile(spec, None, [ignored, *pods[1:]], NOW)
    (retry,) = plan.create
    annotations = retry.body["metadata"]["annotations"]
    assert annotations[INDEX_FAILURE_COUNT_ANNOTATION] == "0"
    assert annotations["batch.kubernetes.io/job-index-ignored-failure-count"] == "1"
    assert plan.status["failed"] == 0 and plan.status["failedIndexes"] == ""
