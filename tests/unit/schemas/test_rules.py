"""Each validation rule rejects with Kubernetes' exact path and message."""

from __future__ import annotations

import copy

import pytest

from schemas import ManifestInvalid, NoKindMatch, validate_object
from schemas.validation import (
    CONFIG_KEY_MSG,
    DNS1035_LABEL_MSG,
    DNS1123_LABEL_MSG,
    DNS1123_SUBDOMAIN_MSG,
    LABEL_VALUE_MSG,
    QUALIFIED_NAME_MSG,
)

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def errors_of(doc) -> list[str]:
    with pytest.raises(ManifestInvalid) as info:
        validate_object(doc)
    return [str(e) for e in info.value.errors]


def patched(base, path: str, value):
    doc = copy.deepcopy(base)
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return doc


DELETE = object()


def test_valid_baselines_pass():
    for doc in (POD, DEPLOY, SERVICE):
        assert validate_object(doc).metadata.name == doc["metadata"]["name"]


def test_manifest_invalid_message_format():
    doc = patched(DEPLOY, "spec.replicas", -1)
    doc = patched(doc, "spec.template.metadata.labels", {"app": "other"})
    with pytest.raises(ManifestInvalid) as info:
        validate_object(doc)
    assert str(info.value) == (
        'Deployment.apps "web" is invalid: ['
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0, "
        'spec.template.metadata.labels: Invalid value: {"app":"other"}: '
        "`selector` does not match template `labels`]")
    assert (info.value.kind, info.value.name, info.value.group) == ("Deployment", "web", "apps")
    single = patched(POD, "spec.containers.0.image", DELETE)
    with pytest.raises(ManifestInvalid) as info:
        validate_object(single)
    assert str(info.value) == 'Pod "p" is invalid: spec.containers[0].image: Required value'


def test_kind_and_api_version_required_and_known():
    assert errors_of({"kind": "Pod", "metadata": {"name": "p"}}) == ["apiVersion: Required value"]
    assert errors_of({"apiVersion": "v1"}) == ["kind: Required value"]
    with pytest.raises(NoKindMatch, match='^no matches for kind "Foo" in version "v1"$'):
        validate_object({"apiVersion": "v1", "kind": "Foo"})
    with pytest.raises(NoKindMatch, match='kind "Deployment" in version "v1"'):
        validate_object(patched(DEPLOY, "apiVersion", "v1"))


