"""Benchmark 4b: how long pods wait when a scheduler is killed. 2,000 bare pods are
published onto a hollow fleet; once a quarter of them are bound, a scheduler is
SIGKILLed, and the clock runs until every pod is bound; `longest_stall_s` is the
longest time after the kill with no pod bound (binds the dead scheduler sent just
before it died still land first):

- `restart`: the only scheduler is killed and a new one started at once (cold start:
  it rebuilds its views from the compacted topics, then takes over the node group);
- `failover`: one of two replicas is killed; the survivor takes its nodes after the
  group's session timeout (6 s).

    .venv/bin/python -m bench.scheduler_failover [--pods 2000] [--nodes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench.cluster import PodTimes, progress, publish, wait_nodes_ready
from bench.common import Service, fresh_settings, report
from bench.startup import pod


async def until(condition: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)
    return time.monotonic()


async def scenario(name: str, pods: int, nodes: int) -> dict[str, Any]:
    settings = await fresh_settings()
    fixed = [Service(settings, "api", "--log-level", "WARNING"),
             Service(settings, "kubelet", "--runtime", "hollow", "--nodes", str(nodes), "--log-level", "WARNING")]
    schedulers = [Service(settings, "scheduler", "--log-level", "WARNING")
                  for _ in range(2 if name == "failover" else 1)]
    try:
        await wait_nodes_ready(settings, nodes)
        await asyncio.sleep(3)  # the scheduler group has formed
        async with PodTimes(settings, "latency") as times:
            await publish(settings, [pod(i) for i in range(pods)])
            await until(lambda: len(times.bound) >= pods // 4, 120, "a quarter bound")
            schedulers[0].proc.kill()
            killed_at, bound_at_kill = time.monotonic(), len(times.bound)
            if name == "restart":
                schedulers.append(Service(settings, "scheduler", "--log-level", "WARNING"))
            done = await until(lambda: len(times.bound) >= pods, 300, "all bound")
        after = sorted(t for t in times.bound.values() if t >= killed_at)
        stalls = [b - a for a, b in zip([killed_at, *after], after)]
        return {"scenario": name, "pods": pods, "nodes": nodes, "bound_at_kill": bound_at_kill,
                "longest_stall_s": round(max(stalls, default=0.0), 2),
                "kill_to_all_bound_s": round(done - killed_at, 2)}
    finally:
        for service in fixed + schedulers:
            service.stop()


async def main(pods: int, nodes: int) -> None:
    rows = []
    for name in ("restart", "failover"):
        progress(f"scenario {name} ...")
        rows.append(await scenario(name, pods, nodes))
    report("scheduler_failover", rows, {"pods": pods, "nodes": nodes})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.pods, args.nodes))
