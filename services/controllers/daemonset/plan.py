"""The DaemonSet controller's plan (what `reconcile` decides: pods to create and delete,
the ControllerRevision to write, old ones to delete, the status, events) and the decision's
`Context` (the set, its template hash, node eligibility, its pods by node, now). Pure;
shared by `daemonset.reconcile` and `daemonset.rolling`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.daemonset import ON_DELETE, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL, DaemonSet, scaled_value
from services.controllers.daemonset.history import Revision
from services.controllers.daemonset.pods import DaemonPod, daemon_pod_body
from services.controllers.machinery.naming import pod_name


@dataclass(frozen=True, slots=True)
class PodCreate:
    name: str
    node: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PodDelete:
    name: str
    uid: str
    reason: str  # why, for the log
    force: bool = False  # grace period 0: its node is gone, no kubelet will confirm


@dataclass(frozen=True, slots=True)
class RevisionWrite:
    """A ControllerRevision to create (`body`) or renumber (`revision`, `resource_version`)."""

    name: str
    revision: int
    body: dict[str, Any] | None = None
    resource_version: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    reason: str
    message: str
    type: str = "Normal"


@dataclass(frozen=True)
class Plan:
    status: dict[str, Any]
    create: list[PodCreate] = field(default_factory=list)
    delete: list[PodDelete] = field(default_factory=list)
    revision: RevisionWrite | None = None
    delete_revisions: list[Revision] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None


@dataclass(frozen=True)
class Context:
    ds: DaemonSet
    template: dict[str, Any]
    hash: str
    generation: int | None
    fits: Mapping[str, tuple[bool, bool]]  # node -> (should run, should continue running)
    by_node: Mapping[str, list[DaemonPod]]  # node -> its pods, oldest first (not deleted terminal ones)
    now: datetime

    @property
    def min_ready(self) -> int:
        return (self.ds.spec.min_ready_seconds if self.ds.spec else None) or 0

    @property
    def surge_allowed(self) -> bool:
        return max_surge(self.ds, 1) > 0

    def updated(self, pod: DaemonPod) -> bool:
        """upstream's IsPodUpdated: the hash label, or the template generation label."""
        label = pod.pod.labels.get(TEMPLATE_GENERATION_LABEL)
        return pod.hash == self.hash or (self.explicit_generation and label == str(self.generation))

    @property
    def explicit_generation(self) -> bool:
        return TEMPLATE_GENERATION_ANNOTATION in (self.ds.metadata.annotations or {})


def max_surge(ds: DaemonSet, desired: int) -> int:
    strategy = ds.spec.update_strategy if ds.spec else None
    if strategy is None or strategy.type == ON_DELETE or strategy.rolling_update is None:
        return 0
    return scaled_value(strategy.rolling_update.max_surge, desired, round_up=True)


def max_unavailable(ds: DaemonSet, desired: int) -> int:
    strategy = ds.spec.update_strategy if ds.spec else None
    rolling = strategy.rolling_update if strategy is not None else None
    value = rolling.max_unavailable if rolling is not None and rolling.max_unavailable is not None else 1
    return scaled_value(value, desired, round_up=True)


def owner_reference(ds: DaemonSet) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds.metadata.name, "uid": ds.metadata.uid,
            "controller": True, "blockOwnerDeletion": True}


def new_pod(ctx: Context, node: str, taken: set[str]) -> PodCreate:
    ds = ctx.ds
    slot = 0
    while (name := pod_name(ds.metadata.name or "", f"{ds.metadata.uid}/{node}/{ctx.hash}", slot)) in taken:
        slot += 1
    taken.add(name)
    body = daemon_pod_body(name=name, namespace=ds.metadata.namespace or "default", node=node,
                           template=ctx.template, hash_=ctx.hash, generation=ctx.generation,
                           owner=owner_reference(ds))
    return PodCreate(name=name, node=node, body=body)
