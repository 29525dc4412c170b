"""Ranking: kube-scheduler's default scores that Kafkube implements. Each score
gives every feasible node 0..100 (normalised across the feasible nodes where
Kubernetes normalises); `algorithm.schedule` sums them with the default weights.

Pure. Called by `services.scheduler.algorithm.schedule`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.scheduler.filters import term_matches, tolerated
from services.scheduler.model import NodeInfo, PodRequest
from services.scheduler.snapshot import NodeUsage

MAX_SCORE = 100
Candidate = tuple[NodeInfo, NodeUsage]
Score = Callable[[PodRequest, Sequence[Candidate]], list[int]]


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


def default_total_scores(pod: PodRequest, nodes: Sequence[Candidate]) -> list[int]:
    """`total_scores(pod, nodes)` with the default SCORES, fused into one pass over plain
    ints for the hot path of `algorithm.schedule` (same arithmetic, same results: the
    unit tests compare the two on random clusters)."""
    cpu, memory = pod.nonzero.cpu, pod.nonzero.memory
    owner, tolerations = pod.owner_uid, pod.tolerations
    count = len(nodes)
    spread = (_reverse_normalised([usage.owners.get(owner, 0) if usage.owners else 0 for _n, usage in nodes])
              if owner else [MAX_SCORE] * count)
    terms = (pod.affinity.preferred_during_scheduling_ignored_during_execution or []) if pod.affinity else []
    preferred = preferred_node_affinity(pod, nodes) if terms else [0] * count
    if any(node.soft_taints for node, _u in nodes):
        untolerated = _reverse_normalised([sum(1 for t in node.soft_taints if not tolerated(t, tolerations))
                                           for node, _u in nodes])
    else:
        untolerated = [MAX_SCORE] * count
    totals = []
    for (node, usage), extra in zip(nodes, [2 * a + 2 * b + 3 * c for a, b, c
                                            in zip(spread, preferred, untolerated)]):
        # least_allocated and balanced_allocation inlined (_free_share; min(x, 1.0)).
        alloc_cpu, alloc_memory = node.allocatable.cpu, node.allocatable.memory
        after_cpu, after_memory = usage.nonzero.cpu + cpu, usage.nonzero.memory + memory
        free_cpu = (alloc_cpu - after_cpu) * MAX_SCORE // alloc_cpu if 0 < alloc_cpu and after_cpu <= alloc_cpu else 0
        free_memory = ((alloc_memory - after_memory) * MAX_SCORE // alloc_memory
                       if 0 < alloc_memory and after_memory <= alloc_memory else 0)
        cpu_share = (after_cpu / alloc_cpu if after_cpu <= alloc_cpu else 1.0) if alloc_cpu > 0 else 1.0
        memory_share = ((after_memory / alloc_memory if after_memory <= alloc_memory else 1.0)
                        if alloc_memory > 0 else 1.0)
        balanced = int((1 - abs(cpu_share - memory_share) / 2) * MAX_SCORE)
        totals.append((free_cpu + free_memory) // 2 + balanced + extra)
    return totals


def total_scores(pod: PodRequest, nodes: Sequence[Candidate],
                 scores: Sequence[Weighted] = SCORES) -> list[int]:
    totals = [0] * len(nodes)
    for weighted in scores:
        for i, value in enumerate(weighted.score(pod, nodes)):
            totals[i] += value * weighted.weight
    return totals
