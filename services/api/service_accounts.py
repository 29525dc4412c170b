"""ServiceAccounts in the API: every namespace's `default` ServiceAccount (what upstream's
serviceaccount controller ensures) and the `TokenRequest` answer (create on
`serviceaccounts/<name>/token`), which stores nothing.

A TokenRequest is decided as kube-apiserver does: RBAC (`create serviceaccounts/token`),
then NodeRestriction for kubelets (a node asks only for tokens bound to a pod bound to
it), then the registry's checks (the ServiceAccount exists; the bound pod exists, has
the uid named and runs as that ServiceAccount). The token (services.api.sa_tokens) is
sealed for the requester (services.runtime.sealing: a node's derived key, or a
requester's X25519 key) and answered `Created` with the status in the answer's
`kafkube.io/review` annotation. Called by `services.api.writer` on the partition that
holds the ServiceAccount (the request's key is `<namespace>/<serviceaccount>`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from schemas.auth import UserInfo
from schemas.records import REVIEW_ANNOTATION, Op, WriteRequest
from schemas.tokens import (DEFAULT_EXPIRATION_S, MAX_EXPIRATION_S, MIN_EXPIRATION_S, TOKEN_REQUEST_API_VERSION,
                            TOKEN_REQUEST_KIND, TokenRequest, TokenRequestStatus, sealing_context)
from services.api.decide import Outcome, rejected
from services.api.rbac import Attributes, forbidden
from services.api.sa_index import PodFacts
from services.api.sa_tokens import API_AUDIENCES, Binding, TokenIssuer
from services.api.sealed_answers import no_recipient, seal_for_requester
from services.runtime.sealing import SealError
from services.runtime.signing import KeyRing

DEFAULT_NAME = "default"
NO_KEY = ("the server could not find the requested resource (serviceaccounts/token): the API has no "
          "ServiceAccount signing key (set KAFKUBE_SERVICE_ACCOUNT_KEY_FILE; kafkube init writes one)")


# -- the default ServiceAccount ---------------------------------------------------------------
def default_service_account(namespace: str) -> WriteRequest:
    """ENSURE of the namespace's `default` ServiceAccount, as the API sends it (no token)."""
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT_NAME, "namespace": namespace}}
    return WriteRequest(op=Op.ENSURE, apiVersion="v1", kind="ServiceAccount", namespace=namespace,
                        name=DEFAULT_NAME, body=body, writer="api", reply=False)


def is_default_service_account(request: WriteRequest) -> bool:
    """Exactly what the API sends for a namespace: anyone sending it causes only what the
    API does itself, so it needs no token (as the bootstrap's ENSUREs)."""
    return (request.op is Op.ENSURE and request.kind == "ServiceAccount" and request.name == DEFAULT_NAME
            and bool(request.namespace) and request.body == default_service_account(request.namespace or "").body)


# -- TokenRequest -------------------------------------------------------------------------------
def is_token_request(request: WriteRequest) -> bool:
    return (request.api_version, request.kind) == (TOKEN_REQUEST_API_VERSION, TOKEN_REQUEST_KIND)


class AccessCheck(Protocol):
    async def check(self, user: UserInfo, attrs: Attributes) -> Outcome | None: ...


class PodLookup(Protocol):
    async def lookup_pod(self, namespace: str, name: str, uid: str = "", node: str = "") -> PodFacts | None: ...


