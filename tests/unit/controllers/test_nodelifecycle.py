"""The node lifecycle controller's pure decisions: staleness → Ready=Unknown and
taints, recovery → untaint, eviction timing per toleration."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, strategies as st

from schemas.core import Node, Taint
from schemas.pod import Pod
from schemas.records import Observed, ObservedMeta
from services.controllers.nodelifecycle.reconcile import (
    NOT_READY, UNREACHABLE, WRITER, Config, Emit, Evict, MarkUnknown, NodeFacts, SetTaints,
    pods_matter, reconcile, toleration_seconds,
)

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
CONFIG = Config(grace_s=40, default_toleration_s=300)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def node(taints: list[dict[str, Any]] | None = None) -> Node:
    return Node.model_validate({"apiVersion": "v1", "kind": "Node",
                                "metadata": {"name": "n1", "uid": "u-n1", "resourceVersion": "7",
                                             "creationTimestamp": "2025-01-01T00:00:00Z"},
                                "spec": {"taints": taints} if taints else {}})


def kubelet(seen: float, ready: str = "True") -> Observed:
    return Observed(apiVersion="v1", kind="Node", writer="kubelet", observedAt=at(seen),
                    metadata=ObservedMeta(name="n1"),
                    status={"conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                            "lastHeartbeatTime": at(seen).strftime("%Y-%m-%dT%H:%M:%SZ")},
                                           {"type": "MemoryPressure", "status": "False"}]})


def unreachable_taints(added: float) -> list[dict[str, Any]]:
    stamp = at(added).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [{"key": UNREACHABLE, "effect": "NoSchedule", "timeAdded": stamp},
            {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": stamp}]


def pod(name: str, tolerations: list[dict[str, Any]] | None = None, **meta: Any) -> Pod:
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}",
                                            "resourceVersion": "3", **meta},
                               "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}],
                                        "tolerations": tolerations}})


def of(plan: Any, kind: type) -> list[Any]:
    return [a for a in plan.actions if isinstance(a, kind)]


def taken_over(seen: float) -> Observed:
    """The record after the controller's handoff write."""
    plan = reconcile(NodeFacts(node(), kubelet(seen)), at(seen + 100), CONFIG)
    status = of(plan, MarkUnknown)[0].status
    return Observed(apiVersion="v1", kind="Node", writer=WRITER, metadata=ObservedMeta(name="n1"),
                    status=status, observedAt=at(seen + 100))


# -- heartbeats ------------------------------------------------------------------------------
def test_fresh_heartbeat_plans_nothing_and_wakes_at_the_grace_deadline() -> None:
    plan = reconcile(NodeFacts(node(), kubelet(0)), at(10), CONFIG)
    assert plan.actions == ()
    assert plan.requeue_after is not None and 30 <= plan.requeue_after <= 30.1


