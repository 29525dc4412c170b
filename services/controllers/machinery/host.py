"""The one host of every controller of the controller manager: one informer over the
topics a controller reads (in the controller manager a view of the process's one
`SharedInformer`, `machinery/informer.py`), handlers that only map a change to keys, a
keyed WorkQueue, partition ownership (controller-manager replicas split the keys; a
dead one's keys move to the survivors) with a takeover fence (the keys of a partition
just assigned are synced only once every request already on `kafkube.requests` is
applied by the API and in the view, so the previous owner's writes are seen), one
idempotent producer for requests (one by one or batched), observed records and
events, expectations (a write asked for is not asked again until the view shows it or
the expectation expires), a coalesced read barrier, and a periodic resync, paced so
that it never crowds out the events. A controller supplies the topics,
`observe(change)` (its own indexes, from the first record on), `keys_for(change)`
(asked only once the view is synced: while it replays, the takeover resyncs every key
anyway), `all_keys()` and `sync(key)`; see the replicaset, deployment, job, gc,
namespace, nodelifecycle and hpa modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from schemas.records import Observed, ObservedMeta, WriteRequest
from services.controllers.machinery.expectations import Expectations
from services.controllers.machinery.informer import InformerView, SharedInformer
from services.controllers.machinery.observed_pods import controllers_decoder
from services.controllers.machinery.takeover import TakeoverFence
from services.runtime.identity import token_headers
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.events import event_key, involved_object, make_event
from services.runtime.fence import FENCE_RETRY_S
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.ownership import PartitionOwnership
from services.runtime.resync import paced_passes
from services.runtime.topics import Topics
from services.runtime.trust import CONTROLLER_MANAGER
from services.runtime.workqueue import WorkQueue

log = get_logger(__name__)
EXPECTATION_TTL_S = 15.0  # a cluster controller asks again after 15 s
# The workload controllers (ReplicaSet, ReplicationController, Deployment): many keys, so
# more workers; a pod or ReplicaSet they create is expected for 60 s before asked again.
WORKLOAD_WORKERS = 4
WORKLOAD_EXPECTATION_TTL_S = 60.0
# The periodic resync is a safety net under the events, and must never crowd them out:
# a controller's pass asks its keys in chunks, at most RESYNC_KEYS_PER_S a second (at
# 150,000 pods the collector's pass of every pod each 30 s was 5,000 syncs/s, more than
# the process had).
RESYNC_KEYS_PER_S = 500.0
RESYNC_CHUNK = 100


def object_key(meta: Mapping[str, Any]) -> str:
    """`namespace/name` of a namespaced object, `name` of a cluster-scoped one."""
    namespace = meta.get("namespace")
    return f"{namespace}/{meta['name']}" if namespace else str(meta["name"])


class Controller(Protocol):
    def observe(self, change: Change[Any]) -> None:
        """Keep the controller's own indexes true: every change of the view, the replay too."""

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        """The keys a change concerns (after `observe`; only once the view is synced)."""

    def all_keys(self) -> Iterable[str]: ...
    async def sync(self, key: str) -> None: ...


