"""Record signatures on the bus, pure HMAC-SHA256 (DESIGN.md §8: a consumer never acts
on a desired record the API did not write, nor on an observed status its owner did not
write). Canonical bytes of a record, signing and verifying them, deriving a writer's key
from an observed master key, and the `KeyRing` a key file holds. No Kafka, no I/O except
`KeyRing.load`/`save`. Used by `services.runtime.trust` (who may write what) and
`services.runtime.buskeys` (which keys this process holds); see the runtime README.

Header `kafkube.signature`:
- desired records: `<key id>:<hex HMAC>` with a desired-record key (the API signs);
- observed records: `<identity>:<key id>:<hex HMAC>` with the writer's key
  `HMAC-SHA256(observed master[key id], identity)`, identities like `system:node:n1`.
The HMAC covers `canonical(topic without prefix, key, value, kafkube.* headers)`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

SIGNATURE_HEADER = "kafkube.signature"
HEADER_PREFIX = "kafkube."
DOMAIN = b"kafkube.record.v1\x00"
ABSENT = b"\xff\xff\xff\xff"  # a tombstone (or a null key): no length can be 2**32-1 here
KEY_ID = r"^[A-Za-z0-9._-]{1,64}$"
Headers = Sequence[tuple[str, bytes]]


_u32 = struct.Struct(">I").pack


def _field(data: bytes | None) -> bytes:
    return ABSENT if data is None else _u32(len(data)) + data


@functools.lru_cache(maxsize=256)
def _head(topic: str) -> bytes:
    encoded = topic.encode()
    return DOMAIN + _u32(len(encoded)) + encoded


def canonical(topic: str, key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """The signed bytes of a record: every field length-prefixed, so no two records share
    them. `topic` is the name without the configurable prefix (`desired.pods`); only the
    `kafkube.*` headers count, in order, except the signature itself."""
    parts = [_head(topic), ABSENT if key is None else _u32(len(key)), key or b"",
             ABSENT if value is None else _u32(len(value)), value or b""]
    count = 0
    for name, header in headers:
        if name.startswith(HEADER_PREFIX) and name != SIGNATURE_HEADER:
            encoded = name.encode()
            parts += (_u32(len(encoded)), encoded, _u32(len(header)), header)
            count += 1
    parts.append(_u32(count))
    return b"".join(parts)


def mac(secret: bytes, data: bytes) -> str:
    return hmac.digest(secret, data, hashlib.sha256).hex()


class Keyed:
    """HMAC-SHA256 under one key, its key schedule done once: each record costs a copy
    of the keyed state and one pass over the data (a third of `hmac.digest`'s cost)."""

    __slots__ = ("_base",)

    def __init__(self, secret: bytes) -> None:
        self._base = hmac.new(secret, digestmod=hashlib.sha256)

    def hex(self, data: bytes) -> str:
        h = self._base.copy()
        h.update(data)
        return h.hexdigest()


def derive(master: bytes, identity: str) -> bytes:
    """A writer's key: HMAC-SHA256(observed master key, identity). Whoever holds only
    this key can sign as `identity` and as nobody else."""
    return hmac.digest(master, identity.encode(), hashlib.sha256)


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class DesiredKeys:
    """The cluster's desired-record keys: the first signs, every one verifies (rotation)."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("at least one desired-record key is needed")
        self._first_id = keys[0][0]
        self._by_id = {key_id: Keyed(secret) for key_id, secret in keys}

    def sign(self, data: bytes) -> bytes:
        return f"{self._first_id}:{self._by_id[self._first_id].hex(data)}".encode()

    def verify(self, signature: bytes | None, data: bytes) -> bool:
        if not signature:
            return False
        key_id, _, digest = signature.decode("ascii", "replace").partition(":")
        keyed = self._by_id.get(key_id)
        return keyed is not None and _equal(keyed.hex(data), digest)


class WriterKey:
    """One identity's derived key: signs observed records as that identity."""

    def __init__(self, identity: str, key_id: str, secret: bytes) -> None:
        self.identity, self.key_id, self.secret = identity, key_id, secret
        self._keyed = Keyed(secret)

    def sign(self, data: bytes) -> bytes:
        return f"{self.identity}:{self.key_id}:{self._keyed.hex(data)}".encode()


class ObservedMasters:
    """The observed master keys: derive any writer's key (the first master signs), and
    verify a signature, returning the identity it proves (None: it proves nothing)."""

    def __init__(self, masters: Sequence[tuple[str, bytes]]) -> None:
        if not masters:
            raise ValueError("at least one observed master key is needed")
        self._first = masters[0]
        self._by_id = dict(masters)
        self._derived: dict[tuple[str, str], Keyed] = {}

    def writer(self, identity: str) -> WriterKey:
        key_id, master = self._first
        return WriterKey(identity, key_id, derive(master, identity))

    def verify(self, signature: bytes | None, data: bytes) -> str | None:
        if not signature:
            return None
        identity, key_id, digest = _split_observed(signature)
        master = self._by_id.get(key_id)
        if master is None or not identity:
            return None
        keyed = self._derived.get((key_id, identity))
        if keyed is None:
            if len(self._derived) > 100_000:  # bound the cache against made-up identities
                self._derived.clear()
            keyed = self._derived[(key_id, identity)] = Keyed(derive(master, identity))
        return identity if _equal(keyed.hex(data), digest) else None


def _split_observed(signature: bytes) -> tuple[str, str, str]:
    parts = signature.decode("utf-8", "replace").rsplit(":", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def signature_of(headers: Headers | None) -> bytes | None:
    """The value of the (last) signature header, if any."""
    found = None
    for name, value in headers or ():
        if name == SIGNATURE_HEADER:
            found = value
    return found


def with_signature(headers: Iterable[tuple[str, bytes]], signature: bytes) -> tuple[tuple[str, bytes], ...]:
    """`headers` without any earlier signature, then the new one (it goes last)."""
    return (*((n, v) for n, v in headers if n != SIGNATURE_HEADER), (SIGNATURE_HEADER, signature))


# -- key files -------------------------------------------------------------------------------

class KeyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=KEY_ID)
    secret: str = Field(pattern=r"^[0-9a-f]{64,}$", repr=False)  # hex, at least 32 bytes

    def pair(self) -> tuple[str, bytes]:
        return self.id, bytes.fromhex(self.secret)

    @classmethod
    def generate(cls, prefix: str) -> "KeyEntry":
        return cls(id=f"{prefix}-{secrets.token_hex(4)}", secret=secrets.token_hex(32))


class WriterEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: str = Field(min_length=1)
    id: str = Field(pattern=KEY_ID)  # the id of the master it was derived from
    secret: str = Field(pattern=r"^[0-9a-f]{64}$", repr=False)

    def key(self) -> WriterKey:
        return WriterKey(self.identity, self.id, bytes.fromhex(self.secret))


class KeyRing(BaseModel):
    """What one key file holds: whichever of the desired keys, the observed master keys
    and one writer's derived key its process is entitled to. First key of a list signs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    desired: tuple[KeyEntry, ...] = ()
    observed_masters: tuple[KeyEntry, ...] = Field(
        default=(), validation_alias=AliasChoices("observedMasters", "observed_masters"),
        serialization_alias="observedMasters")
    writer: WriterEntry | None = None

    @classmethod
    def generate(cls) -> "KeyRing":
        """A new cluster's control-plane ring: one desired key and one observed master."""
        return cls(desired=(KeyEntry.generate("d"),), observed_masters=(KeyEntry.generate("o"),))

    def desired_keys(self) -> DesiredKeys | None:
        return DesiredKeys([k.pair() for k in self.desired]) if self.desired else None

    def masters(self) -> ObservedMasters | None:
        return ObservedMasters([k.pair() for k in self.observed_masters]) if self.observed_masters else None

    def for_writer(self, identity: str) -> "KeyRing":
        """A ring for a process that writes observed records as `identity` and verifies
        desired ones: the desired keys and the identity's key (no master)."""
        masters = self.masters()
        if masters is None:
            raise ValueError("deriving a writer key needs an observed master key")
        key = masters.writer(identity)
        entry = WriterEntry(identity=identity, id=key.key_id, secret=key.secret.hex())
        return KeyRing(desired=self.desired, writer=entry)

    @classmethod
    def load(cls, path: str | Path) -> "KeyRing":
        return cls.model_validate_json(Path(path).read_bytes())

    def save(self, path: str | Path) -> None:
        """Write the ring as JSON readable by its owner only (0600)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(self.model_dump_json(by_alias=True, exclude_none=True, indent=2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
