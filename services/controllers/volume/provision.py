"""Kafkube's local provisioner (`kafkube.io/local`), pure: the PersistentVolume made for a
claim on its selected node. Name `pvc-<claim uid>` (one per claim, whoever makes it,
however often), path `<kubelet root>/<node>/volumes/pvc-<claim uid>` (the node's kubelet
creates the directory when a pod mounts it and removes it once the volume is deleted),
node affinity `kubernetes.io/hostname In [node]`, capacity the claim's request, the
class's reclaim policy and mount options, the claimRef with the claim's uid."""

from __future__ import annotations

from typing import Any

from schemas.storage import HOSTNAME_LABEL, LOCAL_PROVISIONER, PROVISIONED_BY_ANNOTATION, STORAGE
from services.controllers.volume.world import Doc, meta, reference, spec


def provisioned_name(claim: Doc) -> str:
    return f"pvc-{meta(claim).get('uid')}"


def local_path(kubelet_root: str, node: str, name: str) -> str:
    return f"{kubelet_root.rstrip('/')}/{node}/volumes/{name}"


def local_volume(claim: Doc, cls: Doc, node: str, kubelet_root: str) -> dict[str, Any]:
    name = provisioned_name(claim)
    volume_spec: dict[str, Any] = {
        "capacity": {STORAGE: ((spec(claim).get("resources") or {}).get("requests") or {}).get(STORAGE)},
        "accessModes": list(spec(claim).get("accessModes") or []),
        "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
        "storageClassName": meta(cls).get("name"),
        "volumeMode": spec(claim).get("volumeMode") or "Filesystem",
        "claimRef": reference(claim),
        "local": {"path": local_path(kubelet_root, node, name)},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}]}]}},
    }
    if cls.get("mountOptions"):
        volume_spec["mountOptions"] = list(cls["mountOptions"])
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY_ANNOTATION: LOCAL_PROVISIONER}},
            "spec": volume_spec}
