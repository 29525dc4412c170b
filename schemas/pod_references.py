"""The API objects a pod's spec uses: its ServiceAccount, the Secrets and ConfigMaps of
its volumes, projected volumes, env, envFrom and imagePullSecrets, as upstream's Node
authorizer graph links them. Pure, over the pod's JSON. Used by the API (NodeRestriction,
the Node authorizer's read rule, the ServiceAccount index) and by the kubelet (which
Secrets of a pod it must ask the API for)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Doc = Mapping[str, Any]


def _dict(value: object) -> Doc:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _containers(spec: Doc) -> Iterator[Doc]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from (_dict(c) for c in _list(spec.get(field)))


def api_references(pod: Doc) -> Iterator[tuple[str, str]]:
    """(resource, name) of every API object a pod's spec uses: its service account,
    Secrets and ConfigMaps of volumes, projected volumes, env, envFrom, imagePullSecrets."""
    spec = _dict(pod.get("spec"))
    if spec.get("serviceAccountName"):
        yield "serviceaccounts", str(spec["serviceAccountName"])
    for ref in _list(spec.get("imagePullSecrets")):
        yield "secrets", str(_dict(ref).get("name") or "")
    for volume in (_dict(v) for v in _list(spec.get("volumes"))):
        if volume.get("secret") is not None:
            yield "secrets", str(_dict(volume["secret"]).get("secretName") or "")
        if volume.get("configMap") is not None:
            yield "configmaps", str(_dict(volume["configMap"]).get("name") or "")
        for source in (_dict(s) for s in _list(_dict(volume.get("projected")).get("sources"))):
            for field, resource in (("secret", "secrets"), ("configMap", "configmaps")):
                if source.get(field) is not None:
                    yield resource, str(_dict(source[field]).get("name") or "")
    for container in _containers(spec):
        yield from _env_references(container)


def _env_references(container: Doc) -> Iterator[tuple[str, str]]:
    for env in (_dict(e) for e in _list(container.get("env"))):
        source = _dict(env.get("valueFrom"))
        for field, resource in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            if source.get(field) is not None:
                yield resource, str(_dict(source[field]).get("name") or "")
    for env_from in (_dict(e) for e in _list(container.get("envFrom"))):
        for field, resource in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
            if env_from.get(field) is not None:
                yield resource, str(_dict(env_from[field]).get("name") or "")


def referenced_names(pod: Doc, resource: str) -> frozenset[str]:
    """The names of the objects of `resource` ("secrets", "configmaps") a pod's spec uses."""
    return frozenset(name for used, name in api_references(pod) if used == resource and name)
