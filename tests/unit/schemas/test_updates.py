"""Kubernetes' UPDATE rules, rule by rule: old object, new object, the message (or None).

Messages are Kubernetes' own (pkg/apis/core/validation ValidatePodUpdate,
ValidateServiceUpdate, ..., apimachinery ValidateObjectMetaUpdate)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import ManifestInvalid, validate_object
from schemas.updates import POD_UPDATE_FORBIDDEN, check_update, prepare_update

Doc = dict[str, Any]
DELETE = object()

POD: Doc = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default", "uid": "u-1",
                 "creationTimestamp": "2026-01-02T03:04:05Z", "labels": {"app": "a"}},
    "spec": {"nodeName": "n1", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
             "containers": [{"name": "c", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent"}],
             "initContainers": [{"name": "i", "image": "busybox:1"}],
             "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoExecute",
                              "tolerationSeconds": 60}]},
}
DEPLOY: Doc = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
}
SECRET: Doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
               "type": "Opaque", "data": {"k": "dg=="}}
CONFIG: Doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
               "data": {"k": "v"}, "binaryData": {"b": "dg=="}}
SERVICE: Doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "default"},
                "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                         "selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]}}
NODE: Doc = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
             "spec": {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24"], "providerID": "kafkube://n1"}}
NAMESPACE: Doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "uid": "u-9"},
                  "spec": {"finalizers": ["kubernetes"]}}


def patched(base: Doc, **changes: Any) -> Doc:
    """A copy of `base` with `a__b__0__c=value` set (DELETE removes the field)."""
    doc = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        key: Any = int(last) if isinstance(target, list) else last
        if value is DELETE:
            del target[key]
        else:
            target[key] = value
    return doc


def message(kind: str, new: Doc, old: Doc) -> str | None:
    errors = check_update(kind, prepare_update(kind, new, old), old)
    return "; ".join(str(e) for e in errors) or None


def rows(*cases: tuple[str, Doc, Doc, str | None]) -> Any:
    return pytest.mark.parametrize("old, new, expected", [pytest.param(o, n, e, id=i) for i, o, n, e in cases])


POD_FORBIDDEN = "spec: Forbidden: " + POD_UPDATE_FORBIDDEN


@rows(
    ("same", POD, POD, None),
    ("image", POD, patched(POD, spec__containers__0__image="nginx:1.26"), None),
    ("init image", POD, patched(POD, spec__initContainers__0__image="busybox:2"), None),
    ("labels and annotations", POD,
     patched(POD, metadata__labels={"app": "b"}, metadata__annotations={"x": "y"}), None),
    ("toleration added", POD, patched(POD, spec__tolerations=[*POD["spec"]["tolerations"], {"operator": "Exists"}]),
     None),
    ("tolerationSeconds changed", POD, patched(POD, spec__tolerations__0__tolerationSeconds=5), None),
    ("toleration removed", POD, patched(POD, spec__tolerations=DELETE),
     "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"),
    ("toleration changed", POD, patched(POD, spec__tolerations__0__value="w"),
     "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"),
    ("deadline set", POD, patched(POD, spec__activeDeadlineSeconds=100), None),
    ("deadline lowered", patched(POD, spec__activeDeadlineSeconds=100),
     patched(POD, spec__activeDeadlineSeconds=50), None),
    ("deadline raised", patched(POD, spec__activeDeadlineSeconds=100),
     patched(POD, spec__activeDeadlineSeconds=200),
     "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"),
    ("deadline unset", patched(POD, spec__activeDeadlineSeconds=100), POD,
     "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"),
    ("deadline out of range", POD, patched(POD, spec__activeDeadlineSeconds=2**31),
     "spec.activeDeadlineSeconds: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive"),
    ("container added", POD, patched(POD, spec__containers=[*POD["spec"]["containers"], {"name": "d", "image": "x"}]),
     "spec.containers: Forbidden: pod updates may not add or remove containers"),
    ("init container removed", POD, patched(POD, spec__initContainers=DELETE),
     "spec.initContainers: Forbidden: pod updates may not add or remove containers"),
    ("image with spaces", POD, patched(POD, spec__containers__0__image=" nginx"),
     'spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'),
    ("nodeName changed", POD, patched(POD, spec__nodeName="n2"),
     f'{POD_FORBIDDEN}\n- nodeName: "n1"\n+ nodeName: "n2"'),
    ("nodeName dropped", POD, patched(POD, spec__nodeName=DELETE),
     f'{POD_FORBIDDEN}\n- nodeName: "n1"\n+ nodeName: null'),
    ("container field changed", POD, patched(POD, spec__containers__0__imagePullPolicy="Always"),
     POD_FORBIDDEN + '\n- containers: [{"image":"nginx:1.25","imagePullPolicy":"IfNotPresent","name":"c"}]'
     '\n+ containers: [{"image":"nginx:1.25","imagePullPolicy":"Always","name":"c"}]'),
    ("grace period changed", POD, patched(POD, spec__terminationGracePeriodSeconds=5),
     f"{POD_FORBIDDEN}\n- terminationGracePeriodSeconds: 30\n+ terminationGracePeriodSeconds: 5"),
    ("negative grace period to 1", patched(POD, spec__terminationGracePeriodSeconds=-1),
     patched(POD, spec__terminationGracePeriodSeconds=1), None),
    ("empty and absent are the same", POD, patched(POD, spec__nodeSelector={}, spec__hostname=""), None),
    ("scheduling gate removed", patched(POD, spec__schedulingGates=[{"name": "g"}]), POD, None),
    ("scheduling gate added", POD, patched(POD, spec__schedulingGates=[{"name": "g"}]),
     "spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'g'"),
    ("mirror annotation added", POD, patched(POD, metadata__annotations={"kubernetes.io/config.mirror": "x"}),
     "metadata.annotations[kubernetes.io/config.mirror]: Forbidden: may not add mirror pod annotation"),
)
def test_pod_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Pod", new, old) == expected


@rows(
    ("labels", NAMESPACE, patched(NAMESPACE, metadata__labels={"team": "a"}), None),
    ("uid left out", NAMESPACE, patched(NAMESPACE, metadata__uid=DELETE), None),
    ("uid changed", NAMESPACE, patched(NAMESPACE, metadata__uid="u-2"),
     'metadata.uid: Invalid value: "u-2": field is immutable'),
    ("name changed", NAMESPACE, patched(NAMESPACE, metadata__name="other"),
     'metadata.name: Invalid value: "other": field is immutable'),
    ("creationTimestamp is ignored, as the API server does", NAMESPACE,
     patched(NAMESPACE, metadata__creationTimestamp="2020-01-01T00:00:00Z"), None),
    ("deletionTimestamp set by an update", NAMESPACE,
     patched(NAMESPACE, metadata__deletionTimestamp="2026-01-01T00:00:00Z"),
     'metadata.deletionTimestamp: Invalid value: "2026-01-01T00:00:00Z": field is immutable'),
    ("deletionGracePeriodSeconds set by an update", NAMESPACE,
     patched(NAMESPACE, metadata__deletionGracePeriodSeconds=0),
     "metadata.deletionGracePeriodSeconds: Invalid value: 0: field is immutable"),
    ("finalizer added while deleting",
     patched(NAMESPACE, metadata__deletionTimestamp="2026-01-01T00:00:00Z", metadata__finalizers=["a/x"]),
     patched(NAMESPACE, metadata__finalizers=["a/x", "b/y", "a/z"]),
     'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, '
     'found new finalizers []string{"a/z", "b/y"}'),
    ("finalizer removed while deleting",
     patched(NAMESPACE, metadata__deletionTimestamp="2026-01-01T00:00:00Z", metadata__finalizers=["a/x"]),
     NAMESPACE, None),
    ("namespace finalized by its controller", NAMESPACE, patched(NAMESPACE, spec__finalizers=[]), None),
)
def test_metadata_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Namespace", new, old) == expected


def test_namespace_of_a_namespaced_object_cannot_change() -> None:
    moved = patched(CONFIG, metadata__namespace="other")
    assert message("ConfigMap", moved, CONFIG) == 'metadata.namespace: Invalid value: "other": field is immutable'


FROZEN_SECRET = patched(SECRET, immutable=True)
FROZEN_CONFIG = patched(CONFIG, immutable=True)


@rows(
    ("data of a mutable secret", SECRET, patched(SECRET, data={"k": "dw=="}), None),
    ("labels of an immutable secret", FROZEN_SECRET, patched(FROZEN_SECRET, metadata__labels={"a": "b"}), None),
    ("type", SECRET, patched(SECRET, type="kubernetes.io/tls"),
     'type: Invalid value: "kubernetes.io/tls": field is immutable'),
    ("data of an immutable secret", FROZEN_SECRET, patched(FROZEN_SECRET, data={"k": "dw=="}),
     "data: Forbidden: field is immutable when `immutable` is set"),
    ("immutable unset", FROZEN_SECRET, patched(FROZEN_SECRET, immutable=DELETE),
     "immutable: Forbidden: field is immutable when `immutable` is set"),
    ("immutable set to false", FROZEN_SECRET, patched(FROZEN_SECRET, immutable=False),
     "immutable: Forbidden: field is immutable when `immutable` is set"),
    ("made immutable", SECRET, FROZEN_SECRET, None),
)
def test_secret_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Secret", new, old) == expected


@rows(
    ("data of a mutable config map", CONFIG, patched(CONFIG, data={"k": "w"}), None),
    ("data of an immutable config map", FROZEN_CONFIG, patched(FROZEN_CONFIG, data={"k": "w"}),
     "data: Forbidden: field is immutable when `immutable` is set"),
    ("binaryData of an immutable config map", FROZEN_CONFIG, patched(FROZEN_CONFIG, binaryData=DELETE),
     "binaryData: Forbidden: field is immutable when `immutable` is set"),
    ("immutable unset", FROZEN_CONFIG, patched(FROZEN_CONFIG, immutable=False),
     "immutable: Forbidden: field is immutable when `immutable` is set"),
    ("annotations of an immutable config map", FROZEN_CONFIG,
     patched(FROZEN_CONFIG, metadata__annotations={"a": "b"}), None),
)
def test_config_map_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("ConfigMap", new, old) == expected


@rows(
    ("replicas and image", DEPLOY,
     patched(DEPLOY, spec__replicas=3, spec__template__spec__containers__0__image="nginx:2"), None),
    ("selector", DEPLOY, patched(DEPLOY, spec__selector={"matchLabels": {"app": "web", "tier": "x"}}),
     'spec.selector: Invalid value: {"matchLabels":{"app":"web","tier":"x"}}: field is immutable'),
    ("selector with an empty matchExpressions", DEPLOY,
     patched(DEPLOY, spec__selector={"matchLabels": {"app": "web"}, "matchExpressions": []}), None),
)
def test_deployment_and_replicaset_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Deployment", new, old) == expected
    rs_old, rs_new = {**old, "kind": "ReplicaSet"}, {**new, "kind": "ReplicaSet"}
    assert message("ReplicaSet", rs_new, rs_old) == expected


@pytest.mark.parametrize("doc, expected", [
    (patched(DEPLOY, spec__template__metadata__labels={"app": "db"}),
     'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"db"}: '
     "`selector` does not match template `labels`"),
    (patched(DEPLOY, kind="ReplicaSet", spec__template__metadata=DELETE),
     'ReplicaSet.apps "web" is invalid: spec.template.metadata.labels: Invalid value: null: '
     "`selector` does not match template `labels`"),
    ({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
      "spec": {"selector": {"app": "x"}, "template": DEPLOY["spec"]["template"]}},
     'ReplicationController "rc" is invalid: spec.template.metadata.labels: Invalid value: {"app":"web"}: '
     "`selector` does not match template `labels`"),
])
def test_selector_must_match_template_labels(doc: Doc, expected: str) -> None:
    with pytest.raises(ManifestInvalid) as info:
        validate_object(doc)
    assert str(info.value) == expected


def test_replication_controller_selector_defaults_from_the_template() -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
          "spec": {"template": DEPLOY["spec"]["template"]}}
    assert validate_object(rc).metadata.name == "rc"
    assert message("ReplicationController", patched(rc, spec__selector={"app": "web"}), rc) is None


def service(**changes: Any) -> Doc:
    return patched(SERVICE, **changes)


HEADLESS = service(spec__clusterIP="None", spec__clusterIPs=["None"])
EXTERNAL = service(spec__type="ExternalName", spec__externalName="db.example.com",
                   spec__clusterIP=DELETE, spec__clusterIPs=DELETE)
DUAL = service(spec__clusterIPs=["10.96.0.10", "fd00::10"], spec__ipFamilies=["IPv4", "IPv6"],
               spec__ipFamilyPolicy="PreferDualStack")


@rows(
    ("same", SERVICE, SERVICE, None),
    ("clusterIP left out (re-apply)", SERVICE, service(spec__clusterIP=DELETE, spec__clusterIPs=DELETE), None),
    ("ports and selector", SERVICE, service(spec__ports=[{"port": 81}], spec__selector={"app": "b"}), None),
    ("clusterIP changed", SERVICE, service(spec__clusterIP="10.96.0.11"),
     'spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set'),
    ("clusterIPs changed", SERVICE, service(spec__clusterIPs=["10.96.0.11"]),
     'spec.clusterIPs: Invalid value: ["10.96.0.11"]: first value must match `clusterIP`; '
     'spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set'),
    ("made headless", SERVICE, service(spec__clusterIP="None", spec__clusterIPs=DELETE),
     'spec.clusterIPs[0]: Invalid value: ["None"]: may not change once set'),
    ("headless stays headless", HEADLESS, service(spec__clusterIP=DELETE, spec__clusterIPs=DELETE), None),
    ("to ExternalName", SERVICE, service(spec__type="ExternalName", spec__externalName="db.example.com"), None),
    ("to ExternalName with another clusterIP", SERVICE,
     service(spec__type="ExternalName", spec__externalName="db.example.com", spec__clusterIP="10.96.0.11"),
     "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
    ("from ExternalName with an address", EXTERNAL, SERVICE, None),
    ("second clusterIP added", SERVICE, DUAL, None),
    ("second clusterIP released without SingleStack", DUAL,
     service(spec__ipFamilies=["IPv4"], spec__ipFamilyPolicy="PreferDualStack"),
     "spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be set to 'SingleStack' when releasing "
     "the secondary clusterIP; spec.ipFamilyPolicy: Invalid value: \"PreferDualStack\": must be set to "
     "'SingleStack' when releasing the secondary ipFamily"),
    ("second clusterIP released with SingleStack", DUAL,
     service(spec__ipFamilies=["IPv4"], spec__ipFamilyPolicy="SingleStack"), None),
    ("primary ipFamily changed", service(spec__ipFamilies=["IPv4"]), service(spec__ipFamilies=["IPv6"]),
     'spec.ipFamilies[0]: Invalid value: ["IPv6"]: may not change once set'),
    ("loadBalancerClass changed", service(spec__type="LoadBalancer", spec__loadBalancerClass="a/b"),
     service(spec__type="LoadBalancer", spec__loadBalancerClass="a/c"),
     'spec.loadBalancerClass: Invalid value: "a/c": may not change once set'),
    ("healthCheckNodePort changed",
     service(spec__type="LoadBalancer", spec__externalTrafficPolicy="Local", spec__healthCheckNodePort=30100),
     service(spec__type="LoadBalancer", spec__externalTrafficPolicy="Local", spec__healthCheckNodePort=30101),
     "spec.healthCheckNodePort: Forbidden: field is immutable"),
)
def test_service_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Service", new, old) == expected


def test_service_preparation_keeps_allocations_and_wipes_what_a_type_change_drops() -> None:
    kept = prepare_update("Service", service(spec__clusterIP=DELETE, spec__clusterIPs=DELETE), SERVICE)
    assert (kept["spec"]["clusterIP"], kept["spec"]["clusterIPs"]) == ("10.96.0.10", ["10.96.0.10"])
    external = prepare_update("Service", service(spec__type="ExternalName", spec__externalName="x.io"), SERVICE)
    assert "clusterIP" not in external["spec"] and "clusterIPs" not in external["spec"]
    node_port = service(spec__type="NodePort", spec__ports=[{"port": 80, "nodePort": 30080}])
    to_cluster_ip = prepare_update("Service", patched(node_port, spec__type="ClusterIP"), node_port)
    assert to_cluster_ip["spec"]["ports"] == [{"port": 80}]
    assert node_port["spec"]["ports"] == [{"port": 80, "nodePort": 30080}]  # inputs untouched


@rows(
    ("taints and unschedulable", NODE,
     patched(NODE, spec__unschedulable=True, spec__taints=[{"key": "k", "effect": "NoSchedule"}]), None),
    ("podCIDR set once", patched(NODE, spec__podCIDR=DELETE, spec__podCIDRs=DELETE), NODE, None),
    ("podCIDRs changed", NODE, patched(NODE, spec__podCIDR="10.2.0.0/24", spec__podCIDRs=["10.2.0.0/24"]),
     'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'),
    ("podCIDRs dropped", NODE, patched(NODE, spec__podCIDR=DELETE, spec__podCIDRs=DELETE),
     'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'),
    ("providerID changed", NODE, patched(NODE, spec__providerID="other://n1"),
     'spec.providerID: Forbidden: node updates may not change providerID except from "" to valid'),
    ("externalID changed", NODE, patched(NODE, spec__externalID="x"), "spec.externalID: Forbidden: may not be updated"),
)
def test_node_updates(old: Doc, new: Doc, expected: str | None) -> None:
    assert message("Node", new, old) == expected
