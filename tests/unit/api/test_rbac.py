"""RBAC: authorize (tables and properties), Forbidden wording, escalation prevention,
NodeRestriction and the node read rule, the bootstrap policy, and the view's requests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.auth import ANONYMOUS_USER, UserInfo
from schemas.rbac import RBAC_GROUP
from schemas.records import Op
from schemas.registry import lookup_kind
from services.api.admission import admit
from schemas.pod_references import referenced_names
from services.api.rbac import (
    Attributes,
    Policy,
    bootstrap_policy,
    escalation_problem,
    forbidden_message,
    node_restriction,
    request_attributes,
    service_account_user,
)
from services.api.rbac_view import bootstrap_requests

RBAC = "rbac.authorization.k8s.io/v1"
Doc = dict[str, Any]


# -- builders -----------------------------------------------------------------------------
def rule(verbs: list[str], groups: list[str], resources: list[str], names: list[str] | None = None) -> Doc:
    out: Doc = {"verbs": verbs, "apiGroups": groups, "resources": resources}
    return {**out, "resourceNames": names} if names else out


def role(namespace: str, name: str, *rules: Doc) -> Doc:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": namespace},
            "rules": list(rules)}


def cluster_role(name: str, *rules: Doc, labels: dict[str, str] | None = None,
                 selects: list[dict[str, str]] | None = None) -> Doc:
    out: Doc = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}},
                "rules": list(rules)}
    if selects is not None:
        out["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": s} for s in selects]}
    return out


def user(name: str) -> Doc:
    return {"kind": "User", "apiGroup": RBAC_GROUP, "name": name}


def group(name: str) -> Doc:
    return {"kind": "Group", "apiGroup": RBAC_GROUP, "name": name}


def sa(name: str, namespace: str | None = None) -> Doc:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}


def rb(namespace: str, name: str, ref: str, *subjects: Doc, ref_kind: str = "ClusterRole") -> Doc:
    return {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": name, "namespace": namespace},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": ref_kind, "name": ref}, "subjects": list(subjects)}


def crb(name: str, ref: str, *subjects: Doc) -> Doc:
    return {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ref}, "subjects": list(subjects)}


def who(name: str, *groups: str) -> UserInfo:
    return UserInfo(username=name, groups=(*groups, "system:authenticated"))


def key(obj: Doc) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


ALICE, BOB = who("alice"), who("bob")
STATUS_WRITER, APPS_TEAM = who("sam", "status-writers"), who("carol", "apps-team")
CI = service_account_user("dev", "ci")
BOT, OTHER_BOT = service_account_user("tools", "bot"), service_account_user("other", "bot")
MASTER = who("root", "system:masters")

POLICY_OBJECTS = [
    role("dev", "pod-reader", rule(["get", "list"], [""], ["pods"])),
    role("prod", "pod-reader", rule(["*"], [""], ["pods"])),
    role("dev", "named", rule(["get"], [""], ["configmaps"], ["app-config"])),
    role("dev", "status", rule(["update", "patch"], [""], ["pods/status"])),
    cluster_role("node-reader", rule(["get", "list"], [""], ["nodes"])),
    cluster_role("all-apps", rule(["*"], ["apps"], ["*"])),
    cluster_role("scaler", rule(["patch"], ["apps"], ["*/scale"])),
    rb("dev", "alice-reads", "pod-reader", user("alice"), ref_kind="Role"),
    rb("dev", "named", "named", user("alice"), ref_kind="Role"),
    rb("dev", "ghost", "ghost", user("alice"), ref_kind="Role"),
    rb("dev", "status", "status", group("status-writers"), ref_kind="Role"),
    rb("prod", "bob-nodes", "node-reader", user("bob")),
    crb("apps-team", "all-apps", group("apps-team")),
    rb("dev", "ci-scales", "scaler", sa("ci")),
    crb("bot-nodes", "node-reader", sa("bot", "tools")),
]


def attrs(verb: str, resource: str, namespace: str = "", name: str = "", *, group: str = "",
          sub: str = "") -> Attributes:
    return Attributes(verb, group, resource, sub, namespace, name)


AUTHORIZE_CASES = [
    ("role in its namespace", ALICE, attrs("get", "pods", "dev", "web"), True),
    ("role, list", ALICE, attrs("list", "pods", "dev"), True),
    ("role, other verb", ALICE, attrs("delete", "pods", "dev", "web"), False),
    ("role, other namespace", ALICE, attrs("get", "pods", "prod", "web"), False),
    ("role, cluster scope", ALICE, attrs("get", "pods"), False),
    ("resourceNames: the named one", ALICE, attrs("get", "configmaps", "dev", "app-config"), True),
    ("resourceNames: another", ALICE, attrs("get", "configmaps", "dev", "other"), False),
    ("resourceNames: no name (list)", ALICE, attrs("get", "configmaps", "dev"), False),
    ("group: subresource", STATUS_WRITER, attrs("patch", "pods", "dev", "p", sub="status"), True),
    ("group: subresource only", STATUS_WRITER, attrs("patch", "pods", "dev", "p"), False),
    ("group: other subresource", STATUS_WRITER, attrs("patch", "pods", "dev", "p", sub="log"), False),
    ("clusterrole via rolebinding: in ns", BOB, attrs("get", "nodes", "prod", "n1"), True),
    ("clusterrole via rolebinding: not cluster-wide", BOB, attrs("get", "nodes", "", "n1"), False),
    ("clusterrole via rolebinding: not other ns", BOB, attrs("get", "nodes", "dev", "n1"), False),
    ("clusterrolebinding: everywhere", APPS_TEAM, attrs("delete", "deployments", "x", "d", group="apps"), True),
    ("clusterrolebinding: cluster scope", APPS_TEAM, attrs("list", "replicasets", group="apps"), True),
    ("wildcard resource, subresource", APPS_TEAM, attrs("update", "deployments", "x", "d", group="apps", sub="scale"), True),
    ("wildcard group only apps", APPS_TEAM, attrs("delete", "pods", "x", "p"), False),
    ("service account in binding ns: */scale", CI, attrs("patch", "deployments", "dev", "d", group="apps", sub="scale"), True),
    ("service account: */scale on replicasets", CI, attrs("patch", "replicasets", "dev", "r", group="apps", sub="scale"), True),
    ("service account: not the resource itself", CI, attrs("patch", "deployments", "dev", "d", group="apps"), False),
    ("service account: not another ns", CI, attrs("patch", "deployments", "prod", "d", group="apps", sub="scale"), False),
    ("service account of a clusterrolebinding", BOT, attrs("get", "nodes", "", "n1"), True),
    ("same name, other namespace", OTHER_BOT, attrs("get", "nodes", "", "n1"), False),
    ("wildcard verb in role", who("alice"), attrs("deletecollection", "pods", "prod"), False),
    ("masters: anything", MASTER, attrs("escalate", "clusterroles", group=RBAC_GROUP), True),
    ("anonymous: nothing", ANONYMOUS_USER, attrs("get", "pods", "dev", "web"), False),
]


@pytest.mark.parametrize("name, who_, request_, allowed", AUTHORIZE_CASES, ids=[c[0] for c in AUTHORIZE_CASES])
def test_authorize(name: str, who_: UserInfo, request_: Attributes, allowed: bool) -> None:
    assert Policy.of(POLICY_OBJECTS).authorize(who_, request_).allowed is allowed


def test_reasons() -> None:
    policy = Policy.of(POLICY_OBJECTS)
    assert policy.authorize(ALICE, attrs("get", "pods", "dev", "web")).reason == (
        'RBAC: allowed by RoleBinding "alice-reads/dev" of Role "pod-reader" to User "alice"')
    assert policy.authorize(CI, attrs("patch", "deployments", "dev", "d", group="apps", sub="scale")).reason == (
        'RBAC: allowed by RoleBinding "ci-scales/dev" of ClusterRole "scaler" to ServiceAccount "ci/dev"')
    denied = policy.authorize(ALICE, attrs("delete", "pods", "dev", "web"))
    assert denied.reason == 'RBAC: role.rbac.authorization.k8s.io "ghost" not found'
    assert policy.authorize(BOB, attrs("get", "nodes")).reason == ""


def test_a_role_binding_names_a_role_of_its_own_namespace() -> None:
    policy = Policy.of([role("prod", "r", rule(["get"], [""], ["pods"])),
                        rb("dev", "b", "r", user("alice"), ref_kind="Role")])
    assert not policy.authorize(ALICE, attrs("get", "pods", "dev", "p")).allowed
    assert not policy.authorize(ALICE, attrs("get", "pods", "prod", "p")).allowed


def test_service_account_groups() -> None:
    assert CI.name == "system:serviceaccount:dev:ci"
    assert set(CI.groups) >= {"system:serviceaccounts", "system:serviceaccounts:dev"}
    policy = Policy.of([cluster_role("read", rule(["get"], [""], ["pods"])),
                        crb("all-sa-in-dev", "read", group("system:serviceaccounts:dev"))])
    assert policy.authorize(CI, attrs("get", "pods", "x", "p")).allowed
    assert not policy.authorize(BOT, attrs("get", "pods", "x", "p")).allowed


def test_incremental_changes() -> None:
    policy = Policy.of(POLICY_OBJECTS)
    request_ = attrs("get", "pods", "dev", "web")
    binding = rb("dev", "alice-reads", "pod-reader", user("bob"), ref_kind="Role")
    policy.apply("RoleBinding", "dev/alice-reads", binding)  # the subject changed
    assert not policy.authorize(ALICE, request_).allowed and policy.authorize(BOB, request_).allowed
    policy.apply("roles", "dev/pod-reader", None)  # the role is gone
    assert not policy.authorize(BOB, request_).allowed
    policy.apply("Role", "dev/pod-reader", role("dev", "pod-reader", rule(["get"], [""], ["pods"])))
    assert policy.authorize(BOB, request_).allowed
    policy.apply("rolebindings", "dev/alice-reads", None)
    assert not policy.authorize(BOB, request_).allowed
    assert ("dev", "alice-reads") not in policy.bindings


def test_aggregation_follows_labels() -> None:
    read_pods = rule(["get"], [""], ["pods"])
    policy = Policy.of([cluster_role("agg", selects=[{"team": "a"}, {"team": "b"}]),
                        cluster_role("pods", read_pods, labels={"team": "a"}),
                        crb("agg", "agg", user("alice"))])
    request_ = attrs("get", "pods", "dev", "p")
    assert policy.authorize(ALICE, request_).allowed
    policy.apply("ClusterRole", "pods", cluster_role("pods", read_pods, labels={"team": "c"}))
    assert not policy.authorize(ALICE, request_).allowed
    policy.apply("ClusterRole", "pods", cluster_role("pods", read_pods, labels={"team": "b"}))
    assert policy.authorize(ALICE, request_).allowed
    policy.apply("ClusterRole", "pods", None)
    assert not policy.authorize(ALICE, request_).allowed
    # nested: agg selects mid (itself aggregated), which selects leaf
    policy.apply("ClusterRole", "mid", cluster_role("mid", labels={"team": "a"}, selects=[{"tier": "x"}]))
    policy.apply("ClusterRole", "leaf", cluster_role("leaf", read_pods, labels={"tier": "x"}))
    assert policy.authorize(ALICE, request_).allowed
    assert policy.cluster_role_rules("agg") == policy.cluster_role_rules("mid")


def test_aggregation_cycles_end() -> None:
    policy = Policy.of([cluster_role("a", labels={"x": "1"}, selects=[{"y": "1"}]),
                        cluster_role("b", labels={"y": "1"}, selects=[{"x": "1"}]),
                        cluster_role("c", rule(["get"], [""], ["pods"]), labels={"y": "1"})])
    assert len(policy.cluster_role_rules("a") or ()) == len(policy.cluster_role_rules("b") or ()) == 1


# -- Forbidden messages -------------------------------------------------------------------
@pytest.mark.parametrize("who_, request_, message", [
    (ALICE, attrs("create", "pods", "prod"),
     'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "prod"'),
    (BOB, attrs("delete", "nodes", "", "n1"),
     'nodes "n1" is forbidden: User "bob" cannot delete resource "nodes" in API group "" at the cluster scope'),
    (ALICE, attrs("update", "pods", "dev", "web", sub="status"),
     'pods "web" is forbidden: User "alice" cannot update resource "pods/status" in API group "" in the '
     'namespace "dev"'),
    (ALICE, attrs("patch", "deployments", "dev", "web", group="apps"),
     'deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments" in API group '
     '"apps" in the namespace "dev"'),
    (who("<x>"), Attributes("get", "", "", path="/healthz"),
     'forbidden: User "&lt;x&gt;" cannot get path "/healthz"'),
])
def test_forbidden_messages(who_: UserInfo, request_: Attributes, message: str) -> None:
    assert forbidden_message(who_, request_) == message


def test_forbidden_message_with_reason() -> None:
    text = forbidden_message(ALICE, attrs("list", "secrets", "dev"),
                             reason='RBAC: clusterrole.rbac.authorization.k8s.io "x" not found')
    assert text.endswith('in the namespace "dev": RBAC: clusterrole.rbac.authorization.k8s.io "x" not found')


@pytest.mark.parametrize("op, exists, kind, expected", [
    (Op.CREATE, False, ("v1", "Pod"), Attributes("create", "", "pods", "", "dev", "")),
    (Op.ENSURE, True, ("v1", "Pod"), Attributes("create", "", "pods", "", "dev", "")),
    (Op.APPLY, False, ("apps/v1", "Deployment"), Attributes("create", "apps", "deployments", "", "dev", "")),
    (Op.APPLY, True, ("apps/v1", "Deployment"), Attributes("patch", "apps", "deployments", "", "dev", "p")),
    (Op.UPDATE, True, ("v1", "Pod"), Attributes("update", "", "pods", "", "dev", "p")),
    (Op.PATCH, True, ("v1", "Pod"), Attributes("patch", "", "pods", "", "dev", "p")),
    (Op.DELETE, True, ("v1", "Pod"), Attributes("delete", "", "pods", "", "dev", "p")),
    (Op.BIND, True, ("v1", "Pod"), Attributes("create", "", "pods", "binding", "dev", "p")),
])
def test_request_attributes(op: Op, exists: bool, kind: tuple[str, str], expected: Attributes) -> None:
    assert request_attributes(op, lookup_kind(*kind), namespace="dev", name="p", exists=exists) == expected


def test_request_attributes_cluster_scoped() -> None:
    got = request_attributes(Op.DELETE, lookup_kind("v1", "Node"), namespace=None, name="n1", exists=True)
    assert got == Attributes("delete", "", "nodes", "", "", "n1")


# -- escalation ---------------------------------------------------------------------------
def _with(*objects: Doc) -> Policy:
    return Policy.of([*bootstrap_policy(), *objects])


EDITOR = [rb("dev", "alice-edit", "edit", user("alice")),
          role("dev", "binder", rule(["create", "update"], [RBAC_GROUP], ["rolebindings", "roles"])),
          rb("dev", "alice-binder", "binder", user("alice"), ref_kind="Role")]


def test_editor_cannot_bind_admin() -> None:
    policy = _with(*EDITOR)
    problem = escalation_problem(ALICE, policy, rb("dev", "x", "admin", user("mallory")), "dev")
    rw = '["get" "list" "watch" "patch" "delete" "deletecollection"]'  # she holds create, update
    assert problem == (
        'rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "alice" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:["authorization.k8s.io"], Resources:["localsubjectaccessreviews"], Verbs:["create"]}\n'
        f'{{APIGroups:["rbac.authorization.k8s.io"], Resources:["rolebindings"], Verbs:{rw}}}\n'
        f'{{APIGroups:["rbac.authorization.k8s.io"], Resources:["roles"], Verbs:{rw}}}')


def test_editor_can_bind_what_they_hold() -> None:
    policy = _with(*EDITOR)
    assert escalation_problem(ALICE, policy, rb("dev", "x", "view", user("mallory")), "dev") is None
    assert escalation_problem(ALICE, policy, rb("dev", "x", "edit", user("mallory")), "dev") is None
    # but not cluster-wide: the edit binding only holds in dev
    assert escalation_problem(ALICE, policy, crb("x", "view", user("mallory")), "")


def test_bind_verb_allows_binding_admin() -> None:
    may_bind = cluster_role("bind-admin", rule(["bind"], [RBAC_GROUP], ["clusterroles"], ["admin"]))
    policy = _with(*EDITOR, may_bind, rb("dev", "alice-bind", "bind-admin", user("alice")))
    assert escalation_problem(ALICE, policy, rb("dev", "x", "admin", user("mallory")), "dev") is None
    assert escalation_problem(ALICE, policy, rb("prod", "x", "admin", user("mallory")), "prod")
    assert escalation_problem(ALICE, policy, rb("dev", "x", "cluster-admin", user("m")), "dev")


def test_roles_need_held_rules_or_escalate() -> None:
    policy = _with(*EDITOR)
    held = role("dev", "r", rule(["get", "list"], [""], ["secrets"]), rule(["create"], ["apps"], ["deployments"]))
    assert escalation_problem(ALICE, policy, held, "dev") is None
    more = role("dev", "r", rule(["get"], [""], ["secrets"]), rule(["list"], [""], ["nodes"]))
    assert escalation_problem(ALICE, policy, more, "dev") == (
        'roles.rbac.authorization.k8s.io "r" is forbidden: user "alice" (groups=["system:authenticated"]) is '
        'attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["nodes"], Verbs:["list"]}')
    escalate = role("dev", "esc", rule(["escalate"], [RBAC_GROUP], ["roles"]))
    policy = _with(*EDITOR, escalate, rb("dev", "alice-esc", "esc", user("alice"), ref_kind="Role"))
    assert escalation_problem(ALICE, policy, more, "dev") is None


def test_aggregation_rule_needs_cluster_admin() -> None:
    roles_admin = cluster_role("roles-admin", rule(["create", "update"], [RBAC_GROUP], ["clusterroles"]))
    policy = _with(roles_admin, crb("alice-roles", "roles-admin", user("alice")))
    aggregated = cluster_role("mine", selects=[{"a": "b"}])
    assert escalation_problem(ALICE, policy, aggregated, "") == (
        'clusterroles.rbac.authorization.k8s.io "mine" is forbidden: must have cluster-admin privileges '
        "to use the aggregationRule")
    assert escalation_problem(ALICE, policy, cluster_role("plain"), "") is None
    assert escalation_problem(MASTER, policy, aggregated, "") is None
    escalate = cluster_role("esc", rule(["escalate"], [RBAC_GROUP], ["clusterroles"]))
    policy = _with(roles_admin, escalate, crb("alice-esc", "esc", user("alice")))
    assert escalation_problem(ALICE, policy, aggregated, "") is None


def test_binding_to_a_missing_role() -> None:
    policy = _with(*EDITOR)
    assert escalation_problem(ALICE, policy, rb("dev", "x", "nope", user("m")), "dev") == (
        'clusterroles.rbac.authorization.k8s.io "nope" not found')


def test_only_gc_fields_changed_passes() -> None:
    policy = _with()
    old = rb("dev", "x", "admin", user("m"))
    new = {**old, "metadata": {**old["metadata"], "finalizers": ["f"], "ownerReferences": []}}
    assert escalation_problem(ALICE, policy, new, "dev", old=old) is None
    assert escalation_problem(ALICE, policy, new, "dev")


# -- NodeRestriction and the node read rule -----------------------------------------------
NODE1 = UserInfo(username="system:node:n1", groups=("system:nodes", "system:authenticated"))


def pod(name: str, node: str, namespace: str = "a", **spec: Any) -> Doc:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": {"app": "x"}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}], **spec}}


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[Doc] | None = None) -> Doc:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints} if taints else {}}


@pytest.mark.parametrize("request_, current, new, message", [
    (attrs("delete", "pods", "a", "p"), pod("p", "n1"), None, None),
    (attrs("delete", "pods", "a", "p"), pod("p", "n2"), None,
     'pods "p" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'),
    (attrs("create", "pods", "a"), None, pod("p", "n1"),
     'pods "p" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only '
     "create mirror pods"),
    (attrs("patch", "pods", "a", "p"), pod("p", "n1"), pod("p", "n1"),
     'pods "p" is forbidden: unexpected operation "UPDATE", node "n1" can only create and delete mirror pods'),
    (attrs("patch", "pods", "a", "p", sub="status"), pod("p", "n1"), pod("p", "n1"), None),
    (attrs("patch", "pods", "a", "p", sub="status"), pod("p", "n2"), pod("p", "n2"),
     'pods "p" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself'),
    (attrs("update", "pods", "a", "p", sub="status"), pod("p", "n1"),
     {**pod("p", "n1"), "metadata": {"name": "p", "namespace": "a", "labels": {"app": "y"}}},
     'pods "p" is forbidden: node "n1" cannot update labels through pod status'),
    (attrs("create", "pods", "a", "p", sub="binding"), pod("p", ""), None,
     "pods \"p\" is forbidden: unexpected pod subresource \"binding\", only 'status' and 'eviction' are allowed"),
    (attrs("create", "nodes"), None, node("n1", labels={"kubernetes.io/hostname": "n1"}), None),
    (attrs("create", "nodes"), None, node("n2"),
     'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'),
    (attrs("patch", "nodes", "", "n2", sub="status"), node("n2"), node("n2"),
     'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'),
    (attrs("create", "nodes"), None,
     node("n1", labels={"node-restriction.kubernetes.io/pool": "a", "node-role.kubernetes.io/master": ""}),
     'nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: '
     "node-restriction.kubernetes.io/pool, node-role.kubernetes.io/master"),
    (attrs("patch", "nodes", "", "n1"), node("n1", taints=[{"key": "k", "effect": "NoSchedule"}]), node("n1"),
     'nodes "n1" is forbidden: node "n1" is not allowed to modify taints'),
    (attrs("patch", "nodes", "", "n1"), node("n1"), node("n1", labels={"topology.kubernetes.io/zone": "z"}), None),
    (attrs("patch", "nodes", "", "n1"), node("n1"), node("n1", labels={"kubernetes.io/role": "x"}),
     'nodes "n1" is forbidden: is not allowed to modify labels: kubernetes.io/role'),
    (attrs("get", "nodes", "", "n2"), None, None, None),
    (attrs("delete", "configmaps", "a", "c"), None, None, None),
])
def test_node_restriction(request_: Attributes, current: Doc | None, new: Doc | None, message: str | None) -> None:
    assert node_restriction(NODE1, request_, current, new) == message


def test_node_restriction_applies_only_to_nodes() -> None:
    assert node_restriction(ALICE, attrs("delete", "pods", "a", "p"), pod("p", "n2"), None) is None
    nameless = UserInfo(username="system:node:", groups=("system:nodes",))
    assert node_restriction(nameless, attrs("delete", "pods", "a", "p"), pod("p", "n2"), None) == (
        'pods "p" is forbidden: could not determine node from user "system:node:"')


def test_mirror_pods() -> None:
    mirror = pod("m", "n1")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    mirror["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "u",
                                              "controller": True}]
    assert node_restriction(NODE1, attrs("create", "pods", "a"), None, mirror) is None
    mirror["spec"]["volumes"] = [{"name": "v", "secret": {"secretName": "s"}}]
    assert node_restriction(NODE1, attrs("create", "pods", "a"), None, mirror) == (
        'pods "m" is forbidden: node "n1" can not create pods that reference secrets')


def test_the_objects_a_pod_uses() -> None:
    """The Node authorizer's edges (schemas.pod_references), which decide a node's SecretRequest."""
    container = {"name": "c", "image": "i",
                 "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}}],
                 "envFrom": [{"secretRef": {"name": "s-env"}}]}
    on_n1 = pod("p", "n1", "a", containers=[container], imagePullSecrets=[{"name": "registry"}],
                volumes=[{"name": "v", "secret": {"secretName": "s-vol"}},
                         {"name": "w", "configMap": {"name": "cm-vol"}},
                         {"name": "x", "projected": {"sources": [{"secret": {"name": "s-proj"}}]}}])
    assert referenced_names(on_n1, "secrets") == {"s-vol", "s-env", "registry", "s-proj"}
    assert referenced_names(on_n1, "configmaps") == {"cm-vol", "cm-env"}
    assert referenced_names(pod("q", "n2", "a"), "secrets") == frozenset()

def test_bootstrap_objects_are_admissible_and_labelled() -> None:
    objects = bootstrap_policy()
    for obj in objects:
        stored = admit(obj).obj
        assert stored["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("ClusterRole", n) for n in ("cluster-admin", "admin", "edit", "view", "system:kube-scheduler",
                                         "system:kube-controller-manager", "system:node")} <= names
    assert objects is not bootstrap_policy() and objects == bootstrap_policy()


BOOT = _with(rb("team", "v", "view", user("viewer")), rb("team", "e", "edit", user("editor")),
             rb("team", "a", "admin", user("admin")))
VIEWER, EDITOR_U, ADMIN = who("viewer"), who("editor"), who("admin")
SCHED = UserInfo(username="system:kube-scheduler", groups=("system:authenticated",))
KCM = UserInfo(username="system:kube-controller-manager", groups=("system:authenticated",))


def test_view_only_reads_and_no_secrets() -> None:
    rules = BOOT.cluster_role_rules("view") or ()
    assert rules and all(set(r.verbs) <= {"get", "list", "watch"} for r in rules)
    assert BOOT.authorize(VIEWER, attrs("list", "pods", "team")).allowed
    assert BOOT.authorize(VIEWER, attrs("watch", "deployments", "team", group="apps")).allowed
    assert not BOOT.authorize(VIEWER, attrs("get", "secrets", "team", "s")).allowed
    assert not BOOT.authorize(VIEWER, attrs("create", "pods", "team")).allowed
    assert not BOOT.authorize(VIEWER, attrs("list", "pods", "other")).allowed


def test_edit_writes_workloads_not_roles() -> None:
    assert BOOT.authorize(EDITOR_U, attrs("create", "deployments", "team", group="apps")).allowed
    assert BOOT.authorize(EDITOR_U, attrs("patch", "deployments", "team", "d", group="apps", sub="scale")).allowed
    assert BOOT.authorize(EDITOR_U, attrs("get", "secrets", "team", "s")).allowed
    assert BOOT.authorize(EDITOR_U, attrs("list", "pods", "team")).allowed  # view, aggregated
    assert not BOOT.authorize(EDITOR_U, attrs("create", "roles", "team", group=RBAC_GROUP)).allowed
    assert not BOOT.authorize(EDITOR_U, attrs("create", "rolebindings", "team", group=RBAC_GROUP)).allowed


def test_admin_grants_in_its_namespace() -> None:
    assert BOOT.authorize(ADMIN, attrs("create", "roles", "team", group=RBAC_GROUP)).allowed
    assert BOOT.authorize(ADMIN, attrs("create", "rolebindings", "team", group=RBAC_GROUP)).allowed
    assert BOOT.authorize(ADMIN, attrs("delete", "secrets", "team", "s")).allowed
    assert not BOOT.authorize(ADMIN, attrs("create", "roles", "other", group=RBAC_GROUP)).allowed
    assert not BOOT.authorize(ADMIN, attrs("create", "clusterroles", group=RBAC_GROUP)).allowed
    # an admin binds edit and view in the namespace without holding bind
    assert escalation_problem(ADMIN, BOOT, rb("team", "x", "edit", user("bob")), "team") is None
    assert escalation_problem(ADMIN, BOOT, rb("team", "x", "cluster-admin", user("bob")), "team")


def test_scheduler_binds_pods() -> None:
    bind = request_attributes(Op.BIND, lookup_kind("v1", "Pod"), namespace="ns", name="p", exists=True)
    assert BOOT.authorize(SCHED, bind).allowed
    assert not BOOT.authorize(SCHED, attrs("create", "pods", "ns")).allowed
    assert not BOOT.authorize(SCHED, attrs("patch", "nodes", "", "n1")).allowed


def test_volume_binding_rights_of_the_scheduler_and_the_nodes() -> None:
    """The scheduler sets a claim's selected node and a static volume's claimRef (PATCH
    requests) and reads classes, as upstream's system:volume-scheduler; nodes only get
    claims and volumes, as upstream's system:node."""
    claim = request_attributes(Op.PATCH, lookup_kind("v1", "PersistentVolumeClaim"), namespace="ns", name="data",
                               exists=True)
    volume = request_attributes(Op.PATCH, lookup_kind("v1", "PersistentVolume"), namespace=None, name="pv1",
                                exists=True)
    assert BOOT.authorize(SCHED, claim).allowed and BOOT.authorize(SCHED, volume).allowed
    assert BOOT.authorize(SCHED, attrs("list", "storageclasses", group="storage.k8s.io")).allowed
    assert not BOOT.authorize(SCHED, attrs("delete", "persistentvolumeclaims", "ns", "data")).allowed
    assert not BOOT.authorize(SCHED, attrs("create", "persistentvolumes")).allowed
    assert BOOT.authorize(NODE1, attrs("get", "persistentvolumeclaims", "ns", "data")).allowed
    assert BOOT.authorize(NODE1, attrs("get", "persistentvolumes", "", "pv1")).allowed
    assert not BOOT.authorize(NODE1, claim).allowed and not BOOT.authorize(NODE1, volume).allowed


