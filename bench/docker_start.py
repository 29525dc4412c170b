"""Benchmark 6: real containers. Time from a 1-container Pod manifest published on
kafkube.manifests to its first observed.pods record saying Running, with the API, the
scheduler and a kubelet on the real Docker Engine, against `docker run -d` of the same
image and command (`kafkube/busybox:1.0`, `sleep 3600`) on the same engine; the ratio
of the medians. Pods are started one at a time (the image is present: no pull).

    .venv/bin/python -m bench.docker_start [--runs 10]

Two more rows break the gap down: the Kafkube path by stage (published -> created ->
bound -> Running observed), and the Engine's own floor for a pod: a `kafkube/pause`
sandbox created and started, then the app container created and started in its
network namespace, through the Engine API with no Kafka at all: what any
Kubernetes-style pod (a sandbox holding the network) costs on this engine.
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack
import secrets
import statistics
import subprocess
import time
from typing import Any

import aiodocker

from bench.cluster import PodTimes, progress, publish, wait_nodes_ready
from bench.common import RESULTS, Service, fresh_settings, report
from services.kubelet.runtime.docker_config import DEFAULT_PAUSE_IMAGE

IMAGE = "kafkube/busybox:1.0"
NAME = "real"


def pod(i: int) -> tuple[str, dict[str, Any]]:
    name = f"{NAME}-{i}"
    return f"default/{name}", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "c", "image": IMAGE, "command": ["sleep", "3600"]}]}}


def docker_run_ms() -> float:
    name = f"bench-{secrets.token_hex(4)}"
    start = time.monotonic()
    subprocess.run(["docker", "run", "-d", "--name", name, IMAGE, "sleep", "3600"], check=True,
                   capture_output=True)
    elapsed = (time.monotonic() - start) * 1000
    subprocess.run(["docker", "rm", "-f", name], check=True, capture_output=True)
    return elapsed


Stages = dict[str, list[float]]


async def engine_pod_ms(runs: int) -> list[float]:
    """Sandbox then joined app container, straight through the Engine API."""
    times = []
    async with aiodocker.Docker() as docker:
        for i in range(runs):
            tag = secrets.token_hex(4)
            async with AsyncExitStack() as cleanup:
                start = time.monotonic()
                sandbox = await docker.containers.create({"Image": DEFAULT_PAUSE_IMAGE}, name=f"bench-sb-{tag}")
                cleanup.push_async_callback(sandbox.delete, force=True)
                await sandbox.start()
                app = await docker.containers.create(
                    {"Image": IMAGE, "Cmd": ["sleep", "3600"],
                     "HostConfig": {"NetworkMode": f"container:{sandbox.id}"}}, name=f"bench-app-{tag}")
                cleanup.push_async_callback(app.delete, force=True)
                await app.start()
                times.append((time.monotonic() - start) * 1000)
    return times


async def kafkube_ms(runs: int) -> Stages:
    settings = await fresh_settings(partitions=3)
    node = f"bench-{secrets.token_hex(3)}"
    # The controllers too: they make the namespace's default ServiceAccount, whose token the
    # kubelet mounts into the pod as a real cluster's would.
    services = [Service(settings, "api"), Service(settings, "scheduler"), Service(settings, "controllers"),
                Service(settings, "kubelet", "--node", node, "--runtime", "docker")]
    try:
        await wait_nodes_ready(settings, 1, timeout=60)
        async with PodTimes(settings, NAME) as times:
            sent: dict[str, float] = {}
            await publish(settings, [pod(-1)], sent=sent)  # warm-up: every hop connected
            for i in range(runs + 1):
                key = pod(i - 1)[0]
                if i:
                    await publish(settings, [pod(i - 1)], sent=sent)
                deadline = time.monotonic() + 60
                while key not in times.running and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                if key not in times.running:
                    raise TimeoutError(f"pod {key} not Running within 60 s; see the kubelet's log in {RESULTS}")
            keys = [k for k in sent if k in times.running and k != f"default/{NAME}--1"]
            return {"published -> created": [(times.created[k] - sent[k]) * 1000 for k in keys],
                    "created -> bound": [(times.bound[k] - times.created[k]) * 1000 for k in keys],
                    "bound -> Running observed": [(times.running[k] - times.bound[k]) * 1000 for k in keys],
                    "total": [(times.running[k] - sent[k]) * 1000 for k in keys]}
    finally:
        for service in services:
            service.stop()
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=io.kafkube.node={node}"],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


async def main(runs: int) -> None:
    docker = [docker_run_ms() for _ in range(runs)]
    progress(f"docker run: median {statistics.median(docker):.0f} ms")
    floor = await engine_pod_ms(runs)
    stages = await kafkube_ms(runs)
    kafkube = stages.pop("total")
    rows = [{"path": "docker run -d (CLI -> engine -> started)", "runs": len(docker),
             "median_ms": statistics.median(docker), "min_ms": min(docker), "max_ms": max(docker)},
            {"path": "engine floor: sandbox + joined app (API, no Kafka)", "runs": len(floor),
             "median_ms": statistics.median(floor), "min_ms": min(floor), "max_ms": max(floor)},
            *({"path": f"  kafkube stage: {stage}", "runs": len(values), "median_ms": statistics.median(values),
               "min_ms": min(values), "max_ms": max(values)} for stage, values in stages.items()),
            {"path": "kafkube: manifest -> Running observed", "runs": len(kafkube),
             "median_ms": statistics.median(kafkube), "min_ms": min(kafkube), "max_ms": max(kafkube)}]
    ratio = statistics.median(kafkube) / statistics.median(docker)
    rows.append({"path": "ratio kafkube / docker run (medians)", "runs": "-", "median_ms": round(ratio, 2),
                 "min_ms": "-", "max_ms": "-"})
    rows.append({"path": "ratio engine floor / docker run (medians)", "runs": "-",
                 "median_ms": round(statistics.median(floor) / statistics.median(docker), 2), "min_ms": "-", "max_ms": "-"})
    report("docker_start", rows, {"image": IMAGE, "runs": runs})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs))
