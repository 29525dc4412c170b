"""Sealing a secret for one reader on a bus everyone reads: how the API hands a
ServiceAccount token to the kubelet that asked for it, in an answer event on
`kafkube.events`, without the token ever being there in clear. Pure (the AEAD is
`cryptography`'s ChaCha20-Poly1305). Used by the API (`seal`, with the bus's observed
master keys) and by kubelets (`open_sealed`, with their own derived key).

Schemes (the answer's `scheme`):

- `node-v1`, for a node's kubelet. Key = HMAC-SHA256(node key, "kafkube.io/sealing/v1"),
  where the node key is the kubelet's writer key `derive(observed master, "system:node:<n>")`
  (services/runtime/signing.py): the kubelet holds it in its key file, and the API
  derives it from the master. Nobody else holds either, so only that node (and the API)
  can open it, and only the API (or that node) can have sealed it. `keyId` names the
  master the key was derived from (rotation).
- `x25519-v1`, for any other requester: it sends a fresh X25519 public key with its
  request; the API seals with key = HKDF-SHA256(X25519(ephemeral, recipient), info =
  "kafkube.io/sealing/x25519/v1" + ephemeral public + recipient public) and answers with
  its ephemeral public key. Only the holder of the private key can open it (the answer
  is not authenticated as the API's: the requester trusts what it opens only as much as
  a token it would try against the API anyway).

Both use a random 96-bit nonce and bind the ciphertext to `context` (AAD): the request
id and what the token is for, so an answer copied to another request does not open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schemas.tokens import RECIPIENT_ANNOTATION, SEALING_KEY_ID_ANNOTATION
from services.runtime.signing import KeyRing, derive

NODE_SCHEME, X25519_SCHEME = "node-v1", "x25519-v1"
NODE_LABEL = b"kafkube.io/sealing/v1"
X25519_INFO = b"kafkube.io/sealing/x25519/v1"
NODE_PREFIX = "system:node:"


class SealError(ValueError):
    """A sealed value cannot be opened (wrong key, wrong context, tampered), or made."""


@dataclass(frozen=True, slots=True)
class Sealed:
    scheme: str
    nonce: bytes
    ciphertext: bytes
    key_id: str = ""  # node-v1: the observed master the node key derives from
    ephemeral: bytes = b""  # x25519-v1: the sealer's public key

    def to_json(self) -> dict[str, str]:
        out = {"scheme": self.scheme, "nonce": _b64(self.nonce), "ciphertext": _b64(self.ciphertext)}
        if self.key_id:
            out["keyId"] = self.key_id
        if self.ephemeral:
            out["ephemeralKey"] = _b64(self.ephemeral)
        return out

    @classmethod
    def of(cls, doc: object) -> Sealed:
        if not isinstance(doc, dict):
            raise SealError("no sealed value in the answer")
        try:
            return cls(str(doc["scheme"]), _unb64(doc["nonce"]), _unb64(doc["ciphertext"]),
                       str(doc.get("keyId") or ""), _unb64(doc.get("ephemeralKey") or ""))
        except (KeyError, ValueError, TypeError) as exc:
            raise SealError(f"malformed sealed value: {exc}") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _aead(key: bytes, nonce: bytes, data: bytes, context: bytes, *, seal: bool) -> bytes:
    box = ChaCha20Poly1305(key)
    if seal:
        return box.encrypt(nonce, data, context)
    try:
        return box.decrypt(nonce, data, context)
    except InvalidTag:
        raise SealError("the sealed value does not open with this key and context") from None


# -- node-v1 -----------------------------------------------------------------------------------
def node_sealing_key(node_key: bytes) -> bytes:
    return hmac.digest(node_key, NODE_LABEL, hashlib.sha256)


def node_key_from_masters(ring: KeyRing, node: str, key_id: str = "") -> tuple[str, bytes] | None:
    """(master id, node key) as the API derives it: the master `key_id` if held, else the first."""
    masters = [entry.pair() for entry in ring.observed_masters]
    if not masters:
        return None
    chosen = next((m for m in masters if m[0] == key_id), masters[0])
    return chosen[0], derive(chosen[1], f"{NODE_PREFIX}{node}")


def own_node_key(ring: KeyRing, node: str) -> tuple[str, bytes] | None:
    """(master id, node key) of a kubelet: its key file's writer key for the node, or
    derived from the master when it holds one (a fleet, tests)."""
    writer = ring.writer
    if writer is not None and writer.identity == f"{NODE_PREFIX}{node}":
        return writer.id, bytes.fromhex(writer.secret)
    return node_key_from_masters(ring, node)


def seal_for_node(node_key: tuple[str, bytes], data: bytes, context: bytes) -> Sealed:
    key_id, key = node_key
    nonce = os.urandom(12)
    return Sealed(NODE_SCHEME, nonce, _aead(node_sealing_key(key), nonce, data, context, seal=True), key_id=key_id)


def open_for_node(node_key: tuple[str, bytes], sealed: Sealed, context: bytes) -> bytes:
    key_id, key = node_key
    if sealed.scheme != NODE_SCHEME:
        raise SealError(f"sealed with {sealed.scheme!r}, expected {NODE_SCHEME!r}")
    if sealed.key_id and sealed.key_id != key_id:
        raise SealError(f"sealed with the node key of master {sealed.key_id!r}; this node holds {key_id!r}")
    return _aead(node_sealing_key(key), sealed.nonce, sealed.ciphertext, context, seal=False)


# -- x25519-v1 ---------------------------------------------------------------------------------
class Recipient:
    """An X25519 key pair: a requester's one-off pair (send `public` with the request, `open`
    the answer), or the API's manifest key (services/api/secret_storage.py)."""

    def __init__(self, private: X25519PrivateKey | None = None) -> None:
        self._private = private or X25519PrivateKey.generate()
        self.public = self._private.public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw)

    @property
    def public_b64(self) -> str:
        return _b64(self.public)

    def open(self, sealed: Sealed, context: bytes) -> bytes:
        if sealed.scheme != X25519_SCHEME or len(sealed.ephemeral) != 32:
            raise SealError(f"sealed with {sealed.scheme!r}, expected {X25519_SCHEME!r}")
        shared = self._private.exchange(X25519PublicKey.from_public_bytes(sealed.ephemeral))
        key = _hkdf(shared, sealed.ephemeral, self.public)
        return _aead(key, sealed.nonce, sealed.ciphertext, context, seal=False)


