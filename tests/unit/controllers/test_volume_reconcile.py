"""The PersistentVolume controller's pure reconciles: binding, provisioning, reclaim,
protection, expansion; and property tests over a simulated API that refuses stale
patches, as the real one does (never two claims on one volume; a bound claim's volume
fits it; Retain never deletes)."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings, strategies as st

from services.api.merge_patch import merge_patch
from services.controllers.volume.actions import Action, CreateVolume, Delete, Emit, Patch, SetStatus
from services.controllers.volume.claims import find_match, reconcile_claim
from services.controllers.volume.volumes import reconcile_volume
from services.controllers.volume.world import World, storage

NOW = datetime(2026, 1, 2, tzinfo=timezone.utc)
GI = 1024 ** 3


def claim(name: str = "data", *, size: str = "1Gi", cls: str | None = "", modes: tuple[str, ...] = ("ReadWriteOnce",),
          volume: str | None = None, uid: str | None = None, annotations: dict[str, str] | None = None,
          selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                            "volumeMode": "Filesystem"}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default", "uid": uid or f"uid-{name}", "resourceVersion": "1",
                         "finalizers": ["kubernetes.io/pvc-protection"], "annotations": dict(annotations or {})},
            "spec": spec}


def volume(name: str, *, size: str = "1Gi", cls: str = "", modes: tuple[str, ...] = ("ReadWriteOnce",),
           policy: str = "Retain", ref: dict[str, Any] | None = None, labels: dict[str, str] | None = None,
           provisioned: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "resourceVersion": "1",
                            "finalizers": ["kubernetes.io/pv-protection"], "labels": dict(labels or {})}
    if provisioned:
        meta["annotations"] = {"pv.kubernetes.io/provisioned-by": "kafkube.io/local"}
    spec: dict[str, Any] = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
                            "persistentVolumeReclaimPolicy": policy, "volumeMode": "Filesystem",
                            "hostPath": {"path": f"/tmp/{name}"}}
    if ref is not None:
        spec["claimRef"] = ref
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec}


def ref_to(c: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PersistentVolumeClaim", "namespace": "default", "name": c["metadata"]["name"],
            "uid": c["metadata"]["uid"]}


LOCAL = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local-path"},
         "provisioner": "kafkube.io/local", "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete",
         "allowVolumeExpansion": True}
IMMEDIATE_LOCAL = {**LOCAL, "metadata": {"name": "eager"}, "volumeBindingMode": "Immediate"}


class Cluster:
    """A simulated API and status store: a patch against a stale resourceVersion is refused."""

    def __init__(self, claims: list[dict[str, Any]], volumes: list[dict[str, Any]],
                 classes: tuple[dict[str, Any], ...] = (LOCAL, IMMEDIATE_LOCAL), in_use: frozenset[str] = frozenset()):
        self.claims = {f"default/{c['metadata']['name']}": c for c in claims}
        self.volumes = {v["metadata"]["name"]: v for v in volumes}
        self.classes = {c["metadata"]["name"]: c for c in classes}
        self.claim_status: dict[str, dict[str, Any]] = {}
        self.volume_status: dict[str, dict[str, Any]] = {}
        self.in_use = in_use
        self.deleted: list[str] = []
        self.rv = 100

    def world(self) -> World:
        return World(claims=copy.deepcopy(self.claims), volumes=copy.deepcopy(self.volumes), classes=self.classes,
                     claim_status=copy.deepcopy(self.claim_status), volume_status=copy.deepcopy(self.volume_status),
                     claims_in_use=self.in_use, kubelet_root="/var/lib/kafkube", now=NOW)

    def _store(self, target_kind: str) -> dict[str, dict[str, Any]]:
        return self.claims if target_kind == "PersistentVolumeClaim" else self.volumes

    def _write(self, store: dict[str, dict[str, Any]], key: str, obj: dict[str, Any]) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            store.pop(key, None)
            self.deleted.append(key)
        else:
            store[key] = obj

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Patch):
                store, key = self._store(action.target.kind), action.target.key
                current = store.get(key)
                if current is None or current["metadata"]["resourceVersion"] != action.target.resource_version:
                    continue  # Conflict
                self._write(store, key, merge_patch(current, action.body))
            elif isinstance(action, CreateVolume):
                if action.name not in self.volumes:
                    body = copy.deepcopy(action.body)
                    body["metadata"].update(uid=f"uid-{action.name}", finalizers=["kubernetes.io/pv-protection"])
                    self._write(self.volumes, action.name, body)
            elif isinstance(action, Delete):
                store, key = self._store(action.target.kind), action.target.key
                if key in store:
                    self.mark_deleted(store, key)
            elif isinstance(action, SetStatus):
                statuses = self.claim_status if action.plural == "persistentvolumeclaims" else self.volume_status
                statuses[action.target.key] = action.status

    def mark_deleted(self, store: dict[str, dict[str, Any]], key: str) -> None:
        obj = copy.deepcopy(store[key])
        obj["metadata"]["deletionTimestamp"] = "2026-01-02T00:00:00Z"
        self._write(store, key, obj)

    def keys(self) -> list[str]:
        return [f"claim:{k}" for k in sorted(self.claims)] + [f"volume:{k}" for k in sorted(self.volumes)]

    def plan(self, key: str) -> list[Action]:
        kind, name = key.split(":", 1)
        return reconcile_claim(name, self.world()) if kind == "claim" else reconcile_volume(name, self.world())

    def settle(self, rounds: int = 12) -> None:
        for _ in range(rounds):
            for key in self.keys():
                self.apply(self.plan(key))


def kinds(actions: list[Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


# -- binding -------------------------------------------------------------------------------------
def test_the_smallest_fitting_volume_is_chosen() -> None:
    c = claim(size="2Gi")
    world = Cluster([c], [volume("big", size="10Gi"), volume("small", size="1Gi"), volume("fit", size="3Gi")]).world()
    match = find_match(c, world.volumes.values(), world)
    assert match is not None and match["metadata"]["name"] == "fit"


def test_class_modes_selector_and_mode_must_match() -> None:
    c = claim(cls="gold", modes=("ReadWriteMany",), selector={"tier": "db"})
    vols = [volume("other-class", size="5Gi", cls="", modes=("ReadWriteMany",), labels={"tier": "db"}),
            volume("rwo-only", cls="gold", labels={"tier": "db"}),
            volume("unlabelled", cls="gold", modes=("ReadWriteMany",)),
            volume("ok", cls="gold", modes=("ReadWriteOnce", "ReadWriteMany"), labels={"tier": "db"})]
    world = Cluster([c], vols).world()
    assert find_match(c, world.volumes.values(), world)["metadata"]["name"] == "ok"  # type: ignore[index]


def test_static_binding_is_two_writes_then_bound_with_upstream_annotations() -> None:
    cluster = Cluster([claim()], [volume("pv1")])
    first = cluster.plan("claim:default/data")
    assert kinds(first) == ["Patch", "SetStatus"] and first[0].target.kind == "PersistentVolume"  # type: ignore[union-attr]
    cluster.settle()
    c, v = cluster.claims["default/data"], cluster.volumes["pv1"]
    assert c["spec"]["volumeName"] == "pv1" and v["spec"]["claimRef"]["uid"] == "uid-data"
    assert c["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes",
                                            "pv.kubernetes.io/bound-by-controller": "yes"}
    assert cluster.claim_status["default/data"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                                   "capacity": {"storage": "1Gi"}}
    assert cluster.volume_status["pv1"]["phase"] == "Bound"


def test_a_claim_naming_a_free_volume_binds_it() -> None:
    cluster = Cluster([claim(volume="pv2")], [volume("pv1"), volume("pv2", size="5Gi")])
    cluster.settle()
    assert cluster.volumes["pv2"]["spec"]["claimRef"]["uid"] == "uid-data" and "claimRef" not in cluster.volumes["pv1"]["spec"]
    assert cluster.claims["default/data"]["metadata"]["annotations"] == {"pv.kubernetes.io/bind-completed": "yes"}
    assert cluster.claim_status["default/data"]["phase"] == "Bound"


def test_a_claim_naming_a_volume_prebound_to_another_claim_waits() -> None:
    cluster = Cluster([claim(volume="pv2")], [volume("pv1"), volume("pv2", ref={"namespace": "default", "name": "late"})])
    cluster.settle()
    assert cluster.volumes["pv2"]["spec"]["claimRef"]["name"] == "late"  # not taken: prebound to another claim
    assert cluster.claim_status["default/data"]["phase"] == "Pending"
    assert cluster.volume_status["pv2"]["phase"] == "Available"


def test_no_class_and_no_volume_is_failed_binding() -> None:
    actions = Cluster([claim()], []).plan("claim:default/data")
    assert [a for a in actions if isinstance(a, Emit)] == [
        Emit(actions[0].involved, "FailedBinding",  # type: ignore[union-attr]
             "no persistent volumes available for this claim and no storage class is set")]


# -- retroactive default StorageClass ---------------------------------------------------------------
DEFAULT_LOCAL = {**LOCAL, "metadata": {"name": "local-path",
                                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}


def test_a_claim_without_a_class_gets_the_default_once_one_exists_then_is_provisioned() -> None:
    cluster = Cluster([claim(cls=None)], [], classes=(LOCAL, IMMEDIATE_LOCAL))  # no default class
    waiting = cluster.plan("claim:default/data")
    assert not [a for a in waiting if isinstance(a, Patch)]
    assert [a.reason for a in waiting if isinstance(a, Emit)] == ["FailedBinding"]
    cluster.classes["local-path"] = DEFAULT_LOCAL  # a default class appears
    assigned = cluster.plan("claim:default/data")
    assert [(a.target.kind, a.target.key, a.target.resource_version, a.body) for a in assigned if isinstance(a, Patch)] == [
        ("PersistentVolumeClaim", "default/data", "1", {"spec": {"storageClassName": "local-path"}})]
    cluster.apply(assigned)
    assert cluster.claims["default/data"]["spec"]["storageClassName"] == "local-path"
    assert [a.reason for a in cluster.plan("claim:default/data") if isinstance(a, Emit)] == ["WaitForFirstConsumer"]
    cluster.claims["default/data"]["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = "node-a"
    cluster.settle()
    assert cluster.claims["default/data"]["spec"]["volumeName"] == "pvc-uid-data"
    assert cluster.claim_status["default/data"]["phase"] == "Bound"


def test_no_class_chosen_empty_class_and_bound_claims_never_get_the_default() -> None:
    """Only a nil class is assigned: "" asks for no class; a bound claim keeps its volume's
    class; a nil claim that fits a classless volume binds it first, as upstream's syncUnboundClaim."""
    cluster = Cluster([claim("empty", cls="", size="5Gi"), claim("bound", cls=None, volume="pv1"),
                       claim("fits", cls=None, size="2Gi")],
                      [volume("pv1"), volume("pv2", size="2Gi")], classes=(DEFAULT_LOCAL, IMMEDIATE_LOCAL))
    cluster.settle()
    claims = cluster.claims
    assert claims["default/empty"]["spec"]["storageClassName"] == "" and "volumeName" not in claims["default/empty"]["spec"]
    assert "storageClassName" not in claims["default/bound"]["spec"] and claims["default/bound"]["spec"]["volumeName"] == "pv1"
    assert "storageClassName" not in claims["default/fits"]["spec"] and claims["default/fits"]["spec"]["volumeName"] == "pv2"
    assert cluster.claim_status["default/bound"]["phase"] == cluster.claim_status["default/fits"]["phase"] == "Bound"
    assert [a.reason for a in cluster.plan("claim:default/empty") if isinstance(a, Emit)] == ["FailedBinding"]


