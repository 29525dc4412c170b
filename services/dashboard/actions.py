"""The dashboard's actions as write requests, as the CLI and kubectl send them: scale (a
merge patch of `spec.replicas`), restart a rollout (kubectl's
`kubectl.kubernetes.io/restartedAt` annotation on the pod template), delete a pod, apply a
manifest (each YAML document an `apply`). Each request carries the viewer's name as its
principal; `services.dashboard.app` sends it with their token, so the API authenticates,
authorises, admits and audits it as them. Pure: the clock is handed in."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.records import Op, WriteRequest
from schemas.registry import NoKindMatch, lookup_kind

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
WRITER = "dashboard"


class BadAction(ValueError):
    """An action's input that cannot become a request; the message names the field."""


class Target(BaseModel):
    """The object an action is about (the JSON body of an action request)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)


class ScaleBody(Target):
    replicas: int = Field(ge=0)


class ApplyBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    manifest: str = Field(min_length=1)
    namespace: str = "default"


def body_of(model: type[BaseModel], raw: Any) -> Any:
    """`raw` (a decoded JSON body) as `model`, or BadAction naming the field and problem."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadAction(f"{field}: {first['msg']}") from None


def scale(target: ScaleBody, *, principal: str) -> WriteRequest:
    return WriteRequest(op=Op.PATCH, apiVersion="apps/v1", kind="Deployment", namespace=target.namespace,
                        name=target.name, body={"spec": {"replicas": target.replicas}}, principal=principal,
                        writer=WRITER)


def restart(target: Target, *, principal: str, now: datetime) -> WriteRequest:
    """`kubectl rollout restart`: the template's restartedAt annotation set to now (RFC 3339)."""
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    return WriteRequest(op=Op.PATCH, apiVersion="apps/v1", kind="Deployment", namespace=target.namespace,
                        name=target.name, body=patch, principal=principal, writer=WRITER)


def delete_pod(target: Target, *, principal: str) -> WriteRequest:
    return WriteRequest(op=Op.DELETE, apiVersion="v1", kind="Pod", namespace=target.namespace, name=target.name,
                        principal=principal, writer=WRITER)


def apply(body: ApplyBody, *, principal: str) -> list[WriteRequest]:
    """One `apply` per YAML document (empty ones skipped), in the manifest's namespace
    or `body.namespace`; BadAction names the document and field at fault."""
    try:
        documents = [d for d in yaml.safe_load_all(body.manifest) if d is not None]
    except yaml.YAMLError as exc:
        raise BadAction(f"manifest: invalid YAML: {exc}") from None
    if not documents:
        raise BadAction("manifest: no object in it")
    return [_applied(doc, index, body.namespace, principal) for index, doc in enumerate(documents)]


def _applied(doc: Any, index: int, namespace: str, principal: str) -> WriteRequest:
    where = f"manifest: document {index}"
    if not isinstance(doc, dict):
        raise BadAction(f"{where}: not an object")
    for field in ("apiVersion", "kind"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            raise BadAction(f"{where}: {field}: Required value")
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise BadAction(f"{where}: metadata.name: Required value: name is required")
    try:
        info = lookup_kind(doc["apiVersion"], doc["kind"])
    except NoKindMatch as exc:
        raise BadAction(f"{where}: {exc}") from None
    ns = str(meta.get("namespace") or namespace) if info.namespaced else None
    body = {**doc, "metadata": {**meta, **({"namespace": ns} if ns else {})}}
    return WriteRequest(op=Op.APPLY, apiVersion=info.api_version, kind=info.kind, namespace=ns, name=meta["name"],
                        body=body, principal=principal, writer=WRITER)
