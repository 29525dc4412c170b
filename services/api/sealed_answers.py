"""Answers that carry a secret (a ServiceAccount token, a Secret's values) sealed for
whoever asked, since `kafkube.events` is read by everyone (services/runtime/sealing.py):
for a kubelet with its node key (`node-v1`), for anyone else with the X25519 public key
the request carries (annotation `kafkube.io/token-recipient`). Used by
services.api.service_accounts and services.api.secret_reads."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.auth import UserInfo
from schemas.tokens import RECIPIENT_ANNOTATION, SEALING_KEY_ID_ANNOTATION
from services.runtime.sealing import SealError, Sealed, node_key_from_masters, seal_for_node, seal_for_recipient
from services.runtime.signing import KeyRing


def seal_for_requester(ring: KeyRing | None, user: UserInfo, annotations: Mapping[str, str], data: bytes,
                       context: bytes) -> Sealed | None:
    """`data` sealed for the requester; None when it gave no way to (no recipient key, not a node)."""
    if recipient := annotations.get(RECIPIENT_ANNOTATION):
        return seal_for_recipient(recipient, data, context)
    node = user.node_name()
    if not node:
        return None
    key = node_key_from_masters(ring, node, annotations.get(SEALING_KEY_ID_ANNOTATION, "")) \
        if ring is not None else None
    if key is None:
        raise SealError("the API holds no observed master key to derive the node's key from "
                        f"(an insecure bus); send annotation {RECIPIENT_ANNOTATION}")
    return seal_for_node(key, data, context)


def no_recipient(kind: str, what: str) -> str:
    return (f"a {kind} needs a recipient key (annotation {RECIPIENT_ANNOTATION}: a base64 X25519 public "
            f"key): Kafkube never sends a {what} in clear")
