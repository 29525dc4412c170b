"""The default ClusterRoles and ClusterRoleBindings Kafkube ships, as Kubernetes'
plugin/pkg/auth/authorizer/rbac/bootstrappolicy ships them, trimmed to the kinds Kafkube
serves: `cluster-admin` (bound to `system:masters`), the user-facing `admin`, `edit` and
`view` (aggregated through the `rbac.authorization.k8s.io/aggregate-to-*` labels from
`system:aggregate-to-*`), `system:discovery` and `system:basic-user` (every authenticated
user), and the roles of Kafkube's own components: `system:kube-scheduler`,
`system:kube-controller-manager`, `system:node`, `system:kafkube-apiserver` (the HTTP API:
`impersonate` users and groups, for its client-certificate callers' writes) and
`system:kafkube-ingress` (the ingress controller).

Pure: objects as the API stores them (JSON). `services.api.rbac_view.bootstrap_requests`
turns them into ENSURE requests the API sends at startup.
"""

from __future__ import annotations

import copy
from typing import Any

from schemas.auth import (
    APISERVER_USER,
    AUTHENTICATED_GROUP,
    INGRESS_USER,
    CONTROLLER_MANAGER_USER,
    MASTERS_GROUP,
    NODES_GROUP,
    SCHEDULER_USER,
)
from schemas.rbac import RBAC_API_VERSION, RBAC_GROUP

Doc = dict[str, Any]

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
BOOTSTRAP_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
CORE, APPS, EVENTS, NETWORKING = "", "apps", "events.k8s.io", "networking.k8s.io"
AUTOSCALING, BATCH, NODE = "autoscaling", "batch", "node.k8s.io"
AUTHENTICATION, AUTHORIZATION = "authentication.k8s.io", "authorization.k8s.io"


def _list(value: tuple[str, ...] | str) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def rule(verbs: tuple[str, ...] | str, groups: tuple[str, ...] | str, *resources: str,
         names: tuple[str, ...] = ()) -> Doc:
    """One PolicyRule as JSON (`rule(READ, CORE, "pods", "services")`)."""
    out: Doc = {"verbs": _list(verbs), "apiGroups": _list(groups), "resources": list(resources)}
    return {**out, "resourceNames": list(names)} if names else out


def url_rule(verbs: tuple[str, ...] | str, *urls: str) -> Doc:
    return {"verbs": _list(verbs), "nonResourceURLs": list(urls)}


EVENTS_RULE = rule(("create", "update", "patch"), (CORE, EVENTS), "events")

