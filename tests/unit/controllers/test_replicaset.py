"""The ReplicaSet / ReplicationController reconcile, pure: scaling, deletion order,
adoption and release, slow start and caps, expectations, deterministic names."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.controllers.machinery.naming import free_names, pod_name
from services.controllers.machinery.podview import OwnerRef, PodView, pod_view
from services.controllers.replicaset.reconcile import (AdoptPod, CreatePod, DeletePod, ReleasePod,
                                                       reconcile, slow_start)
from services.controllers.replicaset.workload import from_replicaset, from_replication_controller

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
UID = "rs-uid-1"


def rs(replicas: int = 3, *, min_ready: int = 0, deleting: bool = False) -> Any:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": UID, "generation": 2}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    return from_replicaset({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
        "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                 "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})


def pod(name: str, *, owned: bool = True, labels: dict[str, str] | None = None, node: str | None = "n1",
        phase: str = "Running", ready_s: float | None = 100, age_s: float = 100, deleting: bool = False,
        restarts: int = 0) -> PodView:
    owner = OwnerRef("apps/v1", "ReplicaSet", "web", UID) if owned else None
    refs = ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": UID, "controller": True},) if owned else ()
    return PodView(name=name, namespace="default", uid=f"uid-{name}",
                   labels=labels if labels is not None else {"app": "web", "tier": "fe"},
                   owner=owner, owner_refs=refs, resource_version="7",
                   created=NOW - timedelta(seconds=age_s), deleting=deleting, node=node, phase=phase,
                   ready_since=None if ready_s is None else NOW - timedelta(seconds=ready_s), restarts=restarts)


def test_scale_up_from_zero_creates_owned_pods_with_deterministic_names() -> None:
    plan = reconcile(rs(3), [], NOW)
    assert [c.name for c in plan.create] == free_names("web", UID, set(), 3)
    body = plan.create[0].body
    assert body["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert body["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                                    "uid": UID, "controller": True, "blockOwnerDeletion": True}]
    assert body["spec"]["containers"][0]["image"] == "nginx"
    assert reconcile(rs(3), [], NOW).create == plan.create  # stable across calls
    assert all(len(c.name) == len("web-") + 5 for c in plan.create)


def test_names_skip_taken_slots_including_terminating_pods() -> None:
    first = pod_name("web", UID, 0)
    plan = reconcile(rs(2), [pod(first, deleting=True)], NOW)
    assert [c.name for c in plan.create] == [pod_name("web", UID, 1), pod_name("web", UID, 2)]


def test_names_skip_names_taken_by_pods_the_sync_does_not_read() -> None:
    """The controller passes only its own pods and the orphans, and every name of the
    namespace as `taken`: a pod of another owner that holds a slot's name is skipped."""
    other = pod_name("web", UID, 0)
    plan = reconcile(rs(1), [], NOW, taken={other})
    assert [c.name for c in plan.create] == [pod_name("web", UID, 1)]


def test_free_names_never_repeat_a_name() -> None:
    names = free_names("web", UID, set(), 3000)
    assert len(set(names)) == 3000


def test_replayed_decision_after_partial_visibility_converges_to_the_same_names() -> None:
    """The crash case: slots 0..9 asked, only some visible; the next decision asks for
    the rest of slots 0..9 again (AlreadyExists for the in-flight ones), never slot 10+."""
    asked = free_names("web", UID, set(), 10)
    visible = [pod(n) for n in asked[::3]]
    again = reconcile(rs(10), visible, NOW)
    assert {c.name for c in again.create} | {p.name for p in visible} == set(asked)


def test_converged_state_gives_an_empty_plan() -> None:
    pods = [pod(n) for n in free_names("web", UID, set(), 3)]
    first = reconcile(rs(3), pods, NOW)
    assert first.status is not None and not first.create and not first.delete
    assert reconcile(rs(3), pods, NOW, current_status=first.status.status).empty


def test_status_counts() -> None:
    pods = [pod("a"), pod("b", ready_s=None), pod("c", labels={"app": "web"}), pod("d", deleting=True),
            pod("e", phase="Failed", ready_s=None)]
    status = reconcile(rs(3, min_ready=50), pods + [pod("f", ready_s=10)], NOW).status
    assert status is not None
    assert status.status == {"replicas": 4, "fullyLabeledReplicas": 3, "readyReplicas": 3,
                             "availableReplicas": 2, "observedGeneration": 2}
    assert reconcile(rs(4, min_ready=50), pods + [pod("f", ready_s=10)], NOW).requeue_after == 40


