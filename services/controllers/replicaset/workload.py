"""`Workload`: a ReplicaSet (apps/v1) or a ReplicationController (v1) as the one
shape the shared reconcile works on: replicas, a selector predicate, the pod
template and the owner identity. The two kinds differ only here (set-based
LabelSelector vs. equality map defaulted from the template's labels)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.apps import ReplicaSet
from schemas.core import ReplicationController
from schemas.meta import selector_matches

Labels = Mapping[str, str] | None


@dataclass(frozen=True, slots=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    controller: str  # writer name of its status and events


REPLICASET = Kind("apps/v1", "ReplicaSet", "replicasets", "replicaset-controller")
REPLICATION_CONTROLLER = Kind("v1", "ReplicationController", "replicationcontrollers",
                              "replication-controller")


@dataclass(frozen=True, slots=True)
class Workload:
    kind: Kind
    namespace: str
    name: str
    uid: str
    generation: int
    replicas: int
    min_ready_seconds: int
    matches: Callable[[Labels], bool]
    template: Mapping[str, Any]  # PodTemplateSpec JSON: metadata + spec
    deleting: bool = False
    resource_version: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def template_labels(self) -> Mapping[str, str]:
        return (self.template.get("metadata") or {}).get("labels") or {}

    def owner_reference(self) -> dict[str, Any]:
        return {"apiVersion": self.kind.api_version, "kind": self.kind.kind, "name": self.name,
                "uid": self.uid, "controller": True, "blockOwnerDeletion": True}


def _common(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    return dict(namespace=meta.get("namespace") or "default", name=meta["name"], uid=meta.get("uid") or "",
                generation=int(meta.get("generation") or 1),
                replicas=int(spec["replicas"] if spec.get("replicas") is not None else 1),
                min_ready_seconds=int(spec.get("minReadySeconds") or 0),
                template=spec.get("template") or {}, deleting=bool(meta.get("deletionTimestamp")),
                resource_version=meta.get("resourceVersion"), annotations=dict(meta.get("annotations") or {}))


def from_replicaset(obj: Mapping[str, Any]) -> Workload:
    rs = ReplicaSet.model_validate(obj)  # validates the shape; raises on garbage
    selector = rs.spec.selector if rs.spec else None
    if selector is None or selector.is_empty():
        matches: Callable[[Labels], bool] = lambda _labels: False  # an empty selector adopts nothing
    else:
        matches = selector.matches
    return Workload(kind=REPLICASET, matches=matches, **_common(obj))


def from_replication_controller(obj: Mapping[str, Any]) -> Workload:
    rc = ReplicationController.model_validate(obj)
    spec = rc.spec
    selector = (spec.selector if spec else None) or dict(
        (spec.template.metadata.labels or {}) if spec and spec.template and spec.template.metadata else {})
    return Workload(kind=REPLICATION_CONTROLLER, matches=lambda labels: selector_matches(selector, labels),
                    **_common(obj))


WORKLOADS: dict[str, Callable[[Mapping[str, Any]], Workload]] = {
    REPLICASET.kind: from_replicaset,
    REPLICATION_CONTROLLER.kind: from_replication_controller,
}
