"""Node lifecycle decisions, pure: one node's desired record, its latest observed
status record and the desired pods bound to it, plus *now*, give a `Plan`:

- heartbeat older than the grace period while the kubelet still holds the observed
  record → `MarkUnknown` (the controller writes Ready=Unknown, the handoff) and a
  NodeNotReady event;
- the node's condition decides the controller's taints in its desired spec:
  Unknown → `node.kubernetes.io/unreachable` NoSchedule+NoExecute, False →
  `node.kubernetes.io/not-ready` NoSchedule+NoExecute, True → none (`SetTaints`);
- a pod that does not tolerate a NoExecute taint, or tolerates it for
  tolerationSeconds, is evicted at the taint's timeAdded + those seconds (`Evict`,
  forced — grace period 0 — when the node is unreachable: no kubelet will confirm);
- `requeue_after`: when the next deadline (staleness, eviction) falls due.

Called by `services.controllers.nodelifecycle.service` once per node key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from schemas.core import Node, Taint
from schemas.pod import Pod, Toleration
from schemas.records import Observed

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
OWN_TAINT_KEYS = (UNREACHABLE, NOT_READY)
EFFECTS: tuple[Literal["NoSchedule"], Literal["NoExecute"]] = ("NoSchedule", "NoExecute")
WRITER = "node-controller"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
Ready = Literal["True", "False", "Unknown"]


@dataclass(frozen=True, slots=True)
class Config:
    grace_s: float = 40.0  # KAFKUBE_NODE_MONITOR_GRACE_SECONDS
    default_toleration_s: float = 300.0  # KAFKUBE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS
    max_evictions: int = 50  # per sync

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Config":
        return cls(grace_s=float(env.get("KAFKUBE_NODE_MONITOR_GRACE_SECONDS", "40")),
                   default_toleration_s=float(env.get("KAFKUBE_DEFAULT_UNREACHABLE_TOLERATION_SECONDS", "300")))


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What one sync of one node reads from the caches."""

    node: Node
    observed: Observed | None
    pods: Sequence[Pod] = ()


# -- actions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MarkUnknown:
    """Write the node's observed status with every condition Unknown (writer node-controller)."""

    node: str
    uid: str | None
    status: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SetTaints:
    """PATCH the desired node's spec.taints to exactly `taints`."""

    node: str
    resource_version: str | None
    taints: tuple[Taint, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Evict:
    namespace: str
    name: str
    uid: str | None
    resource_version: str | None
    force: bool  # grace period 0: the node's kubelet cannot confirm


@dataclass(frozen=True, slots=True)
class Emit:
    reason: str
    message: str
    involved: dict[str, Any]
    type_: Literal["Normal", "Warning"] = "Normal"


Action = MarkUnknown | SetTaints | Evict | Emit


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...] = ()
    requeue_after: float | None = None  # seconds until the next deadline
    ready: Ready | None = None  # the condition the plan was made for
    evictions: tuple[Evict, ...] = field(default=())


# -- the decision --------------------------------------------------------------------------
def reconcile(facts: NodeFacts, now: datetime, config: Config = Config()) -> Plan:
    node = facts.node
    name = node.metadata.name or ""
    heartbeat = last_heartbeat(facts)
    stale = now - heartbeat > timedelta(seconds=config.grace_s)
    ready = readiness(facts.observed, stale=stale)
    actions: list[Action] = []
    deadlines: list[datetime] = [] if stale else [heartbeat + timedelta(seconds=config.grace_s)]
    if stale and not _ours(facts.observed):
        actions.append(MarkUnknown(name, node.metadata.uid, unknown_status(facts.observed, now)))
        actions.append(Emit("NodeNotReady", f"Node {name} status is now: NodeNotReady",
                            _node_ref(node)))
    current = tuple(node.spec.taints or ()) if node.spec else ()
    wanted = wanted_taints(current, ready, now)
    if wanted != current:
        actions.append(_set_taints(node, current, wanted))
    standing = tuple(t for t in current if t in wanted)  # on the node and staying there
    evictions, next_due = plan_evictions(facts.pods, standing, now, config,
                                         force=ready == "Unknown")
    for evict in evictions:
        actions += [evict, Emit("TaintManagerEviction",
                                f"Marking for deletion Pod {evict.namespace}/{evict.name}",
                                _pod_ref(evict))]
    deadlines += [next_due] if next_due else []
    return Plan(tuple(actions), _seconds_until(deadlines, now), ready, tuple(evictions))


def pods_matter(facts: NodeFacts, now: datetime, config: Config = Config()) -> bool:
    """Whether the node's pods can change its plan: only a NoExecute taint on the node
    or an unreachable node evicts. The service reads the pods only then."""
    stale = now - last_heartbeat(facts) > timedelta(seconds=config.grace_s)
    if readiness(facts.observed, stale=stale) == "Unknown":
        return True
    return any(t.effect == "NoExecute" for t in (facts.node.spec.taints or () if facts.node.spec else ()))


def last_heartbeat(facts: NodeFacts) -> datetime:
    """When the kubelet last posted: its record's observedAt; once the controller has
    taken the record over, the Ready condition's lastHeartbeatTime it kept; with no
    record at all, the node's creation."""
    observed, created = facts.observed, facts.node.metadata.creation_timestamp
    if observed is None:
        return created or EPOCH
    if _ours(observed):
        stamp = _condition(observed.status, "Ready").get("lastHeartbeatTime")
        return _parse(stamp) or created or EPOCH
    return observed.observed_at


