"""A Secret's values asked of the API (`SecretRequest`, kafkube.io/v1, on
`kafkube.requests`, keyed by the Secret), and the answer's status, which carries them
sealed for the requester: with encryption at rest only the API can open a stored value,
so a kubelet asks for the Secrets of its own pods (the Node authorizer's rule: it names
the pod, which must be bound to it and use the Secret). Asked by kubelets
(services/kubelet/secrets.py), answered by the API (services/api/secret_reads.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.meta import KubeModel, ObjectMeta
from schemas.tokens import BoundObjectReference, answer_context

SECRET_REQUEST_API_VERSION = "kafkube.io/v1"
SECRET_REQUEST_KIND = "SecretRequest"


class SecretRequestSpec(KubeModel):
    bound_object_ref: BoundObjectReference | None = None  # the pod that uses the Secret (required of nodes)


class SecretRequest(KubeModel):
    api_version: Literal["kafkube.io/v1"] = "kafkube.io/v1"
    kind: Literal["SecretRequest"] = "SecretRequest"
    metadata: ObjectMeta | None = None
    spec: SecretRequestSpec = Field(default_factory=SecretRequestSpec)


class SecretRequestStatus(KubeModel):
    """`sealed` opens to the JSON `{"data": {...base64 values...}}` of the Secret at `resourceVersion`."""

    resource_version: str
    sealed: dict[str, Any]


def sealing_context(request_id: str, namespace: str, name: str, pod_uid: str) -> bytes:
    """What the sealed values are bound to."""
    return answer_context("kafkube.io/secret/v1", request_id, namespace, name, pod_uid)
