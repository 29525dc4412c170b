"""The controllers' slim observed pods: every reader of an observed pod (the workload
controllers' `pod_view`, the Job controller's `job_pod`, the HPA's `pod_facts`, the volume
controller's phase) decides the same on the slim record as on the kubelet's whole one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import given, strategies as st

from services.controllers.hpa.facts import pod_facts
from services.controllers.job.pods import job_pod
from services.controllers.machinery.observed_pods import controllers_decoder, observed_pod_view
from services.controllers.machinery.podview import pod_view
from services.runtime.topics import Topics

DESIRED: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
                 "labels": {"app": "web"}, "creationTimestamp": "2026-11-29T10:00:00Z"},
    "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "busybox",
                                                   "resources": {"requests": {"cpu": "100m"}}}]},
}

KUBELET_RECORD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "writer": "kubelet", "observedAt": "2026-11-29T10:00:02.5Z",
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
    "status": {"phase": "Running", "hostIP": "192.0.2.2", "hostIPs": [{"ip": "192.0.2.2"}],
               "podIP": "10.0.1.1", "podIPs": [{"ip": "10.0.1.1"}], "qosClass": "Burstable",
               "startTime": "2026-11-29T10:00:01Z",
               "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                               "lastTransitionTime": "2026-11-29T10:00:02Z"}],
               "containerStatuses": [{"name": "web", "image": "busybox", "imageID": "sha256:x",
                                      "containerID": "docker://abc", "ready": True, "started": True,
                                      "restartCount": 2, "lastState": {},
                                      "state": {"running": {"startedAt": "2026-11-29T10:00:01Z"}}}]},
}


def test_drops_what_no_controller_reads() -> None:
    assert observed_pod_view(KUBELET_RECORD) == {
        "apiVersion": "v1", "kind": "Pod", "writer": "kubelet", "observedAt": "2026-11-29T10:00:02.5Z",
        "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
        "status": {"phase": "Running", "startTime": "2026-11-29T10:00:01Z",
                   "conditions": KUBELET_RECORD["status"]["conditions"],
                   "containerStatuses": [{"name": "web", "restartCount": 2}]}}


def test_a_terminated_container_keeps_its_exit_code_and_finish_time() -> None:
    terminated = {"exitCode": 3, "finishedAt": "2026-11-29T10:05:00Z", "reason": "Error"}
    record = {"status": {"phase": "Failed", "containerStatuses": [
        {"name": "web", "restartCount": 0, "image": "busybox", "state": {"terminated": terminated}}]}}
    assert observed_pod_view(record)["status"]["containerStatuses"] == [
        {"name": "web", "restartCount": 0, "state": {"terminated": terminated}}]


def test_the_decoder_slims_only_the_observed_pods_topic() -> None:
    decode = controllers_decoder(Topics("k."))
    raw = orjson.dumps(KUBELET_RECORD)
    assert "hostIP" not in decode("k.observed.pods", raw)["status"]
    assert decode("k.observed.jobs", raw) == KUBELET_RECORD


def test_records_that_are_not_pod_objects_are_kept() -> None:
    odd: tuple[Any, ...] = (None, 5, "x", [], {"metadata": {}}, {"status": "odd"})
    for record in odd:
        assert observed_pod_view(record) == record


times = st.one_of(st.none(), st.just("2026-11-29T10:00:00Z"), st.just("2026-11-29T10:07:30Z"), st.text(max_size=3))
conditions = st.lists(st.fixed_dictionaries(
    {"type": st.sampled_from(["Ready", "PodScheduled", "ContainersReady", "DisruptionTarget"]),
     "status": st.sampled_from(["True", "False", "Unknown"])},
    optional={"lastTransitionTime": times, "reason": st.text(max_size=5), "lastProbeTime": st.none()}), max_size=4)
states: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"running": st.fixed_dictionaries({"startedAt": times})}),
    st.fixed_dictionaries({"waiting": st.fixed_dictionaries({"reason": st.text(max_size=5)})}),
    st.fixed_dictionaries({"terminated": st.fixed_dictionaries(
        {"exitCode": st.one_of(st.integers(-1, 255), st.none())}, optional={"finishedAt": times})}))
containers = st.lists(st.fixed_dictionaries(
    {"name": st.sampled_from(["web", "side"])},
    optional={"restartCount": st.integers(0, 9), "state": states, "ready": st.booleans(),
              "image": st.text(max_size=5), "containerID": st.text(max_size=5)}), max_size=3)
records = st.fixed_dictionaries(
    {"writer": st.just("kubelet"),
     "metadata": st.fixed_dictionaries({"uid": st.sampled_from(["u-1", "u-2"])}),
     "status": st.fixed_dictionaries(
         {"phase": st.sampled_from(["Pending", "Running", "Succeeded", "Failed"])},
         optional={"conditions": conditions, "containerStatuses": containers, "startTime": times,
                   "hostIP": st.text(max_size=5), "qosClass": st.just("BestEffort"),
                   "reason": st.text(max_size=5), "message": st.text(max_size=5)})})
deleting = st.sampled_from([None, "2026-11-29T10:06:00Z"])


def outcome(read: Callable[..., Any], *args: Any) -> Any:
    """What a reader returns, or the type of what it raises (a malformed time, say)."""
    try:
        return read(*args)
    except Exception as exc:
        return type(exc)


@given(records, deleting)
def test_every_reader_decides_the_same_on_the_slim_record(record: dict[str, Any], deleted: str | None) -> None:
    desired = {**DESIRED, "metadata": {**DESIRED["metadata"], "deletionTimestamp": deleted}}
    slim = observed_pod_view(record)
    assert outcome(pod_view, desired, slim) == outcome(pod_view, desired, record)
    assert outcome(job_pod, desired, slim) == outcome(job_pod, desired, record)
    assert outcome(pod_facts, desired, slim["status"]) == outcome(pod_facts, desired, record["status"])
    assert slim["status"]["phase"] == record["status"]["phase"]
