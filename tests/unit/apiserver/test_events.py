"""The events the apiserver serves: which records are user events, the events.k8s.io/v1
shape, the field selectors of both, the Table's cells, and the bounded log's positions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from schemas.records import REQUEST_ID_ANNOTATION
from services.apiserver.changelog import Expired
from services.apiserver.event_log import EventLog
from schemas.registry import ALL_KINDS
from services.apiserver.event_objects import EVENTS_V1, as_events_v1, event_row, user_event
from services.apiserver.paths import ResourcePath
from services.apiserver.reads import predicate
from services.runtime.events import involved_object, make_event

CORE_EVENTS = next(k for k in ALL_KINDS if k.kind == "Event")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def pod_event(name: str = "web-1", reason: str = "Scheduled", **extra: Any) -> dict[str, Any]:
    involved = involved_object(api_version="v1", kind="Pod", name=name, namespace="default", uid=f"uid-{name}")
    return make_event(reason=reason, message=f"{reason} {name}", involved=involved, component="scheduler",
                      instance="s1", now=NOW, **extra)


def test_answers_to_requests_are_not_user_events() -> None:
    assert user_event(pod_event())
    assert not user_event(pod_event(request_id="r1"))
    assert REQUEST_ID_ANNOTATION in pod_event(request_id="r1")["metadata"]["annotations"]
    assert not user_event({"kind": "Event", "metadata": {"name": "x"}})  # no namespace


def test_the_events_k8s_io_shape_renames_as_upstream() -> None:
    shaped = as_events_v1(pod_event())
    assert shaped["apiVersion"] == "events.k8s.io/v1" and shaped["kind"] == "Event"
    assert shaped["regarding"]["name"] == "web-1" and shaped["note"] == "Scheduled web-1"
    assert shaped["deprecatedSource"] == {"component": "scheduler", "host": "s1"}
    assert shaped["reportingController"] == "kafkube-scheduler" and shaped["deprecatedCount"] == 1
    assert "involvedObject" not in shaped and "message" not in shaped


def test_field_selectors_of_both_shapes() -> None:
    core = ResourcePath(CORE_EVENTS, "default")
    wanted = predicate({"fieldSelector": "involvedObject.kind=Pod,involvedObject.name=web-1,"
                                         "involvedObject.uid=uid-web-1,type=Normal,source=scheduler"}, core)
    assert wanted(pod_event()) and not wanted(pod_event("web-2"))
    v1 = predicate({"fieldSelector": "regarding.name=web-1,reportingController=kafkube-scheduler"},
                   ResourcePath(EVENTS_V1, "default"))
    assert v1(as_events_v1(pod_event())) and not v1(as_events_v1(pod_event("web-2")))
    with pytest.raises(ValueError, match="field label not supported"):
        predicate({"fieldSelector": "involvedObject.name=x"}, ResourcePath(EVENTS_V1, "default"))


def test_the_table_row_is_upstreams() -> None:
    event = pod_event(type_="Warning")
    assert event_row(event, NOW.replace(minute=2)) == ["2m", "Warning", "Scheduled", "pod/web-1", "", "scheduler",
                                                       "Scheduled web-1", "2m", "1", event["metadata"]["name"]]


def test_the_log_is_bounded_and_resumes_from_positions() -> None:
    log = EventLog(2, capacity=3)
    first = log.add(0, 0, pod_event("a"))
    log.passed(1, 0)  # an answer on partition 1: no event, the position moves
    listed = log.resource_version
    assert listed == "1.1" and first.event["metadata"]["resourceVersion"] == "1.0"
    log.add(1, 1, pod_event("b"))
    assert [h.event["involvedObject"]["name"] for h in log.after_position(listed)] == ["b"]
    assert [h.event["involvedObject"]["name"] for h in log.after_seq(first.seq)] == ["b"]
    for n, name in enumerate(["c", "d"]):
        log.add(0, n + 1, pod_event(name))
    assert sorted(e["involvedObject"]["name"] for e in log.events("default")) == ["b", "c", "d"]
    assert log.get("default", first.event["metadata"]["name"]) is None  # the oldest dropped
    with pytest.raises(Expired):
        log.after_position("0.0")  # partition 0's offset 0 is gone
    with pytest.raises(Expired):
        log.after_seq(0)
    with pytest.raises(Expired):
        log.after_position("not-a-position")
    assert [h.event["involvedObject"]["name"] for h in log.after_position(listed)] == ["b", "c", "d"]


def test_events_are_listed_in_the_order_pages_continue_in() -> None:
    log = EventLog(1)
    for offset, namespace in enumerate(["a-x", "a", "b"]):
        event = pod_event()
        log.add(0, offset, {**event, "metadata": {**event["metadata"], "namespace": namespace}})
    keys = [f"{e['metadata']['namespace']}/{e['metadata']['name']}" for e in log.events()]
    assert keys == sorted(keys) and [k.split("/")[0] for k in keys] == ["a-x", "a", "b"]
