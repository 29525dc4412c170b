"""The writer authenticates and authorises every request (RBAC, NodeRestriction,
escalation), answers Unauthorized/Forbidden in Kubernetes' words, audits every decision
and records the authenticated author on what it stores. Real writer code, in-memory
policy and views (the integration tests run the same against the broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from schemas.auth import TOKEN_HEADER
from schemas.records import PRINCIPAL_HEADER, Op, WriteRequest
from services.api.access import AccessControl
from services.api.authn import Authenticator, parse_token_file
from services.api.rbac import Policy, bootstrap_policy
from schemas.records import REVIEW_ANNOTATION
from services.api.service import bootstrap_writes
from services.api.writer import RequestPartition
from services.runtime.bus import encode, partition_for
from services.runtime.config import Settings
from services.runtime.topics import Topics
from services.runtime.transactional import Out
from tests.unit.api.test_poison import TRUST, FakeRecord, InMemoryViews

SETTINGS = Settings(bootstrap_servers="unused:9092", partitions=3, instance="test")
TOPICS = Topics()
TOKENS = parse_token_file("\n".join([
    "t-admin,admin,1,system:masters", "t-alice,alice,2", "t-sched,system:kube-scheduler,3",
    "t-n1,system:node:n1,4,system:nodes", "t-bob,bob,5"]))
EDIT_IN_TEAM_A: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
    "metadata": {"name": "alice-edit", "namespace": "team-a"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]}
VIEW_FOR_BOB: dict[str, Any] = {**EDIT_IN_TEAM_A, "metadata": {"name": "bob-view", "namespace": "team-a"},
                                "roleRef": {**EDIT_IN_TEAM_A["roleRef"], "name": "view"},
                                "subjects": [{**EDIT_IN_TEAM_A["subjects"][0], "name": "bob"}]}


class StaticPolicy:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.policy = Policy.of([*bootstrap_policy(), *objects])

    async def barrier(self) -> None:
        return None


def access() -> AccessControl:
    bootstrap = {(r.kind, r.key): r.body or {} for r in bootstrap_writes()}
    return AccessControl(Authenticator(TOKENS), StaticPolicy(EDIT_IN_TEAM_A, VIEW_FOR_BOB), bootstrap=bootstrap)


def decide_all(*requests: WriteRequest, token: str | None, nodes: set[str] = frozenset({"n1", "n2"}),  # type: ignore[assignment]
               more_headers: tuple[tuple[str, bytes], ...] = ()) -> list[Out]:
    """Each request on its own partition's writer, in order; their outputs."""
    out: list[Out] = []
    writers: dict[int, RequestPartition] = {}
    for offset, request in enumerate(requests):
        partition = partition_for(request.key, SETTINGS.partitions)
        part = writers.setdefault(partition, RequestPartition(SETTINGS, TOPICS, InMemoryViews(nodes),  # type: ignore[arg-type]
                                                              access(), partition, trust=TRUST))
        part._state = part._state or {}
        headers = [*([(TOKEN_HEADER, token.encode())] if token else []), *more_headers]
        batch = asyncio.run(part.process([FakeRecord(encode(request), request.key.encode(), partition, offset,
                                                     headers=headers)]))
        part.committed()
        out += batch
    return out


def events(out: list[Out]) -> list[dict[str, Any]]:
    return [orjson.loads(o.value) for o in out if o.topic == TOPICS.events and o.value]


def audits(out: list[Out]) -> list[dict[str, Any]]:
    return [orjson.loads(o.value) for o in out if o.topic == TOPICS.audit and o.value]


def config_map(namespace: str, name: str = "c", op: Op = Op.APPLY) -> WriteRequest:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"k": "v"}}
    return WriteRequest(op=op, apiVersion="v1", kind="ConfigMap", namespace=namespace, name=name, body=body)


