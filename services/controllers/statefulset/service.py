"""Wiring of the StatefulSet controller (component "statefulset-controller", as
upstream names it).

Reads desired and observed StatefulSets, desired pods with their observed status,
the PersistentVolumeClaims and the ControllerRevisions through the controller
manager's shared informer (indexes `namespace/set` -> pod and revision keys by
controller reference; a claim maps to the set whose `<template>-<set>-<ordinal>` names
it). A set is synced when it, one of its pods, claims or revisions changes. The pure
`reconcile` decides; this executor writes, in this order: the update revision (or the
renumbering of an equal earlier one), the claims' owner references, the new claims, the
new pods, the pod deletions, the history truncation (all as requests on
`kafkube.requests`, decided by the API as the controller manager), the status on
`kafkube.observed.statefulsets` (signed as the controller manager), then the events.
Writes are expected (machinery expectations) until the view shows them, so a lagging
view never creates a claim, pod or revision twice. Replicas split the sets by
partition (group "statefulset-controller")."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from schemas.statefulset import StatefulSet, StatefulSetStatus
from services.controllers.machinery.children import ChildIndex
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.own_writes import WrittenStatus, write_seen
from services.controllers.machinery.podview import controller_uid, pod_view
from services.controllers.machinery.writes import Target, delete_request, patch_request
from services.controllers.statefulset.identity import claim_name, claim_templates, claim_view, ordinal_of
from services.controllers.statefulset.reconcile import Plan, reconcile
from services.controllers.statefulset.revisions import revision_view
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "statefulset-controller"
PLURAL = "statefulsets"


def statefulset_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {WRITER: StatefulSetController(settings, shared).run}


class StatefulSetController:
    def __init__(self, settings: Settings, shared: SharedInformer | None) -> None:
        topics = Topics(settings.topic_prefix)
        self._sets_t, self._observed_t = topics.desired(PLURAL), topics.observed(PLURAL)
        self._pods_t, self._opods_t = topics.desired("pods"), topics.observed("pods")
        self._claims_t, self._revs_t = topics.desired("persistentvolumeclaims"), topics.desired("controllerrevisions")
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._sets_t,
                                   topics=[self._sets_t, self._observed_t, self._pods_t, self._opods_t,
                                           self._claims_t, self._revs_t],
                                   controller=self, shared=shared)
        self._children = {self._pods_t: ChildIndex("StatefulSet", "apps/v1"),
                          self._revs_t: ChildIndex("StatefulSet", "apps/v1")}
        self._written = WrittenStatus()

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if (index := self._children.get(change.topic)) is not None:
            index.update(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic == self._sets_t:
            return [change.key]
        if (index := self._children.get(change.topic)) is not None:
            return index.owners(change)
        if change.topic == self._opods_t:
            owner = self._children[self._pods_t].owner_key(self.host.informer.get(self._pods_t, change.key))
            return [owner] if owner is not None else []
        if change.topic == self._claims_t:
            return self._claim_owners(change.key)
        return []  # our own status writes

    def _claim_owners(self, claim_key: str) -> list[str]:
        """The sets of the claim's namespace one of whose templates names it."""
        namespace, _, name = claim_key.partition("/")
        owners = []
        for key, doc in self.host.informer.items(self._sets_t).items():
            if not key.startswith(f"{namespace}/"):
                continue
            set_name = key.split("/", 1)[1]
            templates = ((doc.get("spec") or {}).get("volumeClaimTemplates") or []) if isinstance(doc, Mapping) else []
            for template in templates:
                prefix = f"{(template.get('metadata') or {}).get('name')}-{set_name}-"
                if name.startswith(prefix) and name[len(prefix):].isdigit():
                    owners.append(key)
        return owners

    def all_keys(self) -> Iterable[str]:
        return {*self.host.informer.items(self._sets_t),
                *(k for index in self._children.values() for k in index.owners_with_children())}

    # -- one StatefulSet -------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        informer = self.host.informer
        desired = informer.get(self._sets_t, key)
        if desired is None:
            self._written.forget(key)
            if informer.get(self._observed_t, key) is not None:
                await self.host.observed(PLURAL, key, None)
            return  # the garbage collector removes its pods, revisions and owned claims
        try:
            sts = StatefulSet.model_validate(desired)
        except ValidationError as exc:  # the API admitted it: a bug or a newer writer; never stop
            log.warning("statefulset.bad_record", key=key, error=str(exc)[:300])
            return
        if sts.spec is None or sts.spec.template is None:
            return
        if not self._writes_seen(key):
            return  # a change that shows them enqueues the key again
        namespace = key.split("/", 1)[0]
        uid = sts.metadata.uid
        pods = [pod_view(p, informer.get(self._opods_t, k)) for k in sorted(self._children[self._pods_t].of(key))
                if (p := informer.get(self._pods_t, k)) is not None and controller_uid(p) == uid]
        revisions = [revision_view(r) for k in sorted(self._children[self._revs_t].of(key))
                     if (r := informer.get(self._revs_t, k)) is not None and controller_uid(r) == uid]
        start = sts.spec.ordinals.start if sts.spec.ordinals else 0
        ordinals = set(range(start, start + (sts.spec.replicas or 0)))
        ordinals |= {o for p in pods if (o := ordinal_of(sts.metadata.name or "", p.name)) is not None}
        claims = {}
        for template in claim_templates(sts):
            for ordinal in ordinals:
                name = claim_name(template, sts, ordinal)
                if (claim := informer.get(self._claims_t, f"{namespace}/{name}")) is not None:
                    claims[name] = claim_view(claim)
        previous = self._status(key, uid)
        prior = StatefulSetStatus.model_validate(previous) if previous else None
        plan = reconcile(sts, prior, pods, claims, revisions, datetime.now(timezone.utc))
        await self._execute(key, sts, plan, previous)

    def _writes_seen(self, key: str) -> bool:
        namespace = key.split("/", 1)[0]
        informer = self.host.informer

        def seen_in(topic: str) -> Any:
            def seen(token: Hashable) -> bool:
                assert isinstance(token, tuple)
                return write_seen(informer.get(topic, f"{namespace}/{token[1]}"), token)
            return seen
        return all(self.host.expectations.met((key, topic), seen_in(topic))
                   for topic in (self._pods_t, self._claims_t, self._revs_t))

    def _status(self, key: str, uid: str | None) -> dict[str, Any] | None:
        return self._written.current(key, uid, self.host.informer.get(self._observed_t, key))

    async def _execute(self, key: str, sts: StatefulSet, plan: Plan, previous: dict[str, Any] | None) -> None:
        host, name = self.host, sts.metadata.name or ""
        namespace = sts.metadata.namespace or "default"
        bound = log.bind(kind="StatefulSet", namespace=namespace, name=name, uid=sts.metadata.uid)
        involved = {"apiVersion": sts.api_version, "kind": sts.kind, "namespace": namespace, "name": name,
                    "uid": sts.metadata.uid, "resourceVersion": sts.metadata.resource_version}
        if plan.create_revision is not None:
            rev_name = plan.create_revision["metadata"]["name"]
            host.expectations.expect((key, self._revs_t), [("create", rev_name)])
            await host.request(self._create(plan.create_revision))
            bound.info("statefulset.revision", revision=rev_name, number=plan.create_revision["revision"])
        if plan.bump_revision is not None:
            bump = plan.bump_revision
            if host.expectations.fresh(("bump", bump.uid, bump.resource_version)):
                await host.request(patch_request(
                    Target("apps/v1", "ControllerRevision", bump.name, namespace, bump.uid, bump.resource_version),
                    {"revision": bump.number}, writer=WRITER))
        for claim_patch in plan.patch_claims:
            if host.expectations.fresh(("claim-owners", claim_patch.uid, claim_patch.resource_version)):
                await host.request(patch_request(
                    Target("v1", "PersistentVolumeClaim", claim_patch.name, namespace, claim_patch.uid,
                           claim_patch.resource_version),
                    {"metadata": {"ownerReferences": [dict(r) for r in claim_patch.owner_refs]}}, writer=WRITER))
        if plan.create_claims:
            host.expectations.expect((key, self._claims_t), [("create", c["metadata"]["name"]) for c in plan.create_claims])
            for claim in plan.create_claims:
                await host.request(self._create(claim))
                await host.event(reason="SuccessfulCreate", involved=involved, message=(
                    f"create Claim {claim['metadata']['name']} Pod {_claim_pod(claim, name)} "
                    f"in StatefulSet {name} success"))
        if plan.create_pods:
            host.expectations.expect((key, self._pods_t), [("create", p["metadata"]["name"]) for p in plan.create_pods])
            for pod in plan.create_pods:
                await host.request(self._create(pod))
                await host.event(reason="SuccessfulCreate", involved=involved,
                                 message=f"create Pod {pod['metadata']['name']} in StatefulSet {name} successful")
        if plan.delete_pods:
            host.expectations.expect((key, self._pods_t), [("delete", p.name, p.uid) for p in plan.delete_pods])
            for victim in plan.delete_pods:
                await host.request(delete_request(Target("v1", "Pod", victim.name, namespace, victim.uid),
                                                  writer=WRITER, precondition=False))
                await host.event(reason="SuccessfulDelete", involved=involved,
                                 message=f"delete Pod {victim.name} in StatefulSet {name} successful")
        for old in plan.delete_revisions:
            if host.expectations.fresh(("delete-revision", old.uid)):
                await host.request(delete_request(Target("apps/v1", "ControllerRevision", old.name, namespace, old.uid),
                                                  writer=WRITER, precondition=False))
        if previous != plan.status:
            record = Observed(apiVersion=sts.api_version, kind=sts.kind, writer=WRITER, status=plan.status,
                              metadata=ObservedMeta(name=name, namespace=namespace, uid=sts.metadata.uid))
            await host.observed(PLURAL, key, record)
            self._written.remember(key, sts.metadata.uid or "", record.observed_at, plan.status)
            bound.info("statefulset.status", replicas=plan.status.get("replicas"),
                       ready=plan.status.get("readyReplicas"), updated=plan.status.get("updatedReplicas"))
        if plan.requeue_after is not None:
            host.add_after(key, plan.requeue_after + 0.05)

    @staticmethod
    def _create(body: dict[str, Any]) -> WriteRequest:
        meta = body["metadata"]
        return WriteRequest(op=Op.CREATE, apiVersion=body["apiVersion"], kind=body["kind"],
                            namespace=meta["namespace"], name=meta["name"], body=body, writer=WRITER,
                            principal=f"system:controller:{WRITER}", reply=False)



def _claim_pod(claim: Mapping[str, Any], set_name: str) -> str:
    """`web-0` for the claim `data-web-0` of set `web`."""
    return f"{set_name}-{str(claim['metadata']['name']).rsplit('-', 1)[1]}"
