"""The DaemonSet controller's one decision (upstream's syncDaemonSet: `manage`,
`rollingUpdate`, `constructHistory`, `cleanupHistory`, `updateDaemonSetStatus`):
the DaemonSet, the nodes, its pods and its ControllerRevisions, and *now*, in; a
`Plan` out. Pure; executed by `daemonset.service`.

- history: the current template's revision is created (or renumbered to the newest);
  a hash taken by a revision with other data bumps `status.collisionCount`;
- manage, per node: an eligible node without a pod gets one; a pod on a node that no
  longer takes it (or that is gone) is deleted; failed and succeeded pods are deleted
  (replaced once gone); without surge a node keeps only its oldest running pod; with
  surge its oldest new pod and, while that is not available, its oldest ready old pod;
- only when manage has nothing to do and no write is pending (expectations): the
  RollingUpdate step, upstream's: without surge old pods are deleted while at most
  maxUnavailable desired nodes are unavailable (an old pod that is not available may
  always go); with surge up to maxSurge new pods are made beside available old ones,
  and an old pod goes once the new one on its node is available;
- status counts over the nodes, as upstream's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from schemas.daemonset import DEFAULT_REVISION_HISTORY_LIMIT, ON_DELETE, REVISION_LABEL, TEMPLATE_GENERATION_ANNOTATION, DaemonSet
from schemas.pod import PodSpec
from services.controllers.daemonset.history import (
    Revision,
    history_to_delete,
    next_revision,
    revision_data,
    revision_name,
    split_history,
    template_hash,
)
from services.controllers.daemonset.nodes import NodeView, eligible
from services.controllers.daemonset.plan import (
    Context,
    Event,
    Plan,
    PodCreate,
    PodDelete,
    RevisionWrite,
    new_pod,
    owner_reference,
)
from services.controllers.daemonset.pods import DaemonPod, oldest_first
from services.controllers.daemonset.rolling import rolling_update

BURST = 250  # creations or deletions per sync (upstream's burstReplicas)


def reconcile(ds: DaemonSet, nodes: Sequence[NodeView], pods: Sequence[DaemonPod], revisions: Sequence[Revision],
              now: datetime, *, expectations_met: bool = True, observed: Mapping[str, Any] | None = None) -> Plan:
    """`pods`: those the DaemonSet controls; `observed`: the status last written (its
    collisionCount is kept)."""
    assert ds.spec is not None and ds.spec.template is not None, "admission requires spec.template"
    template = ds.spec.template.model_dump(by_alias=True, exclude_none=True, mode="json")
    collisions = int((observed or {}).get("collisionCount") or 0)
    data = revision_data(template)
    hash_ = template_hash(template, collisions)
    current, old = split_history(revisions, data)
    if current is None and any(r.name == revision_name(ds.metadata.name or "", hash_) for r in revisions):
        return Plan(status={**_status_of(observed), "collisionCount": collisions + 1}, requeue_after=0.0)
    if current is not None:
        hash_ = current.hash or hash_
    ctx = _context(ds, template, hash_, nodes, pods, now)
    revision = _revision_write(ds, template, hash_, data, current, old)
    status = _status(ctx, collisions)
    if not expectations_met:
        return Plan(status=status, revision=revision)
    creates, deletes, events = _manage(ctx, pods)
    if not creates and not deletes and _rolling(ds):
        creates, deletes = rolling_update(ctx)
    limit = ds.spec.revision_history_limit
    doomed = history_to_delete(old, DEFAULT_REVISION_HISTORY_LIMIT if limit is None else limit,
                               {p.hash for p in pods if p.hash})
    return Plan(status=status, create=creates[:BURST], delete=deletes[:BURST], revision=revision,
                delete_revisions=doomed, events=events, requeue_after=_requeue(ctx, pods))


def _context(ds: DaemonSet, template: dict[str, Any], hash_: str, nodes: Sequence[NodeView],
             pods: Sequence[DaemonPod], now: datetime) -> Context:
    assert ds.spec is not None and ds.spec.template is not None
    fits = eligible(nodes, ds.spec.template.spec or PodSpec())
    by_node: dict[str, list[DaemonPod]] = {}
    for pod in sorted(pods, key=oldest_first):
        if pod.node is not None and not (pod.pod.deleting and pod.terminal):
            by_node.setdefault(pod.node, []).append(pod)
    return Context(ds=ds, template=template, hash=hash_, generation=_generation(ds), fits=fits,
                    by_node=by_node, now=now)


def _generation(ds: DaemonSet) -> int | None:
    """The template generation: the deprecated annotation when set, else metadata.generation."""
    annotated = (ds.metadata.annotations or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    if annotated is not None and annotated.isdigit():
        return int(annotated)
    return ds.metadata.generation


def _rolling(ds: DaemonSet) -> bool:
    strategy = ds.spec.update_strategy if ds.spec else None
    return strategy is None or strategy.type != ON_DELETE


# -- history -------------------------------------------------------------------------------
def _revision_write(ds: DaemonSet, template: dict[str, Any], hash_: str, data: dict[str, Any],
                    current: Revision | None, old: Sequence[Revision]) -> RevisionWrite | None:
    number = next_revision(old)
    if current is not None:
        if current.revision >= number:
            return None
        return RevisionWrite(name=current.name, revision=number, resource_version=current.resource_version)
    name = revision_name(ds.metadata.name or "", hash_)
    labels = {**((template.get("metadata") or {}).get("labels") or {}), REVISION_LABEL: hash_}
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": ds.metadata.namespace or "default", "labels": labels,
                         "annotations": dict(ds.metadata.annotations or {}),  # change-cause, as upstream
                         "ownerReferences": [owner_reference(ds)]},
            "data": data, "revision": number}
    return RevisionWrite(name=name, revision=number, body=body)


# -- manage: one pod per node ----------------------------------------------------------------
def _manage(ctx: Context, pods: Sequence[DaemonPod]) -> tuple[list[PodCreate], list[PodDelete], list[Event]]:
    taken = {p.name for p in pods}
    creates: list[PodCreate] = []
    deletes: list[PodDelete] = []
    events: list[Event] = []
    for node in sorted(set(ctx.fits) | set(ctx.by_node)):
        run, keep = ctx.fits.get(node, (False, False))
        on_node = ctx.by_node.get(node, [])
        if run and not on_node:
            creates.append(new_pod(ctx, node, taken))
        elif keep:
            node_deletes, node_events, running = _prune(ctx, node, on_node)
            deletes += node_deletes
            events += node_events
            if ctx.surge_allowed and run and not running:
                creates.append(new_pod(ctx, node, taken))
        elif node not in ctx.fits:  # upstream leaves these to the pod GC, which Kafkube does not have
            deletes += [PodDelete(p.name, p.pod.uid, "node gone", force=True) for p in on_node]
        else:
            deletes += [PodDelete(p.name, p.pod.uid, "node does not take it") for p in on_node if not p.pod.deleting]
    return creates, deletes, events


def _prune(ctx: Context, node: str, on_node: list[DaemonPod]) -> tuple[list[PodDelete], list[Event], list[DaemonPod]]:
    """Failed/succeeded pods go; excess running ones too (upstream's podsShouldBeOnNode)."""
    deletes: list[PodDelete] = []
    events: list[Event] = []
    running: list[DaemonPod] = []
    for pod in on_node:
        if pod.pod.deleting:
            continue
        if pod.pod.phase == "Failed":
            deletes.append(PodDelete(pod.name, pod.pod.uid, "failed"))
            events.append(Event("FailedDaemonPod", f"Found failed daemon pod {pod.pod.namespace}/{pod.name} on node "
                                                   f"{node}, will try to kill it", "Warning"))
        elif pod.pod.phase == "Succeeded":
            deletes.append(PodDelete(pod.name, pod.pod.uid, "succeeded"))
        else:
            running.append(pod)
    if not ctx.surge_allowed:
        deletes += [PodDelete(p.name, p.pod.uid, "excess") for p in running[1:]]
        return deletes, events, running
    newest: DaemonPod | None = None
    oldest_old: DaemonPod | None = None
    for pod in running:
        if ctx.updated(pod) and newest is None:
            newest = pod
        elif not ctx.updated(pod) and oldest_old is None:
            oldest_old = pod
        else:
            deletes.append(PodDelete(pod.name, pod.pod.uid, "excess"))
    if newest is not None and oldest_old is not None:
        if not oldest_old.pod.ready or newest.available(ctx.min_ready, ctx.now):
            deletes.append(PodDelete(oldest_old.name, oldest_old.pod.uid, "replaced"))
    return deletes, events, running


# -- status ------------------------------------------------------------------------------------
def _status_of(observed: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(observed or {})


def _status(ctx: Context, collisions: int) -> dict[str, Any]:
    desired = current = misscheduled = ready = available = updated = 0
    for node, (run, _) in ctx.fits.items():
        pods = ctx.by_node.get(node, [])
        if not run:
            misscheduled += 1 if pods else 0
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = pods[0]
        ready += 1 if pod.pod.ready else 0
        available += 1 if pod.pod.available(ctx.min_ready, ctx.now) else 0  # a terminating one too, as upstream
        updated += 1 if ctx.updated(pod) else 0
    status: dict[str, Any] = {
        "currentNumberScheduled": current, "numberMisscheduled": misscheduled, "desiredNumberScheduled": desired,
        "numberReady": ready, "observedGeneration": ctx.ds.metadata.generation, "updatedNumberScheduled": updated,
        "numberAvailable": available, "numberUnavailable": desired - available}
    if collisions:
        status["collisionCount"] = collisions
    return status


def _requeue(ctx: Context, pods: Sequence[DaemonPod]) -> float | None:
    """When a ready pod becomes available (minReadySeconds)."""
    waits = [w for p in pods if (w := p.pod.available_in(ctx.min_ready, ctx.now)) is not None]
    return min(waits) if waits else None
