"""RBAC kinds and ServiceAccount: registry, upstream validation messages, defaulting,
the roleRef-immutable update rule, and their kubectl tables."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from schemas import ManifestInvalid, lookup_kind, resolve_resource, validate_object
from schemas.defaults import apply_defaults
from schemas.rbac import RBAC_GROUP
from schemas.updates import check_update
from services.cli.printers import render_table

RBAC = "rbac.authorization.k8s.io/v1"


def role(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "r", "namespace": "dev"},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}], **fields}


def cluster_role(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "system:cr"}, **fields}


def binding(kind: str = "RoleBinding", **fields: Any) -> dict[str, Any]:
    meta = {"name": "b", "namespace": "dev"} if kind == "RoleBinding" else {"name": "b"}
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}], **fields}


def error_of(doc: dict[str, Any]) -> str:
    with pytest.raises(ManifestInvalid) as info:
        validate_object(doc)
    return str(info.value)


@pytest.mark.parametrize("name, kind, plural", [
    ("sa", "ServiceAccount", "serviceaccounts"), ("serviceaccount", "ServiceAccount", "serviceaccounts"),
    ("roles", "Role", "roles"), ("role.rbac.authorization.k8s.io", "Role", "roles"),
    ("clusterroles", "ClusterRole", "clusterroles"), ("rolebindings", "RoleBinding", "rolebindings"),
    ("clusterrolebindings.rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings"),
])
def test_registry_names(name: str, kind: str, plural: str) -> None:
    info = resolve_resource(name)
    assert (info.kind, info.plural) == (kind, plural)


def test_registry_scopes_and_topics() -> None:
    assert lookup_kind(RBAC, "ClusterRole").namespaced is False
    assert lookup_kind(RBAC, "ClusterRoleBinding").namespaced is False
    assert lookup_kind(RBAC, "Role").namespaced and lookup_kind("v1", "ServiceAccount").namespaced
    assert lookup_kind(RBAC, "Role").topic("desired") == "kafkube.desired.roles"
    assert lookup_kind(RBAC, "RoleBinding").qualified_kind == "RoleBinding.rbac.authorization.k8s.io"


def test_valid_objects_parse() -> None:
    for doc in (role(), cluster_role(rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
                binding(), binding("ClusterRoleBinding"),
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "deployer"},
                 "secrets": [{"name": "t"}], "automountServiceAccountToken": False}):
        assert validate_object(doc).kind == doc["kind"]


def test_names_are_path_segments() -> None:
    assert validate_object(binding("ClusterRoleBinding", metadata={"name": "system:kube-scheduler"}))
    assert error_of(role(metadata={"name": "a/b%c"})) == (
        'Role.rbac.authorization.k8s.io "a/b%c" is invalid: [metadata.name: Invalid value: '
        "\"a/b%c\": may not contain '/', metadata.name: Invalid value: \"a/b%c\": may not contain '%']")
    assert "may not be '..'" in error_of(cluster_role(metadata={"name": ".."}))
    assert "RFC 1123 subdomain" in error_of({"apiVersion": "v1", "kind": "ServiceAccount",
                                            "metadata": {"name": "Bad_Name"}})


@pytest.mark.parametrize("doc, message", [
    (role(rules=[{"apiGroups": [""], "resources": ["pods"]}]),
     "rules[0].verbs: Required value: verbs must contain at least one value"),
    (role(rules=[{"verbs": ["get"]}]),
     "[rules[0].apiGroups: Required value: resource rules must supply at least one api group, "
     "rules[0].resources: Required value: resource rules must supply at least one resource]"),
    (role(rules=[{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]),
     'rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to '
     "non-resource URLs"),
    (cluster_role(rules=[{"verbs": ["get"], "nonResourceURLs": ["/x"], "resources": ["pods"]}]),
     'rules[0].nonResourceURLs: Invalid value: ["/x"]: rules cannot apply to both regular '
     "resources and non-resource URLs"),
    (cluster_role(aggregationRule={"clusterRoleSelectors": []}),
     "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector "
     "required if aggregationRule is non-nil"),
    (cluster_role(aggregationRule={"clusterRoleSelectors": [{"matchExpressions": [
        {"key": "a", "operator": "In"}]}]}),
     "aggregationRule.clusterRoleSelectors[0].matchExpressions[0].values: Required value: must "
     "be specified when `operator` is 'In' or 'NotIn'"),
    (binding(roleRef={"kind": "Secret", "name": "x"}),
     'roleRef.kind: Unsupported value: "Secret": supported values: "Role", "ClusterRole"'),
    (binding("ClusterRoleBinding", roleRef={"kind": "Role", "name": "x"}),
     'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"'),
    (binding(roleRef={"apiGroup": "apps", "kind": "Role", "name": "x"}),
     'roleRef.apiGroup: Unsupported value: "apps": supported values: "rbac.authorization.k8s.io"'),
    (binding(roleRef={"kind": "Role"}), "roleRef.name: Required value"),
    (binding(subjects=[{"kind": "Robot", "name": "r2"}]),
     'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"'),
    (binding(subjects=[{"kind": "Group"}]), "subjects[0].name: Required value"),
    (binding(subjects=[{"kind": "User", "name": "u", "apiGroup": "v1"}]),
     'subjects[0].apiGroup: Unsupported value: "v1": supported values: "rbac.authorization.k8s.io"'),
    (binding(subjects=[{"kind": "ServiceAccount", "name": "d", "apiGroup": RBAC_GROUP}]),
     'subjects[0].apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""'),
    (binding("ClusterRoleBinding", subjects=[{"kind": "ServiceAccount", "name": "d"}]),
     "subjects[0].namespace: Required value"),
])
def test_validation_messages(doc: dict[str, Any], message: str) -> None:
    name = doc["metadata"]["name"]
    assert error_of(doc) == f'{doc["kind"]}.{RBAC_GROUP} "{name}" is invalid: {message}'


def test_service_account_subject_in_role_binding_needs_no_namespace() -> None:
    assert validate_object(binding(subjects=[{"kind": "ServiceAccount", "name": "deployer"}]))


def test_defaults_fill_api_groups() -> None:
    doc = binding(roleRef={"kind": "ClusterRole", "name": "view"},
                  subjects=[{"kind": "User", "name": "a"}, {"kind": "Group", "name": "g"},
                            {"kind": "ServiceAccount", "name": "s"}])
    out = apply_defaults(validate_object(doc)).model_dump(by_alias=True, exclude_none=True, mode="json")
    assert out["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "view"}
    assert [s.get("apiGroup") for s in out["subjects"]] == [RBAC_GROUP, RBAC_GROUP, None]


def test_role_ref_is_immutable() -> None:
    old = binding()
    assert check_update("RoleBinding", binding(subjects=[{"kind": "Group", "name": "g"}]), old) == []
    new = binding(roleRef={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "edit"})
    assert [str(e) for e in check_update("RoleBinding", new, old)] == [
        'roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole",'
        '"name":"edit"}: cannot change roleRef']
    assert check_update("ClusterRoleBinding", new, old)


def test_tables() -> None:
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    meta = {"name": "b", "creationTimestamp": "2024-04-30T00:00:00Z"}
    rb = {**binding(subjects=[{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "dev"},
                              {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]),
          "metadata": meta}
    assert render_table("rolebindings", [rb], now=now).splitlines() == [
        "NAME   ROLE               AGE", "b      ClusterRole/view   24h"]
    assert render_table("clusterrolebindings", [rb], now=now, wide=True).splitlines()[1].split() == [
        "b", "ClusterRole/view", "24h", "alice", "dev", "tools:ci"]
    assert render_table("roles", [{"metadata": meta}], now=now).splitlines()[0].split() == ["NAME", "AGE"]
    sa = {"metadata": meta, "secrets": [{"name": "t"}]}
    assert render_table("serviceaccounts", [sa], now=now).splitlines()[1].split() == ["b", "1", "24h"]