VIEW_RULES = [
    rule(READ, CORE, "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
         "services", "services/status", "endpoints", "configmaps"),
    rule(READ, CORE, "bindings", "pods/status", "namespaces/status", "replicationcontrollers/status",
         "pods/log"),
    rule(READ, CORE, "namespaces"),  # in a namespace: reading *this* namespace
    rule(READ, (CORE, EVENTS), "events"),
    rule(READ, APPS, "controllerrevisions", "daemonsets", "daemonsets/status",
         "deployments", "deployments/status", "deployments/scale",
         "replicasets", "replicasets/status", "replicasets/scale",
         "statefulsets", "statefulsets/status", "statefulsets/scale"),
    rule(READ, AUTOSCALING, "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
    rule(READ, BATCH, "jobs", "jobs/status", "cronjobs", "cronjobs/status"),
    rule(READ, NETWORKING, "ingresses", "ingresses/status"),
    rule(READ, CORE, "persistentvolumeclaims", "persistentvolumeclaims/status"),
]
EDIT_RULES = [
    rule(READ, CORE, "secrets"),
    rule("impersonate", CORE, "serviceaccounts"),
    rule(WRITE, CORE, "pods"),
    rule(WRITE, CORE, "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
         "services", "configmaps", "secrets"),
    rule("create", CORE, "serviceaccounts/token"),
    rule(WRITE, (CORE, EVENTS), "events"),
    rule(WRITE, APPS, "daemonsets", "deployments", "deployments/scale", "deployments/rollback",
         "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"),
    rule(WRITE, AUTOSCALING, "horizontalpodautoscalers"),
    rule(WRITE, BATCH, "jobs", "cronjobs"),
    rule(WRITE, NETWORKING, "ingresses"),
    rule(WRITE, CORE, "persistentvolumeclaims"),
]
ADMIN_RULES = [
    rule("create", AUTHORIZATION, "localsubjectaccessreviews"),
    rule(READ_WRITE, RBAC_GROUP, "roles", "rolebindings"),
]
BASIC_USER_RULES = [  # `auth whoami` and `auth can-i`
    rule("create", AUTHORIZATION, "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
    rule("create", AUTHENTICATION, "selfsubjectreviews"),
]
DISCOVERY_RULES = [url_rule("get", "/livez", "/readyz", "/healthz", "/version", "/version/",
                            "/openapi", "/openapi/*", "/api", "/api/*", "/apis", "/apis/*")]
SCHEDULER_RULES = [
    EVENTS_RULE,
    rule(READ, CORE, "nodes"),
    rule(("get", "list", "watch", "delete"), CORE, "pods"),
    rule("create", CORE, "pods/binding", "bindings"),  # a BIND is a create of pods/binding
    rule(("patch", "update"), CORE, "pods/status"),
    rule(READ, CORE, "services", "replicationcontrollers"),  # things that select pods
    rule(READ, APPS, "replicasets"),
    rule(READ, CORE, "namespaces"),
    # VolumeBinding (upstream's system:volume-scheduler, bound to the scheduler too): a claim's
    # selected node, a static volume's claimRef
    rule(("get", "list", "watch", "patch", "update"), CORE, "persistentvolumeclaims", "persistentvolumes"),
    rule(READ, "storage.k8s.io", "storageclasses"),
]
CONTROLLER_MANAGER_RULES = [
    EVENTS_RULE,
    rule(("list", "watch"), "*", "*"),  # the shared informers
    # replicaset and replicationcontroller controllers: create, adopt/release, delete pods
    rule(("create", "patch", "delete"), CORE, "pods"),
    # deployment controller: its ReplicaSets, and the revision annotation of the Deployment
    rule(("create", "patch", "delete"), APPS, "replicasets"),
    rule("patch", APPS, "deployments"),
    # node lifecycle controller: taints on nodes, evictions of their pods
    rule("patch", CORE, "nodes"),
    rule("delete", CORE, "pods"),
    # garbage collector: deletes dependents, rewrites ownerReferences and finalizers, any kind
    rule(("patch", "delete"), "*", "*"),
    # namespace controller: deletes a terminating namespace's content, then finalizes it
    rule("delete", "*", "*"),
    rule("patch", CORE, "namespaces"),
    # horizontal pod autoscaler: spec.replicas of its targets (a merge patch, as the scale subresource writes it)
    rule("patch", CORE, "replicationcontrollers"),
    rule("patch", APPS, "deployments", "replicasets"),
    # job controller: its pods (create, delete, the tracking finalizer removed by a patch) above;
    # a finished Job whose ttlSecondsAfterFinished passed is deleted. cronjob controller: creates
    # the Job of each run, deletes replaced ones and those beyond the history limits
    rule(("create", "delete"), BATCH, "jobs"),
    # daemon-set and statefulset controllers: the ControllerRevisions of their templates
    # (created, relabelled/re-numbered by an update, deleted beyond revisionHistoryLimit)
    rule(("create", "update", "patch", "delete"), APPS, "controllerrevisions"),
    # statefulset controller (upstream's system:controller:statefulset-controller): its pods
    # above; the claims of its volumeClaimTemplates (created; ownerReferences patched for the
    # retention policy); its status is an observed record, signed, not a request
    rule(("create", "get", "patch"), CORE, "persistentvolumeclaims"),
    # persistent-volume-binder (upstream's system:controller:persistent-volume-binder, with the
    # pvc-protection and pv-protection controllers): volumes provisioned, bound (claimRef), grown,
    # deleted by their reclaim policy, their finalizer removed; claims bound (volumeName), their
    # finalizer removed; statuses are observed records, signed, not requests
    rule(("create", "get", "update", "patch", "delete"), CORE, "persistentvolumes"),
    rule(("get", "update", "patch"), CORE, "persistentvolumeclaims"),
    rule(("get",), "storage.k8s.io", "storageclasses"),
    # endpoints controller: writes only its observed topic, no requests
]
NODE_RULES = [
    rule("create", AUTHENTICATION, "tokenreviews"),
    rule("create", AUTHORIZATION, "subjectaccessreviews", "localsubjectaccessreviews"),
    rule(READ, CORE, "services"),
    # a kubelet registers its Node and reports status; NodeRestriction keeps it to its own
    rule(("create", "get", "list", "watch"), CORE, "nodes"),
    rule(("update", "patch"), CORE, "nodes/status"),
    rule(("update", "patch"), CORE, "nodes"),
    rule(("create", "update", "patch"), (CORE, EVENTS), "events"),
    rule(READ, CORE, "pods"),
    # a kubelet confirms a deletion (NodeRestriction: pods bound to it); no mirror pods here
    rule("delete", CORE, "pods"),
    rule(("update", "patch"), CORE, "pods/status"),
    # secret and configMap volumes and env; the node authoriser keeps it to its pods' own
    rule(READ, CORE, "secrets", "configmaps"),
    rule("get", CORE, "endpoints"),
    # persistentVolumeClaim volumes: the claim and its bound volume (as upstream's system:node)
    rule("get", CORE, "persistentvolumeclaims", "persistentvolumes"),
    # projected ServiceAccount tokens; NodeRestriction keeps them to tokens bound to its pods
    rule("create", CORE, "serviceaccounts/token"),
    # a pod's runtimeClassName -> the runtime handler (services/kubelet/runtime_classes.py)
    rule(READ, NODE, "runtimeclasses"),
]

# upstream's system:persistent-volume-provisioner (for an external provisioner's identity; not bound)
PV_PROVISIONER_RULES = [
    rule(("get", "list", "watch", "create", "delete"), CORE, "persistentvolumes"),
    rule(("get", "list", "watch", "update"), CORE, "persistentvolumeclaims"),
    rule(("get", "list", "watch"), "storage.k8s.io", "storageclasses"),
    rule(("watch", "create", "patch", "update"), CORE, "events"),
]

# the ingress controller (services/ingress), as ingress-nginx's ClusterRole: its Ingresses and
# their classes, the Services and Endpoints behind them, its Ingresses' status; `get secrets`
# for the TLS Secrets it asks the API for (cluster-wide: RBAC cannot name the Secrets that
# Ingresses will name)
INGRESS_RULES = [
    rule(READ, NETWORKING, "ingresses", "ingressclasses"),
    rule(READ, CORE, "services", "endpoints"),
    rule(("update", "patch"), NETWORKING, "ingresses/status"),
    rule("get", CORE, "secrets"),
    EVENTS_RULE,
]


def _meta(name: str, labels: dict[str, str] | None = None) -> Doc:
    return {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABELS},
            "annotations": dict(BOOTSTRAP_ANNOTATIONS)}


def cluster_role(name: str, rules: list[Doc], *, labels: dict[str, str] | None = None,
                 aggregate: str | None = None) -> Doc:
    """A default ClusterRole; `aggregate="view"` makes it aggregate `aggregate-to-view`."""
    role: Doc = {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, labels)}
    if aggregate:
        selector = {"matchLabels": {f"{AGGREGATE_TO}{aggregate}": "true"}}
        return {**role, "aggregationRule": {"clusterRoleSelectors": [selector]}}
    return {**role, "rules": rules}


