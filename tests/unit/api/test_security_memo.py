"""The API's memoised security decisions give the same answers as working them out, and a
change is seen by the next request: RBAC decisions (`Policy.authorize` against
`Policy.decide`, across Role, RoleBinding, ClusterRole and ClusterRoleBinding changes) and
Pod Security verdicts (`check_pod_security` against `evaluate`, across namespace levels)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import services.api.pod_security as pod_security
from schemas.auth import ANONYMOUS_USER, TOKEN_HEADER, UserInfo
from schemas.podsecurity import NamespacePolicy, evaluate, namespace_policy, pod_template, violation_message, \
    warning_message
from schemas.records import Op, WriteRequest
from services.api.access import AccessControl
from services.api.authn import Authenticator, parse_token_file
from services.api.cluster_views import NamespaceFacts
from services.api.pod_security import PodSecurityVerdict, check_pod_security, namespace_levels
from services.api.rbac import Attributes, Policy
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from tests.unit.api.test_poison import ACCESS, ADMIN_TOKEN, SETTINGS, TOPICS, TRUST, FakeRecord
from tests.unit.api.test_rbac import (
    ALICE, APPS_TEAM, BOB, BOT, CI, MASTER, OTHER_BOT, POLICY_OBJECTS, STATUS_WRITER, cluster_role, crb, rb, role, rule,
    user, who)

# -- RBAC ------------------------------------------------------------------------------------
USERS = [ALICE, BOB, STATUS_WRITER, APPS_TEAM, CI, BOT, OTHER_BOT, MASTER, ANONYMOUS_USER]
ASKS = st.builds(Attributes, st.sampled_from(["get", "list", "create", "patch", "update", "delete"]),
                 st.sampled_from(["", "apps"]),
                 st.sampled_from(["pods", "configmaps", "nodes", "deployments", "replicasets"]),
                 st.sampled_from(["", "status", "scale", "binding"]), st.sampled_from(["", "dev", "prod", "x"]),
                 st.sampled_from(["", "web", "app-config", "other"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(USERS), ASKS), min_size=1, max_size=40))
def test_memoised_rbac_decisions_equal_the_worked_out_ones(asks: list[tuple[UserInfo, Attributes]]) -> None:
    memoised, fresh = Policy.of(POLICY_OBJECTS), Policy.of(POLICY_OBJECTS)
    for who_, attrs in asks + asks:  # every ask twice: the second is answered from the memo
        assert memoised.authorize(who_, attrs) == fresh.decide(who_, attrs)


def test_resource_names_still_tell_objects_apart() -> None:
    """The name is part of the key where a rule names resources (configmaps in dev)."""
    policy = Policy.of(POLICY_OBJECTS)
    named, other = Attributes("get", "", "configmaps", namespace="dev", name="app-config"), \
        Attributes("get", "", "configmaps", namespace="dev", name="other")
    assert policy.authorize(ALICE, named).allowed and not policy.authorize(ALICE, other).allowed
    assert policy.authorize(ALICE, named).allowed


def test_pods_of_any_name_share_one_decision() -> None:
    policy = Policy.of(POLICY_OBJECTS)
    for i in range(50):
        assert policy.authorize(ALICE, Attributes("get", "", "pods", namespace="dev", name=f"web-{i}")).allowed
    assert len(policy._decisions) == 1


def test_each_rbac_change_is_seen_by_the_next_decision() -> None:
    carol, ask = who("carol"), Attributes("create", "", "pods", namespace="dev")
    policy = Policy.of(POLICY_OBJECTS)
    assert not policy.authorize(carol, ask).allowed
    policy.apply("RoleBinding", "dev/carol", rb("dev", "carol", "makers", user("carol"), ref_kind="Role"))
    assert not policy.authorize(carol, ask).allowed  # the Role is missing
    policy.apply("Role", "dev/makers", role("dev", "makers", rule(["create"], [""], ["pods"])))
    assert policy.authorize(carol, ask).allowed
    policy.apply("Role", "dev/makers", role("dev", "makers", rule(["get"], [""], ["pods"])))
    assert not policy.authorize(carol, ask).allowed
    policy.apply("ClusterRole", "makers", cluster_role("makers", rule(["create"], [""], ["pods"])))
    policy.apply("ClusterRoleBinding", "carol", crb("carol", "makers", user("carol")))
    assert policy.authorize(carol, ask).allowed
    policy.apply("ClusterRoleBinding", "carol", None)
    assert not policy.authorize(carol, ask).allowed
    named = Attributes("delete", "", "pods", namespace="dev", name="keep")
    policy.apply("Role", "dev/makers", role("dev", "makers", rule(["delete"], [""], ["pods"], ["other"])))
    assert not policy.authorize(carol, named).allowed  # a rule now names pods: the name counts
    policy.apply("Role", "dev/makers", role("dev", "makers", rule(["delete"], [""], ["pods"], ["keep"])))
    assert policy.authorize(carol, named).allowed


class ArrivingBinding:
    """A policy source whose read barrier brings a RoleBinding committed just before."""

    def __init__(self) -> None:
        self.policy = Policy.of(POLICY_OBJECTS)
        self.arriving = [rb("dev", "carol", "pod-reader", user("carol"), ref_kind="Role")]

    async def barrier(self) -> None:
        for binding in self.arriving:
            self.policy.apply("RoleBinding", "dev/carol", binding)
        self.arriving = []


def test_a_denial_asks_again_after_the_barrier() -> None:
    source = ArrivingBinding()
    access = AccessControl(Authenticator(parse_token_file("t,carol,1\n")), source)
    ask = Attributes("get", "", "pods", namespace="dev", name="web")
    assert source.policy.authorize(who("carol"), ask).allowed is False  # memoised as a denial
    assert asyncio.run(access.check(who("carol"), ask)) is None
    source.policy.apply("RoleBinding", "dev/carol", None)
    assert asyncio.run(access.check(who("carol"), ask)) is not None


# -- Pod Security ----------------------------------------------------------------------------
def reference(obj: dict[str, Any], policy: NamespacePolicy, *, creating: bool) -> PodSecurityVerdict:
    """`check_pod_security` as it was before the memo: `evaluate` on every call."""
    parts = pod_template(obj)
    assert parts is not None
    is_pod = obj.get("kind") == "Pod"

    def violations(mode: Any) -> list[Any]:
        return evaluate(mode.level, mode.version, parts.metadata, parts.spec)

    refusal = None
    if is_pod and creating and (found := violations(policy.enforce)):
        refusal = (f'pods "{obj["metadata"].get("name", "")}" is forbidden: '
                   f'{violation_message(policy.enforce.level, policy.enforce.version, found)}')
    warned = violations(policy.warn) if policy.warn != policy.enforce or not is_pod else []
    warnings = (warning_message(policy.warn.level, policy.warn.version, warned),) if warned else ()
    audited = violations(policy.audit)
    audit = warning_message(policy.audit.level, policy.audit.version, audited) if audited else None
    return PodSecurityVerdict(refusal, warnings, audit)


ODD = st.sampled_from([True, False, 1, 1.0, 0, None, "true", math.nan, math.inf])
POLICIES = st.sampled_from([
    {}, {"pod-security.kubernetes.io/enforce": "restricted"},
    {"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "restricted",
     "pod-security.kubernetes.io/audit": "baseline"},
    {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.22"}])
ANNOTATIONS = st.sampled_from([
    None, {}, {"container.apparmor.security.beta.kubernetes.io/c": "unconfined", "b": "x"},
    {"b": "x", "container.apparmor.security.beta.kubernetes.io/c": "unconfined",
     "container.apparmor.security.beta.kubernetes.io/d": "localhost/../x"},
    {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}])


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if draw(st.booleans()):
        container["securityContext"] = {"privileged": draw(ODD), "allowPrivilegeEscalation": draw(ODD),
                                        "runAsNonRoot": draw(ODD), "capabilities": {"add": draw(st.sampled_from(
                                            [[], ["NET_ADMIN"], ["CHOWN", "SYS_ADMIN"]]))}}
    spec: dict[str, Any] = {"containers": [container], "hostNetwork": draw(ODD), "hostPID": draw(ODD)}
    if draw(st.booleans()):
        spec["securityContext"] = {"runAsUser": draw(st.sampled_from([0, 1000, 0.0, None])),
                                   "seccompProfile": {"type": draw(st.sampled_from(["RuntimeDefault", "Unconfined"]))}}
    meta: dict[str, Any] = {"name": f"p-{draw(st.integers(0, 3))}", "namespace": "dev"}
    if (annotations := draw(ANNOTATIONS)) is not None:
        meta["annotations"] = annotations
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    if draw(st.booleans()):  # the same template in a workload
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "dev"},
                "spec": {"template": {"metadata": meta, "spec": spec}}}
    return pod


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(pods(), POLICIES, st.booleans()), min_size=1, max_size=8))
def test_memoised_pod_security_verdicts_equal_evaluating_each_pod(cases: list[tuple[dict[str, Any], dict[str, str], bool]]) -> None:
    for obj, labels, creating in cases + cases:  # every case twice: the second from the memo
        policy = namespace_policy(labels, "baseline")
        assert check_pod_security(obj, policy, creating=creating) == reference(obj, policy, creating=creating)


def test_pods_of_one_template_are_evaluated_once_per_level(monkeypatch: Any) -> None:
    calls: list[str] = []

    def counted(level: Any, version: Any, metadata: Any, spec: Any) -> list[Any]:
        calls.append(level)
        return evaluate(level, version, metadata, spec)

    monkeypatch.setattr(pod_security, "_verdicts", {})
    monkeypatch.setattr(pod_security, "evaluate", counted)
    policy = namespace_policy({"pod-security.kubernetes.io/audit": "restricted"}, "baseline")
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    for i in range(50):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"web-{i}"}, "spec": spec}
        verdict = check_pod_security(pod, policy, creating=True)
        assert verdict.refusal is None and verdict.audit and 'would violate PodSecurity "restricted:latest"' in verdict.audit
    assert calls == ["baseline", "restricted"]


@given(st.dictionaries(st.sampled_from([
    "pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/enforce-version",
    "pod-security.kubernetes.io/warn", "pod-security.kubernetes.io/audit-version"]),
    st.sampled_from(["privileged", "baseline", "restricted", "v1.22", "latest", "bogus", ""])),
    st.sampled_from(["privileged", "baseline", "restricted"]))
def test_memoised_namespace_levels_equal_reading_the_labels(labels: dict[str, str], default: Any) -> None:
    assert namespace_levels(labels, default) == namespace_policy(labels, default)
    assert namespace_levels(labels, default) == namespace_policy(labels, default)


class Namespaces:
    """The views of a namespace whose Pod Security labels the test changes."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    async def namespace(self, name: str) -> NamespaceFacts | None:
        return NamespaceFacts("Active", dict(self.labels))

    async def namespace_phase(self, name: str) -> str | None:
        return "Active"

    async def node_exists(self, name: str) -> bool:
        return True


