"""Micro-benchmark of the scheduling decision alone (no Kafka): `schedule()` for N pods
(10 owners, 1m / 1Mi each, as `bench.throughput`) on an M-node snapshot, each pod
assumed on its node before the next. Prints ms per pod.

    .venv/bin/python -m bench.schedule_micro [--pods 1000] [--nodes 1000] [--profile]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.micro import best_or_profile
from services.scheduler.algorithm import Bound, schedule
from services.scheduler.model import node_info, pod_request
from services.scheduler.snapshot import ClusterSnapshot


def _node(i: int) -> tuple[str, Any, Any]:
    name = f"hollow-{i:04d}"
    desired = {"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                     "kubernetes.io/os": "linux"}}}
    observed = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "writer": "kubelet",
                "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                           "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                           "conditions": [{"type": "Ready", "status": "True"}]}}
    return name, desired, observed


def _pod(i: int, owners: int = 10) -> dict[str, Any]:
    owner = f"web-{i % owners}"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{owner}-{i}", "namespace": "default", "uid": f"uid-{i}",
                         "resourceVersion": "1",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                              "uid": f"uid-{owner}", "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}


def run(pods: int, nodes: int) -> float:
    snap = ClusterSnapshot()
    for i in range(nodes):
        name, desired, observed = _node(i)
        snap.set_node(name, node_info(desired, observed))
    requests = [pod_request(_pod(i)) for i in range(pods)]
    start = time.perf_counter()
    for pod in requests:
        decision = schedule(pod, snap)
        assert isinstance(decision, Bound), decision
        snap.place(pod.key, decision.node, pod)
    return (time.perf_counter() - start) * 1000 / pods


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    per_pod = best_or_profile(lambda: run(args.pods, args.nodes), profile=args.profile)
    if per_pod is None:
        return
    print(f"schedule(): {per_pod:.3f} ms per pod ({args.pods} pods, {args.nodes} nodes, best of 3)")


if __name__ == "__main__":
    main()
