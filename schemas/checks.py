"""Kubernetes' semantic validation per kind (names, labels, selectors, ports, data keys).

Used by ``schemas.manifest.validate_object`` after the model has parsed. Metadata checks
run on the raw document (so they report even when the model does not parse); kind checks
run on the parsed model. Pure functions: input in, ``FieldError`` list out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.apps import Deployment, DeploymentStrategy, ReplicaSet
from schemas.autoscaling import check_hpa
from schemas.batch import check_cronjob, check_job
from schemas.statefulset import StatefulSet, check_statefulset_spec, with_claim_volumes
from schemas.checks_pod import (
    check_int_or_name_port,
    check_pod_spec,
    check_port_number,
    non_negative,
)
from schemas.controller_revision import check_controller_revision
from schemas.daemonset import DaemonSet, check_daemonset_spec
from schemas.checks_data import DATA_MAX_BYTES, check_base64, check_data_keys, check_secret
from schemas.core import ConfigMap, Endpoints, Pod, ReplicationController, Service
from schemas.meta import IntOrString, LabelSelector, Resource
from schemas.pod import PodTemplateSpec
from schemas.networking import NETWORKING_CHECKS
from schemas.rbac import RBAC_CHECKS, RBAC_NAME_CHECKS
from schemas.storage import STORAGE_CHECKS
from schemas.runtime_class import RUNTIME_CLASS_CHECKS
from schemas.validation import (
    ANNOTATIONS_MAX_BYTES,
    OMITTED,
    FieldError,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_value,
    is_percent,
    is_qualified_name,
)

NameCheck = Callable[[str], list[str]]
NAME_CHECKS: dict[str, NameCheck] = {"Namespace": is_dns1123_label, "Service": is_dns1035_label,
                                     **RBAC_NAME_CHECKS}
TEMPLATE_POLICIES = ("Always",)


def _invalid(path: str, value: object, messages: list[str]) -> list[FieldError]:
    return [FieldError(path, "Invalid", value, m) for m in messages]


def check_labels(path: str, labels: object) -> list[FieldError]:
    if not isinstance(labels, dict):
        return []
    errs: list[FieldError] = []
    for key, value in labels.items():
        errs += _invalid(path, key, is_qualified_name(str(key)))
        if isinstance(value, str):
            errs += _invalid(path, value, is_label_value(value))
    return errs


def check_annotations(path: str, annotations: object) -> list[FieldError]:
    if not isinstance(annotations, dict):
        return []
    errs: list[FieldError] = []
    size = 0
    for key, value in annotations.items():
        errs += _invalid(path, key, is_qualified_name(str(key).lower()))
        size += len(str(key).encode()) + len(str(value).encode())
    if size > ANNOTATIONS_MAX_BYTES:
        errs.append(FieldError(path, "TooLong",
                               detail=f"must have at most {ANNOTATIONS_MAX_BYTES} bytes"))
    return errs


def _check_name(kind: str, meta: dict[str, Any]) -> list[FieldError]:
    check = NAME_CHECKS.get(kind, is_dns1123_subdomain)
    name, generate = meta.get("name"), meta.get("generateName")
    if isinstance(name, str) and name:
        return _invalid("metadata.name", name, check(name))
    if isinstance(generate, str) and generate:
        masked = generate[:-1] + "a" if generate.endswith("-") and len(generate) > 1 else generate
        return _invalid("metadata.generateName", generate, check(masked))
    if name is None or name == "":
        return [FieldError("metadata.name", "Required",
                           detail="name or generateName is required")]
    return []


def check_metadata(kind: str, meta: object, *, namespaced: bool) -> list[FieldError]:
    """Name (per kind), namespace, labels, annotations, finalizers, ownerReferences."""
    if not isinstance(meta, dict):
        return [] if meta is not None else _check_name(kind, {})
    errs = _check_name(kind, meta)
    namespace = meta.get("namespace")
    if namespaced and isinstance(namespace, str) and namespace:
        errs += _invalid("metadata.namespace", namespace, is_dns1123_label(namespace))
    errs += check_labels("metadata.labels", meta.get("labels"))
    errs += check_annotations("metadata.annotations", meta.get("annotations"))
    for i, fin in enumerate(meta.get("finalizers") or []):
        if isinstance(fin, str):
            errs += _invalid(f"metadata.finalizers[{i}]", fin, is_qualified_name(fin))
    return errs + _check_owner_refs(meta.get("ownerReferences"))


def _check_owner_refs(refs: object) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        for key in ("apiVersion", "kind", "name", "uid"):
            if isinstance(ref, dict) and not ref.get(key):
                errs.append(FieldError(f"metadata.ownerReferences[{i}].{key}", "Required"))
    return errs


def check_selector(path: str, selector: LabelSelector | None, *, kind: str) -> list[FieldError]:
    if selector is None:
        return [FieldError(path, "Required")]
    if selector.is_empty():
        return [FieldError(path, "Invalid", {}, f"empty selector is invalid for {kind}")]
    errs = check_labels(f"{path}.matchLabels", selector.match_labels)
    for i, req in enumerate(selector.match_expressions or []):
        where = f"{path}.matchExpressions[{i}]"
        errs += _invalid(f"{where}.key", req.key, is_qualified_name(req.key))
        if req.operator in ("In", "NotIn") and not req.values:
            errs.append(FieldError(f"{where}.values", "Required",
                                   detail="must be specified when `operator` is 'In' or 'NotIn'"))
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            errs.append(FieldError(
                f"{where}.values", "Forbidden",
                detail="may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    return errs


def check_template(path: str, template: PodTemplateSpec | None) -> list[FieldError]:
    if template is None:
        return [FieldError(path, "Required")]
    labels = template.metadata.labels if template.metadata else None
    errs = check_labels(f"{path}.metadata.labels", labels)
    return errs + check_pod_spec(f"{path}.spec", template.spec, restart_policies=TEMPLATE_POLICIES)


def _selector_mismatch(path: str, labels: dict[str, str] | None) -> FieldError:
    return FieldError(path, "Invalid", labels,
                      "`selector` does not match template `labels`")


def _check_replicated(spec: Any, kind: str) -> list[FieldError]:
    """Rules shared by ReplicaSet and Deployment specs."""
    if spec is None:
        return [FieldError("spec.selector", "Required"), FieldError("spec.template", "Required")]
    errs = non_negative("spec.replicas", spec.replicas)
    errs += non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    errs += check_selector("spec.selector", spec.selector, kind=kind)
    errs += check_template("spec.template", spec.template)
    if spec.selector is not None and not spec.selector.is_empty() and spec.template is not None:
        labels = spec.template.metadata.labels if spec.template.metadata else None
        if not spec.selector.matches(labels):
            errs.append(_selector_mismatch("spec.template.metadata.labels", labels))
    return errs


def check_replicaset(rs: ReplicaSet) -> list[FieldError]:
    return _check_replicated(rs.spec, "replicaset")


def _check_int_or_percent(path: str, value: IntOrString | None) -> list[FieldError]:
    if isinstance(value, int):
        return non_negative(path, value)
    if value is None:
        return []
    errs = _invalid(path, value, is_percent(value))
    if not errs and int(value[:-1]) > 100 and path.endswith("maxUnavailable"):
        errs.append(FieldError(path, "Invalid", value, "must not be greater than 100%"))
    return errs


def _is_zero(value: IntOrString | None) -> bool:
    return value in (0, "0%")


def _check_strategy(strategy: DeploymentStrategy | None) -> list[FieldError]:
    if strategy is None or strategy.rolling_update is None:
        return []
    path = "spec.strategy.rollingUpdate"
    if strategy.type == "Recreate":
        return [FieldError(path, "Forbidden",
                           detail="may not be specified when strategy `type` is 'Recreate'")]
    ru = strategy.rolling_update
    errs = _check_int_or_percent(f"{path}.maxSurge", ru.max_surge)
    errs += _check_int_or_percent(f"{path}.maxUnavailable", ru.max_unavailable)
    if _is_zero(ru.max_surge) and _is_zero(ru.max_unavailable):
        errs.append(FieldError(f"{path}.maxUnavailable", "Invalid", ru.max_unavailable,
                               "may not be 0 when `maxSurge` is 0"))
    return errs


def check_deployment(deploy: Deployment) -> list[FieldError]:
    spec = deploy.spec
    errs = _check_replicated(spec, "deployment")
    if spec is None:
        return errs
    errs += non_negative("spec.revisionHistoryLimit", spec.revision_history_limit)
    errs += _check_strategy(spec.strategy)
    deadline, ready = spec.progress_deadline_seconds, spec.min_ready_seconds or 0
    if deadline is not None and deadline <= ready:
        errs.append(FieldError("spec.progressDeadlineSeconds", "Invalid", deadline,
                               "must be greater than minReadySeconds"))
    return errs


def check_statefulset(sts: StatefulSet) -> list[FieldError]:
    """ReplicaSet's selector/template rules on the template with the claim volumes, then
    the StatefulSet-only rules (``schemas.statefulset``)."""
    if sts.spec is None:
        return _check_replicated(None, "statefulset")
    return _check_replicated(with_claim_volumes(sts.spec), "statefulset") + check_statefulset_spec(sts.spec)


def check_daemonset(ds: DaemonSet) -> list[FieldError]:
    """The selector and template rules of a ReplicaSet, then the DaemonSet's own."""
    spec = ds.spec
    if spec is None:
        return [FieldError("spec.selector", "Required"), FieldError("spec.template", "Required")]
    errs = check_selector("spec.selector", spec.selector, kind="daemonset")
    errs += check_template("spec.template", spec.template)
    if spec.selector is not None and not spec.selector.is_empty() and spec.template is not None:
        labels = spec.template.metadata.labels if spec.template.metadata else None
        if not spec.selector.matches(labels):
            errs.append(_selector_mismatch("spec.template.metadata.labels", labels))
    return errs + check_daemonset_spec(spec)


