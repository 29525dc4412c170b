"""Wiring of the endpoints controller (`kafkube serve endpoints`).

Informers follow desired Services, desired and observed pods, and the controller's own
output (`kafkube.observed.endpoints`). Handlers only enqueue Service keys: a Service
change enqueues itself; a pod change enqueues the Services of its namespace whose
selector matches the pod's old or new labels. A worker re-reads the caches, runs the
pure `endpoints_for`, and writes an `Observed` Endpoints record (status = {subsets})
only when the subsets differ from what is on the topic; a deleted Service gets a
tombstone. Replicas share the Services by partition (`PartitionOwnership` on the
desired Services topic); Endpoints are keyed like their Service, so one writer per key.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.records import Observed, ObservedMeta
from services.endpoints.compute import endpoints_for, merge_pod, selector_of, selects
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.informer import Change, Informer
from services.runtime.logging import get_logger
from services.runtime.ownership import PartitionOwnership
from services.runtime.supervisor import Component
from services.runtime.topics import Topics
from services.runtime.trust import CONTROLLER_MANAGER
from services.runtime.workqueue import WorkQueue

log = get_logger(__name__)
WRITER = "endpoints-controller"
GROUP = "endpoints-controller"
RESYNC_EVERY_S = 30.0
WORKERS = 4


def endpoints_components(settings: Settings) -> dict[str, Component]:
    return {"endpoints": EndpointsController(settings).run}


class EndpointsController:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        topics = Topics(settings.topic_prefix)
        self._svc_t = topics.desired("services")
        self._pods_t, self._pod_status_t = topics.desired("pods"), topics.observed("pods")
        self._out_t = topics.observed("endpoints")
        trust = bus_trust(settings)
        self._signer = trust.observed_signer(CONTROLLER_MANAGER)  # Endpoints, as kube-controller-manager
        self._view: Informer[Any] = Informer(
            settings, [self._svc_t, self._pods_t, self._pod_status_t, self._out_t], name="endpoints", trust=trust)
        self._queue = WorkQueue(name="endpoints", base_delay_s=0.2, max_delay_s=10.0)
        self._ownership = PartitionOwnership(settings, self._svc_t, group=GROUP, on_change=self._enqueue_all)
        self._producer: AIOKafkaProducer | None = None
        self._ns_pods: dict[str, set[str]] = {}  # namespace -> pod keys, for lookups by namespace
        self._written: dict[str, list[dict[str, Any]] | None] = {}  # what this replica last wrote

    async def run(self) -> None:
        self._view.add_handler(self._on_change)
        self._producer = make_producer(self._settings)
        await self._producer.start()
        try:
            async with self._view:
                await self._view.wait_synced()
                owner = asyncio.create_task(self._ownership.run(), name="endpoints-ownership")
                try:
                    await self._ownership.ready.wait()
                    log.info("endpoints.started", owned=sorted(self._ownership.owned))
                    self._enqueue_all()
                    await asyncio.gather(owner, self._queue.run_workers(self.sync, workers=WORKERS),
                                         self._resync())
                finally:
                    owner.cancel()
        finally:
            await self._producer.stop()

    # -- handlers: enqueue keys only ---------------------------------------------------
    def _on_change(self, change: Change[Any]) -> None:
        if change.topic == self._svc_t or change.topic == self._out_t:
            self._queue.add(change.key)
            return
        namespace = change.key.split("/", 1)[0]
        keys = self._ns_pods.setdefault(namespace, set())
        if self._view.get(self._pods_t, change.key) is None:
            keys.discard(change.key)
        else:
            keys.add(change.key)
        labels = [self._labels(change.old), self._labels(change.new),
                  self._labels(self._view.get(self._pods_t, change.key))]
        for key, svc in self._view.items(self._svc_t).items():
            if key.startswith(namespace + "/") and any(selects(selector_of(svc), lb) for lb in labels):
                self._queue.add(key)

    @staticmethod
    def _labels(obj: Any) -> dict[str, str] | None:
        if not isinstance(obj, dict) or "spec" not in obj:
            return None  # an observed record has no labels: the desired pod's are used
        return (obj.get("metadata") or {}).get("labels")

    def _enqueue_all(self) -> None:
        self._written.clear()  # ownership moved: trust only the topic again
        for key in list(self._view.items(self._svc_t)) + list(self._view.items(self._out_t)):
            self._queue.add(key)

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_EVERY_S)
            self._enqueue_all()

    # -- the sync of one Service key ------------------------------------------------------
    async def sync(self, key: str) -> None:
        if not self._ownership.owns(key):
            return
        service = self._view.get(self._svc_t, key)
        current = self._view.get(self._out_t, key)
        if service is None or selector_of(service) is None:
            if self._last(key, current) is not None and (current or {}).get("writer", WRITER) == WRITER:
                await self._write(key, None)
                log.info("endpoints.removed", key=key)
            return
        namespace = key.split("/", 1)[0]
        pods = [merge_pod(self._view.get(self._pods_t, k) or {}, self._view.get(self._pod_status_t, k))
                for k in sorted(self._ns_pods.get(namespace, ()))]
        subsets = endpoints_for(service, pods)
        if self._last(key, current) == subsets:
            return
        meta = service["metadata"]
        record = Observed(apiVersion="v1", kind="Endpoints", writer=WRITER, status={"subsets": subsets},
                          metadata=ObservedMeta(name=meta["name"], namespace=namespace, uid=meta.get("uid")))
        await self._write(key, record)
        log.info("endpoints.updated", key=key, ready=_count(subsets, "addresses"),
                 not_ready=_count(subsets, "notReadyAddresses"))

    def _last(self, key: str, current: dict[str, Any] | None) -> list[dict[str, Any]] | None:
        """The subsets on the topic for `key` (None: no record), as far as we know: what
        we last wrote, before the informer has read it back."""
        if key in self._written:
            return self._written[key]
        return None if current is None else (current.get("status") or {}).get("subsets", [])

    async def _write(self, key: str, record: Observed | None) -> None:
        assert self._producer is not None
        value = encode(record)
        await self._producer.send_and_wait(self._out_t, key=key.encode(), value=value,
                                           headers=self._signer.headers(self._out_t, key, value))
        self._written[key] = None if record is None else record.status["subsets"]


def _count(subsets: list[dict[str, Any]], field: str) -> int:
    return sum(len(s.get(field) or []) for s in subsets)
