"""The Deployment controller: a key's sync re-reads the Deployment, the ReplicaSets
of its namespace and the pods of those it controls or could adopt from the cache
(`_claimable`, `WorkloadCache.pods_of`), runs the pure `reconcile` and executes
the plan — ReplicaSet creations (CREATE: a replay gets AlreadyExists), metadata
patches, scalings (merge patch of spec.replicas and the replicas annotations),
deletions, the Deployment's revision annotation, the status and events. Every
ReplicaSet write is expected until the cache shows it, so no decision is made
twice on a cache that lags its own writes."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.meta import LabelSelector
from schemas.records import Op, WriteRequest
from services.controllers.deployment.reconcile import Plan, reconcile
from services.controllers.machinery.base import BaseController
from services.controllers.machinery.podview import controller_ref
from services.runtime.informer import Change

RS: dict[str, Any] = {"api_version": "apps/v1", "kind": "ReplicaSet"}


class DeploymentController(BaseController):
    plural, api_version, kind, writer = "deployments", "apps/v1", "Deployment", "deployment-controller"

    # -- which keys a change concerns -------------------------------------------------------
    def enqueue_for(self, plural: str, change: Change[Any]) -> set[str]:
        if plural == "deployments":
            return {change.key}
        keys: set[str] = set()
        if plural == "replicasets":
            for rs in (change.old, change.new):
                if rs is not None:
                    keys |= self._owners_of_rs(rs)
        elif plural == "pods":
            desired = change.topic == self.cache.desired["pods"]
            for pod in ([change.old, change.new] if desired else [self.cache.get("pods", change.key)]):
                ref = controller_ref((pod or {}).get("metadata") or {})
                if pod is not None and ref is not None and ref.kind == "ReplicaSet":
                    namespace = pod["metadata"].get("namespace") or "default"
                    rs = self.cache.get("replicasets", f"{namespace}/{ref.name}")
                    if rs is not None:
                        keys |= self._owners_of_rs(rs)
        return keys

    def _owners_of_rs(self, rs: Mapping[str, Any]) -> set[str]:
        meta = rs.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        ref = controller_ref(meta)
        if ref is not None:
            return {f"{namespace}/{ref.name}"} if ref.kind == "Deployment" else set()
        keys = set()
        for d in self.cache.in_namespace("deployments", namespace):
            try:
                selector = LabelSelector.model_validate((d.get("spec") or {}).get("selector") or {})
            except ValidationError:
                continue
            if not selector.is_empty() and selector.matches(meta.get("labels")):
                keys.add(f"{namespace}/{d['metadata']['name']}")
        return keys

    # -- one sync --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        obj = self.cache.get("deployments", key)
        if obj is None:
            self.expectations.forget(key)
            await self.forget_status(key)
            return
        namespace = obj["metadata"].get("namespace") or "default"
        met = self.expectations.met(key, lambda t: self._seen(namespace, t))
        try:
            replicasets = self.cache.in_namespace("replicasets", namespace)
            plan = reconcile(obj, replicasets, self.cache.pods_of(namespace, _claimable(replicasets, obj)),
                             datetime.now(timezone.utc), expectations_met=met,
                             current_status=self.cache.observed_status("deployments", key, obj["metadata"].get("uid")))
        except (ValidationError, ValueError, AssertionError) as exc:
            self.log.warning("deployment.unreadable", key=key, error=str(exc)[:300])
            return
        if plan.writes:
            self.log.info("sync.plan", key=key, create=[c.name for c in plan.create],
                          scale={s.name: s.replicas for s in plan.scale}, delete=[d.name for d in plan.delete],
                          status=plan.status is not None)
        await self._execute(obj, namespace, key, plan)
        self.requeue_after(key, plan.requeue_after)

    def _seen(self, namespace: str, token: Hashable) -> bool:
        assert isinstance(token, tuple)
        rs = self.cache.get("replicasets", f"{namespace}/{token[1]}")
        if token[0] == "exists":
            return rs is not None
        if token[0] == "gone":
            return rs is None or rs["metadata"].get("uid") != token[2]
        return rs is None or (rs.get("spec") or {}).get("replicas") == token[2]

    async def _execute(self, obj: Mapping[str, Any], namespace: str, key: str, plan: Plan) -> None:
        tokens: list[Hashable] = [("exists", c.name) for c in plan.create]
        tokens += [("scale", s.name, s.replicas) for s in plan.scale]
        tokens += [("gone", d.name, d.uid) for d in plan.delete]
        self.expectations.expect(key, tokens)
        requests: list[WriteRequest] = []
        requests += [self.request(Op.CREATE, namespace=namespace, name=c.name, body=c.body, **RS) for c in plan.create]
        requests += [self.request(Op.PATCH, namespace=namespace, name=p.name, body=p.patch,
                                  expected_rv=p.resource_version, **RS) for p in plan.patch]
        requests += [self.request(Op.PATCH, namespace=namespace, name=s.name, **RS,
                                  body={"metadata": {"annotations": s.annotations}, "spec": {"replicas": s.replicas}})
                     for s in plan.scale]
        requests += [self.request(Op.DELETE, namespace=namespace, name=d.name, **RS) for d in plan.delete]
        if plan.annotate is not None:
            requests.append(self.request(Op.PATCH, api_version="apps/v1", kind="Deployment", namespace=namespace,
                                         name=obj["metadata"]["name"], expected_rv=plan.annotate.resource_version,
                                         body={"metadata": {"annotations": plan.annotate.annotations}}))
        for request in requests:  # in order: a scale after the create it follows, on one partition
            await self.send(request)
        for event in plan.events:
            await self.emit(obj, event.reason, event.message, event.type)
        if plan.status is not None:
            await self.write_status(obj, plan.status.status)


def _claimable(replicasets: Sequence[Mapping[str, Any]], deployment: Mapping[str, Any]) -> list[str]:
    """The uids of the ReplicaSets the Deployment controls or could adopt: only their
    pods are read."""
    uid = deployment["metadata"].get("uid")
    uids = []
    for rs in replicasets:
        meta = rs.get("metadata") or {}
        owner = controller_ref(meta)
        if owner is None or owner.uid == uid:
            uids.append(meta.get("uid") or "")
    return uids
