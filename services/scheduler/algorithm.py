"""One scheduling decision: filter the nodes, score the feasible ones, pick the best
(ties: the first by name, so every replica decides alike on the same view).

Like kube-scheduler (`percentageOfNodesToScore`, adaptive), filtering stops once
`feasible_nodes_to_find(N)` nodes fit: all of them below 100 nodes, else
50 % - N/125 % of them (at least 5 %, at least 100 nodes). The walk over the nodes
(sorted by name, wrapping around) starts at an index derived from the pod key by a
stable hash (crc32), not from a per-process counter, so replicas with the same view
still decide alike while pods are spread over the cluster. When nothing fits every
node was filtered, so the FitError message counts all N.

`schedule(pod, snapshot) -> Bound | Unschedulable`: value in, value out. The
message of `Unschedulable` is kube-scheduler's FitError text. Called by the
service's worker; the property tests drive it directly.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.scheduler.columns import Indices, NodeColumns, walk
from services.scheduler.filters import feasibility, run_filters
from services.scheduler.model import NodeInfo, PodRequest
from services.scheduler.scores import default_total_scores
from services.scheduler.snapshot import ClusterSnapshot, NodeUsage

NO_NODES = "no nodes available to schedule pods"
# kube-scheduler's defaults (pkg/scheduler/schedule_one.go: numFeasibleNodesToFind).
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50


@dataclass(frozen=True, slots=True)
class Bound:
    node: str
    score: int = 0
    feasible: int = 1


@dataclass(frozen=True, slots=True)
class Unschedulable:
    message: str
    reasons: tuple[tuple[str, int], ...] = ()  # (reason, number of nodes)


Decision = Bound | Unschedulable
NodeCheck = Callable[[NodeInfo], list[str]]  # a filter after the default ones (VolumeBinding)


def feasible_nodes_to_find(total: int) -> int:
    """How many feasible nodes are enough: kube-scheduler's adaptive
    percentageOfNodesToScore (50 % - total/125 %, at least 5 %, at least 100 nodes)."""
    if total < MIN_FEASIBLE_NODES_TO_FIND:
        return total
    percentage = max(BASE_PERCENTAGE_OF_NODES_TO_SCORE - total // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    return max(total * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def start_index(key: str, total: int) -> int:
    """Where the walk over the sorted nodes starts for this pod: a stable hash of its
    key (the same in every replica and process, unlike `hash()`)."""
    return zlib.crc32(key.encode()) % total


def schedule(pod: PodRequest, snapshot: ClusterSnapshot, volumes: NodeCheck | None = None) -> Decision:
    """`volumes`: the pod's VolumeBinding filter (`volumes.PodClaims.reasons` on the
    storage state), run after the default filters as in kube-scheduler's profile."""
    rows = snapshot.rows()
    total = len(rows)
    if not total:
        return Unschedulable(NO_NODES)
    columns = snapshot.columns()
    wanted = feasible_nodes_to_find(total)
    start = start_index(pod.key, total) if wanted < total else 0
    candidates = walk(columns.resources_fit(pod), start)
    feasible = np.sort(_first_feasible(pod, rows, columns, candidates, wanted, volumes))
    if not len(feasible):  # every node was filtered: now gather kube-scheduler's reasons
        reasons: Counter[str] = Counter()
        for node, usage in rows:
            reasons.update(run_filters(pod, node, usage) or (volumes(node) if volumes is not None else []))
        return Unschedulable(fit_error(total, reasons), tuple(sorted(reasons.items())))
    totals = default_total_scores(pod, columns, rows, feasible)
    best = int(np.argmax(totals))  # the first (by name) of the highest
    return Bound(rows[feasible[best]][0].name, int(totals[best]), len(feasible))


def _first_feasible(pod: PodRequest, rows: list[tuple[NodeInfo, NodeUsage]], columns: NodeColumns,
                    candidates: Indices, wanted: int, volumes: NodeCheck | None) -> Indices:
    """The first `wanted` of the candidates (the rows with room, in walk order) that
    pass every other filter. Those filters are run per node only where they can refuse:
    on every node for a pod with a selector, required affinity, host ports or claims;
    else only on nodes that are not plain (unknown, cordoned, NoSchedule-tainted)."""
    affinity = pod.affinity.required_during_scheduling_ignored_during_execution if pod.affinity else None
    if pod.node_selector or affinity is not None or pod.host_ports or volumes is not None:
        checked = None
    else:
        checked = ~columns.plain
        if not checked[candidates].any():
            return candidates[:wanted]
    fits = feasibility(pod)
    feasible: list[int] = []
    for i in candidates.tolist():
        if checked is None or checked[i]:
            node, usage = rows[i]
            if not fits(node, usage) or (volumes is not None and volumes(node)):
                continue
        feasible.append(i)
        if len(feasible) == wanted:
            break
    return np.array(feasible, dtype=np.intp)


def fit_error(total: int, reasons: Counter[str]) -> str:
    """kube-scheduler's message: `0/3 nodes are available: 1 Insufficient cpu, 2 ...`
    with the "count reason" strings sorted as text, then the preemption verdict
    (Kafkube does not preempt)."""
    histogram = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return _with_preemption(total, histogram)


def pre_filter_failure(total: int, message: str) -> Unschedulable:
    """A PreFilter that rejects the pod everywhere (VolumeBinding's `persistentvolumeclaim
    "x" not found`): kube-scheduler's FitError shows its message instead of a histogram."""
    if not total:
        return Unschedulable(NO_NODES)
    return Unschedulable(_with_preemption(total, message), ((message, total),))


def _with_preemption(total: int, reasons: str) -> str:
    return (f"0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are "
            f"available: {total} Preemption is not helpful for scheduling.")
