"""One scheduling decision: filter every node, score the feasible ones, pick the
best (ties: the first by name, so every replica decides alike on the same view).

`schedule(pod, snapshot) -> Bound | Unschedulable`: value in, value out. The
message of `Unschedulable` is kube-scheduler's FitError text. Called by the
service's worker; the property tests drive it directly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from services.scheduler.filters import run_filters
from services.scheduler.model import PodRequest
from services.scheduler.scores import Candidate, total_scores
from services.scheduler.snapshot import ClusterSnapshot

NO_NODES = "no nodes available to schedule pods"


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


def schedule(pod: PodRequest, snapshot: ClusterSnapshot) -> Decision:
    nodes = snapshot.nodes()
    if not nodes:
        return Unschedulable(NO_NODES)
    feasible: list[Candidate] = []
    reasons: Counter[str] = Counter()
    for node in nodes:
        usage = snapshot.usage(node.name)
        failed = run_filters(pod, node, usage)
        if failed:
            reasons.update(failed)
        else:
            feasible.append((node, usage))
    if not feasible:
        return Unschedulable(fit_error(len(nodes), reasons), tuple(sorted(reasons.items())))
    totals = total_scores(pod, feasible)
    best = max(range(len(feasible)), key=lambda i: (totals[i], -i))
    return Bound(feasible[best][0].name, totals[best], len(feasible))


def fit_error(total: int, reasons: Counter[str]) -> str:
    """kube-scheduler's message: `0/3 nodes are available: 1 Insufficient cpu, 2 ...`
    with the "count reason" strings sorted as text, then the preemption verdict
    (Kafkube does not preempt)."""
    histogram = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    return (f"0/{total} nodes are available: {histogram}. preemption: 0/{total} nodes are "
            f"available: {total} Preemption is not helpful for scheduling.")
