"""ServiceAccount tokens on the bus: the `TokenRequest` (authentication.k8s.io/v1, on
`serviceaccounts/<name>/token`) a kubelet or user sends to `kafkube.requests`, and the
answer's status, which carries the token sealed for the requester (never in clear:
`kafkube.events` is read by everyone; services/runtime/sealing.py has the schemes).
Asked by kubelets (services/kubelet/tokens.py), answered by the API
(services/api/service_accounts.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.meta import Int64, KubeModel, ObjectMeta

TOKEN_REQUEST_API_VERSION = "authentication.k8s.io/v1"
TOKEN_REQUEST_KIND = "TokenRequest"
RECIPIENT_ANNOTATION = "kafkube.io/token-recipient"  # a requester's X25519 public key (base64)
SEALING_KEY_ID_ANNOTATION = "kafkube.io/sealing-key-id"  # a node's: the master its key derives from
SERVICE_ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_EXPIRATION_S = 3600
MIN_EXPIRATION_S = 600  # "may not specify a duration less than 10 minutes"
MAX_EXPIRATION_S = 2**32


class BoundObjectReference(KubeModel):
    kind: str | None = None
    api_version: str | None = None
    name: str | None = None
    uid: str | None = None


class TokenRequestSpec(KubeModel):
    audiences: list[str] | None = None
    expiration_seconds: Int64 | None = None
    bound_object_ref: BoundObjectReference | None = None


class TokenRequest(KubeModel):
    api_version: Literal["authentication.k8s.io/v1"] = "authentication.k8s.io/v1"
    kind: Literal["TokenRequest"] = "TokenRequest"
    metadata: ObjectMeta | None = None
    spec: TokenRequestSpec = Field(default_factory=TokenRequestSpec)


class TokenRequestStatus(KubeModel):
    """The answer: `sealed` holds the token as services.runtime.sealing.Sealed.to_json."""

    expiration_timestamp: str
    sealed: dict[str, Any]


def answer_context(purpose: str, request_id: str, namespace: str, name: str, pod_uid: str) -> bytes:
    """What a sealed answer is bound to (its AEAD's associated data): what it is for, the
    request, the object asked about and the pod it is for."""
    return "\x00".join((purpose, request_id, f"{namespace}/{name}", pod_uid)).encode()


def sealing_context(request_id: str, namespace: str, service_account: str, pod_uid: str) -> bytes:
    """What a sealed token is bound to."""
    return answer_context("kafkube.io/token/v1", request_id, namespace, service_account, pod_uid)
