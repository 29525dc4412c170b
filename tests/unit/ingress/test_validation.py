"""Ingress and IngressClass validation in upstream's words (schemas/networking.py, through
schemas.manifest.validate_object as the API runs it), and a fuzz of the entry point."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.manifest import ManifestInvalid, validate_object
from schemas.updates import check_update


def ingress(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "default"}, "spec": spec}


def rule(p: dict[str, Any], host: str | None = "a.example.com") -> dict[str, Any]:
    out: dict[str, Any] = {"http": {"paths": [p]}}
    return {**out, "host": host} if host else out


SVC = {"service": {"name": "web", "port": {"number": 80}}}


def errors(doc: dict[str, Any]) -> str:
    with pytest.raises(ManifestInvalid) as info:
        validate_object(doc)
    return str(info.value)


def test_a_valid_ingress_and_class_pass() -> None:
    validate_object(ingress({"ingressClassName": "kafkube", "defaultBackend": SVC, "rules": [
        rule({"path": "/", "pathType": "Prefix", "backend": SVC}, "*.example.com"),
        rule({"pathType": "ImplementationSpecific", "backend": {"service": {"name": "w", "port": {"name": "http"}}}})],
        "tls": [{"hosts": ["a.example.com", "*.example.com"], "secretName": "tls"}]}))
    validate_object({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "kafkube"},
                     "spec": {"controller": "kafkube.io/ingress"}})


@pytest.mark.parametrize("p, message", [
    ({"path": "/", "backend": SVC}, "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
    ({"path": "/", "pathType": "Regex", "backend": SVC},
     'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", '
     '"ImplementationSpecific", "Prefix"'),
    ({"path": "api", "pathType": "Exact", "backend": SVC},
     'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'),
    ({"path": "/a//b", "pathType": "Prefix", "backend": SVC},
     "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"),
    ({"path": "/a/..", "pathType": "Prefix", "backend": SVC},
     "spec.rules[0].http.paths[0].path: Invalid value: \"/a/..\": cannot end with '/..'"),
    ({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web"}}},
     "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"),
    ({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "h", "number": 1}}}},
     'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number'),
    ({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "Web", "port": {"number": 80}}}},
     'spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": a DNS-1035 label'),
    ({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 70000}}}},
     "spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535"),
    ({"path": "/", "pathType": "Prefix", "backend": {}},
     'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required'),
])
def test_paths_and_backends(p: dict[str, Any], message: str) -> None:
    assert message in errors(ingress({"rules": [rule(p)]}))


@pytest.mark.parametrize("host, message", [
    ("10.0.0.1", 'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'),
    ("*.Example.com", "a wildcard DNS-1123 subdomain must start with '*.'"),
    ("foo.*.com", "a wildcard DNS-1123 subdomain must start with '*.'"),
    ("Foo.com", 'spec.rules[0].host: Invalid value: "Foo.com": a lowercase RFC 1123 subdomain'),
])
def test_hosts(host: str, message: str) -> None:
    assert message in errors(ingress({"rules": [rule({"path": "/", "pathType": "Prefix", "backend": SVC}, host)]}))


def test_spec_needs_rules_or_default_backend_and_tls_is_checked() -> None:
    assert "spec: Invalid value: null: either `defaultBackend` or `rules` must be specified" in errors(ingress({}))
    text = errors(ingress({"defaultBackend": SVC, "tls": [{"hosts": ["*.*.x"], "secretName": "No_Good"}]}))
    assert "spec.tls[0].hosts[0]: Invalid value: \"*.*.x\"" in text
    assert 'spec.tls[0].secretName: Invalid value: "No_Good"' in text


def test_ingress_class_controller_and_parameters() -> None:
    def cls(spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "c"}, "spec": spec}
    assert "spec.controller: Required value" in errors(cls({}))
    assert 'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")' \
        in errors(cls({"controller": "nginx"}))
    assert "spec.parameters.name: Required value" in errors(cls({"controller": "a.io/b", "parameters": {"kind": "K"}}))
    assert "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'" in errors(
        cls({"controller": "a.io/b", "parameters": {"kind": "K", "name": "n", "scope": "Namespace"}}))
    old, new = cls({"controller": "a.io/b"}), cls({"controller": "a.io/c"})
    assert [str(e) for e in check_update("IngressClass", new, old)] == [
        'spec.controller: Invalid value: "a.io/c": field is immutable']


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                                       max_size=3), max_leaves=12)
FIELDS = st.sampled_from(["rules", "defaultBackend", "tls", "ingressClassName", "backend", "paths", "http",
                          "path", "pathType", "service", "port", "number", "name", "host", "hosts", "secretName"])
SPECS = st.recursive(JSON, lambda children: st.dictionaries(FIELDS, children, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(spec=SPECS)
def test_any_spec_is_accepted_or_rejected_never_crashes(spec: Any) -> None:
    try:
        validate_object(ingress(spec) if isinstance(spec, dict) else {**ingress({}), "spec": spec})
    except ManifestInvalid:
        pass
