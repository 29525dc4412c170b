"""Answers `SecretRequest`s (schemas/secret_requests.py): a Secret's values, opened from
storage and sealed for the requester (services/api/sealed_answers.py). Decided as
kube-apiserver decides a GET of a Secret: RBAC (`get secrets`), then, for a kubelet, the
Node authorizer's rule: the request names a pod (uid included) that is bound to that
node and uses the Secret (volume, projected volume, env, envFrom, imagePullSecrets),
else Forbidden with upstream's `no relationship found between node ... and this
object`; for the ingress controller (`system:kafkube-ingress`), an Ingress it serves names
the Secret in `spec.tls` (services/api/ingress_tls.py), else Forbidden. Called by `services.api.writer` on the partition that holds the Secret."""

from __future__ import annotations

from typing import Protocol

import orjson
from pydantic import ValidationError

from schemas.auth import INGRESS_USER, UserInfo
from schemas.records import REVIEW_ANNOTATION, WriteRequest
from schemas.secret_requests import (SECRET_REQUEST_API_VERSION, SECRET_REQUEST_KIND, SecretRequest,
                                     SecretRequestStatus, sealing_context)
from services.api.decide import Outcome, rejected
from services.api.ingress_tls import NOT_NAMED
from services.api.rbac import Attributes, forbidden_message
from services.api.sealed_answers import no_recipient, seal_for_requester
from services.api.secret_storage import SecretStorage, SecretValueError
from services.api.service_accounts import AccessCheck, PodLookup
from services.runtime.sealing import SealError
from services.runtime.signing import KeyRing

Doc = dict[str, object]


def is_secret_request(request: WriteRequest) -> bool:
    return (request.api_version, request.kind) == (SECRET_REQUEST_API_VERSION, SECRET_REQUEST_KIND)


class IngressLookup(Protocol):
    async def names_secret(self, namespace: str, name: str) -> bool: ...


class SecretReads:
    def __init__(self, storage: SecretStorage, pods: PodLookup, ring: KeyRing | None,
                 ingresses: IngressLookup | None = None) -> None:
        self._storage, self._pods, self._ring, self._ingresses = storage, pods, ring, ingresses

    async def answer(self, request: WriteRequest, user: UserInfo, access: AccessCheck,
                     secret: Doc | None) -> Outcome:
        namespace, name = request.namespace or "", request.name
        attrs = Attributes("get", "", "secrets", "", namespace, name)
        if refusal := await access.check(user, attrs):
            return refusal
        try:
            asked = SecretRequest.model_validate(request.body or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            return rejected("Invalid", f'SecretRequest "{name}" is invalid: '
                            f'{".".join(str(p) for p in first["loc"])}: {first["msg"]}')
        ref = asked.spec.bound_object_ref
        node = user.node_name()
        if node is not None and (problem := await self._node_problem(node, namespace, name, ref)):
            return rejected("Forbidden", forbidden_message(user, attrs, reason=problem))
        if user.name == INGRESS_USER and not (self._ingresses and await self._ingresses.names_secret(namespace, name)):
            return rejected("Forbidden", forbidden_message(user, attrs, reason=NOT_NAMED))
        if secret is None:
            return rejected("NotFound", f'secrets "{name}" not found')
        try:
            opened = self._storage.from_storage(dict(secret)) or {}
        except SecretValueError as exc:
            return rejected("InternalError", f"Internal error occurred: {exc}")
        meta = secret.get("metadata")
        version = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
        payload = orjson.dumps({"data": opened.get("data") or {}})
        annotations = (asked.metadata.annotations if asked.metadata else None) or {}
        context = sealing_context(request.id, namespace, name, (ref.uid or "") if ref else "")
        try:
            sealed = seal_for_requester(self._ring, user, annotations, payload, context)
        except SealError as exc:
            return rejected("BadRequest", f"the values cannot be sealed for their requester: {exc}")
        if sealed is None:
            return rejected("BadRequest", no_recipient("SecretRequest", "Secret's values"))
        status = SecretRequestStatus(resource_version=version, sealed=sealed.to_json())
        return Outcome("Reviewed", f'secret "{namespace}/{name}" read at version {version}',
                       details={REVIEW_ANNOTATION: orjson.dumps({"status": status.model_dump(by_alias=True)}).decode()})

    async def _node_problem(self, node: str, namespace: str, name: str, ref: object) -> str | None:
        """The Node authorizer's verdict: None when a pod of this node, named by the request, uses the Secret."""
        unrelated = f"no relationship found between node '{node}' and this object"
        pod_name, uid = getattr(ref, "name", None), getattr(ref, "uid", None)
        if getattr(ref, "kind", None) != "Pod" or not pod_name or not uid:
            return f"{unrelated} (a node names the pod that uses the Secret: spec.boundObjectRef)"
        pod = await self._pods.lookup_pod(namespace, pod_name, uid)
        if pod is None or pod.uid != uid or pod.node != node or name not in pod.secrets:
            return unrelated
        return None
