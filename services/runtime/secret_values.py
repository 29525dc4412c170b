"""How a Secret's values look on the bus, for everyone who reads them.

- **Stored** (`kafkube.requests`, `kafkube.desired.secrets`), with an encryption
  configuration: each `data` value is the base64 of `k8s:enc:<provider>:v1:<key>:`
  followed by the provider's ciphertext, as kube-apiserver's storage transformers write
  it. Only the API can open it (services/api/encryption.py).
- **Sealed for the API** (`kafkube.manifests`, written by `kafkube apply`): each value is
  `kafkube:sealed:<fingerprint>:` followed by the base64 of an X25519 sealed box for the
  API's manifest key (services/api/manifest_sealing.py).

Pure. Used by the CLI (`describe` sizes, sealing), the kubelet (which values it must ask
the API for) and the API."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

ENCRYPTED_PREFIX = b"k8s:enc:"
SEALED_PREFIX = "kafkube:sealed:"
# bytes a provider adds to a value: (nonce + tag) for the AEADs; None: padded (not exact)
OVERHEAD: dict[str, int | None] = {"aesgcm": 12 + 16, "secretbox": 24 + 16, "aescbc": None}


def decoded(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def encrypted_provider(value: str) -> str | None:
    """The provider that encrypted a stored `data` value, or None when it is plain."""
    raw = decoded(value)
    if raw is None or not raw.startswith(ENCRYPTED_PREFIX):
        return None
    return raw[len(ENCRYPTED_PREFIX):].split(b":", 1)[0].decode("ascii", "replace")


def is_encrypted(value: str) -> bool:
    return encrypted_provider(value) is not None


def plaintext_size(value: str) -> int | None:
    """The size in bytes of the value a stored `data` value holds: exact for plain values
    and the AEAD providers, None when it cannot be known (aescbc pads, or not base64)."""
    raw = decoded(value)
    if raw is None:
        return None
    if not raw.startswith(ENCRYPTED_PREFIX):
        return len(raw)
    parts = raw.split(b":", 5)  # k8s, enc, provider, v1, key, payload
    overhead = OVERHEAD.get(parts[2].decode("ascii", "replace")) if len(parts) == 6 else None
    return None if overhead is None else max(len(parts[5]) - overhead, 0)


def has_encrypted_data(obj: Mapping[str, Any] | None) -> bool:
    """Does a stored Secret hold any value only the API can open?"""
    data = (obj or {}).get("data")
    return isinstance(data, Mapping) and any(isinstance(v, str) and is_encrypted(v) for v in data.values())


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)