def test_scale_down_prefers_unscheduled_pending_notready_then_newest() -> None:
    pods = [pod("old-ready", age_s=500), pod("new-ready", age_s=10, ready_s=5),
            pod("notready", ready_s=None), pod("pending", phase="Pending", ready_s=None),
            pod("unscheduled", node=None, phase="Pending", ready_s=None)]
    order = [d.name for d in reconcile(rs(0), pods, NOW).delete]
    assert order == ["unscheduled", "pending", "notready", "new-ready", "old-ready"]
    assert [d.name for d in reconcile(rs(4), pods, NOW).delete] == ["unscheduled"]


def test_among_equals_newest_first_and_more_restarts_first() -> None:
    pods = [pod("a", age_s=300, ready_s=50), pod("b", age_s=100, ready_s=50), pod("c", age_s=200, ready_s=50, restarts=3)]
    assert [d.name for d in reconcile(rs(1), pods, NOW).delete] == ["c", "b"]


def test_terminating_and_finished_pods_do_not_count() -> None:
    pods = [pod("a"), pod("b", deleting=True), pod("c", phase="Succeeded")]
    plan = reconcile(rs(2), pods, NOW)
    assert len(plan.create) == 1 and not plan.delete


def test_adopts_matching_orphans_and_releases_owned_pods_that_stopped_matching() -> None:
    orphan = pod("orphan", owned=False)
    other = PodView(name="theirs", namespace="default", uid="u", labels={"app": "web"},
                    owner=OwnerRef("apps/v1", "ReplicaSet", "x", "other"))
    strayed = pod("strayed", labels={"app": "db"})
    plan = reconcile(rs(1), [orphan, other, strayed], NOW)
    assert plan.adopt == (AdoptPod("orphan", (rs(1).owner_reference(),), "7"),)
    assert plan.release == (ReleasePod("strayed", (), "7"),)
    assert not plan.create and not plan.delete  # the adopted orphan fills the one replica


def test_deleting_workload_neither_adopts_nor_creates() -> None:
    plan = reconcile(rs(3, deleting=True), [pod("orphan", owned=False)], NOW)
    assert not plan.adopt and not plan.create and plan.status is not None


def test_slow_start_batches_and_burst_cap() -> None:
    plan = reconcile(rs(1000), [], NOW)
    assert len(plan.create) == 500
    sizes = [len(b) for b in plan.create_batches]
    assert sizes == [1, 2, 4, 8, 16, 32, 64, 128, 245]
    assert [len(b) for b in slow_start(plan.create[:10])] == [1, 2, 4, 3]


def test_unmet_expectations_block_creates_and_deletes() -> None:
    assert not reconcile(rs(3), [], NOW, expectations_met=False).create
    pods = [pod(n) for n in "abcd"]
    assert not reconcile(rs(1), pods, NOW, expectations_met=False).delete


def test_replication_controller_goes_through_the_same_reconcile() -> None:
    rc = from_replication_controller({
        "apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "web", "namespace": "default", "uid": "rc-uid", "generation": 1},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    orphan = pod("orphan", owned=False, labels={"app": "web", "x": "y"})
    plan = reconcile(rc, [orphan, pod("nomatch", owned=False, labels={"app": "db"})], NOW)
    assert [a.name for a in plan.adopt] == ["orphan"]
    assert plan.adopt[0].owner_refs[0]["kind"] == "ReplicationController"
    assert [c.name for c in plan.create] == free_names("web", "rc-uid", {"orphan", "nomatch"}, 1)
    assert plan.create[0].body["metadata"]["ownerReferences"][0]["apiVersion"] == "v1"


def test_pod_view_joins_observed_status_of_the_same_uid_only() -> None:
    desired = {"metadata": {"name": "p", "namespace": "default", "uid": "u1",
                            "creationTimestamp": "2024-05-01T11:00:00Z"}, "spec": {"nodeName": "n1"}}
    observed = {"metadata": {"name": "p", "uid": "u1"}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2024-05-01T11:59:00Z"}]}}
    view = pod_view(desired, observed)
    assert view.ready and view.phase == "Running" and view.node == "n1"
    assert view.available(30, NOW) and not view.available(120, NOW)
    stale = {**observed, "metadata": {"name": "p", "uid": "u0"}}
    assert not pod_view(desired, stale).ready
