"""Kubernetes' UPDATE rules: what may change once an object exists, and how.

Two pure steps, as Kubernetes' API server takes them on every update:
``prepare_update`` is the update strategy (a Service keeps its allocated clusterIP
when the body leaves it out; a type change wipes the addresses the new type no
longer uses), ``check_update`` is ``ValidateUpdate`` (``ValidateObjectMetaUpdate``,
``ValidatePodUpdate``, ``ValidateServiceUpdate``, ... of pkg/apis/*/validation), with
Kubernetes' own field paths and messages. Both work on the objects' JSON. The create
rules (``schemas.checks``) have already passed when these run.

Called by ``services.api.decide`` for every update, apply and patch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.batch import check_job_update
from schemas.controller_revision import check_controller_revision_update
from schemas.rbac import check_role_ref_update
from schemas.networking import check_class_update
from schemas.runtime_class import check_runtime_class_update
from schemas.statefulset import check_statefulset_update
from schemas.storage_updates import STORAGE_UPDATE_CHECKS
from schemas.validation import FieldError, format_value

Doc = dict[str, Any]
UpdateCheck = Callable[[Doc, Doc], list[FieldError]]

IMMUTABLE = "field is immutable"
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
MAX_INT32 = 2**31 - 1
UPDATABLE_POD_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(UPDATABLE_POD_FIELDS)
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
NODE_CIDR_FORBIDDEN = 'node updates may not change podCIDR except from "" to valid'
NODE_PROVIDER_FORBIDDEN = 'node updates may not change providerID except from "" to valid'


# -- semantic equality --------------------------------------------------------------------
def _empty(value: object) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def _semantic(value: object) -> object:
    """The value as Kubernetes' semantic equality sees it: an absent field, null, "",
    [] and {} are all the same (Go's zero values and nil/empty collections)."""
    if isinstance(value, dict):
        items = {key: _semantic(item) for key, item in value.items()}
        return {key: item for key, item in items.items() if not _empty(item)}
    if isinstance(value, list):
        return [_semantic(item) for item in value]
    return value


def same(new: object, old: object) -> bool:
    """``apiequality.Semantic.DeepEqual`` on JSON values."""
    return _semantic(new) == _semantic(old)


def _immutable(path: str, new: object, old: object) -> list[FieldError]:
    """Kubernetes' ``ValidateImmutableField``."""
    return [] if same(new, old) else [FieldError(path, "Invalid", new, IMMUTABLE)]


def _dict(value: object) -> Doc:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


# -- the entry points ---------------------------------------------------------------------
def check_update(kind: str, new: Doc, old: Doc) -> list[FieldError]:
    """Every rule the change from ``old`` to ``new`` breaks ([] when it is allowed).
    Both objects are admitted and defaulted; ``new`` went through ``prepare_update``."""
    errs = check_metadata_update(_dict(new.get("metadata")), _dict(old.get("metadata")))
    check = UPDATE_CHECKS.get(kind)
    return errs + (check(new, old) if check else [])


def prepare_update(kind: str, new: Doc, old: Doc) -> Doc:
    """``new`` as Kubernetes' update strategy leaves it before validation (a new dict;
    the inputs are not touched). Safe on raw, not yet validated bodies."""
    if kind == "Service" and isinstance(new.get("spec"), dict):
        return {**new, "spec": prepare_service_spec(new["spec"], _dict(old.get("spec")))}
    return new


# -- metadata (ValidateObjectMetaUpdate, after rest.BeforeUpdate) --------------------------
def check_metadata_update(new: Doc, old: Doc) -> list[FieldError]:
    """name, namespace and uid never change; deletionTimestamp and
    deletionGracePeriodSeconds cannot be set by an update; no finalizer can be added
    to an object being deleted. A creationTimestamp in the body is ignored (the
    server keeps its own), as is a uid left out."""
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        errs += _no_new_finalizers(_list(new.get("finalizers")), _list(old.get("finalizers")))
    errs += _immutable("metadata.name", new.get("name") or "", old.get("name") or "")
    errs += _immutable("metadata.namespace", new.get("namespace") or "", old.get("namespace") or "")
    if new.get("uid"):
        errs += _immutable("metadata.uid", new["uid"], old.get("uid") or "")
    if new.get("deletionTimestamp") and not old.get("deletionTimestamp"):
        errs += _immutable("metadata.deletionTimestamp", new["deletionTimestamp"], None)
    grace, old_grace = new.get("deletionGracePeriodSeconds"), old.get("deletionGracePeriodSeconds")
    if grace is not None or old_grace is None:
        errs += _immutable("metadata.deletionGracePeriodSeconds", grace, old_grace)
    return errs


def _no_new_finalizers(new: list[Any], old: list[Any]) -> list[FieldError]:
    extra = sorted(set(map(str, new)) - set(map(str, old)))
    if not extra:
        return []
    found = "[]string{" + ", ".join(f'"{name}"' for name in extra) + "}"
    return [FieldError("metadata.finalizers", "Forbidden", detail="no new finalizers can be "
                       f"added if the object is being deleted, found new finalizers {found}")]


# -- Pod (ValidatePodUpdate) --------------------------------------------------------------
def check_pod_update(new: Doc, old: Doc) -> list[FieldError]:
    errs = _pod_annotation_updates(_dict(_dict(new.get("metadata")).get("annotations")),
                                   _dict(_dict(old.get("metadata")).get("annotations")))
    spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    for field in ("containers", "initContainers"):
        found, stop = _container_updates(f"spec.{field}", _list(spec.get(field)), _list(old_spec.get(field)))
        errs += found
        if stop:
            return errs
    errs += _active_deadline_update(spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds"))
    errs += _only_added_tolerations(_list(spec.get("tolerations")), _list(old_spec.get("tolerations")))
    errs += _only_deleted_gates(_list(spec.get("schedulingGates")), _list(old_spec.get("schedulingGates")))
    munged = _munged_pod_spec(spec, old_spec)
    if not same(munged, old_spec):
        errs.append(FieldError("spec", "Forbidden",
                               detail=f"{POD_UPDATE_FORBIDDEN}\n{_spec_diff(old_spec, munged)}"))
    return errs


def _pod_annotation_updates(new: Doc, old: Doc) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in old.items():
        if key in new and new[key] == value:
            continue
        if key.startswith(APPARMOR_PREFIX):
            errs.append(_forbidden_annotation(key, "may not remove or update AppArmor annotations"))
        if key == MIRROR_POD_ANNOTATION:
            errs.append(_forbidden_annotation(key, "may not remove or update mirror pod annotation"))
    for key in new.keys() - old.keys():
        if key.startswith(APPARMOR_PREFIX):
            errs.append(_forbidden_annotation(key, "may not add AppArmor annotations"))
        if key == MIRROR_POD_ANNOTATION:
            errs.append(_forbidden_annotation(key, "may not add mirror pod annotation"))
    return errs


def _forbidden_annotation(key: str, detail: str) -> FieldError:
    return FieldError(f"metadata.annotations[{key}]", "Forbidden", detail=detail)


def _container_updates(path: str, new: list[Any], old: list[Any]) -> tuple[list[FieldError], bool]:
    """Kubernetes' ``ValidateContainerUpdates``: (errors, stop checking)."""
    if len(new) != len(old):
        return [FieldError(path, "Forbidden", detail="pod updates may not add or remove containers")], True
    errs: list[FieldError] = []
    for i, container in enumerate(new):
        image = _dict(container).get("image")
        if not image:
            errs.append(FieldError(f"{path}[{i}].image", "Required"))
        elif isinstance(image, str) and image.strip() != image:
            errs.append(FieldError(f"{path}[{i}].image", "Invalid", image,
                                   "must not have leading or trailing whitespace"))
    return errs, False


def _active_deadline_update(new: object, old: object) -> list[FieldError]:
    """May be set, or lowered; never raised or removed."""
    path = "spec.activeDeadlineSeconds"
    if isinstance(new, int):
        if not 0 <= new <= MAX_INT32:
            return [FieldError(path, "Invalid", new, f"must be between 0 and {MAX_INT32}, inclusive")]
        if isinstance(old, int) and old < new:
            return [FieldError(path, "Invalid", new, "must be less than or equal to previous value")]
    elif old is not None:
        return [FieldError(path, "Invalid", None, "must not update from a positive integer to nil value")]
    return []


def _toleration_key(toleration: object) -> object:
    return _semantic({k: v for k, v in _dict(toleration).items() if k != "tolerationSeconds"})


def _only_added_tolerations(new: list[Any], old: list[Any]) -> list[FieldError]:
    """Every existing toleration stays (only its tolerationSeconds may change)."""
    kept = [_toleration_key(t) for t in new]
    if all(_toleration_key(t) in kept for t in old):
        return []
    return [FieldError("spec.tolerations", "Forbidden",
                       detail="existing toleration can not be modified except its tolerationSeconds")]


def _only_deleted_gates(new: list[Any], old: list[Any]) -> list[FieldError]:
    had = {_dict(gate).get("name") for gate in old}
    return [FieldError(f"spec.schedulingGates[{i}].name", "Forbidden",
                       detail=f"only deletion is allowed, but found new scheduling gate '{name}'")
            for i, name in enumerate(_dict(gate).get("name") for gate in new) if name not in had]


def _munged_pod_spec(spec: Doc, old: Doc) -> Doc:
    """``spec`` with the fields an update may change put back to their old values."""
    munged = dict(spec)
    for field in ("containers", "initContainers"):
        if field in spec:
            olds = _list(old.get(field))
            munged[field] = [{**c, "image": _dict(olds[i]).get("image")} if isinstance(c, dict) else c
                             for i, c in enumerate(_list(spec[field]))]
    for field in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged.pop(field, None)
        if field in old:
            munged[field] = old[field]
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), old.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _spec_diff(old: Doc, new: Doc) -> str:
    """The changed fields, one `-` (stored) and one `+` (requested) line each."""
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        if not same(new.get(key), old.get(key)):
            lines += [f"- {key}: {format_value(old.get(key))}", f"+ {key}: {format_value(new.get(key))}"]
    return "\n".join(lines)


# -- Secret and ConfigMap -------------------------------------------------------------------
def check_secret_update(new: Doc, old: Doc) -> list[FieldError]:
    errs = _immutable("type", new.get("type") or "", old.get("type") or "")
    return errs + _frozen_data(new, old, ("data",))


def check_config_map_update(new: Doc, old: Doc) -> list[FieldError]:
    return _frozen_data(new, old, ("data", "binaryData"))


def _frozen_data(new: Doc, old: Doc, fields: tuple[str, ...]) -> list[FieldError]:
    """``immutable: true`` freezes the data, and itself. (A Secret's stringData is
    already folded into data by defaulting, as Kubernetes does before validation.)"""
    if old.get("immutable") is not True:
        return []
    errs: list[FieldError] = []
    if new.get("immutable") is not True:
        errs.append(FieldError("immutable", "Forbidden", detail=IMMUTABLE_WHEN_SET))
    for field in fields:
        if not same(new.get(field), old.get(field)):
            errs.append(FieldError(field, "Forbidden", detail=IMMUTABLE_WHEN_SET))
    return errs


# -- Deployment and ReplicaSet (apps/v1) ----------------------------------------------------
def check_selector_update(new: Doc, old: Doc) -> list[FieldError]:
    selector = _dict(new.get("spec")).get("selector")
    return _immutable("spec.selector", selector, _dict(old.get("spec")).get("selector"))


# -- Node (ValidateNodeUpdate) --------------------------------------------------------------
def _pod_cidrs(spec: Doc) -> list[Any]:
    cidrs = _list(spec.get("podCIDRs"))
    return cidrs or ([spec["podCIDR"]] if spec.get("podCIDR") else [])


def check_node_update(new: Doc, old: Doc) -> list[FieldError]:
    """podCIDRs and providerID may only be set once; externalID never changes."""
    spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    errs: list[FieldError] = []
    cidrs, old_cidrs = _pod_cidrs(spec), _pod_cidrs(old_spec)
    changed = 1 if len(cidrs) != len(old_cidrs) else sum(a != b for a, b in zip(cidrs, old_cidrs))
    if old_cidrs:
        errs += [FieldError("spec.podCIDRs", "Forbidden", detail=NODE_CIDR_FORBIDDEN)] * changed
    provider, old_provider = spec.get("providerID") or "", old_spec.get("providerID") or ""
    if old_provider and provider != old_provider:
        errs.append(FieldError("spec.providerID", "Forbidden", detail=NODE_PROVIDER_FORBIDDEN))
    if (spec.get("externalID") or "") != (old_spec.get("externalID") or ""):
        errs.append(FieldError("spec.externalID", "Forbidden", detail="may not be updated"))
    return errs


# -- Service (ValidateServiceUpdate; before it, the registry's patchAllocatedValues and
#    normalizeClusterIPs and the strategy's dropTypeDependentFields) ----------------------
def _type(spec: Doc) -> str:
    return str(spec.get("type") or "ClusterIP")


def _needs_cluster_ip(spec: Doc) -> bool:
    return _type(spec) != "ExternalName"


def _needs_node_port(spec: Doc) -> bool:
    return _type(spec) in ("NodePort", "LoadBalancer")


def _needs_health_check(spec: Doc) -> bool:
    return _type(spec) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _externally_accessible(spec: Doc) -> bool:
    return _needs_node_port(spec) or (_type(spec) == "ClusterIP" and bool(spec.get("externalIPs")))


def _ips(spec: Doc) -> list[Any]:
    return _list(spec.get("clusterIPs"))


def prepare_service_spec(spec: Doc, old: Doc) -> Doc:
    """The update strategy's view of a Service spec: addresses the body leaves out are
    the allocated ones, clusterIP and clusterIPs agree, and what the new type does not
    use (and the body did not change) is wiped."""
    spec = dict(spec)
    if _needs_cluster_ip(old) and _needs_cluster_ip(spec):
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not _ips(spec) and _ips(old):
            spec["clusterIPs"] = list(_ips(old))
    if _needs_health_check(old) and _needs_health_check(spec) and not spec.get("healthCheckNodePort"):
        if old.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = old["healthCheckNodePort"]
    _normalize_cluster_ips(spec, old)
    _drop_type_dependent(spec, old)
    return spec


def _normalize_cluster_ips(spec: Doc, old: Doc) -> None:
    ip, old_ip = spec.get("clusterIP") or "", old.get("clusterIP") or ""
    if _ips(old) and not _ips(spec) and ip == old_ip:
        spec["clusterIPs"] = list(_ips(old))
    if ip == old_ip or _ips(spec) != _ips(old):
        return
    if old_ip and not ip:
        spec.pop("clusterIPs", None)
    else:
        spec["clusterIPs"] = [ip]


def _drop_type_dependent(spec: Doc, old: Doc) -> None:
    def drop_if_same(*fields: str) -> None:
        if all(same(spec.get(f), old.get(f)) for f in fields):
            for f in fields:
                spec.pop(f, None)

    if _needs_cluster_ip(old) and not _needs_cluster_ip(spec):
        drop_if_same("clusterIP", "clusterIPs")
        drop_if_same("ipFamilies")
        drop_if_same("ipFamilyPolicy")
    if _needs_node_port(old) and not _needs_node_port(spec) and isinstance(spec.get("ports"), list):
        node_ports = {_dict(p).get("nodePort") for p in _list(old.get("ports"))}
        if all(_dict(p).get("nodePort") in node_ports | {None, 0} for p in spec["ports"]):
            spec["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} if isinstance(p, dict) else p
                             for p in spec["ports"]]
    if _needs_health_check(old) and not _needs_health_check(spec):
        drop_if_same("healthCheckNodePort")
    if _type(old) == "LoadBalancer" and _type(spec) != "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not None:
            drop_if_same("allocateLoadBalancerNodePorts")
        drop_if_same("loadBalancerClass")
    if _externally_accessible(old) and not _externally_accessible(spec):
        drop_if_same("externalTrafficPolicy")


def check_service_update(new: Doc, old: Doc) -> list[FieldError]:
    spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
    errs = _external_name_addresses(spec) + _cluster_ips_in_sync(spec)
    errs += _cluster_ips_update(spec, old_spec) + _ip_families_update(spec, old_spec)
    if _type(spec) == "LoadBalancer" and _type(old_spec) == "LoadBalancer":
        if spec.get("loadBalancerClass") != old_spec.get("loadBalancerClass"):
            errs.append(FieldError("spec.loadBalancerClass", "Invalid", spec.get("loadBalancerClass"),
                                   "may not change once set"))
    if _needs_health_check(spec) and _needs_health_check(old_spec):
        if (spec.get("healthCheckNodePort") or 0) != (old_spec.get("healthCheckNodePort") or 0):
            errs.append(FieldError("spec.healthCheckNodePort", "Forbidden", detail=IMMUTABLE))
    return errs


def _external_name_addresses(spec: Doc) -> list[FieldError]:
    if _needs_cluster_ip(spec):
        return []
    fields = [f for f in ("clusterIPs", "ipFamilies") if spec.get(f)]
    fields += ["ipFamilyPolicy"] if spec.get("ipFamilyPolicy") is not None else []
    return [FieldError(f"spec.{f}", "Forbidden", detail="may not be set for ExternalName services")
            for f in fields]


def _cluster_ips_in_sync(spec: Doc) -> list[FieldError]:
    ips = _ips(spec)
    if not _needs_cluster_ip(spec) or not ips:
        return []
    if not spec.get("clusterIP"):
        return [FieldError("spec.clusterIPs", "Invalid", ips, "must be empty when `clusterIP` is not specified")]
    if ips[0] != spec["clusterIP"]:
        return [FieldError("spec.clusterIPs", "Invalid", ips, "first value must match `clusterIP`")]
    return []


def _headless(spec: Doc) -> bool:
    return _ips(spec) == ["None"]


def _cluster_ips_update(spec: Doc, old: Doc) -> list[FieldError]:
    """The primary clusterIP never changes; a secondary one may be added, or released
    with ipFamilyPolicy SingleStack. Not checked to, from or on ExternalName."""
    if not (_needs_cluster_ip(spec) and _needs_cluster_ip(old)) or (_headless(spec) and _headless(old)):
        return []
    ips, old_ips = _ips(spec), _ips(old)
    changed = FieldError("spec.clusterIPs[0]", "Invalid", ips or None, "may not change once set")
    if len(ips) == len(old_ips):
        return [FieldError(f"spec.clusterIPs[{i}]", "Invalid", ips, "may not change once set")
                for i, ip in enumerate(old_ips) if ip != ips[i]]
    errs: list[FieldError] = []
    if len(ips) < len(old_ips):
        if not ips:
            errs.append(FieldError("spec.clusterIPs[0]", "Invalid", None, "primary clusterIP can not be unset"))
        elif ips[0] != old_ips[0]:
            errs.append(changed)
        if len(ips) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(FieldError("spec.ipFamilyPolicy", "Invalid", spec.get("ipFamilyPolicy"),
                                   "must be set to 'SingleStack' when releasing the secondary clusterIP"))
    elif old_ips and ips[0] != old_ips[0]:
        errs.append(changed)
    return errs


def _ip_families_update(spec: Doc, old: Doc) -> list[FieldError]:
    """The primary ipFamily never changes (headless Services excepted)."""
    if not (_needs_cluster_ip(spec) and _needs_cluster_ip(old)) or _headless(spec) or _headless(old):
        return []
    fams, old_fams = _list(spec.get("ipFamilies")), _list(old.get("ipFamilies"))
    path = "spec.ipFamilies[0]"
    if len(fams) == len(old_fams):
        return [FieldError(path, "Invalid", fams, "may not change once set")
                for i, fam in enumerate(old_fams) if fam != fams[i]]
    errs: list[FieldError] = []
    if len(fams) < len(old_fams):
        if not _ips(spec):
            errs.append(FieldError(path, "Invalid", fams or None, "primary ipFamily can not be unset"))
        if fams and fams[0] != old_fams[0]:
            errs.append(FieldError(path, "Invalid", _ips(spec) or None, "may not change once set"))
        if len(fams) == 1 and spec.get("ipFamilyPolicy") != "SingleStack":
            errs.append(FieldError("spec.ipFamilyPolicy", "Invalid", spec.get("ipFamilyPolicy"),
                                   "must be set to 'SingleStack' when releasing the secondary ipFamily"))
    elif old_fams and fams[0] != old_fams[0]:
        errs.append(FieldError(path, "Invalid", _ips(spec) or None, "may not change once set"))
    return errs


UPDATE_CHECKS: dict[str, UpdateCheck] = {
    "Pod": check_pod_update,
    "Secret": check_secret_update,
    "ConfigMap": check_config_map_update,
    "Deployment": check_selector_update,
    "ReplicaSet": check_selector_update,
    "DaemonSet": check_selector_update,
    "StatefulSet": check_statefulset_update,
    "Service": check_service_update,
    "Node": check_node_update,
    "RoleBinding": check_role_ref_update,
    "ClusterRoleBinding": check_role_ref_update,
    "IngressClass": check_class_update,
    **STORAGE_UPDATE_CHECKS,
    "RuntimeClass": check_runtime_class_update,
    "Job": check_job_update,
    "ControllerRevision": check_controller_revision_update,
}
"""Kind-specific rules; every kind also gets ``check_metadata_update``. Namespace,
ReplicationController, Endpoints and Event have no update rules beyond metadata and
their create rules (an RC's selector must match its template: ``schemas.checks``)."""
