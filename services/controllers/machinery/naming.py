"""Deterministic pod names: `<owner>-<5 chars>`, the 5 chars derived from a hash of
the owner's uid and a *slot* number. A controller always creates the lowest free
slots, so a create replayed after a crash (or made twice from a stale cache) names
the same pod and the API answers AlreadyExists instead of making a second pod."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Container, Iterator

ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.String alphabet
SUFFIX_LEN = 5
MAX_PREFIX = 63 - SUFFIX_LEN - 1  # keep names DNS-1123 labels (generateName's cut)


def safe_encode(raw: bytes, length: int) -> str:
    """`length` characters of ALPHANUMS drawn from the bytes of a digest."""
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHANUMS))
        chars.append(ALPHANUMS[digit])
    return "".join(chars)


@functools.lru_cache(maxsize=1 << 18)  # a sync walks the slots from 0: hash each once
def pod_name(owner_name: str, owner_uid: str, slot: int) -> str:
    digest = hashlib.sha256(f"{owner_uid}/{slot}".encode()).digest()
    return f"{owner_name[:MAX_PREFIX]}-{safe_encode(digest[:8], SUFFIX_LEN)}"


def free_names(owner_name: str, owner_uid: str, taken: Container[str], count: int) -> list[str]:
    """The names of the `count` lowest slots whose name no existing pod has."""
    return [name for name, _ in zip(_free(owner_name, owner_uid, taken), range(count))]


def _free(owner_name: str, owner_uid: str, taken: Container[str]) -> Iterator[str]:
    slot, picked = 0, set()
    while True:
        name = pod_name(owner_name, owner_uid, slot)
        if name not in taken and name not in picked:  # two slots may hash to one name
            picked.add(name)
            yield name
        slot += 1
