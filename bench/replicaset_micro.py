"""Micro-benchmark of one ReplicaSet sync's decision alone (no Kafka): the pure
`reconcile` of a ReplicaSet with N ready pods at its replica count, as each of its pod
events makes the controller count them again. Prints ms per reconcile.

    .venv/bin/python -m bench.replicaset_micro [--pods 1000] [--min-ready 0] [--profile]
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

from bench.micro import best_or_profile
from services.controllers.machinery.podview import OwnerRef, PodView
from services.controllers.replicaset.reconcile import reconcile
from services.controllers.replicaset.workload import Workload, from_replicaset

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
UID = "rs-uid"
LABELS = {"app": "web", "pod-template-hash": "7c9f8d6b5"}


def replicaset(replicas: int, min_ready: int) -> Workload:
    return from_replicaset({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default", "uid": UID, "generation": 1},
        "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": LABELS},
                 "template": {"metadata": {"labels": LABELS},
                              "spec": {"containers": [{"name": "c", "image": "kafkube/busybox:1.0"}]}}}})


def ready_pod(i: int) -> PodView:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": UID, "controller": True}
    return PodView(name=f"web-{i:05d}", namespace="default", uid=f"uid-{i}", labels=dict(LABELS),
                   owner=OwnerRef("apps/v1", "ReplicaSet", "web", UID), owner_refs=(ref,), resource_version=str(i),
                   created=NOW - timedelta(seconds=600), node=f"hollow-{i % 1000:04d}", phase="Running",
                   ready_since=NOW - timedelta(seconds=300))


def run(pods: int, min_ready: int, rounds: int = 50) -> float:
    w, views = replicaset(pods, min_ready), [ready_pod(i) for i in range(pods)]
    first = reconcile(w, views, NOW)
    current = first.status.status if first.status else None
    start = time.perf_counter()
    for _ in range(rounds):
        plan = reconcile(w, views, NOW, current_status=current)
        assert plan.empty, plan  # converged: the count is all a sync does
    return (time.perf_counter() - start) * 1000 / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--min-ready", type=int, default=0, help="the ReplicaSet's minReadySeconds")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    best = best_or_profile(lambda: run(args.pods, args.min_ready), profile=args.profile, rows=12)
    if best is None:
        return
    print(f"reconcile(): {best:.3f} ms per sync ({args.pods} ready pods, minReadySeconds {args.min_ready}, best of 3)")


if __name__ == "__main__":
    main()
