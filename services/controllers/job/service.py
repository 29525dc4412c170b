"""Wiring of the Job controller (component "job-controller", as upstream names it).

Reads desired and observed Jobs and desired pods with their observed status through
the controller manager's shared informer (an index `namespace/job` -> pod keys by the
pods' controller reference). A Job is synced when it or one of its pods changes, and
when its plan asks (activeDeadlineSeconds, ttlSecondsAfterFinished). The pure
`reconcile` decides; this executor writes, in this order: the status on
`kafkube.observed.jobs` (signed as the controller manager; before any finalizer
removal, so a terminated pod is recorded before it can disappear), the finalizer
removals, deletions and creations of pods, the deletion of a Job whose TTL passed
(all as requests on `kafkube.requests`, decided by the API as the controller
manager), then the events. Replicas split the Jobs by partition (group "job-controller")."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.batch import TRACKING_FINALIZER, Job
from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.controllers.job.pods import job_pod
from services.controllers.job.reconcile import Plan, reconcile
from services.controllers.machinery.children import ChildIndex
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.own_writes import WrittenStatus, write_seen
from services.controllers.machinery.podview import controller_uid
from services.controllers.machinery.writes import Target, delete_request, patch_request
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "job-controller"
PLURAL = "jobs"


def job_components(settings: Settings, shared: SharedInformer | None = None) -> dict[str, Component]:
    return {WRITER: JobController(settings, shared).run}



class JobController:
    def __init__(self, settings: Settings, shared: SharedInformer | None) -> None:
        topics = Topics(settings.topic_prefix)
        self._job_t, self._observed_t = topics.desired(PLURAL), topics.observed(PLURAL)
        self._pods_t, self._opods_t = topics.desired("pods"), topics.observed("pods")
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._job_t,
                                   topics=[self._job_t, self._observed_t, self._pods_t, self._opods_t],
                                   controller=self, shared=shared)
        self._pods = ChildIndex("Job", "batch/v1")  # "namespace/job" -> keys of the pods it controls
        self._written = WrittenStatus()

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._pods_t:
            self._pods.update(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic == self._job_t:
            return [change.key]
        if change.topic == self._pods_t:
            return self._pods.owners(change)
        if change.topic == self._opods_t:
            owner = self._pods.owner_key(self.host.informer.get(self._pods_t, change.key))
            return [owner] if owner is not None else []
        return []  # our own status writes

    def all_keys(self) -> Iterable[str]:
        return {*self.host.informer.items(self._job_t), *self._pods.owners_with_children()}

    # -- one Job -----------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        informer = self.host.informer
        desired = informer.get(self._job_t, key)
        pods = [p for k in sorted(self._pods.of(key)) if (p := informer.get(self._pods_t, k)) is not None]
        job: Job | None = None
        if desired is not None:
            try:
                job = Job.model_validate(desired)
            except ValidationError as exc:  # the API admitted it: a bug or a newer writer; never stop
                log.warning("job.bad_record", key=key, error=str(exc)[:300])
                return
        uid = job.metadata.uid if job is not None else None
        mine = [p for p in pods if controller_uid(p) == uid]
        await self._release_orphans(key, [p for p in pods if p not in mine])
        if job is None:
            self._written.forget(key)
            if informer.get(self._observed_t, key) is not None:
                await self.host.observed(PLURAL, key, None)
            return
        views = [job_pod(p, informer.get(self._opods_t, f"{key.split('/', 1)[0]}/{p['metadata']['name']}"))
                 for p in mine]
        met = self.host.expectations.met(key, lambda token: write_seen(self._child(key, token), token))
        plan = reconcile(job, self._status(key, job.metadata.uid), views, datetime.now(timezone.utc), expectations_met=met)
        await self._execute(key, job, plan)



    async def _release_orphans(self, key: str, pods: list[Mapping[str, Any]]) -> None:
        """Pods of a Job that is gone (or of an earlier Job of that name) lose the
        tracking finalizer, so the garbage collector can delete them."""
        for pod in pods:
            meta = pod.get("metadata") or {}
            finalizers = list(meta.get("finalizers") or [])
            if TRACKING_FINALIZER in finalizers and self.host.expectations.fresh(
                    ("untrack", meta.get("uid"), meta.get("resourceVersion"))):
                await self.host.request(patch_request(
                    Target.of(dict(pod)), {"metadata": {"finalizers": [f for f in finalizers if f != TRACKING_FINALIZER]}},
                    writer=WRITER))
                log.info("job.orphan_untracked", key=key, pod=meta.get("name"))

    def _status(self, key: str, uid: str | None) -> dict[str, Any] | None:
        return self._written.current(key, uid, self.host.informer.get(self._observed_t, key))

    def _child(self, key: str, token: Hashable) -> Any:
        """The child a write token names (in the key's namespace), as the view shows it."""
        assert isinstance(token, tuple)
        return self.host.informer.get(self._pods_t, f"{key.split('/', 1)[0]}/{token[1]}")

    async def _execute(self, key: str, job: Job, plan: Plan) -> None:
        host = self.host
        namespace = job.metadata.namespace or "default"
        bound = log.bind(kind="Job", namespace=namespace, name=job.metadata.name, uid=job.metadata.uid)
        previous = self._status(key, job.metadata.uid)
        if previous != plan.status:
            record = Observed(apiVersion=job.api_version, kind=job.kind, writer=WRITER, status=plan.status,
                              metadata=ObservedMeta(name=job.metadata.name or "", namespace=namespace,
                                                    uid=job.metadata.uid))
            await host.observed(PLURAL, key, record)
            self._written.remember(key, job.metadata.uid or "", record.observed_at, plan.status)
            bound.info("job.status", active=plan.status.get("active"), succeeded=plan.status.get("succeeded"),
                       failed=plan.status.get("failed"))
        for untrack in plan.untrack:
            if host.expectations.fresh(("untrack", untrack.uid, untrack.resource_version)):
                await host.request(patch_request(
                    Target("v1", "Pod", untrack.name, namespace, untrack.uid, untrack.resource_version),
                    {"metadata": {"finalizers": list(untrack.finalizers)}}, writer=WRITER))
        involved = {"apiVersion": job.api_version, "kind": job.kind, "namespace": namespace,
                    "name": job.metadata.name, "uid": job.metadata.uid,
                    "resourceVersion": job.metadata.resource_version}
        if plan.delete:
            host.expectations.expect(key, [("delete", d.name, d.uid) for d in plan.delete])
            for delete in plan.delete:
                await host.request(delete_request(Target("v1", "Pod", delete.name, namespace, delete.uid),
                                                  writer=WRITER, precondition=False))
                await host.event(reason="SuccessfulDelete", message=f"Deleted pod: {delete.name}", involved=involved)
        if plan.create:
            host.expectations.expect(key, [("create", c.name) for c in plan.create])
            for create in plan.create:
                await host.request(WriteRequest(op=Op.CREATE, apiVersion="v1", kind="Pod", namespace=namespace,
                                                name=create.name, body=create.body, writer=WRITER,
                                                principal=f"system:controller:{WRITER}", reply=False))
                await host.event(reason="SuccessfulCreate", message=f"Created pod: {create.name}", involved=involved)
        if plan.delete_job and host.expectations.fresh(("delete-job", job.metadata.uid)):
            await host.request(delete_request(Target.of(job.model_dump(by_alias=True, mode="json")), writer=WRITER,
                                              policy="Foreground"))
            bound.info("job.ttl_expired")
        for event in plan.events:
            if host.expectations.fresh(("event", key, job.metadata.uid, event.reason, event.message)):
                await host.event(reason=event.reason, message=event.message, involved=involved, type_=event.type)
        if plan.requeue_after is not None:
            host.add_after(key, plan.requeue_after + 0.05)
