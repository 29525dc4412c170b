"""The claim side of the PersistentVolume controller (upstream's syncClaim), pure:
one claim and the World in, the actions out.

- An unbound claim binds to the volume whose claimRef already names it (the scheduler's
  pre-binding, a user's, or this controller's before a crash); else, for an Immediate
  class (or none), to the smallest Available volume that fits (`find_match`), by writing
  the volume's claimRef first (valid only against the volume's resourceVersion, so two
  claims never take one volume), the claim's volumeName once the view shows it.
- With no fit, a claim whose storageClassName is absent (nil; not "", which asks for no
  class) gets the default class, once one exists (upstream's retroactive default
  StorageClass assignment: a claim admitted while the API knew no default).
- With no fit, a `kafkube.io/local` class provisions `pvc-<claim uid>` once the claim
  names its node (`volume.kubernetes.io/selected-node`, set by the scheduler for
  WaitForFirstConsumer classes); an Immediate local class cannot (no node): a warning.
  Other provisioners: ExternalProvisioning, as upstream.
- A bound claim is Bound while its volume names it back (else Lost); a grown request of
  an expandable class grows the volume's capacity, then the claim's status.capacity.
- A claim being deleted loses `kubernetes.io/pvc-protection` once no pod that is not
  terminated uses it (the pvc-protection controller).
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.meta import LabelSelector
from schemas.storage import (
    BIND_COMPLETED_ANNOTATION,
    BOUND_BY_CONTROLLER_ANNOTATION,
    LOCAL_PROVISIONER,
    PVC_PROTECTION_FINALIZER,
    SELECTED_NODE_ANNOTATION,
    STORAGE,
    STORAGE_PROVISIONER_ANNOTATION,
    default_class,
)
from services.controllers.volume.actions import Action, CreateVolume, Emit, Patch, SetStatus
from services.controllers.volume.provision import local_volume, provisioned_name
from services.controllers.volume.world import (
    Doc,
    World,
    claim_ref,
    class_name,
    deleting,
    key_of,
    meta,
    names_claim,
    phase,
    reference,
    requested,
    spec,
    storage,
    target,
)

NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
WAITING = "waiting for first consumer to be created before binding"
LOCAL_NEEDS_NODE = (f"{LOCAL_PROVISIONER} provisions a volume on the node of the claim's first consumer: "
                    "its StorageClass needs volumeBindingMode WaitForFirstConsumer")
EXTERNAL = ("Waiting for a volume to be created either by the external provisioner '{}' or manually by the "
            "system administrator. If volume creation is delayed, please verify that the provisioner is "
            "running and correctly registered.")


def reconcile_claim(key: str, world: World) -> list[Action]:
    claim = world.claims.get(key)
    if claim is None:
        return []
    if deleting(claim):
        return _protection(key, claim, world)
    if BIND_COMPLETED_ANNOTATION in (meta(claim).get("annotations") or {}):
        return _sync_bound(key, claim, world)
    if spec(claim).get("volumeName"):
        return _sync_requested(key, claim, world)
    return _bind_unbound(key, claim, world)


def _protection(key: str, claim: Doc, world: World) -> list[Action]:
    finalizers = list(meta(claim).get("finalizers") or [])
    if PVC_PROTECTION_FINALIZER not in finalizers or key in world.claims_in_use:
        return []
    kept = [f for f in finalizers if f != PVC_PROTECTION_FINALIZER]
    return [Patch(target(claim), {"metadata": {"finalizers": kept}})]


def _status(key: str, claim: Doc, world: World, status: Doc) -> list[Action]:
    return [] if world.claim_status.get(key) == status else [SetStatus("persistentvolumeclaims", target(claim), status)]


def _pending(key: str, claim: Doc, world: World) -> list[Action]:
    return _status(key, claim, world, {"phase": "Pending"})


def find_match(claim: Doc, volumes: Iterable[Doc], world: World) -> Doc | None:
    """upstream's FindMatchingVolume without a node: the smallest volume (then the first
    by name) that is not being deleted, names no claim, is not Released or Failed, and has
    the claim's class, volume mode, access modes, labels (selector) and enough capacity."""
    wanted, modes = requested(claim), set(spec(claim).get("accessModes") or [])
    selector = spec(claim).get("selector")
    match = LabelSelector.model_validate(selector) if isinstance(selector, dict) else None
    best: tuple[int, str, Doc] | None = None
    for volume in volumes:
        if (deleting(volume) or claim_ref(volume) is not None or phase(world, volume) in ("Released", "Failed")
                or class_name(volume) != class_name(claim)
                or (spec(volume).get("volumeMode") or "Filesystem") != (spec(claim).get("volumeMode") or "Filesystem")
                or not modes <= set(spec(volume).get("accessModes") or [])
                or (match is not None and not match.matches(meta(volume).get("labels")))):
            continue
        size = storage(spec(volume).get("capacity"))
        if size >= wanted and (best is None or (size, meta(volume)["name"]) < best[:2]):
            best = (size, meta(volume)["name"], volume)
    return best[2] if best else None


