"""The volume side of the PersistentVolume controller (upstream's syncVolume and
reclaimVolume) and the pv-protection controller, pure: one volume and the World in,
the actions out.

Phase: no claimRef, or one without a uid (pre-bound by a user) → Available; a claimRef
whose claim exists with that uid → Bound (a claim bound elsewhere frees a volume this
controller bound: claimRef removed); the claim gone → Released, then the reclaim policy:
Retain keeps it Released, Delete deletes a volume `kafkube.io/local` provisioned (its
kubelet removes the data) and fails any other (Kafkube has no deleter for it), Recycle
fails (no recycler). A volume being deleted loses `kubernetes.io/pv-protection` once it
is not Bound.
"""

from __future__ import annotations

from schemas.storage import (
    BOUND_BY_CONTROLLER_ANNOTATION,
    LOCAL_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    PV_PROTECTION_FINALIZER,
)
from services.controllers.volume.actions import Action, Delete, Emit, Patch, SetStatus
from services.controllers.volume.world import Doc, World, claim_ref, deleting, meta, spec, target

NO_DELETER = 'error getting deleter volume plugin for volume "{}": no deletable volume plugin matched'
NO_RECYCLER = "No recycler plugin found for the volume!"


def reconcile_volume(name: str, world: World) -> list[Action]:
    volume = world.volumes.get(name)
    if volume is None:
        return []
    ref = claim_ref(volume)
    if ref is None or ref[2] is None:
        return _settle(volume, world, {"phase": "Available"})
    claim = world.claims.get(f"{ref[0]}/{ref[1]}")
    if claim is not None and meta(claim).get("uid") == ref[2]:
        bound_elsewhere = spec(claim).get("volumeName") not in (None, "", name)
        if bound_elsewhere and (meta(volume).get("annotations") or {}).get(BOUND_BY_CONTROLLER_ANNOTATION):
            unbind = {"metadata": {"annotations": {BOUND_BY_CONTROLLER_ANNOTATION: None}}, "spec": {"claimRef": None}}
            return [Patch(target(volume), unbind)] + _settle(volume, world, {"phase": "Available"})
        return _settle(volume, world, {"phase": "Bound"})
    return _reclaim(volume, world)


def _settle(volume: Doc, world: World, status: Doc) -> list[Action]:
    """The phase as decided, and the pv-protection finalizer dropped once it is not Bound."""
    actions: list[Action] = []
    previous = world.volume_status.get(meta(volume).get("name", "")) or {}
    if {k: previous.get(k) for k in ("phase", "message")} != {k: status.get(k) for k in ("phase", "message")}:
        stamped = {**status, **({"lastPhaseTransitionTime": _ts(world)} if world.now else {})}
        if previous.get("phase") == status.get("phase") and previous.get("lastPhaseTransitionTime"):
            stamped["lastPhaseTransitionTime"] = previous["lastPhaseTransitionTime"]
        actions.append(SetStatus("persistentvolumes", target(volume), stamped))
    finalizers = list(meta(volume).get("finalizers") or [])
    if deleting(volume) and PV_PROTECTION_FINALIZER in finalizers and status.get("phase") != "Bound":
        kept = [f for f in finalizers if f != PV_PROTECTION_FINALIZER]
        actions.append(Patch(target(volume), {"metadata": {"finalizers": kept}}))
    return actions


def _reclaim(volume: Doc, world: World) -> list[Action]:
    policy = spec(volume).get("persistentVolumeReclaimPolicy") or "Retain"
    name = meta(volume).get("name", "")
    previous = world.volume_status.get(name) or {}
    if previous.get("phase") == "Failed":  # as upstream: a failed volume waits for its administrator
        return _settle(volume, world, {k: previous[k] for k in ("phase", "message") if k in previous})
    if policy == "Retain":
        return _settle(volume, world, {"phase": "Released"})
    if policy == "Delete" and (meta(volume).get("annotations") or {}).get(PROVISIONED_BY_ANNOTATION) == LOCAL_PROVISIONER:
        deletion: list[Action] = [] if deleting(volume) else [Delete(target(volume))]
        return _settle(volume, world, {"phase": "Released"}) + deletion
    reason, message = ("VolumeFailedDelete", NO_DELETER.format(name)) if policy == "Delete" else ("VolumeFailedRecycle", NO_RECYCLER)
    return _settle(volume, world, {"phase": "Failed", "message": message}) + [Emit(target(volume), reason, message, "Warning")]


def _ts(world: World) -> str:
    assert world.now is not None
    return world.now.strftime("%Y-%m-%dT%H:%M:%SZ")
