"""The API's pure decision, request by request, without Kafka."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from schemas.records import Op, WriteRequest
from services.api.decide import Context, Outcome, decide

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
_uids = count(1)


def ctx(rv: str = "10", phase: Any = "Active") -> Context:
    return Context(now=NOW, resource_version=rv, new_uid=lambda: f"uid-{next(_uids)}", namespace_phase=phase)


def deployment(image: str = "nginx:1.25", replicas: int = 2, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", **meta},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def request(op: Op, body: dict[str, Any] | None = None, **extra: Any) -> WriteRequest:
    return WriteRequest(op=op, apiVersion="apps/v1", kind="Deployment", namespace="default",
                        name="web", body=body, **extra)


def stored_of(outcome: Outcome) -> dict[str, Any]:
    """The object an outcome keeps, which the caller expects to exist."""
    assert outcome.stored is not None, outcome
    return outcome.stored


def created() -> dict[str, Any]:
    outcome = decide(request(Op.APPLY, deployment()), None, ctx("5"))
    assert outcome.reason == "Created" and outcome.stored
    return outcome.stored


def test_create_assigns_server_fields_and_defaults() -> None:
    stored = created()
    meta = stored["metadata"]
    assert meta["generation"] == 1 and meta["resourceVersion"] == "5"
    assert meta["creationTimestamp"] == "2026-01-02T03:04:05Z" and meta["uid"].startswith("uid-")
    assert stored["spec"]["strategy"]["type"] == "RollingUpdate"
    assert stored["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert "status" not in stored


def test_same_manifest_again_is_unchanged_and_writes_nothing() -> None:
    current = created()
    outcome = decide(request(Op.APPLY, deployment()), current, ctx("6"))
    assert (outcome.reason, outcome.write, outcome.stored) == ("Unchanged", False, current)


def test_spec_change_bumps_generation_label_change_does_not() -> None:
    current = created()
    new_image = decide(request(Op.APPLY, deployment(image="nginx:1.26")), current, ctx("6"))
    assert new_image.reason == "Updated" and new_image.message == 'deployments.apps "web" configured'
    assert stored_of(new_image)["metadata"]["generation"] == 2
    assert stored_of(new_image)["metadata"]["resourceVersion"] == "6"
    assert stored_of(new_image)["metadata"]["uid"] == current["metadata"]["uid"]
    relabelled = decide(request(Op.APPLY, deployment(labels={"tier": "x"})), current, ctx("7"))
    assert relabelled.reason == "Updated" and stored_of(relabelled)["metadata"]["generation"] == 1


def test_stale_resource_version_is_a_conflict() -> None:
    current = created()
    outcome = decide(request(Op.UPDATE, deployment(replicas=3), expectedResourceVersion="4"), current, ctx("6"))
    assert outcome.reason == "Rejected" and outcome.status_reason == "Conflict"
    assert "the object has been modified" in outcome.message
    fresh = decide(request(Op.UPDATE, deployment(replicas=3), expectedResourceVersion="5"), current, ctx("6"))
    assert fresh.reason == "Updated" and stored_of(fresh)["spec"]["replicas"] == 3


def test_create_of_existing_object_is_already_exists() -> None:
    outcome = decide(request(Op.CREATE, deployment()), created(), ctx())
    assert (outcome.status_reason, outcome.message) == ("AlreadyExists", 'deployments.apps "web" already exists')


def test_missing_namespace_and_terminating_namespace_refuse_creation() -> None:
    missing = decide(request(Op.APPLY, deployment()), None, ctx(phase=None))
    assert (missing.status_reason, missing.message) == ("NotFound", 'namespaces "default" not found')
    ending = decide(request(Op.APPLY, deployment()), None, ctx(phase="Terminating"))
    assert ending.status_reason == "Forbidden" and "being terminated" in ending.message


def test_invalid_body_is_rejected_with_field_path() -> None:
    outcome = decide(request(Op.APPLY, deployment(replicas=-1)), None, ctx())
    assert outcome.status_reason == "Invalid"
    assert "spec.replicas" in outcome.message and "greater than or equal to 0" in outcome.message


def test_delete_tombstones_or_marks_when_finalizers_remain() -> None:
    gone = decide(request(Op.DELETE), created(), ctx())
    assert (gone.reason, gone.write, gone.stored) == ("Deleted", True, None)
    with_finalizer = decide(request(Op.APPLY, deployment(finalizers=["example.com/keep"])), None, ctx()).stored
    marked = decide(request(Op.DELETE), with_finalizer, ctx("9"))
    assert marked.reason == "Deleted" and stored_of(marked)["metadata"]["deletionTimestamp"] == "2026-01-02T03:04:05Z"
    released = dict(stored_of(marked), metadata={**stored_of(marked)["metadata"], "finalizers": []})
    done = decide(request(Op.UPDATE, released), marked.stored, ctx("10"))
    assert (done.reason, done.stored) == ("Deleted", None)
    assert decide(request(Op.DELETE), None, ctx()).status_reason == "NotFound"


def test_protected_namespaces_cannot_be_deleted() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
    req = WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Namespace", name="default", body=ns)
    outcome = decide(req, {**ns, "metadata": {"name": "default", "resourceVersion": "1"}}, ctx())
    assert outcome.status_reason == "Forbidden" and "may not be deleted" in outcome.message


def test_merge_patch_changes_only_what_it_names() -> None:
    current = created()
    outcome = decide(request(Op.PATCH, {"spec": {"replicas": 5}}), current, ctx("8"))
    assert stored_of(outcome)["spec"]["replicas"] == 5
    assert stored_of(outcome)["spec"]["template"] == current["spec"]["template"]
    assert stored_of(outcome)["metadata"]["generation"] == 2


def test_bind_sets_node_once() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    req = lambda node: WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace="default",  # noqa: E731
                                    name="p", nodeName=node)
    stored = decide(WriteRequest(op=Op.APPLY, apiVersion="v1", kind="Pod", namespace="default",
                                 name="p", body=pod), None, ctx()).stored
    bound = decide(req("n1"), stored, ctx("11"))
    assert bound.reason == "Updated" and stored_of(bound)["spec"]["nodeName"] == "n1"
    again = decide(req("n2"), bound.stored, ctx("12"))
    assert again.status_reason == "Conflict" and 'already assigned to node "n1"' in again.message


@settings(max_examples=50, deadline=None)
@given(replicas=st.integers(0, 1000), image=st.sampled_from(["a:1", "b:2", "c"]),
       labels=st.dictionaries(st.sampled_from(["x", "y", "app.kubernetes.io/name"]),
                              st.sampled_from(["1", "two", ""]), max_size=3))
def test_applying_twice_is_idempotent(replicas: int, image: str, labels: dict[str, str]) -> None:
    body = deployment(image=image, replicas=replicas, labels=labels)
    first = decide(request(Op.APPLY, body), created(), ctx("20"))
    assert first.stored is not None
    second = decide(request(Op.APPLY, body), first.stored, ctx("21"))
    assert second.reason == "Unchanged" and not second.write
    assert first.stored["metadata"]["generation"] in (1, 2)


def test_pods_on_a_node_are_deleted_gracefully_and_confirmed_with_grace_zero() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 7,
                    "containers": [{"name": "c", "image": "busybox"}]}}
    req = lambda **kw: WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Pod", namespace="default",  # noqa: E731
                                    name="p", **kw)
    stored = stored_of(decide(WriteRequest(op=Op.APPLY, apiVersion="v1", kind="Pod", namespace="default",
                                           name="p", body=pod), None, ctx()))
    marked = stored_of(decide(req(), stored, ctx("12")))
    assert marked["metadata"]["deletionTimestamp"] and marked["metadata"]["deletionGracePeriodSeconds"] == 7
    assert decide(req(), marked, ctx("13")).reason == "Unchanged"
    confirmed = decide(req(gracePeriodSeconds=0), marked, ctx("14"))
    assert (confirmed.reason, confirmed.stored, confirmed.write) == ("Deleted", None, True)
    unbound = {**stored, "spec": {**stored["spec"], "nodeName": None}}
    assert decide(req(), unbound, ctx("15")).stored is None


def test_propagation_policies_leave_the_gc_finalizers() -> None:
    current = created()
    foreground = stored_of(decide(request(Op.DELETE, propagationPolicy="Foreground"), current, ctx("30")))
    assert foreground["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert foreground["metadata"]["deletionTimestamp"]
    orphan = stored_of(decide(request(Op.DELETE, propagationPolicy="Orphan"), current, ctx("31")))
    assert orphan["metadata"]["finalizers"] == ["orphan"]
    assert decide(request(Op.DELETE, propagationPolicy="Background"), current, ctx("32")).stored is None


def test_namespaces_are_finalized_by_their_controller() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    req = lambda op: WriteRequest(op=op, apiVersion="v1", kind="Namespace", name="team-a", body=ns)  # noqa: E731
    stored = stored_of(decide(req(Op.APPLY), None, ctx()))
    assert stored["spec"]["finalizers"] == ["kubernetes"]
    marked = stored_of(decide(req(Op.DELETE), stored, ctx("40")))
    assert marked["metadata"]["deletionTimestamp"] and marked["spec"]["finalizers"] == ["kubernetes"]
    released = {**marked, "spec": {"finalizers": []}}
    done = decide(WriteRequest(op=Op.UPDATE, apiVersion="v1", kind="Namespace", name="team-a", body=released),
                  marked, ctx("41"))
    assert (done.reason, done.stored) == ("Deleted", None)


# -- Kubernetes' update validation (schemas.updates), through every write op ----------------
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
       "spec": {"containers": [{"name": "c", "image": "busybox:1"}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}}
POD_FORBIDDEN = ('Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than '
                 "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                 "`spec.tolerations` (only additions to existing tolerations),"
                 "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")


def core_request(op: Op, kind: str, name: str, body: dict[str, Any] | None = None, **extra: Any) -> WriteRequest:
    namespace = None if kind in ("Namespace", "Node") else "default"
    return WriteRequest(op=op, apiVersion="v1", kind=kind, namespace=namespace, name=name, body=body, **extra)


def bound_pod() -> dict[str, Any]:
    stored = decide(core_request(Op.APPLY, "Pod", "p", POD), None, ctx("5")).stored
    bound = decide(core_request(Op.BIND, "Pod", "p", nodeName="n1"), stored, ctx("6")).stored
    assert bound is not None and bound["spec"]["nodeName"] == "n1"
    return bound


def with_spec(doc: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {**doc, "spec": {**doc["spec"], **spec}}


def assert_invalid(outcome: Any, message: str) -> None:
    assert (outcome.reason, outcome.status_reason, outcome.write, outcome.stored) == (
        "Rejected", "Invalid", False, None)
    assert outcome.message.startswith(message), outcome.message


def test_reapplying_a_bound_pod_manifest_is_unchanged_and_keeps_its_node() -> None:
    current = bound_pod()
    assert decide(core_request(Op.APPLY, "Pod", "p", POD), current, ctx("7")).reason == "Unchanged"
    newer = decide(core_request(Op.APPLY, "Pod", "p", with_spec(POD, containers=[{"name": "c", "image": "busybox:2"}])),
                   current, ctx("7"))
    assert newer.reason == "Updated" and stored_of(newer)["spec"]["nodeName"] == "n1"
    assert stored_of(newer)["spec"]["containers"][0]["image"] == "busybox:2"


@pytest.mark.parametrize("op, body, message", [
    (Op.APPLY, with_spec(POD, restartPolicy="Never"), POD_FORBIDDEN),
    (Op.APPLY, with_spec(POD, nodeName="n2"), POD_FORBIDDEN),
    (Op.UPDATE, POD, POD_FORBIDDEN),  # a replace without the node unbinds: refused, as upstream
    (Op.PATCH, {"spec": {"terminationGracePeriodSeconds": 5}}, POD_FORBIDDEN),
    (Op.PATCH, {"spec": {"tolerations": None}}, 'Pod "p" is invalid: spec.tolerations: Forbidden: '
     "existing toleration can not be modified except its tolerationSeconds"),
    (Op.PATCH, {"spec": {"containers": [{"name": "c", "image": "a"}, {"name": "d", "image": "b"}]}},
     'Pod "p" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers'),
    (Op.PATCH, {"metadata": {"uid": "someone-else"}},
     'Pod "p" is invalid: metadata.uid: Invalid value: "someone-else": field is immutable'),
])
def test_pod_changes_kubernetes_refuses_are_rejected(op: Op, body: dict[str, Any], message: str) -> None:
    current = bound_pod()
    assert_invalid(decide(core_request(op, "Pod", "p", body), current, ctx("7")), message)


def test_pod_changes_kubernetes_allows_are_updates() -> None:
    current = bound_pod()
    for body in ({"spec": {"activeDeadlineSeconds": 60}}, {"metadata": {"labels": {"x": "y"}}},
                 {"spec": {"tolerations": [{"key": "k", "operator": "Exists"}, {"key": "j", "operator": "Exists"}]}}):
        outcome = decide(core_request(Op.PATCH, "Pod", "p", body), current, ctx("7"))
        assert outcome.reason == "Updated", outcome.message


def test_deployment_selector_is_immutable_on_every_write() -> None:
    current = created()
    new_selector = {"matchLabels": {"app": "web", "v": "2"}}
    template = {"metadata": {"labels": {"app": "web", "v": "2"}},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    changed = {**deployment(), "spec": {**deployment()["spec"], "selector": new_selector, "template": template}}
    message = ('Deployment.apps "web" is invalid: spec.selector: Invalid value: '
               '{"matchLabels":{"app":"web","v":"2"}}: field is immutable')
    for op, body in ((Op.APPLY, changed), (Op.UPDATE, changed),
                     (Op.PATCH, {"spec": {"selector": new_selector, "template": template}})):
        assert_invalid(decide(request(op, body), current, ctx("8")), message)
    mismatch = decide(request(Op.PATCH, {"spec": {"template": template | {"metadata": {"labels": {"app": "x"}}}}}),
                      current, ctx("8"))
    assert_invalid(mismatch, 'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
                   '{"app":"x"}: `selector` does not match template `labels`')


def test_an_immutable_secret_keeps_its_data_and_its_type() -> None:
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
                              "immutable": True, "stringData": {"password": "hunter2"}}
    current = decide(core_request(Op.APPLY, "Secret", "s", secret), None, ctx("5")).stored
    assert decide(core_request(Op.APPLY, "Secret", "s", secret), current, ctx("6")).reason == "Unchanged"
    labelled = {**secret, "metadata": {**secret["metadata"], "labels": {"a": "b"}}}
    assert decide(core_request(Op.APPLY, "Secret", "s", labelled), current, ctx("6")).reason == "Updated"
    assert_invalid(decide(core_request(Op.APPLY, "Secret", "s", {**secret, "stringData": {"password": "x"}}),
                          current, ctx("6")),
                   'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set')
    assert_invalid(decide(core_request(Op.PATCH, "Secret", "s", {"immutable": False, "type": "kubernetes.io/tls"}),
                          current, ctx("6")),
                   'Secret "s" is invalid: [type: Invalid value: "kubernetes.io/tls": field is immutable, '
                   "immutable: Forbidden: field is immutable when `immutable` is set]")


def test_a_service_keeps_its_cluster_ip_and_may_become_external_name() -> None:
    from services.api.allocation import Ranges, Share
    from services.api.service_addresses import AddressBook

    book = AddressBook(Share(0, 1, Ranges("10.96.0.0/24", (30000, 30009))), frozenset(), frozenset())
    svc_ctx = lambda rv: Context(now=NOW, resource_version=rv, new_uid=lambda: "u", addresses=book)  # noqa: E731
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    current = stored_of(decide(core_request(Op.APPLY, "Service", "web", svc), None, svc_ctx("5")))
    ip = current["spec"]["clusterIP"]
    assert decide(core_request(Op.APPLY, "Service", "web", svc), current, svc_ctx("6")).reason == "Unchanged"
    other = "10.96.0.200" if ip != "10.96.0.200" else "10.96.0.201"
    moved = with_spec(svc, clusterIP=other)
    assert_invalid(decide(core_request(Op.UPDATE, "Service", "web", moved), current, svc_ctx("6")),
                   f'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: ["{other}"]: may not change once set')
    external = decide(core_request(Op.PATCH, "Service", "web", {"spec": {"type": "ExternalName",
                                                                           "externalName": "db.example.com"}}),
                      current, svc_ctx("6"))
    assert external.reason == "Updated" and "clusterIP" not in stored_of(external)["spec"]


def test_a_body_naming_another_uid_is_refused_and_an_absent_one_is_fine() -> None:
    ns: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}
    current = stored_of(decide(core_request(Op.APPLY, "Namespace", "team-b", ns), None, ctx("5")))
    again = decide(core_request(Op.APPLY, "Namespace", "team-b", ns), current, ctx("6"))
    assert again.reason == "Unchanged" and current["spec"]["finalizers"] == ["kubernetes"]
    same_uid = {**ns, "metadata": {**ns["metadata"], "uid": current["metadata"]["uid"]}}
    assert decide(core_request(Op.APPLY, "Namespace", "team-b", same_uid), current, ctx("6")).reason == "Unchanged"
    other = {**ns, "metadata": {**ns["metadata"], "uid": "not-mine"}}
    assert_invalid(decide(core_request(Op.APPLY, "Namespace", "team-b", other), current, ctx("6")),
                   'Namespace "team-b" is invalid: metadata.uid: Invalid value: "not-mine": field is immutable')


def test_a_replication_controller_selector_must_keep_matching_its_template() -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc", "namespace": "default"},
          "spec": {"template": {"metadata": {"labels": {"app": "rc"}},
                                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    current = stored_of(decide(core_request(Op.APPLY, "ReplicationController", "rc", rc), None, ctx("5")))
    assert current["spec"]["selector"] == {"app": "rc"}  # defaulted from the template's labels
    assert decide(core_request(Op.APPLY, "ReplicationController", "rc", rc), current, ctx("6")).reason == "Unchanged"
    relabelled = {"spec": {"template": {"metadata": {"labels": {"app": "other"}}}}}
    assert_invalid(decide(core_request(Op.PATCH, "ReplicationController", "rc", relabelled), current, ctx("6")),
                   'ReplicationController "rc" is invalid: spec.template.metadata.labels: Invalid value: '
                   '{"app":"other"}: `selector` does not match template `labels`')


def test_managed_fields_are_kept_by_writers_that_name_none_and_replaced_by_those_that_do() -> None:
    entry = {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-01-02T03:04:05Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    tracked = stored_of(decide(request(Op.APPLY, deployment(managedFields=[entry])), created(), ctx("6")))
    assert tracked["metadata"]["managedFields"] == [entry]
    untracked_update = stored_of(decide(request(Op.UPDATE, deployment(replicas=3)), tracked, ctx("7")))
    assert untracked_update["metadata"]["managedFields"] == [entry]
    moved = {**entry, "fieldsV1": {"f:spec": {"f:template": {}}}}
    replaced = stored_of(decide(request(Op.PATCH, {"metadata": {"managedFields": [moved]}}), tracked, ctx("8")))
    assert replaced["metadata"]["managedFields"] == [moved]
    cleared = stored_of(decide(request(Op.PATCH, {"metadata": {"managedFields": []}}), tracked, ctx("9")))
    assert "managedFields" not in cleared["metadata"]


def test_a_managed_fields_entry_is_validated() -> None:
    wrong = {"manager": "m", "operation": "Replace", "fieldsType": "FieldsV1", "fieldsV1": {}}
    outcome = decide(request(Op.APPLY, deployment(managedFields=[wrong])), created(), ctx("6"))
    assert outcome.reason == "Rejected" and outcome.status_reason == "Invalid"
    assert "metadata.managedFields[0].operation" in outcome.message
