"""Benchmark 4 (and 5 at 100,000 pods): how long each service takes to rebuild its state
from the compacted topics when they hold N objects (default 100,000 pods), and the
memory it then holds.

    .venv/bin/python -m bench.recovery [--objects 100000] [--nodes 1000] [--services api,scheduler,...]

Pods are seeded straight onto `kafkube.desired.pods` (as the API would have written
them), bound round-robin to nodes `node-0000`.. (`--nodes` of them), then each service
is started cold and timed until its log says its state is loaded (every marker below).
The kubelet fleet is those hollow nodes, owning the pods; it is timed until its shared
views are synced (`fleet.synced`), before its nodes start the hollow pods.
"""

from __future__ import annotations

from typing import Any

import argparse
import asyncio
import time
from pathlib import Path

import orjson

from bench.common import Service, fresh_settings, report
from services.runtime.bus import make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Informer
from services.runtime.kafka_auth import CONTROLLER_GROUPS
from services.runtime.topics import Topics

READY_MARKERS: dict[str, tuple[tuple[str, ...], list[tuple[str, int | None]]]] = {
    # service: (serve args, [(log event that says "my state is loaded", how many; None: one per partition)])
    "api": (("api",), [('"partition.loaded"', None)]),
    "scheduler": (("scheduler",), [('"scheduler.synced"', 1)]),
    "controllers": (("controllers",), [('"controller.synced"', len(CONTROLLER_GROUPS))]),  # one per controller
    "endpoints": (("endpoints",), [('"endpoints.started"', 1)]),
    "kubelet-fleet": (("kubelet", "--runtime", "hollow", "--nodes", "{nodes}", "--node-prefix", "node-"),
                      [('"fleet.synced"', 1)]),
}


def pod(i: int, nodes: int = 1000) -> dict[str, object]:
    name = f"web-{i // 100}-{i % 100:02d}x7k2p"
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"00000000-0000-4000-8000-{i:012d}",
                         "resourceVersion": str(i), "generation": 1, "creationTimestamp": "2026-11-25T10:00:00Z",
                         "labels": {"app": f"web-{i // 100}", "pod-template-hash": "7c9f8d6b5"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"web-{i // 100}",
                                              "uid": f"rs-{i // 100}", "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"nodeName": f"node-{i % nodes:04d}", "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                     "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler",
                     "containers": [{"name": "web", "image": "kafkube/busybox:1.0", "imagePullPolicy": "IfNotPresent",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                     "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                     "terminationMessagePath": "/dev/termination-log"}]}}


async def seed(settings: Settings, count: int, nodes: int) -> float:
    topic = Topics(settings.topic_prefix).desired("pods")
    start = time.monotonic()
    trust = bus_trust(settings)
    async with make_producer(settings) as producer:
        for i in range(count):
            body = pod(i, nodes)
            key = f"default/{body['metadata']['name']}".encode()  # type: ignore[index]
            value = orjson.dumps(body)  # signed as the API signs, or no service would trust it
            await producer.send(topic, key=key, value=value,
                                headers=list(trust.sign_desired(topic, key.decode(), value)))
        await producer.flush()
    return time.monotonic() - start


async def informer_rebuild(settings: Settings) -> tuple[float, int]:
    topic = Topics(settings.topic_prefix).desired("pods")
    start = time.monotonic()
    informer: Informer[Any] = Informer(settings, [topic], follow=False, trust=bus_trust(settings))  # checks as services do
    async with informer as view:
        await view.wait_synced()
        return time.monotonic() - start, len(view.items(topic))


async def service_rebuild(settings: Settings, name: str, nodes: int) -> dict[str, object]:
    template, markers = READY_MARKERS[name]
    args = tuple(arg.format(nodes=nodes) for arg in template)
    start = time.monotonic()
    service = Service(settings, *args)
    log = Path(service.log.name)

    def ready() -> bool:
        text = log.read_text(errors="replace")
        return all(text.count(marker) >= (count or settings.partitions) for marker, count in markers)

    try:
        while not ready():
            if service.proc.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log}")
            if time.monotonic() - start > 300:
                raise TimeoutError(f"{name} not ready after 300 s")
            await asyncio.sleep(0.1)
        return {"service": name, "rebuild_s": round(time.monotonic() - start, 2), "rss_mib": round(service.rss_mib(), 1)}
    finally:
        service.stop()


async def main(objects: int, nodes: int, names: list[str]) -> None:
    settings = await fresh_settings()
    seeded = await seed(settings, objects, nodes)
    seconds, loaded = await informer_rebuild(settings)
    rows: list[dict[str, object]] = [{"service": "informer (desired.pods, in-process)", "rebuild_s": round(seconds, 2),
                                      "rss_mib": "-"}]
    assert loaded == objects, f"informer loaded {loaded} of {objects}"
    for name in names:
        rows.append(await service_rebuild(settings, name, nodes))
    report("recovery", rows, {"objects": objects, "nodes": nodes, "seed_s": round(seeded, 1), "partitions": settings.partitions})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--services", default=",".join(READY_MARKERS))
    args = parser.parse_args()
    asyncio.run(main(args.objects, args.nodes, args.services.split(",")))