def test_an_unknown_token_is_unauthorized_and_audited() -> None:
    out = decide_all(config_map("default"), token="t-nobody")
    (event,), (audit,) = events(out), audits(out)
    assert event["message"] == "Unauthorized"
    assert event["metadata"]["annotations"]["kafkube.io/status-reason"] == "Unauthorized"
    assert audit["decision"] == "unauthenticated" and audit["responseStatus"] == "Unauthorized"
    assert [o for o in out if o.topic.startswith(TOPICS.desired(""))] == []


def test_anonymous_may_do_nothing() -> None:
    out = decide_all(config_map("default"), token=None)
    (event,), (audit,) = events(out), audits(out)
    assert event["message"] == ('configmaps is forbidden: User "system:anonymous" cannot create resource '
                                '"configmaps" in API group "" in the namespace "default"')
    assert audit["decision"] == "forbid" and audit["user"]["username"] == "system:anonymous"


def test_edit_in_one_namespace_deploys_there_and_nowhere_else() -> None:
    out = decide_all(config_map("team-a"), config_map("default"), token="t-alice")
    first, second = events(out)
    assert first["reason"] == "Created"
    assert second["reason"] == "Rejected" and 'User "alice" cannot create resource "configmaps"' in second["message"]
    assert [a["decision"] for a in audits(out)] == ["allow", "forbid"]
    (stored,) = [o for o in out if o.topic == TOPICS.desired("configmaps")]
    assert dict(stored.headers)[PRINCIPAL_HEADER] == b"alice"


def test_view_can_only_read() -> None:
    (event,) = events(decide_all(config_map("team-a"), token="t-bob"))
    assert event["reason"] == "Rejected" and 'User "bob" cannot create resource "configmaps"' in event["message"]


def test_edit_cannot_grant_itself_admin() -> None:
    escalate = {**EDIT_IN_TEAM_A, "metadata": {"name": "alice-admin", "namespace": "team-a"},
                "roleRef": {**EDIT_IN_TEAM_A["roleRef"], "name": "admin"}}
    request = WriteRequest(op=Op.APPLY, apiVersion="rbac.authorization.k8s.io/v1", kind="RoleBinding",
                           namespace="team-a", name="alice-admin", body=escalate)
    (event,) = events(decide_all(request, token="t-alice"))
    assert event["reason"] == "Rejected" and "forbidden" in event["message"]


def test_a_kubelet_registers_its_own_node_only() -> None:
    def node(name: str) -> WriteRequest:
        return WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="Node", name=name,
                            body={"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    mine, other = events(decide_all(node("n1"), node("n2"), token="t-n1"))
    assert mine["reason"] == "Created"
    assert other["reason"] == "Rejected" and "n1" in other["message"] and "n2" in other["message"]


def test_only_the_scheduler_binds() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    create = WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace="default", name="p", body=pod)
    bind = WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace="default", name="p", nodeName="n1")
    partition = partition_for(create.key, SETTINGS.partitions)
    part = RequestPartition(SETTINGS, TOPICS, InMemoryViews({"n1"}), access(), partition, trust=TRUST)  # type: ignore[arg-type]
    part._state = {}

    def run(request: WriteRequest, token: str, offset: int) -> dict[str, Any]:
        out = asyncio.run(part.process([FakeRecord(encode(request), request.key.encode(), partition, offset,
                                                   headers=[(TOKEN_HEADER, token.encode())])]))
        part.committed()
        (event,) = events(out) or [{"reason": "(none)", "message": ""}]
        return event
    assert run(create, "t-admin", 1)["reason"] == "Created"
    assert 'cannot create resource "pods/binding"' in run(bind, "t-n1", 2)["message"]
    assert run(bind, "t-sched", 3)["reason"] == "Updated"


def test_the_bootstrap_needs_no_token_but_only_as_the_api_sends_it() -> None:
    (namespace, *_rest) = bootstrap_writes()
    assert events(decide_all(namespace.model_copy(update={"reply": True}), token=None))[0]["reason"] == "Created"
    forged = namespace.model_copy(update={"reply": True, "body": {**(namespace.body or {}),
                                                                   "metadata": {"name": namespace.name, "labels": {"x": "y"}}}})
    (event,) = events(decide_all(forged, token=None))
    assert event["reason"] == "Rejected" and "system:anonymous" in event["message"]


