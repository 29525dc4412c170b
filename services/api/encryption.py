"""Encryption at rest of Secret values: kube-apiserver's storage transformers, keyed by
an `EncryptionConfiguration` (schemas/encryption.py).

`ValueCodec.seal(plain, context)` encrypts with the first provider's first key and
prefixes the result `k8s:enc:<provider>:v1:<key>:` (as upstream stores it);
`ValueCodec.open(stored, context)` finds the provider and key by that prefix, so every
key listed still opens what it sealed, and a value without a prefix is read as plain
only when `identity` is listed (upstream's rule, which lets a cluster move to
encryption: list `identity` last, then re-write every Secret).

Providers, as upstream implements them: `aesgcm` (random 96-bit nonce, the value's
context as associated data), `aescbc` (random IV, PKCS#7 padding, not authenticated:
upstream's own advice is not to use it), `secretbox` (XSalsa20-Poly1305, random 192-bit
nonce), `identity`. Pure apart from the random nonces; used by services.api.secret_storage."""

from __future__ import annotations

import os
from dataclasses import dataclass

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas.encryption import EncryptionConfiguration, ProviderName
from services.runtime.secret_values import ENCRYPTED_PREFIX


class DecryptError(ValueError):
    """A stored value does not open: no provider or key for its prefix, or tampered."""


@dataclass(frozen=True, slots=True)
class KeyedCipher:
    provider: ProviderName
    name: str
    key: bytes

    @property
    def prefix(self) -> bytes:
        return ENCRYPTED_PREFIX + f"{self.provider}:v1:{self.name}:".encode()

    def seal(self, plain: bytes, context: bytes) -> bytes:
        if self.provider == "aesgcm":
            nonce = os.urandom(12)
            return nonce + AESGCM(self.key).encrypt(nonce, plain, context)
        if self.provider == "secretbox":
            return bytes(nacl.secret.SecretBox(self.key).encrypt(plain))
        iv = os.urandom(16)
        padder = padding.PKCS7(128).padder()
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        return iv + encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()

    def open(self, payload: bytes, context: bytes) -> bytes:
        try:
            if self.provider == "aesgcm":
                return AESGCM(self.key).decrypt(payload[:12], payload[12:], context)
            if self.provider == "secretbox":
                return bytes(nacl.secret.SecretBox(self.key).decrypt(payload))
            if len(payload) < 32 or len(payload) % 16:
                raise ValueError("the data is not a whole number of blocks")
            decryptor = Cipher(algorithms.AES(self.key), modes.CBC(payload[:16])).decryptor()
            unpadder = padding.PKCS7(128).unpadder()
            return unpadder.update(decryptor.update(payload[16:]) + decryptor.finalize()) + unpadder.finalize()
        except (InvalidTag, nacl.exceptions.CryptoError, ValueError) as exc:
            raise DecryptError(f"the value does not open with {self.provider} key {self.name!r}: "
                               f"{exc.__class__.__name__}") from None


class ValueCodec:
    """Seals with the first key, opens with any; `identity` first means values are stored as sent."""

    def __init__(self, ciphers: list[KeyedCipher], *, identity: bool, identity_first: bool) -> None:
        self._ciphers = ciphers
        self._by_prefix = {c.prefix: c for c in ciphers}
        self._identity, self._identity_first = identity, identity_first

    @classmethod
    def of(cls, config: EncryptionConfiguration) -> ValueCodec | None:
        """The codec for Secrets, or None when the configuration does not cover them."""
        providers = config.secret_providers()
        if not providers:
            return None
        ciphers = [KeyedCipher(name, key.name or "", key.material()) for name, keys in providers for key in keys]
        names = [name for name, _ in providers]
        return cls(ciphers, identity="identity" in names, identity_first=names[0] == "identity")

    @property
    def encrypts(self) -> bool:
        return not self._identity_first and bool(self._ciphers)

    @property
    def ciphers(self) -> list[KeyedCipher]:
        return list(self._ciphers)

    def seal(self, plain: bytes, context: bytes) -> bytes:
        if not self.encrypts:
            return plain
        first = self._ciphers[0]
        return first.prefix + first.seal(plain, context)

    def open(self, stored: bytes, context: bytes) -> bytes:
        if not stored.startswith(ENCRYPTED_PREFIX):
            if self._identity:
                return stored
            raise DecryptError("the value is not encrypted and the identity provider is not configured "
                               "(list `identity: {}` last to read values stored before encryption)")
        cut = stored.find(b":", stored.find(b":", len(ENCRYPTED_PREFIX)) + 4)  # after "<provider>:v1:<key>"
        cipher = self._by_prefix.get(stored[:cut + 1]) if cut > 0 else None
        if cipher is None:
            named = stored[len(ENCRYPTED_PREFIX):cut].decode("ascii", "replace") if cut > 0 else "?"
            raise DecryptError(f"no configured provider and key for the value's prefix ({named}): "
                               "was its key removed from the encryption configuration?")
        return cipher.open(stored[cut + 1:], context)

    def is_current(self, stored: bytes) -> bool:
        """Is the value stored as the codec would store it now (first key; or plain if identity first)?"""
        if not self.encrypts:
            return not stored.startswith(ENCRYPTED_PREFIX)
        return stored.startswith(self._ciphers[0].prefix)