def test_stale_heartbeat_marks_unknown_taints_and_reports() -> None:
    plan = reconcile(NodeFacts(node(), kubelet(0)), at(41), CONFIG)
    [mark] = of(plan, MarkUnknown)
    ready = next(c for c in mark.status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastHeartbeatTime"] == "2025-01-01T00:00:00Z"  # kept: the staleness clock
    assert all(c["status"] == "Unknown" for c in mark.status["conditions"])
    [taints] = of(plan, SetTaints)
    assert taints.resource_version == "7"
    assert {(t.key, t.effect) for t in taints.taints} == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert all(t.time_added == at(41) for t in taints.taints)
    assert [e.reason for e in of(plan, Emit)] == ["NodeNotReady"]


def test_after_the_handoff_the_controller_does_not_write_again() -> None:
    plan = reconcile(NodeFacts(node(unreachable_taints(41)), taken_over(0)), at(60), CONFIG)
    assert of(plan, MarkUnknown) == [] and of(plan, SetTaints) == []
    assert plan.ready == "Unknown"


def test_never_posted_node_goes_unknown_after_grace_from_creation() -> None:
    assert reconcile(NodeFacts(node(), None), at(30), CONFIG).actions == ()
    plan = reconcile(NodeFacts(node(), None), at(50), CONFIG)
    [mark] = of(plan, MarkUnknown)
    assert mark.status["conditions"][0]["reason"] == "NodeStatusNeverUpdated"


def test_recovery_removes_only_the_controllers_taints() -> None:
    user = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    plan = reconcile(NodeFacts(node([user, *unreachable_taints(41)]), kubelet(100)), at(101), CONFIG)
    [taints] = of(plan, SetTaints)
    assert [t.key for t in taints.taints] == ["dedicated"]
    assert set(taints.removed) == {f"{UNREACHABLE}:NoSchedule", f"{UNREACHABLE}:NoExecute"}
    assert of(plan, MarkUnknown) == [] and of(plan, Evict) == []


def test_kubelet_reporting_not_ready_gets_the_not_ready_taints_and_graceful_eviction() -> None:
    plan = reconcile(NodeFacts(node(), kubelet(100, ready="False")), at(101), CONFIG)
    [taints] = of(plan, SetTaints)
    assert {t.key for t in taints.taints} == {NOT_READY}
    stamp = "2025-01-01T00:00:00Z"
    tainted = node([{"key": NOT_READY, "effect": "NoExecute", "timeAdded": stamp}])
    plan = reconcile(NodeFacts(tainted, kubelet(400, ready="False"), [pod("a")]), at(401), CONFIG)
    [evict] = of(plan, Evict)
    assert not evict.force


def test_taints_stay_unchanged_once_set() -> None:
    plan = reconcile(NodeFacts(node(unreachable_taints(41)), taken_over(0)), at(50), CONFIG)
    assert of(plan, SetTaints) == []


# -- evictions -------------------------------------------------------------------------------
def test_default_toleration_evicts_after_the_default_seconds_forced() -> None:
    facts = NodeFacts(node(unreachable_taints(41)), taken_over(0), [pod("a")])
    early = reconcile(facts, at(41 + 299), CONFIG)
    assert of(early, Evict) == []
    assert early.requeue_after is not None and 1 <= early.requeue_after <= 1.1
    late = reconcile(facts, at(41 + 300), CONFIG)
    [evict] = of(late, Evict)
    assert (evict.namespace, evict.name, evict.force, evict.resource_version) == ("default", "a", True, "3")
    [event] = [e for e in of(late, Emit) if e.reason == "TaintManagerEviction"]
    assert event.message == "Marking for deletion Pod default/a"
    assert event.involved["kind"] == "Pod"


def test_explicit_toleration_seconds_and_forever() -> None:
    short = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]
    forever = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]
    everything = [{"operator": "Exists"}]
    facts = NodeFacts(node(unreachable_taints(41)), taken_over(0),
                      [pod("short", short), pod("forever", forever), pod("all", everything), pod("dflt")])
    assert [e.name for e in of(reconcile(facts, at(46), CONFIG), Evict)] == ["short"]
    assert [e.name for e in of(reconcile(facts, at(10_000), CONFIG), Evict)] == ["dflt", "short"]


def test_no_eviction_without_a_standing_noexecute_taint() -> None:
    # the taint is being added in this very plan: its clock starts when it lands
    plan = reconcile(NodeFacts(node(), kubelet(0), [pod("a", [])]), at(1000), CONFIG)
    assert of(plan, Evict) == []
    # heartbeat back: the taint is leaving, nothing is evicted even past the deadline
    plan = reconcile(NodeFacts(node(unreachable_taints(0)), kubelet(999), [pod("a")]), at(1000), CONFIG)
    assert of(plan, Evict) == []


def test_untolerated_user_noexecute_taint_evicts_at_once_gracefully() -> None:
    taint = {"key": "maintenance", "effect": "NoExecute", "timeAdded": "2025-01-01T00:00:00Z"}
    plan = reconcile(NodeFacts(node([taint]), kubelet(100), [pod("a")]), at(101), CONFIG)
    [evict] = of(plan, Evict)
    assert not evict.force