@pytest.mark.parametrize("token, user", [("t-alice", "alice"), (None, "system:anonymous")])
def test_whoami(token: str | None, user: str) -> None:
    review = WriteRequest(op=Op.CREATE, apiVersion="authentication.k8s.io/v1", kind="SelfSubjectReview", name="me")
    (event,) = events(decide_all(review, token=token))
    assert event["reason"] == "Reviewed" and orjson.loads(
        event["metadata"]["annotations"][REVIEW_ANNOTATION])["userInfo"]["username"] == user


@pytest.mark.parametrize("verb, namespace, allowed", [("create", "team-a", True), ("create", "default", False),
                                                      ("delete", "team-a", True), ("escalate", "team-a", False)])
def test_can_i(verb: str, namespace: str, allowed: bool) -> None:
    body = {"spec": {"resourceAttributes": {"verb": verb, "resource": "deployments", "group": "apps",
                                            "namespace": namespace}}}
    if verb == "escalate":
        body["spec"]["resourceAttributes"].update(resource="roles", group="rbac.authorization.k8s.io")
    review = WriteRequest(op=Op.CREATE, apiVersion="authorization.k8s.io/v1", kind="SelfSubjectAccessReview",
                          name="q", body=body)
    (event,) = events(decide_all(review, token="t-alice"))
    assert event["message"] == ("yes" if allowed else "no")


