"""The pure parts of the HTTP API: discovery documents, paths, Status codes, review attributes."""

from __future__ import annotations

import pytest

from schemas.registry import ALL_KINDS
from services.apiserver import discovery
from services.apiserver.paths import UnknownPath, parse
from services.apiserver.reviews import review_attributes
from services.apiserver.status import failure, not_found, success


def test_every_kind_is_discovered_with_its_verbs_scope_and_short_names() -> None:
    for info in ALL_KINDS:
        listed = discovery.resource_list(info.group, info.version)
        assert listed is not None
        entry = next(r for r in listed["resources"] if r["name"] == info.plural)
        assert entry["kind"] == info.kind and entry["namespaced"] is info.namespaced
        writes = set() if info.kind == "Event" else {"create", "update", "patch", "delete", "deletecollection"}
        assert set(entry["verbs"]) == {"get", "list", "watch"} | writes
        assert entry.get("shortNames", []) == list(info.short_names)


def test_subresources_status_and_scale() -> None:
    apps = discovery.resource_list("apps", "v1")
    assert apps is not None
    names = {r["name"]: r for r in apps["resources"]}
    assert names["deployments/status"]["verbs"] == ["get"]
    assert names["deployments/scale"]["kind"] == "Scale" and names["deployments/scale"]["group"] == "autoscaling"
    core = discovery.resource_list("", "v1")
    assert core is not None and "configmaps/status" not in {r["name"] for r in core["resources"]}
    assert {r["name"]: r["verbs"] for r in core["resources"]}["pods/log"] == ["get"]
    categories = {r["name"]: r.get("categories") for r in core["resources"]}
    assert categories["pods"] == ["all"] and categories["configmaps"] is None
    assert core["groupVersion"] == "v1"


def test_group_list_names_every_group_with_a_preferred_version() -> None:
    groups = {g["name"]: g for g in discovery.group_list()["groups"]}
    assert set(groups) == {"apps", "rbac.authorization.k8s.io", "authorization.k8s.io", "events.k8s.io",
                           "metrics.k8s.io", "networking.k8s.io", "autoscaling", "batch",
                           "node.k8s.io", "storage.k8s.io"}
    assert groups["batch"]["preferredVersion"] == {"groupVersion": "batch/v1", "version": "v1"}
    assert groups["autoscaling"]["preferredVersion"] == {"groupVersion": "autoscaling/v2", "version": "v2"}
    events = discovery.resource_list("events.k8s.io", "v1")
    assert events is not None and [(r["name"], r["kind"], r["verbs"]) for r in events["resources"]] == \
        [("events", "Event", ["get", "list", "watch"])]
    assert groups["apps"]["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}
    assert discovery.group("nope") is None and discovery.resource_list("apps", "v2") is None


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/namespaces/default/pods/web/status", ("Pod", "default", "web", "status")),
    ("/api/v1/pods", ("Pod", "", "", "")),
    ("/api/v1/namespaces/kube-system", ("Namespace", "", "kube-system", "")),
    ("/api/v1/namespaces/kube-system/status", ("Namespace", "", "kube-system", "status")),
    ("/apis/apps/v1/namespaces/ns1/deployments/web/scale", ("Deployment", "ns1", "web", "scale")),
    ("/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", ("ClusterRole", "", "admin", "")),
    ("/apis/events.k8s.io/v1/namespaces/default/events/e1", ("Event", "default", "e1", "")),
])
def test_paths_name_kind_namespace_name_and_subresource(path: str, expected: tuple[str, ...]) -> None:
    found = parse(path)
    assert (found.info.kind, found.namespace, found.name, found.subresource) == expected


@pytest.mark.parametrize("path", ["/api/v1/widgets", "/apis/apps/v2/deployments", "/api/v1/namespaces/x/nodes/n",
                                  "/api/v1/namespaces/a/pods/b/c/d", "/healthz"])
def test_unknown_paths(path: str) -> None:
    with pytest.raises(UnknownPath):
        parse(path)


def test_status_codes_follow_the_reason() -> None:
    assert failure("NotFound", "x")["code"] == 404
    assert failure("AlreadyExists", "x")["code"] == failure("Conflict", "x")["code"] == 409
    assert failure("Invalid", "x")["code"] == 422 and failure("Forbidden", "x")["code"] == 403
    assert failure("Unauthorized", "x")["code"] == 401 and failure("BadRequest", "x")["code"] == 400
    assert failure("Expired", "x")["code"] == 410
    odd = failure("SomethingNew", "x")
    assert odd["reason"] == "InternalError" and odd["code"] == 500
    assert not_found("deployments", "apps", "web") == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'deployments.apps "web" not found', "reason": "NotFound", "code": 404,
        "details": {"name": "web", "group": "apps", "kind": "deployments"}}
    assert success(name="cm", group="", kind="configmaps", uid="u")["details"] == {
        "name": "cm", "kind": "configmaps", "uid": "u"}


def test_review_attributes() -> None:
    attrs = review_attributes({"spec": {"resourceAttributes": {"verb": "create", "resource": "pods",
                                                               "namespace": "default"}}})
    assert attrs is not None and (attrs.verb, attrs.resource, attrs.namespace, attrs.path) == \
        ("create", "pods", "default", None)
    paths = review_attributes({"spec": {"nonResourceAttributes": {"verb": "get", "path": "/healthz"}}})
    assert paths is not None and paths.path == "/healthz"
    assert review_attributes({"spec": {}}) is None
