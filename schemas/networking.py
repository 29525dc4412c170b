"""networking.k8s.io/v1: Ingress and IngressClass, their models and Kubernetes' rules
(pkg/apis/networking/validation, with upstream's messages).

Used by the registry (kinds and topics), ``schemas.checks`` (``NETWORKING_CHECKS``) and
the ingress controller (``services.ingress``), which reads the stored JSON of these kinds.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from schemas.core import LoadBalancerStatus
from schemas.meta import KubeModel, Resource
from schemas.validation import (
    FieldError,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_iana_svc_name,
    is_valid_port_num,
    max_len_error,
    not_supported,
    regex_error,
)

NETWORKING_GROUP = "networking.k8s.io"
NETWORKING_API_VERSION = "networking.k8s.io/v1"
INGRESS_CONTROLLER = "kafkube.io/ingress"  # the controller name of Kafkube's ingress controller
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")  # sorted, as upstream lists them
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CONTROLLER_MAX_LEN = 250
_INVALID_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_SUFFIXES = ("/..", "/.")
_WILDCARD_FMT = r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_WILDCARD_MSG = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
                 "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
                 "character")
_HTTP_PATH_FMT = r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+"


class ServiceBackendPort(KubeModel):
    name: str | None = None
    number: int | None = None


class IngressServiceBackend(KubeModel):
    name: str = ""
    port: ServiceBackendPort = ServiceBackendPort()


class TypedLocalObjectReference(KubeModel):
    api_group: str | None = None
    kind: str = ""
    name: str = ""


class IngressBackend(KubeModel):
    service: IngressServiceBackend | None = None
    resource: TypedLocalObjectReference | None = None


class HTTPIngressPath(KubeModel):
    path: str | None = None
    path_type: str | None = None
    backend: IngressBackend = IngressBackend()


class HTTPIngressRuleValue(KubeModel):
    paths: list[HTTPIngressPath] = []


class IngressRule(KubeModel):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(KubeModel):
    hosts: list[str] | None = None
    secret_name: str | None = None


class IngressSpec(KubeModel):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    tls: list[IngressTLS] | None = None
    rules: list[IngressRule] | None = None


class IngressStatus(KubeModel):
    load_balancer: LoadBalancerStatus | None = None


class Ingress(Resource):
    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["Ingress"] = "Ingress"
    spec: IngressSpec = IngressSpec()
    status: IngressStatus | None = None


class IngressClassParametersReference(KubeModel):
    api_group: str | None = None
    kind: str = ""
    name: str = ""
    scope: str | None = None
    namespace: str | None = None


class IngressClassSpec(KubeModel):
    controller: str = ""
    parameters: IngressClassParametersReference | None = None


class IngressClass(Resource):
    namespaced: ClassVar[bool] = False
    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["IngressClass"] = "IngressClass"
    spec: IngressClassSpec = IngressClassSpec()


def _invalid(path: str, value: object, messages: list[str]) -> list[FieldError]:
    return [FieldError(path, "Invalid", value, m) for m in messages]


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs = [max_len_error(253)] if len(value) > 253 else []
    if not re.fullmatch(_WILDCARD_FMT, value):
        errs.append(regex_error(_WILDCARD_MSG, _WILDCARD_FMT, "*.example.com"))
    return errs


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _check_host(path: str, host: str) -> list[FieldError]:
    if "*" in host:
        return _invalid(path, host, is_wildcard_dns1123_subdomain(host))
    return _invalid(path, host, is_dns1123_subdomain(host))


def check_backend(path: str, backend: IngressBackend) -> list[FieldError]:
    """validateIngressBackend: one of service or resource; a service names a port by name or number."""
    if backend.resource is not None and backend.service is not None:
        return [FieldError(path, "Invalid", "", "cannot set both resource and service backends")]
    if backend.resource is not None:
        ref, errs = backend.resource, []
        for field in ("kind", "name"):
            if not getattr(ref, field):
                errs.append(FieldError(f"{path}.resource.{field}", "Required"))
        return errs
    if backend.service is None:
        return [FieldError(path, "Invalid", "", "resource or service backend is required")]
    svc, errs = backend.service, []
    if not svc.name:
        errs.append(FieldError(f"{path}.service.name", "Required"))
    else:
        errs += _invalid(f"{path}.service.name", svc.name, is_dns1035_label(svc.name))
    name, number = svc.port.name or "", svc.port.number or 0
    if name and number:
        errs.append(FieldError(path, "Invalid", "", "cannot set both port name & port number"))
    elif name:
        errs += _invalid(f"{path}.service.port.name", name, is_iana_svc_name(name))
    elif number:
        errs += _invalid(f"{path}.service.port.number", number, is_valid_port_num(number))
    else:
        errs.append(FieldError(path, "Required", None, "port name or number is required"))
    return errs


def check_http_path(path: str, http_path: HTTPIngressPath) -> list[FieldError]:
    """validateHTTPIngressPath: pathType required and supported; Exact/Prefix paths absolute and clean."""
    kind, value = http_path.path_type, http_path.path or ""
    if kind is None:
        return [FieldError(f"{path}.pathType", "Required", None, "pathType must be specified")]
    errs: list[FieldError] = []
    if kind in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(FieldError(f"{path}.path", "Invalid", value, "must be an absolute path"))
        errs += [FieldError(f"{path}.path", "Invalid", value, f"must not contain '{s}'")
                 for s in _INVALID_SEQUENCES if value and s in value]
        errs += [FieldError(f"{path}.path", "Invalid", value, f"cannot end with '{s}'")
                 for s in _INVALID_SUFFIXES if value and value.endswith(s)]
    elif kind == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(FieldError(f"{path}.path", "Invalid", value, "must be an absolute path"))
    else:
        errs.append(not_supported(f"{path}.pathType", kind, list(PATH_TYPES)))
    return errs + check_backend(f"{path}.backend", http_path.backend)


def _check_rules(rules: list[IngressRule]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        at = f"spec.rules[{i}]"
        if rule.host:
            if _is_ip(rule.host):
                errs.append(FieldError(f"{at}.host", "Invalid", rule.host, "must be a DNS name, not an IP address"))
            errs += _check_host(f"{at}.host", rule.host)
        if rule.http is not None:
            if not rule.http.paths:
                errs.append(FieldError(f"{at}.http.paths", "Required"))
            for j, http_path in enumerate(rule.http.paths):
                errs += check_http_path(f"{at}.http.paths[{j}]", http_path)
    return errs


def _check_tls(tls: list[IngressTLS]) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, entry in enumerate(tls):
        for j, host in enumerate(entry.hosts or []):
            errs += _check_host(f"spec.tls[{i}].hosts[{j}]", host)
        if entry.secret_name:
            errs += _invalid(f"spec.tls[{i}].secretName", entry.secret_name, is_dns1123_subdomain(entry.secret_name))
    return errs


def check_ingress(ingress: Ingress) -> list[FieldError]:
    """ValidateIngressSpec."""
    spec, errs = ingress.spec, []
    if not spec.rules and spec.default_backend is None:
        errs.append(FieldError("spec", "Invalid", spec.rules, "either `defaultBackend` or `rules` must be specified"))
    if spec.default_backend is not None:
        errs += check_backend("spec.defaultBackend", spec.default_backend)
    errs += _check_rules(spec.rules or []) + _check_tls(spec.tls or [])
    if spec.ingress_class_name is not None:
        errs += _invalid("spec.ingressClassName", spec.ingress_class_name,
                         is_dns1123_subdomain(spec.ingress_class_name))
    return errs


def _check_controller(controller: str) -> list[FieldError]:
    """IsDomainPrefixedPath (and at most 250 characters)."""
    path = "spec.controller"
    if len(controller) > CONTROLLER_MAX_LEN:
        return [FieldError(path, "TooLong", None, f"may not be more than {CONTROLLER_MAX_LEN} bytes")]
    if not controller:
        return [FieldError(path, "Required")]
    host, _, rest = controller.partition("/")
    if not host or not rest:
        return [FieldError(path, "Invalid", controller, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    errs = _invalid(path, host, is_dns1123_subdomain(host))
    if not re.fullmatch(_HTTP_PATH_FMT, rest):
        errs.append(FieldError(path, "Invalid", rest, regex_error("Invalid path", _HTTP_PATH_FMT)))
    return errs


def check_ingress_class(cls: IngressClass) -> list[FieldError]:
    """validateIngressClassSpec: the controller, and parameters' kind, name and scope."""
    errs = _check_controller(cls.spec.controller)
    params = cls.spec.parameters
    if params is not None:
        for field in ("kind", "name"):
            if not getattr(params, field):
                errs.append(FieldError(f"spec.parameters.{field}", "Required"))
        if params.scope is not None and params.scope not in ("Cluster", "Namespace"):
            errs.append(not_supported("spec.parameters.scope", params.scope, ["Cluster", "Namespace"]))
        if params.scope == "Namespace" and not params.namespace:
            errs.append(FieldError("spec.parameters.namespace", "Required", None,
                                   "`parameters.scope` is set to 'Namespace'"))
        if params.scope == "Cluster" and params.namespace:
            errs.append(FieldError("spec.parameters.namespace", "Forbidden", None,
                                   "`parameters.scope` is set to 'Cluster'"))
    return errs


