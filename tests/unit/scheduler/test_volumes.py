"""VolumeBinding: the PreFilter messages, the per-node conflict reasons, and the writes
(selected-node on a claim to provision, claimRef on a matched static volume) on the
chosen node, through `schedule` as the service calls it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.algorithm import Bound, Unschedulable, pre_filter_failure, schedule
from services.scheduler.volumes import (
    BIND_CONFLICT, NODE_CONFLICT, PV_NOT_EXIST, SELECTED_NODE, UNBOUND_IMMEDIATE, PodClaims, StorageState,
    pod_claims, volume_writes,
)
from services.scheduler.model import pod_request
from tests.unit.scheduler.builders import node, pod, snapshot

PREEMPTION = "preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling."


def claim(name: str, *, volume: str = "", phase: str = "Pending", cls: str | None = "local",
          selected: str | None = None, deleting: bool = False, modes: tuple[str, ...] = ("ReadWriteOnce",),
          size: str = "1Gi") -> dict[str, Any]:
    annotations = {SELECTED_NODE: selected} if selected else {}
    meta: dict[str, Any] = {"name": name, "namespace": "default", "uid": f"uid-{name}", "resourceVersion": "7",
                            "annotations": annotations}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec,
            "status": {"phase": phase}}


def volume(name: str, *, on: str | None = None, cls: str = "local", phase: str = "Available",
           claim_ref: str | None = None, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",)
           ) -> dict[str, Any]:
    spec: dict[str, Any] = {"storageClassName": cls, "capacity": {"storage": size}, "accessModes": list(modes),
                            "hostPath": {"path": f"/data/{name}"}}
    if on is not None:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [on]}]}]}}
    if claim_ref is not None:
        spec["claimRef"] = {"namespace": "default", "name": claim_ref, "uid": f"uid-{claim_ref}"}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "resourceVersion": "3"},
            "spec": spec, "status": {"phase": phase}}


def storage_class(name: str = "local", *, provisioner: str = "kafkube.io/local",
                  mode: str = "WaitForFirstConsumer") -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode}


def state(*records: dict[str, Any]) -> StorageState:
    found = StorageState()
    plural = {"PersistentVolumeClaim": "persistentvolumeclaims", "PersistentVolume": "persistentvolumes",
              "StorageClass": "storageclasses"}
    for record in records:
        meta = record["metadata"]
        key = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
        found.set(plural[record["kind"]], key, record)
    return found


def nodes(*names: str) -> Any:
    return snapshot(*(node(n, labels={"kubernetes.io/hostname": n}) for n in names))


def user(*claims: str) -> dict[str, Any]:
    return pod("app", volumes=[{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}}
                               for i, c in enumerate(claims)])


def decide(raw: dict[str, Any], storage: StorageState, snap: Any) -> tuple[Any, PodClaims | None]:
    """What the service's `_decide` does."""
    request = pod_request(raw)
    claims = pod_claims("default", request.claims, storage)
    if isinstance(claims, str):
        return pre_filter_failure(len(snap.rows()), claims), None
    return schedule(request, snap, lambda n: claims.reasons(n, storage)), claims


def test_the_pod_lists_its_claims() -> None:
    assert pod_request(user("data", "logs")).claims == ("data", "logs")
    assert pod_request(pod("plain")).claims == ()


def test_a_missing_claim_makes_the_pod_unschedulable_in_upstreams_words() -> None:
    decision, _ = decide(user("data"), state(storage_class()), nodes("a", "b"))
    assert decision == Unschedulable(
        f'0/2 nodes are available: persistentvolumeclaim "data" not found. {PREEMPTION.format(n=2)}',
        (('persistentvolumeclaim "data" not found', 2),))


def test_prefilter_refusals() -> None:
    cls = storage_class()
    assert pod_claims("default", ["c"], state(cls, claim("c", deleting=True))) == \
        'persistentvolumeclaim "c" is being deleted'
    assert pod_claims("default", ["c"], state(cls, claim("c", phase="Lost", volume="pv1"))) == \
        'persistentvolumeclaim "c" bound to non-existent persistentvolume "pv1"'
    immediate = storage_class("fast", mode="Immediate")
    assert pod_claims("default", ["c"], state(immediate, claim("c", cls="fast"))) == UNBOUND_IMMEDIATE
    assert pod_claims("default", ["c"], state(claim("c", cls=None))) == UNBOUND_IMMEDIATE  # no class: immediate
    assert pod_claims("default", ["c"], state(cls, claim("c", cls="gone"))) == UNBOUND_IMMEDIATE
    # prebound (volumeName set, not bound yet) counts as immediate, as upstream
    assert pod_claims("default", ["c"], state(cls, claim("c", volume="pv1"))) == UNBOUND_IMMEDIATE


def test_a_bound_claims_volume_affinity_picks_the_node() -> None:
    storage = state(storage_class(), claim("c", volume="pv1", phase="Bound"), volume("pv1", on="b", claim_ref="c"))
    decision, claims = decide(user("c"), storage, nodes("a", "b", "c"))
    assert isinstance(decision, Bound) and decision.node == "b"
    assert claims is not None and volume_writes(claims.find(node("b"), storage)[1], "b") == []


def test_no_node_admits_the_bound_volume() -> None:
    storage = state(storage_class(), claim("c", volume="pv1", phase="Bound"), volume("pv1", on="z", claim_ref="c"))
    decision, _ = decide(user("c"), storage, nodes("a", "b"))
    assert isinstance(decision, Unschedulable)
    assert decision.message == f"0/2 nodes are available: 2 {NODE_CONFLICT}. {PREEMPTION.format(n=2)}"


