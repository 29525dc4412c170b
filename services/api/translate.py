"""Manifest intake, pure part: one record of `kafkube.manifests` becomes keyed
write requests (one per document) and Rejected answers for the bad documents.
Called by `services.api.intake`; never raises on any input: a fault of its own is
answered `InternalError` (and logged by the caller with the record's coordinates)."""

from __future__ import annotations

import secrets
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Callable
from typing import Any, Literal
from uuid import uuid4

import orjson

from schemas.limits import MAX_REQUEST_BYTES, entity_too_large
from schemas.manifest import split_documents
from schemas.auth import UserInfo
from schemas.records import (OP_HEADER, PROPAGATION_HEADER, REQUEST_ID_HEADER, Op, SourceRef,
                             WriteRequest)
from schemas.records import header_value as header
from schemas.registry import lookup_kind
from services.api.admission import AdmissionError, admit
from services.api.secret_storage import SecretStorage, SecretValueError
from schemas.validation import format_value
from services.runtime.events import STATUS_REASON_ANNOTATION, involved_object, make_event

MANIFEST_OPS = {"apply": Op.APPLY, "create": Op.CREATE, "delete": Op.DELETE, "update": Op.UPDATE}
Policy = Literal["Background", "Foreground", "Orphan"]
PROPAGATION_POLICIES: dict[str, Policy] = {"background": "Background", "foreground": "Foreground",
                                           "orphan": "Orphan"}


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(slots=True)
class Translation:
    requests: list[WriteRequest] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)  # Event JSON
    failure: str | None = None  # the traceback of a fault of Kafkube's own


def translate(record: ManifestRecord, *, instance: str, now: datetime, user: UserInfo | None,
              secrets: SecretStorage | None = None) -> Translation:
    """Every document of the record gives exactly one request or one rejection; a fault
    of this code gives one InternalError answer for the record, and no request. `user` is
    the record's authenticated author (None: its token is unknown, so it is refused
    Unauthorized before anything in it is read, as kube-apiserver does). `secrets`: how
    Secret values are opened from the manifest and stored (None: as sent)."""
    request_id = header(record.headers, REQUEST_ID_HEADER) or uuid4().hex
    if user is None:
        out = Translation()
        _rejecter(out, record, request_id, instance, now)(0, None, "Unauthorized", status_reason="Unauthorized")
        return out
    try:
        return _translate(record, request_id, user.name, instance=instance, now=now, secrets=secrets)
    except Exception as exc:  # noqa: BLE001 - a bug must answer, never stop the intake
        out = Translation(failure=traceback.format_exc())
        reject = _rejecter(out, record, request_id, instance, now)
        reject(0, None, f"Internal error occurred: {exc.__class__.__name__}: {exc}"[:1000],
               status_reason="InternalError")
        return out


def _translate(record: ManifestRecord, request_id: str, principal: str, *, instance: str,
               now: datetime, secrets: SecretStorage | None) -> Translation:
    out = Translation()
    op_name = (header(record.headers, OP_HEADER) or "apply").lower()
    reject = _rejecter(out, record, request_id, instance, now)
    if op_name not in MANIFEST_OPS:
        reject(0, None, f"header {OP_HEADER}: Unsupported value: {op_name!r}: supported "
               f"values: {', '.join(repr(o) for o in MANIFEST_OPS)}")
        return out
    policy_name = header(record.headers, PROPAGATION_HEADER)
    policy = PROPAGATION_POLICIES.get((policy_name or "").lower())
    if policy_name is not None and policy is None:
        reject(0, None, f"header {PROPAGATION_HEADER}: Unsupported value: {policy_name!r}: supported "
               f"values: {', '.join(repr(p) for p in PROPAGATION_POLICIES.values())}")
        return out
    if record.value is None:
        reject(0, None, "the record has no value: expected a YAML or JSON manifest")
        return out
    documents = split_documents(record.value)
    if not documents:
        reject(0, None, "the record holds no manifest (empty document)")
    for index, doc in enumerate(documents):
        source = SourceRef(topic=record.topic, partition=record.partition,
                           offset=record.offset, document=index)
        if doc.doc is None:
            reject(index, None, doc.error or "expected a mapping (a Kubernetes object)")
            continue
        try:
            out.requests.append(_request(doc.doc, MANIFEST_OPS[op_name], request_id, source,
                                         principal=principal, propagation=policy, secrets=secrets))
        except AdmissionError as exc:
            reject(index, doc.doc, str(exc), status_reason=exc.status_reason)
    return out