def cluster_role_binding(role: str, *, users: tuple[str, ...] = (),
                         groups: tuple[str, ...] = ()) -> Doc:
    """A default ClusterRoleBinding, named after the ClusterRole it binds."""
    subjects = [{"kind": kind, "apiGroup": RBAC_GROUP, "name": name}
                for kind, names in (("User", users), ("Group", groups)) for name in names]
    return {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(role),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": subjects}


def _to(name: str) -> dict[str, str]:
    return {f"{AGGREGATE_TO}{name}": "true"}


def bootstrap_policy() -> list[Doc]:
    """The default ClusterRoles, then the default ClusterRoleBindings (fresh dicts)."""
    roles = [
        cluster_role("cluster-admin", [rule("*", "*", "*"), url_rule("*", "*")]),
        cluster_role("system:discovery", DISCOVERY_RULES),
        cluster_role("system:basic-user", BASIC_USER_RULES),
        cluster_role("admin", [], aggregate="admin"),
        cluster_role("edit", [], labels=_to("admin"), aggregate="edit"),
        cluster_role("view", [], labels=_to("edit"), aggregate="view"),
        cluster_role("system:aggregate-to-admin", ADMIN_RULES, labels=_to("admin")),
        cluster_role("system:aggregate-to-edit", EDIT_RULES, labels=_to("edit")),
        cluster_role("system:aggregate-to-view", VIEW_RULES, labels=_to("view")),
        cluster_role("system:kube-scheduler", SCHEDULER_RULES),
        cluster_role("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
        cluster_role("system:node", NODE_RULES),
        cluster_role(APISERVER_USER, [rule("impersonate", CORE, "users", "groups")]),
        cluster_role(INGRESS_USER, INGRESS_RULES),
        cluster_role("system:persistent-volume-provisioner", PV_PROVISIONER_RULES),
    ]
    bindings = [
        cluster_role_binding("cluster-admin", groups=(MASTERS_GROUP,)),
        cluster_role_binding("system:discovery", groups=(AUTHENTICATED_GROUP,)),
        cluster_role_binding("system:basic-user", groups=(AUTHENTICATED_GROUP,)),
        cluster_role_binding("system:kube-scheduler", users=(SCHEDULER_USER,)),
        cluster_role_binding("system:kube-controller-manager", users=(CONTROLLER_MANAGER_USER,)),
        cluster_role_binding("system:node", groups=(NODES_GROUP,)),
        cluster_role_binding(APISERVER_USER, users=(APISERVER_USER,)),
        cluster_role_binding(INGRESS_USER, users=(INGRESS_USER,)),
    ]
    return copy.deepcopy(roles + bindings)  # the rule lists are shared: callers get their own