def check_replication_controller(rc: ReplicationController) -> list[FieldError]:
    spec = rc.spec
    if spec is None:
        return [FieldError("spec.template", "Required")]
    errs = non_negative("spec.replicas", spec.replicas)
    errs += non_negative("spec.minReadySeconds", spec.min_ready_seconds)
    errs += check_labels("spec.selector", spec.selector)
    errs += check_template("spec.template", spec.template)
    labels = spec.template.metadata.labels if spec.template and spec.template.metadata else None
    if spec.selector and spec.template is not None:
        if any((labels or {}).get(k) != v for k, v in spec.selector.items()):
            errs.append(_selector_mismatch("spec.template.metadata.labels", labels))
    elif not spec.selector and not labels:
        errs.append(FieldError("spec.selector", "Required"))
    return errs


def check_pod(pod: Pod) -> list[FieldError]:
    return check_pod_spec("spec", pod.spec)


def _check_service_ports(svc_type: str | None, ports: list[Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if len(ports) > 1 and not port.name:
            errs.append(FieldError(f"{path}.name", "Required"))
        elif port.name:
            errs += _invalid(f"{path}.name", port.name, is_dns1123_label(port.name))
            if port.name in names:
                errs.append(FieldError(f"{path}.name", "Duplicate", port.name))
            names.add(port.name)
        errs += check_port_number(f"{path}.port", port.port)
        errs += check_int_or_name_port(f"{path}.targetPort", port.target_port)
        if port.node_port and svc_type in (None, "ClusterIP"):
            errs.append(FieldError(f"{path}.nodePort", "Forbidden",
                                   detail="may not be used when `type` is 'ClusterIP'"))
        elif port.node_port:
            errs += check_port_number(f"{path}.nodePort", port.node_port)
    return errs


def check_service(svc: Service) -> list[FieldError]:
    spec = svc.spec
    if spec is None:
        return [FieldError("spec.ports", "Required")]
    if spec.type == "ExternalName":
        name = spec.external_name
        if not name:
            return [FieldError("spec.externalName", "Required")]
        return _invalid("spec.externalName", name, is_dns1123_subdomain(name.rstrip(".")))
    errs = check_labels("spec.selector", spec.selector)
    if not spec.ports:
        return errs + [FieldError("spec.ports", "Required")]
    return errs + _check_service_ports(spec.type, spec.ports)


def check_endpoints(ep: Endpoints) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, subset in enumerate(ep.subsets or []):
        for j, port in enumerate(subset.ports or []):
            errs += check_port_number(f"subsets[{i}].ports[{j}].port", port.port)
    return errs


def _too_big(total: int) -> list[FieldError]:
    if total <= DATA_MAX_BYTES:
        return []
    return [FieldError("[]", "TooLong", detail=f"must have at most {DATA_MAX_BYTES} bytes")]


def check_config_map(cm: ConfigMap) -> list[FieldError]:
    errs = check_data_keys("data", cm.data) + check_data_keys("binaryData", cm.binary_data)
    errs += check_base64("binaryData", cm.binary_data, OMITTED)
    for key in set(cm.data or {}) & set(cm.binary_data or {}):
        errs.append(FieldError(f"data[{key}]", "Invalid", key,
                               "duplicate of key present in binaryData"))
    total = sum(len(v.encode()) for v in (cm.data or {}).values())
    total += sum(len(v) * 3 // 4 for v in (cm.binary_data or {}).values())
    return errs + _too_big(total)


KIND_CHECKS: dict[str, Callable[[Any], list[FieldError]]] = {
    "Pod": check_pod,
    "ReplicationController": check_replication_controller,
    "ReplicaSet": check_replicaset,
    "Deployment": check_deployment,
    "DaemonSet": check_daemonset,
    "StatefulSet": check_statefulset,
    "HorizontalPodAutoscaler": check_hpa,
    "Job": check_job,
    "CronJob": check_cronjob,
    "ControllerRevision": check_controller_revision,
    "Service": check_service,
    "Endpoints": check_endpoints,
    "ConfigMap": check_config_map,
    "Secret": check_secret,
    **RBAC_CHECKS,
    **NETWORKING_CHECKS,
    **STORAGE_CHECKS,
    **RUNTIME_CLASS_CHECKS,
}


def check_resource(resource: Resource) -> list[FieldError]:
    """The semantic rules of ``resource``'s kind ([] for kinds without extra rules)."""
    check = KIND_CHECKS.get(resource.kind)
    return check(resource) if check else []
