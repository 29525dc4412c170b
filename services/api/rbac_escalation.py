"""RBAC's escalation check, as kube-apiserver's RBAC storage makes it: a user may only
write a Role or ClusterRole whose rules they hold, and only bind a role whose rules they
hold, unless RBAC lets them `escalate` that role or `bind` it (pkg/registry/rbac:
escalation_check.go, validation/rule.go, policy_compact.go). `system:masters` may do
anything; an aggregationRule needs full authority.

Pure; called by the API's access control for writes of RBAC kinds, through
`services.api.rbac`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from schemas.auth import MASTERS_GROUP, UserInfo
from schemas.rbac import RBAC_GROUP
from services.api.rbac_policy import ALL, Attributes, Doc, Policy, Rule, forbidden, go_list, rules_of

FULL_AUTHORITY = (Rule((ALL,), (ALL,), (ALL,)), Rule((ALL,), non_resource_urls=(ALL,)))


def uncovered(owner: Iterable[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """The broken-down pieces of `wanted` that no rule of `owner` covers (Covers)."""
    owned = list(owner)
    return [sub for rule in wanted for sub in rule.breakdown()
            if not any(own.covers(sub) for own in owned)]


def compact(rules: Iterable[Rule]) -> list[Rule]:
    """Upstream's CompactRules: simple one-group, one-resource rules that differ only in
    their verb become one rule."""
    merged: dict[tuple[str, str, tuple[str, ...]], Rule] = {}
    out: list[Rule] = []
    for rule in rules:
        simple = (len(rule.api_groups) == 1 and len(rule.resources) == 1
                  and len(rule.resource_names) <= 1 and not rule.non_resource_urls)
        if not simple:
            out.append(rule)
            continue
        key = (rule.api_groups[0], rule.resources[0], rule.resource_names)
        seen = merged.get(key)
        merged[key] = rule if seen is None else replace(seen, verbs=seen.verbs + rule.verbs)
    return out + list(merged.values())


def _not_held(user: UserInfo, policy: Policy, wanted: Iterable[Rule], namespace: str) -> str | None:
    """ConfirmNoEscalation: None when `user` holds every rule of `wanted` in `namespace`."""
    owned, errors = policy.rules_for(user, namespace)
    missing = uncovered(owned, wanted)
    if not missing:
        return None
    lines = sorted({rule.compact_string() for rule in compact(missing)})
    message = (f'user "{user.name}" (groups={go_list(user.groups)}) is attempting to grant RBAC '
               "permissions not currently held:\n" + "\n".join(lines))
    if errors:
        message += f"; resolution errors: [{' '.join(errors)}]"
    return message


def _only_gc_fields_changed(new: Doc, old: Doc) -> bool:
    """IsOnlyMutatingGCFields: nothing but ownerReferences and finalizers differ."""
    def strip(doc: Doc) -> dict[str, Any]:
        meta = {k: v for k, v in (doc.get("metadata") or {}).items()
                if k not in ("ownerReferences", "finalizers", "resourceVersion", "generation",
                             "managedFields")}
        return {**doc, "metadata": meta}
    return strip(new) == strip(old)


def _has_aggregation(doc: Doc | None) -> bool:
    rule = (doc or {}).get("aggregationRule")
    return isinstance(rule, Mapping) and bool(rule.get("clusterRoleSelectors"))


def escalation_problem(user: UserInfo, policy: Policy, obj: Doc, namespace: str, *,
                       old: Doc | None = None) -> str | None:
    """Why writing the Role, ClusterRole or (Cluster)RoleBinding `obj` in `namespace` ("" for
    cluster-scoped kinds) would grant more than `user` holds (a Forbidden message), or None.
    `old` is the stored object on an update. Other kinds: None."""
    if MASTERS_GROUP in user.groups or (old is not None and _only_gc_fields_changed(obj, old)):
        return None
    kind, name = obj.get("kind"), str((obj.get("metadata") or {}).get("name") or "")
    if kind in ("Role", "ClusterRole"):
        return _role_problem(user, policy, obj, namespace, old)
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef") or {}
        return _binding_problem(user, policy, str(kind).lower() + "s", name, ref, namespace)
    return None


def _role_problem(user: UserInfo, policy: Policy, obj: Doc, namespace: str, old: Doc | None) -> str | None:
    resource = "roles" if obj.get("kind") == "Role" else "clusterroles"
    name = str((obj.get("metadata") or {}).get("name") or "")
    if policy.authorize(user, Attributes("escalate", RBAC_GROUP, resource, namespace=namespace,
                                         name=name)).allowed:
        return None
    problem = _not_held(user, policy, rules_of(obj), namespace)
    if problem:
        return forbidden(resource, RBAC_GROUP, name, problem)
    if resource == "clusterroles" and (_has_aggregation(obj) or _has_aggregation(old)):
        if _not_held(user, policy, FULL_AUTHORITY, namespace):
            return forbidden(resource, RBAC_GROUP, name,
                             "must have cluster-admin privileges to use the aggregationRule")
    return None


def _binding_problem(user: UserInfo, policy: Policy, resource: str, name: str, ref: Doc,
                     namespace: str) -> str | None:
    ref_kind, ref_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    ref_resource = {"ClusterRole": "clusterroles", "Role": "roles"}.get(ref_kind)
    if ref_resource is None:
        return forbidden(resource, RBAC_GROUP, name, f'unsupported role reference kind: "{ref_kind}"')
    bind = Attributes("bind", str(ref.get("apiGroup") or RBAC_GROUP), ref_resource,
                      namespace=namespace, name=ref_name)
    if policy.authorize(user, bind).allowed:
        return None
    rules, error = policy.role_ref_rules(ref_kind, ref_name, namespace, plural=True)
    if error:
        return error
    problem = _not_held(user, policy, rules, namespace)
    return forbidden(resource, RBAC_GROUP, name, problem) if problem else None
