"""RuntimeClass (node.k8s.io/v1): a named container runtime configuration a pod selects with
`spec.runtimeClassName` — the runtime `handler` (a Docker Engine runtime here: runc, crun,
runsc...), the pod `overhead` it adds, and the `scheduling` constraints of the nodes that have it.

Cluster-scoped; unlike most kinds its fields sit at the top level (no spec). Used by the
registry, ``schemas.checks`` (``RUNTIME_CLASS_CHECKS``), ``schemas.updates`` (the handler is
immutable), the API's RuntimeClass admission (``services.api.runtime_class_admission``) and
the kubelet's handler lookup (``services.kubelet.runtime_classes``). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from schemas.meta import KubeModel, Resource
from schemas.pod import Toleration
from schemas.quantity import Quantity, parse_quantity
from schemas.validation import FieldError, is_dns1123_label, is_label_value, is_qualified_name

NODE_GROUP = "node.k8s.io"
GE_ZERO = "must be greater than or equal to 0"
KEY_EMPTY = "operator must be Exists when `key` is empty, which means \"match all values and all keys\""


class Overhead(KubeModel):
    pod_fixed: dict[str, Quantity] | None = None


class Scheduling(KubeModel):
    node_selector: dict[str, str] | None = None
    tolerations: list[Toleration] | None = None


class RuntimeClass(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["node.k8s.io/v1"] = "node.k8s.io/v1"
    kind: Literal["RuntimeClass"] = "RuntimeClass"
    handler: str = ""
    overhead: Overhead | None = None
    scheduling: Scheduling | None = None


def _invalid(path: str, value: object, messages: list[str]) -> list[FieldError]:
    return [FieldError(path, "Invalid", value, m) for m in messages]


def check_runtime_class(rc: RuntimeClass) -> list[FieldError]:
    """ValidateRuntimeClass: the handler a DNS label, the overhead non-negative, the
    scheduling's nodeSelector labels and tolerations valid and unique."""
    errs = [FieldError("handler", "Required")] if not rc.handler else _invalid(
        "handler", rc.handler, is_dns1123_label(rc.handler))
    for name, value in ((rc.overhead.pod_fixed if rc.overhead else None) or {}).items():
        errs += _invalid(f"overhead.podFixed[{name}]", value, [GE_ZERO] if parse_quantity(value) < 0 else [])
    if rc.scheduling is not None:
        for key, value in (rc.scheduling.node_selector or {}).items():
            errs += _invalid("scheduling.nodeSelector", key, is_qualified_name(key))
            errs += _invalid("scheduling.nodeSelector", value, is_label_value(value))
        errs += check_tolerations("scheduling.tolerations", rc.scheduling.tolerations or [])
    return errs


def check_tolerations(path: str, tolerations: list[Toleration]) -> list[FieldError]:
    """ValidateTolerations, plus the RuntimeClass's rule that tolerations are unique by
    (key, operator, value, effect)."""
    errs: list[FieldError] = []
    seen: set[tuple[str | None, ...]] = set()
    for i, t in enumerate(tolerations):
        where = f"{path}[{i}]"
        if t.key:
            errs += _invalid(f"{where}.key", t.key, is_qualified_name(t.key))
        if not t.key and t.operator != "Exists":
            errs.append(FieldError(f"{where}.operator", "Invalid", t.operator or "", KEY_EMPTY))
        if t.toleration_seconds is not None and t.effect != "NoExecute":
            errs.append(FieldError(f"{where}.effect", "Invalid", t.effect or "",
                                   "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if t.operator == "Exists" and t.value:
            errs.append(FieldError(f"{where}.operator", "Invalid", t.value,
                                   "value must be empty when `operator` is 'Exists'"))
        elif t.operator != "Exists" and (problems := is_label_value(t.value or "")):
            errs.append(FieldError(f"{where}.operator", "Invalid", t.value, ";".join(problems)))
        identity = (t.key, t.operator, t.value, t.effect)
        if identity in seen:
            errs.append(FieldError(where, "Duplicate", t.model_dump(by_alias=True, exclude_none=True)))
        seen.add(identity)
    return errs


def check_runtime_class_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """ValidateRuntimeClassUpdate: the handler is immutable."""
    if new.get("handler") != old.get("handler"):
        return [FieldError("handler", "Invalid", new.get("handler"), "field is immutable")]
    return []


RUNTIME_CLASS_CHECKS: dict[str, Callable[[Any], list[FieldError]]] = {"RuntimeClass": check_runtime_class}
"""Kind rules, merged into ``schemas.checks.KIND_CHECKS``."""
