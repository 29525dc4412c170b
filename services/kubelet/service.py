"""Wiring of one kubelet (`kafkube serve kubelet --node NAME --runtime docker|hollow`).

Informers: `desired.pods` keeping only this node's pods (records whose bytes do not
name the node are dropped before JSON decoding), `desired.configmaps` and
`desired.secrets`. Handlers only enqueue pod keys; pod workers (one per key at a time)
run `PodSyncer.sync`. Around them: the node heartbeat, the container relist (PLEG)
that wakes pods whose containers changed, and a periodic resync of every pod. On
start, once the views are synced and the runtime listed, every pod key with
containers or a desired pod is synced: containers of pods still bound here are
adopted as they are, the others (orphans) are stopped and removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from schemas.pod import Pod
from services.kubelet.backoff import BackoffPolicy
from services.kubelet.cache import ContainerCache
from services.kubelet.emit import Emitter
from services.kubelet.logs import LogStreamer, last_sent
from services.kubelet.node import NodeConfig, heartbeat, host_address
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.base import ContainerRuntime
from services.kubelet.sync import ClusterDns, PodSyncer, Views
from services.kubelet.volumes import VolumeManager
from services.kubelet.workqueue import WorkQueue
from services.runtime.bus import make_producer
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.podnet import DEFAULT_CLUSTER_DNS_IP, DEFAULT_CLUSTER_DOMAIN
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)


@dataclass(frozen=True)
class KubeletConfig:
    node: NodeConfig
    root: Path = Path("/var/lib/kafkube")
    resync_s: float = 5.0
    relist_s: float = 2.0
    workers: int = 8
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    dns: ClusterDns | None = field(default_factory=ClusterDns)

    @classmethod
    def from_env(cls, node: str, runtime: str, env: dict[str, str] | None = None) -> "KubeletConfig":
        e = dict(os.environ if env is None else env)
        node_config = NodeConfig(
            name=node, runtime=runtime, labels=_pairs(e.get("KAFKUBE_NODE_LABELS", "")),
            taints=_taints(e.get("KAFKUBE_NODE_TAINTS", "")), cpu=e.get("KAFKUBE_NODE_CPU"),
            memory=e.get("KAFKUBE_NODE_MEMORY"), pods=e.get("KAFKUBE_NODE_PODS", "110"),
            address=e.get("KAFKUBE_NODE_IP") or host_address(),
            heartbeat_s=float(e.get("KAFKUBE_HEARTBEAT_SECONDS", "10")))
        backoff = BackoffPolicy(initial_s=float(e.get("KAFKUBE_BACKOFF_INITIAL_SECONDS", "10")),
                                max_s=float(e.get("KAFKUBE_BACKOFF_MAX_SECONDS", "300")))
        return cls(node=node_config, root=Path(e.get("KAFKUBE_KUBELET_ROOT", "/var/lib/kafkube")),
                   resync_s=float(e.get("KAFKUBE_RESYNC_SECONDS", "5")),
                   relist_s=float(e.get("KAFKUBE_RELIST_SECONDS", "2")),
                   workers=int(e.get("KAFKUBE_KUBELET_WORKERS", "8")), backoff=backoff,
                   dns=_cluster_dns(e))


def _cluster_dns(env: dict[str, str]) -> ClusterDns | None:
    """The cluster DNS pods are pointed at; KAFKUBE_CLUSTER_DNS=off keeps the node's."""
    if env.get("KAFKUBE_CLUSTER_DNS", "on").lower() in ("off", "false", "0"):
        return None
    return ClusterDns(server=env.get("KAFKUBE_CLUSTER_DNS_IP", DEFAULT_CLUSTER_DNS_IP),
                      domain=env.get("KAFKUBE_CLUSTER_DOMAIN", DEFAULT_CLUSTER_DOMAIN))


def _pairs(text: str) -> dict[str, str]:
    """`a=b,c=d` -> {"a": "b", "c": "d"}."""
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def _taints(text: str) -> list[dict[str, Any]]:
    """`key=value:NoSchedule,key2:NoExecute` -> Node taints."""
    taints = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        kv, _, effect = item.rpartition(":")
        key, _, value = kv.partition("=")
        taints.append({"key": key, **({"value": value} if value else {}), "effect": effect})
    return taints


def make_runtime(kind: str, node: str) -> ContainerRuntime:
    if kind == "hollow":
        from services.kubelet.runtime.hollow import HollowRuntime

        return HollowRuntime(node)
    from services.kubelet.runtime.docker import DockerRuntime

    return DockerRuntime(node)


def pod_decoder(node: str) -> Callable[[str, bytes], Pod | None]:
    """Decode only this node's pods; others become None without a JSON parse when
    their bytes do not even contain the node's name."""
    needle = f'"{node}"'.encode()

    def decode(_topic: str, raw: bytes) -> Pod | None:
        if needle not in raw:
            return None
        data = orjson.loads(raw)
        if (data.get("spec") or {}).get("nodeName") != node:
            return None
        return Pod.model_validate(data)

    return decode


