"""Wiring of the CronJob controller (component "cronjob-controller", as upstream's).

Reads desired and observed CronJobs and desired and observed Jobs through the
controller manager's shared informer (an index `namespace/cronjob` -> the Jobs whose
controller reference is that CronJob). A CronJob is synced when it or one of its Jobs
changes, and at its next schedule time (the plan's requeue). The pure `reconcile`
decides; this executor writes the status on `kafkube.observed.cronjobs` (signed as the
controller manager), deletes Jobs (Background: replaced or beyond the history limits)
and creates the Job of a run as requests on `kafkube.requests` (decided by the API as
the controller manager), then the events.

The clock: `Clock` is the wall clock unless `KAFKUBE_CRONJOB_TIME_SCALE` (a test-only
setting, default 1) makes the controller's time run that many times faster from the
moment it starts (or from `KAFKUBE_CRONJOB_TIME_ORIGIN`, unix seconds, so a restarted
controller manager keeps the same timeline), so a test sees `* * * * *` fire every few
seconds. Nothing else changes."""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError

from schemas.batch import CronJob
from schemas.records import Observed, ObservedMeta, Op, WriteRequest
from services.controllers.cronjob.jobs import owned_job
from services.controllers.cronjob.reconcile import Plan, reconcile
from services.controllers.machinery.children import ChildIndex
from services.controllers.machinery.host import ControllerHost
from services.controllers.machinery.informer import SharedInformer
from services.controllers.machinery.own_writes import WrittenStatus, write_seen
from services.controllers.machinery.podview import controller_ref
from services.controllers.machinery.writes import Target, delete_request
from services.runtime.config import Settings
from services.runtime.informer import Change
from services.runtime.logging import get_logger
from services.runtime.supervisor import Component
from services.runtime.topics import Topics

log = get_logger(__name__)
WRITER = "cronjob-controller"
PLURAL = "cronjobs"


@dataclass(frozen=True, slots=True)
class Clock:
    scale: float = 1.0  # KAFKUBE_CRONJOB_TIME_SCALE (tests only)
    origin: float = field(default_factory=time.time)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Clock":
        origin = env.get("KAFKUBE_CRONJOB_TIME_ORIGIN")
        scale = float(env.get("KAFKUBE_CRONJOB_TIME_SCALE", "1"))
        return cls(scale=scale) if origin is None else cls(scale=scale, origin=float(origin))

    def now(self) -> datetime:
        real = time.time()
        return datetime.fromtimestamp(self.origin + (real - self.origin) * self.scale, timezone.utc)

    def real_seconds(self, seconds: float) -> float:
        return seconds / self.scale


def cronjob_components(settings: Settings, shared: SharedInformer | None = None,
                       clock: Clock | None = None) -> dict[str, Component]:
    return {WRITER: CronJobController(settings, shared, clock or Clock.from_env()).run}


