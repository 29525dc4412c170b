"""RBAC (``rbac.authorization.k8s.io/v1``: Role, ClusterRole, RoleBinding,
ClusterRoleBinding) and the core ``v1`` ServiceAccount, in Kubernetes' own shape.

Used by the registry (kinds and topics), ``schemas.checks`` (``RBAC_CHECKS``: the rules of
pkg/apis/rbac/validation), ``schemas.defaults`` (a binding's roleRef and subjects get
their apiGroup), ``schemas.updates`` (a binding's roleRef is immutable) and the API's
authoriser (``services.api.rbac``), which reads the stored JSON of these kinds.
Validation runs before defaulting in Kafkube, so the checks judge the values as
Kubernetes would see them after its defaulting (a User subject without apiGroup is fine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field

from schemas.meta import KubeModel, LabelSelector, LocalObjectReference, ObjectReference, Resource
from schemas.validation import (
    FieldError,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
    not_supported,
)

__all__ = [
    "AggregationRule", "ClusterRole", "ClusterRoleBinding", "PolicyRule", "Role", "RoleBinding",
    "RoleRef", "ServiceAccount", "Subject",
]

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"
USER_KIND, GROUP_KIND, SERVICE_ACCOUNT_KIND = "User", "Group", "ServiceAccount"
SUBJECT_KINDS = (SERVICE_ACCOUNT_KIND, USER_KIND, GROUP_KIND)
Doc = dict[str, Any]


# -- models ---------------------------------------------------------------------------------
class PolicyRule(KubeModel):
    """What a role allows. ``verbs`` is required, as the checks (not the parser) say."""

    verbs: list[str] | None = None
    api_groups: list[str] | None = None
    resources: list[str] | None = None
    resource_names: list[str] | None = None
    non_resource_urls: list[str] | None = Field(default=None, alias="nonResourceURLs")


class AggregationRule(KubeModel):
    cluster_role_selectors: list[LabelSelector] | None = None


class Role(Resource):
    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["Role"] = "Role"
    rules: list[PolicyRule] | None = None


class ClusterRole(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["ClusterRole"] = "ClusterRole"
    rules: list[PolicyRule] | None = None
    aggregation_rule: AggregationRule | None = None


class RoleRef(KubeModel):
    api_group: str | None = None
    kind: str | None = None
    name: str | None = None


class Subject(KubeModel):
    kind: str | None = None
    api_group: str | None = None
    name: str | None = None
    namespace: str | None = None


class RoleBinding(Resource):
    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["RoleBinding"] = "RoleBinding"
    subjects: list[Subject] | None = None
    role_ref: RoleRef | None = None


class ClusterRoleBinding(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["ClusterRoleBinding"] = "ClusterRoleBinding"
    subjects: list[Subject] | None = None
    role_ref: RoleRef | None = None


class ServiceAccount(Resource):
    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    secrets: list[ObjectReference] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


# -- defaulting (pkg/apis/rbac/v1/defaults.go) -------------------------------------------------
def subject_api_group(kind: str | None, api_group: str | None) -> str:
    """A subject's apiGroup after defaulting: User and Group get the RBAC group."""
    if api_group:
        return api_group
    return RBAC_GROUP if kind in (USER_KIND, GROUP_KIND) else ""


def default_binding(doc: Doc) -> None:
    """Default a (Cluster)RoleBinding's JSON in place: roleRef.apiGroup and subjects' apiGroup."""
    ref = doc.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in doc.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            group = subject_api_group(subject.get("kind"), None)
            if group:
                subject["apiGroup"] = group