class ControllerHost:
    def __init__(self, settings: Settings, *, component: str, topics: Collection[str],
                 ownership_topic: str, shard_key: Callable[[str], str] = lambda k: k,
                 resync_s: float = 30.0, workers: int = 2, controller: Controller | None = None,
                 shared: SharedInformer | None = None, expectation_ttl_s: float = EXPECTATION_TTL_S) -> None:
        """`shared`: read through the process's shared informer instead of an own one;
        `controller`: attach it now (required with `shared`: its handler must be added
        before the shared informer starts); `expectation_ttl_s`: how long a write asked
        for stays pending when the view never shows it."""
        self.settings = settings
        self.component = component
        self.topics = Topics(settings.topic_prefix)
        trust = bus_trust(settings)
        self._signer = trust.observed_signer(CONTROLLER_MANAGER)  # statuses, as kube-controller-manager
        self.informer: Informer[Any] | InformerView = (
            Informer(settings, topics, name=component, trust=trust,
                     decoder=controllers_decoder(self.topics))
            if shared is None else shared.view(topics))
        self._takeover = (TakeoverFence(settings, lambda: self.informer.barrier()) if shared is None
                          else shared.takeover)  # with a shared informer, one fence serves every controller
        self.queue = WorkQueue(name=component)
        self.expectations = Expectations(ttl_s=expectation_ttl_s)
        self._identity = token_headers(settings)
        self._shard_key = shard_key
        self._resync_s = resync_s
        self._workers = workers
        self._controller: Controller | None = None
        self._replayed = False  # the view has synced and `run` knows it: changes map to keys from now on
        self._producer: AIOKafkaProducer | None = None
        self._barrier: tuple[float, asyncio.Task[None]] | None = None
        self._assigned = asyncio.Event()  # an assignment not yet taken over
        self._usable: frozenset[int] = frozenset()  # partitions taken over (fenced)
        self.ownership = PartitionOwnership(settings, ownership_topic, group=component,
                                            on_change=self._assigned.set)
        if controller is not None:
            self.attach(controller)

    # -- keys --------------------------------------------------------------------------
    def owns(self, key: str) -> bool:
        """The key's partition is assigned to this replica and taken over."""
        partition = self.ownership.partition(self._shard_key(key))
        return partition in self._usable and partition in self.ownership.owned

    def add(self, key: str) -> None:
        if self.owns(key):
            self.queue.add(key)

    def add_after(self, key: str, delay_s: float) -> None:
        self.queue.add_after(key, max(0.0, delay_s))

    def resync(self) -> None:
        """Every key at once (a takeover)."""
        for key in self._all_keys():
            self.add(key)

    def _all_keys(self) -> list[str]:
        if self._controller is None or not self.informer.synced:
            return []
        return list(self._controller.all_keys())

    # -- running -----------------------------------------------------------------------
    def attach(self, controller: Controller) -> None:
        if self._controller is None:  # one handler, whichever controller is attached
            self.informer.add_handler(self._on_change)
        self._controller = controller

    async def run(self, controller: Controller) -> None:
        if self._controller is not controller:
            self.attach(controller)
        async with self.informer:
            await self.informer.wait_synced()
            self._replayed = True
            log.info("controller.synced", component=self.component)
            async with make_producer(self.settings) as producer:
                self._producer = producer
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.ownership.run(), name=f"{self.component}-ownership")
                    group.create_task(self._take_over_forever(), name=f"{self.component}-takeover")
                    group.create_task(self.queue.run_workers(self._sync, workers=self._workers),
                                      name=f"{self.component}-workers")
                    group.create_task(self._resync_forever(), name=f"{self.component}-resync")

    def _on_change(self, change: Change[Any]) -> None:
        controller = self._controller
        assert controller is not None
        try:
            controller.observe(change)
            if not self._replayed:  # the replay: the takeover resyncs every key
                return
            keys = list(controller.keys_for(change))
        except Exception as exc:  # a bad record must never stop the view
            log.warning("controller.bad_change", component=self.component, key=change.key,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return
        for key in keys:
            self.add(key)

    async def _sync(self, key: str) -> None:
        if self._controller is not None and self.owns(key):
            await self._controller.sync(key)

    async def _take_over_forever(self) -> None:
        """At each assignment: the previous owner's writes first (applied by the API,
        then in our view), then the partitions owned when it began become usable and
        every key is synced again. Assignments during a fence get their own fence."""
        while True:
            await self._assigned.wait()
            self._assigned.clear()
            owned, since = self.ownership.owned, time.monotonic()
            try:
                await self._takeover.after(since)
            except Exception as exc:  # the broker briefly away: the keys stay unowned, try again
                log.warning("controller.takeover_failed", component=self.component,
                            error=f"{type(exc).__name__}: {exc}"[:300])
                await asyncio.sleep(FENCE_RETRY_S)
                self._assigned.set()
                continue
            self._usable = owned
            log.info("controller.owns", component=self.component, partitions=sorted(owned))
            self.resync()

    async def _resync_forever(self) -> None:
        """Every key again each `resync_s`, in chunks, at most RESYNC_KEYS_PER_S a second."""
        await paced_passes(self._all_keys, self.add, period_s=self._resync_s, per_s=RESYNC_KEYS_PER_S,
                           chunk=RESYNC_CHUNK)

    # -- reads -------------------------------------------------------------------------
    async def fresh_view(self, since: float) -> None:
        """Wait until the view holds everything committed at some moment after
        `since` (time.monotonic()); concurrent callers share one barrier."""
        if self._barrier is None or self._barrier[0] < since:
            self._barrier = (time.monotonic(), asyncio.ensure_future(self.informer.barrier()))
        await asyncio.shield(self._barrier[1])

    # -- writes ------------------------------------------------------------------------
    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "controller not running"
        return self._producer

    async def request(self, request: WriteRequest) -> None:
        await self.producer.send_and_wait(self.topics.requests, key=request.key.encode(),
                                          value=encode(request), headers=self._identity)
        log.info("controller.request", component=self.component, op=str(request.op),
                 kind=request.kind, key=request.key, rv=request.expected_resource_version)

    async def request_many(self, requests: Sequence[WriteRequest]) -> list[BaseException | None]:
        """Queue every request in order, then await their deliveries together (no task
        per request); per request None (delivered) or its error. The caller logs."""
        deliveries: list[asyncio.Future[Any] | BaseException] = []
        for request in requests:
            try:
                deliveries.append(await self.producer.send(self.topics.requests, key=request.key.encode(),
                                                           value=encode(request), headers=self._identity))
            except Exception as exc:  # reported per request, as the caller wants
                deliveries.append(exc)
        results: list[BaseException | None] = []
        for delivery in deliveries:
            if isinstance(delivery, BaseException):
                results.append(delivery)
                continue
            try:
                await delivery
                results.append(None)
            except Exception as exc:
                results.append(exc)
        return results

    async def observed(self, plural: str, key: str, record: Observed | None) -> None:
        topic, value = self.topics.observed(plural), encode(record)
        await self.producer.send_and_wait(topic, key=key.encode(), value=value,
                                          headers=self._signer.headers(topic, key, value))

    async def write_status(self, plural: str, obj: Mapping[str, Any], status: dict[str, Any], *,
                           api_version: str, kind: str) -> None:
        """`obj`'s status on `kafkube.observed.<plural>`, written by this controller."""
        meta = obj["metadata"]
        record = Observed(apiVersion=api_version, kind=kind, writer=self.component, status=status,
                          metadata=ObservedMeta(name=meta["name"], namespace=meta.get("namespace"), uid=meta.get("uid")))
        await self.observed(plural, object_key(meta), record)

    async def forget_status(self, plural: str, key: str) -> None:
        """The object is gone: tombstone the status this controller wrote for it."""
        record = self.informer.get(self.topics.observed(plural), key)
        if record is not None and record.get("writer") == self.component:
            await self.observed(plural, key, None)

    async def event_about(self, obj: Mapping[str, Any], reason: str, message: str, *, api_version: str,
                          kind: str, type_: str = "Normal") -> None:
        """An event whose involved object is `obj` (at its resourceVersion)."""
        meta = obj["metadata"]
        await self.event(reason=reason, message=message, type_=type_, involved=involved_object(
            api_version=api_version, kind=kind, name=meta["name"], namespace=meta.get("namespace"),
            uid=meta.get("uid"), resource_version=meta.get("resourceVersion")))

    async def event(self, *, reason: str, message: str, involved: dict[str, Any],
                    type_: str = "Normal") -> None:
        event = make_event(reason=reason, message=message, involved=involved,
                           component=self.component, instance=self.settings.instance,
                           now=datetime.now(timezone.utc),
                           type_="Warning" if type_ == "Warning" else "Normal")
        await self.producer.send(self.topics.events, key=event_key(involved).encode(),
                                 value=encode(event))

