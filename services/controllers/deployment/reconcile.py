"""The Deployment reconcile, pure: the Deployment, the ReplicaSets and pods of its
namespace and *now* in, a `Plan` out. Called by `deployment.controller` per key,
and by the tests (which drive whole rollouts with a simulated kubelet).

Order of one sync (Kubernetes' syncDeployment): claim ReplicaSets (adopt orphans
that match the selector); find the new ReplicaSet (template equal ignoring
pod-template-hash) and sync its revision; then, if paused or on a replicas change,
only scale (proportionally) — else roll out by the strategy (RollingUpdate or
Recreate); clean up history once complete; compute the status and conditions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.rollout import CHANGE_CAUSE, DESIRED_REPLICAS, HASH_LABEL, MAX_REPLICAS, REVISION, equal_ignoring_hash
from services.controllers.deployment import rollout
from services.controllers.deployment import status as st
from services.controllers.deployment.hashing import template_hash, with_hash
from services.controllers.deployment.model import DeploymentView, RSView, claimable, deployment_view, rs_view
from services.controllers.deployment.rollout import DeleteReplicaSet, ScaleReplicaSet, Work
from services.controllers.machinery.podview import PodView


@dataclass(frozen=True, slots=True)
class CreateReplicaSet:
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PatchReplicaSet:
    """Metadata only: the revision annotations, ownerReferences (adoption)."""

    name: str
    patch: dict[str, Any]
    resource_version: str | None = None


@dataclass(frozen=True, slots=True)
class AnnotateDeployment:
    annotations: dict[str, str]
    resource_version: str | None


@dataclass(frozen=True, slots=True)
class WriteStatus:
    status: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclass(frozen=True, slots=True)
class Plan:
    create: tuple[CreateReplicaSet, ...] = ()
    patch: tuple[PatchReplicaSet, ...] = ()
    scale: tuple[ScaleReplicaSet, ...] = ()
    delete: tuple[DeleteReplicaSet, ...] = ()
    annotate: AnnotateDeployment | None = None
    status: WriteStatus | None = None
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None

    @property
    def writes(self) -> list[Any]:
        tail = [x for x in (self.annotate, self.status) if x is not None]
        return [*self.create, *self.patch, *self.scale, *self.delete, *tail]

    @property
    def empty(self) -> bool:
        return not self.writes


@dataclass
class _Sync:
    """The mutable scratch state of one reconcile (never cached objects)."""

    d: DeploymentView
    now: datetime
    old_status: Mapping[str, Any]
    work: Work
    conds: list[dict[str, Any]]
    collision: int
    create: list[CreateReplicaSet] = field(default_factory=list)
    patch: list[PatchReplicaSet] = field(default_factory=list)
    annotate: dict[str, str] = field(default_factory=dict)


def reconcile(deployment: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]], pods: Sequence[PodView],
              now: datetime, *, current_status: Mapping[str, Any] | None = None,
              expectations_met: bool = True) -> Plan:
    d = deployment_view(deployment)
    old_status = dict(current_status or {})
    by_owner: dict[str, list[PodView]] = {}
    for pod in pods:
        if pod.owner is not None:
            by_owner.setdefault(pod.owner.uid, []).append(pod)
    # Only this Deployment's ReplicaSets and orphans it may adopt are viewed; of the
    # others (150 Deployments in a namespace: 149 of every 150) only the names count.
    views = [rs_view(o, by_owner.get((o.get("metadata") or {}).get("uid") or "", ()), d.min_ready_seconds, now)
             for o in replicasets if claimable(o, d.uid)]
    taken = frozenset(str((o.get("metadata") or {}).get("name")) for o in replicasets)
    s = _Sync(d, now, old_status, Work(d), list(old_status.get("conditions") or []),
              int(old_status.get("collisionCount") or 0))
    owned = _claim(s, views)
    new = next((rs for rs in owned if equal_ignoring_hash(rs.template, d.template)), None)
    olds = [rs for rs in owned if rs is not new]
    if d.deleting or not expectations_met:
        status = st.calculate(d, owned, new, s.conds, now, collision_count=s.collision)
    else:
        status = _sync(s, taken, new, olds)
    return _plan(s, status, owned, by_owner)


def _claim(s: _Sync, views: Sequence[RSView]) -> list[RSView]:
    owned = []
    for rs in views:
        if rs.owner_uid == s.d.uid:
            owned.append(rs)
        elif rs.owner_uid is None and not rs.deleting and not s.d.deleting and s.d.selector.matches(dict(rs.labels)):
            refs = [*rs.owner_refs, s.d.owner_reference()]
            s.patch.append(PatchReplicaSet(rs.name, {"metadata": {"ownerReferences": refs}}, rs.resource_version))
            owned.append(rs)
    return sorted(owned, key=lambda rs: (rs.created, rs.name))


def _sync(s: _Sync, taken: frozenset[str], new: RSView | None, olds: list[RSView]) -> dict[str, Any]:
    d = s.d
    s.conds = st.paused_conditions(d, s.conds, s.now)
    if new is not None:
        new = _sync_revision(s, new, olds)
    if d.paused or rollout.is_scaling_event(d, [rs for rs in [new, *olds] if rs]):
        rollout.scale(s.work, new, olds, status_replicas=int(s.old_status.get("replicas") or 0))
        if d.paused:
            rollout.cleanup(s.work, olds)
        return st.calculate(d, _after(s, [new, *olds]), new, s.conds, s.now, collision_count=s.collision)
    if new is None and (not d.recreate or not (rollout.recreate_scale_down(s.work, olds)
                                               or rollout.old_pods_running(olds))):
        return _create_new(s, taken, olds)
    if d.recreate:
        _recreate(s, new, olds)
    elif new is not None and not rollout.rolling(s.work, new, olds):
        _cleanup_if_complete(s, new, olds)
    return _rollout_status(s, new, olds)


def _recreate(s: _Sync, new: RSView | None, olds: list[RSView]) -> None:
    if new is None or rollout.recreate_scale_down(s.work, olds) or rollout.old_pods_running(olds):
        return
    if new.replicas != s.d.replicas:
        s.work.scale(new, s.d.replicas)
        return
    _cleanup_if_complete(s, new, olds)


def _cleanup_if_complete(s: _Sync, new: RSView, olds: list[RSView]) -> None:
    if st.complete(s.d, st.calculate(s.d, [new, *olds], new, s.conds, s.now)):
        rollout.cleanup(s.work, olds)


def _rollout_status(s: _Sync, new: RSView | None, olds: list[RSView]) -> dict[str, Any]:
    rss = _after(s, [new, *olds])
    new_after = next((rs for rs in rss if new is not None and rs.name == new.name), None)
    return st.rollout_status(s.d, rss, new_after, s.conds, s.old_status, s.now, collision_count=s.collision)


def _after(s: _Sync, rss: Sequence[RSView | None]) -> list[RSView]:
    """The views with this sync's scalings applied to their spec."""
    out = []
    for rs in rss:
        if rs is None:
            continue
        scaled = s.work.scales.get(rs.name)
        out.append(replace(rs, replicas=scaled.replicas) if scaled else rs)
    return out


