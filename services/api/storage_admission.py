"""Storage admission, as kube-apiserver's plugins do it:

- DefaultStorageClass: a claim created without `spec.storageClassName` gets the default
  StorageClass (annotated `storageclass.kubernetes.io/is-default-class: "true"`; of several,
  the newest, then the first by name: `schemas.storage.default_class`); none: left unset
  (the volume controller assigns it later, once a default exists: retroactive assignment).
- StorageObjectInUseProtection: a created claim gets the `kubernetes.io/pvc-protection`
  finalizer, a created PersistentVolume `kubernetes.io/pv-protection`.
- PersistentVolumeClaimResize: a claim's storage request may grow only when the claim is
  bound and its StorageClass has `allowVolumeExpansion: true` (upstream's messages).
- On APPLY, the fields the server set and a manifest never names stay: a claim's
  `storageClassName` and `volumeName`, a volume's `claimRef` (as `kubectl apply` leaves them).

Pure: JSON and the StorageClasses (looked up by the writer) in, JSON out or an
AdmissionError. Called by `services.api.decide`.
"""

from __future__ import annotations

from typing import Any

from schemas.quantity import parse_quantity
from schemas.storage import PV_PROTECTION_FINALIZER, PVC_PROTECTION_FINALIZER, default_class
from schemas.storage_updates import storage_request
from services.api.admission import AdmissionError

Doc = dict[str, Any]
STORAGE_KINDS = frozenset({"PersistentVolume", "PersistentVolumeClaim"})
KEPT_ON_APPLY = {"PersistentVolumeClaim": ("storageClassName", "volumeName"), "PersistentVolume": ("claimRef",)}
NOT_BOUND = "Only bound persistent volume claims can be expanded"
NOT_EXPANDABLE = ("only dynamically provisioned pvc can be resized and the storageclass that provisions "
                  "the pvc must support resize")


def _meta(obj: Doc) -> Doc:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _with_finalizer(obj: Doc, finalizer: str) -> Doc:
    meta = _meta(obj)
    finalizers = list(meta.get("finalizers") or [])
    if finalizer in finalizers:
        return obj
    return {**obj, "metadata": {**meta, "finalizers": [*finalizers, finalizer]}}


def admit_new(obj: Doc, classes: list[Doc]) -> Doc:
    """A claim or volume being created, with its default class and protection finalizer."""
    if obj.get("kind") == "PersistentVolume":
        return _with_finalizer(obj, PV_PROTECTION_FINALIZER)
    spec = obj.get("spec") or {}
    if spec.get("storageClassName") is None and (chosen := default_class(classes)) is not None:
        obj = {**obj, "spec": {**spec, "storageClassName": _meta(chosen).get("name")}}
    return _with_finalizer(obj, PVC_PROTECTION_FINALIZER)


def kept_on_apply(kind: str, body: Doc, current: Doc) -> Doc:
    """An applied manifest with the server-set fields it leaves out carried over."""
    fields, spec = KEPT_ON_APPLY.get(kind, ()), body.get("spec")
    if not fields or not isinstance(spec, dict):
        return body
    kept = {f: v for f in fields if f not in spec and (v := (current.get("spec") or {}).get(f)) is not None}
    return {**body, "spec": {**spec, **kept}} if kept else body


def check_resize(new: Doc, old: Doc, classes: list[Doc]) -> None:
    """Refuse a grown storage request on a claim that is not bound (no `spec.volumeName`),
    or whose class (the same before and after) does not allow expansion."""
    grown, was = storage_request(new), storage_request(old)
    if grown is None or was is None or parse_quantity(grown) <= parse_quantity(was):
        return
    if not (old.get("spec") or {}).get("volumeName"):
        raise _forbidden(new, NOT_BOUND)
    name = (new.get("spec") or {}).get("storageClassName")
    same = bool(name) and name == (old.get("spec") or {}).get("storageClassName")
    storage_class = next((c for c in classes if _meta(c).get("name") == name), None)
    if not same or storage_class is None or storage_class.get("allowVolumeExpansion") is not True:
        raise _forbidden(new, NOT_EXPANDABLE)


def _forbidden(claim: Doc, problem: str) -> AdmissionError:
    return AdmissionError("Forbidden", f'persistentvolumeclaims "{_meta(claim).get("name", "")}" is forbidden: {problem}')