def test_a_namespace_level_change_applies_to_the_next_pod_of_a_template() -> None:
    views = Namespaces()
    spec = {"containers": [{"name": "c", "image": "busybox"}], "hostNetwork": True}

    def create(i: int) -> dict[str, Any]:
        name = f"web-{i}"
        request = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="team", name=name,
                               body={"apiVersion": "v1", "kind": "Pod",
                                     "metadata": {"name": name, "namespace": "team"}, "spec": spec})
        partition = partition_for(request.key, SETTINGS.partitions)
        part = RequestPartition(SETTINGS, TOPICS, views, ACCESS, partition, trust=TRUST)  # type: ignore[arg-type]
        part._state = {}
        record = FakeRecord(encode(request), request.key.encode(), partition, i,
                            headers=[(TOKEN_HEADER, ADMIN_TOKEN.encode())])
        (event,) = [orjson.loads(o.value) for o in asyncio.run(part.process([record]))
                    if o.topic == TOPICS.events and o.value]
        return event

    first = create(0)  # the cluster's default: baseline
    assert first["reason"] == "Rejected"
    assert first["message"] == ('pods "web-0" is forbidden: violates PodSecurity "baseline:latest": '
                                "host namespaces (hostNetwork=true)")
    views.labels = {"pod-security.kubernetes.io/enforce": "privileged"}
    assert create(1)["reason"] == "Created"
    views.labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    third = create(2)
    assert third["reason"] == "Rejected" and third["message"].startswith(
        'pods "web-2" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), ')