def test_a_bound_claim_whose_volume_is_gone() -> None:
    storage = state(storage_class(), claim("c", volume="pv1", phase="Bound"))
    decision, _ = decide(user("c"), storage, nodes("a"))
    assert isinstance(decision, Unschedulable) and f"1 {PV_NOT_EXIST}." in decision.message


def test_wait_for_first_consumer_provisions_on_the_chosen_node() -> None:
    storage = state(storage_class(), claim("c"))
    snap = nodes("a", "b")
    decision, claims = decide(user("c"), storage, snap)
    assert isinstance(decision, Bound) and claims is not None
    chosen = snap.node(decision.node)
    assert chosen is not None
    reasons, planned = claims.find(chosen, storage)
    assert reasons == [] and planned.static == () and [c.name for c in planned.provision] == ["c"]
    [write] = volume_writes(planned, decision.node)
    assert (write.kind, write.namespace, write.name, write.resource_version) == \
        ("PersistentVolumeClaim", "default", "c", "7")
    assert write.patch == {"metadata": {"annotations": {SELECTED_NODE: decision.node}}}
    # once the annotation shows, only that node fits and nothing is left to write: bind
    annotated = state(storage_class(), claim("c", selected=decision.node))
    again, claims = decide(user("c"), annotated, snap)
    assert isinstance(again, Bound) and again.node == decision.node and again.feasible == 1
    assert claims is not None and volume_writes(claims.find(chosen, annotated)[1], decision.node) == []


def test_a_claim_selected_for_another_node_keeps_the_second_pod_there() -> None:
    storage = state(storage_class(), claim("c", selected="b"))
    decision, _ = decide(user("c"), storage, nodes("a", "b", "c"))
    assert isinstance(decision, Bound) and decision.node == "b" and decision.feasible == 1
    away = state(storage_class(), claim("c", selected="gone"))
    refused, _ = decide(user("c"), away, nodes("a", "b"))
    assert isinstance(refused, Unschedulable) and f"2 {BIND_CONFLICT}." in refused.message


def test_a_static_available_volume_reachable_from_the_node_counts() -> None:
    no_provisioner = storage_class(provisioner="kubernetes.io/no-provisioner")
    unsynced = volume("right", on="b", size="2Gi")
    del unsynced["status"]  # the desired record: its phase is the controller's observed status
    storage = state(no_provisioner, claim("c", size="2Gi"), volume("small", on="a", size="1Gi"),
                    volume("big", on="b", size="5Gi"), unsynced)
    decision, claims = decide(user("c"), storage, nodes("a", "b"))
    assert isinstance(decision, Bound) and decision.node == "b" and claims is not None
    reasons, planned = claims.find(node("b", labels={"kubernetes.io/hostname": "b"}), storage)
    assert reasons == [] and [(c.name, v.name) for c, v in planned.static] == [("c", "right")]
    [write] = volume_writes(planned, "b")
    assert (write.kind, write.name, write.resource_version) == ("PersistentVolume", "right", "3")
    assert write.patch["spec"]["claimRef"]["name"] == "c" and write.patch["spec"]["claimRef"]["uid"] == "uid-c"
    # without a provisioner and without a match: the node cannot take it
    refused, _ = decide(user("c"), state(no_provisioner, claim("c")), nodes("a"))
    assert isinstance(refused, Unschedulable) and f"1 {BIND_CONFLICT}." in refused.message


def test_static_matching_skips_claimed_wrong_mode_and_other_class_volumes() -> None:
    no_provisioner = storage_class(provisioner="kubernetes.io/no-provisioner")
    storage = state(no_provisioner, claim("c", modes=("ReadWriteOncePod",)),
                    volume("taken", claim_ref="other", phase="Bound", modes=("ReadWriteOncePod",)),
                    volume("rwo", modes=("ReadWriteOnce",)),
                    volume("elsewhere", cls="other", modes=("ReadWriteOncePod",)))
    decision, _ = decide(user("c"), storage, nodes("a"))
    assert isinstance(decision, Unschedulable) and BIND_CONFLICT in decision.message


def test_other_filters_come_first() -> None:
    storage = state(storage_class(), claim("c", selected="a"))
    snap = snapshot(node("a", unschedulable=True, labels={"kubernetes.io/hostname": "a"}),
                    node("b", labels={"kubernetes.io/hostname": "b"}))
    decision, _ = decide(user("c"), storage, snap)
    assert isinstance(decision, Unschedulable)
    assert decision.message.startswith(f"0/2 nodes are available: 1 {BIND_CONFLICT}, 1 node(s) were unschedulable.")


RECORDS = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["persistentvolumeclaims", "persistentvolumes", "storageclasses"]),
       spec=RECORDS, status=RECORDS, meta=RECORDS)
def test_a_malformed_record_is_refused_with_a_validation_error_or_read(kind: str, spec: Any, status: Any,
                                                                      meta: Any) -> None:
    """The service logs `storage.unreadable` for ValidationError/ValueError; nothing else escapes."""
    from pydantic import ValidationError

    found = StorageState()
    raw = {"metadata": {"name": "x", **(meta if isinstance(meta, dict) else {})}, "spec": spec, "status": status,
           "provisioner": spec}
    try:
        found.set(kind, "default/x", raw)
    except (ValidationError, ValueError):
        return
    claims = pod_claims("default", ["x"], found)
    if isinstance(claims, PodClaims):
        claims.find(node("a"), found)
