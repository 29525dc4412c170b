"""Asking the API for a ServiceAccount token (`TokenRequest`, schemas/tokens.py) and
opening its answer: shared by the kubelet (a pod's token, sealed with the node's key) and
the HTTP API (`kubectl create token`, with a one-off X25519 key). Pure: the caller sends
the request and finds the answer event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from schemas.records import REVIEW_ANNOTATION, Op, WriteRequest
from schemas.tokens import TOKEN_REQUEST_API_VERSION, TOKEN_REQUEST_KIND, sealing_context
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.sealing import Recipient, SealError, answer_target, open_answer


class TokenAnswerError(Exception):
    """The API refused (`reason`: its Status reason), or its answer cannot be opened."""

    def __init__(self, message: str, *, reason: str = "InternalError") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AnsweredToken:
    token: str
    expiration_timestamp: str  # RFC 3339, as the API wrote it
    expires_at: float  # the same, in seconds since the epoch


def token_request(namespace: str, service_account: str, spec: Mapping[str, Any], *, writer: str, principal: str,
                  recipient: Recipient | None = None, node_key_id: str = "") -> WriteRequest:
    """The request for a token of `namespace/service_account` (`spec`: a TokenRequestSpec's
    JSON); the answer is sealed for `recipient`, else for the node's key of master `node_key_id`."""
    annotations = answer_target(recipient, node_key_id)
    body = {"apiVersion": TOKEN_REQUEST_API_VERSION, "kind": TOKEN_REQUEST_KIND,
            "metadata": {"name": service_account, "namespace": namespace, "annotations": annotations},
            "spec": dict(spec)}
    return WriteRequest(op=Op.CREATE, apiVersion=TOKEN_REQUEST_API_VERSION, kind=TOKEN_REQUEST_KIND,
                        namespace=namespace, name=service_account, body=body, writer=writer, principal=principal)


def answer_token(answer: Mapping[str, Any], request: WriteRequest, *, pod_uid: str = "",
                 recipient: Recipient | None = None, node_key: tuple[str, bytes] | None = None) -> AnsweredToken:
    """The token from the API's answer event, opened with `recipient` or `node_key`."""
    annotations = (answer.get("metadata") or {}).get("annotations") or {}
    if answer.get("reason") != "Created":
        reason = str(annotations.get(STATUS_REASON_ANNOTATION) or answer.get("reason") or "InternalError")
        raise TokenAnswerError(f"TokenRequest for serviceaccount {request.key} refused ({reason}): "
                               f"{answer.get('message')}", reason=reason)
    try:
        status = orjson.loads(annotations.get(REVIEW_ANNOTATION) or b"{}")["status"]
        context = sealing_context(request.id, request.namespace or "", request.name, pod_uid)
        opened = open_answer(status, context, recipient=recipient, node_key=node_key)
        stamp = str(status["expirationTimestamp"])
        expires_at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except (KeyError, TypeError, ValueError, SealError) as exc:
        raise TokenAnswerError(f"the answer to the TokenRequest for {request.key} cannot be used: {exc}") from None
    return AnsweredToken(opened.decode(), stamp, expires_at)