class CronJobController:
    def __init__(self, settings: Settings, shared: SharedInformer | None, clock: Clock) -> None:
        topics = Topics(settings.topic_prefix)
        self._cj_t, self._observed_t = topics.desired(PLURAL), topics.observed(PLURAL)
        self._jobs_t, self._ojobs_t = topics.desired("jobs"), topics.observed("jobs")
        self._clock = clock
        self.host = ControllerHost(settings, component=WRITER, ownership_topic=self._cj_t,
                                   topics=[self._cj_t, self._observed_t, self._jobs_t, self._ojobs_t],
                                   controller=self, shared=shared)
        self._jobs = ChildIndex("CronJob", "batch/v1")  # "namespace/cronjob" -> keys of its Jobs
        self._written = WrittenStatus()

    async def run(self) -> None:
        await self.host.run(self)

    # -- keys ------------------------------------------------------------------------------
    def observe(self, change: Change[Any]) -> None:
        if change.topic == self._jobs_t:
            self._jobs.update(change)

    def keys_for(self, change: Change[Any]) -> Iterable[str]:
        if change.topic == self._cj_t:
            return [change.key]
        if change.topic == self._jobs_t:
            return self._jobs.owners(change)
        if change.topic == self._ojobs_t:
            owner = self._jobs.owner_key(self.host.informer.get(self._jobs_t, change.key))
            return [owner] if owner is not None else []
        return []  # our own status writes

    def all_keys(self) -> Iterable[str]:
        return self.host.informer.items(self._cj_t)

    # -- one CronJob -------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        informer = self.host.informer
        desired = informer.get(self._cj_t, key)
        if desired is None:
            self._written.forget(key)
            if informer.get(self._observed_t, key) is not None:
                await self.host.observed(PLURAL, key, None)
            return
        try:
            cj = CronJob.model_validate(desired)
        except ValidationError as exc:  # the API admitted it: a bug or a newer writer; never stop
            log.warning("cronjob.bad_record", key=key, error=str(exc)[:300])
            return
        jobs = []
        for job_key in sorted(self._jobs.of(key)):
            job = informer.get(self._jobs_t, job_key)
            ref = controller_ref((job or {}).get("metadata") or {})
            if job is not None and ref is not None and ref.uid == cj.metadata.uid:
                jobs.append(owned_job(job, informer.get(self._ojobs_t, job_key)))
        met = self.host.expectations.met(key, lambda token: write_seen(self._child(key, token), token))
        plan = reconcile(cj, self._status(key, cj.metadata.uid), jobs, self._clock.now(), expectations_met=met)
        await self._execute(key, cj, plan)



    def _status(self, key: str, uid: str | None) -> dict[str, Any] | None:
        return self._written.current(key, uid, self.host.informer.get(self._observed_t, key))

    def _child(self, key: str, token: Hashable) -> Any:
        """The child a write token names (in the key's namespace), as the view shows it."""
        assert isinstance(token, tuple)
        return self.host.informer.get(self._jobs_t, f"{key.split('/', 1)[0]}/{token[1]}")

    async def _execute(self, key: str, cj: CronJob, plan: Plan) -> None:
        host = self.host
        namespace = cj.metadata.namespace or "default"
        bound = log.bind(kind="CronJob", namespace=namespace, name=cj.metadata.name, uid=cj.metadata.uid)
        if self._status(key, cj.metadata.uid) != plan.status:
            record = Observed(apiVersion=cj.api_version, kind=cj.kind, writer=WRITER, status=plan.status,
                              metadata=ObservedMeta(name=cj.metadata.name or "", namespace=namespace,
                                                    uid=cj.metadata.uid))
            await host.observed(PLURAL, key, record)
            self._written.remember(key, cj.metadata.uid or "", record.observed_at, plan.status)
        if plan.delete:
            host.expectations.expect(key, [("delete", d.name, d.uid) for d in plan.delete])
            for delete in plan.delete:
                await host.request(delete_request(Target("batch/v1", "Job", delete.name, namespace, delete.uid),
                                                  writer=WRITER, policy="Background", precondition=False))
        if plan.create is not None:
            host.expectations.expect(key, [("create", plan.create.name)])
            await host.request(WriteRequest(op=Op.CREATE, apiVersion="batch/v1", kind="Job", namespace=namespace,
                                            name=plan.create.name, body=plan.create.body, writer=WRITER,
                                            principal=f"system:controller:{WRITER}", reply=False))
            bound.info("cronjob.run", job=plan.create.name)
        involved = {"apiVersion": cj.api_version, "kind": cj.kind, "namespace": namespace, "name": cj.metadata.name,
                    "uid": cj.metadata.uid, "resourceVersion": cj.metadata.resource_version}
        for event in plan.events:
            if host.expectations.fresh(("event", key, cj.metadata.uid, event.reason, event.message)):
                await host.event(reason=event.reason, message=event.message, involved=involved, type_=event.type)
        if plan.requeue_after is not None:
            host.add_after(key, self._clock.real_seconds(plan.requeue_after) + 0.05)

