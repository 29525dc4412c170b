"""kube-scheduler's VolumeBinding plugin (pkg/scheduler/framework/plugins/volumebinding):
which nodes can reach a pod's PersistentVolumeClaims, and what must be written on the
claims and volumes before the pod is bound to the chosen node.

- `StorageState`: the claims, volumes and classes the scheduler's informer holds, each
  read once per record through a slim typed view (`ClaimInfo`, `VolumeInfo`, `ClassInfo`).
- `pod_claims(namespace, names, state)`: PreFilter. Every claim must exist, not be lost
  nor being deleted (else the message is the pod's FitError, as upstream's
  UnschedulableAndUnresolvable PreFilter); bound claims, and unbound claims of a
  `WaitForFirstConsumer` class (delayed binding); any other unbound claim makes the pod
  unschedulable ("pod has unbound immediate PersistentVolumeClaims").
- `PodClaims.find(node, state)`: Filter. A bound claim's volume must exist and its
  `nodeAffinity` admit the node; a delayed claim already given a node
  (`volume.kubernetes.io/selected-node`) admits that node only; otherwise an Available
  static volume of its class that matches (access modes, capacity, selector, node
  affinity: the smallest that fits, as upstream's FindMatchingVolume), or a class that
  provisions. The reasons are upstream's ConflictReasons.
- `volume_writes(pod_volumes, node)`: what the scheduler asks the API for on the chosen
  node (upstream's AssumePodVolumes/bindAPIUpdate): a static match gets
  `spec.claimRef` (and `pv.kubernetes.io/bound-by-controller`), a claim to provision gets
  `volume.kubernetes.io/selected-node`. Empty once the writes show in the informer.

Pure: value in, value out. Called by `services.scheduler.service`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.meta import LabelSelector
from schemas.pod import NodeSelector
from schemas.quantity import memory_bytes
from schemas.storage import (
    BIND_COMPLETED_ANNOTATION, BOUND_BY_CONTROLLER_ANNOTATION, SELECTED_NODE_ANNOTATION, PersistentVolume,
    PersistentVolumeClaim, StorageClass,
)
from services.scheduler.filters import term_matches
from services.scheduler.model import NodeInfo

SELECTED_NODE = SELECTED_NODE_ANNOTATION
NO_PROVISIONER = "kubernetes.io/no-provisioner"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
# upstream's reasons (volumebinding/binder.go ConflictReasons, volume_binding.go PreFilter)
NODE_CONFLICT = "node(s) didn't match PersistentVolume's node affinity"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


# -- what the scheduler reads of the records -------------------------------------------------
@dataclass(frozen=True, slots=True)
class ClaimInfo:
    namespace: str
    name: str
    uid: str | None = None
    resource_version: str | None = None
    class_name: str = ""
    volume_name: str = ""
    phase: str | None = None
    deleting: bool = False
    bind_completed: bool = False
    selected_node: str | None = None
    access_modes: frozenset[str] = frozenset()
    request: int = 0  # bytes
    selector: LabelSelector | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def bound(self) -> bool:
        """upstream's isPVCFullyBound (the volume named, the binding completed); Kafkube's
        controller also says so with phase Bound."""
        return bool(self.volume_name) and (self.bind_completed or self.phase == "Bound")


@dataclass(frozen=True, slots=True)
class VolumeInfo:
    name: str
    resource_version: str | None = None
    class_name: str = ""
    phase: str | None = None
    deleting: bool = False
    claim_ref: tuple[str, str, str | None] | None = None  # (namespace, name, uid)
    access_modes: frozenset[str] = frozenset()
    capacity: int = 0  # bytes
    affinity: NodeSelector | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def admits(self, node: NodeInfo) -> bool:
        """upstream's CheckNodeAffinity: no required affinity admits every node, else one term matches."""
        if self.affinity is None:
            return True
        return any(term_matches(term, node) for term in self.affinity.node_selector_terms)

    def claimed_by(self, claim: ClaimInfo) -> bool:
        if self.claim_ref is None:
            return False
        namespace, name, uid = self.claim_ref
        return (namespace or "default", name) == (claim.namespace, claim.name) and uid in (None, claim.uid)


@dataclass(frozen=True, slots=True)
class ClassInfo:
    name: str
    provisioner: str = ""
    wait_for_first_consumer: bool = False

    @property
    def provisions(self) -> bool:
        return self.provisioner not in ("", NO_PROVISIONER)


def _bytes(values: Mapping[str, str] | None) -> int:
    storage = (values or {}).get("storage")
    return memory_bytes(storage) if storage is not None else 0