def _bind_unbound(key: str, claim: Doc, world: World) -> list[Action]:
    named = sorted((v for v in world.volumes.values() if names_claim(v, claim) and not deleting(v)),
                   key=lambda v: str(meta(v).get("name")))
    if named:
        return _bind_to(key, claim, named[0], world)
    cls_name = class_name(claim)
    cls = world.classes.get(cls_name) if cls_name else None
    delayed = cls is not None and cls.get("volumeBindingMode") == "WaitForFirstConsumer"
    if not delayed and (volume := find_match(claim, world.volumes.values(), world)) is not None:
        return [_claim_volume(volume, claim)] + _pending(key, claim, world)
    if spec(claim).get("storageClassName") is None and (default := default_class(world.classes.values())):
        return [Patch(target(claim), {"spec": {"storageClassName": meta(default)["name"]}})] + _pending(key, claim, world)
    return _provision(key, claim, cls_name, cls, delayed, world) + _pending(key, claim, world)


def _claim_volume(volume: Doc, claim: Doc) -> Patch:
    """The volume's claimRef (with the claim's uid): the first half of a binding."""
    return Patch(target(volume), {"metadata": {"annotations": {BOUND_BY_CONTROLLER_ANNOTATION: "yes"}},
                                  "spec": {"claimRef": reference(claim)}})


def _bind_to(key: str, claim: Doc, volume: Doc, world: World) -> list[Action]:
    """The volume names the claim: give it the claim's uid if it lacks it, then name the
    volume in the claim (the second half), with upstream's annotations."""
    ref = claim_ref(volume)
    if ref is not None and ref[2] is None:
        return [_claim_volume(volume, claim)] + _pending(key, claim, world)
    annotations = {BIND_COMPLETED_ANNOTATION: "yes", BOUND_BY_CONTROLLER_ANNOTATION: "yes"}
    return [Patch(target(claim), {"metadata": {"annotations": annotations},
                                  "spec": {"volumeName": meta(volume)["name"]}})] + _pending(key, claim, world)


