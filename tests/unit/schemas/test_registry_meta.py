"""Kind registry (lookup, CLI names, topics) and metadata helpers (selectors, keys, time)."""

from __future__ import annotations

import pytest

from schemas import (
    ALL_KINDS,
    Deployment,
    LabelSelector,
    NoKindMatch,
    Pod,
    lookup_kind,
    object_key,
    resolve_resource,
    selector_matches,
    validate_object,
)


@pytest.mark.parametrize("name, kind", [
    ("pods", "Pod"), ("pod", "Pod"), ("po", "Pod"), ("deployments", "Deployment"),
    ("deployment", "Deployment"), ("deploy", "Deployment"), ("deployments.apps", "Deployment"),
    ("replicasets", "ReplicaSet"), ("rs", "ReplicaSet"), ("replicationcontrollers",
    "ReplicationController"), ("rc", "ReplicationController"), ("services", "Service"),
    ("svc", "Service"), ("endpoints", "Endpoints"), ("ep", "Endpoints"), ("configmaps",
    "ConfigMap"), ("cm", "ConfigMap"), ("secrets", "Secret"), ("namespaces", "Namespace"),
    ("ns", "Namespace"), ("nodes", "Node"), ("no", "Node"), ("events", "Event"), ("ev", "Event"),
    ("Pods", "Pod"),
])
def test_resolve_resource(name, kind):
    assert resolve_resource(name).kind == kind


def test_resolve_unknown_resource():
    with pytest.raises(NoKindMatch, match='doesn\'t have a resource type "widgets"'):
        resolve_resource("widgets")


def test_lookup_kind_and_topics():
    info = lookup_kind("apps/v1", "Deployment")
    assert (info.group, info.version, info.api_version, info.plural, info.namespaced) == (
        "apps", "v1", "apps/v1", "deployments", True)
    assert info.model is Deployment and info.qualified_kind == "Deployment.apps"
    assert info.topic("desired") == "kafkube.desired.deployments"
    assert lookup_kind("v1", "Node").namespaced is False
    with pytest.raises(NoKindMatch, match='^no matches for kind "Deployment" in version "v1"$'):
        lookup_kind("v1", "Deployment")
    assert len({k.plural for k in ALL_KINDS}) == len(ALL_KINDS)  # plurals (topic names) are unique


def test_label_selector_operators():
    sel = LabelSelector.model_validate({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["a", "b"]},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "team", "operator": "Exists"}]})
    assert sel.matches({"app": "web", "tier": "a", "team": "x"})
    assert sel.matches({"app": "web", "tier": "b", "team": "x", "env": "dev"})
    assert not sel.matches({"app": "web", "tier": "c", "team": "x"})
    assert not sel.matches({"app": "web", "tier": "a", "team": "x", "env": "prod"})
    assert not sel.matches({"app": "web", "tier": "a", "team": "x", "canary": ""})
    assert not sel.matches({"app": "web", "tier": "a"})
    assert not sel.matches(None)
    assert LabelSelector().matches({"any": "thing"})
    assert selector_matches({"app": "web"}, {"app": "web", "x": "y"})
    assert not selector_matches({}, {"app": "web"})


def test_object_keys_and_timestamps():
    pod = validate_object({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p", "namespace": "ns", "creationTimestamp": "2024-05-01T12:00:00+02:00"},
        "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert object_key(pod) == "ns/p"
    assert object_key(Pod.model_validate({"metadata": {"name": "q"}})) == "default/q"
    dumped = pod.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"


def test_special_camel_case_aliases():
    pod = Pod.model_validate({"status": {"podIP": "10.0.0.5", "hostIP": "172.18.0.2",
                                         "podIPs": [{"ip": "10.0.0.5"}],
                                         "containerStatuses": [{"name": "c", "containerID":
                                                                "docker://abc", "imageID": "x"}]}})
    assert pod.status.pod_ip == "10.0.0.5" and pod.status.host_ip == "172.18.0.2"
    assert pod.status.container_statuses[0].container_id == "docker://abc"
    assert pod.model_extra == {} and pod.status.model_extra == {}
