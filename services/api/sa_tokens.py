"""ServiceAccount tokens: signed JWTs the API issues (TokenRequest) and verifies (the
authenticator's verifier), shaped as kube-apiserver's bound tokens.

HS256 (HMAC-SHA256), written here in a few lines rather than taken from PyJWT: only
the API signs; the API and the front doors that authenticate callers themselves (the
HTTP API, the dashboard) verify, and each already holds the static tokens file, which is
as powerful, so a shared secret adds no holder that could not already act as anyone. A
verifier that accepts exactly one algorithm leaves no `alg` confusion to configure away. Every
API replica needs the same key: `KAFKUBE_SERVICE_ACCOUNT_KEY_FILE`, one key a line
(hex, at least 32 bytes; `#` comments), the first signs and all verify (rotation), as
kube-apiserver's `--service-account-key-file` / `--service-account-signing-key-file`.
`kafkube init` writes `service-account.key`. Without a key the API issues nothing and
refuses every ServiceAccount token.

Claims (upstream's `serviceaccount.Claims`): iss, sub `system:serviceaccount:<ns>:<name>`,
aud, exp, iat, nbf, jti, and `kubernetes.io` {namespace, serviceaccount {name, uid},
pod {name, uid}, node {name}} when bound to a pod. A token is valid while its signature,
issuer, audience and times hold AND its ServiceAccount (and bound pod) still exist with
the uids it names (`ServiceAccountVerifier`, over the API's `sa_index`). Pure apart from
reading the key file; used by `services.api.service_accounts` (issuing) and
`services.api.service` (the verifier in the authenticator).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from schemas.auth import SERVICE_ACCOUNT_PREFIX, UserInfo
from services.api.rbac import service_account_user

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)  # kube-apiserver's --api-audiences default: the issuer
NBF_LEEWAY_S = 60  # clock skew between API replicas
DELETED_POD_GRACE_S = 60  # a deleting pod's tokens work this long after its deletionTimestamp


class KeyFileError(ValueError):
    """The ServiceAccount key file cannot be used: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str  # sha256 of the secret, 16 hex digits: names the key in the JWT header
    secret: bytes = b""

    @classmethod
    def of(cls, secret: bytes) -> SigningKey:
        return cls(hashlib.sha256(secret).hexdigest()[:16], secret)


def parse_key_file(text: str, *, source: str = "key file") -> tuple[SigningKey, ...]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            secret = bytes.fromhex(line)
        except ValueError:
            raise KeyFileError(f"{source}:{number}: expected a key in hex") from None
        if len(secret) < 32:
            raise KeyFileError(f"{source}:{number}: a key needs at least 32 bytes (64 hex digits)")
        keys.append(SigningKey.of(secret))
    if not keys:
        raise KeyFileError(f"{source}: holds no key")
    return tuple(keys)


def load_key_file(path: str | Path) -> tuple[SigningKey, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(f"KAFKUBE_SERVICE_ACCOUNT_KEY_FILE={path}: {exc.strerror or exc}") from exc
    return parse_key_file(text, source=str(path))


# -- claims ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Binding:
    """What a token is bound to: its ServiceAccount, and the pod (and node) it was asked for."""

    namespace: str
    service_account: str
    service_account_uid: str
    pod: str = ""
    pod_uid: str = ""
    node: str = ""

    @property
    def subject(self) -> str:
        return f"{SERVICE_ACCOUNT_PREFIX}{self.namespace}:{self.service_account}"


@dataclass(frozen=True, slots=True)
class Claims:
    binding: Binding
    audiences: tuple[str, ...]
    issued_at: int
    expires_at: int
    not_before: int
    token_id: str

    def to_json(self) -> dict[str, Any]:
        b = self.binding
        private: dict[str, Any] = {"namespace": b.namespace,
                                   "serviceaccount": {"name": b.service_account, "uid": b.service_account_uid}}
        if b.pod:
            private["pod"] = {"name": b.pod, "uid": b.pod_uid}
        if b.node:
            private["node"] = {"name": b.node}
        return {"aud": list(self.audiences), "exp": self.expires_at, "iat": self.issued_at, "iss": ISSUER,
                "jti": self.token_id, "nbf": self.not_before, "sub": b.subject, "kubernetes.io": private}

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Claims | None:
        """The claims of a verified token's payload; None when they are not a ServiceAccount's."""
        try:
            private = doc["kubernetes.io"]
            sa, pod, node = private["serviceaccount"], private.get("pod") or {}, private.get("node") or {}
            aud = doc["aud"]
            binding = Binding(str(private["namespace"]), str(sa["name"]), str(sa.get("uid") or ""),
                              str(pod.get("name") or ""), str(pod.get("uid") or ""), str(node.get("name") or ""))
            claims = cls(binding, tuple(str(a) for a in (aud if isinstance(aud, list) else [aud])),
                         int(doc["iat"]), int(doc["exp"]), int(doc.get("nbf", doc["iat"])), str(doc.get("jti", "")))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        return claims if doc.get("sub") == binding.subject else None


# -- HS256 ----------------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, data: bytes) -> bytes:
    return hmac.digest(secret, data, hashlib.sha256)


def sign(key: SigningKey, payload: dict[str, Any]) -> str:
    head = _b64(orjson.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}))
    body = _b64(orjson.dumps(payload))
    signed = f"{head}.{body}"
    return f"{signed}.{_b64(_mac(key.secret, signed.encode()))}"


