"""PersistentVolume, PersistentVolumeClaim (v1) and StorageClass (storage.k8s.io/v1):
the models, upstream's defaults and validation with kube-apiserver's messages
(pkg/apis/core/validation ValidatePersistentVolume*/ValidatePersistentVolumeClaim*,
pkg/apis/storage/validation ValidateStorageClass*).

Used by the registry (kinds, topics), ``schemas.defaults`` / ``schemas.checks`` /
``schemas.updates`` (admission), ``schemas.printing`` (kubectl's columns), the API's
storage admission (``services.api.storage_admission``) and the volume controllers
(``services.controllers.volume``), the scheduler and the kubelet, which read these kinds.
"""

from __future__ import annotations

import os.path
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, ClassVar, Literal

from schemas.meta import Condition, KubeModel, LabelSelector, ObjectReference, Resource, Time
from schemas.pod import NodeSelector, NodeSelectorRequirement
from schemas.quantity import Quantity, parse_quantity
from schemas.validation import (
    FieldError,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    not_supported,
)

STORAGE_GROUP = "storage.k8s.io"
STORAGE = "storage"
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]  # sorted, as upstream lists them
PV_RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"]
CLASS_RECLAIM_POLICIES = ["Delete", "Retain"]
VOLUME_MODES = ["Block", "Filesystem"]
BINDING_MODES = ["Immediate", "WaitForFirstConsumer"]
HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]
PV_PHASES = ("Pending", "Available", "Bound", "Released", "Failed")
PVC_PHASES = ("Pending", "Bound", "Lost")
MAX_PARAMETERS = 512
MAX_PARAMETERS_BYTES = 256 * 1024

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"
BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner"
HOSTNAME_LABEL = "kubernetes.io/hostname"
LOCAL_PROVISIONER = "kafkube.io/local"
DEFAULT_CLASS_NAME = "local-path"


# -- models ----------------------------------------------------------------------------------
class HostPathVolumeSource(KubeModel):
    path: str = ""
    type: str | None = None


class LocalVolumeSource(KubeModel):
    path: str = ""
    fs_type: str | None = None


class VolumeNodeAffinity(KubeModel):
    required: NodeSelector | None = None


class PersistentVolumeSpec(KubeModel):
    """The sources Kafkube serves are hostPath and local; others stay extra fields."""

    capacity: dict[str, Quantity] | None = None
    access_modes: list[str] | None = None
    persistent_volume_reclaim_policy: str | None = None
    storage_class_name: str | None = None
    claim_ref: ObjectReference | None = None
    node_affinity: VolumeNodeAffinity | None = None
    volume_mode: str | None = None
    mount_options: list[str] | None = None
    volume_attributes_class_name: str | None = None
    host_path: HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None


class PersistentVolumeStatus(KubeModel):
    phase: str | None = None
    message: str | None = None
    reason: str | None = None
    last_phase_transition_time: Time | None = None


