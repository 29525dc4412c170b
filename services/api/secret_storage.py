"""Secret values on their way through the API: opened from the manifest, encrypted for
storage, opened again for a decision or a reader.

- `open_manifest(body)`: values `kafkube apply` sealed for the API's manifest key
  (services/runtime/manifest_sealing.py) back to base64 `data`, before validation;
- `to_storage(body)`: `stringData` folded into `data` and every value encrypted with the
  configuration's first key (services/api/encryption.py), bound to
  `secrets/<namespace>/<name>/<key>`; done by the intake, so `kafkube.requests` already
  holds ciphertext, and by the writer on what it stores;
- `from_storage(body)`: every value opened, for the writer's decision (validation,
  merge, "unchanged") and for a SecretRequest's answer.

The API's manifest key pairs derive from the configuration's keys (HKDF-SHA256, one
X25519 pair per key), so every API replica holds them without another file, and they
rotate with the encryption keys. Without a configuration that encrypts Secrets the
values are stored as sent and the API publishes no manifest key.

Pure; built once per API process from `KAFKUBE_ENCRYPTION_CONFIG` (`from_path`)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from schemas.encryption import load
from services.api.encryption import DecryptError, ValueCodec
from services.runtime import manifest_sealing
from services.runtime.sealing import Recipient, SealError
from services.runtime.secret_values import ENCRYPTED_PREFIX, decoded, is_sealed

Doc = dict[str, Any]
MANIFEST_KEY_INFO = b"kafkube.io/manifest-key/v1"
REDACTED = '"<secret contents redacted>"'  # upstream's stand-in for a value in a message


class SecretValueError(ValueError):
    """A value cannot be opened or stored; the message names the field, never the value."""


def value_context(namespace: str, name: str, key: str) -> bytes:
    return f"secrets/{namespace}/{name}/{key}".encode()


class SecretStorage:
    def __init__(self, codec: ValueCodec | None) -> None:
        self.codec = codec
        self._manifest_keys: dict[str, Recipient] = {}
        self.manifest_key: tuple[str, str] | None = None  # (fingerprint, base64 public key) to seal with
        for cipher in (codec.ciphers if codec is not None else []):
            seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                        info=MANIFEST_KEY_INFO + f":{cipher.provider}:{cipher.name}".encode()).derive(cipher.key)
            recipient = Recipient(X25519PrivateKey.from_private_bytes(seed))
            fingerprint = manifest_sealing.fingerprint(recipient.public)
            self._manifest_keys[fingerprint] = recipient
            if self.manifest_key is None and codec is not None and codec.encrypts:
                self.manifest_key = (fingerprint, recipient.public_b64)

    @classmethod
    def from_path(cls, path: str | None) -> SecretStorage:
        """From the EncryptionConfiguration file (None: store as sent). Raises
        EncryptionConfigError (the API does not start with a broken configuration)."""
        return cls(ValueCodec.of(load(path)) if path else None)

    @property
    def encrypts(self) -> bool:
        return self.codec is not None and self.codec.encrypts

    # -- the manifest ------------------------------------------------------------------------
    def open_manifest(self, body: Doc, namespace: str) -> Doc:
        """The Secret with its sealed values opened (base64, as a plain manifest has them)."""
        data = body.get("data")
        if not isinstance(data, Mapping) or not any(is_sealed(v) for v in data.values()):
            return body
        name = _name(body)
        opened: dict[str, Any] = {}
        for key, value in data.items():
            if not is_sealed(value):
                opened[key] = value
                continue
            try:
                plain = manifest_sealing.open_value(value, self._manifest_keys,
                                                    manifest_sealing.context(namespace, name, str(key)))
            except SealError as exc:
                raise SecretValueError(f"data[{key}]: Invalid value: {REDACTED}: the value sealed for the API "
                                       f"does not open: {exc}") from None
            opened[key] = base64.b64encode(plain).decode("ascii")
        return {**body, "data": opened}

    # -- storage -----------------------------------------------------------------------------
    def to_storage(self, body: Doc | None) -> Doc | None:
        """The Secret as stored: `stringData` folded into `data`, every value encrypted."""
        if body is None or not self.encrypts:
            return body
        assert self.codec is not None
        data = dict(body.get("data") or {}) if isinstance(body.get("data"), Mapping) else {}
        string_data = body.get("stringData")
        for key, value in (string_data.items() if isinstance(string_data, Mapping) else ()):
            data[key] = base64.b64encode(str(value).encode()).decode("ascii")
        namespace, name = _namespace(body), _name(body)
        stored: dict[str, str] = {}
        for key, value in data.items():
            raw = decoded(value) if isinstance(value, str) else None
            if raw is None:
                raise SecretValueError(f"data[{key}]: Invalid value: {REDACTED}: a base64-encoded value is required")
            if not self.codec.is_current(raw):
                plain = self._plain(raw, namespace, name, str(key)) if raw.startswith(ENCRYPTED_PREFIX) else raw
                raw = self.codec.seal(plain, value_context(namespace, name, str(key)))
            stored[str(key)] = base64.b64encode(raw).decode("ascii")
        out = {k: v for k, v in body.items() if k != "stringData"}
        if stored or "data" in body:
            out["data"] = stored
        return out

    def from_storage(self, body: Doc | None, *, stored: bool = True) -> Doc | None:
        """The Secret with every value opened (base64 of the plain value). A plain value
        in a stored object opens only if `identity` is configured (upstream's rule); in a
        request (`stored=False`) it is taken as sent."""
        data = (body or {}).get("data")
        if body is None or self.codec is None or not isinstance(data, Mapping):
            return body
        namespace, name = _namespace(body), _name(body)
        opened = {}
        for key, value in data.items():
            raw = decoded(value) if isinstance(value, str) else None
            if raw is None or not stored and not raw.startswith(ENCRYPTED_PREFIX):
                opened[key] = value
                continue
            opened[key] = base64.b64encode(self._plain(raw, namespace, name, str(key))).decode("ascii")
        return {**body, "data": opened}

    def _plain(self, raw: bytes, namespace: str, name: str, key: str) -> bytes:
        assert self.codec is not None
        try:
            return self.codec.open(raw, value_context(namespace, name, key))
        except DecryptError as exc:
            raise SecretValueError(f"secrets \"{name}\": data[{key}]: the stored value cannot be decrypted: "
                                   f"{exc}") from None


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _name(body: Mapping[str, Any]) -> str:
    return str(_meta(body).get("name") or "")


def _namespace(body: Mapping[str, Any]) -> str:
    return str(_meta(body).get("namespace") or "default")
