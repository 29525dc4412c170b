"""Building Kubernetes Event records for `kafkube.events` (every component emits them)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Literal

from schemas.records import DOCUMENT_ANNOTATION, REQUEST_ID_ANNOTATION, SOURCE_ANNOTATION, SourceRef

STATUS_REASON_ANNOTATION = "kafkube.io/status-reason"
"""On the API's Rejected answers: Kubernetes' Status reason (Invalid, Conflict, InternalError, ...)."""
MAX_MESSAGE_CHARS = 4096


def involved_object(*, api_version: str | None, kind: str | None, name: str | None,
                    namespace: str | None = None, uid: str | None = None,
                    resource_version: str | None = None) -> dict[str, Any]:
    ref = {"apiVersion": api_version, "kind": kind, "name": name, "namespace": namespace,
           "uid": uid, "resourceVersion": resource_version}
    return {k: v for k, v in ref.items() if v is not None}


def event_key(involved: dict[str, Any]) -> str:
    """Events are keyed by their involved object's key (DESIGN.md §2)."""
    name = involved.get("name") or "unknown"
    return f"{involved['namespace']}/{name}" if involved.get("namespace") else name


def make_event(*, reason: str, message: str, involved: dict[str, Any], component: str,
               instance: str, now: datetime, type_: Literal["Normal", "Warning"] = "Normal",
               request_id: str | None = None, source: SourceRef | None = None,
               extra_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A v1 Event as Kubernetes writes it, plus Kafkube's correlation annotations.
    A message longer than MAX_MESSAGE_CHARS is cut (a rejection can list many fields)."""
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS - 20] + " ... (message cut)"
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = dict(extra_annotations or {})
    if request_id:
        annotations[REQUEST_ID_ANNOTATION] = request_id
    if source:
        annotations[SOURCE_ANNOTATION] = f"{source.topic}/{source.partition}/{source.offset}"
        annotations[DOCUMENT_ANNOTATION] = str(source.document)
    metadata: dict[str, Any] = {
        "name": f"{involved.get('name') or 'unknown'}.{secrets.token_hex(8)}",
        "namespace": involved.get("namespace") or "default",
        "creationTimestamp": stamp,
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1", "kind": "Event", "metadata": metadata,
        "involvedObject": involved, "reason": reason, "message": message, "type": type_,
        "source": {"component": component, "host": instance},
        "reportingComponent": f"kafkube-{component}", "reportingInstance": instance,
        "firstTimestamp": stamp, "lastTimestamp": stamp,
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "count": 1,
    }
