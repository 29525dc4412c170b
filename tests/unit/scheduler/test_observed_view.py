"""What the scheduler keeps of an observed pod record: enough to tell a terminated pod
and its own Unschedulable note, nothing of the kubelet's container statuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from services.scheduler.model import observed_pod_view

KUBELET_RECORD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "writer": "kubelet/node-1",
    "metadata": {"name": "web-1", "namespace": "default", "uid": "u-1"},
    "status": {"phase": "Running", "hostIP": "10.0.0.1", "podIP": "10.1.0.7", "startTime": "2026-11-29T10:00:00Z",
               "conditions": [{"type": "Ready", "status": "True"},
                              {"type": "PodScheduled", "status": "True", "message": None}],
               "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0,
                                      "state": {"running": {"startedAt": "2026-11-29T10:00:01Z"}}}]},
}


def test_keeps_writer_uid_phase_and_the_scheduled_condition_only() -> None:
    assert observed_pod_view(KUBELET_RECORD) == {
        "writer": "kubelet/node-1", "metadata": {"uid": "u-1"},
        "status": {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True", "message": None}]}}


def test_the_schedulers_own_note_keeps_its_message() -> None:
    note = {"writer": "scheduler", "metadata": {"name": "p", "uid": "u-2"},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes"}]}}
    view = observed_pod_view(note)
    assert view["status"]["conditions"][0]["message"] == "0/3 nodes" and view["writer"] == "scheduler"


def test_conditions_that_are_not_a_list_are_none() -> None:
    assert observed_pod_view({"status": {"conditions": 5}})["status"]["conditions"] == []


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=12)


@given(st.dictionaries(st.sampled_from(["writer", "metadata", "status", "spec"]), json_values) | json_values)
def test_any_decoded_record_gives_a_view_and_never_raises(record: Any) -> None:
    view = observed_pod_view(record)
    if isinstance(record, dict):
        assert view["writer"] == record.get("writer")
        if isinstance(record.get("status"), dict):
            assert view["status"]["phase"] == record["status"].get("phase")
    else:
        assert view is record