class PersistentVolume(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolume"] = "PersistentVolume"
    spec: PersistentVolumeSpec = PersistentVolumeSpec()
    status: PersistentVolumeStatus | None = None


class VolumeResourceRequirements(KubeModel):
    requests: dict[str, Quantity] | None = None
    limits: dict[str, Quantity] | None = None


class PersistentVolumeClaimSpec(KubeModel):
    access_modes: list[str] | None = None
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements = VolumeResourceRequirements()
    volume_name: str | None = None
    storage_class_name: str | None = None
    volume_mode: str | None = None
    volume_attributes_class_name: str | None = None


class PersistentVolumeClaimStatus(KubeModel):
    phase: str | None = None
    access_modes: list[str] | None = None
    capacity: dict[str, Quantity] | None = None
    conditions: list[Condition] | None = None
    allocated_resources: dict[str, Quantity] | None = None


class PersistentVolumeClaim(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["PersistentVolumeClaim"] = "PersistentVolumeClaim"
    spec: PersistentVolumeClaimSpec = PersistentVolumeClaimSpec()
    status: PersistentVolumeClaimStatus | None = None


class TopologySelectorLabelRequirement(KubeModel):
    key: str = ""
    values: list[str] = []


class TopologySelectorTerm(KubeModel):
    match_label_expressions: list[TopologySelectorLabelRequirement] | None = None


class StorageClass(Resource):
    """No spec: the fields sit at the top level, as upstream's."""

    namespaced: ClassVar[bool] = False
    api_version: Literal["storage.k8s.io/v1"] = "storage.k8s.io/v1"
    kind: Literal["StorageClass"] = "StorageClass"
    provisioner: str = ""
    parameters: dict[str, str] | None = None
    reclaim_policy: str | None = None
    mount_options: list[str] | None = None
    allow_volume_expansion: bool | None = None
    volume_binding_mode: str | None = None
    allowed_topologies: list[TopologySelectorTerm] | None = None


# -- helpers -----------------------------------------------------------------------------------
def storage_of(resources: dict[str, str] | None) -> Decimal | None:
    """The ``storage`` quantity of a capacity/requests map, as bytes; None when absent."""
    value = (resources or {}).get(STORAGE)
    return None if value is None else parse_quantity(value)


def is_default_class(storage_class: dict[str, Any]) -> bool:
    """A StorageClass's JSON annotated as the default (GA or beta annotation), as upstream's
    IsDefaultAnnotation."""
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return "true" in (annotations.get(DEFAULT_CLASS_ANNOTATION), annotations.get(BETA_DEFAULT_CLASS_ANNOTATION))


def default_class(classes: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The default StorageClass, as upstream's GetDefaultClass: the newest of those
    annotated, then the first by name; None when no class is annotated. Used by the API's
    DefaultStorageClass admission and the volume controller's retroactive assignment."""
    defaults = sorted((c for c in classes if is_default_class(c)),
                      key=lambda c: str((c.get("metadata") or {}).get("name", "")))
    if not defaults:
        return None
    return max(defaults, key=lambda c: str((c.get("metadata") or {}).get("creationTimestamp", "")))


# -- defaults (SetDefaults_PersistentVolume*, SetDefaults_StorageClass) ------------------------
def default_persistent_volume(doc: dict[str, Any]) -> None:
    spec = doc.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")


def default_persistent_volume_claim(doc: dict[str, Any]) -> None:
    doc.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def default_storage_class(doc: dict[str, Any]) -> None:
    doc.setdefault("reclaimPolicy", "Delete")
    doc.setdefault("volumeBindingMode", "Immediate")


# -- create validation ------------------------------------------------------------------------
def _invalid(path: str, value: object, messages: list[str]) -> list[FieldError]:
    return [FieldError(path, "Invalid", value, m) for m in messages]


def _check_access_modes(path: str, modes: list[str], required: str) -> list[FieldError]:
    if not modes:
        return [FieldError(path, "Required", None, required)]
    errs = [not_supported(path, m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and any(m in ACCESS_MODES and m != "ReadWriteOncePod" for m in modes):
        errs.append(FieldError(path, "Forbidden", None, "may not use ReadWriteOncePod with other access modes"))
    return errs


def _check_positive(path: str, value: str) -> list[FieldError]:
    if parse_quantity(value) <= 0:
        return [FieldError(path, "Invalid", value, "must be greater than zero")]
    return []


def _check_requirement(path: str, req: NodeSelectorRequirement) -> list[FieldError]:
    """ValidateNodeSelectorRequirement (the operator is checked by the model)."""
    errs: list[FieldError] = []
    values = req.values or []
    if req.operator in ("In", "NotIn") and not values:
        errs.append(FieldError(f"{path}.values", "Required", None,
                               "must be specified when `operator` is 'In' or 'NotIn'"))
    elif req.operator in ("Exists", "DoesNotExist") and values:
        errs.append(FieldError(f"{path}.values", "Forbidden", None,
                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif req.operator in ("Gt", "Lt") and len(values) != 1:
        errs.append(FieldError(f"{path}.values", "Required", None,
                               "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    errs += _invalid(f"{path}.key", req.key, is_qualified_name(req.key))
    for i, value in enumerate(values):
        errs += _invalid(f"{path}.values[{i}]", value, is_label_value(value))
    return errs


def check_node_selector(path: str, selector: NodeSelector) -> list[FieldError]:
    """ValidateNodeSelector: at least one term; each term's expressions."""
    terms_path = f"{path}.nodeSelectorTerms"
    if not selector.node_selector_terms:
        return [FieldError(terms_path, "Required", None, "must have at least one node selector term")]
    errs: list[FieldError] = []
    for i, term in enumerate(selector.node_selector_terms):
        for j, req in enumerate(term.match_expressions or []):
            errs += _check_requirement(f"{terms_path}[{i}].matchExpressions[{j}]", req)
    return errs


def _check_pv_source(spec: PersistentVolumeSpec) -> list[FieldError]:
    """Exactly one volume source: hostPath or local (a local PV needs node affinity)."""
    errs: list[FieldError] = []
    if spec.host_path is not None:
        if not spec.host_path.path:
            errs.append(FieldError("spec.hostPath.path", "Required"))
        else:
            if ".." in spec.host_path.path.split("/"):
                errs.append(FieldError("spec.hostPath.path", "Invalid", spec.host_path.path, "must not contain '..'"))
            if spec.host_path.type is not None and spec.host_path.type not in HOST_PATH_TYPES:
                errs.append(not_supported("spec.hostPath.type", spec.host_path.type, HOST_PATH_TYPES))
    if spec.local is not None:
        if spec.host_path is not None:
            return errs + [FieldError("spec.local", "Forbidden", None, "may not specify more than 1 volume type")]
        if not spec.local.path:
            errs.append(FieldError("spec.local.path", "Required"))
        elif ".." in spec.local.path.split("/"):
            errs.append(FieldError("spec.local.path", "Invalid", spec.local.path, "must not contain '..'"))
        if spec.node_affinity is None:
            errs.append(FieldError("spec.nodeAffinity", "Required", None, "Local volume requires node affinity"))
    elif spec.host_path is None:
        errs.append(FieldError("spec", "Required", None, "must specify a volume type"))
    return errs


def _check_capacity(capacity: dict[str, str]) -> list[FieldError]:
    if not capacity:
        return [FieldError("spec.capacity", "Required"),
                not_supported("spec.capacity", capacity, [STORAGE])]
    errs = [] if list(capacity) == [STORAGE] else [not_supported("spec.capacity", capacity, [STORAGE])]
    for key, value in capacity.items():
        errs += _check_positive(f"spec.capacity[{key}]", value)
    return errs


def check_persistent_volume(pv: PersistentVolume) -> list[FieldError]:
    """ValidatePersistentVolumeSpec (not inline) for the hostPath and local sources."""
    spec = pv.spec
    errs = _check_access_modes("spec.accessModes", spec.access_modes or [], "")
    errs += _check_capacity(spec.capacity or {})
    policy = spec.persistent_volume_reclaim_policy
    if policy and policy not in PV_RECLAIM_POLICIES:
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", policy, PV_RECLAIM_POLICIES))
    if spec.node_affinity is not None:
        if spec.node_affinity.required is None:
            errs.append(FieldError("spec.nodeAffinity.required", "Required", None, "must specify required node constraints"))
        else:
            errs += check_node_selector("spec.nodeAffinity.required", spec.node_affinity.required)
    errs += _check_pv_source(spec)
    if spec.host_path is not None and os.path.normpath(spec.host_path.path or ".") == "/" and policy == "Recycle":
        errs.append(FieldError("spec.persistentVolumeReclaimPolicy", "Forbidden", None,
                               "may not be 'recycle' for a hostPath mount of '/'"))
    if spec.storage_class_name:
        errs += _invalid("spec.storageClassName", spec.storage_class_name, is_dns1123_subdomain(spec.storage_class_name))
    if spec.volume_mode is not None and spec.volume_mode not in VOLUME_MODES:
        errs.append(not_supported("spec.volumeMode", spec.volume_mode, VOLUME_MODES))
    return errs


def check_claim_spec(path: str, spec: PersistentVolumeClaimSpec) -> list[FieldError]:
    """ValidatePersistentVolumeClaimSpec (also for StatefulSet volumeClaimTemplates)."""
    errs = _check_access_modes(f"{path}.accessModes", spec.access_modes or [], "at least 1 access mode is required")
    storage = (spec.resources.requests or {}).get(STORAGE)
    if storage is None:
        errs.append(FieldError(f"{path}.resources[{STORAGE}]", "Required"))
    else:
        errs += _check_positive(f"{path}.resources[{STORAGE}]", storage)
    if spec.storage_class_name:
        errs += _invalid(f"{path}.storageClassName", spec.storage_class_name,
                         is_dns1123_subdomain(spec.storage_class_name))
    if spec.volume_mode is not None and spec.volume_mode not in VOLUME_MODES:
        errs.append(not_supported(f"{path}.volumeMode", spec.volume_mode, VOLUME_MODES))
    return errs


def _check_label_selector(path: str, selector: LabelSelector) -> list[FieldError]:
    """ValidateLabelSelector (an empty selector is allowed: it matches every volume)."""
    errs: list[FieldError] = []
    for key, value in (selector.match_labels or {}).items():
        errs += _invalid(f"{path}.matchLabels", key, is_qualified_name(key))
        errs += _invalid(f"{path}.matchLabels", value, is_label_value(value))
    for i, req in enumerate(selector.match_expressions or []):
        at = f"{path}.matchExpressions[{i}]"
        errs += _invalid(f"{at}.key", req.key, is_qualified_name(req.key))
        if req.operator in ("In", "NotIn") and not req.values:
            errs.append(FieldError(f"{at}.values", "Required", None,
                                   "must be specified when `operator` is 'In' or 'NotIn'"))
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            errs.append(FieldError(f"{at}.values", "Forbidden", None,
                                   "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    return errs


def check_persistent_volume_claim(pvc: PersistentVolumeClaim) -> list[FieldError]:
    errs = check_claim_spec("spec", pvc.spec)
    if pvc.spec.selector is not None:
        errs += _check_label_selector("spec.selector", pvc.spec.selector)
    return errs


def _check_parameters(params: dict[str, str]) -> list[FieldError]:
    if len(params) > MAX_PARAMETERS:
        return [FieldError("parameters", "TooLong", None, f"must have at most {MAX_PARAMETERS} items")]
    errs = [FieldError("parameters", "Invalid", k, "field can not be empty.") for k in params if not k]
    if sum(len(k) + len(v) for k, v in params.items()) > MAX_PARAMETERS_BYTES:
        errs.append(FieldError("parameters", "TooLong", None, f"may not be more than {MAX_PARAMETERS_BYTES} bytes"))
    return errs


def _check_topologies(terms: list[TopologySelectorTerm]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: list[dict[str, frozenset[str]]] = []
    for i, term in enumerate(terms):
        exprs: dict[str, frozenset[str]] = {}
        for j, req in enumerate(term.match_label_expressions or []):
            at = f"allowedTopologies[{i}].matchLabelExpressions[{j}]"
            if not req.values:
                errs.append(FieldError(f"{at}.values", "Required"))
            errs += [FieldError(f"{at}.values[{k}]", "Duplicate", v)
                     for k, v in enumerate(req.values) if v in req.values[:k]]
            errs += _invalid(f"{at}.key", req.key, is_qualified_name(req.key))
            if req.key in exprs:
                errs.append(FieldError(f"{at}.key", "Duplicate", req.key))
            exprs[req.key] = frozenset(req.values)
        if exprs in seen:
            errs.append(FieldError(f"allowedTopologies[{i}].matchLabelExpressions", "Duplicate", ""))
        seen.append(exprs)
    return errs


def check_storage_class(cls: StorageClass) -> list[FieldError]:
    """ValidateStorageClass: provisioner, parameters, reclaimPolicy, volumeBindingMode, allowedTopologies
    (an absent volumeBindingMode is defaulted to Immediate before it is stored)."""
    errs: list[FieldError] = []
    if not cls.provisioner:
        errs.append(FieldError("provisioner", "Required"))
    else:
        errs += _invalid("provisioner", cls.provisioner.lower(), is_qualified_name(cls.provisioner.lower()))
    errs += _check_parameters(cls.parameters or {})
    if cls.reclaim_policy and cls.reclaim_policy not in CLASS_RECLAIM_POLICIES:
        errs.append(not_supported("reclaimPolicy", cls.reclaim_policy, CLASS_RECLAIM_POLICIES))
    if cls.volume_binding_mode is not None and cls.volume_binding_mode not in BINDING_MODES:
        errs.append(not_supported("volumeBindingMode", cls.volume_binding_mode, BINDING_MODES))
    return errs + _check_topologies(cls.allowed_topologies or [])


STORAGE_CHECKS: dict[str, Callable[[Any], list[FieldError]]] = {
    "PersistentVolume": check_persistent_volume,
    "PersistentVolumeClaim": check_persistent_volume_claim,
    "StorageClass": check_storage_class,
}
"""Kind rules, merged into ``schemas.checks.KIND_CHECKS``."""

STORAGE_DEFAULTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "PersistentVolume": default_persistent_volume,
    "PersistentVolumeClaim": default_persistent_volume_claim,
    "StorageClass": default_storage_class,
}
"""Kind defaults, merged into ``schemas.defaults.DEFAULTERS``."""


def default_local_class() -> dict[str, Any]:
    """The StorageClass every API instance ensures at start: `local-path`, the default,
    provisioned by Kafkube's local provisioner once the consumer pod is scheduled."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": LOCAL_PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}
