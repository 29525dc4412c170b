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
import dataclasses
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from schemas.pod import Pod
from services.kubelet.backoff import BackoffPolicy
from services.kubelet.cache import ContainerCache, first_relist
from services.kubelet.claims import uses_claims
from services.kubelet.emit import Emitter
from services.kubelet.logs import LogStreamer, last_sent
from services.kubelet.metrics import DEFAULT_RESOLUTION_S, MeteredRuntime, MetricsSampler
from services.kubelet.node import NodeConfig, heartbeat
from services.kubelet.probes import ProbeManager
from services.kubelet.runtime.base import ContainerRuntime
from services.kubelet.sync import ClusterDns, PodSyncer, Views
from services.kubelet.secrets import SecretClient, SecretValues
from services.kubelet.streaming.endpoint import DEFAULT_PORT as DEFAULT_STREAMING_PORT
from services.kubelet.streaming.endpoint import InteractiveRuntime, StreamingEndpoint
from services.kubelet.tokens import TokenClient, TokenManager
from services.kubelet.tmpfs import MemoryMedium
from services.kubelet.volumes import VolumeManager
from services.runtime.identity import node_token_headers
from services.runtime.workqueue import WorkQueue
from services.runtime.bus import make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.hostnet import node_address
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.podnet import DEFAULT_CLUSTER_DNS_IP, DEFAULT_CLUSTER_DOMAIN
from services.runtime.sealing import own_node_key
from services.runtime.stream_tickets import ticket_key
from services.runtime.supervisor import Component
from services.runtime.resync import paced_passes
from services.runtime.tasks import cancel_and_wait, run_until_one_ends
from services.runtime.topics import Topics
from services.runtime.trust import node_identity

log = get_logger(__name__)
OBJECT_KINDS = ("configmaps", "secrets", "services", "runtimeclasses",  # the objects a pod's sync reads
                "persistentvolumeclaims", "persistentvolumes")


@dataclass(frozen=True)
class KubeletConfig:
    node: NodeConfig
    root: Path = Path("/var/lib/kafkube")
    resync_s: float = 5.0
    resync_pods_per_s: float | None = None  # a resync pass asks its pods at this pace (None: at once)
    relist_s: float = 2.0
    workers: int = 8
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    dns: ClusterDns | None = field(default_factory=ClusterDns)
    service_account_tokens: bool = True  # request and mount pods' ServiceAccount tokens
    secret_tmpfs: Path | None = None  # secret volumes in memory (tmpfs.MemoryMedium's fallback); None: on disk
    streaming_address: str | None = None  # where exec/attach/port-forward are served; None: the node's address
    streaming_port: int | None = DEFAULT_STREAMING_PORT  # None: not served (KAFKUBE_KUBELET_PORT=off)
    metrics_resolution_s: float = DEFAULT_RESOLUTION_S  # how often containers' usage is sampled

    @classmethod
    def from_env(cls, node: str, runtime: str, env: dict[str, str] | None = None) -> "KubeletConfig":
        e = dict(os.environ if env is None else env)
        node_config = NodeConfig(
            name=node, runtime=runtime, labels=_pairs(e.get("KAFKUBE_NODE_LABELS", "")),
            taints=_taints(e.get("KAFKUBE_NODE_TAINTS", "")), cpu=e.get("KAFKUBE_NODE_CPU"),
            memory=e.get("KAFKUBE_NODE_MEMORY"), pods=e.get("KAFKUBE_NODE_PODS", "110"),
            address=e.get("KAFKUBE_NODE_IP") or node_address(),
            heartbeat_s=float(e.get("KAFKUBE_HEARTBEAT_SECONDS", "10")))
        backoff = BackoffPolicy(initial_s=float(e.get("KAFKUBE_BACKOFF_INITIAL_SECONDS", "10")),
                                max_s=float(e.get("KAFKUBE_BACKOFF_MAX_SECONDS", "300")))
        return cls(node=node_config, root=Path(e.get("KAFKUBE_KUBELET_ROOT", "/var/lib/kafkube")),
                   resync_s=float(e.get("KAFKUBE_RESYNC_SECONDS", "5")),
                   relist_s=float(e.get("KAFKUBE_RELIST_SECONDS", "2")),
                   workers=int(e.get("KAFKUBE_KUBELET_WORKERS", "8")), backoff=backoff,
                   dns=_cluster_dns(e), service_account_tokens=_tokens_on(e, runtime),
                   secret_tmpfs=None if runtime == "hollow" else Path(e.get("KAFKUBE_KUBELET_SECRET_TMPFS", "/dev/shm/kafkube")),
                   streaming_address=e.get("KAFKUBE_KUBELET_ADDRESS") or None, streaming_port=_streaming_port(e),
                   metrics_resolution_s=float(e.get("KAFKUBE_METRICS_RESOLUTION_SECONDS", str(DEFAULT_RESOLUTION_S))))