@pytest.mark.parametrize("verb, group_, resource, allowed", [
    ("create", "", "pods", True), ("patch", "", "pods", True), ("delete", "", "pods", True),
    ("create", "apps", "replicasets", True), ("patch", "apps", "replicasets", True),
    ("delete", "apps", "replicasets", True), ("patch", "apps", "deployments", True),
    ("patch", "", "nodes", True), ("delete", "", "configmaps", True), ("patch", "", "namespaces", True),
    ("delete", RBAC_GROUP, "rolebindings", True),  # the namespace controller empties namespaces
    ("create", "", "secrets", False), ("create", "apps", "deployments", False), ("update", "", "pods", False),
    ("create", RBAC_GROUP, "clusterrolebindings", False),
])
def test_controller_manager_sends_what_it_may(verb: str, group_: str, resource: str, allowed: bool) -> None:
    assert BOOT.authorize(KCM, attrs(verb, resource, "ns", "x", group=group_)).allowed is allowed


@pytest.mark.parametrize("request_, allowed", [
    (attrs("create", "nodes"), True), (attrs("patch", "nodes", "", "n1", sub="status"), True),
    (attrs("delete", "pods", "a", "p"), True), (attrs("update", "pods", "a", "p", sub="status"), True),
    (attrs("get", "secrets", "a", "s"), True), (attrs("create", "events", "a"), True),
    (attrs("create", "pods", "a"), False), (attrs("delete", "nodes", "", "n1"), False),
    (attrs("create", "secrets", "a"), False), (attrs("create", "pods", "a", "p", sub="binding"), False),
])
def test_node_role(request_: Attributes, allowed: bool) -> None:
    assert BOOT.authorize(NODE1, request_).allowed is allowed


