"""A pod's `persistentVolumeClaim` volumes on its node: claim -> bound PersistentVolume ->
the host directory to bind-mount, as upstream's volume manager resolves them
(pkg/kubelet/volumemanager/populator: getPVCExtractPV, getPVSpec), and which
provisioned directories of the node no volume names any more (reclaim).

- `claim_sources(pod)`: the pod's claim volumes (volume name -> claimName, readOnly).
- `resolve(...)`: the `ClaimMount` of one claim volume, or `ClaimError` with upstream's
  words (`PVC is not bound`, `failed to fetch PV ...`, ...) that the sync shows as a
  FailedMount event (`Unable to attach or mount volumes: unmounted volumes=[data], ...`)
  and retries.
- `rwop_conflict(...)`: a ReadWriteOncePod claim already used by another pod of the node.
- `unclaimed_dirs(names, volumes, base)`: the directories under the node's provisioned
  volumes directory that no PersistentVolume's path names any more (their PV was deleted:
  reclaim policy Delete).

Pure: the caller hands in the stores (informer contents) and does the I/O
(`services.kubelet.volumes`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas.meta import KubeModel
from schemas.pod import Pod
from schemas.storage import BIND_COMPLETED_ANNOTATION, PersistentVolume, PersistentVolumeClaim

Store = Mapping[str, Any]  # "namespace/name" (claims) or "name" (volumes) -> the object as JSON
CLAIM_SOURCE = "persistentVolumeClaim"  # the pod volume's field (kept as an extra of schemas.pod.Volume)
READ_WRITE_ONCE_POD = "ReadWriteOncePod"
PROVISIONED_PREFIX = "pvc-"  # the local provisioner's PV (and directory) names: pvc-<claim uid>


class ClaimError(Exception):
    """The claim's volume cannot be mounted yet (upstream's `error processing PVC ns/name: ...`)."""


class ClaimSource(KubeModel):
    """A pod volume's `persistentVolumeClaim` (upstream's PersistentVolumeClaimVolumeSource)."""

    claim_name: str
    read_only: bool | None = None


@dataclass(frozen=True, slots=True)
class ClaimMount:
    """Where a claim volume lives on the node and how it is mounted."""

    volume: str  # the pod volume's name
    claim: str  # namespace/name
    persistent_volume: str
    path: str  # the host directory to bind
    read_only: bool
    kind: str  # "local" | "hostPath"
    create: bool  # a directory the kubelet makes when missing (provisioned, or hostPath DirectoryOrCreate)


def claim_sources(pod: Pod) -> dict[str, ClaimSource]:
    """Volume name -> its claim source; raises ClaimError naming a malformed one."""
    found: dict[str, ClaimSource] = {}
    for volume in (pod.spec.volumes if pod.spec else None) or []:
        raw = (volume.model_extra or {}).get(CLAIM_SOURCE)
        if raw is None:
            continue
        try:
            found[volume.name or ""] = ClaimSource.model_validate(raw)
        except ValidationError as exc:
            raise ClaimError(f'volume "{volume.name}": invalid persistentVolumeClaim: '
                             f'{exc.errors()[0]["msg"]}') from None
    return found


def resolve(namespace: str, volume: str, source: ClaimSource, claims: Store, volumes: Store, *,
            provisioned_base: str) -> ClaimMount:
    """The mount of one claim volume; ClaimError while the claim is missing, unbound, or its
    volume is missing or not bound back to it, or has no source the node can bind."""
    key = f"{namespace}/{source.claim_name}"

    def problem(text: str) -> ClaimError:
        return ClaimError(f"error processing PVC {key}: {text}")

    raw_claim = claims.get(key)
    if raw_claim is None:
        raise problem(f'failed to fetch PVC from API server: persistentvolumeclaims "{source.claim_name}" not found')
    claim = _read(PersistentVolumeClaim, raw_claim, problem)
    meta = claim.metadata
    if meta.deletion_timestamp is not None and "kubernetes.io/pvc-protection" not in (meta.finalizers or []):
        raise problem("PVC is being deleted")
    # the phase is the controller's (observed) status; the desired record says it as upstream's
    # isPVCFullyBound does: the bind-completed annotation the binder writes with volumeName
    bound = (claim.status.phase if claim.status else None) == "Bound" \
        or BIND_COMPLETED_ANNOTATION in (meta.annotations or {})
    if not bound:
        raise problem("PVC is not bound")
    name = claim.spec.volume_name
    if not name:
        raise problem("PVC has empty pvc.Spec.VolumeName")
    raw_volume = volumes.get(name)
    if raw_volume is None:
        raise problem(f'failed to fetch PV {name} from API server: persistentvolumes "{name}" not found')
    pv = _read(PersistentVolume, raw_volume, problem)
    ref = pv.spec.claim_ref
    if ref is None:
        raise problem(f"found PV object {name} but it has a nil pv.Spec.ClaimRef indicating it is not yet "
                      "bound to the claim")
    if ref.uid != meta.uid:
        raise problem(f"found PV object {name} but its pv.Spec.ClaimRef.UID {ref.uid} does not point to "
                      f"claim.UID {meta.uid}")
    read_only = bool(source.read_only)
    if pv.spec.local is not None and pv.spec.local.path:
        path = os.path.normpath(pv.spec.local.path)
        inside = os.path.dirname(path) == os.path.normpath(provisioned_base) \
            and os.path.basename(path).startswith(PROVISIONED_PREFIX)
        return ClaimMount(volume, key, name, path, read_only, "local", create=inside)
    if pv.spec.host_path is not None and pv.spec.host_path.path:
        create = pv.spec.host_path.type in (None, "", "DirectoryOrCreate")
        return ClaimMount(volume, key, name, os.path.normpath(pv.spec.host_path.path), read_only, "hostPath",
                          create=create)
    raise problem(f"PV {name} has no volume source this node can mount (local or hostPath)")


def _read(model: Any, raw: Any, problem: Any) -> Any:
    try:
        return model.model_validate(raw)
    except (ValidationError, ValueError) as exc:
        raise problem(f"unreadable {model.__name__}: {str(exc).splitlines()[0]}") from None


def rwop_conflict(pod: Pod, mount: ClaimMount, claims: Store, others: Iterable[Pod]) -> str | None:
    """Why the pod may not use a ReadWriteOncePod claim another (older) live pod of the node
    uses, or None. The older pod keeps it (creationTimestamp, then name)."""
    raw = claims.get(mount.claim) or {}
    if READ_WRITE_ONCE_POD not in ((raw.get("spec") or {}).get("accessModes") or []):
        return None
    namespace, claim = mount.claim.split("/", 1)
    mine = _age(pod)
    for other in others:
        meta = other.metadata
        if meta is None or meta.uid == (pod.metadata.uid if pod.metadata else None) or meta.deletion_timestamp:
            continue
        if (meta.namespace or "default") != namespace or _age(other) > mine:
            continue
        try:
            used = {s.claim_name for s in claim_sources(other).values()}
        except ClaimError:
            continue
        if claim in used:
            return (f"PersistentVolumeClaim {mount.claim} with ReadWriteOncePod access mode is already in use "
                    f"by pod {namespace}/{meta.name}")
    return None


def _age(pod: Pod) -> tuple[str, str]:
    meta = pod.metadata
    created = meta.creation_timestamp if meta is not None else None
    return (str(created or ""), (meta.name or "") if meta is not None else "")


def unclaimed_dirs(names: Iterable[str], volumes: Store, base: str) -> list[str]:
    """The provisioned directories (`pvc-*` under `base`) no PersistentVolume's local path
    names: their volume was deleted, so is the data."""
    base = os.path.normpath(base)
    named = set()
    for raw in volumes.values():
        path = ((raw.get("spec") or {}).get("local") or {}).get("path") if isinstance(raw, Mapping) else None
        if isinstance(path, str) and os.path.dirname(os.path.normpath(path)) == base:
            named.add(os.path.basename(os.path.normpath(path)))
    return sorted(n for n in names if n.startswith(PROVISIONED_PREFIX) and n not in named)


def unmounted_message(volumes: list[str], error: str) -> str:
    """upstream's FailedMount text (kubelet.go, volume_manager.go WaitForAttachAndMount)."""
    listed = " ".join(volumes)
    return (f"Unable to attach or mount volumes: unmounted volumes=[{listed}], unattached volumes=[], "
            f"failed to process volumes=[{listed}]: {error}")


def read_only_claims(pod: Pod) -> frozenset[str]:
    """The claim volumes the pod mounts read-only (`persistentVolumeClaim.readOnly`)."""
    try:
        return frozenset(name for name, source in claim_sources(pod).items() if source.read_only)
    except ClaimError:  # prepare refused the pod already
        return frozenset()


def uses_claims(pod: Pod | None) -> bool:
    """Whether a pod has a claim volume (a PersistentVolume change may concern it)."""
    volumes = (pod.spec.volumes if pod is not None and pod.spec else None) or []
    return any(CLAIM_SOURCE in (v.model_extra or {}) for v in volumes)