def _streaming_port(env: dict[str, str]) -> int | None:
    """KAFKUBE_KUBELET_PORT: the streaming endpoint's port (0: any free one; off: none)."""
    value = env.get("KAFKUBE_KUBELET_PORT", str(DEFAULT_STREAMING_PORT)).strip().lower()
    return None if value in ("off", "false", "") else int(value)


def _tokens_on(env: dict[str, str], runtime: str) -> bool:
    """Hollow nodes mount no files, so they ask for no tokens (a thousand-node fleet would
    send a TokenRequest per pod) unless KAFKUBE_KUBELET_SERVICE_ACCOUNT_TOKENS=on."""
    default = "off" if runtime == "hollow" else "on"
    return env.get("KAFKUBE_KUBELET_SERVICE_ACCOUNT_TOKENS", default).lower() in ("on", "true", "1")


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


class PodsView(Protocol):
    """The desired pods a kubelet sees: its own, and whether a key exists at all."""

    def get(self, key: str) -> Pod | None: ...
    def known(self, key: str) -> bool: ...
    def mine(self) -> Mapping[str, Pod]: ...


ObjectsView = Callable[[str], Any]  # plural ("configmaps", "secrets", "services") -> store


class InformerPods:
    """PodsView over an informer decoding with `pod_decoder(node)` (a lone kubelet)."""

    def __init__(self, informer: Informer[Pod | None], topic: str) -> None:
        self._informer, self._topic = informer, topic

    def get(self, key: str) -> Pod | None:
        return self._informer.get(self._topic, key)

    def known(self, key: str) -> bool:
        return key in self._informer.items(self._topic)

    def mine(self) -> dict[str, Pod]:
        return {k: v for k, v in self._informer.items(self._topic).items() if v is not None}


