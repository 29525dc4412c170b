"""The pod-template-hash: a stable hash of a Deployment's pod template (plus the
collision count), encoded with Kubernetes' safe alphabet; it names the template's
ReplicaSet `<deployment>-<hash>` and labels its pods. Pure; used by the reconcile
(the label name and the template comparison are in `schemas.rollout`, shared with
the CLI)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from schemas.rollout import HASH_LABEL, normalised
from services.controllers.machinery.naming import ALPHANUMS


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    canonical = orjson.dumps(normalised(template), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical + (f"/{collision_count}".encode() if collision_count else b"")).digest()
    number = int.from_bytes(digest[:4], "big")  # a uint32, as Kubernetes' fnv32a
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(number))


def with_hash(template: Mapping[str, Any], value: str) -> dict[str, Any]:
    """A copy of the template whose labels carry pod-template-hash."""
    out = copy.deepcopy(dict(template))
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), HASH_LABEL: value}
    out["metadata"] = meta
    return out
