"""The pod-template-hash: a stable hash of a Deployment's pod template (plus the
collision count), encoded with Kubernetes' safe alphabet; it names the template's
ReplicaSet `<deployment>-<hash>` and labels its pods. Pure; used by the reconcile
and by the CLI (`rollout undo` compares templates ignoring the hash label)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from services.controllers.machinery.naming import ALPHANUMS

HASH_LABEL = "pod-template-hash"


def template_hash(template: Mapping[str, Any], collision_count: int = 0) -> str:
    canonical = orjson.dumps(normalised(template), option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical + (f"/{collision_count}".encode() if collision_count else b"")).digest()
    number = int.from_bytes(digest[:4], "big")  # a uint32, as Kubernetes' fnv32a
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(number))


def normalised(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template without the hash label, nulls and empty objects and lists."""
    out = copy.deepcopy(dict(template))
    meta = dict(out.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != HASH_LABEL}
    meta = {k: v for k, v in meta.items() if k != "labels" and v not in (None, {}, [])}
    if labels:
        meta["labels"] = labels
    out["metadata"] = meta
    if not meta:
        out.pop("metadata")
    return _prune(out)


def _prune(value: Any) -> Any:
    """Drop what Kubernetes' semantic equality does not tell from absent: null, and empty
    objects and lists (kubectl's `rollout undo` sends a template with `resources: {}`)."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def equal_ignoring_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return normalised(a) == normalised(b)


def with_hash(template: Mapping[str, Any], value: str) -> dict[str, Any]:
    """A copy of the template whose labels carry pod-template-hash."""
    out = copy.deepcopy(dict(template))
    meta = dict(out.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), HASH_LABEL: value}
    out["metadata"] = meta
    return out
