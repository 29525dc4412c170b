"""Ranking: kube-scheduler's default scores that Kafkube implements. Each score
gives every feasible node 0..100 (normalised across the feasible nodes where
Kubernetes normalises); `algorithm.schedule` sums them with the default weights.

Pure. Called by `services.scheduler.algorithm.schedule`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.scheduler.columns import Indices, Ints, NodeColumns
from services.scheduler.filters import term_matches, tolerated
from services.scheduler.model import NodeInfo, PodRequest
from services.scheduler.snapshot import NodeUsage

MAX_SCORE = 100
Candidate = tuple[NodeInfo, NodeUsage]
Score = Callable[[PodRequest, Sequence[Candidate]], list[int]]
Floats = npt.NDArray[np.float64]


def least_allocated(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """Prefer the node with the most room left (cpu and memory weigh alike)."""
    scores = []
    for node, usage in nodes:
        after = usage.nonzero + pod.nonzero
        parts = [_free_share(after.cpu, node.allocatable.cpu),
                 _free_share(after.memory, node.allocatable.memory)]
        scores.append(sum(parts) // len(parts))
    return scores


def _free_share(requested: int, allocatable: int) -> int:
    if allocatable <= 0 or requested > allocatable:
        return 0
    return (allocatable - requested) * MAX_SCORE // allocatable


def balanced_allocation(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """Prefer the node whose cpu and memory shares stay closest to each other."""
    scores = []
    for node, usage in nodes:
        after = usage.nonzero + pod.nonzero
        cpu = min(after.cpu / node.allocatable.cpu, 1.0) if node.allocatable.cpu > 0 else 1.0
        mem = min(after.memory / node.allocatable.memory, 1.0) if node.allocatable.memory > 0 else 1.0
        deviation = abs(cpu - mem) / 2
        scores.append(int((1 - deviation) * MAX_SCORE))
    return scores


def owner_spread(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """Prefer nodes with fewer pods of the pod's controller (ReplicaSet, Job, ...)."""
    if not pod.owner_uid:
        return [MAX_SCORE] * len(nodes)
    counts = [usage.owners.get(pod.owner_uid, 0) for _node, usage in nodes]
    return _reverse_normalised(counts)


def preferred_node_affinity(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """Sum of the weights of the preferred terms a node matches, scaled to 0..100."""
    terms = (pod.affinity.preferred_during_scheduling_ignored_during_execution or []) if pod.affinity else []
    raw = [sum(t.weight for t in terms if term_matches(t.preference, node)) for node, _ in nodes]
    top = max(raw, default=0)
    return [r * MAX_SCORE // top if top else 0 for r in raw]


def prefer_no_schedule(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """Prefer nodes with fewer untolerated PreferNoSchedule taints."""
    counts = [sum(1 for t in node.soft_taints if not tolerated(t, pod.tolerations))  # effective PreferNoSchedule
              for node, _ in nodes]
    return _reverse_normalised(counts)


def _reverse_normalised(counts: list[int]) -> list[int]:
    top = max(counts, default=0)
    if top == 0:
        return [MAX_SCORE] * len(counts)
    return [(top - c) * MAX_SCORE // top for c in counts]


@dataclass(frozen=True, slots=True)
class Weighted:
    score: Score
    weight: int


# kube-scheduler's default weights (PodTopologySpread's 2 goes to owner spreading).
SCORES: tuple[Weighted, ...] = (
    Weighted(least_allocated, 1),
    Weighted(balanced_allocation, 1),
    Weighted(owner_spread, 2),
    Weighted(preferred_node_affinity, 2),
    Weighted(prefer_no_schedule, 3),
)


def default_total_scores(pod: PodRequest, columns: NodeColumns, rows: Sequence[Candidate],
                         feasible: Indices) -> Ints:
    """`total_scores(pod, [rows[i] for i in feasible])` with the default SCORES, as array
    operations over the snapshot's columns for the hot path of `algorithm.schedule`
    (same arithmetic, same results: the unit tests compare the two on random clusters).
    Preferred affinity and PreferNoSchedule taints are scored per node, and only when
    the pod or the nodes have any."""
    allocatable_cpu, allocatable_memory = columns.allocatable_cpu[feasible], columns.allocatable_memory[feasible]
    after_cpu = columns.nonzero_cpu[feasible] + pod.nonzero.cpu
    after_memory = columns.nonzero_memory[feasible] + pod.nonzero.memory
    totals = (_free_shares(after_cpu, allocatable_cpu) + _free_shares(after_memory, allocatable_memory)) // 2
    deviation = np.abs(_used_shares(after_cpu, allocatable_cpu) - _used_shares(after_memory, allocatable_memory))
    totals += ((1 - deviation / 2) * MAX_SCORE).astype(np.int64)  # balanced allocation (int(): toward zero)
    counts = columns.owner_counts(pod.owner_uid, feasible) if pod.owner_uid else None
    top = int(counts.max()) if counts is not None else 0
    if counts is not None and top:  # owner spread (_reverse_normalised)
        totals += 2 * ((top - counts) * MAX_SCORE // top)
    else:
        totals += 2 * MAX_SCORE
    # the scores kept per node, only when the pod or the nodes have something to score
    if pod.affinity and pod.affinity.preferred_during_scheduling_ignored_during_execution:
        totals += 2 * np.array(preferred_node_affinity(pod, [rows[i] for i in feasible.tolist()]), dtype=np.int64)
    if columns.soft_tainted[feasible].any():
        totals += 3 * np.array(prefer_no_schedule(pod, [rows[i] for i in feasible.tolist()]), dtype=np.int64)
    else:
        totals += 3 * MAX_SCORE
    return totals


def _free_shares(requested: Ints, allocatable: Ints) -> Ints:
    """`_free_share` per node: 0..100 of the node left free (0 when overcommitted)."""
    usable = (allocatable > 0) & (requested <= allocatable)
    free = (allocatable - requested) * MAX_SCORE // np.where(usable, allocatable, 1)
    return np.where(usable, free, 0)


def _used_shares(requested: Ints, allocatable: Ints) -> Floats:
    """The share of each node taken, at most 1.0 (1.0 for a node with nothing)."""
    shares = requested / np.where(allocatable > 0, allocatable, 1)
    return np.where((allocatable > 0) & (requested <= allocatable), shares, 1.0)


def total_scores(pod: PodRequest, nodes: Sequence[Candidate],
                 scores: Sequence[Weighted] = SCORES) -> list[int]:
    totals = [0] * len(nodes)
    for weighted in scores:
        for i, value in enumerate(weighted.score(pod, nodes)):
            totals[i] += value * weighted.weight
    return totals
