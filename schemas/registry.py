"""The kinds Kafkube serves: group/version, plural (topic names), CLI short names, model.

Used by ``schemas.manifest`` (apiVersion/kind lookup), the API and every informer
(``kafkube.desired.<plural>`` / ``kafkube.observed.<plural>``) and the CLI
(``kafkube get po``).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.apps import Deployment, ReplicaSet
from schemas.autoscaling import AUTOSCALING_GROUP, HorizontalPodAutoscaler
from schemas.autoscaling_v1 import HorizontalPodAutoscalerV1
from schemas.batch import BATCH_GROUP, CronJob, Job
from schemas.controller_revision import ControllerRevision
from schemas.daemonset import DaemonSet
from schemas.core import (
    ConfigMap,
    Endpoints,
    Event,
    Namespace,
    Node,
    Pod,
    ReplicationController,
    Secret,
    Service,
)
from schemas.meta import Resource
from schemas.networking import NETWORKING_GROUP, Ingress, IngressClass
from schemas.rbac import (
    RBAC_GROUP,
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    ServiceAccount,
)
from schemas.statefulset import StatefulSet
from schemas.runtime_class import NODE_GROUP, RuntimeClass
from schemas.storage import STORAGE_GROUP, PersistentVolume, PersistentVolumeClaim, StorageClass
from schemas.validation import ManifestError


@dataclass(frozen=True)
class KindInfo:
    kind: str
    group: str
    version: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool
    model: type[Resource]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_kind(self) -> str:
        """``Deployment.apps`` / ``Pod``, as Kubernetes names a kind in errors."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def topic(self, family: str, *, prefix: str = "kafkube") -> str:
        """``kafkube.desired.pods`` for ``family="desired"``."""
        return f"{prefix}.{family}.{self.plural}"


def _info(model: type[Resource], group: str, plural: str, *short: str, version: str = "v1") -> KindInfo:
    kind = model.model_fields["kind"].default
    return KindInfo(
        kind=kind,
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        short_names=short,
        namespaced=model.namespaced,
        model=model,
    )


ALL_KINDS: tuple[KindInfo, ...] = (
    _info(Namespace, "", "namespaces", "ns"),
    _info(Node, "", "nodes", "no"),
    _info(Pod, "", "pods", "po"),
    _info(ReplicationController, "", "replicationcontrollers", "rc"),
    _info(Service, "", "services", "svc"),
    _info(Endpoints, "", "endpoints", "ep"),
    _info(ConfigMap, "", "configmaps", "cm"),
    _info(Secret, "", "secrets"),
    _info(Event, "", "events", "ev"),
    _info(ReplicaSet, "apps", "replicasets", "rs"),
    _info(Deployment, "apps", "deployments", "deploy"),
    _info(StatefulSet, "apps", "statefulsets", "sts"),
    _info(ControllerRevision, "apps", "controllerrevisions"),
    _info(DaemonSet, "apps", "daemonsets", "ds"),
    _info(HorizontalPodAutoscaler, AUTOSCALING_GROUP, "horizontalpodautoscalers", "hpa", version="v2"),
    _info(Job, BATCH_GROUP, "jobs"),
    _info(CronJob, BATCH_GROUP, "cronjobs", "cj"),
    _info(ServiceAccount, "", "serviceaccounts", "sa"),
    _info(Role, RBAC_GROUP, "roles"),
    _info(ClusterRole, RBAC_GROUP, "clusterroles"),
    _info(RoleBinding, RBAC_GROUP, "rolebindings"),
    _info(ClusterRoleBinding, RBAC_GROUP, "clusterrolebindings"),
    _info(Ingress, NETWORKING_GROUP, "ingresses", "ing"),
    _info(IngressClass, NETWORKING_GROUP, "ingressclasses"),
    _info(PersistentVolume, "", "persistentvolumes", "pv"),
    _info(PersistentVolumeClaim, "", "persistentvolumeclaims", "pvc"),
    _info(StorageClass, STORAGE_GROUP, "storageclasses", "sc"),
    _info(RuntimeClass, NODE_GROUP, "runtimeclasses"),
)

CONVERTED_KINDS: tuple[KindInfo, ...] = (
    _info(HorizontalPodAutoscalerV1, AUTOSCALING_GROUP, "horizontalpodautoscalers", "hpa", version="v1"),
)
"""Kinds the HTTP API also serves at another version than the stored one (the kind of
ALL_KINDS with the same group and plural), converted by ``services.apiserver.conversion``."""

_BY_API_KIND = {(k.api_version, k.kind): k for k in ALL_KINDS}
_BY_NAME: dict[str, KindInfo] = {}
for _k in ALL_KINDS:
    for _name in (_k.plural, _k.singular, *_k.short_names, _k.kind.lower()):
        _BY_NAME[_name] = _k
        if _k.group:
            _BY_NAME[f"{_name}.{_k.group}"] = _k
            _BY_NAME[f"{_name}.{_k.version}.{_k.group}"] = _k


class NoKindMatch(ManifestError, LookupError):
    """An apiVersion/kind pair or resource name Kafkube does not serve."""


def lookup_kind(api_version: str, kind: str) -> KindInfo:
    """The kind served at ``api_version`` (``"apps/v1", "Deployment"``), or NoKindMatch."""
    info = _BY_API_KIND.get((api_version, kind))
    if info is None:
        raise NoKindMatch(f'no matches for kind "{kind}" in version "{api_version}"')
    return info


def resolve_resource(name: str) -> KindInfo:
    """CLI resource name (``po``, ``pods``, ``deployments.apps``...) to its kind."""
    info = _BY_NAME.get(name.strip().lower())
    if info is None:
        raise NoKindMatch(f'the server doesn\'t have a resource type "{name}"')
    return info