# -- provisioning ---------------------------------------------------------------------------------
def test_wait_for_first_consumer_waits_for_the_selected_node_then_provisions_once() -> None:
    cluster = Cluster([claim(cls="local-path")], [volume("static", cls="local-path")])
    waiting = cluster.plan("claim:default/data")
    assert [(a.reason, a.message) for a in waiting if isinstance(a, Emit)] == [
        ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")]
    cluster.claims["default/data"]["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] = "node-a"
    actions = cluster.plan("claim:default/data")
    created = [a for a in actions if isinstance(a, CreateVolume)]
    assert len(created) == 1 and created[0].name == "pvc-uid-data"
    spec = created[0].body["spec"]
    assert spec["local"] == {"path": "/var/lib/kafkube/node-a/volumes/pvc-uid-data"}
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-a"]}]
    assert spec["capacity"] == {"storage": "1Gi"} and spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["claimRef"]["uid"] == "uid-data"
    assert created[0].body["metadata"]["annotations"] == {"pv.kubernetes.io/provisioned-by": "kafkube.io/local"}
    assert ("ProvisioningSucceeded", "Successfully provisioned volume pvc-uid-data using kafkube.io/local") in [
        (a.reason, a.message) for a in actions if isinstance(a, Emit)]
    cluster.settle()
    assert cluster.claims["default/data"]["spec"]["volumeName"] == "pvc-uid-data"
    assert not any(isinstance(a, CreateVolume) for a in cluster.plan("claim:default/data"))
    assert "static" in cluster.volumes and "claimRef" not in cluster.volumes["static"]["spec"]


def test_an_immediate_local_class_refuses_with_a_warning() -> None:
    actions = Cluster([claim(cls="eager")], []).plan("claim:default/data")
    events = [a for a in actions if isinstance(a, Emit)]
    assert [(e.reason, e.type) for e in events] == [("ProvisioningFailed", "Warning")]
    assert "WaitForFirstConsumer" in events[0].message
    assert not any(isinstance(a, CreateVolume) for a in actions)


def test_another_provisioner_is_external_provisioning() -> None:
    other = {**IMMEDIATE_LOCAL, "metadata": {"name": "csi"}, "provisioner": "ebs.csi.aws.com"}
    actions = Cluster([claim(cls="csi")], [], classes=(other,)).plan("claim:default/data")
    assert [a.reason for a in actions if isinstance(a, Emit)] == ["ExternalProvisioning"]


# -- reclaim and protection -----------------------------------------------------------------------
def bound_cluster(policy: str, *, provisioned: bool = False) -> Cluster:
    c = claim(volume="pv1", annotations={"pv.kubernetes.io/bind-completed": "yes"})
    cluster = Cluster([c], [volume("pv1", policy=policy, ref=ref_to(c), provisioned=provisioned)])
    cluster.settle()
    assert cluster.claim_status["default/data"]["phase"] == "Bound"
    return cluster


def delete_claim(cluster: Cluster) -> None:
    cluster.mark_deleted(cluster.claims, "default/data")
    cluster.settle()


def test_delete_policy_deletes_a_provisioned_volume_once_its_claim_is_gone() -> None:
    cluster = bound_cluster("Delete", provisioned=True)
    delete_claim(cluster)
    assert cluster.deleted == ["default/data", "pv1"] and not cluster.volumes


def test_retain_keeps_the_volume_released() -> None:
    cluster = bound_cluster("Retain")
    delete_claim(cluster)
    assert "pv1" in cluster.volumes and cluster.volume_status["pv1"]["phase"] == "Released"


def test_delete_policy_on_a_static_volume_fails_it() -> None:
    cluster = bound_cluster("Delete")
    delete_claim(cluster)
    assert cluster.volume_status["pv1"] == {
        "phase": "Failed", "message": 'error getting deleter volume plugin for volume "pv1": no deletable volume plugin matched',
        "lastPhaseTransitionTime": "2026-01-02T00:00:00Z"}


def test_a_claim_in_use_keeps_its_finalizer_until_no_pod_uses_it() -> None:
    cluster = bound_cluster("Retain")
    cluster.in_use = frozenset({"default/data"})
    delete_claim(cluster)
    assert cluster.claims["default/data"]["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert cluster.volume_status["pv1"]["phase"] == "Bound"
    cluster.in_use = frozenset()
    cluster.settle()
    assert "default/data" not in cluster.claims and cluster.volume_status["pv1"]["phase"] == "Released"


def test_a_bound_volume_keeps_pv_protection_until_released() -> None:
    cluster = bound_cluster("Retain")
    cluster.mark_deleted(cluster.volumes, "pv1")
    cluster.settle()
    assert cluster.volumes["pv1"]["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    delete_claim(cluster)
    assert "pv1" not in cluster.volumes


# -- expansion ------------------------------------------------------------------------------------
def test_a_grown_request_grows_the_volume_and_then_the_claims_capacity() -> None:
    c = claim(cls="local-path", volume="pv1", annotations={"pv.kubernetes.io/bind-completed": "yes"})
    cluster = Cluster([c], [volume("pv1", cls="local-path", ref=ref_to(c), provisioned=True)])
    cluster.settle()
    cluster.claims["default/data"]["spec"]["resources"]["requests"]["storage"] = "3Gi"
    cluster.settle()
    assert cluster.volumes["pv1"]["spec"]["capacity"] == {"storage": "3Gi"}
    assert cluster.claim_status["default/data"]["capacity"] == {"storage": "3Gi"}


# -- properties -----------------------------------------------------------------------------------
SIZES = ["512Mi", "1Gi", "2Gi", "5Gi"]
MODES = [("ReadWriteOnce",), ("ReadWriteMany",), ("ReadWriteOnce", "ReadWriteMany")]
_claims = st.lists(st.tuples(st.sampled_from(SIZES), st.sampled_from(["", "gold"]), st.sampled_from(MODES)),
                   min_size=1, max_size=5)
_volumes = st.lists(st.tuples(st.sampled_from(SIZES), st.sampled_from(["", "gold"]), st.sampled_from(MODES),
                              st.sampled_from(["Retain", "Delete"])), min_size=1, max_size=5)


def _fits(c: dict[str, Any], v: dict[str, Any]) -> bool:
    return ((v["spec"].get("storageClassName") or "") == (c["spec"].get("storageClassName") or "")
            and set(c["spec"]["accessModes"]) <= set(v["spec"]["accessModes"])
            and storage(v["spec"]["capacity"]) >= storage(c["spec"]["resources"]["requests"]))


def _check(cluster: Cluster, retained: set[str]) -> None:
    holders: dict[str, list[str]] = {}
    for key, c in cluster.claims.items():
        name = c["spec"].get("volumeName")
        if name:
            holders.setdefault(name, []).append(key)
            v = cluster.volumes.get(name)
            if v is not None and (v["spec"].get("claimRef") or {}).get("uid") == c["metadata"]["uid"]:
                assert _fits(c, v), (c, v)
    assert all(len(keys) == 1 for keys in holders.values()), holders
    assert not retained & set(cluster.deleted)


@settings(max_examples=80, deadline=None)
@given(claims=_claims, volumes=_volumes, schedule=st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=80),
       delete_some=st.lists(st.integers(0, 4), max_size=3))
def test_stale_interleaved_plans_never_bind_two_claims_to_one_volume(
        claims: list[Any], volumes: list[Any], schedule: list[tuple[int, bool]], delete_some: list[int]) -> None:
    cluster = Cluster([claim(f"c{i}", size=s, cls=k, modes=m) for i, (s, k, m) in enumerate(claims)],
                      [volume(f"v{i}", size=s, cls=k, modes=m, policy=p) for i, (s, k, m, p) in enumerate(volumes)])
    retained = {f"v{i}" for i, (*_, p) in enumerate(volumes) if p == "Retain"}
    queued: list[list[Action]] = []  # plans decided on a snapshot, applied later (another replica, a slow one)
    for pick, apply_now in schedule:
        keys = cluster.keys()
        if apply_now or not queued:
            queued.append(cluster.plan(keys[pick % len(keys)]))
        cluster.apply(queued.pop(pick % len(queued)))
        _check(cluster, retained)
    for index in delete_some:
        key = f"default/c{index}"
        if key in cluster.claims:
            cluster.mark_deleted(cluster.claims, key)
    cluster.settle()
    _check(cluster, retained)
    for key, c in cluster.claims.items():  # settled: every claim that names a volume is Bound to it
        if c["spec"].get("volumeName"):
            assert cluster.claim_status[key]["phase"] == "Bound"


@settings(max_examples=40, deadline=None)
@given(claims=_claims, volumes=_volumes)
def test_plans_on_a_settled_cluster_are_idempotent(claims: list[Any], volumes: list[Any]) -> None:
    cluster = Cluster([claim(f"c{i}", size=s, cls=k, modes=m) for i, (s, k, m) in enumerate(claims)],
                      [volume(f"v{i}", size=s, cls=k, modes=m, policy=p) for i, (s, k, m, p) in enumerate(volumes)])
    cluster.settle()
    writes = [a for key in cluster.keys() for a in cluster.plan(key) if not isinstance(a, Emit)]
    assert writes == []
