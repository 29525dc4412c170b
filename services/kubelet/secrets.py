"""A pod's Secrets with their values in clear, as the kubelet needs them for volumes and
env. With encryption at rest (services/api/encryption.py) a stored value opens only in
the API, so for each encrypted Secret a pod uses the kubelet sends a `SecretRequest`
naming the pod (as `system:node:<node>`: the API answers only for Secrets of pods bound
to this node) and opens the answer with the node's key (services/runtime/sealing.py
`node-v1`; on an insecure bus a one-off X25519 key). Answers are kept per Secret and
resourceVersion, so a Secret is asked for again only when it changes.

`SecretValues.store_for(pod, store)` is called by the pod sync before volumes and
container configs are built; Secrets stored in clear are passed through untouched. The view
it returns never shows a value only the API can open: a Secret that reaches the informer
encrypted after the opening (while a read was awaited) is absent from it, so that pass
reports it missing and the next sync opens it, instead of writing ciphertext into a file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from schemas.pod import Pod
from schemas.pod_references import referenced_names
from services.kubelet.container_config import ConfigError
from services.kubelet.questions import QuestionTimeout, Send, ask_api
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.sealing import Recipient
from services.runtime.secret_requests import SecretReadError, answer_data, secret_request
from services.runtime.secret_values import has_encrypted_data

log = get_logger(__name__)
Store = Mapping[str, Any]


class SecretClient:
    """Sends SecretRequests as one node and opens their answers."""

    def __init__(self, settings: Settings, node: str, send: Send, *, node_key: tuple[str, bytes] | None,
                 timeout_s: float = 30.0) -> None:
        self._settings, self._node, self._send = settings, node, send
        self._node_key, self._timeout_s = node_key, timeout_s

    async def read(self, pod: Pod, name: str) -> dict[str, Any]:
        """The Secret's `data` (base64 of the plain values); ConfigError when refused or unanswered."""
        meta = pod.metadata
        assert meta is not None and meta.name and meta.uid
        recipient = Recipient() if self._node_key is None else None
        request = secret_request(meta.namespace or "default", name, writer=f"kubelet/{self._node}",
                                 principal=f"system:node:{self._node}", pod=(meta.name, meta.uid),
                                 recipient=recipient, node_key_id=self._node_key[0] if self._node_key else "")
        try:
            answer = await ask_api(self._settings, self._send, request, timeout_s=self._timeout_s)
            return answer_data(answer, request, pod_uid=meta.uid, recipient=recipient, node_key=self._node_key)
        except QuestionTimeout as exc:
            raise ConfigError(f'secret "{name}": {exc}') from None
        except SecretReadError as exc:
            raise ConfigError(str(exc)) from None


class SecretValues:
    """The pod's Secrets in clear, asked of the API once per Secret version."""

    def __init__(self, client: SecretClient) -> None:
        self._client = client
        self._opened: dict[str, tuple[str, dict[str, Any]]] = {}  # key -> (resourceVersion, data)

    async def store_for(self, pod: Pod, store: Store) -> Store:
        namespace = (pod.metadata.namespace if pod.metadata else None) or "default"
        names = secret_names(pod)
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
        return _Overlay(store, opened)


def secret_names(pod: Pod) -> frozenset[str]:
    """The Secrets a pod's volumes, env, envFrom and imagePullSecrets use, read off the typed
    pod (a sync asks at every pass, so no dump of the pod); projected volumes, kept as
    extra fields, go through schemas.pod_references on their JSON."""
    spec = pod.spec
    if spec is None:
        return frozenset()
    names = {ref.name for ref in spec.image_pull_secrets or () if ref.name}
    for volume in spec.volumes or ():
        if volume.secret is not None and volume.secret.secret_name:
            names.add(volume.secret.secret_name)
        elif (projected := (volume.model_extra or {}).get("projected")) is not None:
            names |= referenced_names({"spec": {"volumes": [{"projected": projected}]}}, "secrets")
    for container in [*(spec.init_containers or ()), *(spec.containers or ())]:
        names |= {source.secret_ref.name for source in container.env_from or ()
                  if source.secret_ref is not None and source.secret_ref.name}
        names |= {var.value_from.secret_key_ref.name for var in container.env or ()
                  if var.value_from is not None and var.value_from.secret_key_ref is not None
                  and var.value_from.secret_key_ref.name}
    return frozenset(names)


class _Overlay(Mapping[str, Any]):
    """The informer's store with some Secrets replaced by their values in clear."""

    def __init__(self, base: Store, opened: dict[str, Any]) -> None:
        self._base, self._opened = base, opened

    def __getitem__(self, key: str) -> Any:
        if key in self._opened:
            return self._opened[key]
        stored = self._base[key]
        if has_encrypted_data(stored):  # not opened in this pass: arrived since, or not the pod's
            raise KeyError(key)
        return stored

    def __iter__(self) -> Iterator[str]:
        return (key for key in self._base if key in self._opened or not has_encrypted_data(self._base[key]))

    def __len__(self) -> int:
        return sum(1 for _key in self)