def served_by(ingress: Mapping[str, Any], classes: Mapping[str, Mapping[str, Any]], controller: str) -> bool:
    """Is this Ingress (stored JSON) `controller`'s? Its `spec.ingressClassName` names an
    IngressClass of that controller; without a class name, one of that controller's classes
    is annotated as the default (the admission that would write the name in is not there,
    so readers apply the default). Used by the ingress controller and the API (which TLS
    Secrets the controller may read)."""
    def ours(cls: Mapping[str, Any] | None) -> bool:
        return cls is not None and (cls.get("spec") or {}).get("controller") == controller

    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name is not None:
        return ours(classes.get(name))
    return any(ours(c) and ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
               for c in classes.values())


def tls_secret_names(ingress: Mapping[str, Any]) -> set[str]:
    """The Secrets an Ingress names in `spec.tls[].secretName`."""
    return {str(t["secretName"]) for t in (ingress.get("spec") or {}).get("tls") or [] if t.get("secretName")}


def check_class_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """validateIngressClassSpecUpdate: spec.controller is immutable."""
    before, after = (old.get("spec") or {}).get("controller"), (new.get("spec") or {}).get("controller")
    if before != after:
        return [FieldError("spec.controller", "Invalid", after, "field is immutable")]
    return []


NETWORKING_CHECKS: dict[str, Callable[[Any], list[FieldError]]] = {
    "Ingress": check_ingress,
    "IngressClass": check_ingress_class,
}
"""Kind rules, merged into ``schemas.checks.KIND_CHECKS``."""