# -- the new ReplicaSet ---------------------------------------------------------------------------
def _next_revision(olds: Sequence[RSView]) -> int:
    return max((rs.revision for rs in olds), default=0) + 1


def _sync_revision(s: _Sync, new: RSView, olds: list[RSView]) -> RSView:
    """The new ReplicaSet carries the highest revision; the Deployment mirrors it."""
    revision = max(new.revision, _next_revision(olds))
    wanted = {REVISION: str(revision)}
    if CHANGE_CAUSE in s.d.annotations:
        wanted[CHANGE_CAUSE] = s.d.annotations[CHANGE_CAUSE]
    missing = {k: v for k, v in wanted.items() if new.annotations.get(k) != v}
    if missing:
        s.patch.append(PatchReplicaSet(new.name, {"metadata": {"annotations": missing}}))
        new = replace(new, annotations={**new.annotations, **missing})
    _mirror_revision(s, revision)
    if st.condition(s.conds, st.PROGRESSING) is None and s.d.progress_deadline_seconds is not None:
        s.conds = st.set_condition(s.conds, st.make_condition(
            st.PROGRESSING, "True", st.FOUND_NEW_RS, f'Found new replica set "{new.name}"', s.now))
    return new


def _mirror_revision(s: _Sync, revision: int) -> None:
    if s.d.annotations.get(REVISION) != str(revision):
        s.annotate[REVISION] = str(revision)