def test_everyone_and_no_one() -> None:
    review = attrs("create", "selfsubjectaccessreviews", group="authorization.k8s.io")
    assert BOOT.authorize(who("anybody"), review).allowed
    assert not BOOT.authorize(ANONYMOUS_USER, review).allowed
    assert not BOOT.authorize(who("anybody"), attrs("list", "pods", "team")).allowed
    assert BOOT.authorize(who("admin2", "system:masters"), attrs("delete", "nodes", "", "n")).allowed


def test_bootstrap_requests() -> None:
    requests = bootstrap_requests()
    assert len(requests) == len(bootstrap_policy())
    assert {r.op for r in requests} == {Op.ENSURE} and not any(r.reply for r in requests)
    assert all(r.writer == "api" and r.namespace is None and r.body for r in requests)
    assert requests[0].key == "cluster-admin" and requests[0].api_version == RBAC


# -- properties ---------------------------------------------------------------------------
VERBS = ["get", "list", "create", "delete", "*"]
GROUPS = ["", "apps", "*"]
RESOURCES = ["pods", "pods/status", "deployments", "deployments/scale", "*/scale", "*", "nodes"]
NAMESPACES = ["dev", "prod"]
USERS = ["alice", "bob"]
TEAMS = ["g1", "g2"]

rules_st = st.lists(st.builds(
    rule, st.lists(st.sampled_from(VERBS), min_size=1, max_size=2),
    st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2),
    st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2),
    st.one_of(st.none(), st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2))), max_size=3)
