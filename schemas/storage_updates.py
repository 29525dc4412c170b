"""The UPDATE rules of PersistentVolume, PersistentVolumeClaim and StorageClass, as
upstream's ValidatePersistentVolumeUpdate, ValidatePersistentVolumeClaimUpdate and
ValidateStorageClassUpdate, with their messages. Pure, on the objects' JSON (both
admitted and defaulted); merged into ``schemas.updates.UPDATE_CHECKS``.

One difference: the API's desired state holds no status, so "the claim is bound"
(upstream: ``status.phase == Bound``) is read as "``spec.volumeName`` is set", which the
binder writes when it binds (``services.controllers.volume``). Upstream's
validateStorageClassUpgradeFromNil does not look at binding; here a class is given
from nil only to an unbound claim (as the KEP-3333 controller does), so a bound
claim never changes class under its volume.
"""

from __future__ import annotations

from typing import Any

from schemas.quantity import parse_quantity
from schemas.storage import STORAGE
from schemas.validation import FieldError

Doc = dict[str, Any]
IMMUTABLE = "field is immutable"
PV_SOURCES = ("hostPath", "local")
CLAIM_SPEC_IMMUTABLE = ("spec is immutable after creation except resources.requests and "
                        "volumeAttributesClassName for bound claims")


def _dict(value: object) -> Doc:
    return value if isinstance(value, dict) else {}


def _semantic(value: object) -> object:
    """Semantic equality's view: absent, null, "", [] and {} are the same."""
    if isinstance(value, dict):
        items = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in items.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def _changed(new: object, old: object) -> bool:
    return _semantic(new) != _semantic(old)


def storage_request(claim: Doc) -> str | None:
    """``spec.resources.requests.storage`` of a claim's JSON (None when absent)."""
    value = _dict(_dict(_dict(claim.get("spec")).get("resources")).get("requests")).get(STORAGE)
    return value if isinstance(value, str) else None


def check_pv_update(new: Doc, old: Doc) -> list[FieldError]:
    """The volume source and volumeMode never change; nodeAffinity, once set, neither."""
    spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    errs: list[FieldError] = []
    if _changed({k: spec.get(k) for k in PV_SOURCES}, {k: old_spec.get(k) for k in PV_SOURCES}):
        errs.append(FieldError("spec.persistentvolumesource", "Forbidden", None,
                               "spec.persistentvolumesource is immutable after creation"))
    if _changed(spec.get("volumeMode"), old_spec.get("volumeMode")):
        errs.append(FieldError("volumeMode", "Invalid", spec.get("volumeMode"), IMMUTABLE))
    if old_spec.get("nodeAffinity") is not None and _changed(spec.get("nodeAffinity"), old_spec.get("nodeAffinity")):
        errs.append(FieldError("nodeAffinity", "Invalid", spec.get("nodeAffinity"),
                               IMMUTABLE + ", except for updating from beta label to GA"))
    return errs


def check_pvc_update(new: Doc, old: Doc) -> list[FieldError]:
    """The spec is immutable but for volumeName (set once), storageClassName (set once,
    from nil, on an unbound claim: the retroactive default class; "" is a class choice,
    never replaced) and, on a bound claim, the storage request, which never shrinks."""
    spec, old_spec = dict(_dict(new.get("spec"))), dict(_dict(old.get("spec")))
    bound = bool(old_spec.get("volumeName"))
    if not bound:
        old_spec["volumeName"] = spec.get("volumeName")
        if old_spec.get("storageClassName") is None and spec.get("storageClassName") is not None:
            old_spec["storageClassName"] = spec["storageClassName"]
    if bound:
        spec["resources"] = {**_dict(spec.get("resources")), "requests": _dict(_dict(old_spec.get("resources")).get("requests"))}
        spec["volumeAttributesClassName"] = old_spec.get("volumeAttributesClassName")
    errs: list[FieldError] = []
    if _changed(spec, old_spec):
        errs.append(FieldError("spec", "Forbidden", None, CLAIM_SPEC_IMMUTABLE))
    new_size, old_size = storage_request(new), storage_request(old)
    if new_size is not None and old_size is not None and parse_quantity(new_size) < parse_quantity(old_size):
        errs.append(FieldError("spec.resources.requests.storage", "Forbidden", None,
                               "field can not be less than previous value"))
    if _changed(_dict(new.get("spec")).get("volumeMode"), _dict(old.get("spec")).get("volumeMode")):
        errs.append(FieldError("volumeMode", "Invalid", _dict(new.get("spec")).get("volumeMode"), IMMUTABLE))
    return errs


def check_storage_class_update(new: Doc, old: Doc) -> list[FieldError]:
    """parameters, provisioner, reclaimPolicy and volumeBindingMode are immutable."""
    return [FieldError(field, "Invalid", new.get(field), IMMUTABLE)
            for field in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode")
            if _changed(new.get(field), old.get(field))]


STORAGE_UPDATE_CHECKS = {
    "PersistentVolume": check_pv_update,
    "PersistentVolumeClaim": check_pvc_update,
    "StorageClass": check_storage_class_update,
}