@pytest.mark.parametrize("doc, expected", [
    (patched(POD, "metadata.name", DELETE),
     "metadata.name: Required value: name or generateName is required"),
    (patched(POD, "metadata.name", "Web_1"),
     f'metadata.name: Invalid value: "Web_1": {DNS1123_SUBDOMAIN_MSG}'),
    (patched(POD, "metadata.name", "a" * 254),
     f'metadata.name: Invalid value: "{"a" * 254}": must be no more than 253 characters'),
    (patched(POD, "metadata.name", "a" * 300),
     f'metadata.name: Invalid value: "{"a" * 252}...: must be no more than 253 characters'),
    (patched(SERVICE, "metadata.name", "1svc"),
     f'metadata.name: Invalid value: "1svc": {DNS1035_LABEL_MSG}'),
    (patched({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "metadata.name", "a.b"),
     f'metadata.name: Invalid value: "a.b": {DNS1123_LABEL_MSG}'),
    (patched(POD, "metadata.namespace", "My_NS"),
     f'metadata.namespace: Invalid value: "My_NS": {DNS1123_LABEL_MSG}'),
    (patched(POD, "metadata.labels", {"app": "-bad-"}),
     f'metadata.labels: Invalid value: "-bad-": {LABEL_VALUE_MSG}'),
    (patched(POD, "metadata.labels", {"bad key": "x"}),
     f'metadata.labels: Invalid value: "bad key": name part {QUALIFIED_NAME_MSG}'),
    (patched(POD, "metadata.annotations", {"a/b/c": "x"}),
     'metadata.annotations: Invalid value: "a/b/c": a qualified name '
     f"{QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' "
     "(e.g. 'example.com/MyName')"),
    (patched(POD, "metadata.annotations", {"big": "x" * (256 * 1024)}),
     "metadata.annotations: Too long: must have at most 262144 bytes"),
])
def test_metadata_rules(doc, expected):
    assert errors_of(doc) == [expected]


def test_generate_name_is_enough_and_checked():
    doc = patched(POD, "metadata", {"generateName": "web-"})
    assert validate_object(doc).metadata.generate_name == "web-"
    assert errors_of(patched(POD, "metadata", {"generateName": "Web-"})) == [
        f'metadata.generateName: Invalid value: "Web-": {DNS1123_SUBDOMAIN_MSG}']


C0 = "spec.containers.0"


@pytest.mark.parametrize("doc, expected", [
    (patched(POD, "spec.containers", []), "spec.containers: Required value"),
    (patched(POD, "spec", DELETE), "spec.containers: Required value"),
    (patched(POD, f"{C0}.image", ""), "spec.containers[0].image: Required value"),
    (patched(POD, f"{C0}.name", "Web"),
     f'spec.containers[0].name: Invalid value: "Web": {DNS1123_LABEL_MSG}'),
    (patched(POD, "spec.containers", [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]),
     'spec.containers[1].name: Duplicate value: "c"'),
    (patched(POD, f"{C0}.ports", [{"containerPort": 70000}]),
     "spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
     "must be between 1 and 65535, inclusive"),
    (patched(POD, f"{C0}.ports", [{"containerPort": 80, "name": "very-long-port-name"}]),
     'spec.containers[0].ports[0].name: Invalid value: "very-long-port-name": '
     "must be no more than 15 characters"),
    (patched(POD, f"{C0}.ports", [{"containerPort": "eighty"}]),
     'spec.containers[0].ports[0].containerPort: Invalid value: "eighty": must be an integer'),
    (patched(POD, f"{C0}.ports", [{"containerPort": 80, "protocol": "HTTP"}]),
     'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": '
     'supported values: "SCTP", "TCP", "UDP"'),
    (patched(POD, "spec.restartPolicy", "Sometimes"),
     'spec.restartPolicy: Unsupported value: "Sometimes": '
     'supported values: "Always", "Never", "OnFailure"'),
    (patched(POD, f"{C0}.imagePullPolicy", "Sometimes"),
     'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
     'supported values: "Always", "IfNotPresent", "Never"'),
    (patched(POD, f"{C0}.resources", {"limits": {"cpu": "1Gb"}}),
     'spec.containers[0].resources.limits[cpu]: Invalid value: "1Gb": quantities must match '
     "the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    (patched(POD, f"{C0}.resources", {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
     'spec.containers[0].resources.requests: Invalid value: "2": '
     "must be less than or equal to cpu limit of 1"),
    (patched(POD, f"{C0}.livenessProbe", {"periodSeconds": 3}),
     "spec.containers[0].livenessProbe: Required value: must specify a handler type"),
    (patched(POD, f"{C0}.livenessProbe", {"tcpSocket": {"port": 8080}, "successThreshold": 2}),
     "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    (patched(POD, f"{C0}.volumeMounts", [{"name": "data", "mountPath": "/data"}]),
     'spec.containers[0].volumeMounts[0].name: Not found: "data"'),
    (patched(POD, "spec.terminationGracePeriodSeconds", -5),
     "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"),
])
def test_pod_rules(doc, expected):
    assert errors_of(doc) == [expected]


T = "spec.template"


@pytest.mark.parametrize("doc, expected", [
    (patched(DEPLOY, "spec.replicas", -1),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    (patched(DEPLOY, "spec.selector", DELETE), "spec.selector: Required value"),
    (patched(DEPLOY, "spec.selector", {}),
     "spec.selector: Invalid value: {}: empty selector is invalid for deployment"),
    (patched(DEPLOY, f"{T}.metadata.labels", {"app": "db"}),
     'spec.template.metadata.labels: Invalid value: {"app":"db"}: '
     "`selector` does not match template `labels`"),
    (patched(DEPLOY, f"{T}.spec.restartPolicy", "Never"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    (patched(DEPLOY, f"{T}.spec.containers.0.ports", [{"containerPort": 0}]),
     "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 0: "
     "must be between 1 and 65535, inclusive"),
    (patched(DEPLOY, "spec.strategy", {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}),
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: "
     "may not be 0 when `maxSurge` is 0"),
    (patched(DEPLOY, "spec.strategy", {"rollingUpdate": {"maxSurge": "lots"}}),
     'spec.strategy.rollingUpdate.maxSurge: Invalid value: "lots": a valid percent string must '
     "be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
     "regex used for validation is '[0-9]+%')"),
    (patched(DEPLOY, "spec.selector",
             {"matchLabels": {"app": "web"},
              "matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}),
     "spec.selector.matchExpressions[0].values: Forbidden: "
     "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
    (patched(DEPLOY, "spec.selector", {"matchExpressions": [{"key": "app", "operator": "Has"}]}),
     'spec.selector.matchExpressions[0].operator: Unsupported value: "Has": '
     'supported values: "DoesNotExist", "Exists", "In", "NotIn"'),
])
def test_deployment_rules(doc, expected):
    assert errors_of(doc) == [expected]


def test_replicaset_and_rc_rules():
    rs = {**DEPLOY, "kind": "ReplicaSet"}
    assert errors_of(patched(rs, "spec.template", DELETE)) == ["spec.template: Required value"]
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
          "spec": {"selector": {"app": "x"}, "template": DEPLOY["spec"]["template"]}}
    assert errors_of(rc) == [
        'spec.template.metadata.labels: Invalid value: {"app":"web"}: '
        "`selector` does not match template `labels`"]
    assert errors_of(patched(rc, "spec.replicas", -2)) [0] == (
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0")


@pytest.mark.parametrize("doc, expected", [
    (patched(SERVICE, "spec.ports", []), "spec.ports: Required value"),
    (patched(SERVICE, "spec.ports.0.port", DELETE), "spec.ports[0].port: Required value"),
    (patched(SERVICE, "spec.ports.0.port", 65536),
     "spec.ports[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive"),
    (patched(SERVICE, "spec.ports", [{"port": 80}, {"port": 81, "name": "b"}]),
     "spec.ports[0].name: Required value"),
    (patched(SERVICE, "spec.ports", [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]),
     'spec.ports[1].name: Duplicate value: "a"'),
    (patched(SERVICE, "spec.ports.0.targetPort", "web--http"),
     'spec.ports[0].targetPort: Invalid value: "web--http": must not contain consecutive hyphens'),
    (patched(SERVICE, "spec.ports.0.targetPort", 1.5),
     "spec.ports[0].targetPort: Invalid value: 1.5: must be an integer or a string"),
    (patched(SERVICE, "spec.type", "Magic"),
     'spec.type: Unsupported value: "Magic": supported values: '
     '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'),
    (patched(SERVICE, "spec.ports.0.nodePort", 30080),
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    (patched(SERVICE, "spec", {"type": "ExternalName"}), "spec.externalName: Required value"),
])
def test_service_rules(doc, expected):
    assert errors_of(doc) == [expected]


def test_configmap_and_secret_rules():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
          "data": {"bad key": "v", "ok.key": "v"}}
    assert errors_of(cm) == [f'data[bad key]: Invalid value: "bad key": {CONFIG_KEY_MSG}']
    assert errors_of({**cm, "data": {"..a": "v"}}) == [
        "data[..a]: Invalid value: \"..a\": must not start with '..'"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
              "data": {"token": "not base64!"}}
    (message,) = errors_of(secret)
    assert message == 'data[token]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 3'
    assert "not base64" not in message
    assert errors_of({**secret, "data": None, "stringData": {"a b": "x"}}) == [
        f'stringData[a b]: Invalid value: "a b": {CONFIG_KEY_MSG}']


def test_every_error_is_reported_at_once():
    doc = patched(DEPLOY, "spec.selector", {"matchExpressions": [{"key": "app", "operator": "In"}]})
    assert errors_of(doc) == [
        "spec.selector.matchExpressions[0].values: Required value: "
        "must be specified when `operator` is 'In' or 'NotIn'",
        'spec.template.metadata.labels: Invalid value: {"app":"web"}: '
        "`selector` does not match template `labels`"]
    assert errors_of(patched(SERVICE, "spec.ports.0.targetPort", "HTTP")) == [
        'spec.ports[0].targetPort: Invalid value: "HTTP": '
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        'spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)']


def test_type_errors_name_the_field():
    assert errors_of(patched(DEPLOY, "spec.replicas", "three")) == [
        'spec.replicas: Invalid value: "three": must be an integer']
    assert errors_of(patched(POD, "metadata.labels", {"version": 1.1})) == [
        "metadata.labels[version]: Invalid value: 1.1: must be a string"]
    assert errors_of(patched(POD, "spec.containers", {"name": "c"})) == [
        'spec.containers: Invalid value: {"name":"c"}: must be an array']