subject_st = st.one_of(st.builds(user, st.sampled_from(USERS)), st.builds(group, st.sampled_from(TEAMS)))


@st.composite
def worlds(draw: st.DrawFn) -> list[Doc]:
    objects: list[Doc] = []
    for i in range(draw(st.integers(0, 3))):
        objects.append(cluster_role(f"cr{i}", *draw(rules_st)))
    for ns in NAMESPACES:
        for i in range(draw(st.integers(0, 2))):
            objects.append(role(ns, f"r{i}", *draw(rules_st)))
    for i in range(draw(st.integers(0, 3))):
        objects.append(crb(f"crb{i}", f"cr{draw(st.integers(0, 3))}", *draw(st.lists(subject_st, min_size=1, max_size=2))))
    for i in range(draw(st.integers(0, 4))):
        ns, kind = draw(st.sampled_from(NAMESPACES)), draw(st.sampled_from(["Role", "ClusterRole"]))
        ref = f"r{draw(st.integers(0, 2))}" if kind == "Role" else f"cr{draw(st.integers(0, 3))}"
        objects.append(rb(ns, f"rb{i}", ref, *draw(st.lists(subject_st, min_size=1, max_size=2)), ref_kind=kind))
    return objects


requests_st = st.builds(
    lambda verb, grp, res, ns, name: Attributes(verb, grp, res.split("/")[0],
                                                res.split("/")[1] if "/" in res else "", ns, name),
    st.sampled_from(["get", "list", "create", "delete", "patch"]), st.sampled_from(["", "apps"]),
    st.sampled_from(["pods", "pods/status", "deployments", "deployments/scale", "nodes", "secrets"]),
    st.sampled_from(["", *NAMESPACES]), st.sampled_from(["", "a", "b"]))
