"""Asking the API for a Secret's values (`SecretRequest`, schemas/secret_requests.py) and
opening its answer: shared by the kubelet (for its pods, sealed with the node's key) and
the CLI (`kafkube get secret -o yaml`, with a one-off X25519 key). Pure: the caller sends
the request and finds the answer event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from schemas.records import REVIEW_ANNOTATION, Op, WriteRequest
from schemas.secret_requests import SECRET_REQUEST_API_VERSION, SECRET_REQUEST_KIND, sealing_context
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.sealing import Recipient, SealError, answer_target, open_answer


class SecretReadError(Exception):
    """The API refused, or its answer cannot be opened; `not_found` when there is no such Secret."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


def secret_request(namespace: str, name: str, *, writer: str, principal: str, pod: tuple[str, str] | None = None,
                   recipient: Recipient | None = None, node_key_id: str = "") -> WriteRequest:
    """The request; `pod` (name, uid) that uses the Secret (a node must name it); the answer
    is sealed for `recipient`, else for the node's key of master `node_key_id`."""
    annotations = answer_target(recipient, node_key_id)
    spec = {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod[0], "uid": pod[1]}} if pod else {}
    body = {"apiVersion": SECRET_REQUEST_API_VERSION, "kind": SECRET_REQUEST_KIND,
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations}, "spec": spec}
    return WriteRequest(op=Op.CREATE, apiVersion=SECRET_REQUEST_API_VERSION, kind=SECRET_REQUEST_KIND,
                        namespace=namespace, name=name, body=body, writer=writer, principal=principal)


def answer_data(answer: Mapping[str, Any], request: WriteRequest, *, pod_uid: str = "",
                recipient: Recipient | None = None, node_key: tuple[str, bytes] | None = None) -> dict[str, Any]:
    """The Secret's `data` (base64 of the plain values) from the API's answer event."""
    name = request.name
    annotations = (answer.get("metadata") or {}).get("annotations") or {}
    if answer.get("reason") != "Reviewed":
        reason = annotations.get(STATUS_REASON_ANNOTATION)
        if reason == "NotFound" and "not found" in str(answer.get("message")):
            raise SecretReadError(f'secret "{name}" not found', not_found=True)
        raise SecretReadError(f'secret "{name}": ({reason or answer.get("reason")}) {answer.get("message")}')
    try:
        status = orjson.loads(annotations.get(REVIEW_ANNOTATION) or b"{}")["status"]
        context = sealing_context(request.id, request.namespace or "", name, pod_uid)
        opened = open_answer(status, context, recipient=recipient, node_key=node_key)
        data = orjson.loads(opened)["data"]
    except (KeyError, TypeError, ValueError, SealError) as exc:
        raise SecretReadError(f'secret "{name}": the API\'s answer cannot be used: {exc}') from None
    if not isinstance(data, dict):
        raise SecretReadError(f'secret "{name}": the API\'s answer holds no data')
    return data