def readiness(observed: Observed | None, *, stale: bool) -> Ready | None:
    """The node's Ready condition as the controller sees it (None: not known yet)."""
    if stale or _ours(observed):
        return "Unknown"
    if observed is None:
        return None
    status = _condition(observed.status, "Ready").get("status")
    return status if status in ("True", "False", "Unknown") else "Unknown"


def unknown_status(observed: Observed | None, now: datetime) -> dict[str, Any]:
    """The kubelet's last status with every condition Unknown, as the node controller
    writes it; lastHeartbeatTime is kept (it is the staleness clock)."""
    base = dict(observed.status) if observed else {}
    conditions = [c for c in base.get("conditions") or [] if isinstance(c, dict)]
    reason, message = "NodeStatusUnknown", "Kubelet stopped posting node status."
    if not conditions:
        conditions = [{"type": "Ready"}]
        reason, message = "NodeStatusNeverUpdated", "Kubelet never posted node status."
    stamp = _ts(now)
    base["conditions"] = [{**c, "status": "Unknown", "reason": reason, "message": message,
                           "lastTransitionTime": stamp if c.get("status") != "Unknown"
                           else c.get("lastTransitionTime", stamp)} for c in conditions]
    return base


def wanted_taints(current: tuple[Taint, ...], ready: Ready | None, now: datetime) -> tuple[Taint, ...]:
    """The node's taints with the controller's own set to what `ready` calls for;
    other taints, and the timeAdded of taints that stay, are kept."""
    if ready is None:
        return current
    key = {"Unknown": UNREACHABLE, "False": NOT_READY}.get(ready)
    kept = [t for t in current if t.key not in OWN_TAINT_KEYS or (t.key == key and t.effect in EFFECTS)]
    for effect in EFFECTS:
        if key and not any(t.key == key and t.effect == effect for t in kept):
            kept.append(Taint(key=key, effect=effect, time_added=now))
    return tuple(kept)


# -- evictions -----------------------------------------------------------------------------
def plan_evictions(pods: Iterable[Pod], taints: Sequence[Taint], now: datetime, config: Config,
                   *, force: bool) -> tuple[list[Evict], datetime | None]:
    """The pods due for eviction now (at most max_evictions, by key) and the next
    deadline of the others (None: no pod is ever due)."""
    due: list[Evict] = []
    later: list[datetime] = []
    for pod in sorted(pods, key=lambda p: (p.metadata.namespace or "", p.metadata.name or "")):
        deadline = eviction_deadline(pod, taints, config.default_toleration_s, force=force)
        if deadline is None:
            continue
        if deadline > now:
            later.append(deadline)
        elif len(due) < config.max_evictions:
            meta = pod.metadata
            due.append(Evict(meta.namespace or "default", meta.name or "", meta.uid,
                             meta.resource_version, force))
        else:
            later.append(now)
    return due, min(later, default=None)


def eviction_deadline(pod: Pod, taints: Sequence[Taint], default_toleration_s: float, *,
                      force: bool) -> datetime | None:
    """When `pod` must leave a node with `taints` (None: never). A pod already being
    deleted is left to its kubelet, unless the node is unreachable (`force`): then
    it is removed when its grace period ends, or earlier at its toleration's end."""
    tolerations = pod.spec.tolerations if pod.spec else None
    deadlines = []
    for taint in taints:
        if taint.effect != "NoExecute":
            continue
        seconds = toleration_seconds(tolerations or (), taint, default_toleration_s)
        if seconds is not None:
            deadlines.append((taint.time_added or EPOCH) + timedelta(seconds=max(0.0, seconds)))
    meta = pod.metadata
    if meta.deletion_timestamp is not None:
        if not force:
            return None
        deadlines.append(meta.deletion_timestamp + timedelta(seconds=meta.deletion_grace_period_seconds or 0))
    return min(deadlines, default=None)


def toleration_seconds(tolerations: Iterable[Toleration], taint: Taint,
                       default_s: float) -> float | None:
    """How long a pod with `tolerations` stays on a node with the NoExecute `taint`:
    0 if no toleration matches (the controller's own taints: `default_s`, as
    Kubernetes' DefaultTolerationSeconds admission adds), the smallest
    tolerationSeconds of the matching ones, or None (forever) if none sets one."""
    matching = [t for t in tolerations if t.tolerates(taint)]
    if not matching:
        return default_s if taint.key in OWN_TAINT_KEYS else 0.0
    finite = [float(t.toleration_seconds) for t in matching if t.toleration_seconds is not None]
    return min(finite) if finite else None




# -- helpers -------------------------------------------------------------------------------
def _ours(observed: Observed | None) -> bool:
    return observed is not None and observed.writer == WRITER


def _set_taints(node: Node, current: tuple[Taint, ...], wanted: tuple[Taint, ...]) -> SetTaints:
    added = tuple(f"{t.key}:{t.effect}" for t in wanted if t not in current)
    removed = tuple(f"{t.key}:{t.effect}" for t in current if t not in wanted)
    return SetTaints(node.metadata.name or "", node.metadata.resource_version, wanted, added, removed)


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == type_:
            return condition
    return {}


def _node_ref(node: Node) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "name": node.metadata.name,
            **({"uid": node.metadata.uid} if node.metadata.uid else {})}


def _pod_ref(evict: Evict) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "namespace": evict.namespace, "name": evict.name,
            **({"uid": evict.uid} if evict.uid else {})}


def _seconds_until(deadlines: list[datetime], now: datetime) -> float | None:
    if not deadlines:
        return None
    return max(0.0, (min(deadlines) - now).total_seconds()) + 0.05


def _parse(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _ts(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
