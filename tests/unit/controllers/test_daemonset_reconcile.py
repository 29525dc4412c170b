"""The DaemonSet reconcile (pure): one pod per eligible node, the daemon tolerations,
pods bound through a metadata.name node affinity, history, RollingUpdate with
maxUnavailable/maxSurge, OnDelete, status; hypothesis properties on random clusters."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.core import Taint
from schemas.daemonset import DaemonSet
from services.api.admission import admit
from services.controllers.daemonset.history import Revision, revision_view
from services.controllers.daemonset.nodes import NodeView, node_view, target_node
from services.controllers.daemonset.pods import DaemonPod, daemon_pod
from services.controllers.daemonset.reconcile import Plan, reconcile

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
EARLIER = (NOW - timedelta(minutes=5)).isoformat()


def make_ds(*, image: str = "busybox", generation: int = 1, **spec: Any) -> DaemonSet:
    body: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, **spec,
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "c", "image": image}], **spec.pop("pod", {})}}}}
    obj = admit(body).obj
    obj["metadata"].update(uid="ds-uid", generation=generation)
    return DaemonSet.model_validate(obj)


def node(name: str, *taints: tuple[str, str], **labels: str) -> NodeView:
    return NodeView(name=name, labels=labels, taints=tuple(Taint(key=k, effect=e) for k, e in taints))  # type: ignore[arg-type]


def run_pods(plan: Plan, *, ready: bool = True, created: str = EARLIER) -> list[DaemonPod]:
    """The pods a plan creates, as the view shows them once their kubelets run them."""
    out = []
    for create in plan.create:
        body = copy.deepcopy(create.body)
        body["metadata"].update(uid=f"uid-{create.name}", creationTimestamp=created)
        body["spec"]["nodeName"] = create.node
        conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": EARLIER}] if ready else []
        out.append(daemon_pod(body, {"status": {"phase": "Running", "conditions": conditions}}))
    return out


def revisions_of(plan: Plan, existing: list[Revision] = ()) -> list[Revision]:  # type: ignore[assignment]
    if plan.revision is None or plan.revision.body is None:
        return list(existing)
    obj = copy.deepcopy(plan.revision.body)
    obj["metadata"]["uid"] = f"uid-{plan.revision.name}"
    return [*existing, revision_view(obj)]


def test_one_pod_per_eligible_node_bound_by_node_affinity() -> None:
    ds = make_ds(pod={"nodeSelector": {"role": "edge"}})
    nodes = [node("a", role="edge"), node("b", role="edge"), node("c", role="core"),
             node("d", ("dedicated", "NoSchedule"), role="edge")]
    plan = reconcile(ds, nodes, [], [], NOW)
    assert sorted(c.node for c in plan.create) == ["a", "b"]
    body = plan.create[0].body
    assert target_node(body) == plan.create[0].node
    terms = body["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchFields": [
        {"key": "metadata.name", "operator": "In", "values": [plan.create[0].node]}]}]}
    labels = body["metadata"]["labels"]
    assert labels["app"] == "agent" and labels["pod-template-generation"] == "1"
    assert plan.revision is not None and plan.revision.body is not None
    assert labels["controller-revision-hash"] == plan.revision.body["metadata"]["labels"]["controller-revision-hash"]
    assert body["metadata"]["ownerReferences"][0] | {"uid": "ds-uid"} == {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "ds-uid", "controller": True,
        "blockOwnerDeletion": True}
    assert plan.status["desiredNumberScheduled"] == 2 and plan.status["currentNumberScheduled"] == 0


def test_daemon_tolerations_let_pods_onto_pressured_not_ready_and_cordoned_nodes() -> None:
    ds = make_ds()
    nodes = [node("nr", ("node.kubernetes.io/not-ready", "NoExecute")),
             node("ur", ("node.kubernetes.io/unreachable", "NoExecute")),
             node("dp", ("node.kubernetes.io/disk-pressure", "NoSchedule")),
             node("mp", ("node.kubernetes.io/memory-pressure", "NoSchedule")),
             node("pp", ("node.kubernetes.io/pid-pressure", "NoSchedule")),
             node("us", ("node.kubernetes.io/unschedulable", "NoSchedule")),
             node("nu", ("node.kubernetes.io/network-unavailable", "NoSchedule"))]
    plan = reconcile(ds, nodes, [], [], NOW)
    assert sorted(c.node for c in plan.create) == ["dp", "mp", "nr", "pp", "ur", "us"]
    tolerations = plan.create[0].body["spec"]["tolerations"]
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"} in tolerations
    host = reconcile(make_ds(pod={"hostNetwork": True}), nodes, [], [], NOW)
    assert "nu" in {c.node for c in host.create}  # network-unavailable is tolerated by hostNetwork pods


def test_required_node_affinity_and_own_tolerations() -> None:
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x", "y"]}]}]}}}
    ds = make_ds(pod={"affinity": affinity, "tolerations": [{"key": "dedicated", "operator": "Exists"}]})
    nodes = [node("x", zone="x"), node("z", zone="z"), node("t", ("dedicated", "NoExecute"), zone="y")]
    assert sorted(c.node for c in reconcile(ds, nodes, [], [], NOW).create) == ["t", "x"]


def test_converged_then_nodes_come_and_go() -> None:
    ds = make_ds()
    first = reconcile(ds, [node("a"), node("b")], [], [], NOW)
    pods, revisions = run_pods(first), revisions_of(first)
    steady = reconcile(ds, [node("a"), node("b")], pods, revisions, NOW)
    assert (steady.create, steady.delete, steady.revision) == ([], [], None)
    assert steady.status == {"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
                             "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2,
                             "numberAvailable": 2, "numberUnavailable": 0}
    grown = reconcile(ds, [node("a"), node("b"), node("c")], pods, revisions, NOW)
    assert [c.node for c in grown.create] == ["c"] and grown.delete == []
    shrunk = reconcile(ds, [node("a")], pods, revisions, NOW)
    assert [(d.name, d.force) for d in shrunk.delete] == [(p.name, True) for p in pods if p.node == "b"]
    tainted = reconcile(ds, [node("a"), node("b", ("evict", "NoExecute"))], pods, revisions, NOW)
    assert [d.name for d in tainted.delete] == [p.name for p in pods if p.node == "b"]
    assert tainted.status["numberMisscheduled"] == 1 and tainted.status["desiredNumberScheduled"] == 1
    kept = reconcile(ds, [node("a"), node("b", ("noschedule", "NoSchedule"))], pods, revisions, NOW)
    assert kept.delete == []  # a NoSchedule taint keeps a running daemon pod


def test_pending_writes_hold_manage_and_failed_pods_are_replaced_once_gone() -> None:
    ds = make_ds()
    first = reconcile(ds, [node("a")], [], [], NOW)
    held = reconcile(ds, [node("a")], [], revisions_of(first), NOW, expectations_met=False)
    assert held.create == [] and held.delete == []
    pod = run_pods(first)[0]
    failed = replace(pod, pod=replace(pod.pod, phase="Failed", ready_since=None))
    plan = reconcile(ds, [node("a")], [failed], revisions_of(first), NOW)
    assert [d.name for d in plan.delete] == [pod.name] and plan.create == []
    assert plan.events[0].reason == "FailedDaemonPod"
    going = replace(failed, pod=replace(failed.pod, deleting=True))
    again = reconcile(ds, [node("a")], [going], revisions_of(first), NOW)
    assert [c.node for c in again.create] == ["a"] and again.create[0].name != pod.name


def test_excess_pods_on_a_node_keep_the_oldest() -> None:
    ds = make_ds()
    first = reconcile(ds, [node("a")], [], [], NOW)
    old = run_pods(first)[0]
    young = replace(old, pod=replace(old.pod, name="agent-young", uid="u2", created=NOW))
    plan = reconcile(ds, [node("a")], [young, old], revisions_of(first), NOW)
    assert [d.name for d in plan.delete] == ["agent-young"]


def test_history_new_revision_on_template_change_and_renumber_on_rollback() -> None:
    v1 = make_ds()
    first = reconcile(v1, [node("a")], [], [], NOW)
    assert first.revision is not None and first.revision.revision == 1
    revisions = revisions_of(first)
    v2 = make_ds(image="busybox:2", generation=2)
    second = reconcile(v2, [node("a")], run_pods(first), revisions, NOW)
    assert second.revision is not None and second.revision.revision == 2
    revisions = revisions_of(second, revisions)
    back = reconcile(make_ds(generation=3), [node("a")], run_pods(first), revisions, NOW)
    assert back.revision is not None and back.revision.body is None and back.revision.revision == 3
    assert back.revision.name == revisions[0].name


def test_old_revisions_beyond_the_limit_are_deleted_unless_a_pod_uses_them() -> None:
    revisions = [Revision(name=f"agent-{i}", uid=f"u{i}", revision=i, data={"old": i}, hash=f"h{i}")
                 for i in range(1, 5)]
    ds = make_ds(revisionHistoryLimit=1)
    first = reconcile(ds, [node("a")], [], revisions, NOW)
    pod = run_pods(first)[0]
    on_h1 = replace(pod, pod=replace(pod.pod, labels={**pod.pod.labels, "controller-revision-hash": "h1"}))
    plan = reconcile(ds, [node("a")], [on_h1], revisions, NOW)
    assert [r.name for r in plan.delete_revisions] == ["agent-2", "agent-3", "agent-4"]  # h1: a live pod


def test_a_hash_taken_by_another_revision_bumps_the_collision_count() -> None:
    ds = make_ds()
    first = reconcile(ds, [node("a")], [], [], NOW)
    assert first.revision is not None
    clash = Revision(name=first.revision.name, uid="x", revision=1, data={"other": True})
    plan = reconcile(ds, [node("a")], [], [clash], NOW, observed={"collisionCount": 0})
    assert plan.status["collisionCount"] == 1 and plan.create == []
    moved = reconcile(ds, [node("a")], [], [clash], NOW, observed=plan.status)
    assert moved.revision is not None and moved.revision.name != clash.name and moved.status["collisionCount"] == 1


def _rolled(nodes: list[NodeView], **strategy: Any) -> tuple[DaemonSet, list[DaemonPod], list[Revision]]:
    v1 = make_ds(updateStrategy=strategy) if strategy else make_ds()
    first = reconcile(v1, nodes, [], [], NOW)
    spec = {"updateStrategy": strategy} if strategy else {}
    return make_ds(image="busybox:2", generation=2, **spec), run_pods(first), revisions_of(first)


def test_rolling_update_deletes_max_unavailable_old_pods_then_waits() -> None:
    nodes = [node(n) for n in "abcd"]
    v2, pods, revisions = _rolled(nodes, type="RollingUpdate", rollingUpdate={"maxUnavailable": 2})
    plan = reconcile(v2, nodes, pods, revisions, NOW)
    assert len(plan.delete) == 2 and plan.create == []
    assert plan.status["updatedNumberScheduled"] == 0
    left = [p for p in pods if p.name not in {d.name for d in plan.delete}]
    recreate = reconcile(v2, nodes, left, revisions_of(plan, revisions), NOW)
    assert len(recreate.create) == 2 and recreate.delete == []
    not_ready = run_pods(recreate, ready=False)
    wait = reconcile(v2, nodes, left + not_ready, revisions_of(plan, revisions), NOW)
    assert wait.delete == [] and wait.create == []  # two new pods not yet available: no more room


def test_rolling_update_with_surge_creates_beside_then_deletes_the_old() -> None:
    nodes = [node(n) for n in "abc"]
    v2, pods, revisions = _rolled(nodes, type="RollingUpdate", rollingUpdate={"maxSurge": 1, "maxUnavailable": 0})
    plan = reconcile(v2, nodes, pods, revisions, NOW)
    assert len(plan.create) == 1 and plan.delete == []
    surged = run_pods(plan, ready=False)
    waiting = reconcile(v2, nodes, pods + surged, revisions, NOW)
    assert waiting.create == [] and waiting.delete == []
    ready = run_pods(plan)
    done = reconcile(v2, nodes, pods + ready, revisions, NOW)
    old = next(p for p in pods if p.node == plan.create[0].node)
    assert [d.name for d in done.delete] == [old.name]


def test_on_delete_leaves_old_pods_alone() -> None:
    nodes = [node("a"), node("b")]
    v2, pods, revisions = _rolled(nodes, type="OnDelete")
    plan = reconcile(v2, nodes, pods, revisions, NOW)
    assert plan.delete == [] and plan.create == [] and plan.status["updatedNumberScheduled"] == 0
    rest = [p for p in pods if p.node == "b"]
    replaced = reconcile(v2, nodes, rest, revisions, NOW)
    assert [c.node for c in replaced.create] == ["a"]  # a deleted pod comes back at the new template


# -- properties ------------------------------------------------------------------------------------
TAINTS = st.sampled_from([("dedicated", "NoSchedule"), ("evict", "NoExecute"), ("node.kubernetes.io/not-ready",
                                                                                 "NoExecute"), ("soft", "PreferNoSchedule")])
NODES = st.lists(st.tuples(st.sampled_from(["edge", "core"]), st.lists(TAINTS, max_size=2)), max_size=7)


def _cluster(draw_nodes: list[tuple[str, list[tuple[str, str]]]]) -> list[NodeView]:
    return [node(f"n{i}", *taints, role=role) for i, (role, taints) in enumerate(draw_nodes)]


def _eligible(nodes: list[NodeView]) -> set[str]:
    return {n.name for n in nodes if n.labels.get("role") == "edge"
            and not any(t.key in ("dedicated", "evict") for t in n.taints)}


@settings(max_examples=150, deadline=None)
@given(specs=NODES, steps=st.integers(1, 4), existing=st.lists(st.tuples(st.integers(0, 8), st.booleans()), max_size=8))
def test_converges_to_exactly_one_pod_per_eligible_node_and_never_two(
        specs: list[tuple[str, list[tuple[str, str]]]], steps: int, existing: list[tuple[int, bool]]) -> None:
    nodes = _cluster(specs)
    ds = make_ds(pod={"nodeSelector": {"role": "edge"}})
    seed = reconcile(ds, [node(f"n{i}") for i in range(9)], [], [], NOW)
    pods = [p for p in run_pods(seed) for i, ready in existing if p.node == f"n{i}"][:len(existing)]
    revisions = revisions_of(seed)
    for _ in range(steps + 1):
        plan = reconcile(ds, nodes, pods, revisions, NOW)
        per_node: dict[str, int] = {}
        for c in plan.create:
            per_node[c.node] = per_node.get(c.node, 0) + 1
        assert all(n == 1 for n in per_node.values())
        assert not {c.node for c in plan.create} - _eligible(nodes)  # never on an ineligible node
        assert all(not any(p.node == c.node and not p.pod.deleting for p in pods) for c in plan.create)
        gone = {d.name for d in plan.delete}
        pods = [p for p in pods if p.name not in gone] + run_pods(plan)
    assert sorted(p.node for p in pods) == sorted(_eligible(nodes))  # type: ignore[type-var]


@settings(max_examples=150, deadline=None)
@given(count=st.integers(1, 8), max_unavailable=st.one_of(st.integers(1, 4), st.sampled_from(["25%", "50%", "100%"])),
       unready=st.sets(st.integers(0, 7)))
def test_a_rolling_update_never_makes_more_than_max_unavailable_nodes_unavailable(
        count: int, max_unavailable: int | str, unready: set[int]) -> None:
    nodes = [node(f"n{i}") for i in range(count)]
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}}
    v2, pods, revisions = _rolled(nodes, **strategy)
    pods = [replace(p, pod=replace(p.pod, ready_since=None)) if int(p.node[1:]) in unready else p  # type: ignore[index]
            for p in pods]
    limit = max_unavailable if isinstance(max_unavailable, int) else -(-int(max_unavailable[:-1]) * count // 100)

    def unavailable(view: list[DaemonPod]) -> int:
        return sum(1 for n in nodes if not any(p.node == n.name and p.available(0, NOW) for p in view))
    for _ in range(3 * count + 2):
        before = unavailable(pods)
        plan = reconcile(v2, nodes, pods, revisions, NOW)
        gone = {d.name for d in plan.delete}
        after = [p for p in pods if p.name not in gone]
        assert unavailable(after) <= max(limit, before)
        pods = after + run_pods(plan)
    assert all(p.hash == pods[0].hash for p in pods) and len(pods) == count


def test_node_selector_requirements_as_upstream() -> None:
    def fits(*expressions: dict[str, Any], fields: tuple[dict[str, Any], ...] = ()) -> list[str]:
        term: dict[str, Any] = {"matchExpressions": list(expressions)} if expressions else {}
        if fields:
            term["matchFields"] = list(fields)
        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
        nodes = [node("big", cpus="8", zone="x"), node("small", cpus="2"), node("bare")]
        return sorted(c.node for c in reconcile(make_ds(pod={"affinity": affinity}), nodes, [], [], NOW).create)
    assert fits({"key": "zone", "operator": "NotIn", "values": ["x"]}) == ["bare", "small"]
    assert fits({"key": "zone", "operator": "DoesNotExist"}) == ["bare", "small"]
    assert fits({"key": "cpus", "operator": "Gt", "values": ["4"]}) == ["big"]
    assert fits({"key": "cpus", "operator": "Lt", "values": ["4"]}) == ["small"]
    assert fits(fields=({"key": "metadata.name", "operator": "In", "values": ["bare"]},)) == ["bare"]
    assert fits() == []  # an empty term matches no node


def test_malformed_records_never_raise() -> None:
    """A node with a bad taint still counts (its bad taint ignored); a pod or revision with
    missing or odd fields is read with defaults."""
    bad = node_view({"metadata": {"name": "n", "labels": {"a": "b"}},
                     "spec": {"taints": [{"key": "k", "effect": "Sometimes"}, {"key": "ok", "effect": "NoSchedule"}]}})
    assert bad.name == "n" and [t.key for t in bad.taints] == ["ok"]
    assert daemon_pod({"metadata": {"name": "p"}}, None).node is None
    assert revision_view({"metadata": {"name": "r"}, "revision": "seven"}).revision == 0


@settings(max_examples=100, deadline=None)
@given(count=st.integers(1, 6), surge=st.one_of(st.integers(1, 3), st.sampled_from(["34%", "100%"])),
       slow=st.booleans())
def test_a_surging_update_keeps_every_node_available_and_at_most_two_pods_per_node(
        count: int, surge: int | str, slow: bool) -> None:
    nodes = [node(f"n{i}") for i in range(count)]
    v2, pods, revisions = _rolled(nodes, type="RollingUpdate", rollingUpdate={"maxSurge": surge, "maxUnavailable": 0})
    old_hash = pods[0].hash
    for step in range(4 * count + 4):
        plan = reconcile(v2, nodes, pods, revisions, NOW)
        gone = {d.name for d in plan.delete}
        kept = [p for p in pods if p.name not in gone]
        assert all(any(p.node == n.name and p.available(0, NOW) for p in kept) for n in nodes)  # maxUnavailable 0
        fresh = run_pods(plan, ready=step % 2 == 1 or not slow)  # slow: new pods take a sync to get ready
        pods = kept + fresh
        for n in nodes:
            assert sum(1 for p in pods if p.node == n.name) <= 2
        pods = [replace(p, pod=replace(p.pod, ready_since=p.pod.ready_since or NOW - timedelta(minutes=1))) for p in pods]
    assert sorted(p.node for p in pods) == sorted(n.name for n in nodes)  # type: ignore[type-var]
    assert len({p.hash for p in pods}) == 1 and pods[0].hash != old_hash
