"""A control plane and a hollow fleet as child processes (`kafkube serve ...`), and live
views of what they produce: used by the throughput and pod-startup benchmarks.

Services run with `--log-level WARNING`: at INFO every pod costs each service a few
JSON log lines, which is a benchmark of the logger rather than of the system.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import orjson

from bench.common import Service, broker_pid, cpu_seconds, free_address, kafka_rss_mib
from services.runtime.bus import make_producer
from services.runtime.config import Settings
from services.runtime.identity import token_headers
from services.runtime.informer import Change, Informer
from services.runtime.topics import Topics

CONTROL_PLANE = ("api", "scheduler", "controllers")


class Cluster:
    """api, scheduler, controllers and `kubelet --runtime hollow --nodes N` processes. With
    `api_metrics` the API also serves /metrics at `self.api_metrics` (its transactions'
    stages: `bench.stages`); without, it does not load the HTTP server, as the memory and
    idle rows were measured."""

    def __init__(self, settings: Settings, nodes: int, *, log_level: str = "WARNING", api_metrics: bool = False) -> None:
        self.settings, self.nodes = settings, nodes
        self.api_metrics = free_address() if api_metrics else ""
        self.services: dict[str, Service] = {}
        for name in CONTROL_PLANE:
            env = {"KAFKUBE_METRICS_ADDRESS": self.api_metrics} if name == "api" and api_metrics else {}
            self.services[name] = Service(settings, name, "--log-level", log_level, extra_env=env)
        self.services["kubelet-fleet"] = Service(settings, "kubelet", "--runtime", "hollow", "--nodes", str(nodes),
                                                 "--log-level", log_level)
        self.cpu0: dict[str, float] = {}
        self.broker: int | None = None

    def mark_cpu(self) -> None:
        self.cpu0 = {name: cpu_seconds(s.proc.pid) for name, s in self.services.items()}
        self.broker = broker_pid(self.settings.bootstrap_servers)
        if self.broker:
            self.cpu0["broker"] = cpu_seconds(self.broker)

    def usage(self) -> list[dict[str, Any]]:
        """RSS now and CPU seconds since `mark_cpu`, per service, plus the broker's RSS."""
        rows: list[dict[str, Any]] = []
        for name, service in self.services.items():
            rows.append({"process": name, "rss_mib": round(service.rss_mib(), 1),
                         "cpu_s": round(cpu_seconds(service.proc.pid) - self.cpu0.get(name, 0.0), 1)})
        kafka = kafka_rss_mib(self.settings.bootstrap_servers)
        broker_cpu = (round(cpu_seconds(self.broker) - self.cpu0["broker"], 1)
                      if self.broker and "broker" in self.cpu0 else "-")
        rows.append({"process": "kafka broker (shared)", "rss_mib": round(kafka, 1) if kafka else "-",
                     "cpu_s": broker_cpu})
        return rows

    def check_alive(self) -> None:
        for name, service in self.services.items():
            if service.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {service.proc.returncode}; see {service.log.name}")

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()


async def wait_nodes_ready(settings: Settings, count: int, *, timeout: float = 300) -> float:
    """Seconds until `count` nodes post Ready=True on observed.nodes."""
    topic = Topics(settings.topic_prefix).observed("nodes")
    start = time.monotonic()
    view: Informer[Any] = Informer(settings, [topic], name="bench-nodes")
    async with view:
        while True:
            ready = sum(1 for record in view.items(topic).values() if _ready(record))
            if ready >= count:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{ready} of {count} nodes Ready after {timeout} s")
            await asyncio.sleep(0.5)


def _ready(record: Any) -> bool:
    conditions = (record or {}).get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


class PodTimes:
    """When each pod (key prefix `default/<prefix>`) was first seen created (desired),
    bound (desired, spec.nodeName) and Running (observed), in time.monotonic()."""

    def __init__(self, settings: Settings, prefix: str) -> None:
        topics = Topics(settings.topic_prefix)
        self.desired_t, self.observed_t = topics.desired("pods"), topics.observed("pods")
        self.prefix = f"default/{prefix}"
        self.created: dict[str, float] = {}
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.view: Informer[Any] = Informer(settings, [self.desired_t, self.observed_t], decoder=self._decode,
                                            name="bench-pods")
        self.view.add_handler(self._on_change)

    def _decode(self, topic: str, raw: bytes) -> Any:
        data = orjson.loads(raw)
        if topic == self.desired_t:
            return bool((data.get("spec") or {}).get("nodeName"))
        return (data.get("status") or {}).get("phase")

    def _on_change(self, change: Change[Any]) -> None:
        if not change.key.startswith(self.prefix) or change.new is None:
            return
        now = time.monotonic()
        if change.topic == self.desired_t:
            self.created.setdefault(change.key, now)
            if change.new is True:
                self.bound.setdefault(change.key, now)
        elif change.new == "Running":
            self.running.setdefault(change.key, now)

    async def __aenter__(self) -> "PodTimes":
        await self.view.start()
        await self.view.wait_synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.view.stop()


async def publish(settings: Settings, documents: list[tuple[str, dict[str, Any]]], *,
                  rate: float | None = None, sent: dict[str, float] | None = None) -> float:
    """Publish (key, manifest) documents on kafkube.manifests, at `rate` per second when
    given; record each key's send time in `sent`. Returns the seconds it took."""
    topic = Topics(settings.topic_prefix).manifests
    start = time.monotonic()
    async with make_producer(settings) as producer:
        for i, (key, body) in enumerate(documents):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if sent is not None:
                sent[key] = time.monotonic()
            await producer.send(topic, key=key.encode(), value=orjson.dumps(body), headers=token_headers(settings))
        await producer.flush()
    return time.monotonic() - start


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
