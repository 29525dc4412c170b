"""Properties of the whole pipeline on random clusters and pods."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.algorithm import Bound, feasible_nodes_to_find, schedule, start_index
from services.scheduler.columns import NodeColumns
from services.scheduler.filters import feasibility, resources_fit, run_filters
from services.scheduler.model import QUANTITY_CAP, NodeInfo, PodRequest
from services.scheduler.scores import default_total_scores, total_scores
from tests.unit.scheduler.builders import node, req, snapshot

LABELS = st.dictionaries(st.sampled_from(["disk", "zone"]), st.sampled_from(["a", "b"]), max_size=2)
TAINTS = st.lists(st.fixed_dictionaries({"key": st.sampled_from(["gpu", "infra"]),
                                         "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule",
                                                                    "NoExecute"])}), max_size=2)


@st.composite
def nodes(draw: st.DrawFn) -> list[NodeInfo]:
    count = draw(st.integers(1, 5))
    return [node(f"n{i}", cpu=f"{draw(st.integers(0, 4000))}m", memory=f"{draw(st.integers(0, 8))}Gi",
                 pods=str(draw(st.integers(0, 6))), labels=draw(LABELS), taints=draw(TAINTS),
                 ready=draw(st.sampled_from(["True", "True", "True", "False", None])),
                 unschedulable=draw(st.booleans()) and draw(st.booleans()))
            for i in range(count)]


@st.composite
def pods(draw: st.DrawFn) -> list[PodRequest]:
    count = draw(st.integers(1, 25))
    out = []
    for i in range(count):
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["nodeSelector"] = draw(LABELS)
        if draw(st.booleans()):
            extra["tolerations"] = [{"key": draw(st.sampled_from(["gpu", "infra"])), "operator": "Exists"}]
        if draw(st.integers(0, 4)) == 0:
            extra["ports"] = [{"containerPort": 80, "hostPort": draw(st.sampled_from([80, 81]))}]
        cpu = draw(st.one_of(st.none(), st.integers(1, 2500).map(lambda m: f"{m}m")))
        memory = draw(st.one_of(st.none(), st.integers(1, 3000).map(lambda m: f"{m}Mi")))
        out.append(req(f"p{i}", cpu=cpu, memory=memory, owner=draw(st.sampled_from([None, "rs"])),
                       **extra))
    return out


@settings(max_examples=150, deadline=None)
@given(nodes(), pods())
def test_sequential_scheduling_with_assumption_never_overcommits(cluster: list[NodeInfo],
                                                                 queue: list[PodRequest]) -> None:
    snap = snapshot(*cluster)
    for pod in queue:
        decision = schedule(pod, snap)
        if isinstance(decision, Bound):
            target = snap.node(decision.node)
            assert target is not None
            assert run_filters(pod, target, snap.usage(decision.node)) == []
            snap.place(pod.key, decision.node, pod)  # the assumption
    for n in cluster:
        usage = snap.usage(n.name)
        assert usage.pods <= n.max_pods
        assert usage.requested.cpu <= n.allocatable.cpu
        assert usage.requested.memory <= n.allocatable.memory
        assert all(count == 1 for count in usage.ports.values())


@settings(max_examples=100, deadline=None)
@given(nodes(), pods())
def test_a_pod_goes_only_to_a_node_passing_every_filter(cluster: list[NodeInfo],
                                                        queue: list[PodRequest]) -> None:
    snap = snapshot(*cluster)
    pod = queue[0]
    decision = schedule(pod, snap)
    passing = {n.name for n in cluster if not run_filters(pod, n, snap.usage(n.name))}
    if isinstance(decision, Bound):
        assert decision.node in passing and decision.feasible == len(passing)
    else:
        assert not passing
        assert decision.message.startswith(f"0/{len(cluster)} nodes are available: ")
        assert sum(count for _reason, count in decision.reasons) >= len(cluster)


AFFINITY = st.one_of(st.none(), st.fixed_dictionaries({"nodeAffinity": st.fixed_dictionaries({
    "requiredDuringSchedulingIgnoredDuringExecution": st.fixed_dictionaries({"nodeSelectorTerms": st.lists(
        st.fixed_dictionaries({"matchExpressions": st.lists(st.fixed_dictionaries({
            "key": st.sampled_from(["disk", "zone"]), "operator": st.sampled_from(["In", "NotIn", "Exists"]),
            "values": st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2)}), min_size=1, max_size=2)}),
        max_size=2)}),
    "preferredDuringSchedulingIgnoredDuringExecution": st.lists(st.fixed_dictionaries({
        "weight": st.integers(1, 100), "preference": st.fixed_dictionaries({"matchExpressions": st.lists(
            st.fixed_dictionaries({"key": st.sampled_from(["disk", "zone"]), "operator": st.just("In"),
                                   "values": st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2)}),
            min_size=1, max_size=1)})}), max_size=2)})}))


@settings(max_examples=150, deadline=None)
@given(nodes(), pods(), AFFINITY)
def test_fast_paths_equal_the_reference_filters_and_scores(cluster: list[NodeInfo], queue: list[PodRequest],
                                                           affinity: dict | None) -> None:  # type: ignore[type-arg]
    """`feasibility` == `not run_filters`, `default_total_scores` == `total_scores`, on
    nodes with random usage (the earlier pods placed round robin, ignoring fit)."""
    snap = snapshot(*cluster)
    for i, placed in enumerate(queue[1:]):
        snap.place(placed.key, cluster[i % len(cluster)].name, placed)
    pod = queue[0]
    if affinity is not None:
        pod = req("aff", cpu=f"{pod.requests.cpu}m" if pod.requests.cpu else None, affinity=affinity,
                  tolerations=[{"key": "gpu", "operator": "Exists"}])
    fits = feasibility(pod)
    rows = snap.rows()
    for n, usage in rows:
        assert fits(n, usage) == (run_filters(pod, n, usage) == [])
    everyone = np.arange(len(rows))
    assert default_total_scores(pod, snap.columns(), rows, everyone).tolist() == total_scores(pod, rows)
    some = everyone[::2]
    assert (default_total_scores(pod, snap.columns(), rows, some).tolist()
            == total_scores(pod, [rows[i] for i in some]))
    fit = snap.columns().resources_fit(pod).tolist()
    assert fit == [resources_fit(pod, n, usage) == [] for n, usage in rows]


@settings(max_examples=100, deadline=None)
@given(nodes(), pods(), st.lists(st.tuples(st.integers(0, 24), st.integers(-1, 4)), max_size=40))
def test_columns_kept_in_place_equal_columns_built_afresh(cluster: list[NodeInfo], queue: list[PodRequest],
                                                          moves: list[tuple[int, int]]) -> None:
    """The snapshot's columns, updated as pods are placed, moved and removed, equal
    columns built from its rows at the end (-1 or a node index past the last: removed)."""
    snap = snapshot(*cluster)
    snap.columns()
    for pod_index, node_index in moves:
        pod = queue[pod_index % len(queue)]
        node = cluster[node_index].name if 0 <= node_index < len(cluster) else None
        snap.place(pod.key, node, pod)
    kept, fresh = snap.columns(), NodeColumns.of(snap.rows())
    for name in ("requested_cpu", "requested_memory", "nonzero_cpu", "nonzero_memory", "pods"):
        assert getattr(kept, name).tolist() == getattr(fresh, name).tolist(), name
    assert kept.owners == fresh.owners


def test_quantities_past_int64_are_counted_at_the_cap() -> None:
    """A pod bound with 10E of memory (admission takes any non-negative quantity) and a
    node offering 100E: the arrays neither overflow nor disagree with the reference,
    and scheduling goes on for everyone else."""
    huge, plain = node("huge", memory="100E"), node("plain")
    snap = snapshot(huge, plain)
    snap.columns()  # built before the big pod arrives: kept in place from here
    whale = req("whale", memory="10E", cpu="10P")
    assert whale.requests.memory == QUANTITY_CAP and whale.requests.cpu == QUANTITY_CAP
    snap.place(whale.key, "plain", whale)
    snap.place("default/whale-2", "plain", whale)
    kept, fresh = snap.columns(), NodeColumns.of(snap.rows())
    assert kept.requested_memory.tolist() == fresh.requested_memory.tolist() == [0, 2 * QUANTITY_CAP]
    pod = req("next", cpu="100m", memory="1Gi")
    decision = schedule(pod, snap)
    assert isinstance(decision, Bound) and decision.node == "huge"
    rows = snap.rows()
    assert (default_total_scores(pod, kept, rows, np.arange(len(rows))).tolist()
            == total_scores(pod, rows))


def _reference_decision(pod: PodRequest, snap: Any) -> tuple[str, int] | None:
    """The walk spelled out per node with the reference filters and scores."""
    rows = snap.rows()
    total = len(rows)
    wanted = feasible_nodes_to_find(total)
    start = start_index(pod.key, total) if wanted < total else 0
    found = []
    for step in range(total):
        i = (start + step) % total
        if not run_filters(pod, *rows[i]):
            found.append(i)
            if len(found) == wanted:
                break
    if not found:
        return None
    candidates = [rows[i] for i in sorted(found)]
    totals = total_scores(pod, candidates)
    return candidates[totals.index(max(totals))][0].name, len(found)


@settings(max_examples=25, deadline=None)
@given(st.integers(100, 260), st.data())
def test_at_scale_the_walk_and_its_cut_off_equal_the_reference(count: int, data: st.DataObject) -> None:
    """Past 100 nodes only some feasible nodes are scored, from a start the pod's key
    gives: mixed plain and tainted, cordoned, unknown or full nodes, pods with and
    without selectors, owners and ports, each placed where it went."""
    cluster = [node(f"n{i:03d}", cpu=f"{data.draw(st.sampled_from([0, 500, 4000]))}m",
                    pods=str(data.draw(st.sampled_from([0, 3, 110]))),
                    labels=data.draw(LABELS), taints=data.draw(st.one_of(st.just([]), st.just([]), TAINTS)),
                    ready=data.draw(st.sampled_from(["True", "True", "True", None])),
                    unschedulable=data.draw(st.sampled_from([False, False, False, True])))
               for i in range(count)]
    snap = snapshot(*cluster)
    for pod in data.draw(pods()):
        expected = _reference_decision(pod, snap)
        decision = schedule(pod, snap)
        if expected is None:
            assert not isinstance(decision, Bound)
            continue
        assert isinstance(decision, Bound) and (decision.node, decision.feasible) == expected
        snap.place(pod.key, decision.node, pod)
