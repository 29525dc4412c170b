"""Wiring of the garbage collector (component "garbage-collector").

One informer over every desired topic (`schemas.registry.ALL_KINDS`) keeps two
indexes: uid → object and owner uid → dependents. Handlers enqueue
`<topic>|<key>` work keys: an object with ownerReferences or with a collector
finalizer, and the dependents of an object that went away or started deleting. A
worker re-reads the object, classifies its owners and runs the pure `reconcile`.
An *absent* owner is confirmed against a fresh read barrier before anything is
deleted or patched (the owner may be committed but not yet read: desired topics are
read independently). Replicas split the objects by the partition of their key.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from schemas.registry import ALL_KINDS, lookup_kind
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.owners import OwnerIndex, Ref, owner_uids, uid_of
from services.controllers.machinery.informer import SharedInformer
from services.controllers.gc.reconcile import (
    GC_FINALIZERS, Delete, OwnerState, PatchOwners, Plan, RemoveFinalizers, owner_state, reconcile,
)
from services.controllers.machinery.writes import delete_request, patch_request
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
COMPONENT = "garbage-collector"


def gc_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {COMPONENT: GarbageCollector(settings, shared).run}


def work_key(topic: str, key: str) -> str:
    return f"{topic}|{key}"


def split_work_key(item: str) -> Ref:
    topic, _, key = item.partition("|")
    return topic, key


class GarbageCollector:
    def __init__(self, settings: Settings, shared: SharedInformer | None = None) -> None:
        topics = Topics(settings.topic_prefix)
        self._topics = [topics.desired(info.plural) for info in ALL_KINDS]
        self.host = ControllerHost(settings, component=COMPONENT, topics=self._topics,
                                   ownership_topic=topics.desired("namespaces"),
                                   shard_key=lambda item: split_work_key(item)[1],
                                   controller=self, shared=shared)
        self.index = OwnerIndex()

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        self.index.update((change.topic, change.key), change.old, change.new)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        ref = (change.topic, change.key)
        old, new = change.old, change.new
        keys: set[str] = set()
        if new is not None and (owner_uids(new) or _collector_finalizing(new)):
            keys.add(work_key(*ref))
        if _lifecycle(old) != _lifecycle(new):  # gone, replaced, or started deleting
            for uid in {uid_of(old), uid_of(new)} - {None}:
                keys |= {work_key(*dep) for dep in self.index.dependents.get(uid or "", ())}
        for uid in owner_uids(old) | owner_uids(new):  # a waiting owner may be done now
            owner = self.index.by_uid.get(uid)
            if owner is not None and _collector_finalizing(self.host.informer.get(*owner)):
                keys.add(work_key(*owner))
        return keys

    def all_keys(self) -> Iterable[str]:
        for topic in self._topics:
            for key, obj in self.host.informer.items(topic).items():
                if owner_uids(obj) or _collector_finalizing(obj):
                    yield work_key(topic, key)

    # -- one object ------------------------------------------------------------------------
    async def sync(self, item: str) -> None:
        ref = split_work_key(item)
        started = time.monotonic()
        plan, absent = self._plan(ref)
        if absent and plan.actions and any(not isinstance(a, RemoveFinalizers) for a in plan.actions):
            await self.host.fresh_view(started)  # confirm the owner is really gone
            plan, _ = self._plan(ref)
        await self._execute(plan)

    def _plan(self, ref: Ref) -> tuple[Plan, bool]:
        obj = self.host.informer.get(*ref)
        if obj is None:
            return Plan(), False
        owners = {uid: self._owner_state(uid, obj) for uid in owner_uids(obj)}
        uid = uid_of(obj)
        dependents = [d for d in (self.host.informer.get(*r) for r in self.index.dependents.get(uid or "", ()))
                      if d is not None and uid in owner_uids(d)]
        plan = reconcile(obj, owners, dependents)
        return plan, OwnerState.ABSENT in owners.values()

    def _owner_state(self, uid: str, dependent: dict[str, Any]) -> OwnerState:
        where = self.index.by_uid.get(uid)
        owner = self.host.informer.get(*where) if where else None
        ref = next(r for r in dependent["metadata"]["ownerReferences"] if isinstance(r, dict) and r.get("uid") == uid)
        return owner_state(owner, kind_served=_served(ref))

    async def _execute(self, plan: Plan) -> None:
        host = self.host
        for action in plan.actions:
            target = action.target
            if not host.expectations.fresh((type(action).__name__, target.kind, target.key,
                                            target.resource_version)):
                continue
            if isinstance(action, Delete):
                await host.request(delete_request(target, writer=COMPONENT, policy=action.policy))
                log.info("gc.delete", kind=target.kind, key=target.key, policy=action.policy,
                         reason=action.reason)
            elif isinstance(action, PatchOwners):
                refs = list(action.owner_references) if action.owner_references else None
                await host.request(patch_request(target, {"metadata": {"ownerReferences": refs}},
                                                 writer=COMPONENT))
                log.info("gc.owners", kind=target.kind, key=target.key, reason=action.reason)
            elif isinstance(action, RemoveFinalizers):
                remaining = list(action.remaining) or None
                await host.request(patch_request(target, {"metadata": {"finalizers": remaining}},
                                                 writer=COMPONENT))
                log.info("gc.finalized", kind=target.kind, key=target.key, removed=action.removed)


def _lifecycle(obj: dict[str, Any] | None) -> tuple[Any, ...]:
    if obj is None:
        return (None,)
    meta = obj.get("metadata") or {}
    return (meta.get("uid"), bool(meta.get("deletionTimestamp")), tuple(meta.get("finalizers") or ()))


def _collector_finalizing(obj: dict[str, Any] | None) -> bool:
    meta = (obj or {}).get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and any(f in GC_FINALIZERS for f in meta.get("finalizers") or [])


def _served(ref: dict[str, Any]) -> bool:
    try:
        lookup_kind(str(ref.get("apiVersion")), str(ref.get("kind")))
    except LookupError:
        return False
    return True