users_st = st.builds(lambda name, groups: UserInfo(username=name, groups=tuple(groups)),
                     st.sampled_from(USERS), st.lists(st.sampled_from(TEAMS), max_size=2, unique=True))


def bound_rules(objects: list[Doc], who_: UserInfo, namespace: str) -> list[Doc]:
    """Every rule of every role bound to `who_` where it applies, read straight off the objects."""
    def named(s: Doc) -> bool:
        return (s["kind"] == "User" and s["name"] == who_.name) or (s["kind"] == "Group" and s["name"] in who_.groups)

    def role_rules(kind: str, name: str, ns: str) -> list[Doc]:
        return [r for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
                and o["metadata"].get("namespace", "") == ns for r in o["rules"]]

    out: list[Doc] = []
    for b in objects:
        ns = b["metadata"].get("namespace", "")
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding") or not any(map(named, b["subjects"])):
            continue
        if b["kind"] == "RoleBinding" and ns != namespace:
            continue
        ref = b["roleRef"]
        out += role_rules(ref["kind"], ref["name"], ns if ref["kind"] == "Role" else "")
    return out


def oracle(r: Doc, a: Attributes) -> bool:
    wanted = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    return (("*" in r["verbs"] or a.verb in r["verbs"]) and ("*" in r["apiGroups"] or a.api_group in r["apiGroups"])
            and any(x in ("*", wanted) or (a.subresource and x == f"*/{a.subresource}") for x in r["resources"])
            and (not r.get("resourceNames") or a.name in r["resourceNames"]))


