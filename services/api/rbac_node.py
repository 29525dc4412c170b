"""What a kubelet's identity may write beyond its RBAC role: Kubernetes' NodeRestriction
admission plugin (a node changes only its own Node and the pods bound to it). The Node
authorizer's rule for reads (a node reads only the Secrets its pods use) is applied where
Secrets are read: services/api/secret_reads.py.

Pure: the caller hands in the stored objects. Called by the API's writer after RBAC has
allowed a request from a user in `system:nodes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.auth import UserInfo
from schemas.pod_references import api_references as _api_references
from schemas.updates import same
from services.api.rbac_policy import Attributes, forbidden

Doc = Mapping[str, Any]
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
OPERATIONS = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE",
              "deletecollection": "DELETE"}
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type", "kubernetes.io/os",
    "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
NODE_RESTRICTION_NAMESPACE = "node-restriction.kubernetes.io"


def _dict(value: object) -> Doc:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _meta(obj: Doc | None) -> Doc:
    return _dict((obj or {}).get("metadata"))


def _node_of(pod: Doc | None) -> str:
    return str(_dict((pod or {}).get("spec")).get("nodeName") or "")


# -- NodeRestriction ------------------------------------------------------------------------
def node_restriction(user: UserInfo, attrs: Attributes, current_obj: Doc | None,
                     new_obj: Doc | None) -> str | None:
    """Why a node may not make this write (Kubernetes' Forbidden message), or None.

    Users outside `system:nodes`, reads, and kinds other than pods and nodes pass.
    `current_obj` is the stored object (None on a create), `new_obj` the object as it
    would be stored (None on a delete)."""
    node = user.node_name()
    operation = OPERATIONS.get(attrs.verb)
    if node is None or operation is None or attrs.api_group != "":
        return None
    name = attrs.name or str(_meta(new_obj).get("name") or _meta(current_obj).get("name") or "Unknown")
    if not node:
        problem: str | None = f'could not determine node from user "{user.name}"'
    elif attrs.resource == "pods":
        problem = _pod_problem(node, attrs.subresource, operation, current_obj, new_obj)
    elif attrs.resource == "nodes":
        problem = _node_problem(node, name, operation, current_obj, new_obj)
    else:
        return None
    return forbidden(attrs.resource, attrs.api_group, name, problem) if problem else None


def _pod_problem(node: str, subresource: str, operation: str, current: Doc | None,
                 new: Doc | None) -> str | None:
    if subresource == "":
        if operation == "CREATE":
            return _mirror_pod_problem(node, new or {})
        if operation == "DELETE":
            if current is not None and _node_of(current) != node:
                return f'node "{node}" can only delete pods with spec.nodeName set to itself'
            return None
        return f'unexpected operation "{operation}", node "{node}" can only create and delete mirror pods'
    if subresource == "status":
        if operation != "UPDATE":
            return f'unexpected operation "{operation}"'
        if _node_of(current) != node:
            return f'node "{node}" can only update pod status for pods with spec.nodeName set to itself'
        if dict(_dict(_meta(current).get("labels"))) != dict(_dict(_meta(new).get("labels"))):
            return f'node "{node}" cannot update labels through pod status'
        return None
    if subresource == "eviction":
        if operation != "CREATE":
            return f"unexpected operation {operation}"
        if _node_of(current) != node:
            return f"node {node} can only evict pods with spec.nodeName set to itself"
        return None
    return f"unexpected pod subresource \"{subresource}\", only 'status' and 'eviction' are allowed"


def _mirror_pod_problem(node: str, pod: Doc) -> str | None:
    """Only mirror pods, bound to this node, owned by its Node, using no API objects."""
    meta = _meta(pod)
    if MIRROR_POD_ANNOTATION not in _dict(meta.get("annotations")):
        return (f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, node "{node}" can only '
                "create mirror pods")
    if _node_of(pod) != node:
        return f'node "{node}" can only create pods with spec.nodeName set to itself'
    owners = _list(meta.get("ownerReferences"))
    if len(owners) != 1:
        detail = "a single owner reference" if owners else "an owner reference"
        return f'node "{node}" can only create pods with {detail} set to itself'
    owner = _dict(owners[0])
    if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node):
        return f'node "{node}" can only create pods with an owner reference set to itself'
    if owner.get("controller") is not True:
        return f'node "{node}" can only create pods with a controller owner reference set to itself'
    if owner.get("blockOwnerDeletion") is True:
        return f'node "{node}" must not set blockOwnerDeletion on an owner reference'
    used = next(_api_references(pod), None)
    return f'node "{node}" can not create pods that reference {used[0]}' if used else None


def _node_problem(node: str, name: str, operation: str, current: Doc | None,
                  new: Doc | None) -> str | None:
    if name != node:
        return f'node "{node}" is not allowed to modify node "{name}"'
    spec = _dict((new or {}).get("spec"))
    if operation == "CREATE":
        if spec.get("configSource") is not None:
            return f'node "{node}" is not allowed to create pods with a non-nil configSource'
        bad = _forbidden_labels(_dict(_meta(new).get("labels")), {})
        return f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}' if bad else None
    if operation != "UPDATE":
        return None
    old_spec = _dict((current or {}).get("spec"))
    if spec.get("configSource") is not None and not same(spec.get("configSource"), old_spec.get("configSource")):
        return f'node "{node}" is not allowed to update configSource to a new non-nil configSource'
    if not same(spec.get("taints"), old_spec.get("taints")):
        return f'node "{node}" is not allowed to modify taints'
    if not same(_meta(new).get("ownerReferences"), _meta(current).get("ownerReferences")):
        return f'node "{node}" is not allowed to modify ownerReferences'
    bad = _forbidden_labels(_dict(_meta(new).get("labels")), _dict(_meta(current).get("labels")))
    return f"is not allowed to modify labels: {', '.join(bad)}" if bad else None


def _label_namespace(key: str) -> str:
    return key.split("/", 1)[0] if "/" in key else ""


def _in(namespace: str, parent: str) -> bool:
    return namespace == parent or namespace.endswith("." + parent)


def _forbidden_labels(new: Doc, old: Doc) -> list[str]:
    """The changed labels a kubelet may not set: node-restriction.kubernetes.io ones, and
    kubernetes.io / k8s.io ones outside the kubelet's own set."""
    changed = {k for k in set(new) | set(old) if new.get(k) != old.get(k) or (k in new) != (k in old)}
    bad = []
    for key in sorted(changed):
        namespace = _label_namespace(key)
        kubelet_label = key in KUBELET_LABELS or any(_in(namespace, n) for n in KUBELET_LABEL_NAMESPACES)
        kubernetes_label = _in(namespace, "kubernetes.io") or _in(namespace, "k8s.io")
        if _in(namespace, NODE_RESTRICTION_NAMESPACE) or (kubernetes_label and not kubelet_label):
            bad.append(key)
    return bad


# -- the Node authorizer's Secret and ConfigMap rule -----------------------------------------
