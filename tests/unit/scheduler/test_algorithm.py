from services.scheduler.algorithm import (Bound, Unschedulable, feasible_nodes_to_find, fit_error, schedule,
                                         start_index)
from services.scheduler.assume import AssumeCache, verdict_for
from tests.unit.scheduler.builders import node, pod, req, snapshot

CONTROL_PLANE = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]


def test_message_in_kube_scheduler_format() -> None:
    snap = snapshot(node("a", cpu="1"), node("b", taints=CONTROL_PLANE), node("c", taints=CONTROL_PLANE))
    decision = schedule(req(cpu="1500m"), snap)
    assert decision == Unschedulable(
        "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: "
        "3 Preemption is not helpful for scheduling.",
        (("Insufficient cpu", 1), ("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", 2)))


def test_reasons_are_sorted_as_text_and_every_shortage_counts() -> None:
    snap = snapshot(node("a", cpu="1", memory="1Gi"), node("b", ready="False"),
                    node("c", labels={"x": "y"}, cpu="1"))
    decision = schedule(req(cpu="2", memory="2Gi", nodeSelector={"x": "y"}), snap)
    assert isinstance(decision, Unschedulable)
    assert decision.message.startswith(
        "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. ")
    assert fit_error(12, {"b": 10, "a": 2}).startswith("0/12 nodes are available: 10 b, 2 a.")  # type: ignore[arg-type]


def test_no_nodes() -> None:
    assert schedule(req(), snapshot()) == Unschedulable("no nodes available to schedule pods")


def test_picks_the_emptiest_feasible_node_and_breaks_ties_by_name() -> None:
    snap = snapshot(node("a"), node("b"), node("c", cpu="1"))
    first = schedule(req(cpu="100m"), snap)
    assert isinstance(first, Bound) and (first.node, first.feasible) == ("a", 3)
    snap.place("default/x", "a", req("x", cpu="1"))
    assert isinstance(d := schedule(req(cpu="100m"), snap), Bound) and d.node == "b"


def test_spreads_pods_of_one_owner() -> None:
    snap = snapshot(node("a"), node("b"), node("c"))
    placed = []
    for i in range(6):
        decision = schedule(req(f"p{i}", owner="rs"), snap)
        assert isinstance(decision, Bound)
        snap.place(f"default/p{i}", decision.node, req(f"p{i}", owner="rs"))
        placed.append(decision.node)
    assert sorted(placed) == ["a", "a", "b", "b", "c", "c"]


def test_snapshot_moves_and_removes_pods() -> None:
    snap = snapshot(node("a"), node("b"))
    p = req("x", cpu="1", ports=[{"containerPort": 1, "hostPort": 80}])
    snap.place("default/x", "a", p)
    snap.place("default/x", "b", p)
    assert snap.usage("a").requested.cpu == 0 and not snap.usage("a").ports
    assert snap.usage("b").requested.cpu == 1000 and snap.usage("b").pods == 1
    snap.place("default/x", None)
    assert snap.usage("b").pods == 0 and snap.placement("default/x") is None


def test_assumption_verdicts() -> None:
    cache = AssumeCache(ttl_s=10)
    cache.assume("default/p", "a", "1", now=0)
    assert cache.settle("default/p", pod()) == "pending"
    assert cache.settle("default/p", pod(node="a")) == "confirmed" and cache.get("default/p") is None
    cache.assume("default/p", "a", "1", now=0)
    assert cache.settle("default/p", pod(node="b")) == "lost"
    changed = pod()
    changed["metadata"]["resourceVersion"] = "7"
    cache.assume("default/p", "a", "1", now=0)
    assert cache.settle("default/p", changed) == "rejected"
    cache.assume("default/p", "a", "1", now=0)
    assert cache.settle("default/p", None) == "rejected"  # deleted
    cache.assume("default/p", "a", "1", now=0)
    assert verdict_for(cache.get("default/p"), pod()) == "pending"  # type: ignore[arg-type]
    assert cache.expired(now=5) == [] and cache.expired(now=11) == ["default/p"]



def test_feasible_nodes_to_find_is_kube_schedulers_adaptive_percentage() -> None:
    assert [feasible_nodes_to_find(n) for n in (1, 99, 100, 200, 1000, 5000, 6000, 20000)] == \
        [1, 99, 100, 100, 420, 500, 300, 1000]


def test_large_cluster_stops_after_enough_feasible_nodes_and_replicas_agree() -> None:
    names = [f"n{i:03d}" for i in range(300)]
    snap, other = snapshot(*(node(n) for n in names)), snapshot(*(node(n) for n in reversed(names)))
    wanted = feasible_nodes_to_find(300)  # 144
    picks = set()
    for i in range(20):
        pod = req(f"p{i}", cpu="100m")
        decision = schedule(pod, snap)
        assert isinstance(decision, Bound) and decision.feasible == wanted
        assert decision == schedule(pod, other)  # same view, same decision (no per-process state)
        assert schedule(pod, snap) == decision  # and again: no rotating counter
        picks.add(decision.node)
    assert len(picks) > 1  # the start index derived from the pod key spreads pods


def test_large_cluster_finds_the_one_fitting_node_and_counts_every_node_when_none_fits() -> None:
    nodes = [node(f"n{i:03d}", cpu="1") for i in range(250)]
    nodes[start_index("default/big", 250) - 1] = node(f"n{start_index('default/big', 250) - 1:03d}", cpu="4")
    snap = snapshot(*nodes)
    decision = schedule(req("big", cpu="2"), snap)
    assert isinstance(decision, Bound) and decision.feasible == 1
    assert decision.node == f"n{start_index('default/big', 250) - 1:03d}"  # the last one walked
    nothing = schedule(req("huge", cpu="8"), snap)
    assert isinstance(nothing, Unschedulable)
    assert nothing.message == ("0/250 nodes are available: 250 Insufficient cpu. preemption: 0/250 nodes "
                               "are available: 250 Preemption is not helpful for scheduling.")


def test_sequential_scheduling_on_a_large_cluster_never_overcommits() -> None:
    snap = snapshot(*(node(f"n{i:03d}", cpu="1", pods="3") for i in range(200)))
    bound = 0
    for i in range(700):
        pod = req(f"p{i}", cpu="300m", owner="rs")
        decision = schedule(pod, snap)
        if isinstance(decision, Bound):
            snap.place(pod.key, decision.node, pod)
            bound += 1
    assert bound == 600  # 3 per node (cpu and pod count), every node filled before giving up
    assert all(snap.usage(f"n{i:03d}").pods == 3 for i in range(200))
