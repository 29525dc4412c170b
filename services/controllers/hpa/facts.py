"""What the HPA calculator reads, from the records the controller's caches hold: a pod
(desired spec + the kubelet's observed status) as `PodFacts`, a kubelet's PodMetrics as
one resource's `Sample`, and a scale target's current replicas and selector (as its
`scale` subresource shows them). Pure; used by `services.controllers.hpa.service`
and `reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from schemas.meta import LabelSelector, selector_matches
from schemas.metrics import PodMetrics
from schemas.quantity import parse_quantity
from services.controllers.hpa.replicas import PodFacts, Sample

Obj = dict[str, Any]
SCALABLE_KINDS = {"Deployment": "deployments", "ReplicaSet": "replicasets",
                  "ReplicationController": "replicationcontrollers"}
"""Kinds whose `scale` the controller can set, and their plurals."""


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _milli(quantity: object) -> int | None:
    if quantity is None:
        return None
    return int(parse_quantity(str(quantity)) * 1000)


def pod_facts(desired: Obj, observed_status: Obj | None) -> PodFacts:
    """A pod as the calculator sees it; requests in milli-units per container."""
    meta, status = desired.get("metadata") or {}, observed_status or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    requests = {str(c.get("name", "")): {r: _milli(((c.get("resources") or {}).get("requests") or {}).get(r))
                                         for r in ("cpu", "memory")}
                for c in (desired.get("spec") or {}).get("containers") or []}
    return PodFacts(name=str(meta.get("name", "")), phase=str(status.get("phase") or "Pending"),
                    labels=meta.get("labels") or {}, deleting=bool(meta.get("deletionTimestamp")),
                    ready=ready.get("status") if ready else None,
                    ready_since=_time(ready.get("lastTransitionTime")) if ready else None,
                    start_time=_time(status.get("startTime")), requests=requests)


def sample(metrics: PodMetrics, resource: str) -> Sample | None:
    """A PodMetrics' usage of `resource`, its containers summed, in milli-units; None for a
    sample that does not parse (the pod then counts as one without metrics)."""
    try:
        total = sum((parse_quantity(getattr(c.usage, resource)) for c in metrics.containers), Decimal(0))
        window = float(metrics.window.removesuffix("s") or 0)  # "15.002s"
    except ValueError:
        return None
    return Sample(value=int(total * 1000), timestamp=metrics.timestamp, window=timedelta(seconds=window))


@dataclass(frozen=True, slots=True)
class Scale:
    """A scale target's `Scale`: spec.replicas, and its selector (None: it has none)."""

    replicas: int
    selector: LabelSelector | Mapping[str, str] | None

    @classmethod
    def of(cls, target: Obj) -> "Scale":
        spec = target.get("spec") or {}
        selector = spec.get("selector")
        if target.get("kind") != "ReplicationController" and isinstance(selector, dict):
            return cls(int(spec.get("replicas", 1)), LabelSelector.model_validate(selector))
        return cls(int(spec.get("replicas", 1)), selector if isinstance(selector, dict) and selector else None)

    def selects(self, labels: Mapping[str, str]) -> bool:
        if isinstance(self.selector, LabelSelector):
            return not self.selector.is_empty() and self.selector.matches(dict(labels))
        return self.selector is not None and selector_matches(dict(self.selector), dict(labels))