# -- validation (pkg/apis/rbac/validation/validation.go) --------------------------------------
def is_path_segment_name(value: str) -> list[str]:
    """Errors for an RBAC object name (``ValidateRBACName``: any path segment); [] when valid."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in value]


def _check_rule(path: str, rule: PolicyRule, *, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not rule.verbs:
        errs.append(FieldError(f"{path}.verbs", "Required",
                               detail="verbs must contain at least one value"))
    if rule.non_resource_urls:
        urls = rule.non_resource_urls
        if namespaced:
            errs.append(FieldError(f"{path}.nonResourceURLs", "Invalid", urls,
                                   "namespaced rules cannot apply to non-resource URLs"))
        if rule.api_groups or rule.resources or rule.resource_names:
            errs.append(FieldError(f"{path}.nonResourceURLs", "Invalid", urls,
                                   "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.api_groups:
        errs.append(FieldError(f"{path}.apiGroups", "Required",
                               detail="resource rules must supply at least one api group"))
    if not rule.resources:
        errs.append(FieldError(f"{path}.resources", "Required",
                               detail="resource rules must supply at least one resource"))
    return errs


def _check_rules(rules: list[PolicyRule] | None, *, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules or []):
        errs += _check_rule(f"rules[{i}]", rule, namespaced=namespaced)
    return errs


def check_role(role: Role) -> list[FieldError]:
    return _check_rules(role.rules, namespaced=True)


def _check_selector(path: str, selector: LabelSelector) -> list[FieldError]:
    """``ValidateLabelSelector``: an empty selector is allowed here (it matches all)."""
    errs: list[FieldError] = []
    for key, value in (selector.match_labels or {}).items():
        errs += [FieldError(f"{path}.matchLabels", "Invalid", key, m) for m in is_qualified_name(key)]
        errs += [FieldError(f"{path}.matchLabels", "Invalid", value, m) for m in is_label_value(value)]
    for i, req in enumerate(selector.match_expressions or []):
        where = f"{path}.matchExpressions[{i}]"
        errs += [FieldError(f"{where}.key", "Invalid", req.key, m) for m in is_qualified_name(req.key)]
        if req.operator in ("In", "NotIn") and not req.values:
            errs.append(FieldError(f"{where}.values", "Required",
                                   detail="must be specified when `operator` is 'In' or 'NotIn'"))
        if req.operator in ("Exists", "DoesNotExist") and req.values:
            errs.append(FieldError(f"{where}.values", "Forbidden",
                                   detail="may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    return errs


def check_cluster_role(role: ClusterRole) -> list[FieldError]:
    errs = _check_rules(role.rules, namespaced=False)
    if role.aggregation_rule is None:
        return errs
    selectors = role.aggregation_rule.cluster_role_selectors or []
    if not selectors:
        errs.append(FieldError("aggregationRule.clusterRoleSelectors", "Required", detail=(
            "at least one clusterRoleSelector required if aggregationRule is non-nil")))
    for i, selector in enumerate(selectors):
        errs += _check_selector(f"aggregationRule.clusterRoleSelectors[{i}]", selector)
    return errs


def _check_role_ref(ref: RoleRef | None, kinds: list[str]) -> list[FieldError]:
    ref = ref or RoleRef()
    errs: list[FieldError] = []
    group = ref.api_group or RBAC_GROUP
    if group != RBAC_GROUP:
        errs.append(not_supported("roleRef.apiGroup", group, [RBAC_GROUP]))
    if ref.kind not in kinds:
        errs.append(not_supported("roleRef.kind", ref.kind or "", kinds))
    if not ref.name:
        errs.append(FieldError("roleRef.name", "Required"))
    else:
        errs += [FieldError("roleRef.name", "Invalid", ref.name, m)
                 for m in is_path_segment_name(ref.name)]
    return errs


def _check_subject(path: str, subject: Subject, *, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    if not subject.name:
        errs.append(FieldError(f"{path}.name", "Required"))
    group = subject_api_group(subject.kind, subject.api_group)
    if subject.kind == SERVICE_ACCOUNT_KIND:
        if subject.name:
            errs += [FieldError(f"{path}.name", "Invalid", subject.name, m)
                     for m in is_dns1123_subdomain(subject.name)]
        if group:
            errs.append(not_supported(f"{path}.apiGroup", group, [""]))
        if not namespaced and not subject.namespace:
            errs.append(FieldError(f"{path}.namespace", "Required"))
    elif subject.kind in (USER_KIND, GROUP_KIND):
        if group != RBAC_GROUP:
            errs.append(not_supported(f"{path}.apiGroup", group, [RBAC_GROUP]))
    else:
        errs.append(not_supported(f"{path}.kind", subject.kind or "", list(SUBJECT_KINDS)))
    return errs


def _check_binding(binding: RoleBinding | ClusterRoleBinding, *, namespaced: bool) -> list[FieldError]:
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    errs = _check_role_ref(binding.role_ref, kinds)
    for i, subject in enumerate(binding.subjects or []):
        errs += _check_subject(f"subjects[{i}]", subject, namespaced=namespaced)
    return errs


def check_role_binding(binding: RoleBinding) -> list[FieldError]:
    return _check_binding(binding, namespaced=True)


def check_cluster_role_binding(binding: ClusterRoleBinding) -> list[FieldError]:
    return _check_binding(binding, namespaced=False)


RBAC_CHECKS: dict[str, Callable[[Any], list[FieldError]]] = {
    "Role": check_role,
    "ClusterRole": check_cluster_role,
    "RoleBinding": check_role_binding,
    "ClusterRoleBinding": check_cluster_role_binding,
}
"""Kind rules, merged into ``schemas.checks.KIND_CHECKS``."""

RBAC_NAME_CHECKS: dict[str, Callable[[str], list[str]]] = {
    kind: is_path_segment_name for kind in RBAC_CHECKS
}
"""RBAC objects may be named ``system:kube-scheduler``: any path segment."""


# -- update (ValidateRoleBindingUpdate / ValidateClusterRoleBindingUpdate) ---------------------
def check_role_ref_update(new: Doc, old: Doc) -> list[FieldError]:
    """A binding's roleRef never changes (both objects are defaulted)."""
    ref, old_ref = new.get("roleRef"), old.get("roleRef")
    if ref == old_ref:
        return []
    return [FieldError("roleRef", "Invalid", ref, "cannot change roleRef")]