def _request(doc: dict[str, Any], op: Op, request_id: str, source: SourceRef, *,
             principal: str, propagation: Policy | None = None, secrets: SecretStorage | None = None) -> WriteRequest:
    body = _named(doc)
    secret = secrets is not None and op is not Op.DELETE and (body.get("apiVersion"), body.get("kind")) == ("v1", "Secret")
    if op is Op.DELETE:
        info = _kind(body)
        _require_name(body)
    else:
        if secret:
            given = body.get("metadata")
            where = str((given if isinstance(given, dict) else {}).get("namespace") or "default")
            body = _secret_values(body, lambda: secrets.open_manifest(body, where))  # type: ignore[union-attr]
        info = admit(body).info  # validate early, so bad input is answered at once
    meta = body.get("metadata") or {}
    namespace = (meta.get("namespace") or "default") if info.namespaced else None
    if info.namespaced:
        body = {**body, "metadata": {**meta, "namespace": namespace}}
    if secret:
        body = _secret_values(body, lambda: secrets.to_storage(body))  # type: ignore[union-attr]
    if len(orjson.dumps(body)) > MAX_REQUEST_BYTES:
        raise AdmissionError("RequestEntityTooLarge", entity_too_large())
    return WriteRequest(id=request_id, op=op, apiVersion=body["apiVersion"], kind=body["kind"],
                        namespace=namespace, name=body["metadata"]["name"], body=body,
                        principal=principal, writer="api-intake", source=source,
                        propagationPolicy=propagation if op is Op.DELETE else None)


def _secret_values(body: dict[str, Any], step: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """A Secret's values opened from the manifest or encrypted for storage (`step`): a
    value that cannot be is refused Invalid, the Secret named, the value never echoed."""
    try:
        return step() or body
    except SecretValueError as exc:
        meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        raise AdmissionError("Invalid", f'Secret "{_str((meta or {}).get("name"))}" is invalid: {exc}') from None


def _named(doc: dict[str, Any]) -> dict[str, Any]:
    """Resolve `metadata.generateName` to a name here, so the key is fixed."""
    meta = doc.get("metadata")
    if isinstance(meta, dict) and not meta.get("name") and isinstance(meta.get("generateName"), str):
        suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        return {**doc, "metadata": {**meta, "name": meta["generateName"] + suffix}}
    return doc


def _kind(doc: dict[str, Any]) -> Any:
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise AdmissionError("Invalid", "apiVersion: Required value")
    if not isinstance(kind, str) or not kind:
        raise AdmissionError("Invalid", "kind: Required value")
    try:
        return lookup_kind(api_version, kind)
    except LookupError as exc:
        raise AdmissionError("BadRequest", str(exc.args[0] if exc.args else exc)) from exc


def _require_name(doc: dict[str, Any]) -> None:
    """A delete names its object by `metadata.name` (and `metadata.namespace`): strings."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        raise AdmissionError("Invalid", "metadata.name: Required value: name is required")
    for field_name in ("name", "namespace"):
        value = meta.get(field_name)
        if value is not None and not isinstance(value, str):
            raise AdmissionError("Invalid", f"metadata.{field_name}: Invalid value: "
                                 f"{format_value(value)}: must be a string")


def _rejecter(out: Translation, record: ManifestRecord, request_id: str, instance: str,
              now: datetime) -> Any:
    def reject(index: int, doc: dict[str, Any] | None, message: str, *,
               status_reason: str = "Invalid") -> None:
        source = SourceRef(topic=record.topic, partition=record.partition,
                           offset=record.offset, document=index)
        out.rejections.append(make_event(
            reason="Rejected", message=message, type_="Warning", involved=_involved(doc),
            component="api", instance=instance, now=now, request_id=request_id, source=source,
            extra_annotations={STATUS_REASON_ANNOTATION: status_reason}))
    return reject


def _involved(doc: dict[str, Any] | None) -> dict[str, Any]:
    doc = doc if isinstance(doc, dict) else {}
    meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    return involved_object(
        api_version=_str(doc.get("apiVersion")), kind=_str(doc.get("kind")),
        name=_str(meta.get("name")), namespace=_str(meta.get("namespace")))


def _str(value: Any) -> str | None:
    return value[:253] if isinstance(value, str) else None