def verified_payload(token: str, keys: Sequence[SigningKey]) -> dict[str, Any] | None:
    """The payload of a JWT signed HS256 by one of `keys`; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not token.isascii():
        return None
    try:
        header, payload = orjson.loads(_unb64(parts[0])), orjson.loads(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (binascii.Error, ValueError):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(payload, dict):
        return None
    signed = f"{parts[0]}.{parts[1]}".encode()
    kid = header.get("kid")
    for key in keys:
        if (kid is None or kid == key.kid) and hmac.compare_digest(_mac(key.secret, signed), signature):
            return payload
    return None


class TokenIssuer:
    """Signs ServiceAccount tokens with the first key; verifies with any of them."""

    def __init__(self, keys: Sequence[SigningKey], *, new_id: Callable[[], str] = lambda: str(uuid.uuid4())) -> None:
        if not keys:
            raise ValueError("a token issuer needs a key")
        self.keys, self._new_id = tuple(keys), new_id

    @classmethod
    def from_file(cls, path: str | Path | None) -> TokenIssuer | None:
        return cls(load_key_file(path)) if path else None

    def issue(self, binding: Binding, *, audiences: Sequence[str], now: float, lifetime_s: int) -> tuple[str, Claims]:
        issued = int(now)
        claims = Claims(binding, tuple(audiences), issued, issued + lifetime_s, issued, self._new_id())
        return sign(self.keys[0], claims.to_json()), claims

    def verify(self, token: str, *, now: float, audiences: Sequence[str] = API_AUDIENCES) -> Claims | None:
        """The claims of a token this issuer signed, for one of `audiences`, valid at `now`."""
        payload = verified_payload(token, self.keys)
        if payload is None or payload.get("iss") != ISSUER:
            return None
        claims = Claims.of(payload)
        if claims is None or not set(claims.audiences) & set(audiences):
            return None
        if now >= claims.expires_at or now + NBF_LEEWAY_S < claims.not_before:
            return None
        return claims


# -- the authenticator's verifier -------------------------------------------------------------
class Existence(Protocol):
    """What the API knows is stored now (`services.api.sa_index.ServiceAccountIndex`)."""

    def service_account_uid(self, namespace: str, name: str) -> str | None: ...
    def pod(self, namespace: str, name: str) -> Any: ...  # a PodFacts, or None


class ServiceAccountVerifier:
    """A `TokenVerifier` (services.api.authn): the user of a valid ServiceAccount token
    whose ServiceAccount and bound pod still exist, or None."""

    def __init__(self, issuer: TokenIssuer, existence: Existence, *,
                 clock: Callable[[], float] = time.time, audiences: Sequence[str] = API_AUDIENCES) -> None:
        self._issuer, self._existence, self._clock, self._audiences = issuer, existence, clock, tuple(audiences)

    def __call__(self, token: str) -> UserInfo | None:
        if token.count(".") != 2:
            return None  # not a JWT: some other verifier's
        now = self._clock()
        claims = self._issuer.verify(token, now=now, audiences=self._audiences)
        if claims is None:
            return None
        b = claims.binding
        if self._existence.service_account_uid(b.namespace, b.service_account) != b.service_account_uid:
            return None  # deleted (or deleted and created again: another uid)
        if b.pod:
            pod = self._existence.pod(b.namespace, b.pod)
            if pod is None or pod.uid != b.pod_uid or pod.deleted_before(now - DELETED_POD_GRACE_S):
                return None
        return service_account_user(b.namespace, b.service_account, uid=b.service_account_uid)
