"""Wiring of the scheduler service (`kafkube serve scheduler`).

Informers follow desired/observed pods and nodes and keep a `ClusterSnapshot`;
handlers only enqueue pod keys. One worker takes a key, re-reads the pod from the
cache and runs `algorithm.schedule`. A fit onto a node this replica owns becomes a
BIND request on `kafkube.requests` and an assumption in the snapshot; a fit onto
another replica's node is left to that replica; no fit gives a FailedScheduling
event and a PodScheduled=False condition (from the pod's one reporter replica).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.runtime.identity import token_headers
from services.runtime.bus import encode, make_producer
from services.runtime.buskeys import bus_trust
from services.runtime.config import Settings
from services.runtime.events import event_key, involved_object, make_event
from services.runtime.informer import Change, Informer, viewing_decoder
from services.runtime.logging import get_logger
from services.runtime.metrics import SCHEDULE_ATTEMPTS, SCHEDULING_ATTEMPT_SECONDS
from services.runtime.supervisor import Component
from services.runtime.topics import Topics
from services.runtime.trust import SCHEDULER
from services.runtime.workqueue import WorkQueue
from services.scheduler.algorithm import Bound, Decision, Unschedulable, pre_filter_failure, schedule
from services.scheduler.assume import AssumeCache
from services.runtime.fence import wait_requests_applied
from services.scheduler.model import PodRequest, PodRequests, node_info, observed_pod_view, wants_scheduling
from services.scheduler.ownership import NodeOwnership
from services.scheduler.snapshot import ClusterSnapshot
from services.scheduler.volumes import STORAGE_KINDS, PodClaims, StorageState, VolumeWrite, pod_claims, volume_writes

log = get_logger(__name__)
COMPONENT = "default-scheduler"
WRITER = "scheduler"
REPORT_EVERY_S = 30.0  # one FailedScheduling per pod and message per this period
RESYNC_EVERY_S = 30.0
ELSEWHERE_RECHECK_S = 1.0  # a fit onto another replica's node: look again after this
VOLUMES_RECHECK_S = 1.0  # volume writes asked for: bind once they show (or look again after this)
RETRY_AFTER_ERROR_S = 2.0
DRAIN_TIMEOUT_S = 10.0
TERMINATED = ("Succeeded", "Failed")


def scheduler_components(settings: Settings) -> dict[str, Component]:
    return {"scheduler": Scheduler(settings).run}


class Scheduler:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._identity = token_headers(settings)
        topics = Topics(settings.topic_prefix)
        self._topics = topics
        self._pods_t, self._nodes_t = topics.desired("pods"), topics.desired("nodes")
        self._opods_t, self._onodes_t = topics.observed("pods"), topics.observed("nodes")
        trust = bus_trust(settings)
        self._signer = trust.observed_signer(SCHEDULER)  # PodScheduled=False of unbound pods
        self._storage_t = {topics.desired(kind): kind for kind in STORAGE_KINDS}
        self._informer: Informer[Any] = Informer(
            settings, [self._pods_t, self._nodes_t, self._opods_t, self._onodes_t, *self._storage_t],
            decoder=viewing_decoder(self._opods_t, observed_pod_view), name="scheduler", trust=trust)
        self._informer.add_handler(self._on_change)
        self.snapshot = ClusterSnapshot()
        self._assumed = AssumeCache()
        self._requests = PodRequests()
        self.storage = StorageState()
        self._awaiting_volumes: set[str] = set()  # pods whose volume writes were asked for
        self._queue = WorkQueue(name="scheduler")
        self._attempts = {unschedulable: (SCHEDULE_ATTEMPTS.labels(result), SCHEDULING_ATTEMPT_SECONDS.labels(result))
                          for unschedulable, result in ((False, "scheduled"), (True, "unschedulable"))}
        self._unschedulable: set[str] = set()
        self._reported: dict[str, tuple[str, float]] = {}  # pod key -> (message, when)
        self._wake: asyncio.TimerHandle | None = None
        self._producer: AIOKafkaProducer | None = None
        self.ownership = NodeOwnership(settings, self._nodes_t, fence=self._fence,
                                       drain=self._drain, on_change=self._resync)

    async def run(self) -> None:
        async with self._informer:
            await self._informer.wait_synced()
            log.info("scheduler.synced", nodes=len(self.snapshot.nodes()),
                     pods=len(self._informer.items(self._pods_t)))
            async with make_producer(self._settings) as producer:
                self._producer = producer
                self._resync()
                async with asyncio.TaskGroup() as group:
                    group.create_task(self.ownership.run(), name="scheduler-ownership")
                    group.create_task(self._queue.run_workers(self._work, workers=1), name="scheduler-worker")
                    group.create_task(self._tick(), name="scheduler-tick")

    # -- informer handlers: update the snapshot, enqueue keys ---------------------------
    def _on_change(self, change: Change[Any]) -> None:
        if change.topic in (self._nodes_t, self._onodes_t):
            self._node_changed(change.key)
        elif change.topic in self._storage_t:
            self._storage_changed(self._storage_t[change.topic], change.key, change.new)
        elif change.topic == self._pods_t:
            verdict = self._assumed.settle(change.key, change.new)
            if verdict in ("rejected", "lost"):
                log.info("pod.assumption_dropped", pod=change.key, verdict=verdict)
            if change.new is None:
                self._requests.forget(change.key)
            self._pod_changed(change.key)
            if wants_scheduling(change.new):
                self._queue.add(change.key)
            else:
                self._unschedulable.discard(change.key)
                self._awaiting_volumes.discard(change.key)
                self._reported.pop(change.key, None)
        elif change.topic == self._opods_t:
            self._pod_changed(change.key)

    def _node_changed(self, name: str) -> None:
        desired = self._informer.get(self._nodes_t, name)
        info = None
        if desired is not None:
            try:
                info = node_info(desired, self._informer.get(self._onodes_t, name))
            except (ValidationError, ValueError) as exc:
                log.warning("node.unreadable", node=name, error=str(exc)[:300])
        if info != self.snapshot.node(name):
            self.snapshot.set_node(name, info)
            self._wake_unschedulable()

    def _storage_changed(self, kind: str, key: str, raw: dict[str, Any] | None) -> None:
        try:
            self.storage.set(kind, key, raw)
        except (ValidationError, ValueError) as exc:  # counts as absent
            log.warning("storage.unreadable", kind=kind, key=key, error=str(exc)[:300])
        for pod in self._awaiting_volumes:
            self._queue.add(pod)
        self._wake_unschedulable()

    def _pod_changed(self, key: str) -> None:
        """Count the pod where it is bound (or assumed), unless it has terminated."""
        before = self.snapshot.placement(key)
        pod = self._informer.get(self._pods_t, key)
        node = self._node_of(key, pod)
        if node is None or pod is None:
            self.snapshot.place(key, None)
        else:
            try:
                self.snapshot.place(key, node, self._requests.of(key, pod))
            except (ValidationError, ValueError) as exc:
                log.warning("pod.unreadable", pod=key, error=str(exc)[:300])
                self.snapshot.place(key, None)
        if before is not None and self.snapshot.placement(key) != before:
            self._wake_unschedulable()  # room was made

    def _node_of(self, key: str, pod: dict[str, Any] | None) -> str | None:
        if pod is None or self._terminated(key, pod):
            return None
        bound = (pod.get("spec") or {}).get("nodeName")
        assumption = self._assumed.get(key)
        return bound or (assumption.node if assumption else None)

    def _terminated(self, key: str, pod: dict[str, Any]) -> bool:
        observed = self._informer.get(self._opods_t, key) or {}
        uid = (pod.get("metadata") or {}).get("uid")
        if (observed.get("metadata") or {}).get("uid") not in (None, uid):
            return False  # the status of an earlier pod of that name
        return (observed.get("status") or {}).get("phase") in TERMINATED

    def _wake_unschedulable(self) -> None:
        """Retry the unschedulable pods soon (debounced: changes come in bursts)."""
        if self._wake is None and self._unschedulable:
            loop = asyncio.get_running_loop()
            self._wake = loop.call_later(0.2, self._flush_unschedulable)

    def _flush_unschedulable(self) -> None:
        self._wake = None
        for key in sorted(self._unschedulable):
            self._queue.add(key)

    def _resync(self) -> None:
        pods = self._informer.items(self._pods_t)
        waiting = [(p.get("metadata", {}).get("creationTimestamp") or "", k)
                   for k, p in pods.items() if wants_scheduling(p)]
        for _created, key in sorted(waiting):
            self._queue.add(key)

    # -- the worker ------------------------------------------------------------------
    async def _work(self, key: str) -> None:
        """One decision at a time, against the snapshot with every assumption."""
        try:
            await self._sync(key)
        except (KafkaError, OSError) as exc:
            log.error("pod.sync_failed", pod=key, error=f"{exc.__class__.__name__}: {exc}")
            self._queue.add_after(key, RETRY_AFTER_ERROR_S)

    async def _sync(self, key: str) -> None:
        raw = self._informer.get(self._pods_t, key)
        if not wants_scheduling(raw) or self._assumed.get(key) is not None:
            return
        if not self.ownership.binds_anywhere:
            return  # no node to bind onto yet (fence, or lost): gaining nodes re-enqueues every pod
        assert raw is not None
        plog = log.bind(pod=key, uid=(raw.get("metadata") or {}).get("uid"))
        try:
            pod = self._requests.of(key, raw)
        except (ValidationError, ValueError) as exc:
            plog.warning("pod.unreadable", error=str(exc)[:300])
            return
        started = time.perf_counter()
        decision, claims = self._decide(pod)
        attempts, seconds = self._attempts[isinstance(decision, Unschedulable)]
        attempts.inc()
        seconds.observe(time.perf_counter() - started)
        if isinstance(decision, Unschedulable):
            self._unschedulable.add(key)
            if self.ownership.reports_for(key):
                await self._report(raw, decision.message)
            plog.debug("pod.unschedulable", message=decision.message)
            return
        self._unschedulable.discard(key)
        if not self.ownership.owns_node(decision.node):
            plog.debug("pod.fits_elsewhere", node=decision.node)
            self._queue.add_after(key, ELSEWHERE_RECHECK_S)
            return
        chosen = self.snapshot.node(decision.node)
        writes = volume_writes(claims.find(chosen, self.storage)[1], decision.node) if claims and chosen else []
        if writes:  # bind once they show in the view (the next attempt finds none missing)
            self._awaiting_volumes.add(key)
            await self._write_volumes(key, writes, decision.node, plog)
            self._queue.add_after(key, VOLUMES_RECHECK_S)
            return
        self._awaiting_volumes.discard(key)
        await self._bind(raw, key, decision, plog)

    def _decide(self, pod: PodRequest) -> tuple[Decision, PodClaims | None]:
        """The algorithm, with the VolumeBinding PreFilter and Filter for a pod with claims."""
        if not pod.claims:
            return schedule(pod, self.snapshot), None
        claims = pod_claims(pod.key.split("/", 1)[0], pod.claims, self.storage)
        if isinstance(claims, str):
            return pre_filter_failure(len(self.snapshot.rows()), claims), None
        return schedule(pod, self.snapshot, lambda node: claims.reasons(node, self.storage)), claims

    async def _write_volumes(self, key: str, writes: list[VolumeWrite], node: str, plog: Any) -> None:
        """Ask the API for the claims' selected node and the static volumes' claimRef
        (upstream's bindAPIUpdate), as system:kube-scheduler; the outcome shows in the view."""
        assert self._producer is not None
        for write in writes:
            request = WriteRequest(op=Op.PATCH, apiVersion="v1", kind=write.kind, namespace=write.namespace,
                                   name=write.name, body=write.patch, expectedResourceVersion=write.resource_version,
                                   writer=WRITER, principal="system:kube-scheduler", reply=False)
            await self._producer.send_and_wait(self._topics.requests, key=request.key.encode(),
                                               value=encode(request), headers=self._identity)
            plog.info("pod.volume_write_requested", kind=write.kind, name=write.name, node=node)

    async def _bind(self, raw: dict[str, Any], key: str, decision: Bound, plog: Any) -> None:
        meta = raw.get("metadata") or {}
        rv = meta.get("resourceVersion")
        self._assumed.assume(key, decision.node, rv, now=time.monotonic())
        self._pod_changed(key)
        request = WriteRequest(op=Op.BIND, apiVersion="v1", kind="Pod", namespace=meta.get("namespace"),
                               name=meta["name"], nodeName=decision.node, expectedResourceVersion=rv,
                               writer=WRITER, principal="system:kube-scheduler", reply=False)
        assert self._producer is not None
        try:  # queued in order; delivery is awaited off the worker, so binds pipeline
            delivery = await self._producer.send(self._topics.requests, key=key.encode(), value=encode(request),
                                                 headers=self._identity)
        except BaseException:
            self._assumed.forget(key)
            self._pod_changed(key)
            raise
        delivery.add_done_callback(lambda f: self._bind_delivered(f, key))
        plog.info("pod.bind_requested", node=decision.node, score=decision.score,
                  feasible=decision.feasible, resource_version=rv)
        await self._emit(raw, "Scheduled", f"Successfully assigned {key} to {decision.node}", "Normal", wait=False)

    def _bind_delivered(self, delivery: asyncio.Future[Any], key: str) -> None:
        """A bind the broker refused: drop the assumption and try the pod again."""
        if delivery.cancelled() or delivery.exception() is None:
            return
        log.error("pod.sync_failed", pod=key, error=f"{type(delivery.exception()).__name__}: {delivery.exception()}")
        if self._assumed.get(key) is not None:
            self._assumed.forget(key)
            self._pod_changed(key)
        self._queue.add_after(key, RETRY_AFTER_ERROR_S)

    # -- reporting -------------------------------------------------------------------
    async def _report(self, raw: dict[str, Any], message: str) -> None:
        key = f"{raw['metadata'].get('namespace') or 'default'}/{raw['metadata']['name']}"
        last = self._reported.get(key)
        now = time.monotonic()
        if last is None or last[0] != message or now - last[1] >= REPORT_EVERY_S:
            self._reported[key] = (message, now)
            await self._emit(raw, "FailedScheduling", message, "Warning")
            log.info("pod.failed_scheduling", pod=key, message=message)
        await self._write_condition(raw, key, message)

    async def _emit(self, raw: dict[str, Any], reason: str, message: str, type_: Any, *, wait: bool = True) -> None:
        meta = raw.get("metadata") or {}
        involved = involved_object(api_version="v1", kind="Pod", name=meta.get("name"),
                                   namespace=meta.get("namespace"), uid=meta.get("uid"),
                                   resource_version=meta.get("resourceVersion"))
        event = make_event(reason=reason, message=message, involved=involved, component=COMPONENT,
                           instance=self._settings.instance, now=datetime.now(timezone.utc), type_=type_)
        assert self._producer is not None
        delivery = await self._producer.send(self._topics.events, key=event_key(involved).encode(),
                                             value=orjson.dumps(event))
        if wait:
            await delivery

    async def _write_condition(self, raw: dict[str, Any], key: str, message: str) -> None:
        """PodScheduled=False on the pod's observed record, while nobody else owns it."""
        current = self._informer.get(self._opods_t, key)
        meta = raw["metadata"]
        if current is not None and (current.get("writer") != WRITER
                                    or (current.get("metadata") or {}).get("uid") == meta.get("uid")
                                    and _condition_message(current) == message):
            return
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": message, "lastProbeTime": None, "lastTransitionTime": now}]}
        record = Observed(apiVersion="v1", kind="Pod", writer=WRITER, status=status,
                          metadata=ObservedMeta(name=meta["name"], namespace=meta.get("namespace"),
                                                uid=meta.get("uid")))
        assert self._producer is not None
        value = encode(record)
        await self._producer.send_and_wait(self._opods_t, key=key.encode(), value=value,
                                           headers=self._signer.headers(self._opods_t, key, value))

    # -- periodic work and handover ----------------------------------------------------
    async def _tick(self) -> None:
        last_resync = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            for key in self._assumed.expired(now=time.monotonic()):
                log.warning("pod.assumption_expired", pod=key)
                self._pod_changed(key)
                self._queue.add(key)
            if time.monotonic() - last_resync >= RESYNC_EVERY_S:
                last_resync = time.monotonic()
                await self._check_informer()
                self._resync()

    async def _check_informer(self) -> None:
        """Raise if the informer's follow task died (so the supervisor restarts us)."""
        try:
            await asyncio.wait_for(self._informer.barrier(), timeout=RESYNC_EVERY_S)
        except TimeoutError:
            log.warning("scheduler.informer_lagging")

    async def _fence(self) -> None:
        """Before binding onto newly owned nodes: every earlier bind applied and seen."""
        await wait_requests_applied(self._settings, self._topics.requests)
        await self._informer.barrier()

    async def _drain(self, revoked: Callable[[str], bool]) -> None:
        """Wait (bounded) until our binds onto revoked nodes show on desired.pods."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            if not any(revoked(node) for node in self._assumed.nodes()):
                return
            await asyncio.sleep(0.05)
        log.warning("ownership.drain_timeout", pending=len(self._assumed))


def _condition_message(observed: dict[str, Any]) -> str | None:
    for condition in (observed.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled":
            message = condition.get("message")
            return str(message) if message is not None else None
    return None
