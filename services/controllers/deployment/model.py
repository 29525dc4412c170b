"""The values the Deployment reconcile works on: `DeploymentView` (spec, strategy
fenceposts) and `RSView` (a ReplicaSet with the counts of its pods), built from the
cached JSON and `PodView`s. Pure; used by `deployment.reconcile` and the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from schemas.apps import Deployment
from schemas.meta import LabelSelector
from schemas.rollout import DESIRED_REPLICAS, MAX_REPLICAS, REVISION
from services.controllers.machinery.podview import TERMINAL_PHASES, PodView, controller_ref, controller_uid, parse_time

EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def claimable(replicaset: Mapping[str, Any], deployment_uid: str | None) -> bool:
    """The Deployment controls the ReplicaSet or could adopt it (it has no controller):
    the only ReplicaSets whose pods a Deployment's sync reads and views."""
    return controller_uid(replicaset) in (None, deployment_uid)


def int_or_percent(value: int | str | None, total: int, *, round_up: bool, default: str = "25%") -> int:
    """Kubernetes' GetScaledValueFromIntOrPercent: "25%" of 10 is 3 rounded up, 2 down."""
    value = default if value is None else value
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text.endswith("%"):
        return int(text)
    percent = int(text[:-1])
    return -(-percent * total // 100) if round_up else percent * total // 100


def fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers; both 0 after rounding gives unavailable 1."""
    surge = int_or_percent(max_surge, replicas, round_up=True)
    unavailable = int_or_percent(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


@dataclass(frozen=True, slots=True)
class DeploymentView:
    namespace: str
    name: str
    uid: str
    generation: int
    replicas: int
    selector: LabelSelector
    template: Mapping[str, Any]
    recreate: bool = False
    max_surge_raw: int | str | None = "25%"
    max_unavailable_raw: int | str | None = "25%"
    min_ready_seconds: int = 0
    revision_history_limit: int = 10
    paused: bool = False
    progress_deadline_seconds: int | None = 600
    annotations: Mapping[str, str] = field(default_factory=dict)
    deleting: bool = False
    resource_version: str | None = None

    @property
    def max_surge(self) -> int:
        if self.recreate:
            return 0
        return fenceposts(self.max_surge_raw, self.max_unavailable_raw, self.replicas)[0]

    @property
    def max_unavailable(self) -> int:
        """Kubernetes' MaxUnavailable: 0 for Recreate or zero replicas, at most replicas."""
        if self.recreate or self.replicas == 0:
            return 0
        return min(self.replicas, fenceposts(self.max_surge_raw, self.max_unavailable_raw, self.replicas)[1])

    def owner_reference(self) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.name, "uid": self.uid,
                "controller": True, "blockOwnerDeletion": True}


def deployment_view(obj: Mapping[str, Any]) -> DeploymentView:
    d = Deployment.model_validate(obj)  # validates the shape; raises on garbage
    spec = d.spec
    assert spec is not None and spec.selector is not None, "admitted deployments have a selector"
    strategy = spec.strategy
    rolling = strategy.rolling_update if strategy else None
    meta = d.metadata
    return DeploymentView(
        namespace=meta.namespace or "default", name=meta.name or "", uid=meta.uid or "",
        generation=meta.generation or 1, replicas=1 if spec.replicas is None else spec.replicas,
        selector=spec.selector, template=(obj.get("spec") or {}).get("template") or {},
        recreate=bool(strategy and strategy.type == "Recreate"),
        max_surge_raw=rolling.max_surge if rolling else None,
        max_unavailable_raw=rolling.max_unavailable if rolling else None,
        min_ready_seconds=spec.min_ready_seconds or 0,
        revision_history_limit=10 if spec.revision_history_limit is None else spec.revision_history_limit,
        paused=bool(spec.paused), progress_deadline_seconds=spec.progress_deadline_seconds,
        annotations=dict(meta.annotations or {}), deleting=meta.deletion_timestamp is not None,
        resource_version=meta.resource_version)


@dataclass(frozen=True, slots=True)
class RSView:
    """A ReplicaSet, with the pods it controls counted."""

    name: str
    uid: str
    replicas: int  # spec.replicas
    template: Mapping[str, Any]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    owner_uid: str | None
    owner_refs: tuple[dict[str, Any], ...] = ()
    created: datetime = EPOCH
    deleting: bool = False
    resource_version: str | None = None
    min_ready_seconds: int = 0
    actual: int = 0  # active pods (status.replicas)
    ready: int = 0
    available: int = 0
    live: int = 0  # pods not finished, terminating ones included

    @property
    def revision(self) -> int:
        try:
            return int(self.annotations.get(REVISION, "0"))
        except ValueError:
            return 0

    @property
    def counted(self) -> int:
        """Pods this RS has or will have: bounds the surge even when the RS controller lags."""
        return max(self.replicas, self.actual)

    @property
    def sure_available(self) -> int:
        """Available pods that survive the RS controller's pending scale-down."""
        return min(self.available, self.replicas)

    def desired_annotation(self) -> int | None:
        try:
            return int(self.annotations[DESIRED_REPLICAS])
        except (KeyError, ValueError):
            return None

    def max_annotation(self) -> int | None:
        try:
            return int(self.annotations[MAX_REPLICAS])
        except (KeyError, ValueError):
            return None


def rs_view(obj: Mapping[str, Any], pods: Sequence[PodView], min_ready_seconds: int, now: datetime) -> RSView:
    """`pods`: those the ReplicaSet controls (others are ignored)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    uid = meta.get("uid") or ""
    mine = [p for p in pods if p.owner is not None and p.owner.uid == uid]
    active = [p for p in mine if p.active]
    owner = controller_ref(meta)
    return RSView(
        name=meta.get("name", ""), uid=uid, replicas=int(spec.get("replicas") or 0),
        template=spec.get("template") or {}, labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}), owner_uid=owner.uid if owner else None,
        owner_refs=tuple(meta.get("ownerReferences") or ()),
        created=parse_time(meta.get("creationTimestamp")) or EPOCH, deleting=bool(meta.get("deletionTimestamp")),
        resource_version=meta.get("resourceVersion"), min_ready_seconds=int(spec.get("minReadySeconds") or 0),
        actual=len(active), ready=sum(1 for p in active if p.ready),
        available=sum(1 for p in active if p.available(min_ready_seconds, now)),
        live=sum(1 for p in mine if p.phase not in TERMINAL_PHASES))
