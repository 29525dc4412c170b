"""The machinery the cluster controllers (node lifecycle, garbage collector,
namespace) share: one informer over the topics a controller reads, handlers that
only enqueue keys, a keyed WorkQueue, partition ownership (two controller-manager
replicas split the keys; a dead one's keys move to the survivor), one idempotent
producer for requests, observed records and events, expectations (an action asked
for is not asked again until the object changes or the expectation expires), a
coalesced read barrier, and a periodic resync. In the controller manager the
informer is a view of the process's one `SharedInformer` (`machinery/informer.py`). A
controller supplies the topics, `keys_for(change)`, `all_keys()` and `sync(key)`; see the
gc, namespace, nodelifecycle and hpa service modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timezone
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from schemas.records import Observed, WriteRequest
from services.controllers.machinery.expectations import Expectations
from services.controllers.machinery.informer import InformerView, SharedInformer
from services.runtime.identity import token_headers
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.events import event_key, make_event
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.ownership import PartitionOwnership
from services.runtime.topics import Topics
from services.runtime.trust import CONTROLLER_MANAGER
from services.runtime.workqueue import WorkQueue

log = get_logger(__name__)
EXPECTATION_TTL_S = 15.0  # a cluster controller asks again after 15 s


class Controller(Protocol):
    def keys_for(self, change: Change[Any]) -> Iterable[str]: ...
    def all_keys(self) -> Iterable[str]: ...
    async def sync(self, key: str) -> None: ...


class ControllerHost:
    def __init__(self, settings: Settings, *, component: str, topics: Collection[str],
                 ownership_topic: str, shard_key: Callable[[str], str] = lambda k: k,
                 resync_s: float = 30.0, workers: int = 2, controller: Controller | None = None,
                 shared: SharedInformer | None = None) -> None:
        """`shared`: read through the process's shared informer instead of an own one;
        `controller`: attach it now (required with `shared`: its handler must be added
        before the shared informer starts)."""
        self.settings = settings
        self.component = component
        self.topics = Topics(settings.topic_prefix)
        trust = bus_trust(settings)
        self._signer = trust.observed_signer(CONTROLLER_MANAGER)  # statuses, as kube-controller-manager
        self.informer: Informer[Any] | InformerView = (
            Informer(settings, topics, name=component, trust=trust) if shared is None else shared.view(topics))
        self.queue = WorkQueue(name=component)
        self.expectations = Expectations(ttl_s=EXPECTATION_TTL_S)
        self._shard_key = shard_key
        self._resync_s = resync_s
        self._workers = workers
        self._controller: Controller | None = None
        self._producer: AIOKafkaProducer | None = None
        self._barrier: tuple[float, asyncio.Task[None]] | None = None
        self.ownership = PartitionOwnership(settings, ownership_topic, group=component,
                                            on_change=self.resync)
        if controller is not None:
            self.attach(controller)

    # -- keys --------------------------------------------------------------------------
    def owns(self, key: str) -> bool:
        return self.ownership.owns(self._shard_key(key))

    def add(self, key: str) -> None:
        if self.owns(key):
            self.queue.add(key)

    def add_after(self, key: str, delay_s: float) -> None:
        self.queue.add_after(key, max(0.0, delay_s))

    def resync(self) -> None:
        if self._controller is not None and self.informer.synced:
            for key in list(self._controller.all_keys()):
                self.add(key)

    # -- running -----------------------------------------------------------------------
    def attach(self, controller: Controller) -> None:
        self._controller = controller
        self.informer.add_handler(lambda change: self._on_change(controller, change))

    async def run(self, controller: Controller) -> None:
        if self._controller is not controller:
            self.attach(controller)
        async with self.informer:
            await self.informer.wait_synced()
            log.info("controller.synced", component=self.component)
            async with make_producer(self.settings) as producer:
                self._producer = producer
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.ownership.run(), name=f"{self.component}-ownership")
                    group.create_task(self.queue.run_workers(self._sync, workers=self._workers),
                                      name=f"{self.component}-workers")
                    group.create_task(self._resync_forever(), name=f"{self.component}-resync")

    def _on_change(self, controller: Controller, change: Change[Any]) -> None:
        try:
            keys = list(controller.keys_for(change))
        except Exception as exc:  # a bad record must never stop the view
            log.warning("controller.bad_change", component=self.component, key=change.key,
                        error=f"{type(exc).__name__}: {exc}"[:300])
            return
        if self.informer.synced:
            for key in keys:
                self.add(key)

    async def _sync(self, key: str) -> None:
        if self._controller is not None and self.owns(key):
            await self._controller.sync(key)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self._resync_s)
            self.resync()

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
                                          value=encode(request), headers=token_headers(self.settings))
        log.info("controller.request", component=self.component, op=str(request.op),
                 kind=request.kind, key=request.key, rv=request.expected_resource_version)

    async def observed(self, plural: str, key: str, record: Observed | None) -> None:
        topic, value = self.topics.observed(plural), encode(record)
        await self.producer.send_and_wait(topic, key=key.encode(), value=value,
                                          headers=self._signer.headers(topic, key, value))

    async def event(self, *, reason: str, message: str, involved: dict[str, Any],
                    type_: str = "Normal") -> None:
        event = make_event(reason=reason, message=message, involved=involved,
                           component=self.component, instance=self.settings.instance,
                           now=datetime.now(timezone.utc),
                           type_="Warning" if type_ == "Warning" else "Normal")
        await self.producer.send(self.topics.events, key=event_key(involved).encode(),
                                 value=encode(event))