def claim_info(raw: Mapping[str, Any]) -> ClaimInfo:
    """Raises pydantic.ValidationError or ValueError on a record the API should not have stored."""
    claim = PersistentVolumeClaim.model_validate(raw)
    meta, spec = claim.metadata, claim.spec
    annotations = meta.annotations or {}
    return ClaimInfo(
        namespace=meta.namespace or "default", name=meta.name or "", uid=meta.uid,
        resource_version=meta.resource_version, class_name=spec.storage_class_name or "",
        volume_name=spec.volume_name or "", phase=claim.status.phase if claim.status else None,
        deleting=meta.deletion_timestamp is not None, bind_completed=BIND_COMPLETED_ANNOTATION in annotations,
        selected_node=annotations.get(SELECTED_NODE), access_modes=frozenset(spec.access_modes or []),
        request=_bytes(spec.resources.requests), selector=spec.selector)


def volume_info(raw: Mapping[str, Any]) -> VolumeInfo:
    volume = PersistentVolume.model_validate(raw)
    meta, spec = volume.metadata, volume.spec
    ref = spec.claim_ref
    return VolumeInfo(
        name=meta.name or "", resource_version=meta.resource_version, class_name=spec.storage_class_name or "",
        phase=volume.status.phase if volume.status else None, deleting=meta.deletion_timestamp is not None,
        claim_ref=(ref.namespace or "default", ref.name or "", ref.uid) if ref is not None else None,
        access_modes=frozenset(spec.access_modes or []), capacity=_bytes(spec.capacity),
        affinity=spec.node_affinity.required if spec.node_affinity else None, labels=dict(meta.labels or {}))


def class_info(raw: Mapping[str, Any]) -> ClassInfo:
    storage_class = StorageClass.model_validate(raw)
    return ClassInfo(name=storage_class.metadata.name or "", provisioner=storage_class.provisioner,
                     wait_for_first_consumer=storage_class.volume_binding_mode == WAIT_FOR_FIRST_CONSUMER)


class StorageState:
    """Claims by key, volumes and classes by name (kept by the service from its informer)."""

    def __init__(self) -> None:
        self.claims: dict[str, ClaimInfo] = {}
        self.volumes: dict[str, VolumeInfo] = {}
        self.classes: dict[str, ClassInfo] = {}

    def set(self, kind: str, key: str, raw: Mapping[str, Any] | None) -> None:
        """Replace (None: forget) one record; `kind` is the plural. Raises on a malformed
        record, after forgetting the old one (a claim we cannot read is a missing claim)."""
        table, parse = self._tables()[kind]
        table.pop(key, None)
        if raw is not None:
            table[key] = parse(raw)

    def _tables(self) -> dict[str, tuple[dict[str, Any], Callable[[Mapping[str, Any]], Any]]]:
        return {"persistentvolumeclaims": (self.claims, claim_info),
                "persistentvolumes": (self.volumes, volume_info),
                "storageclasses": (self.classes, class_info)}


STORAGE_KINDS = ("persistentvolumeclaims", "persistentvolumes", "storageclasses")


# -- PreFilter ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PodVolumes:
    """What the chosen node needs written (upstream's PodVolumes)."""

    static: tuple[tuple[ClaimInfo, VolumeInfo], ...] = ()  # claim -> the volume it gets
    provision: tuple[ClaimInfo, ...] = ()  # claims to provision on the node


@dataclass(frozen=True, slots=True)
class PodClaims:
    """A pod's claims once PreFilter passed: bound ones and delayed (WaitForFirstConsumer) ones."""

    bound: tuple[ClaimInfo, ...] = ()
    delayed: tuple[ClaimInfo, ...] = ()

    def reasons(self, node: NodeInfo, state: StorageState) -> list[str]:
        return self.find(node, state)[0]

    def find(self, node: NodeInfo, state: StorageState) -> tuple[list[str], PodVolumes]:
        """upstream's FindPodVolumes: the conflict reasons on `node` (empty: it fits) and
        the bindings and provisions that would make it so."""
        reasons: list[str] = []
        for claim in self.bound:
            volume = state.volumes.get(claim.volume_name)
            if volume is None:
                return [PV_NOT_EXIST], PodVolumes()
            if not volume.admits(node):
                reasons.append(NODE_CONFLICT)
                break
        static: list[tuple[ClaimInfo, VolumeInfo]] = []
        provision: list[ClaimInfo] = []
        to_match: list[ClaimInfo] = []
        for claim in self.delayed:
            if claim.selected_node is not None:
                if claim.selected_node != node.name:
                    return [*reasons, BIND_CONFLICT], PodVolumes()
                provision.append(claim)
            else:
                to_match.append(claim)
        chosen: set[str] = set()
        for claim in sorted(to_match, key=lambda c: c.request):  # the smallest claims first
            volume = find_matching_volume(claim, state.volumes.values(), node, chosen)
            if volume is None:
                provision.append(claim)
            else:
                chosen.add(volume.name)
                static.append((claim, volume))
        for claim in provision:
            storage_class = state.classes.get(claim.class_name)
            if storage_class is None or not storage_class.provisions:
                reasons.append(BIND_CONFLICT)
                break
        return reasons, PodVolumes(tuple(static), tuple(provision))