def request_from(r: Doc, namespace: str, data: st.DataObject) -> Attributes:
    """A request some rule `r` is about (wildcards made concrete), so that allows are common."""
    def concrete(values: list[str], choices: list[str]) -> str:
        value = data.draw(st.sampled_from(values))
        return data.draw(st.sampled_from(choices)) if value == "*" else value
    verb = concrete(r["verbs"], ["get", "list", "create", "delete", "patch"])
    resource = concrete(r["resources"], ["pods", "pods/status", "deployments", "deployments/scale", "nodes"])
    if resource.startswith("*/"):
        resource = data.draw(st.sampled_from(["deployments", "replicasets"])) + resource[1:]
    name = data.draw(st.sampled_from(r.get("resourceNames") or ["", "a", "b"]))
    return Attributes(verb, concrete(r["apiGroups"], ["", "apps"]), resource.split("/")[0],
                      resource.split("/")[1] if "/" in resource else "", namespace, name)


@settings(max_examples=300, deadline=None)
@given(worlds(), users_st, requests_st, st.data())
def test_never_more_than_the_bound_rules(objects: list[Doc], who_: UserInfo, request_: Attributes,
                                          data: st.DataObject) -> None:
    """Allowed exactly when a rule of a role bound to the user (cluster-wide, or in the
    request's namespace) allows the request: never more than the union of those rules."""
    held = bound_rules(objects, who_, request_.namespace)
    if bool(held) and data.draw(st.booleans()):
        request_ = request_from(data.draw(st.sampled_from(held)), request_.namespace, data)
    allowed = Policy.of(objects).authorize(who_, request_).allowed
    assert allowed == any(oracle(r, request_) for r in held)


