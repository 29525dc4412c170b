"""The discovery documents kubectl reads before anything else: `/version`, `/api`,
`/api/v1`, `/apis` and `/apis/<group>/<version>`, generated from `schemas.registry`.
Pure; served by `services.apiserver.app`. Only what the handlers serve is listed:
verbs without `deletecollection`, the `status` subresource read-only (status is written
by its owner on `kafkube.observed.*`, never through this door)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from schemas.metrics import METRICS_GROUP
from schemas.registry import ALL_KINDS, CONVERTED_KINDS, KindInfo
from services.apiserver.event_objects import EVENTS_GROUP, EVENTS_V1
from services.apiserver.metrics_kinds import METRICS_VERSION, metrics_resources

IN_ALL = frozenset({"pods", "services", "replicationcontrollers", "deployments", "replicasets", "daemonsets",
                    "statefulsets", "horizontalpodautoscalers", "jobs", "cronjobs"})
"""Kinds in the `all` category (`kubectl get all`), as upstream lists them."""
SCALABLE = frozenset({"deployments", "replicasets", "replicationcontrollers", "statefulsets"})
"""Kinds with the `scale` subresource (services.apiserver.scale)."""
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_VERBS = ["get", "list", "watch"]
"""Events are read only (services.apiserver.events)."""
WITH_STATUS = frozenset({"pods", "nodes", "namespaces", "services", "deployments", "replicasets", "daemonsets",
                         "statefulsets", "replicationcontrollers", "jobs", "cronjobs", "persistentvolumes",
                         "persistentvolumeclaims"})
"""Kinds whose objects carry an observed status (`<plural>/status`, get only)."""

AUTHORIZATION_GROUP = "authorization.k8s.io"
SELF_SUBJECT_ACCESS_REVIEWS = {"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
                               "namespaced": False, "kind": "SelfSubjectAccessReview", "verbs": ["create"]}
"""`kubectl auth can-i` (services.apiserver.reviews)."""
SERVICE_ACCOUNT_TOKEN = {"name": "serviceaccounts/token", "singularName": "", "namespaced": True,
                         "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}
"""`kubectl create token` (services.apiserver.tokenrequest)."""
POD_EVICTION = {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy", "version": "v1",
                "kind": "Eviction", "verbs": ["create"]}
"""`kubectl drain` (services.apiserver.eviction)."""

KUBERNETES_VERSION = ("1", "32")  # the API level these documents and tables follow


def version() -> dict[str, Any]:
    """`/version`: kubectl prints gitVersion as the server's version."""
    major, minor = KUBERNETES_VERSION
    return {"major": major, "minor": minor, "gitVersion": f"v{major}.{minor}.0-kafkube",
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "", "goVersion": "",
            "compiler": "", "platform": "linux/amd64"}


def core_versions() -> dict[str, Any]:
    """`/api`."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def _groups() -> dict[str, list[str]]:
    versions: dict[str, list[str]] = defaultdict(list)
    for info in (*ALL_KINDS, *CONVERTED_KINDS):  # the stored version first: the preferred one
        if info.group and info.version not in versions[info.group]:
            versions[info.group].append(info.version)
    versions[AUTHORIZATION_GROUP] = ["v1"]
    versions[EVENTS_GROUP] = ["v1"]
    versions[METRICS_GROUP] = [METRICS_VERSION]
    return dict(versions)


def group_list() -> dict[str, Any]:
    """`/apis`: every named group (the core group is `/api`)."""
    groups = []
    for name, versions in sorted(_groups().items()):
        listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": listed, "preferredVersion": listed[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict[str, Any] | None:
    """`/apis/<group>`; None for a group not served."""
    versions = _groups().get(name)
    if versions is None:
        return None
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": listed,
            "preferredVersion": listed[0]}


def _resources(info: KindInfo) -> list[dict[str, Any]]:
    main: dict[str, Any] = {"name": info.plural, "singularName": info.singular, "namespaced": info.namespaced,
                            "kind": info.kind, "verbs": READ_VERBS if info.kind == "Event" else VERBS}
    if info.short_names:
        main["shortNames"] = list(info.short_names)
    if info.plural in IN_ALL:
        main["categories"] = ["all"]
    listed = [main]
    if info.plural in WITH_STATUS:
        listed.append({"name": f"{info.plural}/status", "singularName": "", "namespaced": info.namespaced,
                       "kind": info.kind, "verbs": ["get"]})
    if info.plural == "serviceaccounts":
        listed.append(SERVICE_ACCOUNT_TOKEN)
    if info.plural == "pods":
        listed.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
        listed.append(POD_EVICTION)
        listed += [{"name": f"pods/{sub}", "singularName": "", "namespaced": True, "kind": kind, "verbs": ["create", "get"]}
                   for sub, kind in (("exec", "PodExecOptions"), ("attach", "PodAttachOptions"),
                                     ("portforward", "PodPortForwardOptions"))]
    if info.plural in SCALABLE:
        listed.append({"name": f"{info.plural}/scale", "singularName": "", "namespaced": info.namespaced,
                       "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]})
    return listed


def resource_list(group_name: str, version_name: str) -> dict[str, Any] | None:
    """`/api/v1` (group "") or `/apis/<group>/<version>`; None when not served."""
    kinds = [k for k in (*ALL_KINDS, *CONVERTED_KINDS, EVENTS_V1) if k.group == group_name and k.version == version_name]
    resources = [r for info in kinds for r in _resources(info)]
    if group_name == AUTHORIZATION_GROUP and version_name == "v1":
        resources = [SELF_SUBJECT_ACCESS_REVIEWS]
    if group_name == METRICS_GROUP and version_name == METRICS_VERSION:
        resources = metrics_resources()
    if not resources:
        return None
    group_version = f"{group_name}/{version_name}" if group_name else version_name
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