class TokenRequests:
    """Answers TokenRequests. `issuer` None: no signing key, every request is NotFound.
    `ring`: the API's bus keys; a node's sealing key derives from their observed masters."""

    def __init__(self, issuer: TokenIssuer | None, pods: PodLookup, ring: KeyRing | None) -> None:
        self.issuer, self._pods, self._ring = issuer, pods, ring

    async def answer(self, request: WriteRequest, user: UserInfo, access: AccessCheck,
                     service_account: dict[str, Any] | None, now: datetime) -> Outcome:
        namespace, name = request.namespace or "", request.name
        attrs = Attributes("create", "", "serviceaccounts", "token", namespace, name)
        if refusal := await access.check(user, attrs):
            return refusal
        if self.issuer is None:
            return rejected("NotFound", NO_KEY)
        if not namespace:
            return rejected("BadRequest", "a TokenRequest names a namespaced ServiceAccount: metadata.namespace is required")
        try:
            tr = TokenRequest.model_validate(request.body or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return rejected("Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: {where}: {first["msg"]}')
        if problem := _invalid(tr):
            return rejected("Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: {problem}')
        ref = tr.spec.bound_object_ref
        node = user.node_name()
        pod: PodFacts | None = None
        if ref is not None and ref.kind == "Pod" and ref.name:
            pod = await self._pods.lookup_pod(namespace, ref.name, ref.uid or "", node or "")
        if node is not None and (problem := _node_problem(node, tr, pod)):
            return rejected("Forbidden", forbidden("serviceaccounts", "", name, problem))
        if service_account is None:
            return rejected("NotFound", f'serviceaccounts "{name}" not found')
        if ref is not None:
            if pod is None:
                return rejected("NotFound", f'pods "{ref.name}" not found')
            if ref.uid and ref.uid != pod.uid:
                return rejected("Conflict", f"the UID in the bound object reference ({ref.uid}) does not match the "
                                "UID in record. The object might have been deleted and then recreated")
            if pod.service_account != name:
                return rejected("BadRequest", f'cannot bind token for serviceaccount "{name}" to pod running with '
                                "different serviceaccount name.")
        return self._issue(request, tr, user, service_account, pod, now)

    def _issue(self, request: WriteRequest, tr: TokenRequest, user: UserInfo, service_account: dict[str, Any],
               pod: PodFacts | None, now: datetime) -> Outcome:
        assert self.issuer is not None
        namespace, name, ref = request.namespace or "", request.name, tr.spec.bound_object_ref
        binding = Binding(namespace, name, str((service_account.get("metadata") or {}).get("uid") or ""),
                          pod=(ref.name or "") if ref and pod else "", pod_uid=pod.uid if pod else "",
                          node=pod.node if pod else "")
        lifetime = tr.spec.expiration_seconds or DEFAULT_EXPIRATION_S
        token, claims = self.issuer.issue(binding, audiences=tr.spec.audiences or API_AUDIENCES,
                                          now=now.timestamp(), lifetime_s=lifetime)
        annotations = (tr.metadata.annotations if tr.metadata else None) or {}
        context = sealing_context(request.id, namespace, name, binding.pod_uid)
        try:
            sealed = seal_for_requester(self._ring, user, annotations, token.encode(), context)
        except SealError as exc:
            return rejected("BadRequest", f"the token cannot be sealed for its requester: {exc}")
        if sealed is None:
            return rejected("BadRequest", no_recipient("TokenRequest", "token"))
        expires = datetime.fromtimestamp(claims.expires_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = TokenRequestStatus(expiration_timestamp=expires, sealed=sealed.to_json())
        return Outcome("Created", f'token for serviceaccount "{namespace}/{name}" issued, expires {expires}',
                       details={REVIEW_ANNOTATION: orjson.dumps(
                           {"status": status.model_dump(by_alias=True)}).decode()})


def _invalid(tr: TokenRequest) -> str | None:
    seconds = tr.spec.expiration_seconds
    if seconds is not None and seconds < MIN_EXPIRATION_S:
        return f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than 10 minutes"
    if seconds is not None and seconds > MAX_EXPIRATION_S:
        return f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
    ref = tr.spec.bound_object_ref
    if ref is not None and ref.kind != "Pod":
        return (f'spec.boundObjectRef.kind: Unsupported value: "{ref.kind or ""}": supported values: "Pod" '
                "(Kafkube binds tokens to pods only)")
    if ref is not None and not ref.name:
        return "spec.boundObjectRef.name: Required value"
    return None


def _node_problem(node: str, tr: TokenRequest, pod: PodFacts | None) -> str | None:
    """NodeRestriction's admitServiceAccount: a node's tokens are bound to its own pods."""
    ref = tr.spec.bound_object_ref
    if ref is None or ref.api_version != "v1" or ref.kind != "Pod" or not ref.name:
        return "node requested token not bound to a pod"
    if not ref.uid:
        return "node requested token with a pod binding without a uid"
    if pod is None:
        return None  # answered NotFound by the registry's check
    if ref.uid != pod.uid:
        return (f"the UID in the bound object reference ({ref.uid}) does not match the UID in record. "
                "The object might have been deleted and then recreated")
    if pod.node != node:
        return "node requested token bound to a pod scheduled on a different node"
    return None
