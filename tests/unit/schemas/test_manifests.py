"""Real-world manifests parse, validate, default and round-trip."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from schemas import (
    ConfigMap,
    Deployment,
    Namespace,
    Node,
    ReplicationController,
    Resource,
    Secret,
    Service,
    apply_defaults,
    object_key,
    split_documents,
    unknown_fields,
    validate_object,
)
from schemas.quantity import cpu_millis, memory_bytes

from .manifests import ALL, CONFIGMAP, DEPLOYMENT, NAMESPACE, NODE, RC, SECRET, SERVICE


def load(payload: bytes) -> tuple[dict[str, Any], Resource]:
    results = split_documents(payload)
    assert [r.error for r in results] == [None]
    doc = results[0].doc
    assert doc is not None
    return doc, validate_object(doc)


def without_nulls(value):
    """What Kubernetes stores: ``creationTimestamp: null`` and friends dropped."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def dump(resource):
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")


@pytest.mark.parametrize("payload", ALL)
def test_round_trip_is_exact(payload):
    doc, resource = load(payload)
    assert dump(resource) == without_nulls(doc)
    again = type(resource).model_validate(dump(resource))
    assert again == resource


def test_deployment_fields_are_typed():
    _, deploy = load(DEPLOYMENT)
    assert isinstance(deploy, Deployment)
    assert object_key(deploy) == "shop/web"
    container = deploy.spec.template.spec.containers[0]
    assert container.env[1].value_from.secret_key_ref.key == "password"
    assert container.readiness_probe.http_get.port == "http"
    assert container.liveness_probe.tcp_socket.port == 8080
    assert cpu_millis(container.resources.requests["cpu"]) == 250
    assert memory_bytes(container.resources.limits["memory"]) == 1024**3
    assert container.model_extra == {"lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}}}
    assert deploy.spec.selector.matches({"app": "web", "tier": "frontend"})
    assert not deploy.spec.selector.matches({"app": "web", "tier": "backend"})
    assert unknown_fields({}, deploy) == ["spec.template.spec.containers[0].lifecycle"]


def test_deployment_defaults():
    _, deploy = load(DEPLOYMENT)
    d = apply_defaults(deploy)
    assert d is not deploy and deploy.spec.strategy is None  # input untouched
    assert d.spec.strategy.type == "RollingUpdate"
    assert (d.spec.strategy.rolling_update.max_surge,
            d.spec.strategy.rolling_update.max_unavailable) == ("25%", "25%")
    assert (d.spec.revision_history_limit, d.spec.progress_deadline_seconds) == (10, 600)
    assert d.spec.replicas == 3
    pod = d.spec.template.spec
    assert (pod.restart_policy, pod.dns_policy, pod.termination_grace_period_seconds,
            pod.scheduler_name) == ("Always", "ClusterFirst", 30, "default-scheduler")
    c = pod.containers[0]
    assert c.image_pull_policy == "IfNotPresent"
    assert c.termination_message_path == "/dev/termination-log"
    assert c.ports[0].protocol == "TCP"
    probe = c.readiness_probe
    assert (probe.period_seconds, probe.timeout_seconds, probe.success_threshold,
            probe.failure_threshold, probe.initial_delay_seconds) == (10, 1, 1, 3, 5)
    assert c.env[2].value_from.field_ref.api_version == "v1"
    assert pod.volumes[0].config_map.default_mode == 0o644
    assert apply_defaults(d) == d  # idempotent


def test_defaults_fill_namespace_and_requests_from_limits():
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "redis",
                                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}
    pod = apply_defaults(validate_object(doc), namespace="team")
    assert pod.metadata.namespace == "team"
    assert pod.spec.containers[0].image_pull_policy == "Always"
    assert pod.spec.containers[0].resources.requests == {"cpu": "1", "memory": "1Gi"}


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy(image, policy):
    from schemas.defaults import image_pull_policy
    assert image_pull_policy(image) == policy


def test_service_named_target_port_and_defaults():
    _, svc = load(SERVICE)
    assert isinstance(svc, Service)
    assert svc.spec.ports[0].target_port == "http"
    assert svc.spec.ports[1].target_port == 9090
    d = apply_defaults(svc)
    assert (d.spec.type, d.spec.session_affinity) == ("ClusterIP", "None")
    assert d.spec.ports[0].protocol == "TCP"
    assert d.spec.ports[0].target_port == "http"
    port_only = validate_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                 "spec": {"ports": [{"port": 53, "protocol": "UDP"}]}})
    assert apply_defaults(port_only).spec.ports[0].target_port == 53


def test_configmap_keeps_dates_as_strings():
    doc, cm = load(CONFIGMAP)
    assert isinstance(cm, ConfigMap)
    assert cm.data["released"] == "2024-01-01"
    assert cm.data["nginx.conf"] == "server { listen 8080; }\n"


def test_secret_string_data_is_merged():
    _, secret = load(SECRET)
    assert isinstance(secret, Secret)
    d = apply_defaults(secret)
    assert d.type == "Opaque"
    assert d.string_data is None
    assert base64.b64decode(d.data["password"]) == b"s3cr3t"
    assert d.data["user"] == "YWRtaW4="
    untyped = apply_defaults(validate_object(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}))
    assert untyped.type == "Opaque"


def test_rc_selector_and_labels_default_from_template():
    _, rc = load(RC)
    assert isinstance(rc, ReplicationController)
    d = apply_defaults(rc)
    assert d.spec.selector == {"app": "legacy"}
    assert d.metadata.labels == {"app": "legacy"}
    assert d.spec.replicas == 2
    assert d.spec.template.spec.containers[0].image_pull_policy == "Always"
    scaled = apply_defaults(validate_object(
        {**dump(rc), "spec": {**dump(rc)["spec"], "replicas": None}}))
    assert scaled.spec.replicas == 1


def test_cluster_scoped_objects():
    _, ns = load(NAMESPACE)
    assert isinstance(ns, Namespace) and object_key(ns) == "shop"
    doc, node = load(NODE)
    assert isinstance(node, Node) and object_key(node) == "node-1"
    assert node.spec.pod_cidr == "10.244.1.0/24"
    assert cpu_millis(node.status.allocatable["cpu"]) == 3800
    assert node.status.conditions[0].status == "True"
    assert node.status.node_info.machine_id == "abc"
    stray = apply_defaults(Namespace.model_validate(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "namespace": "b"}}))
    assert stray.metadata.namespace is None


def test_unknown_fields_are_kept_and_reported():
    doc = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "foo": 1},
           "spec": {"containers": [{"name": "c", "image": "i", "restart_policy": "x"}],
                    "bar": {"baz": [1]}}, "extra": True}
    pod = validate_object(doc)
    assert dump(pod) == doc
    assert unknown_fields(doc, pod) == [
        "extra", "metadata.foo", "spec.bar", "spec.containers[0].restart_policy"]
    assert unknown_fields(doc, type(pod)) == unknown_fields(doc, pod)


def test_list_kind_and_multi_document():
    payload = b"""
# leading comment only
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
---
---   # empty
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "json"}}
"""
    results = split_documents(payload)
    assert [(r.index, r.item, r.doc["metadata"]["name"]) for r in results] == [
        (1, 0, "a"), (1, 1, "b"), (3, None, "json")]
    assert results[2].line == 11


def test_models_are_frozen():
    _, svc = load(SERVICE)
    with pytest.raises(Exception):
        svc.spec = None  # type: ignore[misc]
