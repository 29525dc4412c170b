"""What the volume controller decides on: one immutable snapshot of the claims, volumes
and classes (desired JSON as the API stored it, statuses as observed), which claims a
running pod uses, and the clock. Built by the executor from its informer; built by hand
in tests. Pure accessors only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.storage import STORAGE
from schemas.quantity import parse_quantity
from services.controllers.machinery.writes import Target

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class World:
    claims: Mapping[str, Doc]  # "namespace/name" -> the desired claim
    volumes: Mapping[str, Doc]  # name -> the desired PersistentVolume
    classes: Mapping[str, Doc] = field(default_factory=dict)  # name -> StorageClass
    claim_status: Mapping[str, Doc] = field(default_factory=dict)  # "namespace/name" -> observed status
    volume_status: Mapping[str, Doc] = field(default_factory=dict)  # name -> observed status
    claims_in_use: frozenset[str] = frozenset()  # claims a pod that is not terminated names
    kubelet_root: str = "/var/lib/kafkube"
    now: datetime | None = None


def meta(obj: Doc) -> Doc:
    return obj.get("metadata") or {}


def spec(obj: Doc) -> Doc:
    return obj.get("spec") or {}


def key_of(claim: Doc) -> str:
    return f"{meta(claim).get('namespace') or 'default'}/{meta(claim).get('name', '')}"


def target(obj: Doc) -> Target:
    return Target.of(obj)


def storage(values: Mapping[str, Any] | None) -> int:
    """Bytes of a `storage` quantity in a capacity or requests map (0 when absent)."""
    value = (values or {}).get(STORAGE)
    return int(parse_quantity(value)) if value is not None else 0


def requested(claim: Doc) -> int:
    return storage((spec(claim).get("resources") or {}).get("requests"))


def class_name(obj: Doc) -> str:
    """A claim's or volume's class; no class is ``""``, as upstream's GetPersistentVolume(Claim)Class."""
    return str(spec(obj).get("storageClassName") or "")


def claim_ref(volume: Doc) -> tuple[str, str, str | None] | None:
    """(namespace, name, uid) of the claim a volume names, None when it names none."""
    ref = spec(volume).get("claimRef")
    if not isinstance(ref, dict) or not ref.get("name"):
        return None
    return (str(ref.get("namespace") or "default"), str(ref["name"]), ref.get("uid") or None)


def names_claim(volume: Doc, claim: Doc) -> bool:
    """The volume's claimRef names this claim (and no other uid)."""
    ref = claim_ref(volume)
    if ref is None or f"{ref[0]}/{ref[1]}" != key_of(claim):
        return False
    return ref[2] in (None, meta(claim).get("uid"))


def deleting(obj: Doc) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def phase(world: World, volume: Doc) -> str | None:
    return (world.volume_status.get(meta(volume).get("name", "")) or {}).get("phase")


def reference(claim: Doc) -> Doc:
    """The claimRef a volume bound to `claim` carries."""
    m = meta(claim)
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": m.get("namespace") or "default",
            "name": m.get("name"), "uid": m.get("uid"), "resourceVersion": m.get("resourceVersion")}
