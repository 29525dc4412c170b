"""Benchmarks 1 and 5: throughput and memory. Deployments totalling N pods (default
10,000 in 10 Deployments) over a fleet of hollow nodes (default 1,000): pods/s from the
publication of the manifests until every pod is observed Running, with the times at
which all pods were created and bound, and the RSS and CPU of every process at the end.

    .venv/bin/python -m bench.throughput [--pods 10000] [--nodes 1000] [--deployments 10] [--partitions 6]
                                         [--without-security]

`--without-security` runs the same cluster without its security checks (bench/common.py
`without_security`), so alternating runs with and without it measure what they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench.cluster import Cluster, PodTimes, progress, publish, wait_nodes_ready
from bench.common import fresh_settings, report, without_security

NAME = "density"


def deployment(index: int, replicas: int) -> tuple[str, dict[str, Any]]:
    name = f"{NAME}-{index}"
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "kafkube/busybox:1.0",
                                                           "resources": {"requests": {"cpu": "1m",
                                                                                      "memory": "1Mi"}}}]}}}}
    return f"default/{name}", body


async def wait_all(cluster: Cluster, times: PodTimes, pods: int, start: float, timeout: float) -> None:
    last = 0
    while len(times.running) < pods:
        cluster.check_alive()
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{len(times.running)} of {pods} Running after {timeout} s")
        await asyncio.sleep(1)
        if len(times.running) - last >= pods // 10 or int(time.monotonic() - start) % 10 == 0:
            last = len(times.running)
            progress(f"t={time.monotonic() - start:.0f}s created={len(times.created)} bound={len(times.bound)} "
                     f"running={len(times.running)}")


async def main(pods: int, nodes: int, deployments: int, timeout: float, partitions: int) -> None:
    settings = await fresh_settings(partitions)
    cluster = Cluster(settings, nodes)
    try:
        ready_s = await wait_nodes_ready(settings, nodes)
        progress(f"{nodes} hollow nodes Ready in {ready_s:.1f} s")
        idle = cluster.usage()
        async with PodTimes(settings, NAME) as times:
            cluster.mark_cpu()
            start = time.monotonic()
            per = [pods // deployments + (1 if i < pods % deployments else 0) for i in range(deployments)]
            await publish(settings, [deployment(i, n) for i, n in enumerate(per)])
            await wait_all(cluster, times, pods, start, timeout)
            elapsed = max(times.running.values()) - start
        usage = cluster.usage()
    finally:
        cluster.stop()
    rows: list[dict[str, Any]] = [
        {"measure": "all pods created (desired)", "seconds": round(max(times.created.values()) - start, 1),
         "pods_per_s": round(pods / (max(times.created.values()) - start))},
        {"measure": "all pods bound", "seconds": round(max(times.bound.values()) - start, 1),
         "pods_per_s": round(pods / (max(times.bound.values()) - start))},
        {"measure": "all pods Running (observed)", "seconds": round(elapsed, 1), "pods_per_s": round(pods / elapsed)},
    ]
    report("throughput" if pods == 10_000 else f"throughput_{pods}", rows, {"pods": pods, "nodes": nodes, "deployments": deployments,
                                "partitions": settings.partitions, "fleet_ready_s": round(ready_s, 1)})
    usage.append({"process": "total incl. broker", "rss_mib": _total(usage, "rss_mib"), "cpu_s": _total(usage, "cpu_s")})
    idle.append({"process": "total incl. broker", "rss_mib": _total(idle, "rss_mib")})
    for row, before in zip(usage, idle):
        row["idle_rss_mib"] = before["rss_mib"]
    report(f"memory_{pods}", usage, {"pods": pods, "nodes": nodes, "when": "all pods Running; idle = fleet Ready, "
                                     "no pods; cpu_s = CPU seconds spent during the run"})


def _total(rows: list[dict[str, Any]], column: str) -> float:
    return round(sum(r[column] for r in rows if isinstance(r[column], float)), 1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--deployments", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--without-security", action="store_true",
                        help="measure what security costs: the API without its checks, no record signatures")
    args = parser.parse_args()
    if args.without_security:
        without_security()
    asyncio.run(main(args.pods, args.nodes, args.deployments, args.timeout, args.partitions))
