"""HollowFleet: many hollow kubelets in one process (kubemark's hollow nodes), for
benchmarks and scale tests (`kafkube serve kubelet --runtime hollow --nodes 1000`).

Each node is the real `Kubelet` (sync, plan, status, heartbeat, relist, resync) on a
`HollowRuntime`, with its own ContainerCache, WorkQueue (one worker) and PodSyncer.
What a lone kubelet owns per node is shared by the fleet:

- ONE `desired.pods` informer: each record is JSON-decoded once; pods bound to a
  fleet node are validated into `Pod` (a workload's spec once, `SiblingSpecs`), others
  kept as `None` (so a foreign key is told
  from a deleted one). `PodIndex` keeps node -> keys and dispatches each change to the
  queue of the node(s) it concerns (old and new `spec.nodeName`).
- ONE configmaps/secrets/services informer: a change wakes the pods of its namespace.
- ONE idempotent producer, behind one `Emitter` per node (the node's name in events,
  its token, and its writer key: each node signs its statuses as `system:node:<node>`,
  derived from the observed master key the fleet is given, so the fleet runs with the
  control plane's key file, `control-plane.json`, a benchmark setup).

Periods are longer than a lone kubelet's (relist 30 s, resync 60 s unless set in the
environment), each node's heartbeat, relist and resync are started at a random phase,
so a thousand nodes do not act in step, and the resync passes of the whole fleet ask at
most FLEET_RESYNC_PODS_PER_S pods a second (each node its share). Called by `services/cli/serve.py`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

import orjson

from schemas.pod import Pod
from services.runtime.identity import node_token_headers
from services.runtime.tasks import cancel_and_wait, run_until_one_ends
from services.kubelet.emit import Emitter
from services.kubelet.service import OBJECT_KINDS, Kubelet, KubeletConfig
from services.kubelet.sibling_specs import SiblingSpecs
from services.runtime.bus import make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
FLEET_RELIST_S, FLEET_RESYNC_S = 30.0, 60.0
# What the whole fleet's resync passes ask, a second: a lone kubelet's pass over its pods
# is cheap, but 5,000 hollow nodes holding 150,000 pods in one process asked 2,500 syncs
# a second each minute, more than the process had: new pods starved and fetches timed out.
FLEET_RESYNC_PODS_PER_S = 500.0


def node_of(pod: Pod | None) -> str | None:
    return pod.spec.node_name if pod is not None and pod.spec is not None else None


def fleet_decoder(nodes: Collection[str]) -> Callable[[str, bytes], Pod | None]:
    """Decode a pod once: a `Pod` when bound to one of `nodes` (its spec validated once
    per workload, `SiblingSpecs`), else None."""
    specs = SiblingSpecs()

    def decode(_topic: str, raw: bytes) -> Pod | None:
        data = orjson.loads(raw)
        if (data.get("spec") or {}).get("nodeName") not in nodes:
            return None
        return specs.validate(data)

    return decode


class PodIndex:
    """The fleet's pods by node, fed by the shared informer's changes; `wake(node, key)`
    is called for every node a change concerns."""

    def __init__(self, store: Mapping[str, Pod | None], wake: Callable[[str, str], None]) -> None:
        self.store, self._wake = store, wake
        self.by_node: dict[str, set[str]] = {}

    def on_change(self, change: Change[Pod | None]) -> None:
        old, new = node_of(change.old), node_of(change.new)
        if old is not None and old != new:
            keys = self.by_node.get(old)
            if keys is not None:
                keys.discard(change.key)
        if new is not None:
            self.by_node.setdefault(new, set()).add(change.key)
        for node in {old, new} - {None}:
            assert node is not None
            self._wake(node, change.key)

    def view(self, node: str) -> "NodePods":
        return NodePods(self, node)


class NodePods:
    """One node's PodsView onto the shared store (what `pod_decoder(node)` gives a lone
    kubelet: its own pods, and every key known)."""

    def __init__(self, index: PodIndex, node: str) -> None:
        self._index, self._node = index, node

    def get(self, key: str) -> Pod | None:
        pod = self._index.store.get(key)
        return pod if node_of(pod) == self._node else None

    def known(self, key: str) -> bool:
        return key in self._index.store

    def mine(self) -> dict[str, Pod]:
        store = self._index.store
        return {k: p for k in self._index.by_node.get(self._node, ()) if (p := store.get(k)) is not None}


def fleet_config(nodes: int, env: dict[str, str] | None = None) -> Callable[[str], KubeletConfig]:
    """A hollow node's config by its name: the lone kubelet's, one worker, longer periods,
    resync passes paced to the node's share of FLEET_RESYNC_PODS_PER_S. The environment is
    read once for the whole fleet."""
    e = dict(os.environ if env is None else env)
    config = KubeletConfig.from_env("", "hollow", e)
    base = replace(config, workers=int(e.get("KAFKUBE_KUBELET_WORKERS", "1")),
                   relist_s=float(e.get("KAFKUBE_RELIST_SECONDS", FLEET_RELIST_S)),
                   resync_s=float(e.get("KAFKUBE_RESYNC_SECONDS", FLEET_RESYNC_S)),
                   resync_pods_per_s=FLEET_RESYNC_PODS_PER_S / max(1, nodes))

    def named(node: str) -> KubeletConfig:  # each node its own labels and taints (they go into its Node)
        return replace(base, node=replace(base.node, name=node, labels=dict(base.node.labels),
                                          taints=[dict(t) for t in base.node.taints]))

    return named


def fleet_components(settings: Settings, *, nodes: list[str]) -> dict[str, Component]:
    """The one component of a hollow fleet (named `kubelet-fleet`)."""
    async def run() -> None:
        await HollowFleet(settings, nodes).run()

    return {"kubelet-fleet": run}


class HollowFleet:
    def __init__(self, settings: Settings, nodes: list[str], *,
                 config: Callable[[str], KubeletConfig] | None = None) -> None:
        self.settings, self.topics = settings, Topics(settings.topic_prefix)
        config = config or fleet_config(len(nodes))
        self.kubelets = {node: Kubelet(settings, config(node)) for node in nodes}
        self.pods_topic = self.topics.desired("pods")
        self.pods: Informer[Pod | None] = Informer(settings, [self.pods_topic],
                                                   decoder=fleet_decoder(frozenset(nodes)), name="fleet-pods",
                                                   trust=bus_trust(settings))
        self.objects: Informer[Any] = Informer(settings, [self.topics.desired(p) for p in OBJECT_KINDS],
                                               name="fleet-objects", trust=bus_trust(settings))
        self.index = PodIndex(self.pods.items(self.pods_topic), self._wake)
        self.pods.add_handler(self.index.on_change)
        self.objects.add_handler(self._on_object)
        self._synced = asyncio.Event()

    def _wake(self, node: str, key: str) -> None:
        if not self._synced.is_set():
            return  # replaying: once synced, each kubelet queues all of its pods (`Kubelet._adopt`)
        kubelet = self.kubelets.get(node)
        if kubelet is not None:
            kubelet.queue.add(key)

    def _on_object(self, change: Change[Any]) -> None:
        if change.topic == self.topics.desired("services"):
            return  # read when a container starts
        if change.topic == self.topics.desired("persistentvolumes"):  # cluster-scoped: each node looks
            for kubelet in self.kubelets.values():
                kubelet.on_object(change)
            return
        prefix = f"{change.key.split('/', 1)[0]}/"
        for node, keys in self.index.by_node.items():
            for key in keys:
                if key.startswith(prefix):
                    self._wake(node, key)

    def objects_view(self, plural: str) -> Any:
        return self.objects.items(self.topics.desired(plural))

    async def _ready(self) -> None:
        await self._synced.wait()

    async def run(self) -> None:
        producer = make_producer(self.settings)
        await producer.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            for node, kubelet in self.kubelets.items():
                emitter = Emitter(producer, self.topics, node, identity=node_token_headers(self.settings, node),
                                  signer=kubelet.signer)
                tasks.append(asyncio.create_task(
                    kubelet.serve(emitter, self.index.view(node), self.objects_view, ready=self._ready,
                                  stagger=True), name=f"kubelet-{node}"))
            await self.pods.start()
            await self.objects.start()
            await self.pods.wait_synced()
            await self.objects.wait_synced()
            self._synced.set()
            log.info("fleet.synced", nodes=len(self.kubelets), pods=sum(map(len, self.index.by_node.values())))
            await run_until_one_ends(tasks, "a hollow kubelet")
        finally:
            await cancel_and_wait(tasks)
            await self.pods.stop()
            await self.objects.stop()
            await producer.stop()