def pod_claims(namespace: str, names: Iterable[str], state: StorageState) -> PodClaims | str:
    """PreFilter: the pod's claims sorted into bound and delayed, or the message that
    makes the pod unschedulable on every node."""
    bound: list[ClaimInfo] = []
    delayed: list[ClaimInfo] = []
    immediate = False
    for name in names:
        claim = state.claims.get(f"{namespace}/{name}")
        if claim is None:
            return f'persistentvolumeclaim "{name}" not found'
        if claim.phase == "Lost":
            return (f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume '
                    f'"{claim.volume_name}"')
        if claim.deleting:
            return f'persistentvolumeclaim "{name}" is being deleted'
        if claim.bound:
            bound.append(claim)
        elif _delayed(claim, state) and not claim.volume_name:
            delayed.append(claim)
        else:
            immediate = True  # a prebound claim counts as immediate, as upstream
    if immediate:
        return UNBOUND_IMMEDIATE
    return PodClaims(tuple(bound), tuple(delayed))


def _delayed(claim: ClaimInfo, state: StorageState) -> bool:
    """upstream's IsDelayBindingMode: no class, or an unknown one, binds immediately."""
    storage_class = state.classes.get(claim.class_name) if claim.class_name else None
    return storage_class is not None and storage_class.wait_for_first_consumer


def find_matching_volume(claim: ClaimInfo, volumes: Iterable[VolumeInfo], node: NodeInfo,
                         excluded: set[str]) -> VolumeInfo | None:
    """upstream's FindMatchingVolume on the scheduler's path: a volume prebound to the
    claim wins; else the smallest Available volume of the claim's class, unclaimed, with
    the claim's access modes, enough capacity, the selector's labels, admitting the node.
    A volume's phase is the controller's observed status, absent from the desired record
    the scheduler reads: unclaimed (no claimRef) stands for Available there."""
    best: VolumeInfo | None = None
    for volume in volumes:
        if volume.name in excluded or volume.deleting or not volume.admits(node):
            continue
        if volume.claimed_by(claim):
            return volume if claim.access_modes <= volume.access_modes else None
        if (volume.phase not in (None, "Available") or volume.claim_ref is not None
                or volume.class_name != claim.class_name or not claim.access_modes <= volume.access_modes
                or volume.capacity < claim.request
                or (claim.selector is not None and not claim.selector.matches(volume.labels))):
            continue
        if best is None or (volume.capacity, volume.name) < (best.capacity, best.name):
            best = volume
    return best


# -- the writes on the chosen node ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VolumeWrite:
    """One merge patch the scheduler asks the API for (as `system:kube-scheduler`)."""

    kind: str  # PersistentVolumeClaim | PersistentVolume
    namespace: str | None
    name: str
    patch: dict[str, Any]
    resource_version: str | None


def volume_writes(volumes: PodVolumes, node: str) -> list[VolumeWrite]:
    """The writes still missing on `node`: none once every claim to provision names the
    node and every static volume names its claim (then the pod may be bound)."""
    writes: list[VolumeWrite] = []
    for claim, volume in volumes.static:
        if not volume.claimed_by(claim):
            ref = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": claim.namespace,
                   "name": claim.name, "uid": claim.uid, "resourceVersion": claim.resource_version}
            writes.append(VolumeWrite("PersistentVolume", None, volume.name,
                                      {"metadata": {"annotations": {BOUND_BY_CONTROLLER_ANNOTATION: "yes"}},
                                       "spec": {"claimRef": ref}}, volume.resource_version))
    for claim in volumes.provision:
        if claim.selected_node != node:
            writes.append(VolumeWrite("PersistentVolumeClaim", claim.namespace, claim.name,
                                      {"metadata": {"annotations": {SELECTED_NODE: node}}},
                                      claim.resource_version))
    return writes