def _create_new(s: _Sync, taken: frozenset[str], olds: list[RSView]) -> dict[str, Any]:
    """`taken`: the names of every ReplicaSet of the namespace."""
    d = s.d
    hash_ = template_hash(d.template, s.collision)
    name = f"{d.name}-{hash_}"
    if name in taken:  # by another template: a hash collision
        s.collision += 1
        return st.calculate(d, olds, None, s.conds, s.now, collision_count=s.collision)
    revision = _next_revision(olds)
    replicas = rollout.new_rs_replicas(d, olds, None)
    s.create.append(CreateReplicaSet(name, new_rs_body(d, name, hash_, replicas, revision)))
    _mirror_revision(s, revision)
    if d.progress_deadline_seconds is not None:
        s.conds = st.set_condition(s.conds, st.make_condition(
            st.PROGRESSING, "True", st.NEW_RS_CREATED, f'Created new replica set "{name}"', s.now))
    return st.calculate(d, olds, None, s.conds, s.now, collision_count=s.collision)


def new_rs_body(d: DeploymentView, name: str, hash_: str, replicas: int, revision: int) -> dict[str, Any]:
    template = with_hash(d.template, hash_)
    selector = d.selector.model_dump(by_alias=True, exclude_none=True, mode="json")
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: hash_}
    annotations = {REVISION: str(revision), DESIRED_REPLICAS: str(d.replicas),
                   MAX_REPLICAS: str(d.replicas + d.max_surge)}
    if CHANGE_CAUSE in d.annotations:
        annotations[CHANGE_CAUSE] = d.annotations[CHANGE_CAUSE]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": d.namespace, "labels": template["metadata"]["labels"],
                         "annotations": annotations, "ownerReferences": [d.owner_reference()]},
            "spec": {"replicas": replicas, "minReadySeconds": d.min_ready_seconds, "selector": selector,
                     "template": template}}


# -- the plan ----------------------------------------------------------------------------------
def _plan(s: _Sync, status: dict[str, Any], owned: Sequence[RSView],
          by_owner: Mapping[str, Sequence[PodView]]) -> Plan:
    d = s.d
    scales = tuple(s.work.scales.values())
    events = [Event("ScalingReplicaSet", rollout.describe_scale(x)) for x in scales if x.replicas != x.old_replicas]
    events += [Event("ScalingReplicaSet", f"Scaled up replica set {c.name} from 0 to {c.body['spec']['replicas']}")
               for c in s.create]
    events += [Event("DeletedReplicaSet", f"Deleted replica set {x.name}")
               for x in s.work.deletes]
    if st.condition(status.get("conditions") or [], st.PROGRESSING) != st.condition(
            list(s.old_status.get("conditions") or []), st.PROGRESSING):
        cond = st.condition(status["conditions"], st.PROGRESSING)
        if cond and cond.get("reason") == st.TIMED_OUT:
            events.append(Event("ProgressDeadlineExceeded", cond.get("message", ""), "Warning"))
    annotate = AnnotateDeployment(s.annotate, d.resource_version) if s.annotate else None
    return Plan(create=tuple(s.create), patch=tuple(s.patch), scale=scales, delete=tuple(s.work.deletes),
                annotate=annotate, status=WriteStatus(status) if status != s.old_status else None,
                events=tuple(events), requeue_after=_requeue(s, status, owned, by_owner))


def _requeue(s: _Sync, status: Mapping[str, Any], owned: Sequence[RSView],
             by_owner: Mapping[str, Sequence[PodView]]) -> float | None:
    waits: list[float] = []
    for p in (p for rs in owned for p in by_owner.get(rs.uid, ())):
        if p.active:
            t = p.available_in(s.d.min_ready_seconds, s.now)
            if t is not None:
                waits.append(t)
    deadline = st.deadline_at(s.d, list(status.get("conditions") or []))
    if deadline is not None and not s.d.paused:
        waits.append(max(0.0, (deadline - s.now).total_seconds()) + 1.0)
    return min(waits) if waits else None
