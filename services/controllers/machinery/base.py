"""The runtime shared by the workload controllers (one subclass per kind): a
WorkQueue of object keys, PartitionOwnership over the kind's desired topic (a
replica syncs only keys it owns; on an assignment it waits until its view holds
everything committed, then re-enqueues all keys), workers that start only after
the cache is synced, a periodic resync, and the writers (requests, status,
events). Subclasses implement `sync(key)` and `enqueue_for(plural, change)`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.controllers.machinery.cache import WorkloadCache
from services.controllers.machinery.expectations import Expectations
from services.runtime.identity import token_headers
from services.runtime.bus import encode, partition_for
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.fence import wait_requests_applied
from services.runtime.events import event_key, involved_object, make_event
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.ownership import PartitionOwnership
from services.runtime.trust import CONTROLLER_MANAGER
from services.runtime.workqueue import WorkQueue

log = get_logger(__name__)
RESYNC_EVERY_S = 30.0
WORKERS = 4


class Producer:
    """A late-bound producer shared by the controllers of one process."""

    def __init__(self) -> None:
        self.producer: AIOKafkaProducer | None = None

    def get(self) -> AIOKafkaProducer:
        assert self.producer is not None, "the controller manager has not started"
        return self.producer


class BaseController:
    plural: str = ""
    api_version: str = ""
    kind: str = ""
    writer: str = ""

    def __init__(self, settings: Settings, cache: WorkloadCache, producer: Producer) -> None:
        self.settings = settings
        self._identity = token_headers(settings)
        self._signer = bus_trust(settings).observed_signer(CONTROLLER_MANAGER)  # our statuses
        self.cache = cache
        self.topics = cache.topics
        self.producer = producer
        self.queue = WorkQueue(name=self.writer)
        self.expectations = Expectations()  # workload writes: 60 s
        self._usable: frozenset[int] = frozenset()
        self.ownership = PartitionOwnership(settings, cache.desired[self.plural], group=f"controller-{self.plural}",
                                            on_change=self._assignment_changed)
        self._tasks: set[asyncio.Task[None]] = set()
        self.log = log.bind(controller=self.writer)
        cache.on_change(self._changed)

    # -- ownership and queueing --------------------------------------------------------------
    def owns(self, key: str) -> bool:
        partition = partition_for(key, self.settings.partitions)
        return partition in self._usable and partition in self.ownership.owned

    def _assignment_changed(self) -> None:
        task = asyncio.get_running_loop().create_task(self._take_over())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _take_over(self) -> None:
        # The previous owner's writes first: applied by the API, then in our view.
        await wait_requests_applied(self.settings, self.topics.requests)
        await self.cache.informer.barrier()
        self._usable = self.ownership.owned
        self.log.info("controller.owns", partitions=sorted(self._usable))
        self.resync()

    def resync(self) -> None:
        for key in self.cache.keys(self.plural):
            if self.owns(key):
                self.queue.add(key)

    def _changed(self, plural: str, change: Change[Any]) -> None:
        for key in self.enqueue_for(plural, change):
            self.queue.add(key)

    def enqueue_for(self, plural: str, change: Change[Any]) -> set[str]:
        raise NotImplementedError

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def _sync_owned(self, key: str) -> None:
        if self.owns(key):
            await self.sync(key)

    # -- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until cancelled; the cache must be synced and the producer started."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.ownership.run(), name=f"{self.writer}-ownership")
            group.create_task(self.queue.run_workers(self._sync_owned, workers=WORKERS), name=f"{self.writer}-workers")
            group.create_task(self._resync_loop(), name=f"{self.writer}-resync")

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_EVERY_S)
            self.resync()

    # -- writers ---------------------------------------------------------------------------------
    async def send(self, request: WriteRequest) -> None:
        await self.producer.get().send_and_wait(self.topics.requests, key=request.key.encode(),
                                                value=encode(request), headers=token_headers(self.settings))

    async def send_many(self, requests: list[WriteRequest]) -> list[BaseException | None]:
        """Queue all in order, then await their deliveries together (no task per
        request); per request None (sent) or the error."""
        producer = self.producer.get()
        deliveries: list[asyncio.Future[Any] | BaseException] = []
        for request in requests:
            try:
                deliveries.append(await producer.send(self.topics.requests, key=request.key.encode(),
                                                      value=encode(request), headers=self._identity))
            except Exception as exc:  # noqa: BLE001 - reported per request, as the caller wants
                deliveries.append(exc)
        results: list[BaseException | None] = []
        for delivery in deliveries:
            if isinstance(delivery, BaseException):
                results.append(delivery)
                continue
            try:
                await delivery
                results.append(None)
            except Exception as exc:  # noqa: BLE001
                results.append(exc)
        return results

    def request(self, op: Op, *, api_version: str, kind: str, namespace: str, name: str,
                body: dict[str, Any] | None = None, expected_rv: str | None = None) -> WriteRequest:
        return WriteRequest(op=op, apiVersion=api_version, kind=kind, namespace=namespace, name=name, body=body,
                            expectedResourceVersion=expected_rv, writer=self.writer,
                            principal=f"system:controller:{self.writer}", reply=False)

    async def write_status(self, obj: Mapping[str, Any], status: dict[str, Any]) -> None:
        meta = obj["metadata"]
        record = Observed(apiVersion=self.api_version, kind=self.kind, writer=self.writer, status=status,
                          metadata=ObservedMeta(name=meta["name"], namespace=meta.get("namespace"), uid=meta.get("uid")))
        key = f"{meta.get('namespace') or 'default'}/{meta['name']}"
        await self._write_observed(key, encode(record))

    async def forget_status(self, key: str) -> None:
        """The object is gone: tombstone the status we wrote for it."""
        record = self.cache.observed_record(self.plural, key)
        if record is not None and record.get("writer") == self.writer:
            await self._write_observed(key, None)

    async def _write_observed(self, key: str, value: bytes | None) -> None:
        topic = self.cache.observed[self.plural]
        await self.producer.get().send_and_wait(topic, key=key.encode(), value=value,
                                                headers=self._signer.headers(topic, key, value))

    async def emit(self, obj: Mapping[str, Any], reason: str, message: str, type_: Any = "Normal") -> None:
        meta = obj["metadata"]
        involved = involved_object(api_version=self.api_version, kind=self.kind, name=meta["name"],
                                   namespace=meta.get("namespace"), uid=meta.get("uid"),
                                   resource_version=meta.get("resourceVersion"))
        event = make_event(reason=reason, message=message, involved=involved, component=self.writer,
                           instance=self.settings.instance, now=datetime.now(timezone.utc), type_=type_)
        producer = self.producer.get()
        await producer.send(self.topics.events, key=event_key(involved).encode(), value=orjson.dumps(event))

    def requeue_after(self, key: str, delay_s: float | None) -> None:
        if delay_s is not None:
            self.queue.add_after(key, max(0.05, delay_s))