def test_asking_for_another_user_needs_the_right_to_review() -> None:
    body = {"spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "team-a"}}}
    review = WriteRequest(op=Op.CREATE, apiVersion="authorization.k8s.io/v1", kind="SubjectAccessReview",
                          name="q", body=body)
    assert events(decide_all(review, token="t-admin"))[0]["message"] == "yes"
    assert events(decide_all(review, token="t-bob"))[0]["reason"] == "Rejected"


@pytest.mark.parametrize("kind, namespace, token, who", [
    ("Role", "team-a", "t-bob", "bob"),                      # view in team-a: reads only
    ("RoleBinding", "team-a", "t-bob", "bob"),
    ("ClusterRole", None, "t-alice", "alice"),               # edit in team-a: nothing cluster-wide
    ("ClusterRoleBinding", None, None, "system:anonymous"),
])
def test_the_rbac_kinds_are_refused_to_users_without_the_right(kind: str, namespace: str | None,
                                                               token: str | None, who: str) -> None:
    meta: dict[str, Any] = {"name": "grab", **({"namespace": namespace} if namespace else {})}
    body: dict[str, Any] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta}
    if kind.endswith("Binding"):
        body.update(roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                    subjects=[{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": who}])
    else:
        body["rules"] = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    request = WriteRequest(op=Op.CREATE, apiVersion="rbac.authorization.k8s.io/v1", kind=kind,
                           namespace=namespace, name="grab", body=body)
    out = decide_all(request, token=token)
    (event,), (audit,) = events(out), audits(out)
    assert event["reason"] == "Rejected" and f'User "{who}" cannot create resource' in event["message"]
    assert audit["decision"] == "forbid" and audit["objectRef"]["resource"] == kind.lower() + "s"
    assert [o for o in out if o.topic.startswith(TOPICS.desired(""))] == []


def _example(file: str, kind: str, namespace: str | None) -> WriteRequest:
    """The `kind` document of examples/<file>, in `namespace`, as a create request."""
    import pathlib

    import yaml

    text = (pathlib.Path(__file__).resolve().parents[3] / "examples" / file).read_text()
    (body,) = [d for d in yaml.safe_load_all(text) if d and d.get("kind") == kind]
    body["metadata"] = {k: v for k, v in body["metadata"].items() if k != "namespace"}
    if namespace:
        body["metadata"]["namespace"] = namespace
    return WriteRequest(op=Op.CREATE, apiVersion=body["apiVersion"], kind=kind, namespace=namespace,
                        name=body["metadata"]["name"], body=body)


NEW_KINDS = [("hpa.yaml", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling"),
             ("job.yaml", "Job", "jobs", "batch"), ("cronjob.yaml", "CronJob", "cronjobs", "batch"),
             ("ingress.yaml", "Ingress", "ingresses", "networking.k8s.io"),
             ("daemonset.yaml", "DaemonSet", "daemonsets", "apps"),
             ("statefulset.yaml", "StatefulSet", "statefulsets", "apps")]


@pytest.mark.parametrize("file, kind, resource, group", NEW_KINDS)
def test_the_new_kinds_are_authorised_admitted_and_audited(file: str, kind: str, resource: str, group: str) -> None:
    """Refused to a viewer and to anonymous in upstream's words, audited as forbid, nothing
    stored; created by an editor of the namespace, audited as allow, stored."""
    for token, who in (("t-bob", "bob"), (None, "system:anonymous")):
        out = decide_all(_example(file, kind, "team-a"), token=token)
        (event,), (audit,) = events(out), audits(out)
        assert event["reason"] == "Rejected", event
        assert event["message"] == (f'{resource}.{group} is forbidden: User "{who}" cannot create resource '
                                    f'"{resource}" in API group "{group}" in the namespace "team-a"')
        assert (audit["decision"], audit["objectRef"]["resource"]) == ("forbid", resource)
        assert [o for o in out if o.topic.startswith(TOPICS.desired(""))] == []
    out = decide_all(_example(file, kind, "team-a"), token="t-alice")
    (event,), (audit,) = events(out), audits(out)
    assert event["reason"] == "Created", event["message"]
    assert audit["decision"] == "allow" and [o.topic for o in out if o.topic == TOPICS.desired(resource)]


def test_an_ingress_class_is_cluster_wide_and_not_the_namespace_editors() -> None:
    out = decide_all(_example("ingress.yaml", "IngressClass", None), token="t-alice")
    (event,), (audit,) = events(out), audits(out)
    assert event["reason"] == "Rejected" and ('User "alice" cannot create resource "ingressclasses" in API group '
                                              '"networking.k8s.io" at the cluster scope') in event["message"]
    assert audit["decision"] == "forbid"
    out = decide_all(_example("ingress.yaml", "IngressClass", None), token="t-admin")
    assert [e["reason"] for e in events(out)] == ["Created"]


def _controller_revision(namespace: str) -> WriteRequest:
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-5d8f7c", "namespace": namespace}, "revision": 1,
            "data": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}}}
    return WriteRequest(op=Op.CREATE, apiVersion="apps/v1", kind="ControllerRevision", namespace=namespace,
                        name="web-5d8f7c", body=body)


@pytest.mark.parametrize("token, who", [("t-bob", "bob"), (None, "system:anonymous"), ("t-alice", "alice")])
def test_controller_revisions_are_written_by_the_controllers_alone(token: str | None, who: str) -> None:
    """As upstream: `view` reads ControllerRevisions and even a namespace's editor does not
    write them (only the daemon-set and statefulset controllers do): refused, audited as
    forbid, nothing stored. An admin may (cluster-admin may do anything)."""
    out = decide_all(_controller_revision("team-a"), token=token)
    (event,), (audit,) = events(out), audits(out)
    assert event["reason"] == "Rejected" and event["message"] == (
        f'controllerrevisions.apps is forbidden: User "{who}" cannot create resource "controllerrevisions" '
        f'in API group "apps" in the namespace "team-a"')
    assert (audit["decision"], audit["objectRef"]["resource"]) == ("forbid", "controllerrevisions")
    assert [o for o in out if o.topic.startswith(TOPICS.desired(""))] == []
    out = decide_all(_controller_revision("team-a"), token="t-admin")
    assert [e["reason"] for e in events(out)] == ["Created"]
    assert [o.topic for o in out if o.topic.startswith(TOPICS.desired(""))] == [TOPICS.desired("controllerrevisions")]