@settings(max_examples=150, deadline=None)
@given(worlds(), users_st, st.sampled_from(["", *NAMESPACES]), st.data())
def test_one_may_grant_what_one_holds(objects: list[Doc], who_: UserInfo, namespace: str, data: st.DataObject) -> None:
    held = bound_rules(objects, who_, namespace)
    granted = data.draw(st.lists(st.sampled_from(held), max_size=3)) if held else []
    policy = Policy.of(objects)
    obj = role(namespace, "new", *granted) if namespace else cluster_role("new", *granted)
    assert escalation_problem(who_, policy, obj, namespace) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(worlds(), st.integers(0, 10)), min_size=1, max_size=4), users_st, requests_st)
def test_incremental_equals_fresh(steps: list[tuple[list[Doc], int]], who_: UserInfo, request_: Attributes) -> None:
    """Applying worlds one after another (with tombstones for what a world drops) leaves
    the same index as building the last world from scratch."""
    policy = Policy()
    live: dict[tuple[str, str], Doc] = {}
    for objects, _ in steps:
        now = {(o["kind"], key(o)): o for o in objects}
        for gone in live.keys() - now.keys():
            policy.apply(gone[0], gone[1], None)
        for (kind, k), obj in now.items():
            policy.apply(kind, k, obj)
        live = now
    fresh = Policy.of(list(live.values()))
    assert policy.authorize(who_, request_) == fresh.authorize(who_, request_)
    assert policy.rules_for(who_, request_.namespace) == fresh.rules_for(who_, request_.namespace)
