"""Kubernetes defaulting, applied by the API when it admits an object.

``apply_defaults`` is pure: it returns a new, defaulted model and never touches its input.
Defaults are set on the JSON form (only where the user left a field out), then the result
is validated again, so the output is exactly what a re-read from a topic would give.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

from schemas.autoscaling import default_hpa
from schemas.batch import default_cronjob, default_job
from schemas.statefulset import default_statefulset
from schemas.daemonset import default_daemonset
from schemas.pod import PullPolicy
from schemas.meta import Resource
from schemas.rbac import default_binding
from schemas.storage import STORAGE_DEFAULTERS

R = TypeVar("R", bound=Resource)
Doc = dict[str, Any]

DEFAULT_NAMESPACE = "default"
PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                  "failureThreshold": 3}
DEFAULT_MODE = 0o644


def image_pull_policy(image: str) -> PullPolicy:
    """``Always`` for ``:latest`` or untagged images, else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _child(doc: Doc, key: str) -> Doc:
    value = doc.get(key)
    if not isinstance(value, dict):
        value = doc[key] = {}
    return value


def _default_probe(probe: Doc) -> None:
    for key, value in PROBE_DEFAULTS.items():
        probe.setdefault(key, value)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def _default_resources(container: Doc) -> None:
    resources = container.get("resources")
    if not isinstance(resources, dict) or not resources.get("limits"):
        return
    requests = _child(resources, "requests")
    for key, limit in resources["limits"].items():
        requests.setdefault(key, limit)


def _default_container(container: Doc) -> None:
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", image_pull_policy(container["image"]))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(key), dict):
            _default_probe(container[key])
    for env in container.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    _default_resources(container)


def _default_volume(volume: Doc) -> None:
    for source in ("configMap", "secret"):
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", DEFAULT_MODE)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")


def default_pod_spec(spec: Doc) -> None:
    """Pod-spec defaults (also used for the templates of RC, ReplicaSet, Deployment)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        _default_container(container)
    for volume in spec.get("volumes") or []:
        _default_volume(volume)


def _default_template(spec: Doc) -> None:
    if isinstance(spec.get("template"), dict):
        default_pod_spec(_child(spec["template"], "spec"))


def _default_pod(doc: Doc) -> None:
    spec = _child(doc, "spec")
    default_pod_spec(spec)
    # the ServiceAccount admission plugin's default (pods only, not templates); the kubelet
    # mounts its token unless spec.automountServiceAccountToken is false
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = "default"


def _default_replicaset(doc: Doc) -> None:
    spec = _child(doc, "spec")
    spec.setdefault("replicas", 1)
    _default_template(spec)


def _default_rc(doc: Doc) -> None:
    _default_replicaset(doc)
    spec = doc["spec"]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        if not _child(doc, "metadata").get("labels"):
            doc["metadata"]["labels"] = dict(labels)


def _default_deployment(doc: Doc) -> None:
    spec = _child(doc, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = _child(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    _default_template(spec)


def _default_daemonset(doc: Doc) -> None:
    default_daemonset(doc)
    _default_template(doc["spec"])


def _default_statefulset(doc: Doc) -> None:
    default_statefulset(doc)
    _default_template(doc["spec"])


def _default_service(doc: Doc) -> None:
    spec = _child(doc, "spec")
    spec.setdefault("type", "ClusterIP")
    if spec["type"] == "ExternalName":
        return
    spec.setdefault("sessionAffinity", "None")
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if port.get("port") is not None:
            port.setdefault("targetPort", port["port"])


def _default_secret(doc: Doc) -> None:
    doc.setdefault("type", "Opaque")
    string_data = doc.pop("stringData", None) or {}
    if string_data:
        data = _child(doc, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")


DEFAULTERS: dict[str, Callable[[Doc], None]] = {
    "Pod": _default_pod,
    "ReplicationController": _default_rc,
    "ReplicaSet": _default_replicaset,
    "Deployment": _default_deployment,
    "StatefulSet": _default_statefulset,
    "DaemonSet": _default_daemonset,
    "HorizontalPodAutoscaler": default_hpa,
    "Job": default_job,
    "CronJob": default_cronjob,
    "Service": _default_service,
    "Secret": _default_secret,
    "RoleBinding": default_binding,
    "ClusterRoleBinding": default_binding,
    **STORAGE_DEFAULTERS,
}


def default_document(doc: Doc, *, namespaced: bool, namespace: str = DEFAULT_NAMESPACE) -> None:
    """Apply every default to a JSON document in place (the document is the caller's copy)."""
    meta = _child(doc, "metadata")
    if namespaced:
        if not meta.get("namespace"):
            meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    defaulter = DEFAULTERS.get(str(doc.get("kind")))
    if defaulter is not None:
        defaulter(doc)


def apply_defaults(resource: R, *, namespace: str = DEFAULT_NAMESPACE) -> R:
    """A defaulted copy of ``resource``; a namespaced object without one gets ``namespace``."""
    doc = resource.model_dump(by_alias=True, exclude_none=True, mode="json")
    default_document(doc, namespaced=type(resource).namespaced, namespace=namespace)
    return type(resource).model_validate(doc, by_alias=True, by_name=False)