class Kubelet:
    """One node's kubelet. Alone (`run`) it owns its informers and producer; in a
    `HollowFleet` the fleet owns shared ones and calls `serve` with views onto them."""

    def __init__(self, settings: Settings, config: KubeletConfig,
                 runtime: ContainerRuntime | None = None) -> None:
        self.settings, self.config = settings, config
        self.node = config.node.name
        self.topics = Topics(settings.topic_prefix)
        self.runtime = runtime or make_runtime(config.node.runtime, self.node)
        self.trust = bus_trust(settings)
        self.signer = self.trust.observed_signer(node_identity(self.node))  # fails early without the node's key
        self.queue = WorkQueue(name="kubelet")
        self.cache = ContainerCache(self.runtime)
        self.pods: PodsView | None = None

    def my_pods(self) -> Mapping[str, Pod]:
        return self.pods.mine() if self.pods is not None else {}

    def on_pod(self, change: Change[Pod | None]) -> None:
        if change.old is not None or change.new is not None:
            self.queue.add(change.key)

    def on_object(self, change: Change[Any]) -> None:
        if change.topic == self.topics.desired("services"):
            return  # service env is read when a container starts, as Kubernetes does
        if change.topic == self.topics.desired("runtimeclasses"):
            for key, pod in self.my_pods().items():  # a pod waiting for its class tries again
                if pod.spec is not None and pod.spec.runtime_class_name == change.key:
                    self.queue.add(key)
            return
        if change.topic == self.topics.desired("persistentvolumes"):
            for key, pod in self.my_pods().items():  # a pod waiting for its claim's volume
                if uses_claims(pod):
                    self.queue.add(key)
            return
        namespace = change.key.split("/", 1)[0]
        for key in self.my_pods():
            if key.startswith(f"{namespace}/"):
                self.queue.add(key)

    async def run(self) -> None:
        """A lone kubelet: its own pods informer (this node's pods only), objects
        informer and producer around `serve`."""
        pods_topic = self.topics.desired("pods")
        pods: Informer[Pod | None] = Informer(self.settings, [pods_topic], decoder=pod_decoder(self.node),
                                              name=f"kubelet-{self.node}-pods", trust=self.trust)
        objects: Informer[Any] = Informer(
            self.settings, [self.topics.desired(p) for p in OBJECT_KINDS],
            name=f"kubelet-{self.node}-objects", trust=self.trust)
        pods.add_handler(self.on_pod)
        objects.add_handler(self.on_object)

        async def ready() -> None:
            await pods.start()
            await objects.start()
            await pods.wait_synced()
            await objects.wait_synced()

        producer = make_producer(self.settings)
        await producer.start()
        try:
            await self.serve(Emitter(producer, self.topics, self.node, identity=node_token_headers(self.settings, self.node),
                                     signer=self.signer), InformerPods(pods, pods_topic),
                             lambda plural: objects.items(self.topics.desired(plural)), ready=ready)
        finally:
            await pods.stop()
            await objects.stop()
            await producer.stop()

    async def serve(self, emitter: Emitter, pods: PodsView, objects: ObjectsView, *,
                    ready: Callable[[], Awaitable[None]], stagger: bool = False) -> None:
        """The node's own part: heartbeat, then (once `ready` says the views are synced)
        relist, adoption, pod workers, relist and resync loops. `stagger` spreads the
        periodic loops and heartbeats of many nodes over their periods (a fleet)."""
        self.pods = pods
        probes = ProbeManager(self.runtime, emitter, self.queue.add)
        logs = LogStreamer(self.runtime, emitter)
        secret_tmpfs = self.config.secret_tmpfs
        volumes = VolumeManager(self.config.root, self.node,
                                memory=MemoryMedium(fallback=secret_tmpfs) if secret_tmpfs else None)
        views = Views(pod=pods.get, pod_known=pods.known, pods=pods.mine,
                      claims=lambda: objects("persistentvolumeclaims"),
                      persistent_volumes=lambda: objects("persistentvolumes"),
                      configmaps=lambda: objects("configmaps"), secrets=lambda: objects("secrets"),
                      services=lambda: objects("services"), runtime_classes=lambda: objects("runtimeclasses"),
                      dns=self.config.dns)
        syncer = PodSyncer(node=self.node, runtime=self.runtime, cache=self.cache, views=views,
                           volumes=volumes, probes=probes, logs=logs, emitter=emitter,
                           wake_after=self.queue.add_after, host_ip=self.config.node.address,
                           backoff=self.config.backoff, tokens=self._tokens(emitter),
                           secret_values=SecretValues(SecretClient(self.settings, self.node, emitter.request,
                                                                   node_key=self._node_key())))
        phase = random.random() if stagger else 0.0
        tasks: list[asyncio.Task[Any]] = []
        streaming = contextlib.AsyncExitStack()
        try:
            node_config = await self._start_streaming(streaming)
            tasks.append(asyncio.create_task(
                heartbeat(emitter, node_config, phase_s=phase * self.config.node.heartbeat_s),
                name=f"heartbeat-{self.node}"))
            await ready()
            await first_relist(self.cache, self.node)
            await self._resume_logs(logs)
            self._adopt(volumes)
            tasks += [asyncio.create_task(self.queue.run_workers(syncer.sync, workers=self.config.workers),
                                          name=f"pod-workers-{self.node}"),
                      asyncio.create_task(self._relist_loop(phase * self.config.relist_s),
                                          name=f"relist-{self.node}"),
                      asyncio.create_task(self._resync_loop(phase * self.config.resync_s),
                                          name=f"resync-{self.node}")]
            tasks.append(asyncio.create_task(self._reclaim_loop(volumes, lambda: objects("persistentvolumes")),
                                             name=f"reclaim-{self.node}"))
            if isinstance(self.runtime, MeteredRuntime):  # hollow nodes publish no metrics
                sampler = MetricsSampler(self.node, self.runtime, self.cache, emitter, self.my_pods,
                                         resolution_s=self.config.metrics_resolution_s)
                tasks.append(asyncio.create_task(sampler.run(), name=f"metrics-{self.node}"))
            await run_until_one_ends(tasks, "a kubelet task")
        finally:
            await cancel_and_wait(tasks)
            await streaming.aclose()
            await probes.close()
            await logs.close()
            with contextlib.suppress(Exception):
                await self.runtime.close()

    async def _start_streaming(self, stack: contextlib.AsyncExitStack) -> NodeConfig:
        """The streaming endpoint (exec, attach), on a Docker node with bus keys and a
        port; the node's config with the port it advertises."""
        port = self.config.streaming_port
        if port is None or not isinstance(self.runtime, InteractiveRuntime):
            return self.config.node
        key = ticket_key(self.trust, self.node)
        if key is None:
            log.warning("kubelet.streaming_off", node=self.node, reason="an insecure bus has no key for stream tickets")
            return self.config.node
        endpoint = await stack.enter_async_context(StreamingEndpoint(
            node=self.node, runtime=self.runtime, cache=self.cache, key=key, port=port,
            host=self.config.streaming_address or self.config.node.address))
        return dataclasses.replace(self.config.node, kubelet_port=endpoint.port)

    def _tokens(self, emitter: Emitter) -> TokenManager | None:
        """The pods' token manager: answers sealed with this node's key (none on an
        insecure bus: then an X25519 key per request)."""
        if not self.config.service_account_tokens:
            return None
        return TokenManager(TokenClient(self.settings, self.node, emitter.request, node_key=self._node_key()))

    def _node_key(self) -> tuple[str, bytes] | None:
        """This node's sealing key, which opens what the API seals for it (None on an insecure bus)."""
        ring = self.trust.ring
        return own_node_key(ring, self.node) if ring is not None else None

    async def _resume_logs(self, logs: LogStreamer) -> None:
        """Find where the adopted containers' log streams stopped before the restart."""
        wanted = {(c.pod.key, c.name) for c in self.cache.all() if c.role != "infra" and c.state == "running"}
        if not wanted:
            return
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

    async def _relist_loop(self, first_s: float = 0.0) -> None:
        await asyncio.sleep(first_s)
        while True:
            await asyncio.sleep(self.config.relist_s)
            try:
                changed = await self.cache.relist()
            except Exception as exc:  # the engine hiccuped: try again next period
                log.warning("kubelet.relist_failed", error=f"{type(exc).__name__}: {exc}"[:300])
                continue
            for key in changed:
                self.queue.add(key)

    async def _reclaim_loop(self, volumes: VolumeManager, persistent_volumes: Callable[[], Mapping[str, Any]]) -> None:
        """Every resync period: remove the provisioned directories whose PersistentVolume
        is gone (reclaim policy Delete: the volume controller deleted it)."""
        while True:
            gone = await asyncio.to_thread(volumes.reclaim, dict(persistent_volumes())) \
                if volumes.provisioned.is_dir() else []
            for name in gone:
                log.info("volume.reclaimed", node=self.node, persistent_volume=name,
                         path=str(volumes.provisioned / name))
            await asyncio.sleep(self.config.resync_s)

    async def _resync_loop(self, first_s: float = 0.0) -> None:
        """Every pod again each `resync_s`; a hollow fleet's nodes one at a time, at their pace."""
        await asyncio.sleep(first_s)
        pace = self.config.resync_pods_per_s
        await paced_passes(lambda: sorted(set(self.my_pods()) | self.cache.keys()), self.queue.add,
                           period_s=self.config.resync_s, per_s=pace, chunk=1 if pace else None)
