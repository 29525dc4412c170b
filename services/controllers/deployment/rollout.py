"""The rollout strategies, pure (Kubernetes' deployment controller): `Work` collects
the ReplicaSet writes of one sync against local copies of the views; `rolling`,
`recreate`, `scale` (proportional scaling) and `cleanup` (revisionHistoryLimit)
decide them. Each returns True when it changed something (the sync then stops,
as Kubernetes' does, and goes on at the next sync on fresh state).

Two safety margins beyond Kubernetes: the surge counts max(spec, active pods) of
each ReplicaSet and availability counts min(available, spec), so a lagging
ReplicaSet controller can never let the pods exceed replicas + maxSurge or fall
below replicas - maxUnavailable."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from schemas.rollout import DESIRED_REPLICAS, MAX_REPLICAS
from services.controllers.deployment.model import DeploymentView, RSView


@dataclasses.dataclass(frozen=True, slots=True)
class ScaleReplicaSet:
    name: str
    replicas: int
    annotations: dict[str, str]
    old_replicas: int


@dataclasses.dataclass(frozen=True, slots=True)
class DeleteReplicaSet:
    name: str
    uid: str


class Work:
    """The writes of one sync, and the views as they will be after them."""

    def __init__(self, d: DeploymentView) -> None:
        self.d = d
        self.scales: dict[str, ScaleReplicaSet] = {}
        self.deletes: list[DeleteReplicaSet] = []

    def scale(self, rs: RSView, replicas: int) -> RSView:
        annotations = {DESIRED_REPLICAS: str(self.d.replicas), MAX_REPLICAS: str(self.d.replicas + self.d.max_surge)}
        stale = any(rs.annotations.get(k) != v for k, v in annotations.items())
        if replicas == rs.replicas and not stale:
            return rs
        first = self.scales.get(rs.name)
        self.scales[rs.name] = ScaleReplicaSet(rs.name, replicas, annotations,
                                               first.old_replicas if first else rs.replicas)
        return dataclasses.replace(rs, replicas=replicas, annotations={**rs.annotations, **annotations})


def _by_age(rss: Sequence[RSView]) -> list[RSView]:
    return sorted(rss, key=lambda rs: (rs.created, rs.name))


# -- RollingUpdate --------------------------------------------------------------------------
def new_rs_replicas(d: DeploymentView, all_rss: Sequence[RSView], new: RSView | None) -> int:
    """NewRSNewReplicas: how far the new ReplicaSet may grow now."""
    current_new = new.replicas if new else 0
    if d.recreate:
        return d.replicas
    max_total = d.replicas + d.max_surge
    current = sum(rs.counted for rs in all_rss)
    if current >= max_total:
        return current_new
    return current_new + min(max_total - current, d.replicas - current_new)


def rolling(work: Work, new: RSView, olds: list[RSView]) -> bool:
    d = work.d
    if new.replicas != d.replicas:
        target = d.replicas if new.replicas > d.replicas else new_rs_replicas(d, [new, *olds], new)
        if target != new.replicas:
            work.scale(new, target)
            return True
    return _scale_down_old(work, new, olds)


def _scale_down_old(work: Work, new: RSView, olds: list[RSView]) -> bool:
    d = work.d
    if sum(rs.replicas for rs in olds) == 0:
        return False
    min_available = d.replicas - d.max_unavailable
    new_unavailable = new.replicas - new.sure_available
    max_down = sum(rs.replicas for rs in [new, *olds]) - min_available - new_unavailable
    if max_down <= 0:
        return False
    olds = _by_age(olds)
    cleaned = 0
    for i, rs in enumerate(olds):  # unhealthy replicas go first: they cost no availability
        if cleaned >= max_down:
            break
        unhealthy = rs.replicas - rs.sure_available
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        step = min(max_down - cleaned, unhealthy)
        olds[i] = work.scale(rs, rs.replicas - step)
        cleaned += step
    available = sum(rs.sure_available for rs in [new, *olds])
    budget, done = available - min_available, 0
    for i, rs in enumerate(olds):
        if done >= budget:
            break
        if rs.replicas == 0:
            continue
        step = min(rs.replicas, budget - done)
        olds[i] = work.scale(rs, rs.replicas - step)
        done += step
    return cleaned + max(done, 0) > 0


# -- Recreate --------------------------------------------------------------------------------
def recreate_scale_down(work: Work, olds: list[RSView]) -> bool:
    """Every old ReplicaSet to zero first."""
    changed = False
    for rs in olds:
        if rs.replicas > 0:
            work.scale(rs, 0)
            changed = True
    return changed


def old_pods_running(olds: Sequence[RSView]) -> bool:
    return any(rs.live > 0 or rs.actual > 0 for rs in olds)


# -- scaling (a replicas change, or paused) -----------------------------------------------------
def is_scaling_event(d: DeploymentView, rss: Sequence[RSView]) -> bool:
    for rs in rss:
        desired = rs.desired_annotation()
        if rs.replicas > 0 and desired is not None and desired != d.replicas:
            return True
    return False


def _active_or_latest(new: RSView | None, olds: Sequence[RSView]) -> RSView | None:
    if new is None and not olds:
        return None
    newest_first = sorted(olds, key=lambda rs: (rs.created, rs.name), reverse=True)
    active = [rs for rs in [*newest_first, new] if rs is not None and rs.replicas > 0]
    if not active:
        return new if new is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def scale(work: Work, new: RSView | None, olds: list[RSView], *, status_replicas: int) -> bool:
    """Kubernetes' scale(): one active ReplicaSet takes the new size; a saturated new
    one retires the old; otherwise the change is spread in proportion (RollingUpdate)."""
    d = work.d
    target = _active_or_latest(new, olds)
    if target is not None:
        if target.replicas == d.replicas:
            return False
        work.scale(target, d.replicas)
        return True
    if new is not None and new.replicas == d.replicas and new.desired_annotation() == d.replicas \
            and new.available == d.replicas:
        for rs in olds:
            if rs.replicas > 0:
                work.scale(rs, 0)
        return True
    if d.recreate:
        return False
    return _proportional(work, [rs for rs in [new, *olds] if rs is not None and rs.replicas > 0], status_replicas)


def _proportional(work: Work, active: list[RSView], status_replicas: int) -> bool:
    d = work.d
    allowed = d.replicas + d.max_surge if d.replicas > 0 else 0
    to_add = allowed - sum(rs.replicas for rs in active)
    if to_add > 0:  # larger first; newer first among equals
        active.sort(key=lambda rs: (-rs.replicas, -rs.created.timestamp(), rs.name))
    elif to_add < 0:  # larger first; older first among equals
        active.sort(key=lambda rs: (-rs.replicas, rs.created.timestamp(), rs.name))
    sizes, added = {}, 0
    for rs in active:
        part = _proportion(d, rs, to_add, added, status_replicas) if to_add else 0
        sizes[rs.name] = rs.replicas + part
        added += part
    if to_add and active and to_add != added:
        first = active[0].name
        sizes[first] = max(0, sizes[first] + to_add - added)
    for rs in active:
        work.scale(rs, sizes[rs.name])
    return bool(work.scales)


def _proportion(d: DeploymentView, rs: RSView, to_add: int, added: int, status_replicas: int) -> int:
    if rs.replicas == 0 or to_add == added:
        return 0
    if d.replicas == 0:
        fraction = -rs.replicas
    else:
        annotated = rs.max_annotation() or status_replicas or rs.replicas
        exact = rs.replicas * (d.replicas + d.max_surge) / max(annotated, 1)
        fraction = int(math.floor(exact + 0.5)) - rs.replicas  # Go's math.Round for positives
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# -- history ---------------------------------------------------------------------------------
def cleanup(work: Work, olds: Sequence[RSView]) -> None:
    """Delete the oldest empty old ReplicaSets beyond revisionHistoryLimit."""
    cleanable = [rs for rs in olds if not rs.deleting]
    surplus = len(cleanable) - work.d.revision_history_limit
    if surplus <= 0:
        return
    for rs in sorted(cleanable, key=lambda rs: (rs.revision, rs.created, rs.name))[:surplus]:
        if rs.replicas == 0 and rs.actual == 0 and rs.live == 0 and rs.name not in work.scales:
            work.deletes.append(DeleteReplicaSet(rs.name, rs.uid))


def describe_scale(s: ScaleReplicaSet) -> str:
    direction = "up" if s.replicas > s.old_replicas else "down"
    return f"Scaled {direction} replica set {s.name} from {s.old_replicas} to {s.replicas}"


__all__: list[Any] = ["Work", "rolling", "scale", "cleanup", "recreate_scale_down", "old_pods_running",
                      "is_scaling_event", "new_rs_replicas", "describe_scale"]
