"""Benchmark 5c: what a cluster at rest costs. The throughput benchmark's cluster (api,
scheduler, controllers and a fleet of hollow nodes, each node beating every 10 s) with
no pod at all: once every node is Ready and the services have settled, the CPU seconds
and RSS of every process, the broker's included, over a window.

    .venv/bin/python -m bench.idle [--nodes 1000] [--settle 30] [--seconds 30] [--partitions 6]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bench.cluster import Cluster, progress, wait_nodes_ready
from bench.common import fresh_settings, report


async def main(nodes: int, settle_s: float, seconds: float, partitions: int) -> None:
    settings = await fresh_settings(partitions)
    cluster = Cluster(settings, nodes)
    try:
        ready_s = await wait_nodes_ready(settings, nodes)
        progress(f"{nodes} hollow nodes Ready in {ready_s:.1f} s; settling {settle_s:.0f} s")
        await asyncio.sleep(settle_s)
        cluster.check_alive()
        cluster.mark_cpu()
        await asyncio.sleep(seconds)
        cluster.check_alive()
        usage = cluster.usage()
    finally:
        cluster.stop()
    rows: list[dict[str, Any]] = [{**row, "cpu_percent": _percent(row["cpu_s"], seconds)} for row in usage]
    total_cpu = round(sum(r["cpu_s"] for r in usage if isinstance(r["cpu_s"], float)), 1)
    rows.append({"process": "total incl. broker", "rss_mib": round(sum(r["rss_mib"] for r in usage
                                                                       if isinstance(r["rss_mib"], float)), 1),
                 "cpu_s": total_cpu, "cpu_percent": _percent(total_cpu, seconds)})
    report(f"idle_{nodes}_nodes", rows, {"nodes": nodes, "settle_s": settle_s, "seconds": seconds,
                                         "partitions": settings.partitions, "fleet_ready_s": round(ready_s, 1)})


def _percent(cpu_s: Any, seconds: float) -> Any:
    """CPU seconds as a percentage of one core over the window ("-" when not known)."""
    return round(100 * cpu_s / seconds, 1) if isinstance(cpu_s, float) else "-"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=30.0, help="seconds between all nodes Ready and the window")
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window")
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    asyncio.run(main(args.nodes, args.settle, args.seconds, args.partitions))