def kubelet_components(settings: Settings, *, node: str, runtime: str) -> dict[str, Component]:
    """The one component of a kubelet for `node` (named `kubelet-<node>`)."""
    async def run() -> None:
        await Kubelet(settings, KubeletConfig.from_env(node, runtime)).run()

    return {f"kubelet-{node}": run}


class Kubelet:
    def __init__(self, settings: Settings, config: KubeletConfig,
                 runtime: ContainerRuntime | None = None) -> None:
        self.settings, self.config = settings, config
        self.node = config.node.name
        self.topics = Topics(settings.topic_prefix)
        self.runtime = runtime or make_runtime(config.node.runtime, self.node)
        self.pods_topic = self.topics.desired("pods")
        self.pods: Informer[Pod | None] = Informer(settings, [self.pods_topic], decoder=pod_decoder(self.node),
                                                   name=f"kubelet-{self.node}-pods")
        self.objects: Informer[Any] = Informer(
            settings, [self.topics.desired(p) for p in ("configmaps", "secrets", "services")],
            name=f"kubelet-{self.node}-objects")
        self.queue = WorkQueue()
        self.cache = ContainerCache(self.runtime)

    def my_pods(self) -> dict[str, Pod]:
        return {k: v for k, v in self.pods.items(self.pods_topic).items() if v is not None}

    def _on_pod(self, change: Change[Pod | None]) -> None:
        if change.old is not None or change.new is not None:
            self.queue.add(change.key)

    def _on_object(self, change: Change[Any]) -> None:
        if change.topic == self.topics.desired("services"):
            return  # service env is read when a container starts, as Kubernetes does
        namespace = change.key.split("/", 1)[0]
        for key in self.my_pods():
            if key.startswith(f"{namespace}/"):
                self.queue.add(key)

    async def run(self) -> None:
        producer = make_producer(self.settings)
        await producer.start()
        emitter = Emitter(producer, self.topics, self.node)
        probes = ProbeManager(self.runtime, emitter, self.queue.add)
        logs = LogStreamer(self.runtime, emitter)
        volumes = VolumeManager(self.config.root, self.node)
        views = Views(pod=lambda k: self.pods.get(self.pods_topic, k),
                      pod_known=lambda k: k in self.pods.items(self.pods_topic),
                      configmaps=lambda: self.objects.items(self.topics.desired("configmaps")),
                      secrets=lambda: self.objects.items(self.topics.desired("secrets")),
                      services=lambda: self.objects.items(self.topics.desired("services")),
                      dns=self.config.dns)
        syncer = PodSyncer(node=self.node, runtime=self.runtime, cache=self.cache, views=views,
                           volumes=volumes, probes=probes, logs=logs, emitter=emitter,
                           wake_after=self.queue.add_after, host_ip=self.config.node.address,
                           backoff=self.config.backoff)
        self.pods.add_handler(self._on_pod)
        self.objects.add_handler(self._on_object)
        tasks: list[asyncio.Task[Any]] = []
        try:
            tasks.append(asyncio.create_task(heartbeat(emitter, self.config.node), name="heartbeat"))
            await self.pods.start()
            await self.objects.start()
            await self.pods.wait_synced()
            await self.objects.wait_synced()
            await self.cache.relist()
            await self._resume_logs(logs)
            self._adopt(volumes)
            tasks += [asyncio.create_task(self.queue.run_workers(syncer.sync, workers=self.config.workers),
                                          name="pod-workers"),
                      asyncio.create_task(self._relist_loop(), name="relist"),
                      asyncio.create_task(self._resync_loop(), name="resync")]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise RuntimeError("a kubelet task ended")
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await probes.close()
            await logs.close()
            await self.pods.stop()
            await self.objects.stop()
            with contextlib.suppress(Exception):
                await self.runtime.close()
            await producer.stop()

    async def _resume_logs(self, logs: LogStreamer) -> None:
        """Find where the adopted containers' log streams stopped before the restart."""
        wanted = {(c.pod.key, c.name) for c in self.cache.all() if c.role != "infra" and c.state == "running"}
        try:
            logs.resume = await last_sent(self.settings, self.topics.logs, wanted)
        except Exception as exc:  # without it, adopted containers are followed from now
            log.warning("kubelet.log_resume_failed", error=f"{type(exc).__name__}: {exc}"[:300])

    def _adopt(self, volumes: VolumeManager) -> None:
        """Sync every pod with containers or bound here; drop volume dirs nobody owns."""
        mine = self.my_pods()
        keys = set(mine) | self.cache.keys()
        for key in sorted(keys):
            self.queue.add(key)
        uids = {p.metadata.uid for p in mine.values() if p.metadata} | {c.pod.uid for c in self.cache.all()}
        for uid in volumes.known_uids():
            if uid not in uids:
                volumes.cleanup(uid)
        log.info("kubelet.adopting", node=self.node, pods=len(mine), containers=len(self.cache.all()))

    async def _relist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.relist_s)
            try:
                changed = await self.cache.relist()
            except Exception as exc:  # the engine hiccuped: try again next period
                log.warning("kubelet.relist_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                continue
            for key in changed:
                self.queue.add(key)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.resync_s)
            for key in set(self.my_pods()) | self.cache.keys():
                self.queue.add(key)