def _provision(key: str, claim: Doc, cls_name: str, cls: Doc | None, delayed: bool, world: World) -> list[Action]:
    involved = target(claim)
    if not cls_name:
        return [Emit(involved, "FailedBinding", NO_CLASS)]
    if cls is None:
        return [Emit(involved, "ProvisioningFailed", f'storageclass.storage.k8s.io "{cls_name}" not found', "Warning")]
    provisioner = str(cls.get("provisioner") or "")
    annotations = meta(claim).get("annotations") or {}
    node = annotations.get(SELECTED_NODE_ANNOTATION)
    if delayed and not node:
        return [Emit(involved, "WaitForFirstConsumer", WAITING)]
    if provisioner != LOCAL_PROVISIONER:
        actions: list[Action] = []
        if annotations.get(STORAGE_PROVISIONER_ANNOTATION) != provisioner:
            actions.append(Patch(involved, {"metadata": {"annotations": {STORAGE_PROVISIONER_ANNOTATION: provisioner}}}))
        return actions + [Emit(involved, "ExternalProvisioning", EXTERNAL.format(provisioner))]
    if not delayed or not node:
        return [Emit(involved, "ProvisioningFailed", LOCAL_NEEDS_NODE, "Warning")]
    name = provisioned_name(claim)
    if name in world.volumes:  # made for an earlier claim of that uid? never: uids are unique
        return []
    return [CreateVolume(name, local_volume(claim, cls, node, world.kubelet_root)),
            Emit(involved, "ProvisioningSucceeded", f"Successfully provisioned volume {name} using {LOCAL_PROVISIONER}")]


def _sync_requested(key: str, claim: Doc, world: World) -> list[Action]:
    """A claim that names its volume (the user's choice), the binding not completed: the
    volume gets the claimRef if it names no claim, then the claim is marked bind-completed."""
    name = spec(claim)["volumeName"]
    volume = world.volumes.get(name)
    if volume is None:
        return _pending(key, claim, world)  # upstream: the volume may still come
    ref = claim_ref(volume)
    if ref is None or (names_claim(volume, claim) and ref[2] is None):
        return [_claim_volume(volume, claim)] + _pending(key, claim, world)
    if not names_claim(volume, claim):
        message = f'volume "{name}" already bound to a different claim.'
        return [Emit(target(claim), "FailedBinding", message, "Warning")] + _pending(key, claim, world)
    return [Patch(target(claim), {"metadata": {"annotations": {BIND_COMPLETED_ANNOTATION: "yes"}}})] + _pending(key, claim, world)


def _sync_bound(key: str, claim: Doc, world: World) -> list[Action]:
    """A claim whose binding completed: Bound while its volume names it back, else Lost."""
    name = spec(claim).get("volumeName")
    volume = world.volumes.get(name) if name else None
    if volume is None:
        lost = ("Bound claim has lost its PersistentVolume. Data on the volume is lost!" if name
                else "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!")
        return [Emit(target(claim), "ClaimLost", lost, "Warning")] + _status(key, claim, world, {"phase": "Lost"})
    ref = claim_ref(volume)
    if ref is None or (names_claim(volume, claim) and ref[2] is None):
        return [_claim_volume(volume, claim)] + _pending(key, claim, world)  # the volume lost its claimRef: fixed
    if not names_claim(volume, claim):
        misbound = "Two claims are bound to the same volume, this one is bound incorrectly"
        return [Emit(target(claim), "ClaimMisbound", misbound, "Warning")] + _status(key, claim, world, {"phase": "Lost"})
    status = {"phase": "Bound", "accessModes": list(spec(volume).get("accessModes") or []),
              "capacity": dict(spec(volume).get("capacity") or {})}
    return _expand(claim, volume, world) + _status(key, claim, world, status)


def _expand(claim: Doc, volume: Doc, world: World) -> list[Action]:
    """A request above the volume's capacity, on a class that allows expansion, grows the
    volume (a local directory has no quota: the new size is a record, nothing to resize)."""
    cls = world.classes.get(class_name(claim)) if class_name(claim) else None
    if cls is None or cls.get("allowVolumeExpansion") is not True:
        return []
    if requested(claim) <= storage(spec(volume).get("capacity")):
        return []
    size = (spec(claim).get("resources") or {}).get("requests", {}).get(STORAGE)
    return [Patch(target(volume), {"spec": {"capacity": {STORAGE: size}}}),
            Emit(target(claim), "VolumeResizeSuccessful", f"volume {meta(volume)['name']} resized to {size}")]
