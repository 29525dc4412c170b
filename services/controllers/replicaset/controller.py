"""The ReplicaSet and ReplicationController controllers (one class, two kinds):
a key's sync re-reads the cache, runs the pure `reconcile` and executes its plan —
adoptions and releases (PATCH ownerReferences at the pod's resourceVersion),
creations in slow-start batches stopping at the first failure (each expected
until the cache shows it), deletions, then the status when it changed."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.records import Op
from services.controllers.machinery.base import BaseController
from services.controllers.machinery.podview import controller_ref
from services.controllers.replicaset.reconcile import AdoptPod, Plan, ReleasePod, reconcile
from services.controllers.replicaset.workload import REPLICASET, REPLICATION_CONTROLLER, WORKLOADS, Kind, Workload
from services.runtime.informer import Change


class CreateFailed(Exception):
    retriable = True


class ReplicaController(BaseController):
    def __init__(self, *args: Any, kind: Kind, **kwargs: Any) -> None:
        self.spec = kind
        self.plural, self.api_version, self.kind, self.writer = kind.plural, kind.api_version, kind.kind, kind.controller
        self._parse = WORKLOADS[kind.kind]
        self._workloads: dict[str, tuple[Any, Workload | None]] = {}
        super().__init__(*args, **kwargs)

    # -- which keys a change concerns ---------------------------------------------------------
    def enqueue_for(self, plural: str, change: Change[Any]) -> set[str]:
        if plural == self.plural:
            return {change.key}
        if plural != "pods":
            return set()
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

    # -- one sync --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        obj = self.cache.get(self.plural, key)
        if obj is None:
            self.expectations.forget(key)
            self._workloads.pop(key, None)
            await self.forget_status(key)
            return
        w = self._workload(obj)
        if w is None:
            return
        namespace = w.namespace
        met = self.expectations.met(key, lambda t: self._seen(namespace, t))
        plan = reconcile(w, self.cache.pods_of(namespace, [w.uid], orphans=True), datetime.now(timezone.utc),
                         current_status=self.cache.observed_status(self.plural, key, w.uid), expectations_met=met,
                         taken=self.cache.pod_names(namespace))
        if not plan.empty:
            self.log.info("sync.plan", key=key, diff=plan.diff, create=len(plan.create), delete=len(plan.delete),
                          adopt=len(plan.adopt), release=len(plan.release), status=plan.status is not None)
        await self._execute(obj, w, plan)
        self.requeue_after(key, plan.requeue_after)

    def _seen(self, namespace: str, token: Hashable) -> bool:
        assert isinstance(token, tuple)
        pod = self.cache.get("pods", f"{namespace}/{token[1]}")
        if token[0] == "create":
            return pod is not None
        return pod is None or pod["metadata"].get("uid") != token[2] or bool(pod["metadata"].get("deletionTimestamp"))

    async def _execute(self, obj: Mapping[str, Any], w: Workload, plan: Plan) -> None:
        changes: list[AdoptPod | ReleasePod] = [*plan.adopt, *plan.release]
        for change in changes:
            await self.send(self.request(Op.PATCH, api_version="v1", kind="Pod", namespace=w.namespace,
                                         name=change.name, expected_rv=change.resource_version,
                                         body={"metadata": {"ownerReferences": list(change.owner_refs)}}))
        if plan.create:
            await self._create(obj, w, plan)
        if plan.delete:
            self.expectations.expect(w.key, [("delete", d.name, d.uid) for d in plan.delete])
            errors = await self.send_many([self.request(Op.DELETE, api_version="v1", kind="Pod",
                                                        namespace=w.namespace, name=d.name) for d in plan.delete])
            for d, error in zip(plan.delete, errors):
                if error is None:
                    await self.emit(obj, "SuccessfulDelete", f"Deleted pod: {d.name}")
                else:
                    self.expectations.lower(w.key, [("delete", d.name, d.uid)])
            if any(errors):
                raise CreateFailed(f"deleting pods of {w.key}: {next(e for e in errors if e)}")
        if plan.status is not None:
            await self.write_status(obj, plan.status.status)

    async def _create(self, obj: Mapping[str, Any], w: Workload, plan: Plan) -> None:
        self.expectations.expect(w.key, [("create", c.name) for c in plan.create])
        batches = plan.create_batches
        for index, batch in enumerate(batches):
            errors = await self.send_many([self.request(Op.CREATE, api_version="v1", kind="Pod", namespace=w.namespace,
                                                        name=c.name, body=c.body) for c in batch])
            for c, error in zip(batch, errors):
                if error is None:
                    await self.emit(obj, "SuccessfulCreate", f"Created pod: {c.name}")
            failed = [c for c, e in zip(batch, errors) if e is not None]
            if failed:  # slow start: stop here; what was not sent will never show
                unsent = failed + [c for b in batches[index + 1:] for c in b]
                self.expectations.lower(w.key, [("create", c.name) for c in unsent])
                await self.emit(obj, "FailedCreate", f"Error creating: {next(e for e in errors if e)}", "Warning")
                raise CreateFailed(f"creating pods of {w.key}: {len(unsent)} not sent")


def replicaset_controller(*args: Any, **kwargs: Any) -> ReplicaController:
    return ReplicaController(*args, kind=REPLICASET, **kwargs)


def replication_controller(*args: Any, **kwargs: Any) -> ReplicaController:
    return ReplicaController(*args, kind=REPLICATION_CONTROLLER, **kwargs)
