"""A pod's Secrets with their values in clear, as the kubelet needs them for volumes and
env. With encryption at rest (services/api/encryption.py) a stored value opens only in
the API, so for each encrypted Secret a pod uses the kubelet sends a `SecretRequest`
naming the pod (as `system:node:<node>`: the API answers only for Secrets of pods bound
to this node) and opens the answer with the node's key (services/runtime/sealing.py
`node-v1`; on an insecure bus a one-off X25519 key). Answers are kept per Secret and
resourceVersion, so a Secret is asked for again only when it changes.

`SecretValues.store_for(pod, store)` is called by the pod sync before volumes and
container configs are built; Secrets stored in clear are passed through untouched."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from schemas.pod import Pod
from schemas.pod_references import referenced_names
from schemas.records import Op, WriteRequest
from schemas.secret_requests import SECRET_REQUEST_API_VERSION, SECRET_REQUEST_KIND, sealing_context
from schemas.tokens import RECIPIENT_ANNOTATION, SEALING_KEY_ID_ANNOTATION
from services.kubelet.container_config import ConfigError
from services.kubelet.questions import REVIEW_ANNOTATION, QuestionTimeout, Send, ask_api
from services.runtime.config import Settings
from services.runtime.events import STATUS_REASON_ANNOTATION
from services.runtime.logging import get_logger
from services.runtime.sealing import Recipient, SealError, Sealed, open_for_node
from services.runtime.secret_values import has_encrypted_data

log = get_logger(__name__)
Store = Mapping[str, Any]


class SecretClient:
    """Sends SecretRequests as one node and opens their answers."""

    def __init__(self, settings: Settings, node: str, send: Send, *, node_key: tuple[str, bytes] | None,
                 timeout_s: float = 30.0) -> None:
        self._settings, self._node, self._send = settings, node, send
        self._node_key, self._timeout_s = node_key, timeout_s

    def request_for(self, pod: Pod, name: str, recipient: Recipient | None) -> WriteRequest:
        meta = pod.metadata
        assert meta is not None and meta.name and meta.uid
        namespace = meta.namespace or "default"
        annotations = ({RECIPIENT_ANNOTATION: recipient.public_b64} if recipient is not None
                       else {SEALING_KEY_ID_ANNOTATION: self._node_key[0]} if self._node_key else {})
        body = {"apiVersion": SECRET_REQUEST_API_VERSION, "kind": SECRET_REQUEST_KIND,
                "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
                "spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta.name, "uid": meta.uid}}}
        return WriteRequest(op=Op.CREATE, apiVersion=SECRET_REQUEST_API_VERSION, kind=SECRET_REQUEST_KIND,
                            namespace=namespace, name=name, body=body, writer=f"kubelet/{self._node}",
                            principal=f"system:node:{self._node}")

    async def read(self, pod: Pod, name: str) -> dict[str, Any]:
        """The Secret's `data` (base64 of the plain values); ConfigError when refused or unanswered."""
        recipient = Recipient() if self._node_key is None else None
        request = self.request_for(pod, name, recipient)
        try:
            answer = await ask_api(self._settings, self._send, request, timeout_s=self._timeout_s)
        except QuestionTimeout as exc:
            raise ConfigError(f'secret "{name}": {exc}') from None
        annotations = (answer.get("metadata") or {}).get("annotations") or {}
        if answer.get("reason") != "Reviewed":
            if annotations.get(STATUS_REASON_ANNOTATION) == "NotFound":
                raise ConfigError(f'secret "{name}" not found')
            raise ConfigError(f'secret "{name}": {answer.get("message")}')
        try:
            status = orjson.loads(annotations.get(REVIEW_ANNOTATION) or b"{}")["status"]
            sealed = Sealed.of(status["sealed"])
            context = sealing_context(request.id, request.namespace or "", name, pod.metadata.uid or "")  # type: ignore[union-attr]
            opened = (recipient.open(sealed, context) if recipient is not None
                      else open_for_node(self._node_key, sealed, context))  # type: ignore[arg-type]
            data = orjson.loads(opened)["data"]
        except (KeyError, TypeError, ValueError, SealError) as exc:
            raise ConfigError(f'secret "{name}": the API\'s answer cannot be used: {exc}') from None
        if not isinstance(data, dict):
            raise ConfigError(f'secret "{name}": the API\'s answer holds no data')
        return data


class SecretValues:
    """The pod's Secrets in clear, asked of the API once per Secret version."""

    def __init__(self, client: SecretClient) -> None:
        self._client = client
        self._opened: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (resourceVersion, data)

    async def store_for(self, pod: Pod, store: Store) -> Store:
        namespace = (pod.metadata.namespace if pod.metadata else None) or "default"
        names = referenced_names(pod.model_dump(by_alias=True, exclude_none=True), "secrets")
        opened: dict[str, Any] = {}
        for name in sorted(names):
            key = f"{namespace}/{name}"
            stored = store.get(key)
            if stored is None or not has_encrypted_data(stored):
                continue
            version = str((stored.get("metadata") or {}).get("resourceVersion") or "")
            held = self._opened.get(key)
            if held is None or held[0] != version:
                held = (version, await self._client.read(pod, name))
                self._opened[key] = held
                log.info("secret.opened", pod=f"{namespace}/{pod.metadata.name if pod.metadata else ''}",
                         secret=key, resource_version=version)
            opened[key] = {**stored, "data": held[1]}
        return _Overlay(store, opened) if opened else store


class _Overlay(Mapping[str, Any]):
    """The informer's store with some Secrets replaced by their values in clear."""

    def __init__(self, base: Store, opened: dict[str, Any]) -> None:
        self._base, self._opened = base, opened

    def __getitem__(self, key: str) -> Any:
        return self._opened[key] if key in self._opened else self._base[key]

    def __iter__(self) -> Any:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)
