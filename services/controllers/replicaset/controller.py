"""The ReplicaSet and ReplicationController controllers (one class, two kinds, each on
its own `ControllerHost`: component and consumer group `replicaset-controller`,
`replication-controller`): a key's sync re-reads the cache, runs the pure
`reconcile` and executes its plan — adoptions and releases (PATCH ownerReferences at
the pod's resourceVersion), creations in slow-start batches stopping at the first
failure (each expected until the cache shows it), deletions, then the status when it
changed."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from services.controllers.machinery.cache import WorkloadCache, workload_topics
from services.controllers.machinery.host import WORKLOAD_EXPECTATION_TTL_S, WORKLOAD_WORKERS, ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.podview import controller_ref
from services.controllers.machinery.writes import Target, create_request, delete_request, patch_request
from services.controllers.replicaset.reconcile import AdoptPod, Plan, ReleasePod, reconcile
from services.controllers.replicaset.workload import WORKLOADS, Kind, Workload
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

log = get_logger(__name__)


class CreateFailed(Exception):
    retriable = True


class ReplicaController:
    def __init__(self, settings: Settings, kind: Kind, shared: SharedInformer | None = None) -> None:
        self.plural, self.api_version, self.kind = kind.plural, kind.api_version, kind.kind
        topics = Topics(settings.topic_prefix)
        self.host = ControllerHost(settings, component=kind.controller, topics=workload_topics(topics, [kind.plural]),
                                   ownership_topic=topics.desired(kind.plural), workers=WORKLOAD_WORKERS,
                                   expectation_ttl_s=WORKLOAD_EXPECTATION_TTL_S, controller=self, shared=shared)
        self.cache = WorkloadCache(self.host.informer, topics, [kind.plural])
        self.log = log.bind(controller=kind.controller)
        self._parse = WORKLOADS[kind.kind]
        self._workloads: dict[str, tuple[Any, Workload | None]] = {}

    async def run(self) -> None:
        await self.host.run(self)

    # -- which keys a change concerns ---------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        self.cache.observe(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        plural = self.cache.plural_of(change)
        if plural is None:
            return ()
        if plural == self.plural:
            return (change.key,)
        keys: set[str] = set()
        desired = change.topic == self.cache.desired["pods"]
        pods = [change.old, change.new] if desired else [self.cache.get("pods", change.key)]
        for pod in pods:
            if pod is not None:
                keys |= self._owners_of(pod)
        return keys

    def _owners_of(self, pod: Mapping[str, Any]) -> set[str]:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        ref = controller_ref(meta)
        if ref is not None:
            return {f"{namespace}/{ref.name}"} if ref.kind == self.kind else set()
        keys = set()
        for obj in self.cache.in_namespace(self.plural, namespace):
            w = self._workload(obj)
            if w is not None and not w.deleting and w.matches(meta.get("labels")):
                keys.add(w.key)
        return keys

    def _workload(self, obj: Mapping[str, Any]) -> Workload | None:
        meta = obj["metadata"]
        key = f"{meta.get('namespace') or 'default'}/{meta['name']}"
        cached = self._workloads.get(key)
        if cached is not None and cached[0] is obj:
            return cached[1]
        try:
            w: Workload | None = self._parse(obj)
        except (ValidationError, ValueError, KeyError) as exc:
            self.log.warning("workload.unreadable", key=key, error=str(exc)[:300])
            w = None
        self._workloads[key] = (obj, w)
        return w

    def all_keys(self) -> Iterable[str]:
        return self.cache.keys(self.plural)

    # -- one sync --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        obj = self.cache.get(self.plural, key)
        if obj is None:
            self.host.expectations.forget(key)
            self._workloads.pop(key, None)
            await self.host.forget_status(self.plural, key)
            return
        w = self._workload(obj)
        if w is None:
            return
        namespace = w.namespace
        met = self.host.expectations.met(key, lambda t: self._seen(namespace, t))
        plan = reconcile(w, self.cache.pods_of(namespace, [w.uid], orphans=True), datetime.now(timezone.utc),
                         current_status=self.cache.observed_status(self.plural, key, w.uid), expectations_met=met,
                         taken=self.cache.pod_names(namespace))
        if not plan.empty:
            self.log.info("sync.plan", key=key, uid=w.uid, diff=plan.diff, create=len(plan.create),
                          delete=len(plan.delete), adopt=len(plan.adopt), release=len(plan.release),
                          status=plan.status is not None)
        await self._execute(obj, w, plan)
        if plan.requeue_after is not None:
            self.host.add_after(key, max(0.05, plan.requeue_after))

    def _seen(self, namespace: str, token: Hashable) -> bool:
        assert isinstance(token, tuple)
        pod = self.cache.get("pods", f"{namespace}/{token[1]}")
        if token[0] == "create":
            return pod is not None
        return pod is None or pod["metadata"].get("uid") != token[2] or bool(pod["metadata"].get("deletionTimestamp"))

    async def _execute(self, obj: Mapping[str, Any], w: Workload, plan: Plan) -> None:
        host, writer = self.host, self.host.component
        changes: list[AdoptPod | ReleasePod] = [*plan.adopt, *plan.release]
        for change in changes:
            await host.request(patch_request(pod_target(w, change.name, change.resource_version),
                                             {"metadata": {"ownerReferences": list(change.owner_refs)}}, writer=writer))
        if plan.create:
            await self._create(obj, w, plan)
        if plan.delete:
            host.expectations.expect(w.key, [("delete", d.name, d.uid) for d in plan.delete])
            errors = await host.request_many([delete_request(pod_target(w, d.name), writer=writer)
                                              for d in plan.delete])
            for d, error in zip(plan.delete, errors):
                if error is None:
                    await self._event(obj, "SuccessfulDelete", f"Deleted pod: {d.name}")
                else:
                    host.expectations.lower(w.key, [("delete", d.name, d.uid)])
            if any(errors):
                raise CreateFailed(f"deleting pods of {w.key}: {next(e for e in errors if e)}")
        if plan.status is not None:
            await host.write_status(self.plural, obj, plan.status.status, api_version=self.api_version, kind=self.kind)

    async def _create(self, obj: Mapping[str, Any], w: Workload, plan: Plan) -> None:
        host, writer = self.host, self.host.component
        host.expectations.expect(w.key, [("create", c.name) for c in plan.create])
        batches = plan.create_batches
        for index, batch in enumerate(batches):
            errors = await host.request_many([create_request(pod_target(w, c.name), c.body, writer=writer)
                                              for c in batch])
            for c, error in zip(batch, errors):
                if error is None:
                    await self._event(obj, "SuccessfulCreate", f"Created pod: {c.name}")
            failed = [c for c, e in zip(batch, errors) if e is not None]
            if failed:  # slow start: stop here; what was not sent will never show
                unsent = failed + [c for b in batches[index + 1:] for c in b]
                host.expectations.lower(w.key, [("create", c.name) for c in unsent])
                await self._event(obj, "FailedCreate", f"Error creating: {next(e for e in errors if e)}", "Warning")
                raise CreateFailed(f"creating pods of {w.key}: {len(unsent)} not sent")

    async def _event(self, obj: Mapping[str, Any], reason: str, message: str, type_: str = "Normal") -> None:
        await self.host.event_about(obj, reason, message, api_version=self.api_version, kind=self.kind, type_=type_)


def pod_target(w: Workload, name: str, resource_version: str | None = None) -> Target:
    """A pod of the workload's namespace (a PATCH valid only at `resource_version`)."""
    return Target("v1", "Pod", name, w.namespace, resource_version=resource_version)
