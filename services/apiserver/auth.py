"""Authentication and authorisation at the door, with the API's own pieces (one RBAC
implementation). A client certificate the TLS handshake verified against the cluster CA
(`KAFKUBE_APISERVER_CLIENT_CA_FILE`) names its caller as kube-apiserver's x509
authenticator does: user = CN, groups = the O values; without one, the bearer token is
checked by `services.api.authn` (the static token file `KAFKUBE_TOKEN_AUTH_FILE` and,
with `KAFKUBE_SERVICE_ACCOUNT_KEY_FILE`, the ServiceAccount tokens the API issues).
Reads are authorised against the live RBAC policy of `services.api.rbac_view`. Writes are
not authorised here: they carry the caller's token to the API, which decides them as every
other write; a caller known by certificate has no token to carry, so it only reads
(docs/security.md). Anonymous requests are refused (401), as kube-apiserver with
`--anonymous-auth=false`.
Used by `services.apiserver.app` (who is asking) and `resources` (may they read)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.auth import (AUTHENTICATED_GROUP, IMPERSONATE_GROUP_HEADER, IMPERSONATE_USER_HEADER, TOKEN_HEADER,
                          UserInfo)
from services.api.authn import Authenticator, TokenVerifier, authenticator_for
from services.api.rbac import Attributes, forbidden_message
from services.api.rbac_view import RbacView
from services.api.sa_index import ServiceAccountIndex
from services.api.sa_tokens import ServiceAccountVerifier, TokenIssuer
from services.runtime.config import Settings
from services.runtime.topics import Topics


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header. Pure."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def certificate_user(peercert: dict[str, Any] | None) -> UserInfo | None:
    """The user a verified client certificate names (`ssl.SSLSocket.getpeercert()`'s
    form): the subject's CN, and its O values as groups; None without a certificate or a
    CN. Pure."""
    attributes = [pair for rdn in (peercert or {}).get("subject", ()) for pair in rdn]
    names = [value for key, value in attributes if key == "commonName"]
    if not names or not names[0]:
        return None
    groups = tuple(value for key, value in attributes if key == "organizationName")
    return UserInfo(username=names[0], groups=(*groups, AUTHENTICATED_GROUP))


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated HTTP caller: who, and the token their writes carry to the API
    (None: known by a client certificate, which has no token to carry)."""

    user: UserInfo
    token: str | None


def request_headers(caller: Caller, own_token: str | None) -> list[tuple[str, bytes]]:
    """The headers a request carries to the API for `caller`: their bearer token; for a
    client-certificate caller, the apiserver's own token and the impersonation of the
    certificate's user and groups, which the API allows the apiserver's identity only
    (services/api/impersonation.py). No token at all: the API answers Unauthorized."""
    if caller.token is not None:
        return [(TOKEN_HEADER, caller.token.encode())]
    if own_token is None:
        return []
    groups = [g for g in caller.user.groups if g != AUTHENTICATED_GROUP]
    return [(TOKEN_HEADER, own_token.encode()), (IMPERSONATE_USER_HEADER, caller.user.name.encode()),
            *((IMPERSONATE_GROUP_HEADER, g.encode()) for g in groups)]


class Door:
    """Who is asking (`authenticate`), and may they read (`forbidden`)."""

    def __init__(self, settings: Settings) -> None:
        topics = Topics(settings.topic_prefix)
        self._index = ServiceAccountIndex(settings, topics)
        issuer = TokenIssuer.from_file(settings.service_account_key_file)
        verifiers: tuple[TokenVerifier, ...] = (ServiceAccountVerifier(issuer, self._index),) if issuer else ()
        self._authn: Authenticator = authenticator_for(settings.token_auth_file, verifiers=verifiers)
        self._rbac = RbacView(settings, topics, name="apiserver-rbac")

    def authenticate(self, authorization: str | None, peercert: dict[str, Any] | None) -> Caller | None:
        """The caller of a request: the verified client certificate's user first (as
        kube-apiserver's x509 authenticator precedes its token authenticators), else the
        bearer token's; None with neither or with a token no source knows."""
        if (user := certificate_user(peercert)) is not None:
            return Caller(user, None)
        token = bearer_token(authorization)
        if token is None:
            return None
        user = self._authn.authenticate(token)
        return Caller(user, token) if user is not None else None

    def forbidden(self, caller: Caller, attrs: Attributes) -> str | None:
        """None when RBAC allows `attrs`; else kube-apiserver's Forbidden message."""
        decision = self._rbac.policy.authorize(caller.user, attrs)
        return None if decision.allowed else forbidden_message(caller.user, attrs, reason=decision.reason)

    def allowed(self, caller: Caller, attrs: Attributes) -> tuple[bool, str]:
        """RBAC's decision and its reason (SelfSubjectAccessReview)."""
        decision = self._rbac.policy.authorize(caller.user, attrs)
        return decision.allowed, decision.reason

    async def __aenter__(self) -> Door:
        """Follow the ServiceAccounts and the RBAC topics; returns once RBAC is read to the
        end (never authorise against a policy not yet read)."""
        await self._index.__aenter__()
        try:
            await self._rbac.start()
            await self._rbac.wait_synced()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._rbac.stop()
        await self._index.__aexit__(None, None, None)
