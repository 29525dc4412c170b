"""`kubectl create token`'s pieces: the protobuf TokenRequest read into its JSON shape, and
the shared request and answer of services/runtime/token_requests.py (sealed for a one-off
key, opened only with it)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from schemas.records import REVIEW_ANNOTATION
from schemas.tokens import RECIPIENT_ANNOTATION, sealing_context
from services.apiserver import protobuf
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.sealing import Recipient, seal_for_recipient
from services.runtime.token_requests import TokenAnswerError, answer_token, token_request


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_a_protobuf_token_request_reads_as_json() -> None:
    meta = _field(1, b"robot") + _field(3, b"default") + _field(8, b"")  # creationTimestamp: the server's
    ref = _field(1, b"Pod") + _field(2, b"v1") + _field(3, b"web-1") + _field(4, b"")
    spec = _field(1, b"api") + _field(1, b"vault") + _field(3, ref) + bytes([4 << 3, 0xB0, 0x09])  # 1200
    raw = _field(1, meta) + _field(2, spec)
    body = b"k8s\x00" + _field(1, _field(1, b"authentication.k8s.io/v1") + _field(2, b"TokenRequest")) + _field(2, raw)
    assert protobuf.token_request(body) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "metadata": {"name": "robot", "namespace": "default"},
        "spec": {"audiences": ["api", "vault"], "expirationSeconds": 1200,
                 "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web-1"}}}
    with pytest.raises(protobuf.ProtobufError):
        protobuf.token_request(b"{}")


def _answer(request: Any, recipient_b64: str, token: bytes, **extra: Any) -> dict[str, Any]:
    sealed = seal_for_recipient(recipient_b64, token, sealing_context(request.id, "default", "robot", ""))
    status = {"status": {"expirationTimestamp": "2026-11-28T15:00:00Z", "sealed": sealed.to_json()}}
    return {"reason": "Created", "metadata": {"annotations": {REVIEW_ANNOTATION: orjson.dumps(status).decode()}},
            **extra}


def test_the_answer_opens_only_with_the_requests_key() -> None:
    recipient = Recipient()
    request = token_request("default", "robot", {"expirationSeconds": 900}, writer="apiserver", principal="admin",
                            recipient=recipient)
    assert request.key == "default/robot" and request.body is not None
    assert request.body["metadata"]["annotations"] == {RECIPIENT_ANNOTATION: recipient.public_b64}
    answered = answer_token(_answer(request, recipient.public_b64, b"t0ken"), request, recipient=recipient)
    assert (answered.token, answered.expiration_timestamp) == ("t0ken", "2026-11-28T15:00:00Z")
    with pytest.raises(TokenAnswerError, match="cannot be used"):
        answer_token(_answer(request, Recipient().public_b64, b"t0ken"), request, recipient=recipient)


def test_a_refusal_keeps_the_apis_reason() -> None:
    request = token_request("default", "robot", {}, writer="apiserver", principal="admin", recipient=Recipient())
    refused = {"reason": "Rejected", "message": 'serviceaccounts "robot" not found',
               "metadata": {"annotations": {STATUS_REASON_ANNOTATION: "NotFound"}}}
    with pytest.raises(TokenAnswerError, match="not found") as caught:
        answer_token(refused, request, recipient=Recipient())
    assert caught.value.reason == "NotFound"
