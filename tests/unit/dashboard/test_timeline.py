"""The dashboard's timeline: the cluster now and at any earlier instant, one object's
versions, and the field diff the time slider shows between them."""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from services.dashboard.diff import FieldChange, diff
from services.dashboard.timeline import Entry, Timeline


def deployment(replicas: int, rv: str = "1") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": rv},
            "spec": {"replicas": replicas}}


def filled() -> Timeline:
    timeline = Timeline(["deployments", "endpoints"])
    timeline.add(Entry(1000, "deployments", "desired", "default/web", deployment(1)))
    timeline.add(Entry(2000, "deployments", "observed", "default/web", {"status": {"readyReplicas": 1}}))
    timeline.add(Entry(3000, "deployments", "desired", "default/web", deployment(3, "2")))
    timeline.add(Entry(4000, "deployments", "desired", "default/web", None))
    return timeline


def test_the_cluster_at_each_instant() -> None:
    timeline = filled()
    assert timeline.snapshot(999) == {"deployments": {}, "endpoints": {}}
    assert timeline.snapshot(1500)["deployments"]["default/web"]["spec"]["replicas"] == 1
    at_2500 = timeline.snapshot(2500)["deployments"]["default/web"]
    assert at_2500["status"] == {"readyReplicas": 1} and at_2500["spec"]["replicas"] == 1
    assert timeline.snapshot(3000)["deployments"]["default/web"]["spec"]["replicas"] == 3
    assert timeline.snapshot(4000)["deployments"] == {} == timeline.snapshot()["deployments"]
    assert timeline.bounds == (1000, 4000) and timeline.seq == 4


def test_now_is_kept_as_records_arrive() -> None:
    timeline = Timeline(["deployments"])
    assert timeline.bounds is None
    timeline.add(Entry(1, "deployments", "desired", "default/web", deployment(2)))
    timeline.add(Entry(2, "deployments", "observed", "default/web", {"status": {"replicas": 2}}))
    assert timeline.snapshot()["deployments"]["default/web"]["status"] == {"replicas": 2}
    timeline.add(Entry(3, "deployments", "observed", "default/web", None))
    assert "status" not in timeline.snapshot()["deployments"]["default/web"]


def test_endpoints_exist_observed_only() -> None:
    timeline = Timeline(["endpoints"])
    timeline.add(Entry(1, "endpoints", "observed", "default/web",
                       {"kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
                        "status": {"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}}))
    assert timeline.snapshot()["endpoints"]["default/web"]["subsets"][0]["addresses"][0]["ip"] == "10.0.0.1"


def test_versions_and_their_diffs() -> None:
    versions = filled().versions("deployments", "default/web")
    assert [v.time_ms for v in versions] == [1000, 2000, 3000, 4000]
    assert versions[-1].obj is None
    assert diff(versions[1].obj, versions[2].obj) == [FieldChange(path="spec.replicas", before=1, after=3)]
    assert diff(versions[0].obj, versions[1].obj) == [FieldChange(path="status.readyReplicas", before=None, after=1)]
    gone = diff(versions[2].obj, None)
    assert {c.path for c in gone} >= {"spec.replicas", "metadata.name"} and all(c.after is None for c in gone)


def test_the_oldest_entries_go_first_when_full() -> None:
    timeline = Timeline(["deployments"], capacity=2)
    for t in (1, 2, 3):
        timeline.add(Entry(t, "deployments", "desired", "default/web", deployment(t)))
    assert timeline.bounds == (2, 3) and timeline.snapshot()["deployments"]["default/web"]["spec"]["replicas"] == 3


@given(st.lists(st.integers(0, 100), min_size=1, max_size=40), st.integers(1, 8))
def test_bounds_are_those_of_the_entries_held(times: list[int], capacity: int) -> None:
    timeline = Timeline(["pods"], capacity=capacity)
    for index, t in enumerate(times):
        timeline.add(Entry(t, "pods", "desired", "default/p", {"metadata": {"name": "p"}}))
        if index % 3 == 0:
            held = times[max(0, index + 1 - capacity):index + 1]
            assert timeline.bounds == (min(held), max(held))
    held = times[-capacity:]
    assert timeline.bounds == (min(held), max(held))


@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["a", "b"]), st.one_of(st.none(), st.integers(0, 5))),
                max_size=30))
def test_the_last_instant_is_now(records: list[tuple[int, str, int | None]]) -> None:
    timeline = Timeline(["deployments"])
    for t, key, replicas in records:
        timeline.add(Entry(t, "deployments", "desired", key, None if replicas is None else deployment(replicas)))
    assert timeline.snapshot(10**6) == timeline.snapshot()


@given(st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=3), c, max_size=3)),
                    max_leaves=10),
       st.recursive(st.one_of(st.none(), st.integers(), st.text(max_size=3)),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=3), c, max_size=3)),
                    max_leaves=10))
def test_diff_of_anything_is_empty_only_when_equal_leaves(a: Any, b: Any) -> None:
    changes = diff({"x": a}, {"x": b})
    assert diff({"x": a}, {"x": a}) == []
    assert all(c.before != c.after for c in changes)
