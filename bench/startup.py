"""Benchmark 2: pod startup latency under a steady load. Bare Pods are published on
kafkube.manifests at a steady rate (default 100 pods/s for 30 s) onto a fleet of hollow
nodes; each pod's latency runs from its publication to the first observed.pods record
saying Running, through the API (created), the scheduler (bound) and its kubelet. A second
table gives the API's transactions over the measured pods: per loop (intake, writer), how
many, and the mean of each stage (`bench.stages`).

    .venv/bin/python -m bench.startup [--rate 100] [--seconds 30] [--nodes 100] [--warm-up 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Collection
from typing import Any

from bench.cluster import Cluster, PodTimes, progress, publish, wait_nodes_ready
from bench.common import fresh_settings, percentile, report
from bench.stages import TRANSACTION, Totals, stage_means, stage_totals, transaction_columns

NAME = "latency"


def pod(i: int) -> tuple[str, dict[str, Any]]:
    name = f"{NAME}-{i}"
    return f"default/{name}", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "kafkube/busybox:1.0",
                                 "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}


def stages(sent: dict[str, float], times: PodTimes) -> list[dict[str, Any]]:
    rows = []
    for label, ends, begins in (("published -> created", times.created, sent),
                                ("created -> bound", times.bound, times.created),
                                ("bound -> Running observed", times.running, times.bound),
                                ("published -> Running observed (startup)", times.running, sent)):
        ms = [(ends[k] - begins[k]) * 1000 for k in sent if k in ends and k in begins]
        rows.append({"stage": label, "pods": len(ms), "p50_ms": percentile(ms, 50),
                     "p90_ms": percentile(ms, 90), "p99_ms": percentile(ms, 99), "max_ms": max(ms, default=0.0)})
    return rows


def api_transactions(before: Totals, after: Totals) -> list[dict[str, Any]]:
    """Per transactional loop of the API (the manifest intake, then the request writer that
    a pod's creation and its binding each pass through): how many transactions committed
    over the measured pods, and each stage's mean (`bench.stages`)."""
    rows = []
    for group in ("api-intake", "api-writer"):
        commits = (TRANSACTION, group, "commit")
        rows.append({"loop": group, "transactions": int(after.get(commits, (0, 0))[1] - before.get(commits, (0, 0))[1]),
                     **stage_means(before, after, transaction_columns(group))})
    return rows


async def until_running(cluster: Cluster, times: PodTimes, keys: Collection[str], timeout_s: float) -> bool:
    """Until every pod of `keys` is observed Running (True), or `timeout_s` has passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not (done := all(k in times.running for k in keys)) and time.monotonic() < deadline:
        cluster.check_alive()
        await asyncio.sleep(0.5)
    return done


async def main(rate: float, seconds: float, nodes: int, warm_up_s: float) -> None:
    settings = await fresh_settings()
    cluster = Cluster(settings, nodes, api_metrics=True)
    count = int(rate * seconds)
    sent: dict[str, float] = {}
    try:
        progress(f"{nodes} hollow nodes Ready in {await wait_nodes_ready(settings, nodes):.1f} s")
        async with PodTimes(settings, NAME) as times:
            # warm-up: the same load, every pod of it Running before the measured ones start (the
            # first seconds of a cold cluster are slower: their pods made p99 several seconds)
            warm = [pod(10_000_000 + i) for i in range(int(rate * warm_up_s))]
            await publish(settings, warm, rate=rate)
            if not await until_running(cluster, times, [key for key, _body in warm], 120):
                raise SystemExit("the warm-up's pods were not all Running within 120 s: nothing measured")
            before = await stage_totals([cluster.api_metrics])
            offered = count / await publish(settings, [pod(i) for i in range(count)], rate=rate, sent=sent)
            await until_running(cluster, times, list(sent), 120)
            rows = stages(sent, times)
            loops = api_transactions(before, await stage_totals([cluster.api_metrics]))
    finally:
        cluster.stop()
    name = "startup_latency" if nodes == 100 else f"startup_latency_{nodes}_nodes"
    meta = {"rate_per_s": rate, "offered_per_s": round(offered, 1), "seconds": seconds,
            "warm_up_s": warm_up_s, "nodes": nodes, "pods": count, "partitions": settings.partitions}
    report(name, rows, meta)
    report(f"{name}_api_transactions", loops, meta)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--warm-up", type=float, default=5, help="seconds of pods at the rate, all Running "
                        "before the measured ones are published")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.nodes, args.warm_up))
