"""A pod's ServiceAccount token, as the kubelet's token manager gets it: a `TokenRequest`
(bound to the pod, as `system:node:<node>`) on `kafkube.requests`, its answer read from
the one partition of `kafkube.events` it lands on, the sealed token opened with the
node's own key (services/runtime/sealing.py `node-v1`; on an insecure bus, which gives
the node no key, a one-off X25519 key `x25519-v1`); the request and the opening of its
answer are services/runtime/token_requests.py, shared with the HTTP API.

`TokenManager.token_for(pod)` keeps each pod's token and asks again once 80% of its
lifetime has passed (upstream's kubelet does the same); a failed renewal keeps the old
token while it is valid. Called by the pod sync before volumes are prepared; the files
are written by `services.kubelet.volumes`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from schemas.pod import Pod
from schemas.records import WriteRequest
from schemas.tokens import DEFAULT_EXPIRATION_S
from services.kubelet.questions import QuestionTimeout, Send, ask_api
from services.runtime.config import Settings
from services.runtime.logging import get_logger
from services.runtime.sealing import Recipient
from services.runtime.token_requests import TokenAnswerError, answer_token, token_request

log = get_logger(__name__)
REFRESH_AT = 0.8  # of a token's lifetime


class TokenError(Exception):
    """No token for the pod: the API refused, did not answer, or the answer does not open."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    issued_at: float  # this kubelet's clock
    expires_at: float

    def due(self, now: float) -> bool:
        return now >= self.issued_at + REFRESH_AT * (self.expires_at - self.issued_at)


def wants_token(pod: Pod) -> bool:
    """Does the pod get its ServiceAccount token mounted (automountServiceAccountToken)?"""
    return pod.spec is None or pod.spec.automount_service_account_token is not False


def service_account_of(pod: Pod) -> str:
    return (pod.spec.service_account_name if pod.spec else None) or "default"


class TokenClient:
    """Sends TokenRequests as one node (`send`: the emitter's, with the node's token) and
    opens their answers with `node_key` ((master id, key); None: an X25519 key per request)."""

    def __init__(self, settings: Settings, node: str, send: Send, *, node_key: tuple[str, bytes] | None,
                 timeout_s: float = 30.0, lifetime_s: int = DEFAULT_EXPIRATION_S) -> None:
        self._settings, self._node, self._send = settings, node, send
        self._node_key, self._timeout_s, self._lifetime_s = node_key, timeout_s, lifetime_s

    def request_for(self, pod: Pod, recipient: Recipient | None) -> WriteRequest:
        meta = pod.metadata
        assert meta is not None and meta.name and meta.uid
        spec = {"expirationSeconds": self._lifetime_s,
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta.name, "uid": meta.uid}}
        return token_request(meta.namespace or "default", service_account_of(pod), spec,
                             writer=f"kubelet/{self._node}", principal=f"system:node:{self._node}",
                             recipient=recipient, node_key_id=self._node_key[0] if self._node_key else "")

    async def request(self, pod: Pod) -> IssuedToken:
        recipient = Recipient() if self._node_key is None else None
        request = self.request_for(pod, recipient)
        began = time.time()
        try:
            answer = await ask_api(self._settings, self._send, request, timeout_s=self._timeout_s)
            answered = answer_token(answer, request, pod_uid=pod.metadata.uid or "",  # type: ignore[union-attr]
                                    recipient=recipient, node_key=self._node_key)
        except (QuestionTimeout, TokenAnswerError) as exc:
            raise TokenError(str(exc)) from None
        return IssuedToken(answered.token, began, max(answered.expires_at, began + 1))


class TokenManager:
    """Each pod's current token (by pod uid), renewed at 80% of its lifetime."""

    def __init__(self, client: TokenClient, *, clock: Callable[[], float] = time.time) -> None:
        self._client, self._clock = client, clock
        self._tokens: dict[str, IssuedToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token_for(self, pod: Pod) -> str:
        uid = pod.metadata.uid if pod.metadata else None
        assert uid
        async with self._locks.setdefault(uid, asyncio.Lock()):
            held = self._tokens.get(uid)
            if held is not None and not held.due(self._clock()):
                return held.token
            try:
                fresh = await self._client.request(pod)
            except TokenError as exc:
                if held is not None and self._clock() < held.expires_at:
                    log.warning("token.renewal_failed", pod=uid, error=str(exc)[:300])
                    return held.token
                raise
            self._tokens[uid] = fresh
            log.info("token.issued", pod=uid, expires_in_s=round(fresh.expires_at - self._clock()))
            return fresh.token

    def forget(self, uid: str) -> None:
        self._tokens.pop(uid, None)
        self._locks.pop(uid, None)