def _hkdf(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=X25519_INFO + ephemeral + recipient).derive(shared)


def seal_for_recipient(recipient_b64: str, data: bytes, context: bytes) -> Sealed:
    try:
        recipient = _unb64(recipient_b64)
        public = X25519PublicKey.from_public_bytes(recipient)
    except ValueError:
        raise SealError("the recipient key is not a base64 X25519 public key (32 bytes)") from None
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key = _hkdf(ephemeral.exchange(public), ephemeral_public, recipient)
    nonce = os.urandom(12)
    return Sealed(X25519_SCHEME, nonce, _aead(key, nonce, data, context, seal=True), ephemeral=ephemeral_public)


def answer_target(recipient: Recipient | None, node_key_id: str) -> dict[str, str]:
    """The annotations of a request naming whom its answer is sealed for: a one-off
    `recipient`, else the node key of master `node_key_id` (none: the API's default)."""
    if recipient is not None:
        return {RECIPIENT_ANNOTATION: recipient.public_b64}
    return {SEALING_KEY_ID_ANNOTATION: node_key_id} if node_key_id else {}


def open_answer(status: Mapping[str, Any], context: bytes, *, recipient: Recipient | None,
                node_key: tuple[str, bytes] | None) -> bytes:
    """The plain bytes of an answer's `status.sealed`, opened with `recipient` or `node_key`
    (SealError, or KeyError when the status holds nothing sealed)."""
    sealed = Sealed.of(status["sealed"])
    if recipient is not None:
        return recipient.open(sealed, context)
    if node_key is not None:
        return open_for_node(node_key, sealed, context)
    raise SealError("no key to open the answer with")
