"""The ReplicaSet / ReplicationController reconcile, pure: a `Workload`, the pods of
its namespace and *now* in, a `Plan` of typed actions out (nothing on converged
state). Called by `replicaset.controller` for every key it syncs, and by the tests.

Rules (Kubernetes' ReplicaSet controller): claim pods (adopt orphans that match the
selector, release owned pods that stopped matching); count active owned pods
(terminating and finished ones do not count, but their names stay taken); create
the missing ones under deterministic names (`naming`), in slow-start batches, at
most BURST per sync; delete the surplus in ActivePods order; never create or delete
while earlier creates/deletes are still unseen (expectations); compute the status.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.controllers.machinery.naming import free_names
from services.controllers.machinery.podview import PodView, deletion_rank
from services.controllers.replicaset.workload import Workload

BURST = 500  # most creations or deletions in one sync (Kubernetes' burstReplicas)
SLOW_START_INITIAL = 1


@dataclass(frozen=True, slots=True)
class CreatePod:
    name: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeletePod:
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class AdoptPod:
    """Merge-patch the pod's ownerReferences to `owner_refs` (ours appended)."""

    name: str
    owner_refs: tuple[dict[str, Any], ...]
    resource_version: str | None


@dataclass(frozen=True, slots=True)
class ReleasePod:
    """Merge-patch the pod's ownerReferences to `owner_refs` (ours removed)."""

    name: str
    owner_refs: tuple[dict[str, Any], ...]
    resource_version: str | None


@dataclass(frozen=True, slots=True)
class WriteStatus:
    status: dict[str, Any]


Action = CreatePod | DeletePod | AdoptPod | ReleasePod | WriteStatus


@dataclass(frozen=True, slots=True)
class Plan:
    adopt: tuple[AdoptPod, ...] = ()
    release: tuple[ReleasePod, ...] = ()
    create: tuple[CreatePod, ...] = ()
    delete: tuple[DeletePod, ...] = ()
    status: WriteStatus | None = None
    requeue_after: float | None = None  # a pod becomes available then
    diff: int = 0  # active - desired, before this plan (for logs)

    @property
    def actions(self) -> list[Action]:
        tail: list[Action] = [self.status] if self.status else []
        return [*self.adopt, *self.release, *self.create, *self.delete, *tail]

    @property
    def empty(self) -> bool:
        return not self.actions

    @property
    def create_batches(self) -> list[tuple[CreatePod, ...]]:
        return slow_start(self.create)


def slow_start(items: Sequence[CreatePod], initial: int = SLOW_START_INITIAL) -> list[tuple[CreatePod, ...]]:
    """Batches of 1, 2, 4, ... (the executor stops at the first batch with a failure)."""
    batches, start, size = [], 0, initial
    while start < len(items):
        batches.append(tuple(items[start:start + size]))
        start += size
        size *= 2
    return batches


def reconcile(w: Workload, pods: Sequence[PodView], now: datetime, *,
              current_status: Mapping[str, Any] | None = None,
              expectations_met: bool = True, burst: int = BURST,
              taken: Container[str] | None = None) -> Plan:
    """`pods`: the workload's own pods and the orphans of its namespace (others are
    ignored); `taken`: every pod name in the namespace (default: those of `pods`)."""
    owned, adopt, release = claim(w, pods)
    active = [p for p in owned if p.active]
    diff = len(active) - w.replicas
    create: tuple[CreatePod, ...] = ()
    delete: tuple[DeletePod, ...] = ()
    if expectations_met and not w.deleting:
        if diff < 0:
            names = free_names(w.name, w.uid, taken if taken is not None else {p.name for p in pods},
                               min(-diff, burst))
            create = tuple(CreatePod(n, pod_body(w, n)) for n in names)
        elif diff > 0:
            victims = sorted(active, key=lambda p: deletion_rank(p, now))[:min(diff, burst)]
            delete = tuple(DeletePod(p.name, p.uid) for p in victims)
    status = compute_status(w, active, now, current_status)
    write = WriteStatus(status) if status != dict(current_status or {}) else None
    waits = [t for p in active if (t := p.available_in(w.min_ready_seconds, now)) is not None] \
        if w.min_ready_seconds > 0 else []  # with none, a ready pod is available at once
    return Plan(adopt=adopt, release=release, create=create, delete=delete, status=write,
                requeue_after=min(waits) if waits else None, diff=diff)


def claim(w: Workload, pods: Sequence[PodView]) -> tuple[list[PodView], tuple[AdoptPod, ...], tuple[ReleasePod, ...]]:
    """The pods this workload controls after adoption and release (ClaimPods)."""
    owned: list[PodView] = []
    adopt: list[AdoptPod] = []
    release: list[ReleasePod] = []
    for pod in pods:
        matches = w.matches(pod.labels)
        if pod.owner is not None and pod.owner.uid == w.uid:
            if matches:
                owned.append(pod)
            elif not pod.deleting:
                refs = tuple(r for r in pod.owner_refs if r.get("uid") != w.uid)
                release.append(ReleasePod(pod.name, refs, pod.resource_version))
        elif pod.owner is None and matches and pod.active and not w.deleting:
            adopt.append(AdoptPod(pod.name, (*pod.owner_refs, w.owner_reference()), pod.resource_version))
            owned.append(pod)
    return owned, tuple(adopt), tuple(release)


def pod_body(w: Workload, name: str) -> dict[str, Any]:
    """The pod a workload creates: the template, named and owned."""
    template_meta = w.template.get("metadata") or {}
    meta: dict[str, Any] = {"name": name, "namespace": w.namespace,
                            "ownerReferences": [w.owner_reference()]}
    for field_name in ("labels", "annotations", "finalizers"):
        if template_meta.get(field_name):
            meta[field_name] = template_meta[field_name]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": dict(w.template.get("spec") or {})}


def compute_status(w: Workload, active: Sequence[PodView], now: datetime,
                   current: Mapping[str, Any] | None) -> dict[str, Any]:
    template_labels, min_ready = w.template_labels.items(), w.min_ready_seconds
    fully_labeled = ready = available = 0
    for p in active:  # one pass: a ReplicaSet of 1,000 pods is counted at every pod event
        if template_labels <= p.labels.items():
            fully_labeled += 1
        if p.ready_since is not None:
            ready += 1
            if min_ready <= 0 or p.available(min_ready, now):
                available += 1
    status: dict[str, Any] = {
        "replicas": len(active),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": w.generation,
    }
    conditions = (current or {}).get("conditions")
    if conditions:
        status["conditions"] = conditions
    return status
