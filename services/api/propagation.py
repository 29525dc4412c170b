"""The API's side of deletion propagation (pure; called by `services.api.decide`):

- `finalizers_after_delete`: the metadata.finalizers a DELETE leaves on an object
  for its propagationPolicy (Kubernetes' deletionFinalizersForGarbageCollection):
  Foreground adds `foregroundDeletion`, Orphan adds `orphan`, each dropping the
  other; Background drops both; no policy keeps what is there.
- `blocks_removal`: whether a deleted object must stay, marked, instead of being
  tombstoned: metadata finalizers, or a Namespace's spec.finalizers (`kubernetes`).
- `namespace_defaults`: spec.finalizers [kubernetes] for a new Namespace.
"""

from __future__ import annotations

from typing import Any

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"


def finalizers_after_delete(current: dict[str, Any], policy: str | None) -> list[str]:
    finalizers = [f for f in (current.get("metadata") or {}).get("finalizers") or [] if isinstance(f, str)]
    if policy is None:
        return finalizers
    kept = [f for f in finalizers if f not in (ORPHAN, FOREGROUND)]
    extra = {"Foreground": [FOREGROUND], "Orphan": [ORPHAN]}.get(policy, [])
    return kept + extra


def blocks_removal(obj: dict[str, Any]) -> bool:
    if (obj.get("metadata") or {}).get("finalizers"):
        return True
    return obj.get("kind") == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def namespace_defaults(obj: dict[str, Any]) -> dict[str, Any]:
    """A new Namespace with spec.finalizers defaulted to [kubernetes]; not mutated."""
    if obj.get("kind") != "Namespace" or (obj.get("spec") or {}).get("finalizers") is not None:
        return obj
    return {**obj, "spec": {**(obj.get("spec") or {}), "finalizers": [NAMESPACE_FINALIZER]}}
