"""Secret values sealed for the API on `kafkube.manifests`, which every user who may
write manifests could read back: `kafkube apply` replaces each value of a Secret's
`data` (and `stringData`, folded into `data` first) by

    kafkube:sealed:<fingerprint>:<base64 of ephemeral public key (32) | nonce (12) | ciphertext>

an X25519 sealed box (services/runtime/sealing.py `x25519-v1`) for the API's manifest
key, bound to `<namespace>/<name>/<key>` so a sealed value copied into another Secret
does not open. `fingerprint` names the API key (the first 16 hex digits of the SHA-256
of its public key), so keys can rotate. The API learns nothing it would not from a
plain manifest; the topic holds nothing a reader can open.

The key is asked of the API with a `SealingKeyReview` (`sealing_key_request`, answered
with the key in its review annotation: `sealing_key_of`).

Pure: `seal_data` for the CLI and the apiserver, `open_value` for the API."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from schemas.records import REVIEW_ANNOTATION, Op, WriteRequest
from services.runtime.sealing import X25519_SCHEME, Recipient, SealError, Sealed, seal_for_recipient
from services.runtime.secret_values import SEALED_PREFIX

CONTEXT_LABEL = "kafkube.io/manifest-secret/v1"


def sealing_key_request(*, writer: str, principal: str = "") -> WriteRequest:
    """The question for the API's manifest public key: answered NotFound by an API that
    stores Secret values as sent (no encryption configuration)."""
    return WriteRequest(op=Op.CREATE, apiVersion="kafkube.io/v1", kind="SealingKeyReview", name="sealing-key",
                        body={"apiVersion": "kafkube.io/v1", "kind": "SealingKeyReview"}, writer=writer,
                        principal=principal)


def sealing_key_of(answer: Mapping[str, Any]) -> str:
    """The public key (base64) of the API's answer event to `sealing_key_request`."""
    review = ((answer.get("metadata") or {}).get("annotations") or {}).get(REVIEW_ANNOTATION, "{}")
    return str(orjson.loads(review)["publicKey"])


def fingerprint(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def context(namespace: str, name: str, key: str) -> bytes:
    return "\x00".join((CONTEXT_LABEL, f"{namespace}/{name}/{key}")).encode()


def seal_value(public_key_b64: str, plain: bytes, ctx: bytes) -> str:
    public = base64.b64decode(public_key_b64)
    sealed = seal_for_recipient(public_key_b64, plain, ctx)
    packed = sealed.ephemeral + sealed.nonce + sealed.ciphertext
    return f"{SEALED_PREFIX}{fingerprint(public)}:{base64.b64encode(packed).decode('ascii')}"


def seal_data(secret: Mapping[str, object], public_key_b64: str, namespace: str) -> dict[str, object]:
    """The Secret with every value of `data` and `stringData` sealed into `data`
    (`stringData` wins over `data` for a key, as the API merges them)."""
    meta = secret.get("metadata")
    name = str(meta.get("name") or "") if isinstance(meta, Mapping) else ""
    plain: dict[str, bytes] = {}
    data, string_data = secret.get("data"), secret.get("stringData")
    for key, value in (data.items() if isinstance(data, Mapping) else ()):
        raw = _b64decode(value)
        if raw is None:
            return dict(secret)  # not base64: left for the API to refuse, with the field named
        plain[str(key)] = raw
    for key, value in (string_data.items() if isinstance(string_data, Mapping) else ()):
        if not isinstance(value, str):
            return dict(secret)
        plain[str(key)] = value.encode()
    if not plain:
        return dict(secret)
    out = {k: v for k, v in secret.items() if k != "stringData"}
    out["data"] = {key: seal_value(public_key_b64, value, context(namespace, name, key)) for key, value in plain.items()}
    return out


def open_value(value: str, keys: Mapping[str, Recipient], ctx: bytes) -> bytes:
    """The plain value of one sealed value, with the API's keys by fingerprint."""
    head, _, packed_b64 = value[len(SEALED_PREFIX):].partition(":")
    recipient = keys.get(head)
    if recipient is None:
        raise SealError(f"sealed for API key {head!r}, which this API does not hold "
                        "(was the encryption configuration's key removed?)")
    packed = _b64decode(packed_b64)
    if packed is None or len(packed) < 32 + 12 + 16:
        raise SealError("the sealed value is not base64 of a sealed box")
    return recipient.open(Sealed(X25519_SCHEME, packed[32:44], packed[44:], ephemeral=packed[:32]), ctx)


def _b64decode(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
