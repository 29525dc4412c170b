"""The RollingUpdate step of the DaemonSet controller (upstream's `rollingUpdate` and
`findUpdatedPodsOnNode`), run by `daemonset.reconcile` only when nothing else is to do
on any node and no write is pending. Without surge: old pods are deleted while at most
maxUnavailable desired nodes are unavailable. With surge: new pods beside available old
ones, at most maxSurge at a time; an old pod goes once its node's new pod is available.
Pure."""

from __future__ import annotations

from services.controllers.daemonset.pods import DaemonPod
from services.controllers.daemonset.plan import Context, PodCreate, PodDelete, max_surge, max_unavailable, new_pod


def _on_nodes(ctx: Context) -> dict[str, list[DaemonPod]]:
    """Existing nodes with pods, and the nodes that should run one (without any:
    unavailable). A gone node's pods count for nothing (they are being force-deleted)."""
    nodes = {node: list(pods) for node, pods in ctx.by_node.items() if node in ctx.fits}
    for node, (run, _) in ctx.fits.items():
        if run:
            nodes.setdefault(node, [])
    return nodes


def _split(ctx: Context, pods: list[DaemonPod]) -> tuple[DaemonPod | None, DaemonPod | None, bool]:
    """upstream's findUpdatedPodsOnNode: (new, old, at most one of each)."""
    new = old = None
    for pod in pods:
        if pod.pod.deleting:
            continue
        if ctx.updated(pod):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(ctx: Context) -> tuple[list[PodCreate], list[PodDelete]]:
    desired = sum(1 for run, _ in ctx.fits.values() if run)
    surge, unavailable = max_surge(ctx.ds, desired), max_unavailable(ctx.ds, desired)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    if surge == 0:
        return [], _replace_without_surge(ctx, unavailable)
    return _replace_with_surge(ctx, surge, desired)


def _replace_without_surge(ctx: Context, max_unavailable: int) -> list[PodDelete]:
    unavailable = 0
    allowed: list[DaemonPod] = []
    candidates: list[DaemonPod] = []
    for node, pods in sorted(_on_nodes(ctx).items()):
        new, old, ok = _split(ctx, pods)
        if not ok or (new is None) == (old is None):  # excess, none, or both: manage's business
            unavailable += 1
        elif new is not None:
            unavailable += 0 if new.available(ctx.min_ready, ctx.now) else 1
        elif old is not None and not old.available(ctx.min_ready, ctx.now):
            allowed.append(old)
            unavailable += 1
        elif old is not None and unavailable < max_unavailable:
            candidates.append(old)
    room = min(max(0, max_unavailable - unavailable), len(candidates))
    return [PodDelete(p.name, p.pod.uid, "rolling update") for p in allowed + candidates[:room]]


def _replace_with_surge(ctx: Context, max_surge: int, desired: int) -> tuple[list[PodCreate], list[PodDelete]]:
    deletes: list[PodDelete] = []
    leaving: list[DaemonPod] = []  # available old pods on nodes that no longer take them
    allowed: list[str] = []
    candidates: list[str] = []
    surging = available = 0
    for node, pods in sorted(_on_nodes(ctx).items()):
        new, old, ok = _split(ctx, pods)
        if not ok:
            surging += 1
            continue
        shown = old if old is not None else new
        available += 1 if shown is not None and shown.available(ctx.min_ready, ctx.now) else 0
        run = ctx.fits.get(node, (False, False))[0]
        if old is None:
            continue
        if new is None and not old.available(ctx.min_ready, ctx.now):
            if run:
                allowed.append(node)
            else:
                deletes.append(PodDelete(old.name, old.pod.uid, "rolling update"))
        elif new is None:
            if not run:
                leaving.append(old)
            elif surging < max_surge:
                candidates.append(node)
        elif not new.available(ctx.min_ready, ctx.now):
            surging += 1
        else:
            deletes.append(PodDelete(old.name, old.pod.uid, "rolling update"))
    deletable = min(max(0, available - desired), len(leaving))
    deletes += [PodDelete(p.name, p.pod.uid, "rolling update") for p in leaving[:deletable]]
    room = min(max(0, max_surge - surging), len(candidates))
    taken = {p.name for pods in ctx.by_node.values() for p in pods}
    return [new_pod(ctx, node, taken) for node in allowed + candidates[:room]], deletes
