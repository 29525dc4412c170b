"""The names a Deployment rollout writes on objects, and the pure template comparison
that ignores the pod-template-hash; shared by the Deployment controller and the CLI
(`kafkube rollout history|undo`), as upstream's deployment/util constants are shared
by kube-controller-manager and kubectl."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"  # apps/v1 DefaultDeploymentUniqueLabelKey


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
    """Upstream's EqualIgnoreHash: two pod templates are the same but for the hash label."""
    return normalised(a) == normalised(b)
