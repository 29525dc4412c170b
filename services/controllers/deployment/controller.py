"""The Deployment controller (on its `ControllerHost`: component and consumer group
`deployment-controller`): a key's sync re-reads the Deployment, the ReplicaSets
of its namespace and the pods of those it controls or could adopt from the cache
(`_claimable`, `WorkloadCache.pods_of`), runs the pure `reconcile` and executes
the plan — ReplicaSet creations (CREATE: a replay gets AlreadyExists), metadata
patches, scalings (merge patch of spec.replicas and the replicas annotations),
deletions, the Deployment's revision annotation, the status and events. Every
ReplicaSet write is expected until the cache shows it, so no decision is made
twice on a cache that lags its own writes."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.meta import LabelSelector
from schemas.records import WriteRequest
from services.controllers.deployment.model import claimable
from services.controllers.deployment.reconcile import Plan, reconcile
from services.controllers.machinery.cache import WorkloadCache, workload_topics
from services.controllers.machinery.host import WORKLOAD_EXPECTATION_TTL_S, WORKLOAD_WORKERS, ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.podview import controller_ref
from services.controllers.machinery.writes import Target, create_request, delete_request, patch_request
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "deployment-controller"
PLURAL, API_VERSION, KIND = "deployments", "apps/v1", "Deployment"
KINDS = ("replicasets", "deployments")


class DeploymentController:
    def __init__(self, settings: Settings, shared: SharedInformer | None = None) -> None:
        topics = Topics(settings.topic_prefix)
        self.host = ControllerHost(settings, component=WRITER, topics=workload_topics(topics, KINDS),
                                   ownership_topic=topics.desired(PLURAL), workers=WORKLOAD_WORKERS,
                                   expectation_ttl_s=WORKLOAD_EXPECTATION_TTL_S, controller=self, shared=shared)
        self.cache = WorkloadCache(self.host.informer, topics, KINDS)
        self.log = log.bind(controller=WRITER)

    async def run(self) -> None:
        await self.host.run(self)

    # -- which keys a change concerns -------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        self.cache.observe(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        plural = self.cache.plural_of(change)
        if plural is None:
            return ()
        if plural == "deployments":
            return (change.key,)
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
        for d in self.cache.in_namespace(PLURAL, namespace):
            try:
                selector = LabelSelector.model_validate((d.get("spec") or {}).get("selector") or {})
            except ValidationError:
                continue
            if not selector.is_empty() and selector.matches(meta.get("labels")):
                keys.add(f"{namespace}/{d['metadata']['name']}")
        return keys

    def all_keys(self) -> Iterable[str]:
        return self.cache.keys(PLURAL)

    # -- one sync --------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        obj = self.cache.get(PLURAL, key)
        if obj is None:
            self.host.expectations.forget(key)
            await self.host.forget_status(PLURAL, key)
            return
        namespace = obj["metadata"].get("namespace") or "default"
        met = self.host.expectations.met(key, lambda t: self._seen(namespace, t))
        try:
            replicasets = self.cache.in_namespace("replicasets", namespace)
            plan = reconcile(obj, replicasets, self.cache.pods_of(namespace, _claimable(replicasets, obj)),
                             datetime.now(timezone.utc), expectations_met=met,
                             current_status=self.cache.observed_status(PLURAL, key, obj["metadata"].get("uid")))
        except (ValidationError, ValueError, AssertionError) as exc:
            self.log.warning("deployment.unreadable", key=key, error=str(exc)[:300])
            return
        if plan.writes:
            self.log.info("sync.plan", key=key, uid=obj["metadata"].get("uid"), create=[c.name for c in plan.create],
                          scale={s.name: s.replicas for s in plan.scale}, delete=[d.name for d in plan.delete],
                          status=plan.status is not None)
        await self._execute(obj, namespace, key, plan)
        if plan.requeue_after is not None:
            self.host.add_after(key, max(0.05, plan.requeue_after))

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
        host = self.host
        host.expectations.expect(key, tokens)

        def rs(name: str, resource_version: str | None = None) -> Target:
            return Target("apps/v1", "ReplicaSet", name, namespace, resource_version=resource_version)

        requests: list[WriteRequest] = []
        requests += [create_request(rs(c.name), c.body, writer=WRITER) for c in plan.create]
        requests += [patch_request(rs(p.name, p.resource_version), p.patch, writer=WRITER) for p in plan.patch]
        requests += [patch_request(rs(s.name), {"metadata": {"annotations": s.annotations},
                                                "spec": {"replicas": s.replicas}}, writer=WRITER) for s in plan.scale]
        requests += [delete_request(rs(d.name), writer=WRITER) for d in plan.delete]
        if plan.annotate is not None:
            requests.append(patch_request(
                Target(API_VERSION, KIND, obj["metadata"]["name"], namespace,
                       resource_version=plan.annotate.resource_version),
                {"metadata": {"annotations": plan.annotate.annotations}}, writer=WRITER))
        for request in requests:  # in order: a scale after the create it follows, on one partition
            await host.request(request)
        for event in plan.events:
            await host.event_about(obj, event.reason, event.message, api_version=API_VERSION, kind=KIND,
                                   type_=event.type)
        if plan.status is not None:
            await host.write_status(PLURAL, obj, plan.status.status, api_version=API_VERSION, kind=KIND)


def _claimable(replicasets: Sequence[Mapping[str, Any]], deployment: Mapping[str, Any]) -> list[str]:
    """The uids of the ReplicaSets the Deployment controls or could adopt: only their
    pods are read."""
    uid = deployment["metadata"].get("uid")
    return [(rs.get("metadata") or {}).get("uid") or "" for rs in replicasets if claimable(rs, uid)]
