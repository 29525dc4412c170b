"""Deployment status and its conditions, pure (Kubernetes' calculateStatus,
syncRolloutStatus and checkPausedConditions): counts from the ReplicaSets' pods,
Available (MinimumReplicasAvailable/Unavailable) and Progressing (NewReplicaSetCreated,
FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
DeploymentPaused, DeploymentResumed). Used by `deployment.reconcile`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.controllers.deployment.model import DeploymentView, RSView
from services.controllers.machinery.podview import parse_time

AVAILABLE, PROGRESSING = "Available", "Progressing"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
ORDER = {AVAILABLE: 0, PROGRESSING: 1}
Conditions = list[dict[str, Any]]


def ts(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(conds: Conditions, type_: str) -> dict[str, Any] | None:
    return next((c for c in conds if c.get("type") == type_), None)


def make_condition(type_: str, status: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    return {"type": type_, "status": status, "lastUpdateTime": ts(now), "lastTransitionTime": ts(now),
            "reason": reason, "message": message}


def set_condition(conds: Conditions, new: dict[str, Any]) -> Conditions:
    """SetDeploymentCondition: unchanged if status and reason are; keep the transition
    time while the status stays."""
    current = condition(conds, new["type"])
    if current and current.get("status") == new["status"] and current.get("reason") == new["reason"]:
        return conds
    if current and current.get("status") == new["status"]:
        new = {**new, "lastTransitionTime": current.get("lastTransitionTime", new["lastTransitionTime"])}
    rest = [c for c in conds if c.get("type") != new["type"]]
    return sorted([*rest, new], key=lambda c: ORDER.get(c.get("type", ""), 9))


def remove_condition(conds: Conditions, type_: str) -> Conditions:
    return [c for c in conds if c.get("type") != type_]


def calculate(d: DeploymentView, rss: Sequence[RSView], new: RSView | None, conds: Conditions,
              now: datetime, *, collision_count: int = 0) -> dict[str, Any]:
    available = sum(rs.available for rs in rss)
    unavailable = max(0, sum(rs.replicas for rs in rss) - available)
    status: dict[str, Any] = {
        "observedGeneration": d.generation, "replicas": sum(rs.actual for rs in rss),
        "updatedReplicas": new.actual if new else 0, "readyReplicas": sum(rs.ready for rs in rss),
        "availableReplicas": available, "unavailableReplicas": unavailable,
    }
    if collision_count:
        status["collisionCount"] = collision_count
    if available >= d.replicas - d.max_unavailable:
        cond = make_condition(AVAILABLE, "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now)
    else:
        cond = make_condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                              "Deployment does not have minimum availability.", now)
    status["conditions"] = set_condition(conds, cond)
    return status


def complete(d: DeploymentView, status: Mapping[str, Any]) -> bool:
    return (status.get("updatedReplicas") == d.replicas and status.get("replicas") == d.replicas
            and status.get("availableReplicas") == d.replicas
            and int(status.get("observedGeneration") or 0) >= d.generation)


def progressing(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    def g(s: Mapping[str, Any], k: str) -> int:
        return int(s.get(k) or 0)
    return (g(new, "updatedReplicas") > g(old, "updatedReplicas")
            or g(new, "replicas") - g(new, "updatedReplicas") < g(old, "replicas") - g(old, "updatedReplicas")
            or g(new, "readyReplicas") > g(old, "readyReplicas")
            or g(new, "availableReplicas") > g(old, "availableReplicas"))


def deadline_at(d: DeploymentView, conds: Conditions) -> datetime | None:
    """When the Progressing condition times out (None: no deadline or not running)."""
    cond = condition(conds, PROGRESSING)
    if d.progress_deadline_seconds is None or cond is None or cond.get("reason") in (NEW_RS_AVAILABLE, TIMED_OUT):
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    return since + timedelta(seconds=d.progress_deadline_seconds) if since else None


def timed_out(d: DeploymentView, conds: Conditions, now: datetime) -> bool:
    cond = condition(conds, PROGRESSING)
    if d.progress_deadline_seconds is None or cond is None:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    at = deadline_at(d, conds)
    return at is not None and at < now


def rollout_status(d: DeploymentView, rss: Sequence[RSView], new: RSView | None, conds: Conditions,
                   old_status: Mapping[str, Any], now: datetime, *, collision_count: int = 0) -> dict[str, Any]:
    """syncRolloutStatus: the counts plus the Progressing verdict."""
    status = calculate(d, rss, new, conds, now, collision_count=collision_count)
    conds = status["conditions"]
    if d.progress_deadline_seconds is None:
        status["conditions"] = remove_condition(conds, PROGRESSING)
        return status
    current = condition(conds, PROGRESSING)
    is_complete = (status["replicas"] == status["updatedReplicas"] and current is not None
                   and current.get("reason") == NEW_RS_AVAILABLE)
    if is_complete:
        return status
    what = f'ReplicaSet "{new.name}"' if new else f'Deployment "{d.name}"'
    if complete(d, status):
        name = new.name if new else d.name
        conds = set_condition(conds, make_condition(
            PROGRESSING, "True", NEW_RS_AVAILABLE, f'ReplicaSet "{name}" has successfully progressed.', now))
    elif progressing(status, old_status):
        cond = make_condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", now)
        if current is not None and current.get("status") == "True":
            cond["lastTransitionTime"] = current.get("lastTransitionTime", cond["lastTransitionTime"])
        conds = set_condition(remove_condition(conds, PROGRESSING), cond)
    elif timed_out(d, conds, now):
        conds = set_condition(conds, make_condition(PROGRESSING, "False", TIMED_OUT,
                                                    f"{what} has timed out progressing.", now))
    status["conditions"] = conds
    return status


def paused_conditions(d: DeploymentView, conds: Conditions, now: datetime) -> Conditions:
    """checkPausedConditions: Progressing Unknown while paused, and on resume."""
    if d.progress_deadline_seconds is None:
        return conds
    cond = condition(conds, PROGRESSING)
    if cond is not None and cond.get("reason") == TIMED_OUT:
        return conds
    paused_exists = cond is not None and cond.get("reason") == PAUSED
    if d.paused and not paused_exists:
        return set_condition(conds, make_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now))
    if not d.paused and paused_exists:
        return set_condition(conds, make_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now))
    return conds