def test_terminating_pod_on_unreachable_node_is_forced_after_its_grace() -> None:
    forever = [{"operator": "Exists"}]
    gone = pod("a", forever, deletionTimestamp=at(50).strftime("%Y-%m-%dT%H:%M:%SZ"),
               deletionGracePeriodSeconds=30)
    facts = NodeFacts(node(unreachable_taints(41)), taken_over(0), [gone])
    assert of(reconcile(facts, at(79), CONFIG), Evict) == []
    assert of(reconcile(facts, at(80), CONFIG), Evict)[0].force
    # a reachable node's kubelet finishes the deletion itself
    alive = NodeFacts(node(), kubelet(100), [gone])
    assert of(reconcile(alive, at(101), CONFIG), Evict) == []


def test_evictions_are_capped_per_sync() -> None:
    pods = [pod(f"p{i:02d}") for i in range(7)]
    facts = NodeFacts(node(unreachable_taints(0)), taken_over(0), pods)
    plan = reconcile(facts, at(10_000), Config(grace_s=40, default_toleration_s=300, max_evictions=3))
    assert [e.name for e in of(plan, Evict)] == ["p00", "p01", "p02"]
    assert plan.requeue_after is not None and plan.requeue_after < 1


@given(seconds=st.one_of(st.none(), st.integers(0, 10_000)), after=st.integers(0, 20_000))
def test_a_pod_is_evicted_exactly_when_its_toleration_ran_out(seconds: int | None, after: int) -> None:
    toleration: dict[str, Any] = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        toleration["tolerationSeconds"] = seconds
    facts = NodeFacts(node(unreachable_taints(41)), taken_over(0), [pod("a", [toleration])])
    evicted = bool(of(reconcile(facts, at(41 + after), CONFIG), Evict))
    assert evicted == (seconds is not None and after >= seconds)


def test_toleration_matching() -> None:
    taint = Taint(key=UNREACHABLE, effect="NoExecute")
    from schemas.pod import Toleration
    equal = Toleration(key=UNREACHABLE, value="", effect="NoExecute", toleration_seconds=9)
    other = Toleration(key="x", operator="Exists", toleration_seconds=1)
    noeffect = Toleration(key=UNREACHABLE, operator="Exists", effect="NoSchedule", toleration_seconds=1)
    assert toleration_seconds([equal, other, noeffect], taint, 300) == 9
    assert toleration_seconds([other], taint, 300) == 300
    assert toleration_seconds([], Taint(key="k", effect="NoExecute"), 300) == 0


# -- when the service reads a node's pods ----------------------------------------------------
def test_pods_matter_only_to_a_node_that_can_evict() -> None:
    healthy = NodeFacts(node(), kubelet(0))
    assert not pods_matter(healthy, at(10), CONFIG)
    assert pods_matter(NodeFacts(node(unreachable_taints(0)), kubelet(0)), at(10), CONFIG)
    assert pods_matter(healthy, at(41), CONFIG)  # stale: the controller is about to mark it Unknown
    assert pods_matter(NodeFacts(node(), taken_over(0)), at(110), CONFIG)
    no_schedule = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    assert not pods_matter(NodeFacts(node(no_schedule), kubelet(0)), at(10), CONFIG)


@given(st.floats(min_value=0, max_value=200), st.booleans(), st.booleans())
def test_a_node_whose_pods_do_not_matter_plans_the_same_without_them(now: float, tainted: bool,
                                                                    deleting: bool) -> None:
    facts = NodeFacts(node(unreachable_taints(0) if tainted else None), kubelet(0))
    extra: dict[str, Any] = {"deletionTimestamp": "2025-01-01T00:00:05Z"} if deleting else {}
    with_pods = NodeFacts(facts.node, facts.observed, (pod("a", **extra), pod("b")))
    if not pods_matter(facts, at(now), CONFIG):
        assert reconcile(facts, at(now), CONFIG) == reconcile(with_pods, at(now), CONFIG)
