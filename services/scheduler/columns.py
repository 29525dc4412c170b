"""The snapshot's nodes as columns: numpy arrays in the name order of `rows()`, so that
the resource fit and the default scores of every candidate node are a few array
operations per pod instead of a Python loop over hundreds of nodes (the scheduler's
largest cost at 1,000 nodes, docs/benchmarks.md "Profiles").

Built from the rows when a node changes; the usage columns are updated in place by
the snapshot as pods are placed, alongside `NodeUsage`, which stays the reference the
filters' reason texts read. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from services.scheduler.model import NodeInfo, PodRequest

if TYPE_CHECKING:
    from services.scheduler.snapshot import NodeUsage

Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]
Indices = npt.NDArray[np.intp]


@dataclass(slots=True)
class NodeColumns:
    index: dict[str, int]  # node name -> row
    allocatable_cpu: Ints
    allocatable_memory: Ints
    max_pods: Ints
    requested_cpu: Ints
    requested_memory: Ints
    nonzero_cpu: Ints
    nonzero_memory: Ints
    pods: Ints
    plain: Flags  # known, schedulable, no NoSchedule/NoExecute taint: only resources can refuse a plain pod
    soft_tainted: Flags  # has PreferNoSchedule taints
    owners: dict[str, dict[int, int]]  # controller uid -> row -> its pods placed there (sparse)

    @classmethod
    def of(cls, rows: Sequence[tuple[NodeInfo, NodeUsage]]) -> NodeColumns:
        """From the snapshot's rows (each node with its `NodeUsage`, current)."""
        nodes = [node for node, _usage in rows]
        usages = [usage for _node, usage in rows]

        def ints(values: list[int]) -> Ints:
            return np.array(values, dtype=np.int64)

        return cls(
            index={node.name: i for i, node in enumerate(nodes)},
            allocatable_cpu=ints([n.allocatable.cpu for n in nodes]),
            allocatable_memory=ints([n.allocatable.memory for n in nodes]),
            max_pods=ints([n.max_pods for n in nodes]),
            requested_cpu=ints([u.requested.cpu for u in usages]),
            requested_memory=ints([u.requested.memory for u in usages]),
            nonzero_cpu=ints([u.nonzero.cpu for u in usages]),
            nonzero_memory=ints([u.nonzero.memory for u in usages]),
            pods=ints([u.pods for u in usages]),
            plain=np.array([n.ready is not None and not n.unschedulable and not n.hard_taints for n in nodes],
                           dtype=np.bool_),
            soft_tainted=np.array([bool(n.soft_taints) for n in nodes], dtype=np.bool_),
            owners=_owners_by_row(usages))

    def add(self, node: str, pod: PodRequest, sign: int) -> None:
        """Count `pod` on `node` (sign -1: no longer); a node without a row is skipped."""
        row = self.index.get(node)
        if row is None:
            return
        self.requested_cpu[row] += sign * pod.requests.cpu
        self.requested_memory[row] += sign * pod.requests.memory
        self.nonzero_cpu[row] += sign * pod.nonzero.cpu
        self.nonzero_memory[row] += sign * pod.nonzero.memory
        self.pods[row] += sign
        if pod.owner_uid:
            rows = self.owners.setdefault(pod.owner_uid, {})
            count = rows.get(row, 0) + sign
            if count > 0:
                rows[row] = count
            else:
                rows.pop(row, None)
                if not rows:
                    del self.owners[pod.owner_uid]

    def owner_counts(self, owner: str, rows: Indices) -> Ints:
        """Per row of `rows`: the pods of controller `owner` placed there."""
        placed = self.owners.get(owner)
        if not placed:
            return np.zeros(len(rows), dtype=np.int64)
        counts = np.zeros(len(self.pods), dtype=np.int64)
        counts[np.fromiter(placed.keys(), dtype=np.intp, count=len(placed))] = np.fromiter(
            placed.values(), dtype=np.int64, count=len(placed))
        return counts[rows]

    def resources_fit(self, pod: PodRequest) -> Flags:
        """Per row: NodeResourcesFit passes (room for one more pod, its cpu and memory)."""
        fit: Flags = self.pods < self.max_pods
        cpu, memory = pod.requests.cpu, pod.requests.memory
        if cpu > 0:
            fit &= cpu <= self.allocatable_cpu - self.requested_cpu
        if memory > 0:
            fit &= memory <= self.allocatable_memory - self.requested_memory
        return fit


def _owners_by_row(usages: Sequence[NodeUsage]) -> dict[str, dict[int, int]]:
    owners: dict[str, dict[int, int]] = {}
    for row, usage in enumerate(usages):
        for owner, count in usage.owners.items():
            owners.setdefault(owner, {})[row] = count
    return owners


def walk(fit: Flags, start: int) -> Indices:
    """The rows where `fit` holds, in the order of a walk from `start` wrapping around."""
    after = np.flatnonzero(fit[start:])
    if start:
        return np.concatenate((after + start, np.flatnonzero(fit[:start])))
    return after
