"""Wiring of the DaemonSet controller (component "daemonset-controller"; upstream's
daemon-set-controller).

Reads desired and observed DaemonSets, desired and observed pods, ControllerRevisions
and desired Nodes through the controller manager's shared informer, with indexes
`namespace/daemonset` -> pod keys and -> revision keys (by the controller reference).
A DaemonSet is synced when it, one of its pods or revisions changes, when a node comes,
goes or changes its labels or taints (every DaemonSet), and when its plan asks (a pod
becoming available after minReadySeconds). The pure `reconcile` decides; this executor
writes, in this order: the ControllerRevision (create, or renumber), the status on
`kafkube.observed.daemonsets` (signed as the controller manager), pod deletions and
creations, old revisions' deletions (all as requests on `kafkube.requests`, decided by
the API as the controller manager), then the events. Creations and deletions are
expected (`machinery.expectations`) until the view shows them; while any is pending only
the history and status are written, so a lagging view never makes a second pod on a
node. Replicas split the DaemonSets by partition (group "daemonset-controller")."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.daemonset import DaemonSet
from schemas.records import Observed, ObservedMeta
from services.controllers.daemonset.history import revision_view
from services.controllers.daemonset.nodes import node_view
from services.controllers.daemonset.pods import daemon_pod
from services.controllers.daemonset.reconcile import Plan, reconcile
from services.controllers.machinery.children import ChildIndex
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.own_writes import WrittenStatus, write_seen
from services.controllers.machinery.podview import controller_uid
from services.controllers.machinery.writes import Target, create_request, delete_request, patch_request
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "daemonset-controller"
PLURAL = "daemonsets"
REVISIONS = "controllerrevisions"


def daemonset_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {WRITER: DaemonSetController(settings, shared).run}


def _scheduling(node: Any) -> Any:
    """What of a Node decides eligibility (labels, taints); None when absent."""
    if not isinstance(node, Mapping):
        return None
    return ((node.get("metadata") or {}).get("labels"), (node.get("spec") or {}).get("taints"))


class DaemonSetController:
    def __init__(self, settings: Settings, shared: SharedInformer | None) -> None:
        topics = Topics(settings.topic_prefix)
        self._ds_t, self._observed_t = topics.desired(PLURAL), topics.observed(PLURAL)
        self._pods_t, self._opods_t = topics.desired("pods"), topics.observed("pods")
        self._revisions_t, self._nodes_t = topics.desired(REVISIONS), topics.desired("nodes")
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._ds_t,
                                   topics=[self._ds_t, self._observed_t, self._pods_t, self._opods_t,
                                           self._revisions_t, self._nodes_t],
                                   controller=self, shared=shared)
        self._pods, self._revisions = ChildIndex("DaemonSet", "apps/v1"), ChildIndex("DaemonSet", "apps/v1")
        self._written = WrittenStatus()

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._pods_t:
            self._pods.update(change)
        elif change.topic == self._revisions_t:
            self._revisions.update(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic == self._ds_t:
            return [change.key]
        if change.topic == self._pods_t:
            return self._pods.owners(change)
        if change.topic == self._revisions_t:
            return self._revisions.owners(change)
        if change.topic == self._opods_t:
            owner = self._pods.owner_key(self.host.informer.get(self._pods_t, change.key))
            return [owner] if owner is not None else []
        if change.topic == self._nodes_t and _scheduling(change.old) != _scheduling(change.new):
            return list(self.host.informer.items(self._ds_t))
        return []  # our own status writes; node changes that move no daemon pod

    def all_keys(self) -> Iterable[str]:
        return {*self.host.informer.items(self._ds_t), *self._pods.owners_with_children()}

    # -- one DaemonSet -----------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        informer = self.host.informer
        desired = informer.get(self._ds_t, key)
        if desired is None:
            self._written.forget(key)
            if informer.get(self._observed_t, key) is not None:
                await self.host.observed(PLURAL, key, None)
            return  # its pods and revisions go with it: the garbage collector (ownerReferences)
        try:
            ds = DaemonSet.model_validate(desired)
        except ValidationError as exc:  # the API admitted it: a bug or a newer writer; never stop
            log.warning("daemonset.bad_record", key=key, error=str(exc)[:300])
            return
        uid = ds.metadata.uid
        namespace = key.split("/", 1)[0]
        pods = [daemon_pod(p, informer.get(self._opods_t, k)) for k in sorted(self._pods.of(key))
                if (p := informer.get(self._pods_t, k)) is not None and controller_uid(p) == uid]
        revisions = [revision_view(r) for k in sorted(self._revisions.of(key))
                     if (r := informer.get(self._revisions_t, k)) is not None and controller_uid(r) == uid]
        nodes = [node_view(n) for n in informer.items(self._nodes_t).values() if isinstance(n, Mapping)]
        met = self.host.expectations.met(key, lambda token: write_seen(self._child(namespace, token), token))
        observed = self._written.current(key, uid, informer.get(self._observed_t, key))
        plan = reconcile(ds, nodes, pods, revisions, datetime.now(timezone.utc), expectations_met=met,
                         observed=observed)
        await self._execute(key, ds, plan, observed)

    def _child(self, namespace: str, token: Hashable) -> Any:
        assert isinstance(token, tuple)
        return self.host.informer.get(self._pods_t, f"{namespace}/{token[1]}")

    async def _execute(self, key: str, ds: DaemonSet, plan: Plan, observed: dict[str, Any] | None) -> None:
        host = self.host
        namespace, name, uid = ds.metadata.namespace or "default", ds.metadata.name or "", ds.metadata.uid
        bound = log.bind(kind="DaemonSet", namespace=namespace, name=name, uid=uid)
        if plan.revision is not None and host.expectations.fresh(("revision", uid, plan.revision.name,
                                                                  plan.revision.revision)):
            target = Target("apps/v1", "ControllerRevision", plan.revision.name, namespace,
                            resource_version=plan.revision.resource_version)
            if plan.revision.body is not None:
                await host.request(create_request(target, plan.revision.body, writer=WRITER))
            else:
                await host.request(patch_request(target, {"revision": plan.revision.revision}, writer=WRITER))
            bound.info("daemonset.revision", revision=plan.revision.revision, name=plan.revision.name)
        if observed != plan.status:
            record = Observed(apiVersion=ds.api_version, kind=ds.kind, writer=WRITER, status=plan.status,
                              metadata=ObservedMeta(name=name, namespace=namespace, uid=uid))
            await host.observed(PLURAL, key, record)
            self._written.remember(key, uid or "", record.observed_at, plan.status)
            bound.info("daemonset.status", desired=plan.status.get("desiredNumberScheduled"),
                       current=plan.status.get("currentNumberScheduled"),
                       updated=plan.status.get("updatedNumberScheduled"),
                       available=plan.status.get("numberAvailable"))
        involved = {"apiVersion": ds.api_version, "kind": ds.kind, "namespace": namespace, "name": name,
                    "uid": uid, "resourceVersion": ds.metadata.resource_version}
        if plan.delete:
            host.expectations.expect(key, [("delete", d.name, d.uid) for d in plan.delete])
            for delete in plan.delete:
                await host.request(delete_request(Target("v1", "Pod", delete.name, namespace, delete.uid),
                                                  writer=WRITER, precondition=False,
                                                  grace_period_seconds=0 if delete.force else None))
                bound.info("daemonset.pod_deleted", pod=delete.name, why=delete.reason)
                await host.event(reason="SuccessfulDelete", message=f"Deleted pod: {delete.name}", involved=involved)
        if plan.create:
            host.expectations.expect(key, [("create", c.name) for c in plan.create])
            for create in plan.create:
                await host.request(create_request(Target("v1", "Pod", create.name, namespace), create.body,
                                                  writer=WRITER))
                bound.info("daemonset.pod_created", pod=create.name, node=create.node)
                await host.event(reason="SuccessfulCreate", message=f"Created pod: {create.name}", involved=involved)
        for revision in plan.delete_revisions:
            if host.expectations.fresh(("delete-revision", revision.uid)):
                await host.request(delete_request(Target("apps/v1", "ControllerRevision", revision.name, namespace,
                                                         revision.uid), writer=WRITER, precondition=False))
        for event in plan.events:
            if host.expectations.fresh(("event", key, uid, event.reason, event.message)):
                await host.event(reason=event.reason, message=event.message, involved=involved, type_=event.type)
        if plan.requeue_after is not None:
            host.add_after(key, plan.requeue_after + 0.05)

